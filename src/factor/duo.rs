//! Duo's Auth API v2 (`kind = "duo"`): `preauth`, `auth` (push and phone with `async=1`,
//! `sms` to text passcodes, `passcode` to check one) and `auth_status`,
//! requests signed as Duo documents it and as its reference client `duo_client` does by
//! default (signature version 5): HMAC-SHA512 over the date, method, host, path, canonical
//! query parameters, the SHA-512 of the JSON body and of the (empty) `X-Duo-*` headers, sent as
//! HTTP Basic credentials `ikey:hex(signature)`.
//!
//! The `Date` header is read from the system clock, not the gateway's `Clock`: Duo checks it
//! against real time, whatever time the tests simulate.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha512};

use super::percent_encode as quote;
use crate::config::{DuoProvider, Method, Secret};

#[derive(Debug, thiserror::Error)]
pub enum DuoError {
    /// No usable answer (connect error, timeout, 5xx, 429, malformed JSON): failmode decides.
    #[error("Duo {0}: {1}")]
    Unreachable(String, String),
    /// Duo answered with an error (4xx other than 429): always a reject.
    #[error("Duo {0} refused the request: {1}")]
    Refused(String, String),
}

impl super::ProviderError for DuoError {
    fn is_outage(&self) -> bool {
        matches!(self, DuoError::Unreachable(..))
    }
}

/// What `preauth` said about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preauth {
    /// Ask for a second factor.
    Auth,
    /// Duo lets the user in without one (bypass set in Duo).
    Allow,
    Deny(String),
    /// Not enrolled in Duo.
    Enroll,
}

/// What `auth` starts on the user's phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Push,
    Phone,
}

/// The prompt after Duo texted passcodes (`factor=sms`).
const SMS_SENT_PROMPT: &str = "Enter a passcode from the text message Duo sent";

impl super::SecondFactor for DuoClient {
    fn name(&self) -> &str {
        &self.name
    }

    fn may_push(&self, method: Method) -> bool {
        method.is_out_of_band()
    }

    fn precheck<'a>(
        &'a self,
        user: super::Recipient<'a>,
    ) -> super::FactorCall<'a, super::Precheck> {
        Box::pin(async move {
            Ok(match self.preauth(user.name).await? {
                Preauth::Auth => super::Precheck::Proceed,
                Preauth::Allow => {
                    super::Precheck::Allow("Duo preauth: allow (bypass set in Duo)".into())
                }
                Preauth::Deny(m) => super::Precheck::Deny(format!("Duo preauth: deny ({m})")),
                Preauth::Enroll => {
                    super::Precheck::Deny("Duo preauth: the user is not enrolled in Duo".into())
                }
            })
        })
    }

    fn start<'a>(
        &'a self,
        user: super::Recipient<'a>,
        method: Method,
        _our_code: Option<&'a str>,
        can_ask: bool,
    ) -> super::FactorCall<'a, super::Started> {
        Box::pin(async move {
            let factor = match method {
                Method::Push => Factor::Push,
                Method::Phone => Factor::Phone,
                Method::Sms if can_ask => {
                    self.send_passcodes(user.name).await?;
                    return Ok(super::Started::Code {
                        transaction: None,
                        prompt: Some(SMS_SENT_PROMPT.into()),
                    });
                }
                other => {
                    return Err(super::FactorError::unsupported(&self.name, other.as_str()));
                }
            };
            let transaction = self.start_push(user.name, factor).await?;
            Ok(super::Started::OutOfBand { transaction })
        })
    }

    fn check_code<'a>(
        &'a self,
        user: &'a str,
        code: &'a str,
        _transaction: Option<&'a str>,
    ) -> super::FactorCall<'a, super::CodeVerdict> {
        Box::pin(async move {
            Ok(if self.passcode(user, code).await? {
                super::CodeVerdict::Accept("Duo passcode accepted".into())
            } else {
                super::CodeVerdict::Reject("Duo passcode rejected".into())
            })
        })
    }

    fn health(&self) -> super::FactorCall<'_, String> {
        Box::pin(async move {
            self.call("GET", "/auth/v2/check", &[]).await?;
            Ok("integration key, secret key and clock accepted (/auth/v2/check)".into())
        })
    }

    fn poll<'a>(
        &'a self,
        _user: &'a str,
        transaction: &'a str,
    ) -> super::FactorCall<'a, super::Answer> {
        Box::pin(async move {
            Ok(match self.status(transaction).await? {
                PushStatus::Waiting => super::Answer::Waiting,
                PushStatus::Allow => super::Answer::Approved,
                PushStatus::Deny => super::Answer::Denied,
                PushStatus::Fraud => super::Answer::Fraud,
                PushStatus::Timeout => super::Answer::Expired,
            })
        })
    }
}

