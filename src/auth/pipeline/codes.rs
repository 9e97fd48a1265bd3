//! Checking a one-time code — a TOTP code or mfagate's own SMS code: the challenge, the replay
//! guard and the failure counter are settled in one transaction with the audit record, and in
//! a cluster an accept waits for the peers ([`Pipeline::peers_agree`]).

use super::*;

impl Pipeline {
    /// The answer to an SMS challenge: the challenge must still be open and the user's newest,
    /// the code's hash must match; every attempt spends one of the challenge's attempts and
    /// counts towards the second factor's lockout, in one transaction with the audit record.
    pub(super) async fn check_sms_code(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        code: &str,
        id: Vec<u8>,
    ) -> Result<Decision, AuthError> {
        let key = user_key(&user.name);
        let now = self.clock.now_ms();
        let fcfg = self.cfg.factor.clone();
        let mut record = self.record(audit, AuthResult::Reject, "");
        let store = self.store.clone();
        let code = code.trim().to_owned();
        let deferred = self.claims.is_some();
        let (result, reason, after, upto, key) = self
            .store
            .write(move |tx| {
                let after = tx.seq();
                let verdict = (|| -> Result<(AuthResult, String), StoreError> {
                    let Some(mut c) = tx.challenge(&id)? else {
                        return Ok((AuthResult::Reject, STALE_CHALLENGE.to_owned()));
                    };
                    if c.consumed || c.attempts_left == 0 || c.expires_ms <= now {
                        return Ok((AuthResult::Reject, STALE_CHALLENGE.to_owned()));
                    }
                    if tx.sms_latest(&key)?.as_deref() != Some(id.as_slice()) {
                        return Ok((
                            AuthResult::Reject,
                            "SMS code replaced by a newer one".to_owned(),
                        ));
                    }
                    let failures = tx.failures(&key)?;
                    if totp::is_locked(&failures, now, &fcfg) {
                        return Ok((AuthResult::Reject, CodeOutcome::Locked.reason().to_owned()));
                    }
                    let matched = c.sms.as_ref().is_some_and(|h| {
                        let salt = unhex(&h.salt).unwrap_or_default();
                        let expected = unhex(&h.mac).unwrap_or_default();
                        let got = store.sealer().code_mac(&id, &salt, &code);
                        bool::from(got.as_slice().ct_eq(expected.as_slice()))
                    });
                    c.attempts_left -= 1;
                    c.consumed = matched || c.attempts_left == 0;
                    tx.put_challenge(&id, &c)?;
                    let next = if matched {
                        FactorFailures::cleared(now)
                    } else {
                        totp::after_failure(&failures, now, &fcfg)
                    };
                    if next != failures && !(next.is_clear() && failures.is_clear()) {
                        tx.set_failures(&key, &next)?;
                    }
                    Ok(if matched {
                        (
                            AuthResult::Accept,
                            "password and SMS code accepted".to_owned(),
                        )
                    } else {
                        (AuthResult::Reject, CodeOutcome::Wrong.reason().to_owned())
                    })
                })();
                let (result, reason) = verdict?;
                let upto = tx.seq();
                record.result = result;
                record.reason = reason.clone();
                // Written with the spent code, so no acknowledged accept goes unrecorded; an
                // accept then waits for the peers, whose word `peers_agree` records over it.
                let key = tx.append_auth_keyed(&record)?;
                Ok((result, reason, after, upto, key))
            })
            .await?;
        if deferred && result == AuthResult::Accept {
            return self
                .peers_agree(audit, after, upto, reason, key, "code")
                .await;
        }
        Ok(self.decided(audit, result, &reason))
    }

    pub(super) async fn check_code(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        code: &str,
        challenge_id: Option<Vec<u8>>,
    ) -> Result<Decision, AuthError> {
        let key = user_key(&user.name);
        let now = self.clock.now_ms();
        let matched = match &user.totp {
            Some(sealed) => {
                let seed = self.store.sealer().open(sealed, &key)?;
                totp::matching_step(&seed, code.trim(), now, &self.cfg.factor.totp)
            }
            None => None,
        };
        let fcfg = self.cfg.factor.clone();
        let mut record = self.record(audit, AuthResult::Reject, "");
        let deferred = self.claims.is_some();
        let (outcome, after, upto, key) = self
            .store
            .write(move |tx| {
                let after = tx.seq();
                // Re-checked inside the transaction: two racing answers to one challenge
                // cannot both spend its last attempt.
                let challenge = match &challenge_id {
                    None => None,
                    Some(id) => match tx.challenge(id)? {
                        Some(c) if !c.consumed && c.attempts_left > 0 && c.expires_ms > now => {
                            Some((id, c))
                        }
                        _ => {
                            record.reason = STALE_CHALLENGE.into();
                            let key = tx.append_auth_keyed(&record)?;
                            return Ok((None, after, after, key));
                        }
                    },
                };
                let previous = tx.failures(&key)?;
                let (outcome, step, failures) =
                    totp::apply_attempt(matched, tx.totp_step(&key)?, &previous, now, &fcfg);
                if let Some((id, mut c)) = challenge {
                    c.attempts_left -= 1;
                    c.consumed =
                        matches!(outcome, CodeOutcome::Accepted { .. }) || c.attempts_left == 0;
                    tx.put_challenge(id, &c)?;
                }
                if let Some(step) = step {
                    tx.set_totp_step(&key, step)?;
                }
                // Writing an unchanged all-zero counter on every success would double the log.
                if failures != previous && !(failures.is_clear() && previous.is_clear()) {
                    tx.set_failures(&key, &failures)?;
                }
                (record.result, record.reason) = code_verdict(Some(outcome));
                let upto = tx.seq();
                // As for SMS codes: recorded with the spent step, final after the peers.
                let key = tx.append_auth_keyed(&record)?;
                Ok((Some(outcome), after, upto, key))
            })
            .await?;
        let (result, reason) = code_verdict(outcome);
        if deferred && result == AuthResult::Accept {
            return self
                .peers_agree(audit, after, upto, reason, key, "code")
                .await;
        }
        Ok(self.decided(audit, result, &reason))
    }
}

/// The audit result and reason of a code attempt; `None`: the challenge was no longer valid.
fn code_verdict(outcome: Option<CodeOutcome>) -> (AuthResult, String) {
    match outcome {
        Some(CodeOutcome::Accepted { .. }) => {
            (AuthResult::Accept, "password and code accepted".into())
        }
        Some(o) => (AuthResult::Reject, o.reason().into()),
        None => (AuthResult::Reject, STALE_CHALLENGE.into()),
    }
}
