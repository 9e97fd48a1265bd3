//! privacyIDEA (`kind = "privacyidea"`): the user's tokens (TOTP, HOTP, SMS, e-mail) live in
//! privacyIDEA, and mfagate asks it with `/validate/check`. Challenge-response tokens (SMS,
//! e-mail) are triggered with `/validate/triggerchallenge` as a service account (so no failed
//! attempt is counted against the user's tokens), and their `transaction_id` travels in our
//! own challenge record; privacyIDEA's prompt is relayed to the user.

use serde_json::Value;

use crate::config::PrivacyideaProvider;

#[derive(Debug, thiserror::Error)]
pub enum PiError {
    /// No usable answer (connect error, timeout, 5xx, 429, malformed JSON, an answer for
    /// another transaction): failmode decides.
    #[error("privacyIDEA {0}: {1}")]
    Unreachable(String, String),
    /// privacyIDEA answered with an error (4xx, `status: false`): always a reject.
    #[error("privacyIDEA {0} refused the request: {1}")]
    Refused(String, String),
}

impl PiError {
    /// The provider could not be reached or failed (the client's failmode decides), as
    /// opposed to a refusal.
    pub fn is_outage(&self) -> bool {
        matches!(self, PiError::Unreachable(..))
    }
}

/// What `/validate/check` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Reject(String),
    /// A challenge was sent (SMS, e-mail): answer with this transaction id.
    Challenge {
        transaction_id: String,
        message: String,
    },
}

pub struct PiClient {
    cfg: PrivacyideaProvider,
    http: reqwest::Client,
}

impl PiClient {
    pub fn new(cfg: &PrivacyideaProvider) -> Result<Self, PiError> {
        let http = super::http_client(cfg.timeout_secs, 64)
            .map_err(|e| PiError::Unreachable(cfg.name.clone(), e))?;
        Ok(Self {
            cfg: cfg.clone(),
            http,
        })
    }

    fn unreachable(&self, m: impl Into<String>) -> PiError {
        PiError::Unreachable(self.cfg.name.clone(), m.into())
    }

    /// POSTs a form and returns the JSON answer's `result` and `detail`.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        jwt: Option<&str>,
    ) -> Result<(Value, Value), PiError> {
        let mut req = self.http.post(format!("{}{path}", self.cfg.url)).form(form);
        if let Some(t) = jwt {
            req = req.header("PI-Authorization", t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.unreachable(super::transport_error(&e)))?;
        let status = resp.status().as_u16();
        if status == 429 || status >= 500 {
            return Err(self.unreachable(format!("HTTP status {status}")));
        }
        let text = resp
            .text()
            .await
            .map_err(|_| self.unreachable("reading the answer failed"))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|_| self.unreachable(format!("HTTP status {status}, not JSON")))?;
        let result = v.get("result").cloned().unwrap_or(Value::Null);
        if status >= 400 || result.get("status") != Some(&Value::Bool(true)) {
            let msg = result
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no error message");
            return Err(PiError::Refused(
                self.cfg.name.clone(),
                format!("HTTP status {status}: {msg}"),
            ));
        }
        Ok((result, v.get("detail").cloned().unwrap_or(Value::Null)))
    }

    fn user_form<'a>(&'a self, user: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut form = vec![("user", user)];
        if let Some(r) = &self.cfg.realm {
            form.push(("realm", r.as_str()));
        }
        form
    }

    /// `/validate/check` with `pass` (and the transaction of an earlier challenge).
    pub async fn check(
        &self,
        user: &str,
        pass: &str,
        transaction_id: Option<&str>,
    ) -> Result<Verdict, PiError> {
        let mut form = self.user_form(user);
        form.push(("pass", pass));
        if let Some(t) = transaction_id {
            form.push(("transaction_id", t));
        }
        let (result, detail) = self.post("/validate/check", &form, None).await?;
        self.verdict(&result, &detail, transaction_id)
    }

    /// Triggers the user's challenge-response tokens (SMS, e-mail) as the service account.
    /// `Ok(None)`: the user has none (a TOTP or HOTP user types a code instead).
    pub async fn trigger(&self, user: &str) -> Result<Option<Verdict>, PiError> {
        let Some((admin, secret)) = &self.cfg.service else {
            // Without a service account, an empty pass (= an empty PIN) triggers them too.
            return match self.check(user, "", None).await? {
                v @ Verdict::Challenge { .. } => Ok(Some(v)),
                _ => Ok(None),
            };
        };
        let (result, _) = self
            .post(
                "/auth",
                &[("username", admin), ("password", secret.expose())],
                None,
            )
            .await?;
        let jwt = result
            .pointer("/value/token")
            .and_then(Value::as_str)
            .ok_or_else(|| self.unreachable("/auth: no token"))?
            .to_owned();
        let (result, detail) = self
            .post(
                "/validate/triggerchallenge",
                &self.user_form(user),
                Some(&jwt),
            )
            .await?;
        if result.get("value").and_then(Value::as_u64).unwrap_or(0) == 0 {
            return Ok(None);
        }
        self.challenge_from(&detail).map(Some)
    }

    fn challenge_from(&self, detail: &Value) -> Result<Verdict, PiError> {
        let transaction_id = detail
            .get("transaction_id")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.unreachable("challenge without transaction_id"))?
            .to_owned();
        let message = detail
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("Enter the code")
            .to_owned();
        Ok(Verdict::Challenge {
            transaction_id,
            message,
        })
    }

    fn verdict(
        &self,
        result: &Value,
        detail: &Value,
        asked_for: Option<&str>,
    ) -> Result<Verdict, PiError> {
        // An answer about another transaction is not an answer to ours.
        if let (Some(ours), Some(theirs)) = (
            asked_for,
            detail.get("transaction_id").and_then(Value::as_str),
        ) {
            if ours != theirs {
                return Err(self.unreachable("answer for another transaction"));
            }
        }
        let message = detail
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match result.get("authentication").and_then(Value::as_str) {
            Some("ACCEPT") => Ok(Verdict::Accept),
            Some("REJECT") => Ok(Verdict::Reject(message)),
            Some("CHALLENGE") => self.challenge_from(detail),
            // privacyIDEA before 3.x: only `value`.
            None => match result.get("value").and_then(Value::as_bool) {
                Some(true) => Ok(Verdict::Accept),
                Some(false) => Ok(Verdict::Reject(message)),
                None => Err(self.unreachable("no authentication result")),
            },
            Some(o) => Err(self.unreachable(format!("unknown authentication result {o}"))),
        }
    }
}
