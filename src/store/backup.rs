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
    /// Login state merged from cluster peers: without it a node restored alone would forget
    /// the wrong codes and pushes its peers counted, and whose accept set a TOTP step.
    #[serde(default)]
    pub totp_step_origin: Vec<(String, u64)>,
    #[serde(default)]
    pub peer_failures: Vec<((String, u64), FactorFailures)>,
    #[serde(default)]
    pub peer_push: Vec<((String, u64), PushState)>,
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
            totp_step_origin: rows(&self.txn.open_table(TOTP_STEP_ORIGIN)?, |k, v| {
                Ok((k.to_owned(), v))
            })?,
            peer_failures: rows(&self.txn.open_table(PEER_FAILURES)?, |k, v| {
                Ok(((k.0.to_owned(), k.1), json(v)?))
            })?,
            peer_push: rows(&self.txn.open_table(PEER_PUSH)?, |k, v| {
                Ok(((k.0.to_owned(), k.1), json(v)?))
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
        self.totp_step_origin()?.retain(|_, _| false)?;
        for (k, o) in &t.totp_step_origin {
            self.totp_step_origin()?.insert(k.as_str(), *o)?;
        }
        self.peer_failures()?.retain(|_, _| false)?;
        for ((k, o), f) in &t.peer_failures {
            let b = serde_json::to_vec(f)?;
            self.peer_failures()?
                .insert((k.as_str(), *o), b.as_slice())?;
        }
        self.peer_push()?.retain(|_, _| false)?;
        for ((k, o), p) in &t.peer_push {
            let b = serde_json::to_vec(p)?;
            self.peer_push()?.insert((k.as_str(), *o), b.as_slice())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a node merged from its peers survives a backup and restore, so a node restored
    /// alone still counts the wrong codes its peers saw.
    #[tokio::test]
    async fn peers_login_state_survives_backup_and_restore() {
        let dir = std::env::temp_dir().join(format!("mfagate-backup-peers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = Store::open(&dir.join("a")).unwrap_or_else(|e| panic!("{e}"));
        let share = FactorFailures {
            count: 3,
            locked_until_ms: 0,
            last_ms: 10,
            reset_ms: 0,
        };
        let peer = share.clone();
        a.write(move |tx| {
            tx.merge_peer_change(
                99,
                1,
                &Change::FactorFailures {
                    key: "u".into(),
                    failures: peer,
                },
            )?;
            tx.merge_peer_change(
                99,
                2,
                &Change::TotpStep {
                    key: "u".into(),
                    step: 7,
                },
            )?;
            let push = PushState {
                pending: None,
                recent_ms: vec![5],
            };
            tx.merge_peer_change(
                99,
                3,
                &Change::PushState {
                    key: "u".into(),
                    state: push,
                },
            )
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let backup = a
            .backup("a", 0, "cluster")
            .unwrap_or_else(|e| panic!("{e}"));
        let want = serde_json::to_value(&backup.tables).unwrap_or_default();
        let b = Store::open(&dir.join("b")).unwrap_or_else(|e| panic!("{e}"));
        b.clone()
            .restore(backup, "cluster")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got = b
            .read(|r| r.backup_tables("cluster"))
            .unwrap_or_else(|e| panic!("{e}"));
        let got = serde_json::to_value(&got).unwrap_or_default();
        for field in [
            "peer_failures",
            "totp_step_origin",
            "peer_push",
            "totp_steps",
        ] {
            assert_eq!(got[field], want[field], "{field}");
            assert!(
                got[field].as_array().is_some_and(|a| !a.is_empty()),
                "{field}"
            );
        }
        let f = b
            .read(|r| r.failures("u"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.count, 3, "the peer's wrong codes still count");
        drop((a, b));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
