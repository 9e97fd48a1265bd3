//! The portal's pages as HTML: plain server-rendered forms that work without JavaScript,
//! every value escaped ([`esc`]), ids on what the browser tests read and press.

use super::http::esc;
use super::i18n::Lang;

pub const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}\
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password],input[type=tel]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}\
.msg{padding:.6rem;background:#e8f3e8;border-left:4px solid #2e7d32}.err{padding:.6rem;background:#fdecea;border-left:4px solid #c62828}\
.secret{font-family:monospace;font-size:1.1rem;letter-spacing:.1rem;word-break:break-all}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}\
nav{display:flex;justify-content:space-between;font-size:.9rem}nav form{display:inline}nav button{margin:0}\
.qr svg{width:220px;height:220px}";

/// What every page has around its body.
pub struct Frame<'a> {
    pub lang: Lang,
    /// The path the language links return to.
    pub path: &'a str,
    /// Signed in: the name shown and the session's form token for "sign out".
    pub signed_in: Option<(&'a str, &'a str)>,
}

pub fn page(f: &Frame<'_>, heading: &str, body: &str) -> String {
    let t = f.lang.t();
    let langs: Vec<String> = Lang::ALL
        .iter()
        .map(|l| {
            if *l == f.lang {
                format!("<strong>{}</strong>", l.native_name())
            } else {
                format!(
                    "<a id=\"lang-{code}\" href=\"{path}?lang={code}\" hreflang=\"{code}\">{name}</a>",
                    code = l.code(),
                    path = esc(f.path),
                    name = l.native_name()
                )
            }
        })
        .collect();
    let who = match f.signed_in {
        Some((name, csrf)) => format!(
            "<span>{} <strong id=\"who\">{}</strong></span> <form method=\"post\" action=\"/signout\">{}<button id=\"signout\">{}</button></form>",
            t.signed_in_as,
            esc(name),
            csrf_field(csrf),
            t.sign_out
        ),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body>\
<nav><span aria-label=\"{language}\">{langs}</span>{who}</nav>\
<h1>{heading}</h1>\n{body}\n</body></html>\n",
        lang = f.lang.code(),
        title = esc(&format!("{heading} \u{2013} {}", t.title)),
        language = t.language,
        langs = langs.join(" \u{b7} "),
        heading = esc(heading),
    )
}

pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

pub fn message(text: &str) -> String {
    format!("<p class=\"msg\" id=\"message\">{}</p>", esc(text))
}

pub fn error(text: &str) -> String {
    format!(
        "<p class=\"err\" id=\"error\" role=\"alert\">{}</p>",
        esc(text)
    )
}

pub struct SignIn<'a> {
    pub csrf: &'a str,
    pub invitation: Option<&'a str>,
    pub user: &'a str,
    pub notice: Option<String>,
}

