//! One-way SMS codes: mfagate makes the code (CSPRNG), keeps only its keyed hash in the store
//! (see the pipeline), and hands the text to an HTTP SMS gateway (`kind = "sms_http"`), either
//! described by URL, method, headers and body template or by the Twilio preset.
//!
//! Delivery is retried once, and only when the connection could not be made: a request that
//! reached the gateway may have sent a message, and a second text with the same code helps
//! nobody.

use super::percent_encode;
use crate::config::{Method, SmsProvider};

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The gateway could not be reached or failed (connect error, timeout, 5xx, 429): the
    /// client's failmode decides.
    #[error("SMS gateway {provider}: {message}")]
    Unreachable { provider: String, message: String },
    /// The gateway refused the message (another 4xx): always a reject.
    #[error("SMS gateway {provider} refused the message: {message}")]
    Refused { provider: String, message: String },
    #[error("SMS gateway setup: {0}")]
    Setup(String),
}

impl super::ProviderError for SmsError {
    fn is_outage(&self) -> bool {
        matches!(self, SmsError::Unreachable { .. })
    }
}

/// A gateway carries the code mfagate made; it checks nothing and knows no answers.
impl super::SecondFactor for SmsSender {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn carries_our_code(&self) -> bool {
        true
    }

    fn may_push(&self, _method: Method) -> bool {
        false
    }

    fn start<'a>(
        &'a self,
        user: super::Recipient<'a>,
        _method: Method,
        our_code: Option<&'a str>,
        can_ask: bool,
    ) -> super::FactorCall<'a, super::Started> {
        Box::pin(async move {
            if !can_ask {
                return Err(super::FactorError::unsupported(
                    &self.cfg.name,
                    "a code without a prompt to type it in",
                ));
            }
            let (Some(phone), Some(code)) = (user.phone, our_code) else {
                return Err(super::FactorError::unsupported(
                    &self.cfg.name,
                    "a message without a phone number and a code",
                ));
            };
            self.send(phone, code, user.name).await?;
            Ok(super::Started::Delivered {
                to: mask_phone(phone),
            })
        })
    }

    fn check_code<'a>(
        &'a self,
        _user: &'a str,
        _code: &'a str,
        _transaction: Option<&'a str>,
    ) -> super::FactorCall<'a, super::CodeVerdict> {
        Box::pin(async {
            Err(super::FactorError::unsupported(
                &self.cfg.name,
                "checking codes",
            ))
        })
    }

    /// A HEAD request to the gateway's URL (up to its first template field): any HTTP
    /// answer shows it is reachable over verified TLS; no message is sent.
    fn health(&self) -> super::FactorCall<'_, String> {
        Box::pin(async move {
            let url = self.cfg.url.split('{').next().unwrap_or_default();
            match self.client.head(url).send().await {
                Ok(r) => Ok(format!(
                    "answers (HTTP {} to HEAD; no message sent)",
                    r.status().as_u16()
                )),
                Err(e) => Err(SmsError::Unreachable {
                    provider: self.cfg.name.clone(),
                    message: super::transport_error(&e).into(),
                }
                .into()),
            }
        })
    }

    fn poll<'a>(&'a self, _user: &'a str, _tx: &'a str) -> super::FactorCall<'a, super::Answer> {
        Box::pin(async { Err(super::FactorError::unsupported(&self.cfg.name, "answers")) })
    }
}

/// A uniformly random code of `digits` digits.
pub fn generate_code(digits: u32) -> Result<String, getrandom::Error> {
    let modulus = 10u64.pow(digits);
    // Rejection sampling: values at or above the largest multiple of `modulus` would bias
    // the low codes.
    let limit = u64::MAX - u64::MAX % modulus;
    loop {
        let mut b = [0u8; 8];
        getrandom::getrandom(&mut b)?;
        let v = u64::from_be_bytes(b);
        if v < limit {
            return Ok(format!("{:0width$}", v % modulus, width = digits as usize));
        }
    }
}

/// What the prompt may show of a phone number: its last two digits.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    format!("***-**{tail}")
}

pub struct SmsSender {
    cfg: SmsProvider,
    client: reqwest::Client,
}

impl SmsSender {
    pub fn new(cfg: &SmsProvider) -> Result<Self, SmsError> {
        let client = super::http_client(cfg.timeout_secs, 16, cfg.ca_file.as_deref())
            .map_err(SmsError::Setup)?;
        Ok(Self {
            cfg: cfg.clone(),
            client,
        })
    }

