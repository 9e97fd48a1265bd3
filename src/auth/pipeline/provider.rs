//! A provider's second factor: starting it (precheck, push limits, mfagate's own code when
//! the provider only carries it, the start itself), the code the provider checks, and the one
//! failmode rule for a provider that fails.

use super::*;

impl Pipeline {
    /// Starts a provider's factor: the provider's precheck, the push limits when it may
    /// reach the phone, mfagate's code when the provider only carries it, then the start
    /// itself (sent once). A code to type becomes a challenge; an answer on the phone is
    /// waited for (wait mode, LDAP binds) or collected by the answer to a challenge
    /// (challenge mode), on whichever node it lands: the pending factor is a store record.
    pub(super) async fn begin(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        provider: Arc<dyn SecondFactor>,
    ) -> Result<Decision, AuthError> {
        let method = user.method;
        let in_bind = !audit.can_challenge();
        let who = Recipient {
            name: &user.name,
            phone: user.phone.as_deref(),
        };
        match provider.precheck(who).await {
            Ok(Precheck::Proceed) => {}
            Ok(Precheck::Allow(reason)) => {
                return self.finish(audit, AuthResult::Accept, &reason).await
            }
            Ok(Precheck::Deny(reason)) => return self.finish_reject(audit, &reason).await,
            Err(e) => return self.provider_failed(audit, e.outage, &e.message).await,
        }
        let id = self.challenge_id()?;
        let now = self.clock.now_ms();
        let mut challenge = self.new_challenge(audit, user);
        let pushes = provider.may_push(method);
        // A RADIUS request held while the phone is asked (wait mode) is known to the cluster,
        // so that its retransmit elsewhere is dropped, or finishes this push if we stop.
        let waiting_request = audit
            .req
            .retransmit_key
            .clone()
            .filter(|_| pushes && !in_bind && audit.req.push_mode == PushMode::Wait);
        if waiting_request.is_some() {
            if let Some(d) = self.adopt_push(audit, user, &*provider).await? {
                return Ok(d);
            }
        }
        if pushes {
            challenge.expires_ms = now + self.cfg.factor.push.timeout_secs * 1000;
            challenge.attempts_left = 1;
            if let Err(why) = self
                .reserve_push(user, &id, &challenge, waiting_request)
                .await?
            {
                return self.finish_reject(audit, &why).await;
            }
        }
        let code = if provider.carries_our_code() {
            let unavailable = |e: getrandom::Error| AuthError::Unavailable(e.to_string());
            let s = &self.cfg.factor.sms;
            let code = sms::generate_code(s.code_digits).map_err(unavailable)?;
            let mut salt = [0u8; 16];
            getrandom::getrandom(&mut salt).map_err(unavailable)?;
            let mac = self.store.sealer().code_mac(&id, &salt, &code);
            challenge.expires_ms = now + s.code_ttl_secs * 1000;
            challenge.attempts_left = s.max_attempts;
            challenge.sms = Some(SmsCodeHash {
                salt: hex(&salt),
                mac: hex(&mac),
            });
            Some(code)
        } else {
            None
        };
        // Sent before the challenge is stored: the client cannot answer before it has the
        // State, which it gets only after that commit.
        let started = match provider.start(who, method, code.as_deref(), !in_bind).await {
            Ok(s) => s,
            Err(e) if pushes => {
                return self.settle_push(audit, user, id, challenge, Err(e)).await;
            }
            Err(e) => {
                let what = match method {
                    Method::Sms => format!("SMS not delivered ({e})"),
                    m => format!("{} not started ({e})", m.as_str()),
                };
                return self.provider_failed(audit, e.outage, &what).await;
            }
        };
        let pending = |transaction, out_of_band| PendingFactor {
            method,
            provider: provider.name().to_owned(),
            transaction,
            out_of_band,
        };
        let transaction = match started {
            Started::OutOfBand { transaction } => transaction,
            Started::Delivered { .. } | Started::Code { .. } if in_bind => {
                if pushes {
                    self.release_push(user, &id).await?;
                }
                let reason =
                    "a code is needed, and an LDAP bind cannot ask for one (append it to the password)";
                return self.finish_reject(audit, reason).await;
            }
            Started::Delivered { to } => {
                let prompt = self.cfg.factor.prompts.sms.replace("{to}", &to);
                return self
                    .open_challenge(
                        audit,
                        user,
                        id,
                        challenge,
                        "password accepted, SMS code sent",
                        prompt,
                    )
                    .await;
            }
            Started::Code {
                transaction,
                prompt,
            } => {
                if pushes {
                    // Nothing waits on the phone: `open_challenge` gives the reservation back.
                    challenge.expires_ms = now + self.cfg.factor.challenge_ttl_secs * 1000;
                    challenge.attempts_left = self.cfg.factor.challenge_max_attempts;
                }
                challenge.factor = Some(pending(transaction, false));
                let prompt = prompt
                    .map(|p| crate::config::terminal_prompt(&p))
                    .unwrap_or_else(|| self.cfg.factor.prompts.totp.clone());
                let reason = format!(
                    "password accepted; code requested through {}",
                    provider.name()
                );
                return self
                    .open_challenge(audit, user, id, challenge, &reason, prompt)
                    .await;
            }
        };
        challenge.factor = Some(pending(Some(transaction.clone()), true));
        let (cid, c) = (id.clone(), challenge.clone());
        self.store
            .write(move |tx| tx.put_challenge(&cid, &c))
            .await?;
        if audit.req.push_mode == PushMode::Challenge && !in_bind {
            let reason = "push sent; waiting for the answer to the challenge";
            let prompts = &self.cfg.factor.prompts;
            let prompt = if method == Method::Phone {
                &prompts.phone
            } else {
                &prompts.push
            };
            return self
                .open_challenge(audit, user, id, challenge, reason, prompt.clone())
                .await;
        }
        let limit = Duration::from_secs(self.cfg.factor.push.timeout_secs);
        let waiting = self.push_waiting();
        let outcome = poll_answer(&*provider, &user.name, &transaction, limit).await;
        drop(waiting);
        self.settle_push(audit, user, id, challenge, outcome).await
    }

