//! Access to the tables: [`Tx`], the writer's view of one write transaction (logged
//! mutations append to the change log in the same transaction), and [`Reader`], a
//! consistent snapshot for reads.

use super::*;

/// The writer's view of one transaction. Logged mutations append to the change log. Tables
/// stay open for the whole batch: opening and closing one per call (closing writes its root
/// back) cost more than the inserts themselves.
pub struct Tx<'a> {
    pub(super) txn: &'a WriteTransaction,
    pub(super) node_id: u64,
    pub(super) seq: &'a mut u64,
    /// A damaged page or a failed disk that a job met: the writer fails the whole batch.
    pub(super) fault: Option<StoreError>,
    pub(super) users: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) challenges: Option<Table<'a, &'static [u8], &'static [u8]>>,
    pub(super) totp_steps: Option<Table<'a, &'static str, u64>>,
    pub(super) factor_failures: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) auth_log: Option<AuthLogTable<'a>>,
    pub(super) changelog: Option<ChangelogTable<'a>>,
    pub(super) sync_approvals: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) sms_newest: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) push_states: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) portal_sessions: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) raft_log: Option<Table<'a, u64, &'static [u8]>>,
    pub(super) raft_meta: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) raft_snapshot: Option<Table<'a, &'static str, &'static [u8]>>,
    pub(super) signing_clients: Option<Table<'a, &'static str, u64>>,
    pub(super) peer_applied: Option<Table<'a, u64, u64>>,
    pub(super) totp_step_origin: Option<Table<'a, &'static str, u64>>,
    pub(super) peer_failures: Option<Table<'a, (&'static str, u64), &'static [u8]>>,
    pub(super) peer_push: Option<Table<'a, (&'static str, u64), &'static [u8]>>,
}

pub(super) type AuthLogTable<'a> = Table<'a, (u64, u64, u64), &'static [u8]>;
pub(super) type ChangelogTable<'a> = Table<'a, (u64, u64), &'static [u8]>;

macro_rules! table_accessor {
    ($field:ident, $def:expr, $k:ty, $v:ty) => {
        pub(super) fn $field(&mut self) -> Result<&mut Table<'a, $k, $v>, StoreError> {
            if self.$field.is_none() {
                let txn: &'a WriteTransaction = self.txn;
                self.$field = Some(txn.open_table($def)?);
            }
            match self.$field.as_mut() {
                Some(t) => Ok(t),
                None => unreachable!("opened just above"),
            }
        }
    };
}

impl<'a> Tx<'a> {
    pub(super) fn new(txn: &'a WriteTransaction, node_id: u64, seq: &'a mut u64) -> Self {
        Self {
            txn,
            node_id,
            seq,
            fault: None,
            users: None,
            challenges: None,
            totp_steps: None,
            factor_failures: None,
            auth_log: None,
            changelog: None,
            sync_approvals: None,
            sms_newest: None,
            push_states: None,
            portal_sessions: None,
            raft_log: None,
            raft_meta: None,
            raft_snapshot: None,
            signing_clients: None,
            peer_applied: None,
            totp_step_origin: None,
            peer_failures: None,
            peer_push: None,
        }
    }

