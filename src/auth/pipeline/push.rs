//! Pushes and phone calls: the cluster-wide limits (one outstanding push per user, so many
//! per window, whichever node sent them), waiting for the phone, collecting its answer in
//! challenge mode, finishing a push whose node stopped answering, and settling the outcome
//! in one transaction with its audit record.

use super::*;
use crate::auth::SharedReply;

/// How often a pending push is polled: first after this, then 1.5 times longer each time,
/// up to `PUSH_POLL_MAX`.
const PUSH_POLL_EVERY: Duration = Duration::from_millis(300);
const PUSH_POLL_MAX: Duration = Duration::from_secs(2);
/// How long the answer to a push challenge waits for the phone before asking again (NASes
/// often give up after a few seconds).
const PUSH_COLLECT_WAIT: Duration = Duration::from_secs(2);

impl Pipeline {
    /// Takes the user's one outstanding push and a place in the per-window count, with the
    /// challenge, in one transaction. `Ok(Err(why))`: a limit says no.
    /// The limits count every node's pushes. `waiting_request`: the RADIUS request that will
    /// wait on this push, recorded as held here for retransmits that reach other nodes.
    pub(super) async fn reserve_push(
        &self,
        user: &UserRecord,
        id: &[u8],
        challenge: &ChallengeRecord,
        waiting_request: Option<Vec<u8>>,
    ) -> Result<Result<(), String>, AuthError> {
        let pcfg = &self.cfg.factor.push;
        let (window_ms, max) = (pcfg.window_secs * 1000, pcfg.max_per_window as usize);
        let now = self.clock.now_ms();
        let (k, cid, c) = (user_key(&user.name), id.to_vec(), challenge.clone());
        let fcfg = self.cfg.factor.clone();
        let expires_ms = c.expires_ms;
        let reserved = self
            .store
            .write(move |tx| {
                if totp::is_locked(&tx.failures(&k)?, now, &fcfg) {
                    return Ok(Err(CodeOutcome::Locked.reason().to_owned()));
                }
                let everywhere = tx.cluster_pushes(&k)?;
                for pending in everywhere.pending(now) {
                    let spent = match unhex(pending) {
                        Some(p) => tx.challenge(&p)?.is_none_or(|c| c.consumed),
                        None => true,
                    };
                    if !spent {
                        return Ok(Err("a push is already outstanding for this user".to_owned()));
                    }
                }
                if everywhere.sent_since(now.saturating_sub(window_ms)) >= max {
                    return Ok(Err(format!(
                        "push limit reached: {max} per {} s (MFA-fatigue protection)",
                        window_ms / 1000
                    )));
                }
                let mut st = tx.push_state(&k)?;
                st.recent_ms.retain(|t| t + window_ms > now);
                st.recent_ms.push(now);
                st.pending = Some((hex(&cid), c.expires_ms));
                tx.set_push_state(&k, &st)?;
                tx.put_challenge(&cid, &c)?;
                Ok(Ok(()))
            })
            .await?;
        if let (Ok(()), Some(request), Some(claims)) = (&reserved, waiting_request, &self.claims) {
            let held = SharedReply {
                node: self.cfg.node_name.clone(),
                since_ms: now,
                expires_ms,
                challenge: Some(hex(id)),
                reply: None,
            };
            claims.share_fate(request, held, now);
        }
        Ok(reserved)
    }

