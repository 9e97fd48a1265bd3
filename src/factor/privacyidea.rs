//! privacyIDEA (`kind = "privacyidea"`): the user's tokens (TOTP, HOTP, SMS, e-mail) live in
//! privacyIDEA, and mfagate asks it with `/validate/check`. Challenge-response tokens (SMS,
//! e-mail) are triggered with `/validate/triggerchallenge` as a service account (so no failed
//! attempt is counted against the user's tokens), and their `transaction_id` travels in our
//! own challenge record; privacyIDEA's prompt is relayed to the user. A push token's challenge
//! is answered on the phone: `/validate/polltransaction` says when, and `/validate/check` with
//! an empty pass and the transaction id gives the verdict.

use serde_json::Value;

use crate::config::{Method, PrivacyideaProvider};

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

impl super::ProviderError for PiError {
    fn is_outage(&self) -> bool {
        matches!(self, PiError::Unreachable(..))
    }
}

/// What `/validate/check` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Reject(String),
    /// A challenge was sent (SMS, e-mail, push): answer with this transaction id. With
    /// `push`, one of the user's tokens waits for an answer on the phone.
    Challenge {
        transaction_id: String,
        message: String,
        push: bool,
    },
}

/// What the phone did with a push challenge (`/validate/polltransaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollAnswer {
    Pending,
    /// Approved on the phone and accepted by `/validate/check`.
    Accepted,
    /// "This was not me" (`decline_reason = unknown_trigger`, or a decline without reason).
    Declined,
    /// The user stopped a login they started themselves.
    Cancelled,
}

impl super::SecondFactor for PiClient {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn may_push(&self, _method: Method) -> bool {
        // Triggering may reach a push token; which tokens the user has is privacyIDEA's.
        true
    }

    fn start<'a>(
        &'a self,
        user: super::Recipient<'a>,
        _method: Method,
        _our_code: Option<&'a str>,
        can_ask: bool,
    ) -> super::FactorCall<'a, super::Started> {
        Box::pin(async move {
            // Without a prompt only push tokens are of use: privacyIDEA honours the type
            // when its `application_tokentype` authorization policy allows it, and ignores
            // it otherwise.
            let only = (!can_ask).then_some("push");
            Ok(match self.trigger(user.name, only).await? {
                Some(Verdict::Challenge {
                    transaction_id,
                    push: true,
                    ..
                }) => super::Started::OutOfBand {
                    transaction: transaction_id,
                },
                Some(Verdict::Challenge {
                    transaction_id,
                    message,
                    push: false,
                }) => super::Started::Code {
                    transaction: Some(transaction_id),
                    prompt: Some(message),
                },
                // No challenge-response token: the user types a code from their token.
                _ => super::Started::Code {
                    transaction: None,
                    prompt: None,
                },
            })
        })
    }

    fn check_code<'a>(
        &'a self,
        user: &'a str,
        code: &'a str,
        transaction: Option<&'a str>,
    ) -> super::FactorCall<'a, super::CodeVerdict> {
        Box::pin(async move {
            match self.check(user, code, transaction).await? {
                Verdict::Accept => Ok(super::CodeVerdict::Accept(
                    "privacyIDEA accepted the code".into(),
                )),
                Verdict::Reject(m) => Ok(super::CodeVerdict::Reject(format!(
                    "privacyIDEA rejected the code ({m})"
                ))),
                Verdict::Challenge { .. } => Ok(super::CodeVerdict::Reject(
                    "privacyIDEA asked for another challenge".into(),
                )),
            }
        })
    }

    fn health(&self) -> super::FactorCall<'_, String> {
        Box::pin(async move {
            if self.cfg.service.is_some() {
                self.service_token().await?;
                return Ok("service account accepted (/auth)".into());
            }
            let resp = self
                .http
                .get(format!("{}/healthz/", self.cfg.url))
                .send()
                .await
                .map_err(|e| self.unreachable(super::transport_error(&e)))?;
            match resp.status().as_u16() {
                200 => Ok("ready (/healthz)".into()),
                s => Err(self
                    .unreachable(format!("/healthz: HTTP status {s}"))
                    .into()),
            }
        })
    }

    fn poll<'a>(
        &'a self,
        user: &'a str,
        transaction: &'a str,
    ) -> super::FactorCall<'a, super::Answer> {
        Box::pin(async move {
            Ok(match PiClient::poll(self, user, transaction).await? {
                PollAnswer::Pending => super::Answer::Waiting,
                PollAnswer::Accepted => super::Answer::Approved,
                PollAnswer::Declined => super::Answer::Fraud,
                PollAnswer::Cancelled => super::Answer::Denied,
            })
        })
    }
}