    table_accessor!(users, USERS, &'static str, &'static [u8]);
    table_accessor!(challenges, CHALLENGES, &'static [u8], &'static [u8]);
    table_accessor!(totp_steps, TOTP_STEPS, &'static str, u64);
    table_accessor!(
        factor_failures,
        FACTOR_FAILURES,
        &'static str,
        &'static [u8]
    );
    table_accessor!(auth_log, AUTH_LOG, (u64, u64, u64), &'static [u8]);
    table_accessor!(changelog, CHANGELOG, (u64, u64), &'static [u8]);
    table_accessor!(sync_approvals, SYNC_APPROVALS, &'static str, &'static [u8]);
    table_accessor!(sms_newest, SMS_LATEST, &'static str, &'static [u8]);
    table_accessor!(push_states, PUSH_STATE, &'static str, &'static [u8]);
    table_accessor!(
        portal_sessions,
        PORTAL_SESSIONS,
        &'static str,
        &'static [u8]
    );
    table_accessor!(raft_log, RAFT_LOG, u64, &'static [u8]);
    table_accessor!(raft_meta, RAFT_META, &'static str, &'static [u8]);
    table_accessor!(raft_snapshot, RAFT_SNAPSHOT, &'static str, &'static [u8]);
    table_accessor!(signing_clients, SIGNING_CLIENTS, &'static str, u64);
    table_accessor!(peer_applied, PEER_APPLIED, u64, u64);
    table_accessor!(totp_step_origin, TOTP_STEP_ORIGIN, &'static str, u64);
    table_accessor!(
        peer_failures,
        PEER_FAILURES,
        (&'static str, u64),
        &'static [u8]
    );
    table_accessor!(peer_push, PEER_PUSH, (&'static str, u64), &'static [u8]);

    /// Notes an error a job returned, if it is the store's own (damage, a failed disk).
    pub(super) fn note(&mut self, e: &StoreError) {
        if e.is_fault() && self.fault.is_none() {
            self.fault = Some(e.for_caller());
        }
    }

    /// The last change-log sequence this transaction has written (or the one before it).
    pub fn seq(&self) -> u64 {
        *self.seq
    }

    /// Records that RADIUS client `name` signs its requests (kept on the first time only).
    pub fn remember_signing_client(&mut self, name: &str, now_ms: u64) -> Result<(), StoreError> {
        if self.signing_clients()?.get(name)?.is_none() {
            self.signing_clients()?.insert(name, now_ms)?;
        }
        Ok(())
    }

    pub(super) fn log(&mut self, change: &Change) -> Result<u64, StoreError> {
        *self.seq += 1;
        let key = (self.node_id, *self.seq);
        let bytes = serde_json::to_vec(change)?;
        self.changelog()?.insert(key, bytes.as_slice())?;
        Ok(key.1)
    }

    pub fn user(&mut self, key: &str) -> Result<Option<UserRecord>, StoreError> {
        get_json(self.users()?, key)
    }

    pub fn put_user(&mut self, key: &str, user: &UserRecord) -> Result<(), StoreError> {
        self.apply_logged(Change::PutUser {
            key: key.to_owned(),
            user: user.clone(),
        })
    }

    pub fn delete_user(&mut self, key: &str) -> Result<bool, StoreError> {
        let existed = self.users()?.get(key)?.is_some();
        if existed {
            self.apply_logged(Change::DeleteUser {
                key: key.to_owned(),
            })?;
        }
        Ok(existed)
    }

    pub fn challenge(&mut self, id: &[u8]) -> Result<Option<ChallengeRecord>, StoreError> {
        get_json(self.challenges()?, id)
    }

    pub fn put_challenge(&mut self, id: &[u8], c: &ChallengeRecord) -> Result<(), StoreError> {
        let mut c = c.clone();
        if c.consumed && c.consumed_by.is_none() {
            c.consumed_by = Some(self.node_id);
        }
        self.apply_logged(Change::PutChallenge {
            id: hex(id),
            challenge: c,
        })
    }

    pub fn push_state(&mut self, key: &str) -> Result<PushState, StoreError> {
        Ok(get_json(self.push_states()?, key)?.unwrap_or_default())
    }

    pub fn set_push_state(&mut self, key: &str, state: &PushState) -> Result<(), StoreError> {
        self.apply_logged(Change::PushState {
            key: key.to_owned(),
            state: state.clone(),
        })
    }

    /// The id of the user's newest SMS challenge.
    pub fn portal_session(&mut self, id: &str) -> Result<Option<PortalSession>, StoreError> {
        get_json(self.portal_sessions()?, id)
    }

    pub fn put_portal_session(
        &mut self,
        id: &str,
        session: &PortalSession,
    ) -> Result<(), StoreError> {
        self.apply_logged(Change::PortalSession {
            id: id.to_owned(),
            session: session.clone(),
        })
    }

    pub fn sms_latest(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.sms_newest()?.get(key)?.map(|v| v.value().to_vec()))
    }

    pub fn set_sms_latest(&mut self, key: &str, id: &[u8]) -> Result<(), StoreError> {
        self.apply_logged(Change::SmsLatest {
            key: key.to_owned(),
            id: hex(id),
        })
    }

    pub fn totp_step(&mut self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.totp_steps()?.get(key)?.map(|v| v.value()))
    }

    pub fn set_totp_step(&mut self, key: &str, step: u64) -> Result<(), StoreError> {
        self.apply_logged(Change::TotpStep {
            key: key.to_owned(),
            step,
        })
    }

    /// The user's failures on every node together ([`FactorFailures::combine`]).
    pub fn failures(&mut self, key: &str) -> Result<FactorFailures, StoreError> {
        let own: FactorFailures = get_json(self.factor_failures()?, key)?.unwrap_or_default();
        combined_failures(own, self.peer_failures()?, key)
    }

    /// Makes the user's combined failures `f`, by recording this node's share of them.
    pub fn set_failures(&mut self, key: &str, f: &FactorFailures) -> Result<(), StoreError> {
        let own: FactorFailures = get_json(self.factor_failures()?, key)?.unwrap_or_default();
        let before = self.failures(key)?;
        let share = FactorFailures::own_share(&own, &before, f);
        self.apply_logged(Change::FactorFailures {
            key: key.to_owned(),
            failures: share,
        })
    }

    pub fn append_auth(&mut self, record: &AuthRecord) -> Result<(), StoreError> {
        self.append_auth_keyed(record).map(|_| ())
    }

    /// Appends an authentication record and returns its key, under which
    /// [`Tx::replace_auth`] can later give the final word on the same decision.
    pub fn append_auth_keyed(&mut self, record: &AuthRecord) -> Result<AuthKey, StoreError> {
        // The record's key carries the sequence number its change-log entry will get.
        let key = AuthKey {
            time_ms: record.time_ms,
            seq: *self.seq + 1,
        };
        self.replace_auth(key, record)?;
        Ok(key)
    }

    /// Writes `record` under `key` (an earlier record of the same decision is replaced, here
    /// and on every peer: an origin's entries are merged in order).
    pub fn replace_auth(&mut self, key: AuthKey, record: &AuthRecord) -> Result<(), StoreError> {
        self.apply_logged(Change::AuthLog {
            time_ms: key.time_ms,
            seq: key.seq,
            record: record.clone(),
        })
    }

    pub fn put_sync_approval(&mut self, item: &str, a: &SyncApproval) -> Result<(), StoreError> {
        self.apply_logged(Change::SyncApproval {
            item: item.to_owned(),
            approval: a.clone(),
        })
    }

    pub fn delete_sync_approval(&mut self, item: &str) -> Result<(), StoreError> {
        if self.sync_approvals()?.get(item)?.is_some() {
            self.apply_logged(Change::DeleteSyncApproval {
                item: item.to_owned(),
            })?;
        }
        Ok(())
    }
    /// Local housekeeping, deliberately not in the change log: every node expires its own
    /// copies by the same rules. Returns how many rows went, at most `limit` per table.
    pub fn purge(
        &mut self,
        now_ms: u64,
        auth_log_before_ms: u64,
        changelog_keep: u64,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut expired = Vec::new();
        for row in self.challenges()?.iter()? {
            let (k, v) = row?;
            let dead = serde_json::from_slice::<ChallengeRecord>(v.value())
                .map(|c| c.expires_ms <= now_ms)
                .unwrap_or(true);
            if dead {
                expired.push(k.value().to_vec());
            }
            if expired.len() >= limit {
                break;
            }
        }
        for k in expired {
            self.challenges()?.remove(k.as_slice())?;
            removed += 1;
        }
        let mut ended = Vec::new();
        for row in self.portal_sessions()?.iter()? {
            let (k, v) = row?;
            let dead = serde_json::from_slice::<PortalSession>(v.value())
                .map(|p| p.seen_ms.saturating_add(PORTAL_SESSION_KEEP_MS) <= now_ms)
                .unwrap_or(true);
            if dead {
                ended.push(k.value().to_owned());
            }
            if ended.len() >= limit {
                break;
            }
        }
        for k in ended {
            self.portal_sessions()?.remove(k.as_str())?;
            removed += 1;
        }
        let old: Vec<(u64, u64, u64)> = self
            .auth_log()?
            .range(..(auth_log_before_ms, 0, 0))?
            .take(limit)
            .filter_map(|r| r.ok().map(|(k, _)| k.value()))
            .collect();
        for k in old {
            self.auth_log()?.remove(k)?;
            removed += 1;
        }
        let keep_from = (*self.seq + 1).saturating_sub(changelog_keep);
        if keep_from > 0 {
            removed += self.trim_own_log(keep_from - 1, limit)?;
        }
        Ok(removed)
    }
}

pub(super) fn get_json<K, T>(
    t: &impl ReadableTable<K, &'static [u8]>,
    key: K::SelfType<'_>,
) -> Result<Option<T>, StoreError>
where
    K: redb::Key + 'static,
    T: serde::de::DeserializeOwned,
{
    match t.get(key)? {
        Some(v) => Ok(Some(serde_json::from_slice(v.value())?)),
        None => Ok(None),
    }
}

/// This node's failures for `key` with every peer's share from `peers` ([`PEER_FAILURES`]).
pub(super) fn combined_failures(
    own: FactorFailures,
    peers: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    key: &str,
) -> Result<FactorFailures, StoreError> {
    let mut all = vec![own];
    for row in peers.range((key, 0)..=(key, u64::MAX))? {
        let (_, v) = row?;
        all.push(serde_json::from_slice(v.value())?);
    }
    Ok(FactorFailures::combine(all))
}

/// A change-log entry with its (node id, sequence) key.
pub type ChangeEntry = ((u64, u64), Change);

/// A consistent snapshot for reads.
pub struct Reader {
    pub(super) txn: ReadTransaction,
}

impl Reader {
    pub fn user(&self, key: &str) -> Result<Option<UserRecord>, StoreError> {
        get_json(&self.txn.open_table(USERS)?, key)
    }

    /// RADIUS clients known to sign their requests (see [`SIGNING_CLIENTS`]).
    pub fn signing_clients(&self) -> Result<Vec<String>, StoreError> {
        let t = self.txn.open_table(SIGNING_CLIENTS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(row?.0.value().to_owned());
        }
        Ok(out)
    }

    pub fn user_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(USERS)?.len()?)
    }

    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let t = self.txn.open_table(USERS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    pub fn challenge(&self, id: &[u8]) -> Result<Option<ChallengeRecord>, StoreError> {
        get_json(&self.txn.open_table(CHALLENGES)?, id)
    }

    /// Every user by store key, built while reading (no intermediate list: the sync holds
    /// 100,000 of these).
    pub fn users_by_key(&self) -> Result<HashMap<String, UserRecord>, StoreError> {
        let t = self.txn.open_table(USERS)?;
        let mut out = HashMap::with_capacity(t.len()? as usize);
        for row in t.iter()? {
            let (k, v) = row?;
            out.insert(k.value().to_owned(), serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    pub fn totp_step(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .txn
            .open_table(TOTP_STEPS)?
            .get(key)?
            .map(|v| v.value()))
    }

    /// The user's failures on every node together ([`FactorFailures::combine`]).
    pub fn portal_session(&self, id: &str) -> Result<Option<PortalSession>, StoreError> {
        get_json(&self.txn.open_table(PORTAL_SESSIONS)?, id)
    }

    pub fn failures(&self, key: &str) -> Result<FactorFailures, StoreError> {
        let own: FactorFailures =
            get_json(&self.txn.open_table(FACTOR_FAILURES)?, key)?.unwrap_or_default();
        combined_failures(own, &self.txn.open_table(PEER_FAILURES)?, key)
    }

    pub fn sync_approval(&self, item: &str) -> Result<Option<SyncApproval>, StoreError> {
        get_json(&self.txn.open_table(SYNC_APPROVALS)?, item)
    }

    /// Authentication records at or after `since_ms`, oldest first, at most `limit`.
    pub fn auth_log(&self, since_ms: u64, limit: usize) -> Result<Vec<AuthRecord>, StoreError> {
        let t = self.txn.open_table(AUTH_LOG)?;
        let mut out = Vec::new();
        for row in t.range((since_ms, 0, 0)..)?.take(limit) {
            let (_, v) = row?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    /// The user's newest authentication records since `since_ms`, newest first: at most
    /// `limit` of them, looking at no more than `scan` records of everyone's (the portal's
    /// "recent sign-ins" must stay cheap in a busy log).
    pub fn user_auth_log(
        &self,
        user_key: &str,
        since_ms: u64,
        limit: usize,
        scan: usize,
    ) -> Result<Vec<AuthRecord>, StoreError> {
        let t = self.txn.open_table(AUTH_LOG)?;
        let mut out = Vec::new();
        for row in t.range((since_ms, 0, 0)..)?.rev().take(scan) {
            let (_, v) = row?;
            let r: AuthRecord = serde_json::from_slice(v.value())?;
            if super::model::user_key(&r.user) == user_key {
                out.push(r);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The change log in (node, seq) order; replication and tests read it.
    pub fn changes(&self) -> Result<Vec<ChangeEntry>, StoreError> {
        let t = self.txn.open_table(CHANGELOG)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((k.value(), serde_json::from_slice(v.value())?));
        }
        Ok(out)
    }
}
