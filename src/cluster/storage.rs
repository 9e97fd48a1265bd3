//! openraft's storage over the store: the Raft log, vote and metadata in the store's Raft
//! tables, the state machine in the directory tables themselves. Every write goes through the
//! store's single writer, so an entry's changes and the applied index that records it commit
//! in one transaction (a crash cannot apply an entry twice or skip one), and the log's
//! appends share group commits with login writes.

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader, RaftSnapshotBuilder,
    StorageIOError,
};

use super::types::*;
use crate::store::model::DirectoryOutcome;
use crate::store::{DirectoryDump, Store, StoreError};

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";
const LAST_APPLIED: &str = "last_applied";
const MEMBERSHIP: &str = "membership";
const SNAPSHOT_META: &str = "snapshot_meta";
const SNAPSHOT_COUNT: &str = "snapshot_count";

/// The Raft keys `reset` clears; the rest of the Raft metadata table is the cluster identity.
pub const RAFT_STATE_KEYS: &[&str] = &[
    VOTE,
    COMMITTED,
    LAST_PURGED,
    LAST_APPLIED,
    MEMBERSHIP,
    SNAPSHOT_META,
    SNAPSHOT_COUNT,
];

fn io_err(subject: ErrorSubject<NodeId>, verb: ErrorVerb, e: &StoreError) -> StorageError {
    StorageIOError::new(subject, verb, openraft::AnyError::new(e)).into()
}

fn read_logs(e: StoreError) -> StorageError {
    io_err(ErrorSubject::Logs, ErrorVerb::Read, &e)
}

fn write_logs(e: StoreError) -> StorageError {
    io_err(ErrorSubject::Logs, ErrorVerb::Write, &e)
}

fn read_sm(e: StoreError) -> StorageError {
    io_err(ErrorSubject::StateMachine, ErrorVerb::Read, &e)
}

fn write_sm(e: StoreError) -> StorageError {
    io_err(ErrorSubject::StateMachine, ErrorVerb::Write, &e)
}

fn decode_entry(bytes: &[u8]) -> Result<Entry, StoreError> {
    Ok(serde_json::from_slice(bytes)?)
}

/// The log half (log, vote, committed): [`RaftLogStorage`].
#[derive(Clone)]
pub struct LogStore {
    store: Store,
}

/// The state-machine half (directory tables, applied index, membership, snapshot):
/// [`RaftStateMachine`].
#[derive(Clone)]
pub struct StateMachine {
    store: Store,
}

/// The members in the membership this store last applied.
pub fn members(store: &Store) -> Result<Vec<(NodeId, NodeInfo)>, StoreError> {
    let m = store.read(|r| r.raft_meta::<StoredMembership>(MEMBERSHIP))?;
    Ok(m.map(|m| {
        m.membership()
            .nodes()
            .map(|(id, n)| (*id, n.clone()))
            .collect()
    })
    .unwrap_or_default())
}

