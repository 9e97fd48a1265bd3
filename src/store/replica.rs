//! Login state from other cluster members: their change-log entries, merged here by rules
//! that give the same result whatever order the entries of different nodes arrive in, and
//! applying one twice changes nothing (each origin's entries are applied in order, once,
//! tracked in [`PEER_APPLIED`]).
//!
//! The rules: the highest consumed TOTP step wins; a consumed challenge stays consumed and
//! its attempts left only go down; a user's newest SMS challenge is the one created last (by
//! time, then id); authentication records are kept under their origin; failure counters are
//! kept per (user, node) and added up, a clear on any node ending the counts before it; push
//! state is kept per (user, node) and read as one; of two versions of a portal session the
//! one updated last wins, and a signed-out session stays signed out. Directory changes arrive through Raft, not
//! here; shared RADIUS replies travel beside these entries and stay in memory
//! (`crate::cluster::fates`).

use redb::ReadableTable;

use super::model::*;
use super::tables::*;
use super::{get_json, Reader, StoreError, Tx};

/// The newer of two versions of one challenge.
pub fn merge_challenge(old: Option<ChallengeRecord>, new: ChallengeRecord) -> ChallengeRecord {
    let Some(old) = old else {
        return new;
    };
    let transaction = new
        .factor
        .as_ref()
        .and_then(|f| f.transaction.clone())
        .or_else(|| old.factor.as_ref().and_then(|f| f.transaction.clone()));
    // Both consumed (a conflict the sender is told of): the lower node id is kept, so every
    // node ends with the same record.
    let consumed_by = match (old.consumed_by, new.consumed_by) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    ChallengeRecord {
        consumed: old.consumed || new.consumed,
        consumed_by,
        attempts_left: old.attempts_left.min(new.attempts_left),
        factor: new
            .factor
            .or(old.factor)
            .map(|f| PendingFactor { transaction, ..f }),
        sms: new.sms.or(old.sms),
        policy: new.policy.or(old.policy),
        ..new
    }
}

/// The newer of two versions of one portal session; signing out is never undone.
pub fn merge_portal_session(old: Option<PortalSession>, new: PortalSession) -> PortalSession {
    let Some(old) = old else {
        return new;
    };
    let signed_out = old.signed_out || new.signed_out;
    let mut kept = if (new.updated_ms, &new.csrf) >= (old.updated_ms, &old.csrf) {
        new
    } else {
        old
    };
    kept.signed_out = signed_out;
    kept
}

impl Reader {
    /// This store's own change-log entries in (`after`, `upto`], at most `limit`, in order.
    pub fn own_changes_after(
        &self,
        node: u64,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Change)>, StoreError> {
        let t = self.txn.open_table(CHANGELOG)?;
        let mut out = Vec::new();
        if upto <= after {
            return Ok(out);
        }
        for row in t
            .range((node, after.saturating_add(1))..=(node, upto))?
            .take(limit)
        {
            let (k, v) = row?;
            out.push((k.value().1, serde_json::from_slice(v.value())?));
        }
        Ok(out)
    }

    /// The id of the user's newest SMS challenge.
    pub fn sms_latest(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(SMS_LATEST)?;
        let v = t.get(key)?.map(|v| v.value().to_vec());
        Ok(v)
    }

    /// The highest sequence of `origin`'s change log merged here (0: none).
    pub fn peer_applied(&self, origin: u64) -> Result<u64, StoreError> {
        Ok(self
            .txn
            .open_table(PEER_APPLIED)?
            .get(origin)?
            .map(|v| v.value())
            .unwrap_or(0))
    }
}