/// The state of an asynchronous `auth` transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStatus {
    Waiting,
    Allow,
    Deny,
    /// The user marked the request as fraudulent.
    Fraud,
    Timeout,
}

/// Parameters sorted by encoded key, then encoded value, joined as `k=v&…`.
pub fn canon_params(params: &[(&str, &str)]) -> String {
    let mut enc: Vec<(String, String)> = params.iter().map(|(k, v)| (quote(k), quote(v))).collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn sha512_hex(data: &[u8]) -> String {
    crate::store::model::hex(&Sha512::digest(data))
}

/// What a request signature covers. `query` holds the parameters of a GET; `body` the JSON
/// body of a POST ("" for a GET).
pub struct Request<'a> {
    pub date: &'a str,
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub body: &'a str,
}

/// The `Authorization` header value for one request (signature version 5).
pub fn sign_v5(ikey: &str, skey: &str, r: &Request<'_>) -> String {
    let canon = [
        r.date.to_owned(),
        r.method.to_ascii_uppercase(),
        r.host.to_ascii_lowercase(),
        r.path.to_owned(),
        canon_params(r.query),
        sha512_hex(r.body.as_bytes()),
        // No X-Duo-* headers are sent: the hash of their empty canonical form.
        sha512_hex(b""),
    ]
    .join("\n");
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(skey.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(canon.as_bytes());
    let sig = crate::store::model::hex(&mac.finalize().into_bytes());
    format!(
        "Basic {}",
        crate::store::model::base64(format!("{ikey}:{sig}").as_bytes())
    )
}

/// JSON with sorted keys, no spaces and non-ASCII characters as `\uXXXX` escapes, as
/// `duo_client.Client.canon_json` (Python's `json.dumps`) makes it.
pub fn canon_json(params: &[(&str, &str)]) -> String {
    let map: std::collections::BTreeMap<&str, &str> = params.iter().copied().collect();
    let json = serde_json::to_string(&map).unwrap_or_default();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0u16; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

pub struct DuoClient {
    name: String,
    base_url: String,
    api_host: String,
    ikey: String,
    skey: Secret<String>,
    http: reqwest::Client,
    /// Bounds the calls in flight, and so the connections to Duo: each HTTP/1.1 connection
    /// holds buffers, and thousands of logins may wait on a push at once.
    slots: tokio::sync::Semaphore,
}

const MAX_CONCURRENT_CALLS: usize = 64;

impl DuoClient {
    pub fn new(cfg: &DuoProvider) -> Result<Self, DuoError> {
        let http = super::http_client(
            cfg.timeout_secs,
            MAX_CONCURRENT_CALLS,
            cfg.ca_file.as_deref(),
        )
        .map_err(|e| DuoError::Unreachable(cfg.name.clone(), e))?;
        Ok(Self {
            name: cfg.name.clone(),
            base_url: cfg
                .url
                .clone()
                .unwrap_or_else(|| format!("https://{}", cfg.api_host)),
            api_host: cfg.api_host.clone(),
            ikey: cfg.ikey.clone(),
            skey: cfg.skey.clone(),
            http,
            slots: tokio::sync::Semaphore::new(MAX_CONCURRENT_CALLS),
        })
    }

    /// One signed call; the `response` member of a `"stat": "OK"` answer.
    async fn call(
        &self,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, DuoError> {
        let unreachable = |m: String| DuoError::Unreachable(self.name.clone(), m);
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| unreachable("shutting down".into()))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let date = crate::timefmt::rfc2822(now);
        let url = format!("{}{path}", self.base_url);
        let body = if method == "GET" {
            String::new()
        } else {
            canon_json(params)
        };
        let signed = Request {
            date: &date,
            method,
            host: &self.api_host,
            path,
            query: if method == "GET" { params } else { &[] },
            body: &body,
        };
        let auth = sign_v5(&self.ikey, self.skey.expose(), &signed);
        let req = if method == "GET" {
            let q = params
                .iter()
                .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
                .collect::<Vec<_>>()
                .join("&");
            self.http
                .get(if q.is_empty() {
                    url
                } else {
                    format!("{url}?{q}")
                })
                .header("Authorization", auth)
        } else {
            self.http
                .post(url)
                .header("Authorization", auth)
                .header("Content-Type", "application/json")
                .body(body)
        };
        let resp = req
            .header("Date", &date)
            .header("Host", &self.api_host)
            .send()
            .await
            .map_err(|e| unreachable(super::transport_error(&e).into()))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|_| unreachable("reading the answer failed".into()))?;
        if status == 429 || status >= 500 {
            return Err(unreachable(format!("HTTP status {status}")));
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|_| unreachable(format!("HTTP status {status}, not JSON")))?;
        match (status, v.get("stat").and_then(Value::as_str)) {
            (200, Some("OK")) => v
                .get("response")
                .cloned()
                .ok_or_else(|| unreachable("no response member".into())),
            (s, _) if (400..500).contains(&s) => Err(DuoError::Refused(
                self.name.clone(),
                format!(
                    "HTTP status {s}, code {}: {}",
                    v.get("code").and_then(Value::as_u64).unwrap_or(0),
                    v.get("message").and_then(Value::as_str).unwrap_or("")
                ),
            )),
            (s, _) => Err(unreachable(format!("HTTP status {s}, stat not OK"))),
        }
    }

    pub async fn preauth(&self, username: &str) -> Result<Preauth, DuoError> {
        let r = self
            .call("POST", "/auth/v2/preauth", &[("username", username)])
            .await?;
        let msg = r
            .get("status_msg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match r.get("result").and_then(Value::as_str) {
            Some("auth") => Ok(Preauth::Auth),
            Some("allow") => Ok(Preauth::Allow),
            Some("deny") => Ok(Preauth::Deny(msg)),
            Some("enroll") => Ok(Preauth::Enroll),
            _ => Err(DuoError::Unreachable(
                self.name.clone(),
                "preauth: no result".into(),
            )),
        }
    }

    /// Sends a push or places a call (`device=auto`, `async=1`); returns the transaction id.
    /// `factor=sms`: Duo texts the user a batch of passcodes and answers `deny` with status
    /// `sent` (the passcodes are then checked with `factor=passcode`).
    pub async fn send_passcodes(&self, username: &str) -> Result<(), DuoError> {
        let r = self
            .call(
                "POST",
                "/auth/v2/auth",
                &[
                    ("username", username),
                    ("factor", "sms"),
                    ("device", "auto"),
                ],
            )
            .await?;
        match r.get("status").and_then(Value::as_str) {
            Some("sent") => Ok(()),
            Some(other) => Err(DuoError::Refused(
                self.name.clone(),
                format!("passcodes not sent (status {other})"),
            )),
            None => Err(DuoError::Unreachable(
                self.name.clone(),
                "auth: no status".into(),
            )),
        }
    }

    pub async fn start_push(&self, username: &str, factor: Factor) -> Result<String, DuoError> {
        let factor = match factor {
            Factor::Push => "push",
            Factor::Phone => "phone",
        };
        let r = self
            .call(
                "POST",
                "/auth/v2/auth",
                &[
                    ("username", username),
                    ("factor", factor),
                    ("device", "auto"),
                    ("async", "1"),
                ],
            )
            .await?;
        r.get("txid")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| DuoError::Unreachable(self.name.clone(), "auth: no txid".into()))
    }

    /// Checks a passcode from Duo Mobile (or a hardware token) (`factor=passcode`).
    pub async fn passcode(&self, username: &str, passcode: &str) -> Result<bool, DuoError> {
        let r = self
            .call(
                "POST",
                "/auth/v2/auth",
                &[
                    ("username", username),
                    ("factor", "passcode"),
                    ("passcode", passcode),
                ],
            )
            .await?;
        match r.get("result").and_then(Value::as_str) {
            Some("allow") => Ok(true),
            Some("deny") => Ok(false),
            _ => Err(DuoError::Unreachable(
                self.name.clone(),
                "auth: no result".into(),
            )),
        }
    }

    pub async fn status(&self, txid: &str) -> Result<PushStatus, DuoError> {
        let r = self
            .call("GET", "/auth/v2/auth_status", &[("txid", txid)])
            .await?;
        let status = r.get("status").and_then(Value::as_str).unwrap_or_default();
        Ok(match (r.get("result").and_then(Value::as_str), status) {
            (Some("waiting"), _) => PushStatus::Waiting,
            (Some("allow"), _) => PushStatus::Allow,
            (Some("deny"), "fraud") => PushStatus::Fraud,
            (Some("deny"), "timeout") => PushStatus::Timeout,
            (Some("deny"), _) => PushStatus::Deny,
            _ => {
                return Err(DuoError::Unreachable(
                    self.name.clone(),
                    "auth_status: no result".into(),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_parameters_and_base64() {
        assert_eq!(
            canon_params(&[("username", "al ice"), ("async", "1"), ("factor", "push")]),
            "async=1&factor=push&username=al%20ice"
        );
        assert_eq!(crate::store::model::base64(b"ab"), "YWI=");
        assert_eq!(crate::store::model::base64(b"abc"), "YWJj");
        assert_eq!(
            crate::timefmt::rfc2822(0),
            "Thu, 01 Jan 1970 00:00:00 -0000"
        );
        assert_eq!(
            crate::timefmt::rfc2822(1_795_435_215),
            "Mon, 23 Nov 2026 12:00:15 -0000"
        );
    }
}