pub fn new(store: Store) -> (LogStore, StateMachine) {
    (
        LogStore {
            store: store.clone(),
        },
        StateMachine { store },
    )
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let rows = self.store.read(|r| r.raft_log(range)).map_err(read_logs)?;
        rows.iter()
            .map(|b| decode_entry(b))
            .collect::<Result<_, _>>()
            .map_err(read_logs)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let (last, purged) = self
            .store
            .read(|r| {
                let last = r.raft_log_last()?.map(|b| decode_entry(&b)).transpose()?;
                Ok((last, r.raft_meta::<LogId>(LAST_PURGED)?))
            })
            .map_err(read_logs)?;
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last.map(|e| e.log_id).or(purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let v = *vote;
        self.store
            .write(move |tx| tx.set_raft_meta(VOTE, &v))
            .await
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, &e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.store
            .read(|r| r.raft_meta(VOTE))
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Read, &e))
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.store
            .write(move |tx| tx.set_raft_meta(COMMITTED, &committed))
            .await
            .map_err(write_logs)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self
            .store
            .read(|r| r.raft_meta::<Option<LogId>>(COMMITTED))
            .map_err(read_logs)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let rows = entries
            .into_iter()
            .map(|e| Ok((e.log_id.index, serde_json::to_vec(&e)?)))
            .collect::<Result<Vec<_>, StoreError>>()
            .map_err(write_logs)?;
        let r = self
            .store
            .write(move |tx| {
                for (i, b) in &rows {
                    tx.append_raft_log(*i, b)?;
                }
                Ok(())
            })
            .await;
        match r {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_logs(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.store
            .write(move |tx| tx.truncate_raft_log(log_id.index))
            .await
            .map_err(write_logs)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.store
            .write(move |tx| {
                // Recorded with the purge, so the log state never shows a hole.
                tx.set_raft_meta(LAST_PURGED, &log_id)?;
                tx.purge_raft_log(log_id.index)
            })
            .await
            .map_err(write_logs)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let store = self.store.clone();
        // One read transaction: the directory and the applied index it corresponds to.
        let read = tokio::task::spawn_blocking(move || {
            store.read(|r| {
                let applied = r.raft_meta::<LogId>(LAST_APPLIED)?;
                let membership = r.raft_meta::<StoredMembership>(MEMBERSHIP)?;
                let count = r.raft_meta::<u64>(SNAPSHOT_COUNT)?.unwrap_or(0);
                let data = serde_json::to_vec(&r.directory_dump()?)?;
                Ok((applied, membership.unwrap_or_default(), count, data))
            })
        })
        .await
        .map_err(|e| write_sm(StoreError::Commit(e.to_string())))?;
        let (applied, membership, count, data) = read.map_err(read_sm)?;
        let snapshot_id = match applied {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, count + 1),
            None => format!("--{}", count + 1),
        };
        let meta = SnapshotMeta {
            last_log_id: applied,
            last_membership: membership,
            snapshot_id,
        };
        let (m, d) = (meta.clone(), data.clone());
        self.store
            .write(move |tx| {
                tx.set_raft_snapshot(&d)?;
                tx.set_raft_meta(SNAPSHOT_META, &m)?;
                tx.set_raft_meta(SNAPSHOT_COUNT, &(count + 1))
            })
            .await
            .map_err(|e| {
                io_err(
                    ErrorSubject::Snapshot(Some(meta.signature())),
                    ErrorVerb::Write,
                    &e,
                )
            })?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        self.store
            .read(|r| {
                Ok((
                    r.raft_meta::<LogId>(LAST_APPLIED)?,
                    r.raft_meta::<StoredMembership>(MEMBERSHIP)?
                        .unwrap_or_default(),
                ))
            })
            .map_err(read_sm)
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<DirectoryOutcome>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        self.store
            .write(move |tx| {
                let mut out = Vec::with_capacity(entries.len());
                let mut last = None;
                for e in &entries {
                    last = Some(e.log_id);
                    out.push(match &e.payload {
                        EntryPayload::Blank => DirectoryOutcome::default(),
                        EntryPayload::Normal(w) => tx.apply_directory(w, false)?,
                        EntryPayload::Membership(m) => {
                            let sm = StoredMembership::new(Some(e.log_id), m.clone());
                            tx.set_raft_meta(MEMBERSHIP, &sm)?;
                            DirectoryOutcome::default()
                        }
                    });
                }
                tx.set_raft_meta(LAST_APPLIED, &last)?;
                Ok(out)
            })
            .await
            .map_err(write_sm)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let snap_err =
            |e: &StoreError, verb| io_err(ErrorSubject::Snapshot(Some(meta.signature())), verb, e);
        let dump: DirectoryDump = serde_json::from_slice(&data)
            .map_err(|e| snap_err(&StoreError::Decode(e), ErrorVerb::Read))?;
        let m = meta.clone();
        self.store
            .write(move |tx| {
                tx.replace_directory(&dump)?;
                tx.set_raft_meta(LAST_APPLIED, &m.last_log_id)?;
                tx.set_raft_meta(MEMBERSHIP, &m.last_membership)?;
                tx.set_raft_meta(SNAPSHOT_META, &m)?;
                tx.set_raft_snapshot(&data)
            })
            .await
            .map_err(|e| snap_err(&e, ErrorVerb::Write))
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let got = self
            .store
            .read(|r| {
                Ok((
                    r.raft_meta::<SnapshotMeta>(SNAPSHOT_META)?,
                    r.raft_snapshot()?,
                ))
            })
            .map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, &e))?;
        Ok(match got {
            (Some(meta), Some(data)) => Some(Snapshot {
                meta,
                snapshot: Box::new(Cursor::new(data)),
            }),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use openraft::testing::{StoreBuilder, Suite};

    use super::*;

    /// Removes the store's directory when a suite case is done with it.
    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    struct Builder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Builder {
        async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError> {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let dir =
                std::env::temp_dir().join(format!("mfagate-raft-suite-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let store = Store::open(&dir).map_err(read_logs)?;
            let (log, sm) = new(store);
            Ok((TempDir(dir), log, sm))
        }
    }

    /// openraft's own storage test suite against this storage.
    #[test]
    fn openraft_storage_suite_passes() {
        if let Err(e) = Suite::test_all(Builder) {
            panic!("openraft's storage suite failed: {e}");
        }
    }
}