pub fn sign_in(f: &Frame<'_>, s: &SignIn<'_>) -> String {
    let t = f.lang.t();
    let intro = if s.invitation.is_some() {
        t.invitation_intro
    } else {
        t.sign_in_intro
    };
    let invitation = s
        .invitation
        .map(|i| {
            format!(
                "<input type=\"hidden\" name=\"invitation\" value=\"{}\">",
                esc(i)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{notice}<p>{intro}</p><form method=\"post\" action=\"/signin\" id=\"signin-form\">{csrf}{invitation}\
<label for=\"user\">{lu}</label><input type=\"text\" id=\"user\" name=\"user\" value=\"{user}\" autocomplete=\"username\" required maxlength=\"256\">\
<label for=\"password\">{lp}</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\">\
<button type=\"submit\" id=\"signin\">{button}</button></form>",
        notice = s.notice.clone().unwrap_or_default(),
        csrf = csrf_field(s.csrf),
        lu = t.user_name,
        lp = t.password,
        user = esc(s.user),
        button = t.sign_in,
    );
    page(f, t.sign_in, &body)
}

pub struct CodeAsked<'a> {
    pub csrf: &'a str,
    pub user: &'a str,
    pub state: &'a str,
    pub invitation: Option<&'a str>,
    pub push: bool,
}

pub fn code_asked(f: &Frame<'_>, c: &CodeAsked<'_>) -> String {
    let t = f.lang.t();
    let invitation = c
        .invitation
        .map(|i| {
            format!(
                "<input type=\"hidden\" name=\"invitation\" value=\"{}\">",
                esc(i)
            )
        })
        .unwrap_or_default();
    let field = if c.push {
        format!(
            "<p>{}</p><input type=\"hidden\" name=\"code\" value=\"push\">",
            t.push_intro
        )
    } else {
        format!(
            "<p>{}</p><label for=\"code\">{}</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"64\" autofocus>",
            t.code_intro, t.code
        )
    };
    let body = format!(
        "<form method=\"post\" action=\"/signin/code\" id=\"code-form\">{csrf}{invitation}\
<input type=\"hidden\" name=\"user\" value=\"{user}\"><input type=\"hidden\" name=\"state\" value=\"{state}\">\
{field}<button type=\"submit\" id=\"submit-code\">{button}</button></form>",
        csrf = csrf_field(c.csrf),
        user = esc(c.user),
        state = esc(c.state),
        button = t.continue_,
    );
    page(f, t.sign_in, &body)
}

pub struct Home<'a> {
    pub csrf: &'a str,
    pub app: bool,
    pub phone: Option<String>,
    pub may_app: bool,
    pub may_phone: bool,
    pub locked: bool,
    pub notice: Option<String>,
}

pub fn home(f: &Frame<'_>, h: &Home<'_>) -> String {
    let t = f.lang.t();
    let mut body = h.notice.clone().unwrap_or_default();
    if h.locked {
        body.push_str(&error(t.locked_note));
    }
    body.push_str(&format!("<h2>{}</h2><ul>", t.your_factors));
    body.push_str(&format!(
        "<li id=\"status-app\">{}</li>",
        if h.app { t.app_enrolled } else { t.app_none }
    ));
    match &h.phone {
        Some(p) => body.push_str(&format!(
            "<li id=\"status-phone\">{} <span id=\"phone\">{}</span></li>",
            t.phone_set,
            esc(p)
        )),
        None => body.push_str(&format!("<li id=\"status-phone\">{}</li>", t.phone_none)),
    }
    body.push_str("</ul>");
    if h.may_app {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/totp/new\">{}<button id=\"enrol-app\">{}</button></form>",
            csrf_field(h.csrf),
            if h.app { t.change_app } else { t.enrol_app }
        ));
    }
    if h.may_phone {
        body.push_str(&format!(
            "<p><a id=\"set-phone\" href=\"/phone\">{}</a></p>",
            if h.phone.is_some() {
                t.change_phone
            } else {
                t.set_phone
            }
        ));
    }
    body.push_str(&format!(
        "<p><a id=\"recent\" href=\"/activity\">{}</a></p>",
        t.recent
    ));
    page(f, t.title, &body)
}

pub struct TotpEnrol<'a> {
    pub csrf: &'a str,
    pub qr_svg: &'a str,
    pub secret: &'a str,
    pub error: Option<&'a str>,
}

pub fn totp_enrol(f: &Frame<'_>, e: &TotpEnrol<'_>) -> String {
    let t = f.lang.t();
    let body = format!(
        "{err}<p>{s1}</p><div class=\"qr\" id=\"qr\">{svg}</div><p>{s2l}</p><p class=\"secret\" id=\"secret\">{secret}</p>\
<form method=\"post\" action=\"/totp/confirm\" id=\"totp-form\">{csrf}<p>{s2}</p>\
<label for=\"code\">{lc}</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"16\">\
<button type=\"submit\" id=\"save-app\">{save}</button></form>\
<form method=\"post\" action=\"/totp/cancel\">{csrf}<button id=\"cancel\">{cancel}</button></form>",
        err = e.error.map(error).unwrap_or_default(),
        s1 = t.app_step1,
        svg = e.qr_svg,
        s2l = t.app_secret,
        secret = esc(e.secret),
        csrf = csrf_field(e.csrf),
        s2 = t.app_step2,
        lc = t.code,
        save = t.save,
        cancel = t.cancel,
    );
    page(f, t.app_title, &body)
}