    /// Sends `code` to `phone`. Never logs the code, the body or the URL (which may hold it).
    pub async fn send(&self, phone: &str, code: &str, user: &str) -> Result<(), SmsError> {
        let fail = |message: String| SmsError::Unreachable {
            provider: self.cfg.name.clone(),
            message,
        };
        for attempt in 0..2 {
            let res = self.request(phone, code, user).send().await;
            match res {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    return Err(SmsError::Refused {
                        provider: self.cfg.name.clone(),
                        message: format!("HTTP status {}", r.status().as_u16()),
                    })
                }
                Ok(r) => return Err(fail(format!("HTTP status {}", r.status().as_u16()))),
                Err(e) if e.is_connect() && attempt == 0 => {
                    tracing::warn!(provider = %self.cfg.name, "SMS gateway: cannot connect; retrying once");
                }
                Err(e) => return Err(fail(super::transport_error(&e).into())),
            }
        }
        Err(fail("cannot connect".into()))
    }

    fn request(&self, phone: &str, code: &str, user: &str) -> reqwest::RequestBuilder {
        let vars = [("{phone}", phone), ("{code}", code), ("{user}", user)];
        let url = fill(&self.cfg.url, &vars, Escape::Url);
        let method = match self.cfg.method.as_str() {
            "GET" => reqwest::Method::GET,
            "PUT" => reqwest::Method::PUT,
            _ => reqwest::Method::POST,
        };
        let mut req = self.client.request(method, url);
        if let Some(t) = &self.cfg.twilio {
            let secret = self.cfg.secret.as_ref().map(|s| s.expose().as_str());
            let body = format!("Your code is {code}");
            let form = [
                ("To", phone),
                ("From", t.from.as_str()),
                ("Body", body.as_str()),
            ];
            let encoded: Vec<String> = form
                .iter()
                .map(|(k, v)| format!("{k}={}", percent_encode(v)))
                .collect();
            return req
                .basic_auth(&t.account_sid, secret)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encoded.join("&"));
        }
        let mut content_type = String::new();
        for (name, value) in &self.cfg.headers {
            let value = match &self.cfg.secret {
                Some(s) => value.replace("{secret}", s.expose()),
                None => value.clone(),
            };
            if name.eq_ignore_ascii_case("content-type") {
                content_type = value.to_ascii_lowercase();
            }
            req = req.header(name.as_str(), value);
        }
        if !self.cfg.body.is_empty() {
            let escape = if content_type.contains("json") {
                Escape::Json
            } else if content_type.contains("x-www-form-urlencoded") {
                Escape::Url
            } else {
                Escape::None
            };
            req = req.body(fill(&self.cfg.body, &vars, escape));
        }
        req
    }
}

#[derive(Clone, Copy)]
enum Escape {
    None,
    Json,
    Url,
}

/// Replaces the placeholders, escaping the values for where they land (a phone number set by
/// an administrator or a directory must not be able to change the request's structure).
fn fill(template: &str, vars: &[(&str, &str)], escape: Escape) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        let v = match escape {
            Escape::None => (*v).to_owned(),
            Escape::Url => percent_encode(v),
            Escape::Json => {
                let quoted = serde_json::to_string(v).unwrap_or_default();
                quoted
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        out = out.replace(k, &v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_requested_length_and_vary() {
        for digits in [6, 7, 8] {
            let c = generate_code(digits).unwrap();
            assert_eq!(c.len(), digits as usize);
            assert!(c.chars().all(|ch| ch.is_ascii_digit()));
        }
        let many: std::collections::HashSet<String> =
            (0..50).map(|_| generate_code(6).unwrap()).collect();
        assert!(many.len() > 45);
    }

    #[test]
    fn phone_masking_and_escaping() {
        assert_eq!(mask_phone("+1 555 123 0012"), "***-**12");
        assert_eq!(mask_phone("7"), "***-**7");
        let vars = [("{phone}", "+1\"5"), ("{code}", "123456")];
        assert_eq!(
            fill(r#"{"to":"{phone}","c":"{code}"}"#, &vars, Escape::Json),
            r#"{"to":"+1\"5","c":"123456"}"#
        );
        assert_eq!(
            fill("to={phone}&c={code}", &vars, Escape::Url),
            "to=%2B1%225&c=123456"
        );
    }
}