pub struct PiClient {
    cfg: PrivacyideaProvider,
    http: reqwest::Client,
}

impl PiClient {
    pub fn new(cfg: &PrivacyideaProvider) -> Result<Self, PiError> {
        let http = super::http_client(cfg.timeout_secs, 64, cfg.ca_file.as_deref())
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
        let req = self.http.post(format!("{}{path}", self.cfg.url)).form(form);
        self.send(req, jwt).await
    }

    async fn send(
        &self,
        mut req: reqwest::RequestBuilder,
        jwt: Option<&str>,
    ) -> Result<(Value, Value), PiError> {
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

    /// A JWT for the service account (`/auth`).
    async fn service_token(&self) -> Result<String, PiError> {
        match &self.cfg.service {
            Some((admin, secret)) => self.login(admin, secret.expose()).await,
            None => Err(PiError::Refused(
                self.cfg.name.clone(),
                "no service_user configured".into(),
            )),
        }
    }

    async fn login(&self, admin: &str, password: &str) -> Result<String, PiError> {
        let (result, _) = self
            .post(
                "/auth",
                &[("username", admin), ("password", password)],
                None,
            )
            .await?;
        Ok(result
            .pointer("/value/token")
            .and_then(Value::as_str)
            .ok_or_else(|| self.unreachable("/auth: no token"))?
            .to_owned())
    }

    /// `/validate/polltransaction`, and for an answered push the `/validate/check` (empty
    /// pass, the transaction id) that privacyIDEA's API makes the final word.
    pub async fn poll(&self, user: &str, transaction_id: &str) -> Result<PollAnswer, PiError> {
        let req = self
            .http
            .get(format!("{}/validate/polltransaction", self.cfg.url))
            .query(&[("transaction_id", transaction_id)]);
        let (result, detail) = self.send(req, None).await?;
        let answered = result.get("value").and_then(Value::as_bool);
        let status = detail.get("challenge_status").and_then(Value::as_str);
        match (answered, status) {
            (Some(true), _) => match self.check(user, "", Some(transaction_id)).await? {
                Verdict::Accept => Ok(PollAnswer::Accepted),
                Verdict::Reject(_) => Ok(PollAnswer::Cancelled),
                Verdict::Challenge { .. } => Err(self.unreachable("answered push, new challenge")),
            },
            (Some(false), Some("declined")) => Ok(PollAnswer::Declined),
            (Some(false), Some("cancelled")) => Ok(PollAnswer::Cancelled),
            // Before 3.10 there is no challenge_status: false means not answered (yet).
            (Some(false), _) => Ok(PollAnswer::Pending),
            (None, _) => Err(self.unreachable("polltransaction: no value")),
        }
    }

    /// Triggers the user's challenge-response tokens (SMS, e-mail) as the service account.
    /// `Ok(None)`: the user has none (a TOTP or HOTP user types a code instead).
    pub async fn trigger(
        &self,
        user: &str,
        only_type: Option<&str>,
    ) -> Result<Option<Verdict>, PiError> {
        let Some((admin, secret)) = &self.cfg.service else {
            // Without a service account, an empty pass (= an empty PIN) triggers them too.
            let mut form = self.user_form(user);
            form.push(("pass", ""));
            if let Some(t) = only_type {
                form.push(("type", t));
            }
            let (result, detail) = self.post("/validate/check", &form, None).await?;
            return match self.verdict(&result, &detail, None)? {
                v @ Verdict::Challenge { .. } => Ok(Some(v)),
                _ => Ok(None),
            };
        };
        let jwt = self.login(admin, secret.expose()).await?;
        let mut form = self.user_form(user);
        if let Some(t) = only_type {
            form.push(("type", t));
        }
        let (result, detail) = self
            .post("/validate/triggerchallenge", &form, Some(&jwt))
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
        // A push token's challenge is answered on the phone; privacyIDEA marks it by type
        // (and, since 3.8, by client_mode "poll").
        let push = detail
            .get("multi_challenge")
            .and_then(Value::as_array)
            .is_some_and(|all| {
                all.iter().any(|c| {
                    c.get("type").and_then(Value::as_str) == Some("push")
                        || c.get("client_mode").and_then(Value::as_str) == Some("poll")
                })
            });
        Ok(Verdict::Challenge {
            transaction_id,
            message,
            push,
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
