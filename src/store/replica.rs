//! Login state from other cluster members: their change-log entries, merged here by rules
//! that give the same result whatever order the entries of different nodes arrive in, and
//! applying one twice changes nothing (each origin's entries are applied in order, once,
//! tracked in [`PEER_APPLIED`]).
//!
//! The rules: the highest consumed TOTP step wins; a consumed challenge stays consumed and
//! its attempts left only go down; a user's newest SMS challenge is the one created last (by
//! time, then id); authentication records are kept under their origin. Failure counters and
//! push state stay per node for now; directory changes arrive through Raft, not here.

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
    ChallengeRecord {
        consumed: old.consumed || new.consumed,
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

impl Reader {
    /// This store's own change-log entries after `after`, at most `limit`, in order.
    pub fn own_changes_after(
        &self,
        node: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Change)>, StoreError> {
        let t = self.txn.open_table(CHANGELOG)?;
        let mut out = Vec::new();
        for row in t
            .range((node, after.saturating_add(1))..=(node, u64::MAX))?
            .take(limit)
        {
            let (k, v) = row?;
            out.push((k.value().1, serde_json::from_slice(v.value())?));
        }
        Ok(out)
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
    /// `origin` before is skipped. Returns whether it was new.
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
        match change {
            Change::TotpStep { key, step } => {
                let have = self.totp_steps()?.get(key.as_str())?.map(|v| v.value());
                if have < Some(*step) {
                    self.totp_steps()?.insert(key.as_str(), *step)?;
                }
            }
            Change::PutChallenge { id, challenge } => {
                let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
                let old: Option<ChallengeRecord> = get_json(self.challenges()?, id.as_slice())?;
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
                let created = |tx: &mut Self, cid: &[u8]| -> Result<u64, StoreError> {
                    let c: Option<ChallengeRecord> = get_json(tx.challenges()?, cid)?;
                    Ok(c.map(|c| c.created_ms).unwrap_or(0))
                };
                let newer = match &current {
                    None => true,
                    Some(cur) => {
                        (created(self, &new_id)?, new_id.as_slice())
                            > (created(self, cur)?, cur.as_slice())
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
            // Per node for now (see the module doc); directory data comes through Raft.
            Change::FactorFailures { .. }
            | Change::PushState { .. }
            | Change::PutUser { .. }
            | Change::DeleteUser { .. }
            | Change::SyncApproval { .. }
            | Change::DeleteSyncApproval { .. } => {}
        }
        self.peer_applied()?.insert(origin, seq)?;
        Ok(true)
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
            factor: Some(PendingFactor {
                method: crate::config::Method::Push,
                provider: "duo".into(),
                transaction: txid.map(str::to_owned),
                out_of_band: true,
            }),
        }
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
}
