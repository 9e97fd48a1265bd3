//! Catching a member up when the entries it lacks are no longer in this node's change log
//! (trimmed: it was away longer than `cluster.login_log_keep` allows): this node's login
//! state as it holds it, merged there by the same rules as entries (`replica`), followed by
//! the authentication records the member lacks, in pages. Only then does the member record
//! the log as merged up to the snapshot's sequence, so a snapshot cut short starts again.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::model::*;
use super::tables::*;
use super::{get_json, Reader, StoreError, Tx};

/// The sender's login state, read in one transaction.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LoginSnapshot {
    pub challenges: Vec<(String, ChallengeRecord)>,
    /// User, step, and the node whose accept set it.
    pub totp_steps: Vec<(String, u64, Option<u64>)>,
    /// The sender's own share of each user's failures.
    pub failures: Vec<(String, FactorFailures)>,
    pub sms_latest: Vec<(String, String)>,
    /// The sender's own pushes.
    pub pushes: Vec<(String, PushState)>,
    #[serde(default)]
    pub portal_sessions: Vec<(String, PortalSession)>,
}

/// An authentication record's key: time, node, sequence.
pub type AuthLogKey = (u64, u64, u64);

/// One page of the sender's own authentication records.
pub type AuthPage = Vec<(AuthLogKey, AuthRecord)>;

impl Reader {
    /// The first sequence of `node`'s change log still held (`None`: empty).
    pub fn own_log_first(&self, node: u64) -> Result<Option<u64>, StoreError> {
        let t = self.txn.open_table(CHANGELOG)?;
        let first = t.range((node, 0)..=(node, u64::MAX))?.next();
        Ok(match first {
            Some(row) => Some(row?.0.value().1),
            None => None,
        })
    }

    pub fn login_snapshot(&self) -> Result<LoginSnapshot, StoreError> {
        let mut s = LoginSnapshot::default();
        for row in self.txn.open_table(CHALLENGES)?.iter()? {
            let (k, v) = row?;
            s.challenges
                .push((hex(k.value()), serde_json::from_slice(v.value())?));
        }
        let origins = self.txn.open_table(TOTP_STEP_ORIGIN)?;
        for row in self.txn.open_table(TOTP_STEPS)?.iter()? {
            let (k, v) = row?;
            let origin = origins.get(k.value())?.map(|o| o.value());
            s.totp_steps.push((k.value().to_owned(), v.value(), origin));
        }
        for row in self.txn.open_table(FACTOR_FAILURES)?.iter()? {
            let (k, v) = row?;
            s.failures
                .push((k.value().to_owned(), serde_json::from_slice(v.value())?));
        }
        for row in self.txn.open_table(SMS_LATEST)?.iter()? {
            let (k, v) = row?;
            s.sms_latest.push((k.value().to_owned(), hex(v.value())));
        }
        for row in self.txn.open_table(PUSH_STATE)?.iter()? {
            let (k, v) = row?;
            s.pushes
                .push((k.value().to_owned(), serde_json::from_slice(v.value())?));
        }
        for row in self.txn.open_table(PORTAL_SESSIONS)?.iter()? {
            let (k, v) = row?;
            s.portal_sessions
                .push((k.value().to_owned(), serde_json::from_slice(v.value())?));
        }
        Ok(s)
    }

    /// `me`'s own authentication records after `cursor` (a record key) whose change-log
    /// sequence is past `after` (what the member has), at most `limit`, and where to go on.
    pub fn own_auth_page(
        &self,
        me: u64,
        after: u64,
        cursor: Option<AuthLogKey>,
        limit: usize,
    ) -> Result<(AuthPage, Option<AuthLogKey>), StoreError> {
        let t = self.txn.open_table(AUTH_LOG)?;
        let range = match cursor {
            Some(c) => t.range(c..)?,
            None => t.range((0, 0, 0)..)?,
        };
        let mut page = Vec::new();
        for row in range {
            let (k, v) = row?;
            let key = k.value();
            if Some(key) == cursor || key.1 != me || key.2 <= after {
                continue;
            }
            page.push((key, serde_json::from_slice(v.value())?));
            if page.len() >= limit {
                // The next page starts after this record.
                return Ok((page, Some(key)));
            }
        }
        Ok((page, None))
    }
}