    /// A retransmit of a RADIUS request that waits on a push held by a node that no longer
    /// answers its peers: this node polls that push's transaction until the phone answers,
    /// and never sends another push. (A node that restarts forgets the fates it held, which
    /// live in memory: a retransmit of its own push then finds the push outstanding.)
    pub(super) async fn adopt_push(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        provider: &dyn SecondFactor,
    ) -> Result<Option<Decision>, AuthError> {
        let (Some(request), Some(claims)) = (audit.req.retransmit_key.clone(), &self.claims) else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        let Some(fate) = claims.fate(&request, now) else {
            return Ok(None);
        };
        let found = self.store.read(|r| {
            let cid = fate.challenge.as_deref().and_then(unhex);
            match cid {
                Some(cid) if fate.reply.is_none() && fate.expires_ms > now => {
                    Ok(r.challenge(&cid)?.map(|c| (fate.node, cid, c)))
                }
                _ => Ok(None),
            }
        })?;
        let Some((held_by, cid, challenge)) = found else {
            return Ok(None);
        };
        let transaction = match &challenge.factor {
            Some(f) if f.provider == provider.name() => f.transaction.clone(),
            _ => None,
        };
        let Some(transaction) = transaction.filter(|_| {
            !challenge.consumed
                && challenge.expires_ms > now
                && challenge.user_key == user_key(&user.name)
        }) else {
            return Ok(None);
        };
        tracing::warn!(user = %user.name, held_by = %held_by,
            "cluster: a retransmit reached this node while its push waited on a node that no longer answers; polling that push (no new one is sent)");
        let held = SharedReply {
            node: self.cfg.node_name.clone(),
            since_ms: now,
            expires_ms: challenge.expires_ms,
            challenge: Some(hex(&cid)),
            reply: None,
        };
        claims.share_fate(request, held, now);
        let left = Duration::from_millis(challenge.expires_ms.saturating_sub(now));
        let waiting = self.push_waiting();
        let outcome = poll_answer(provider, &user.name, &transaction, left).await;
        drop(waiting);
        Ok(Some(
            self.settle_push(audit, user, cid, challenge, outcome)
                .await?,
        ))
    }

    /// Gives back a reservation whose start put nothing on the phone.
    pub(super) async fn release_push(&self, user: &UserRecord, id: &[u8]) -> Result<(), AuthError> {
        let (k, id) = (user_key(&user.name), id.to_vec());
        self.store
            .write(move |tx| release_reservation(tx, &k, &id))
            .await?;
        Ok(())
    }

    /// The answer to a push challenge (challenge mode): waits a little for the user, then
    /// settles, or asks again while the push is still open.
    pub(super) async fn collect_push(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        provider: &dyn SecondFactor,
        id: Vec<u8>,
        challenge: ChallengeRecord,
    ) -> Result<Decision, AuthError> {
        let Some(txid) = challenge
            .factor
            .as_ref()
            .and_then(|f| f.transaction.clone())
        else {
            return self.finish_reject(audit, STALE_CHALLENGE).await;
        };
        let left = challenge.expires_ms.saturating_sub(self.clock.now_ms());
        let wait = Duration::from_millis(left).min(PUSH_COLLECT_WAIT);
        let waiting = self.push_waiting();
        let outcome = poll_answer(provider, &user.name, &txid, wait).await;
        drop(waiting);
        if matches!(outcome, Ok(Answer::Waiting)) && left > wait.as_millis() as u64 {
            let reason = "push not answered yet; asked again";
            let record = self.record(audit, AuthResult::Challenge, reason);
            self.store.write(move |tx| tx.append_auth(&record)).await?;
            self.trace(audit, AuthResult::Challenge, reason);
            self.challenge_opened(challenge.expires_ms);
            return Ok(Decision::Challenge {
                state: id,
                prompt: self.cfg.factor.prompts.push_pending.clone(),
            });
        }
        self.settle_push(audit, user, id, challenge, outcome).await
    }

    /// Clears the user's outstanding push and spends its challenge, without an audit record
    /// (another decision was recorded).
    pub(super) async fn close_push(
        &self,
        user: &UserRecord,
        id: Vec<u8>,
        mut challenge: ChallengeRecord,
    ) -> Result<(), AuthError> {
        let key = user_key(&user.name);
        self.store
            .write(move |tx| {
                let mut st = tx.push_state(&key)?;
                if st.pending.as_ref().is_some_and(|(p, _)| *p == hex(&id)) {
                    st.pending = None;
                    tx.set_push_state(&key, &st)?;
                }
                challenge.consumed = true;
                tx.put_challenge(&id, &challenge)
            })
            .await?;
        Ok(())
    }

