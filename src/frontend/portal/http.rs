//! The portal's HTTP facts: a request as the handlers read it (path, query, cookies, form,
//! the browser's languages) and a [`Reply`] as they answer, with the security headers every
//! answer carries. Nothing here decides anything.

use std::collections::HashMap;
use std::net::IpAddr;

/// A form or query larger than this is refused (413): every form here has a few short fields.
pub const MAX_FORM: usize = 16 * 1024;

pub const SESSION_COOKIE: &str = "__Host-mfagate-session";
/// The double-submit token of the sign-in forms, before there is a session.
pub const FORM_COOKIE: &str = "__Host-mfagate-form";
pub const LANG_COOKIE: &str = "__Host-mfagate-lang";

/// Only what the portal's own pages need: no script, no frame, no foreign origin; the QR
/// code is inline SVG markup, the style sheet our own.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Other,
}

#[derive(Debug)]
pub struct Req {
    pub verb: Verb,
    pub path: String,
    pub query: HashMap<String, String>,
    pub cookies: HashMap<String, String>,
    /// The decoded `application/x-www-form-urlencoded` body of a POST.
    pub form: HashMap<String, String>,
    pub accept_language: Option<String>,
    pub peer: IpAddr,
}

impl Req {
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Decodes a query string or form body; of a repeated name the first value counts.
pub fn decode_pairs(data: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(data).take(64) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// The `Cookie` header's pairs (RFC 6265 §5.4); a repeated name keeps its first value.
pub fn parse_cookies<'a>(headers: impl Iterator<Item = &'a str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for h in headers.take(8) {
        for pair in h.split(';').take(64) {
            if let Some((k, v)) = pair.split_once('=') {
                out.entry(k.trim().to_owned())
                    .or_insert_with(|| v.trim().to_owned());
            }
        }
    }
    out
}

/// The client address a reverse proxy on this host appended last to `X-Forwarded-For`
/// (what came before it is the client's own say, not to be trusted).
pub fn forwarded_for<'a>(headers: impl Iterator<Item = &'a str>) -> Option<IpAddr> {
    let last = headers.last()?;
    let hop = last.rsplit(',').next()?.trim();
    hop.parse().ok()
}

/// A cookie only this origin's pages over HTTPS see, never scripts, never sent from another
/// site; `max_age` None: for the browser session.
pub fn cookie(name: &str, value: &str, max_age: Option<u64>) -> String {
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict{age}")
}

pub fn clear_cookie(name: &str) -> String {
    cookie(name, "", Some(0))
}

#[derive(Debug)]
pub enum Body {
    Html(String),
    Css(&'static str),
    Redirect(String),
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Body,
    pub set_cookies: Vec<String>,
}

impl Reply {
    pub fn html(status: u16, html: String) -> Self {
        Reply {
            status,
            body: Body::Html(html),
            set_cookies: Vec::new(),
        }
    }

    /// 303: the browser GETs `to` (after a POST, so a reload does not post again).
    pub fn see_other(to: &str) -> Self {
        Reply {
            status: 303,
            body: Body::Redirect(to.to_owned()),
            set_cookies: Vec::new(),
        }
    }

    pub fn with_cookie(mut self, c: String) -> Self {
        self.set_cookies.push(c);
        self
    }
}

/// Builds the wire response: the body and the headers every portal answer carries.
pub fn response(reply: Reply) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let mut b = hyper::Response::builder()
        .status(reply.status)
        .header("Content-Security-Policy", CSP)
        .header("X-Content-Type-Options", "nosniff")
        .header("X-Frame-Options", "DENY")
        // Invitation links carry their token in the path: never pass it on.
        .header("Referrer-Policy", "no-referrer")
        .header("Cache-Control", "no-store")
        .header("Strict-Transport-Security", "max-age=31536000");
    for c in &reply.set_cookies {
        b = b.header("Set-Cookie", c);
    }
    let body = match reply.body {
        Body::Html(h) => {
            b = b.header("Content-Type", "text/html; charset=utf-8");
            h.into_bytes()
        }
        Body::Css(c) => {
            b = b.header("Content-Type", "text/css; charset=utf-8");
            c.as_bytes().to_vec()
        }
        Body::Redirect(to) => {
            b = b.header("Location", to);
            Vec::new()
        }
    };
    b.body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap_or_else(|_| {
            let mut r = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::new()));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

/// Escapes text for HTML content and quoted attribute values; control characters go.
pub fn esc(s: &str) -> String {
    crate::text::escape_html(&crate::text::strip_controls(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_parsing() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        let c = parse_cookies(["a=1; b = 2", "a=3"].into_iter());
        assert_eq!(c.get("a").map(String::as_str), Some("1"));
        assert_eq!(c.get("b").map(String::as_str), Some("2"));
        let f = decode_pairs(b"user=al%C3%AFce&user=x&pw=a+b%26c");
        assert_eq!(f.get("user").map(String::as_str), Some("al\u{ef}ce"));
        assert_eq!(f.get("pw").map(String::as_str), Some("a b&c"));
        let xff = |v: &[&str]| forwarded_for(v.iter().copied());
        assert_eq!(xff(&["1.2.3.4"]), "1.2.3.4".parse().ok());
        assert_eq!(xff(&["6.6.6.6, 10.0.0.9"]), "10.0.0.9".parse().ok());
        assert_eq!(xff(&["6.6.6.6", "2001:db8::1"]), "2001:db8::1".parse().ok());
        assert_eq!(xff(&["nonsense"]), None);
        assert_eq!(xff(&[]), None);
        let k = cookie("n", "v", None);
        for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(k.contains(attr), "{k}");
        }
    }
}