impl Tx<'_> {
    /// Merges `origin`'s snapshot by the rules its entries follow (no conflict is reported:
    /// nobody waits on these).
    pub fn merge_snapshot(&mut self, origin: u64, s: &LoginSnapshot) -> Result<(), StoreError> {
        for (id, c) in &s.challenges {
            let Some(k) = unhex(id) else { continue };
            let old: Option<ChallengeRecord> = get_json(self.challenges()?, k.as_slice())?;
            let merged = super::replica::merge_challenge(old, c.clone());
            let b = serde_json::to_vec(&merged)?;
            self.challenges()?.insert(k.as_slice(), b.as_slice())?;
        }
        for (user, step, by) in &s.totp_steps {
            let have = self.totp_steps()?.get(user.as_str())?.map(|v| v.value());
            if have < Some(*step) {
                self.totp_steps()?.insert(user.as_str(), *step)?;
                self.totp_step_origin()?
                    .insert(user.as_str(), by.unwrap_or(origin))?;
            }
        }
        for (user, f) in &s.failures {
            let b = serde_json::to_vec(f)?;
            self.peer_failures()?
                .insert((user.as_str(), origin), b.as_slice())?;
        }
        for (user, id) in &s.sms_latest {
            let change = Change::SmsLatest {
                key: user.clone(),
                id: id.clone(),
            };
            self.merge_unsequenced(origin, &change)?;
        }
        for (user, p) in &s.pushes {
            let b = serde_json::to_vec(p)?;
            self.peer_push()?
                .insert((user.as_str(), origin), b.as_slice())?;
        }
        for (id, p) in &s.portal_sessions {
            let old: Option<PortalSession> = get_json(self.portal_sessions()?, id.as_str())?;
            let merged = super::replica::merge_portal_session(old, p.clone());
            let b = serde_json::to_vec(&merged)?;
            self.portal_sessions()?.insert(id.as_str(), b.as_slice())?;
        }
        Ok(())
    }

    /// Adds `origin`'s authentication records (kept under their own keys, so a record
    /// merged before is written again unchanged).
    pub fn merge_auth_page(&mut self, page: &AuthPage) -> Result<(), StoreError> {
        for (key, record) in page {
            let b = serde_json::to_vec(record)?;
            self.auth_log()?.insert(*key, b.as_slice())?;
        }
        Ok(())
    }

    /// Trims this node's own change log up to `upto` (at most `limit` entries); returns how
    /// many went.
    pub fn trim_own_log(&mut self, upto: u64, limit: usize) -> Result<usize, StoreError> {
        let node = self.node_id;
        let old: Vec<(u64, u64)> = self
            .changelog()?
            .range((node, 0)..=(node, upto))?
            .take(limit)
            .filter_map(|r| r.ok().map(|(k, _)| k.value()))
            .collect();
        for k in &old {
            self.changelog()?.remove(*k)?;
        }
        Ok(old.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::auth_record;

    /// Pages cover every own record past `after` once, and a snapshot merged twice changes
    /// nothing the first merge did not.
    #[tokio::test]
    async fn snapshot_pages_cover_each_record_once_and_merging_is_idempotent() {
        let dir = std::env::temp_dir().join(format!("mfagate-catchup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = crate::store::Store::open(&dir.join("a")).unwrap_or_else(|e| panic!("{e}"));
        let b = crate::store::Store::open(&dir.join("b")).unwrap_or_else(|e| panic!("{e}"));
        a.write(|tx| {
            for i in 0..12 {
                tx.append_auth(&auth_record("a", &format!("u{i}"), 5, AuthResult::Accept))?;
                tx.set_totp_step(&format!("u{i}"), 100 + i)?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let me = a.node_id();
        // The member had merged the first 6 entries (3 records).
        let (mut cursor, mut seen) = (None, Vec::new());
        loop {
            let (page, next) = a
                .read(|r| r.own_auth_page(me, 6, cursor, 5))
                .unwrap_or_else(|e| panic!("{e}"));
            seen.extend(page.iter().map(|(k, _)| *k));
            let snap = a
                .read(|r| r.login_snapshot())
                .unwrap_or_else(|e| panic!("{e}"));
            for _ in 0..2 {
                let (s, p) = (serde_json::to_vec(&snap).unwrap_or_default(), page.clone());
                b.write(move |tx| {
                    let s: LoginSnapshot = serde_json::from_slice(&s)?;
                    tx.merge_snapshot(me, &s)?;
                    tx.merge_auth_page(&p)
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(seen.len(), 9, "records past sequence 6: {seen:?}");
        assert_eq!(unique.len(), seen.len());
        let (steps, records) = b
            .read(|r| {
                let steps: Vec<_> = (0..12)
                    .map(|i| r.totp_step(&format!("u{i}")))
                    .collect::<Result<_, _>>()?;
                Ok((steps, r.auth_log(0, 100)?.len()))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(steps, (0..12).map(|i| Some(100 + i)).collect::<Vec<_>>());
        assert_eq!(records, 9);
        drop((a, b));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