    /// The end of a push: one transaction clears the user's outstanding push, spends the
    /// challenge, locks the factor on fraud and writes the audit record.
    pub(super) async fn settle_push(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        id: Vec<u8>,
        mut challenge: ChallengeRecord,
        outcome: Result<Answer, FactorError>,
    ) -> Result<Decision, AuthError> {
        let key = user_key(&user.name);
        let what = if user.method == Method::Phone {
            "phone call"
        } else {
            "push"
        };
        let (result, reason, fraud) = match outcome {
            Ok(Answer::Approved) => (AuthResult::Accept, format!("{what} approved"), false),
            Ok(Answer::Denied) => (
                AuthResult::Reject,
                format!("{what} denied by the user"),
                false,
            ),
            Ok(Answer::Expired | Answer::Waiting) => (
                AuthResult::Reject,
                format!("{what} not answered in time"),
                false,
            ),
            Ok(Answer::Fraud) => (
                AuthResult::Reject,
                format!(
                    "{what} reported as fraud: second factor locked until an administrator unlocks it"
                ),
                true,
            ),
            Err(e) => {
                let (result, reason) = self.failmode_verdict(audit, e.outage, &e.message);
                (result, reason, false)
            }
        };
        if fraud {
            tracing::warn!(user = %user.name, "push reported as fraud; second factor locked");
        }
        let now = self.clock.now_ms();
        let record = self.record(audit, result, &reason);
        let (after, upto, logged) = self
            .store
            .write(move |tx| {
                let after = tx.seq();
                let mut st = tx.push_state(&key)?;
                if st.pending.as_ref().is_some_and(|(p, _)| *p == hex(&id)) {
                    st.pending = None;
                    tx.set_push_state(&key, &st)?;
                }
                challenge.consumed = true;
                tx.put_challenge(&id, &challenge)?;
                if fraud {
                    tx.set_failures(&key, &FactorFailures::locked_by_report(now))?;
                }
                let upto = tx.seq();
                Ok((after, upto, tx.append_auth_keyed(&record)?))
            })
            .await?;
        if result == AuthResult::Accept && self.claims.is_some() {
            // The spent challenge is the one-time credential here: another node that finished
            // the same push (its node's retransmit, a second answer) makes this a conflict.
            return self
                .peers_agree(audit, after, upto, reason, logged, "push")
                .await;
        }
        Ok(self.decided(audit, result, &reason))
    }
}

/// Gives back the user's push reservation made under challenge `id`, if it is theirs: the
/// outstanding push and its place in the per-window count.
pub(super) fn release_reservation(tx: &mut Tx<'_>, key: &str, id: &[u8]) -> Result<(), StoreError> {
    let mut st = tx.push_state(key)?;
    let mine = hex(id);
    if let Some((_, until)) = st.pending.take_if(|(p, _)| *p == mine) {
        // The reservation's send time is the newest entry at or before its expiry.
        if let Some(i) = st.recent_ms.iter().rposition(|t| *t <= until) {
            st.recent_ms.remove(i);
        }
        tx.set_push_state(key, &st)?;
    }
    Ok(())
}

/// Polls an answer on the phone until it comes or `limit` passes (then: `Waiting`). A failed
/// poll is retried (at most three in a row): polling never sends another push.
pub(super) async fn poll_answer(
    provider: &dyn SecondFactor,
    user: &str,
    transaction: &str,
    limit: Duration,
) -> Result<Answer, FactorError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut failures = 0;
    let mut every = PUSH_POLL_EVERY;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(every.min(left).max(Duration::from_millis(1))).await;
        // Backing off keeps thousands of pending pushes from flooding the provider.
        every = (every * 3 / 2).min(PUSH_POLL_MAX);
        let last = tokio::time::Instant::now() >= deadline;
        match provider.poll(user, transaction).await {
            Ok(Answer::Waiting) if last => return Ok(Answer::Waiting),
            Ok(Answer::Waiting) => failures = 0,
            Ok(done) => return Ok(done),
            Err(e) if e.outage => {
                failures += 1;
                if failures >= 3 || last {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}
