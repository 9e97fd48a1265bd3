//! Online backup and restore: every table that matters, read in one read transaction (so the
//! copy is consistent while the daemon goes on writing), as one JSON document; and the restore
//! of such a document into a store. The Raft log is not in a backup: a restored node re-forms
//! its cluster (`cluster promote --force`) from the directory it holds.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::model::*;
use super::raft::DirectoryDump;
use super::tables::*;
use super::{seal, Reader, Store, StoreError, Tx};

pub const FORMAT: &str = "mfagate-backup";
pub const VERSION: u32 = 1;

/// A backup file: the store's tables and the data directory's key (TOTP seeds are sealed
/// with it, so a backup without it restores users whose authenticators no longer open).
#[derive(Serialize, Deserialize)]
pub struct Backup {
    pub format: String,
    pub version: u32,
    pub node: String,
    pub created_ms: u64,
    /// The seed key (the cluster key in a cluster), hex.
    pub key: String,
    pub tables: Tables,
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("node", &self.node)
            .field("created_ms", &self.created_ms)
            .field("key", &"<redacted>")
            .field("users", &self.tables.directory.users.len())
            .finish()
    }
}

impl Backup {
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(format!(
                "not an mfagate backup this version reads (format {:?} version {}, expected {FORMAT:?} {VERSION})",
                self.format, self.version
            ));
        }
        if unhex(&self.key).is_none_or(|k| k.len() != 32) {
            return Err("the backup's key is damaged".into());
        }
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Tables {
    pub directory: DirectoryDump,
    pub challenges: Vec<(String, ChallengeRecord)>,
    pub totp_steps: Vec<(String, u64)>,
    pub factor_failures: Vec<(String, FactorFailures)>,
    pub sms_latest: Vec<(String, String)>,
    pub push_state: Vec<(String, PushState)>,
    pub auth_log: Vec<((u64, u64, u64), AuthRecord)>,
    /// The cluster identity (JSON), when the node was in a cluster.
    pub cluster: Option<serde_json::Value>,
    #[serde(default)]
    pub signing_clients: Vec<(String, u64)>,
}

fn rows<K, V, T>(
    t: &impl ReadableTable<K, V>,
    mut f: impl FnMut(K::SelfType<'_>, V::SelfType<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
{
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        out.push(f(k.value(), v.value())?);
    }
    Ok(out)
}

fn json<T: serde::de::DeserializeOwned>(v: &[u8]) -> Result<T, StoreError> {
    Ok(serde_json::from_slice(v)?)
}

impl Reader {
    /// Everything a backup holds, from this reader's one transaction.
    pub fn backup_tables(&self, cluster_key: &str) -> Result<Tables, StoreError> {
        Ok(Tables {
            directory: self.directory_dump()?,
            challenges: rows(&self.txn.open_table(CHALLENGES)?, |k, v| {
                Ok((hex(k), json(v)?))
            })?,
            totp_steps: rows(&self.txn.open_table(TOTP_STEPS)?, |k, v| {
                Ok((k.to_owned(), v))
            })?,
            factor_failures: rows(&self.txn.open_table(FACTOR_FAILURES)?, |k, v| {
                Ok((k.to_owned(), json(v)?))
            })?,
            sms_latest: rows(&self.txn.open_table(SMS_LATEST)?, |k, v| {
                Ok((k.to_owned(), hex(v)))
            })?,
            push_state: rows(&self.txn.open_table(PUSH_STATE)?, |k, v| {
                Ok((k.to_owned(), json(v)?))
            })?,
            auth_log: rows(&self.txn.open_table(AUTH_LOG)?, |k, v| Ok((k, json(v)?)))?,
            cluster: self.raft_meta(cluster_key)?,
            signing_clients: rows(&self.txn.open_table(SIGNING_CLIENTS)?, |k, v| {
                Ok((k.to_owned(), v))
            })?,
        })
    }
}

impl Tx<'_> {
    /// Replaces every backed-up table with the backup's rows, and forgets the Raft state.
    pub fn restore_tables(&mut self, t: &Tables, cluster_key: &str) -> Result<(), StoreError> {
        self.replace_directory(&t.directory)?;
        self.challenges()?.retain(|_, _| false)?;
        for (id, c) in &t.challenges {
            let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
            let b = serde_json::to_vec(c)?;
            self.challenges()?.insert(id.as_slice(), b.as_slice())?;
        }
        self.totp_steps()?.retain(|_, _| false)?;
        for (k, s) in &t.totp_steps {
            self.totp_steps()?.insert(k.as_str(), *s)?;
        }
        self.factor_failures()?.retain(|_, _| false)?;
        for (k, f) in &t.factor_failures {
            let b = serde_json::to_vec(f)?;
            self.factor_failures()?.insert(k.as_str(), b.as_slice())?;
        }
        self.sms_newest()?.retain(|_, _| false)?;
        for (k, id) in &t.sms_latest {
            let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
            self.sms_newest()?.insert(k.as_str(), id.as_slice())?;
        }
        self.push_states()?.retain(|_, _| false)?;
        for (k, p) in &t.push_state {
            let b = serde_json::to_vec(p)?;
            self.push_states()?.insert(k.as_str(), b.as_slice())?;
        }
        self.auth_log()?.retain(|_, _| false)?;
        for (k, r) in &t.auth_log {
            let b = serde_json::to_vec(r)?;
            self.auth_log()?.insert(*k, b.as_slice())?;
        }
        self.signing_clients()?.retain(|_, _| false)?;
        for (k, ms) in &t.signing_clients {
            self.signing_clients()?.insert(k.as_str(), *ms)?;
        }
        self.reset_raft(&[])?;
        if let Some(c) = &t.cluster {
            self.set_raft_meta(cluster_key, c)?;
        }
        Ok(())
    }
}

impl Store {
    /// A consistent copy of the store (one read transaction) with the seed key; `cluster_key`
    /// names the cluster identity's Raft metadata entry.
    pub fn backup(&self, node: &str, now_ms: u64, cluster_key: &str) -> Result<Backup, StoreError> {
        let key_path = self.data_dir().join("seed.key");
        let key = std::fs::read(&key_path)
            .map_err(|e| StoreError::KeyFile(format!("{}: {e}", key_path.display())))?;
        let tables = self.read(|r| r.backup_tables(cluster_key))?;
        Ok(Backup {
            format: FORMAT.into(),
            version: VERSION,
            node: node.to_owned(),
            created_ms: now_ms,
            key: hex(&key),
            tables,
        })
    }

    /// Replaces this store's contents with `b` (its key file too: the running process keeps
    /// the key it opened with, so restore into a store no daemon uses).
    pub async fn restore(self, b: Backup, cluster_key: &'static str) -> Result<(), StoreError> {
        let key = unhex(&b.key).ok_or(StoreError::Change("the backup's key is not hex"))?;
        seal::replace_key_file(&self.data_dir().join("seed.key"), &key)?;
        self.write(move |tx| tx.restore_tables(&b.tables, cluster_key))
            .await
    }
}
