//! Enrolment e-mails: an [`Invitation`] (who, which method, the portal link) becomes a
//! multipart message from the templates ([`templates`]) and goes out over SMTP with
//! STARTTLS or implicit TLS (lettre over rustls), certificates always verified against the
//! system roots plus `email.ca_file`. Errors say whether to retry ([`EmailError`]), so a
//! caller inviting many users can report each and try the transient ones again later.
//!
//! What is not here: who gets an invitation and when (`email.invite_interval` is only
//! carried), the invitation tokens and the portal.

pub mod templates;

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailConfig, EmailTls, Method};
pub use templates::{Language, Rendered, TemplateError, Templates, Values};

/// Why an invitation was not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The recipient's address or display name cannot go into a mail (or the server cannot
    /// take this address). Permanent for this user: do not retry until it is corrected.
    #[error("recipient: {0}")]
    Address(String),
    /// Connect, TLS (a certificate that does not verify included), time-out, or a 4xx
    /// reply: try again later.
    #[error("mail server unavailable: {0}")]
    Transient(String),
    /// A 5xx reply to the message (e.g. the recipient does not exist): permanent.
    #[error("mail server refused the message: {0}")]
    Rejected(String),
    /// The server refused mfagate's login (or offers no way to log in): the configuration
    /// (`email.username`, its password) is wrong, not the user; every send fails alike.
    #[error("mail server refused the login: {0}")]
    Auth(String),
    /// The invitation itself is unusable (a link that is not an http(s) URL): a caller's bug.
    #[error("invitation: {0}")]
    Invalid(String),
    /// The mailer cannot be built from the configuration.
    #[error("mailer setup: {0}")]
    Setup(String),
}

impl EmailError {
    /// Whether the same invitation may succeed later without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, EmailError::Transient(_))
    }
}

/// One user's invitation.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    pub user: &'a str,
    pub display_name: Option<&'a str>,
    /// The bare address (`sam@corp.example`); the display name goes in beside it.
    pub to: &'a str,
    pub method: Method,
    /// Unmasked; only its masked form reaches the mail.
    pub phone: Option<&'a str>,
    /// The portal link; `None` (no portal): the paragraphs that use it are left out.
    pub link: Option<&'a str>,
    /// When the link expires, already formatted for the reader.
    pub expires: Option<&'a str>,
    /// `None`, or a language without templates: `email.language`.
    pub language: Option<&'a str>,
}

