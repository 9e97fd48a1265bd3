//! The store's side of Raft (see `crate::cluster::storage`): the Raft log, the Raft and
//! cluster metadata and the current snapshot live in their own tables of the same redb file,
//! and are written by the same writer as everything else, so the state machine's apply and
//! the applied index it records commit in one transaction. This module knows bytes and JSON,
//! not openraft's types.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::model::{SyncApproval, UserRecord};
use super::tables::*;
use super::{get_json, Reader, StoreError, Tx};

/// The directory tables as one value: what a Raft snapshot holds.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct DirectoryDump {
    pub users: Vec<(String, UserRecord)>,
    pub sync_approvals: Vec<(String, SyncApproval)>,
}

impl Tx<'_> {
    pub fn get_raft_meta<T: DeserializeOwned>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        get_json(self.raft_meta()?, key)
    }

    pub fn set_raft_meta<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value)?;
        self.raft_meta()?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    pub fn remove_raft_meta(&mut self, key: &str) -> Result<(), StoreError> {
        self.raft_meta()?.remove(key)?;
        Ok(())
    }

    pub fn append_raft_log(&mut self, index: u64, entry: &[u8]) -> Result<(), StoreError> {
        self.raft_log()?.insert(index, entry)?;
        Ok(())
    }

    /// Removes the entries at and after `from`.
    pub fn truncate_raft_log(&mut self, from: u64) -> Result<(), StoreError> {
        self.raft_log()?.retain_in(from.., |_, _| false)?;
        Ok(())
    }

    /// Removes the entries up to and including `upto`.
    pub fn purge_raft_log(&mut self, upto: u64) -> Result<(), StoreError> {
        self.raft_log()?.retain_in(..=upto, |_, _| false)?;
        Ok(())
    }

    /// Forgets every Raft entry and every metadata key except `keep` (leaving a node that can
    /// join a cluster afresh, or re-form one).
    pub fn reset_raft(&mut self, keep: &[&str]) -> Result<(), StoreError> {
        self.raft_log()?.retain(|_, _| false)?;
        self.raft_meta()?.retain(|k, _| keep.contains(&k))?;
        self.raft_snapshot()?.retain(|_, _| false)?;
        Ok(())
    }

    /// Replaces the whole directory (installing a snapshot).
    pub fn replace_directory(&mut self, dump: &DirectoryDump) -> Result<(), StoreError> {
        self.users()?.retain(|_, _| false)?;
        for (k, u) in &dump.users {
            let bytes = serde_json::to_vec(u)?;
            self.users()?.insert(k.as_str(), bytes.as_slice())?;
        }
        self.sync_approvals()?.retain(|_, _| false)?;
        for (k, a) in &dump.sync_approvals {
            let bytes = serde_json::to_vec(a)?;
            self.sync_approvals()?
                .insert(k.as_str(), bytes.as_slice())?;
        }
        Ok(())
    }

    pub fn set_raft_snapshot(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.raft_snapshot()?.insert("data", data)?;
        Ok(())
    }
}

impl Reader {
    pub fn raft_meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        get_json(&self.txn.open_table(RAFT_META)?, key)
    }

    /// Raft entries with index in `range`, in order.
    pub fn raft_log(
        &self,
        range: impl std::ops::RangeBounds<u64>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(RAFT_LOG)?;
        let mut out = Vec::new();
        for row in t.range(range)? {
            let (_, v) = row?;
            out.push(v.value().to_vec());
        }
        Ok(out)
    }

    pub fn raft_log_last(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(RAFT_LOG)?;
        let last = t.last()?.map(|(_, v)| v.value().to_vec());
        Ok(last)
    }

    pub fn raft_log_len(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(RAFT_LOG)?.len()?)
    }

    pub fn raft_snapshot(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(RAFT_SNAPSHOT)?;
        Ok(t.get("data")?.map(|v| v.value().to_vec()))
    }

    /// The directory tables, read in this reader's transaction (so consistent with any Raft
    /// metadata read in it).
    pub fn directory_dump(&self) -> Result<DirectoryDump, StoreError> {
        let mut dump = DirectoryDump::default();
        for row in self.txn.open_table(USERS)?.iter()? {
            let (k, v) = row?;
            dump.users
                .push((k.value().to_owned(), serde_json::from_slice(v.value())?));
        }
        for row in self.txn.open_table(SYNC_APPROVALS)?.iter()? {
            let (k, v) = row?;
            dump.sync_approvals
                .push((k.value().to_owned(), serde_json::from_slice(v.value())?));
        }
        Ok(dump)
    }
}