impl Tx<'_> {
    /// Records that `origin`'s log up to `upto` has been seen here (its entries that carry
    /// no login state are skipped by the sender); never goes back.
    pub fn set_peer_applied(&mut self, origin: u64, upto: u64) -> Result<(), StoreError> {
        let done = self
            .peer_applied()?
            .get(origin)?
            .map(|v| v.value())
            .unwrap_or(0);
        if upto > done {
            self.peer_applied()?.insert(origin, upto)?;
        }
        Ok(())
    }

    /// Merges one entry of `origin`'s change log; an entry at or below what was merged from
    /// `origin` before is skipped. Returns whether the entry *conflicts* with what this node
    /// holds: a TOTP step at or below one another node's accepted code set, or a challenge
    /// consumed here (or by a third node) that `origin` consumed too. A conflicting entry is
    /// merged all the same (state converges); the conflict is the sender's cue to refuse
    /// the login it was about to accept.
    pub fn merge_peer_change(
        &mut self,
        origin: u64,
        seq: u64,
        change: &Change,
    ) -> Result<bool, StoreError> {
        let done = self
            .peer_applied()?
            .get(origin)?
            .map(|v| v.value())
            .unwrap_or(0);
        if seq <= done {
            return Ok(false);
        }
        let conflict = self.merge_unsequenced(origin, change)?;
        self.peer_applied()?.insert(origin, seq)?;
        Ok(conflict)
    }

    /// Merges `origin`'s `change` by the rules, whatever was merged before (see
    /// [`Tx::merge_peer_change`] for the conflict it returns).
    pub(super) fn merge_unsequenced(
        &mut self,
        origin: u64,
        change: &Change,
    ) -> Result<bool, StoreError> {
        let mut conflict = false;
        match change {
            Change::TotpStep { key, step } => {
                let have = self.totp_steps()?.get(key.as_str())?.map(|v| v.value());
                let by = self
                    .totp_step_origin()?
                    .get(key.as_str())?
                    .map(|v| v.value());
                conflict = have >= Some(*step) && by.is_some_and(|b| b != origin);
                if have < Some(*step) {
                    self.totp_steps()?.insert(key.as_str(), *step)?;
                    self.totp_step_origin()?.insert(key.as_str(), origin)?;
                }
            }
            Change::PutChallenge { id, challenge } => {
                let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
                let old: Option<ChallengeRecord> = get_json(self.challenges()?, id.as_slice())?;
                conflict = challenge.consumed
                    && old.as_ref().is_some_and(|o| {
                        o.consumed
                            && o.consumed_by
                                .is_some_and(|b| Some(b) != challenge.consumed_by)
                    });
                let merged = merge_challenge(old, challenge.clone());
                let b = serde_json::to_vec(&merged)?;
                self.challenges()?.insert(id.as_slice(), b.as_slice())?;
            }
            Change::DeleteChallenge { id } => {
                // Never made today; if it comes, the challenge can no longer be answered.
                let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
                let old: Option<ChallengeRecord> = get_json(self.challenges()?, id.as_slice())?;
                if let Some(mut c) = old {
                    c.consumed = true;
                    let b = serde_json::to_vec(&c)?;
                    self.challenges()?.insert(id.as_slice(), b.as_slice())?;
                }
            }
            Change::SmsLatest { key, id } => {
                let new_id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
                let current = self
                    .sms_newest()?
                    .get(key.as_str())?
                    .map(|v| v.value().to_vec());
                // A challenge not here (yet, or purged) counts as created at `missing`: a
                // marker's own challenge as the newest, the current one as the oldest.
                let created =
                    |tx: &mut Self, cid: &[u8], missing: u64| -> Result<u64, StoreError> {
                        let c: Option<ChallengeRecord> = get_json(tx.challenges()?, cid)?;
                        Ok(c.map(|c| c.created_ms).unwrap_or(missing))
                    };
                let newer = match &current {
                    None => true,
                    Some(cur) => {
                        (created(self, &new_id, u64::MAX)?, new_id.as_slice())
                            > (created(self, cur, 0)?, cur.as_slice())
                    }
                };
                if newer {
                    self.sms_newest()?.insert(key.as_str(), new_id.as_slice())?;
                }
            }
            Change::AuthLog {
                time_ms,
                seq: rec_seq,
                record,
            } => {
                let b = serde_json::to_vec(record)?;
                self.auth_log()?
                    .insert((*time_ms, origin, *rec_seq), b.as_slice())?;
            }
            Change::FactorFailures { key, failures } => {
                // Each node's own share, kept per node; readers add them up.
                let b = serde_json::to_vec(failures)?;
                self.peer_failures()?
                    .insert((key.as_str(), origin), b.as_slice())?;
            }
            Change::PushState { key, state } => {
                // Each node's own pushes, kept per node; readers see them all.
                let b = serde_json::to_vec(state)?;
                self.peer_push()?
                    .insert((key.as_str(), origin), b.as_slice())?;
            }
            Change::PortalSession { id, session } => {
                let old: Option<PortalSession> = get_json(self.portal_sessions()?, id.as_str())?;
                let merged = merge_portal_session(old, session.clone());
                let b = serde_json::to_vec(&merged)?;
                self.portal_sessions()?.insert(id.as_str(), b.as_slice())?;
            }
            // Directory data comes through Raft.
            Change::PutUser { .. }
            | Change::DeleteUser { .. }
            | Change::SyncApproval { .. }
            | Change::DeleteSyncApproval { .. } => {}
        }
        Ok(conflict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(consumed: bool, attempts_left: u32, txid: Option<&str>) -> ChallengeRecord {
        ChallengeRecord {
            user_key: "alice".into(),
            client: "vpn".into(),
            created_ms: 1,
            expires_ms: 2,
            attempts_left,
            consumed,
            policy: None,
            sms: None,
            consumed_by: None,
            granted: Vec::new(),
            factor: Some(PendingFactor {
                method: crate::config::Method::Push,
                provider: "duo".into(),
                transaction: txid.map(str::to_owned),
                out_of_band: true,
            }),
        }
    }

    use crate::store::testing::{auth_record, Rng};

    const USERS: [&str; 3] = ["u0", "u1", "u2"];

    /// Each origin's change log: TOTP steps, challenges it creates (and later versions of
    /// them or of other origins' challenges, as a node answering a challenge writes), newest
    /// SMS markers after their challenge, and audit records.
    fn logs(rng: &mut Rng, origins: &[u64]) -> Vec<(u64, Vec<(u64, Change)>)> {
        let mut created: Vec<(String, ChallengeRecord)> = Vec::new();
        let mut out = Vec::new();
        for &o in origins {
            let mut entries = Vec::new();
            for seq in 1..=40 {
                let user = USERS[rng.below(3) as usize].to_owned();
                let change = match rng.below(4) {
                    0 => Change::TotpStep {
                        key: user,
                        step: 1000 + rng.below(20),
                    },
                    1 if !created.is_empty() && rng.below(2) == 0 => {
                        // A later version of an existing challenge.
                        let (id, c) = created[rng.below(created.len() as u64) as usize].clone();
                        Change::PutChallenge {
                            id,
                            challenge: ChallengeRecord {
                                consumed: rng.below(2) == 0,
                                attempts_left: rng.below(3) as u32,
                                ..c
                            },
                        }
                    }
                    1 | 2 => {
                        let id = format!("{o:016x}{seq:04x}");
                        let mut c = challenge(false, 3, None);
                        c.user_key = user.clone();
                        c.created_ms = rng.below(50);
                        created.push((id.clone(), c.clone()));
                        entries.push((
                            seq * 2,
                            Change::PutChallenge {
                                id: id.clone(),
                                challenge: c,
                            },
                        ));
                        Change::SmsLatest { key: user, id }
                    }
                    _ => Change::AuthLog {
                        time_ms: rng.below(100),
                        seq: seq * 2 + 1,
                        record: auth_record(&format!("{o}"), &user, 0, AuthResult::Accept),
                    },
                };
                entries.push((seq * 2 + 1, change));
            }
            out.push((o, entries));
        }
        out
    }

    /// What the merge rules say every node must end with, computed without the store.
    #[derive(Debug, PartialEq, Default)]
    struct Model {
        steps: std::collections::BTreeMap<String, u64>,
        challenges: std::collections::BTreeMap<String, ChallengeRecord>,
        sms: std::collections::BTreeMap<String, String>,
        auth: std::collections::BTreeSet<(u64, u64, u64)>,
    }

    fn model(logs: &[(u64, Vec<(u64, Change)>)]) -> Model {
        let mut m = Model::default();
        for (o, entries) in logs {
            for (_, c) in entries {
                match c {
                    Change::TotpStep { key, step } => {
                        let e = m.steps.entry(key.clone()).or_default();
                        *e = (*e).max(*step);
                    }
                    Change::PutChallenge { id, challenge } => {
                        let e = m.challenges.entry(id.clone()).or_insert(challenge.clone());
                        e.consumed |= challenge.consumed;
                        e.attempts_left = e.attempts_left.min(challenge.attempts_left);
                        e.consumed_by = match (e.consumed_by, challenge.consumed_by) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                    }
                    Change::AuthLog { time_ms, seq, .. } => {
                        m.auth.insert((*time_ms, *o, *seq));
                    }
                    _ => {}
                }
            }
        }
        for (_, entries) in logs {
            for (_, c) in entries {
                if let Change::SmsLatest { key, id } = c {
                    let created = |i: &str| m.challenges[i].created_ms;
                    let newer = match m.sms.get(key) {
                        None => true,
                        Some(cur) => (created(id), id.as_str()) > (created(cur), cur.as_str()),
                    };
                    if newer {
                        m.sms.insert(key.clone(), id.clone());
                    }
                }
            }
        }
        m
    }

    fn observed(store: &crate::store::Store, m: &Model) -> Model {
        store
            .read(|r| {
                let mut o = Model::default();
                for u in USERS {
                    if let Some(s) = r.totp_step(u)? {
                        o.steps.insert(u.to_owned(), s);
                    }
                    if let Some(id) = r.sms_latest(u)? {
                        o.sms.insert(u.to_owned(), hex(&id));
                    }
                }
                for id in m.challenges.keys() {
                    if let Some(c) = r.challenge(&unhex(id).unwrap_or_default())? {
                        o.challenges.insert(id.clone(), c);
                    }
                }
                let t = r.txn.open_table(AUTH_LOG)?;
                for row in t.iter()? {
                    o.auth.insert(row?.0.value());
                }
                Ok(o)
            })
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Seeded model test: three origins' logs are merged into three stores, each in its own
    /// random interleaving (every origin's entries in order, as the shipper sends them), in
    /// random batches, with random re-sends of what was already sent; every store must end
    /// with exactly the model's state. More seeds: `MFAGATE_MERGE_SEEDS=1000 cargo test
    /// --lib merge_rules`.
    #[tokio::test]
    async fn merge_rules_converge_in_any_order_against_a_model() {
        let seeds: u64 = std::env::var("MFAGATE_MERGE_SEEDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        let origins = [11u64, 22, 33];
        for seed in 1..=seeds {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let logs = logs(&mut rng, &origins);
            let want = model(&logs);
            let dir =
                std::env::temp_dir().join(format!("mfagate-merge-{}-{seed}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for node in 0..3 {
                let store = crate::store::Store::open(&dir.join(node.to_string()))
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut next = [0usize; 3];
                while next.iter().zip(&logs).any(|(n, (_, l))| *n < l.len()) {
                    let i = rng.below(3) as usize;
                    let (origin, log) = (&logs[i].0, &logs[i].1);
                    if next[i] >= log.len() {
                        continue;
                    }
                    // A re-send starts a little before what was sent already.
                    let from = next[i].saturating_sub(if rng.below(4) == 0 { 3 } else { 0 });
                    let to = (next[i] + 1 + rng.below(6) as usize).min(log.len());
                    let batch = log[from..to].to_vec();
                    let origin = *origin;
                    store
                        .write(move |tx| {
                            for (seq, c) in &batch {
                                tx.merge_peer_change(origin, *seq, c)?;
                            }
                            Ok(())
                        })
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    next[i] = to;
                }
                let got = observed(&store, &want);
                assert_eq!(got, want, "seed {seed}, node {node}");
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// A data directory that cannot be made is named as such, not as the seed key file.
    #[test]
    fn a_bad_data_directory_is_named_as_one() {
        let file = std::env::temp_dir().join(format!("mfagate-not-a-dir-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
        let e = crate::store::Store::open(&file.join("data"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("data directory "), "{e}");
        assert!(!e.contains("seed key"), "{e}");
        let _ = std::fs::remove_file(&file);
    }

    /// A crash rolls back a non-durable tail whose sequence numbers are then used again, so
    /// only durable entries may be announced to the shipper.
    #[tokio::test]
    async fn only_durable_entries_are_announced_for_shipping() {
        let dir = std::env::temp_dir().join(format!("mfagate-durable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = crate::store::Store::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        let me = store.node_id();
        store
            .write(|tx| tx.set_totp_step("u0", 7))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let durable = store.durable_seq();
        assert!(durable > 0);
        store
            .write_detached(|tx| tx.set_totp_step("u0", 8))
            .unwrap_or_else(|e| panic!("{e}"));
        let all = |s: &crate::store::Store| {
            s.read(|r| r.own_changes_after(me, 0, u64::MAX, 100))
                .map(|v| v.len())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while all(&store) as u64 == durable && std::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(
            all(&store) as u64,
            durable + 1,
            "the detached write committed"
        );
        assert_eq!(store.durable_seq(), durable, "but is not announced yet");
        // Made durable within `DETACHED_DURABLE_WITHIN`, then announced.
        let mut rx = store.commits();
        tokio::time::timeout(std::time::Duration::from_secs(3), rx.changed())
            .await
            .unwrap_or_else(|_| panic!("never announced"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.durable_seq(), durable + 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_merged_challenge_is_the_same_in_either_order_and_consumed_stays_consumed() {
        let a = challenge(true, 2, None);
        let b = challenge(false, 1, Some("tx-1"));
        let ab = merge_challenge(Some(a.clone()), b.clone());
        let ba = merge_challenge(Some(b.clone()), a.clone());
        assert_eq!(ab, ba);
        assert!(ab.consumed);
        assert_eq!(ab.attempts_left, 1);
        assert_eq!(
            ab.factor.and_then(|f| f.transaction).as_deref(),
            Some("tx-1")
        );
        assert_eq!(merge_challenge(Some(a.clone()), a.clone()), a);
    }

    #[test]
    fn portal_sessions_merge_to_the_newest_and_sign_out_sticks() {
        let at = |updated_ms: u64, signed_out: bool| PortalSession {
            user_key: "alice".into(),
            created_ms: 1,
            seen_ms: updated_ms,
            csrf: "c".into(),
            signed_out,
            updated_ms,
            pending: None,
        };
        // In either order the newest version wins ...
        for (a, b) in [(at(5, false), at(9, false)), (at(9, false), at(5, false))] {
            assert_eq!(merge_portal_session(Some(a), b).updated_ms, 9);
        }
        // ... except that an older sign-out still ends a newer (idle-refreshed) version.
        let m = merge_portal_session(Some(at(5, true)), at(9, false));
        assert!(m.signed_out && m.updated_ms == 9);
        let m = merge_portal_session(Some(at(9, false)), at(5, true));
        assert!(m.signed_out);
        assert_eq!(merge_portal_session(None, at(3, false)), at(3, false));
        // Applying one twice changes nothing.
        let once = merge_portal_session(Some(at(5, false)), at(7, true));
        assert_eq!(merge_portal_session(Some(once.clone()), at(7, true)), once);
    }
}