pub struct Mailer {
    cfg: EmailConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.cfg.host)
            .field("port", &self.cfg.port)
            .field("tls", &self.cfg.tls)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the transport; nothing connects until [`Mailer::send`].
    pub fn new(cfg: &EmailConfig) -> Result<Self, EmailError> {
        let tls = match cfg.tls {
            EmailTls::None => Tls::None,
            EmailTls::StartTls => Tls::Required(tls_parameters(cfg)?),
            EmailTls::Tls => Tls::Wrapper(tls_parameters(cfg)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs)));
        if let Some(login) = &cfg.login {
            builder = builder.credentials(Credentials::new(
                login.username.clone(),
                login.password.expose().clone(),
            ));
        }
        Ok(Self {
            cfg: cfg.clone(),
            transport: builder.build(),
        })
    }

    /// The mail `send` would send. Refuses a recipient address or display name with a line
    /// break or other control character rather than build a mail from it.
    pub fn render(&self, inv: &Invitation) -> Result<Message, EmailError> {
        let (to, rendered) = self.prepare(inv)?;
        let mut b = Message::builder()
            .from(self.cfg.from.clone())
            .to(to)
            .subject(rendered.subject)
            .date_now()
            .message_id(Some(message_id(&self.cfg.from)))
            // RFC 3834: no auto-replies (vacation notices) back to the sender.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            // Exchange's spelling of the same wish (out-of-office and delivery reports).
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                "All".into(),
            ));
        if let Some(r) = &self.cfg.reply_to {
            b = b.reply_to(r.clone());
        }
        b.multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
        .map_err(|e| EmailError::Invalid(e.to_string()))
    }

    /// The subject and bodies `render` would put in the mail (e.g. for a preview), after the
    /// same checks.
    pub fn preview(&self, inv: &Invitation) -> Result<Rendered, EmailError> {
        self.prepare(inv).map(|(_, r)| r)
    }

    fn prepare(&self, inv: &Invitation) -> Result<(Mailbox, Rendered), EmailError> {
        if inv
            .to
            .chars()
            .any(|c| templates::is_control(c) || c.is_whitespace())
        {
            return Err(EmailError::Address(format!(
                "{:?} contains a space, line break or control character",
                inv.to
            )));
        }
        let address: Address = inv
            .to
            .parse()
            .map_err(|e| EmailError::Address(format!("{:?}: {e}", inv.to)))?;
        let display_name = inv.display_name.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = display_name {
            if n.chars().any(templates::is_control) {
                return Err(EmailError::Address(format!(
                    "display name {n:?} contains a line break or control character"
                )));
            }
        }
        if let Some(link) = inv.link {
            let scheme_ok = link.starts_with("https://") || link.starts_with("http://");
            if !scheme_ok || link.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(EmailError::Invalid(format!(
                    "the link is not an http(s) URL: {link:?}"
                )));
            }
        }
        let phone = inv
            .phone
            .filter(|p| p.chars().any(|c| c.is_ascii_digit()))
            .map(crate::factor::sms::mask_phone);
        let lang = inv
            .language
            .and_then(Language::parse)
            .unwrap_or(self.cfg.language);
        let rendered = self.cfg.templates.render(
            lang,
            inv.method,
            &Values {
                name: display_name.unwrap_or(inv.user),
                user: inv.user,
                phone: phone.as_deref(),
                link: inv.link,
                expires: inv.expires,
            },
        );
        Ok((
            Mailbox::new(display_name.map(str::to_owned), address),
            rendered,
        ))
    }

    /// Renders and sends one invitation. Never logs; the caller reports the outcome.
    pub async fn send(&self, inv: &Invitation<'_>) -> Result<(), EmailError> {
        let message = self.render(inv)?;
        // lettre's time-out bounds each step; this bounds a server that answers every step
        // just in time (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA: a handful of steps).
        let overall = Duration::from_secs(self.cfg.timeout_secs.saturating_mul(3));
        match tokio::time::timeout(overall, self.transport.send(message)).await {
            Err(_) => Err(EmailError::Transient(format!(
                "no answer within {}s",
                overall.as_secs()
            ))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
        }
    }

    /// Connects as a send would (TLS with the certificate verified, the login) and says
    /// goodbye without sending: for `mfagate doctor`.
    pub async fn check(&self) -> Result<(), EmailError> {
        let overall = Duration::from_secs(self.cfg.timeout_secs.saturating_mul(3));
        match tokio::time::timeout(overall, self.transport.test_connection()).await {
            Err(_) => Err(EmailError::Transient(format!(
                "no answer within {}s",
                overall.as_secs()
            ))),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(EmailError::Transient(
                "the server did not answer NOOP".into(),
            )),
            Ok(Err(e)) => Err(classify(&e)),
        }
    }

    pub fn config(&self) -> &EmailConfig {
        &self.cfg
    }
}

fn tls_parameters(cfg: &EmailConfig) -> Result<TlsParameters, EmailError> {
    let mut b = TlsParameters::builder(cfg.host.clone());
    for der in &cfg.extra_roots {
        let cert = Certificate::from_der(der.clone())
            .map_err(|e| EmailError::Setup(format!("email.ca_file: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| EmailError::Setup(format!("TLS: {e}")))
}

/// `<time.random@domain of From>`: unique, and names no host of ours.
fn message_id(from: &Mailbox) -> String {
    let mut r = [0u8; 12];
    // Without randomness the time alone still makes it unique enough for one gateway.
    let _ = getrandom::getrandom(&mut r);
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("<{ms}.{hex}@{}>", from.email.domain())
}

/// The login codes (RFC 4954: 530 authentication required, 534 mechanism too weak, 535
/// credentials invalid, 538 encryption required) are the configuration's fault, not the
/// recipient's.
const AUTH_CODES: [&str; 4] = ["530", "534", "535", "538"];

fn classify(e: &lettre::transport::smtp::Error) -> EmailError {
    let msg = e.to_string();
    if let Some(code) = e.status() {
        let code = code.to_string();
        if AUTH_CODES.contains(&code.as_str()) {
            return EmailError::Auth(msg);
        }
        return if e.is_permanent() {
            EmailError::Rejected(msg)
        } else {
            EmailError::Transient(msg)
        };
    }
    if e.is_client() {
        // lettre's own refusals carry no code; these two are told apart by their text.
        if msg.contains("authentication mechanism") {
            return EmailError::Auth(msg);
        }
        if msg.contains("SMTPUTF8") {
            return EmailError::Address(msg);
        }
    }
    EmailError::Transient(msg)
}

#[cfg(test)]
mod tests;