    /// A code the provider checks (a Duo passcode, a privacyIDEA OTP): appended to the
    /// password, or the answer to a challenge, whose attempts are spent here, in answer to
    /// `transaction`.
    pub(super) async fn provider_code(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        provider: &dyn SecondFactor,
        code: &str,
        transaction: Option<&str>,
        challenge: Option<(Vec<u8>, ChallengeRecord)>,
    ) -> Result<Decision, AuthError> {
        let verdict = provider
            .check_code(&user.name, code.trim(), transaction)
            .await;
        let (result, reason) = match verdict {
            Ok(CodeVerdict::Accept(why)) => (AuthResult::Accept, why),
            Ok(CodeVerdict::Reject(why)) => (AuthResult::Reject, why),
            Err(e) => {
                if let Some((id, mut c)) = challenge {
                    c.consumed = true;
                    self.store
                        .write(move |tx| tx.put_challenge(&id, &c))
                        .await?;
                }
                return self.provider_failed(audit, e.outage, &e.message).await;
            }
        };
        let record = self.record(audit, result, &reason);
        self.store
            .write(move |tx| {
                if let Some((id, mut c)) = challenge {
                    c.attempts_left = c.attempts_left.saturating_sub(1);
                    c.consumed = result == AuthResult::Accept || c.attempts_left == 0;
                    tx.put_challenge(&id, &c)?;
                }
                tx.append_auth(&record)
            })
            .await?;
        Ok(self.decided(audit, result, &reason))
    }

    /// The one failmode rule: a provider outage on a `failmode = "safe"` client accepts on
    /// the password alone (warned every time); a refusal, or any failure on a `secure` client,
    /// rejects. `what` describes the failure for the log.
    pub(super) fn failmode_verdict(
        &self,
        audit: &Audit<'_>,
        outage: bool,
        what: &str,
    ) -> (AuthResult, String) {
        if outage && audit.req.failmode == FailMode::Safe {
            tracing::warn!(error = what, user = %audit.user, client = %audit.req.client_name,
                "second-factor provider unreachable: failmode safe, accepted on the password alone");
            (
                AuthResult::Accept,
                format!("{what}; failmode safe: accepted on the password alone"),
            )
        } else {
            (AuthResult::Reject, format!("{what}; rejected"))
        }
    }

    /// Records and returns the decision for a provider that failed before anything was
    /// pending.
    pub(super) async fn provider_failed(
        &self,
        audit: &Audit<'_>,
        outage: bool,
        what: &str,
    ) -> Result<Decision, AuthError> {
        let (result, reason) = self.failmode_verdict(audit, outage, what);
        self.finish(audit, result, &reason).await
    }
}
