//! Second factors ("is it really them?"). TOTP is verified locally; SMS codes are made here
//! and delivered by an HTTP gateway. The state both need (replay guard, failure counter,
//! lockout, the code's hash) lives in the store and is changed by the pipeline in the same
//! transaction as the audit record, so these modules hold the rules and the delivery.
//!
//! A `SecondFactor` trait over the cloud providers (privacyIDEA, Duo: push and phone) will be
//! extracted when they arrive; with one delivery kind it would only be indirection.

pub mod duo;
pub mod privacyidea;
pub mod sms;
pub mod totp;

/// The HTTP client for a cloud provider: rustls with the system's roots (certificates always
/// verified), no redirects, a whole-request timeout, and a bounded pool of idle connections.
pub(crate) fn http_client(timeout_secs: u64, max_idle: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
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
