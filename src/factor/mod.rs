//! Second factors ("is it really them?"). TOTP is verified locally (`totp`); everything else
//! goes through a provider behind the [`SecondFactor`] trait: an HTTP SMS gateway that
//! carries codes mfagate makes (`sms`), Duo's Auth API (`duo`) and privacyIDEA
//! (`privacyidea`). The pipeline only sees the trait: what a provider starts (a code to type,
//! a code it delivered for us, or an answer on another device), how it checks a code and how
//! it reports an answer on the phone. The state around a factor (replay guard, failure
//! counter, lockout, the pending challenge, push limits) lives in the store and is changed by
//! the pipeline in the same transaction as the audit record; providers hold no login state.

use std::future::Future;
use std::pin::Pin;

use crate::config::{Method, ProviderConfig};

pub mod duo;
pub mod privacyidea;
pub mod sms;
pub mod totp;

/// A provider call. Boxed so providers can sit behind `dyn SecondFactor` (and so a login
/// waiting on one holds a pointer, not the request's state).
pub type FactorCall<'a, T> = Pin<Box<dyn Future<Output = Result<T, FactorError>> + Send + 'a>>;

/// A provider failed to decide.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FactorError {
    /// Unreachable or failing (connect error, TLS error, timeout, 5xx, 429, malformed answer,
    /// an answer about another transaction): the client's failmode decides. Otherwise the
    /// provider refused the request, which always rejects.
    pub outage: bool,
    pub message: String,
}

impl FactorError {
    pub fn unsupported(provider: &str, what: &str) -> Self {
        FactorError {
            outage: false,
            message: format!("provider {provider} does not offer {what}"),
        }
    }
}

/// A provider's own error, which knows whether it is an outage.
pub trait ProviderError: std::fmt::Display {
    /// The provider could not be reached or failed (the client's failmode decides), as
    /// opposed to a refusal.
    fn is_outage(&self) -> bool;
}

impl<E: ProviderError> From<E> for FactorError {
    fn from(e: E) -> Self {
        FactorError {
            outage: e.is_outage(),
            message: e.to_string(),
        }
    }
}

/// Whom a factor is started for.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub name: &'a str,
    pub phone: Option<&'a str>,
}

/// Before anything reaches the user (Duo's preauth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precheck {
    Proceed,
    /// The provider lets the user in without a second factor; the reason is logged.
    Allow(String),
    Deny(String),
}

/// What a provider started for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The code mfagate made was delivered (to the masked address); mfagate checks the
    /// answer against the code's hash.
    Delivered { to: String },
    /// The user types a code the provider checks (one it sent, or one from the user's token),
    /// answering `transaction` when there is one; `prompt` is the provider's own words.
    Code {
        transaction: Option<String>,
        prompt: Option<String>,
    },
    /// The user answers on another device (push, phone call); `poll` tells the answer. A code
    /// typed instead goes to `check_code` with the transaction.
    OutOfBand { transaction: String },
}

/// A provider's verdict on a typed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeVerdict {
    /// Accepted; the reason names the provider for the log.
    Accept(String),
    Reject(String),
}

/// The state of an answer on another device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Waiting,
    Approved,
    Denied,
    /// The user said the request was not theirs: the second factor is locked.
    Fraud,
    /// The provider gave up waiting.
    Expired,
}

/// A second-factor provider (`[[factor.provider]]`). Adding a kind means implementing this,
/// naming it in [`build`] and saying in `config::ProviderConfig` which methods it serves; the
/// pipeline and the front-ends stay as they are.
pub trait SecondFactor: Send + Sync {
    /// The provider's name in the configuration.
    fn name(&self) -> &str;

    /// Whether mfagate makes the code and the provider only carries it; then `start` gets the
    /// code and mfagate keeps its hash.
    fn carries_our_code(&self) -> bool {
        false
    }

    /// Whether starting `method` may put a request on the user's phone that they approve
    /// there (push or call): such starts are subject to the per-user push limits.
    fn may_push(&self, method: Method) -> bool;

    /// Asked once before `start`; the default lets every user proceed.
    fn precheck<'a>(&'a self, _user: Recipient<'a>) -> FactorCall<'a, Precheck> {
        Box::pin(async { Ok(Precheck::Proceed) })
    }

    /// Starts `method` for the user after the password was accepted. Sent at most once: a
    /// failure is never retried in a way that could reach the user twice. Without
    /// `can_ask` (inside an LDAP bind, which cannot carry a prompt) only what is answered on
    /// the phone may be started.
    fn start<'a>(
        &'a self,
        user: Recipient<'a>,
        method: Method,
        our_code: Option<&'a str>,
        can_ask: bool,
    ) -> FactorCall<'a, Started>;

    /// Checks a code the provider verifies, in answer to `transaction` when there is one.
    fn check_code<'a>(
        &'a self,
        user: &'a str,
        code: &'a str,
        transaction: Option<&'a str>,
    ) -> FactorCall<'a, CodeVerdict>;

    /// The answer on the phone to `transaction` so far.
    fn poll<'a>(&'a self, user: &'a str, transaction: &'a str) -> FactorCall<'a, Answer>;

    /// Whether the provider answers (and takes mfagate's credentials, where it has some),
    /// without reaching any user: `mfagate doctor`. `Ok` says what was checked.
    fn health(&self) -> FactorCall<'_, String>;
}

/// The provider for one `[[factor.provider]]`.
pub fn build(cfg: &ProviderConfig) -> Result<std::sync::Arc<dyn SecondFactor>, FactorError> {
    Ok(match cfg {
        ProviderConfig::SmsHttp(c) => std::sync::Arc::new(sms::SmsSender::new(c)?),
        ProviderConfig::Duo(c) => std::sync::Arc::new(duo::DuoClient::new(c)?),
        ProviderConfig::Privacyidea(c) => std::sync::Arc::new(privacyidea::PiClient::new(c)?),
    })
}

/// The HTTP client for a cloud provider: rustls with the system's roots and the provider's
/// `ca_file` (certificates always verified), no redirects, a whole-request timeout, and a
/// bounded pool of idle connections.
pub(crate) fn http_client(
    timeout_secs: u64,
    max_idle: usize,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .pool_max_idle_per_host(max_idle)
        .timeout(std::time::Duration::from_secs(timeout_secs))
        .connect_timeout(std::time::Duration::from_secs(timeout_secs.min(5)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// RFC 3986 percent-encoding (unreserved characters stay), as Python's
/// `urllib.parse.quote(s, '~')`.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What went wrong with a request that got no HTTP answer, in words for the log (never the
/// URL or body, which may hold a code or a secret).
pub(crate) fn transport_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    }
}