pub fn phone_form(f: &Frame<'_>, csrf: &str, value: &str, err: Option<&str>) -> String {
    let t = f.lang.t();
    let body = format!(
        "{err}<p>{intro}</p><form method=\"post\" action=\"/phone\" id=\"phone-form\">{csrf}\
<label for=\"phone\">{label}</label><input type=\"tel\" id=\"phone\" name=\"phone\" value=\"{value}\" autocomplete=\"tel\" required maxlength=\"32\">\
<button type=\"submit\" id=\"send-code\">{send}</button></form><p><a href=\"/\">{back}</a></p>",
        err = err.map(error).unwrap_or_default(),
        intro = t.phone_intro,
        csrf = csrf_field(csrf),
        label = t.phone_number,
        value = esc(value),
        send = t.phone_send,
        back = t.back,
    );
    page(f, t.phone_title, &body)
}

pub fn phone_confirm(f: &Frame<'_>, csrf: &str, masked: &str, err: Option<&str>) -> String {
    let t = f.lang.t();
    let body = format!(
        "{err}<p>{sent} <strong>{masked}</strong></p><form method=\"post\" action=\"/phone/confirm\" id=\"phone-confirm-form\">{csrf}\
<label for=\"code\">{lc}</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"16\">\
<button type=\"submit\" id=\"save-phone\">{save}</button></form><p><a href=\"/\">{back}</a></p>",
        err = err.map(error).unwrap_or_default(),
        sent = t.phone_sent,
        masked = esc(masked),
        csrf = csrf_field(csrf),
        lc = t.code,
        save = t.save,
        back = t.back,
    );
    page(f, t.phone_title, &body)
}

pub struct SignInRow {
    pub when: String,
    /// The record's time, as the report form sends it back.
    pub time_ms: u64,
    pub client: String,
    pub result: &'static str,
    pub reportable: bool,
}

pub fn activity(f: &Frame<'_>, csrf: &str, rows: &[SignInRow]) -> String {
    let t = f.lang.t();
    let mut body = format!("<p>{}</p>", t.recent_intro);
    if rows.is_empty() {
        body.push_str(&format!("<p id=\"no-sign-ins\">{}</p>", t.recent_none));
    } else {
        body.push_str(&format!(
            "<table id=\"sign-ins\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
            t.when, t.from, t.result
        ));
        for (i, r) in rows.iter().enumerate() {
            let button = if r.reportable {
                format!(
                    "<form method=\"post\" action=\"/report\">{}<input type=\"hidden\" name=\"time\" value=\"{}\"><button class=\"not-me\" id=\"not-me-{i}\">{}</button></form>",
                    csrf_field(csrf),
                    r.time_ms,
                    t.not_me
                )
            } else {
                String::new()
            };
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{button}</td></tr>",
                esc(&r.when),
                esc(&r.client),
                esc(r.result)
            ));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(&format!("<p><a href=\"/\">{}</a></p>", t.back));
    page(f, t.recent, &body)
}

pub fn reported(f: &Frame<'_>, helpdesk: Option<&str>) -> String {
    let t = f.lang.t();
    let mut body = message(t.reported);
    if let Some(h) = helpdesk {
        body.push_str(&format!(
            "<p id=\"helpdesk\">{} <strong>{}</strong></p>",
            t.call_helpdesk,
            esc(h)
        ));
    } else {
        body.push_str(&format!("<p id=\"helpdesk\">{}</p>", t.locked_note));
    }
    page(f, t.recent, &body)
}

/// A page that only says something went wrong, with a way back.
pub fn problem(f: &Frame<'_>, text: &str) -> String {
    let t = f.lang.t();
    page(
        f,
        t.title,
        &format!("{}<p><a href=\"/\">{}</a></p>", error(text), t.back),
    )
}
