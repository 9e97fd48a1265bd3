//! The embedded store: users (directory data), login state (challenges, TOTP replay guard,
//! failure counters), the authentication log, and the change log that replication will ship.
//!
//! Writes: one writer thread owns every write transaction. Callers hand it a closure through
//! [`Store::write`]; the thread runs all closures that are waiting in one transaction and
//! commits them with one fsync (group commit), then answers each caller. Every logged mutation
//! goes through [`Tx`], which appends a [`model::Change`] to the change log in the same
//! transaction. A closure must do its checks before its first write: a closure that returns an
//! error after writing does not roll those writes back (the batch commits as a whole).
//!
//! Reads use read transactions directly from the caller's thread; they never wait for writes.
//!
//! Faults (`writer.rs`): after an I/O error (a full disk, a file system remounted read-only)
//! the store is *down*: every read and write fails at once with [`StoreError::Unwritable`]
//! while the writer reopens the file every [`RETRY_EVERY`], and it resumes by itself once a
//! write commits again. A damaged file ([`StoreError::Damaged`]) is found by redb's integrity
//! check, which runs on every open and on `mfagate store check`, or by a read that meets a
//! damaged page; it keeps the store down until it is restored. [`Store::health`] says which.

mod apply;
mod backup;
mod catchup;
#[cfg(test)]
mod fault_tests;
mod guard;
pub mod model;
mod raft;
mod replica;
mod seal;
mod shared;
#[cfg(test)]
mod sim_tests;
pub mod tables;
#[cfg(test)]
mod testing;
mod tx;
mod writer;

use tx::get_json;
pub use tx::{ChangeEntry, Reader, Tx};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use backup::{Backup, Tables as BackupTables};
pub use catchup::{AuthPage, LoginSnapshot};
use guard::Caught;
use model::*;
pub use raft::DirectoryDump;
pub use seal::{replace_key_file, SeedSealer};
use tables::*;
use writer::{Job, JobFn, Shared, State, Work, Writer};

/// redb's page cache.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Largest number of callers folded into one commit.
const MAX_BATCH: usize = 1024;

/// The database file and the seed key, in `data_dir`.
const DB_FILE: &str = "mfagate.redb";
/// Portal sessions are purged a day after their last request; the portal's own idle timeout
/// (minutes) ends them long before, this only keeps the table small.
pub const PORTAL_SESSION_KEEP_MS: u64 = 24 * 3600 * 1000;
const KEY_FILE: &str = "seed.key";

/// How often a store that is down after an I/O error tries to write again.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Db(redb::Error),
    #[error("the store {0} is in use by another mfagate process")]
    Locked(PathBuf),
    #[error("store record does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("seed key file: {0}")]
    KeyFile(String),
    #[error("data directory {0}")]
    DataDir(String),
    #[error("store: {0}")]
    Setup(String),
    #[error("a TOTP seed does not open with this data directory's key")]
    Sealing,
    #[error("the store's writer has stopped")]
    Closed,
    #[error("store commit failed: {0}")]
    Commit(String),
    #[error("store change refused: {0}")]
    Change(&'static str),
    /// redb found the file damaged (a failed checksum, a malformed page), or panicked on it.
    #[error("the store is damaged: {0}; restore from a backup (mfagate restore FILE, with mfagate stopped)")]
    Damaged(String),
    /// Writes fail with an I/O error; the writer keeps trying ([`RETRY_EVERY`]).
    #[error("the store cannot write: {0} (mfagate tries again every {secs} s and resumes by itself)", secs = RETRY_EVERY.as_secs())]
    Unwritable(String),
    /// `seed.key` without a database next to it.
    #[error("data_dir {} holds seed.key but no store: the database was deleted or the wrong data_dir is configured; restore from a backup (mfagate restore FILE) or remove seed.key to start empty — TOTP seeds sealed with it will be unreadable", .0.display())]
    NoStore(PathBuf),
    #[error("the store is busy: {0}")]
    Busy(String),
}

impl StoreError {
    /// Whether this is the store's own state (it cannot write, or it is damaged) rather than
    /// something about the work that met it.
    pub fn is_fault(&self) -> bool {
        matches!(self, StoreError::Damaged(_) | StoreError::Unwritable(_))
    }

    /// The error each caller of a failed batch gets.
    fn for_caller(&self) -> StoreError {
        match self {
            StoreError::Damaged(s) => StoreError::Damaged(s.clone()),
            StoreError::Unwritable(s) => StoreError::Unwritable(s.clone()),
            StoreError::Busy(s) => StoreError::Busy(s.clone()),
            StoreError::Closed => StoreError::Closed,
            other => StoreError::Commit(other.to_string()),
        }
    }
}

/// redb's errors sorted by what they mean for the store: a damaged file, a failed disk (the
/// database must be reopened: redb latches its first I/O error), or anything else.
impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::Corrupted(m) => StoreError::Damaged(format!("DB corrupted: {m}")),
            redb::Error::Io(e) => StoreError::Unwritable(format!("I/O error: {e}")),
            redb::Error::PreviousIo | redb::Error::DatabaseClosed => {
                StoreError::Unwritable("an earlier I/O error closed the database".into())
            }
            redb::Error::Backend(e) => StoreError::Unwritable(format!("storage: {e}")),
            // Left by a panic inside redb (a damaged page); the reopen's check decides.
            redb::Error::LockPoisoned(at) => {
                StoreError::Unwritable(format!("redb's state is inconsistent ({at})"))
            }
            other => StoreError::Db(other),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::from(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::DatabaseError
);

/// Why a database did not open, sorted as [`From<redb::Error>`] sorts run-time errors; the
/// caller decides what an I/O error is (a bad data directory at start-up, a store still down
/// at a reopen).
enum OpenFault {
    Locked,
    Io(String),
    Damaged(String),
    Other(redb::DatabaseError),
}

impl From<redb::DatabaseError> for OpenFault {
    fn from(e: redb::DatabaseError) -> Self {
        use redb::{DatabaseError as D, StorageError as S};
        match e {
            D::DatabaseAlreadyOpen | D::LockProtocolMismatch => OpenFault::Locked,
            // Only a repair callback aborts a repair, and there is none: it means redb gave up.
            D::RepairAborted => OpenFault::Damaged("redb could not repair it".into()),
            D::Storage(S::Corrupted(m)) => OpenFault::Damaged(format!("DB corrupted: {m}")),
            // redb's "not a redb database" (a damaged header's magic number).
            D::Storage(S::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => {
                OpenFault::Damaged(io.to_string())
            }
            D::Storage(S::Io(io)) => OpenFault::Io(io.to_string()),
            D::Storage(S::PreviousIo | S::DatabaseClosed) => {
                OpenFault::Io("an earlier I/O error closed the database".into())
            }
            D::Storage(S::LockPoisoned(at)) => {
                OpenFault::Io(format!("redb's state is inconsistent ({at})"))
            }
            other => OpenFault::Other(other),
        }
    }
}

impl OpenFault {
    /// As `Store::open` reports it.
    fn at_open(self, path: &Path) -> StoreError {
        match self {
            OpenFault::Locked => StoreError::Locked(path.to_owned()),
            OpenFault::Io(e) => StoreError::DataDir(format!("{}: {e}", path.display())),
            OpenFault::Damaged(m) => StoreError::Damaged(format!("{}: {m}", path.display())),
            OpenFault::Other(e) => e.into(),
        }
    }

    /// As the writer, down and trying again, reports it.
    fn at_reopen(self, path: &Path) -> StoreError {
        match self {
            OpenFault::Locked => StoreError::Unwritable(format!(
                "{} is still held (by a read in progress, or another process)",
                path.display()
            )),
            OpenFault::Io(e) => StoreError::Unwritable(format!("{}: {e}", path.display())),
            OpenFault::Damaged(m) => StoreError::Damaged(format!("{}: {m}", path.display())),
            OpenFault::Other(e) => StoreError::Unwritable(format!("{}: {e}", path.display())),
        }
    }
}

/// Opens (or creates) the database with redb's integrity check. A plain open trusts a file
/// that was shut down cleanly, and a damaged page then makes redb panic on the first read that
/// meets it (redb documents this); the check reads every page once (about 100 ms for 70 MB)
/// and reports damage as `Corrupted` instead. The guard catches what it still does not.
fn open_db(path: &Path) -> Result<Database, OpenFault> {
    let opened = guard::redb_only(|| {
        Database::builder()
            // redb caches up to 1 GiB by default; the working set (users, open challenges, the
            // recent log) is far smaller, and memory is what small gateway VMs lack.
            .set_cache_size(CACHE_BYTES)
            .set_check_integrity_on_open(true)
            .create(path)
    });
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(e.into()),
        Err(panic) => Err(OpenFault::Damaged(panic)),
    }
}

/// Whether `path` exists with content (an empty file is what a create that stopped at once
/// leaves; redb starts a new database in it).
fn has_content(path: &Path) -> Result<bool, StoreError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len() > 0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::DataDir(format!("{}: {e}", path.display()))),
    }
}

/// What `mfagate store check` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub file: String,
    pub bytes: u64,
    /// redb found inconsistencies it could repair (pages an interrupted write leaked, say).
    pub repaired: bool,
    pub took_ms: u64,
    /// Checked by the running daemon (through the admin socket), not on a stopped store.
    pub by_daemon: bool,
}

/// How records queued with [`Store::write_detached`] may stay in a non-durable commit
/// before the writer makes them durable.
const DETACHED_DURABLE_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    jobs: Option<mpsc::Sender<Work>>,
    writer: Option<JoinHandle<()>>,
    node_id: u64,
    sealer: SeedSealer,
    path: PathBuf,
    /// The last change-log sequence durably committed, for whoever ships the log to peers.
    commits: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer; dropping the last handle after joining it
        // releases the file lock before return.
        self.jobs.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        drop(self.shared.set(State::Closed));
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("node_id", &self.inner.node_id)
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the store in `data_dir`: `mfagate.redb` and the seed key `seed.key`.
    /// Refused: a damaged file ([`StoreError::Damaged`]), and a `seed.key` without a store
    /// next to it ([`StoreError::NoStore`]), which is a deleted database or the wrong
    /// `data_dir`, not a fresh start.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_as(data_dir, true)
    }

    /// [`Store::open`] for `mfagate restore`: a `seed.key` without a store is what a restore
    /// is for (the backup's key replaces it).
    pub fn open_for_restore(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_as(data_dir, false)
    }

    fn open_as(data_dir: &Path, refuse_key_alone: bool) -> Result<Self, StoreError> {
        crate::config::create_private_dir(data_dir)
            .map_err(|e| StoreError::DataDir(format!("{}: {e}", data_dir.display())))?;
        let key_path = data_dir.join(KEY_FILE);
        let path = data_dir.join(DB_FILE);
        let key_alone = refuse_key_alone && key_path.exists();
        if key_alone && !has_content(&path)? {
            return Err(StoreError::NoStore(data_dir.to_owned()));
        }
        let db = open_db(&path).map_err(|f| f.at_open(&path))?;
        let damaged = |p: String| StoreError::Damaged(format!("{}: {p}", path.display()));
        if key_alone
            && guard::redb_only(|| writer::read_ids(&db))
                .map_err(damaged)??
                .is_none()
        {
            return Err(StoreError::NoStore(data_dir.to_owned()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        // Nothing retries at start-up: a disk that cannot take this first commit is reported
        // as the data directory's problem, not as "cannot write (tries again)".
        let (node_id, seq) = guard::redb_only(|| init_tables(&db))
            .map_err(damaged)?
            .map_err(|e| match e {
                StoreError::Unwritable(why) => {
                    StoreError::DataDir(format!("{}: {why}", path.display()))
                }
                other => other,
            })?;
        // The key after the tables: a first start that stops in between leaves a store without
        // a key (the next start makes one, no seed was sealed yet), never a key without a store,
        // which the next start would refuse.
        let sealer = SeedSealer::load_or_create(&key_path)?;
        let db = Arc::new(db);
        let shared = Arc::new(Shared::new(db.clone()));
        let (tx, rx) = mpsc::channel::<Work>();
        let commits = Arc::new(tokio::sync::watch::Sender::new(seq));
        let w = Writer {
            shared: shared.clone(),
            rx,
            commits: commits.clone(),
            node_id,
            path: path.clone(),
            db: Some(db),
            seq,
            last_durable: Instant::now(),
            pending_non_durable: false,
            stashed: None,
            down_since: None,
            next_retry: Instant::now(),
        };
        // The writer logs to the subscriber of whoever opened the store (a test's, too).
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || tracing::dispatcher::with_default(&dispatch, || w.run()))
            .map_err(|e| StoreError::Setup(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                jobs: Some(tx),
                writer: Some(writer),
                node_id,
                sealer,
                path,
                commits,
            }),
        })
    }

    /// redb's integrity check on the store in `data_dir`, with no mfagate running on it
    /// (a running daemon checks its own: [`Store::check`]). Creates nothing.
    pub fn check_file(data_dir: &Path) -> Result<CheckReport, StoreError> {
        let started = Instant::now();
        let path = data_dir.join(DB_FILE);
        if !has_content(&path)? {
            if data_dir.join(KEY_FILE).exists() {
                return Err(StoreError::NoStore(data_dir.to_owned()));
            }
            return Err(StoreError::Setup(format!(
                "there is no store in {} (mfagate has not run with this data_dir)",
                data_dir.display()
            )));
        }
        let damaged = |p: String| StoreError::Damaged(format!("{}: {p}", path.display()));
        // A plain open here, so that the check below can tell whether it repaired anything
        // (an open with the check would repair silently); it may panic on damage, hence the
        // guard.
        let mut db =
            guard::redb_only(|| Database::builder().set_cache_size(CACHE_BYTES).open(&path))
                .map_err(damaged)?
                .map_err(|e| OpenFault::from(e).at_open(&path))?;
        let clean = guard::redb_only(|| db.check_integrity())
            .map_err(damaged)?
            .map_err(|e| OpenFault::from(e).at_open(&path))?;
        if guard::redb_only(|| writer::read_ids(&db))
            .map_err(damaged)??
            .is_none()
        {
            return Err(damaged("it holds none of mfagate's tables".into()));
        }
        drop(db);
        Ok(CheckReport {
            file: path.display().to_string(),
            bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
            repaired: !clean,
            took_ms: started.elapsed().as_millis() as u64,
            by_daemon: false,
        })
    }

    /// redb's integrity check on this open store, run by the writer: reads are refused
    /// ("busy") and writes wait while it runs (about 100 ms for 70 MB). Damage found makes the
    /// store damaged (unready) as a damaged page met by a read does.
    pub async fn check(&self) -> Result<CheckReport, StoreError> {
        let (done_tx, done_rx) = oneshot::channel();
        self.send(Work::Check(done_tx))?;
        done_rx.await.map_err(|_| StoreError::Closed)?
    }

    /// `Ok` while the store takes writes; `Err` with the reason while it cannot (an I/O error:
    /// it comes back by itself) or is damaged. Cheap: one lock read, no I/O.
    pub fn health(&self) -> Result<(), String> {
        self.inner.shared.health()
    }

    /// This node's change-log sequence as durable commits land; entries past it may still
    /// be rolled back by a crash, so nothing past it leaves the node.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.commits.subscribe()
    }

    /// The last change-log sequence durably committed.
    pub fn durable_seq(&self) -> u64 {
        *self.inner.commits.borrow()
    }

    /// Hands work to the writer; refused at once while the store is down or damaged, so that
    /// no caller waits on a store that cannot answer.
    fn send(&self, work: Work) -> Result<(), StoreError> {
        if let Some(e) = self.inner.shared.refusal() {
            return Err(e);
        }
        self.inner
            .jobs
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(work)
            .map_err(|_| StoreError::Closed)
    }

    pub fn node_id(&self) -> u64 {
        self.inner.node_id
    }

    pub fn sealer(&self) -> &SeedSealer {
        &self.inner.sealer
    }

    /// Runs `f` in the writer's next transaction and returns its result once that transaction
    /// is durable on disk. While the store is down or damaged it fails at once. A failed
    /// commit may still have reached the disk (redb cannot tell), so a failure means "not
    /// known to be saved", not "not saved".
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&mut Tx<'a>) -> Result<T, StoreError> + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<Result<T, StoreError>>();
        let run: JobFn = Box::new(move |tx: Option<&mut Tx<'_>>| {
            let result = tx.map(|tx| {
                let r = f(&mut *tx);
                if let Err(e) = &r {
                    tx.note(e);
                }
                r
            });
            Box::new(move |commit: Result<(), &StoreError>| {
                let out = match (commit, result) {
                    (Err(e), _) => Err(e.for_caller()),
                    (Ok(()), Some(r)) => r,
                    // A job that did not run is never committed.
                    (Ok(()), None) => Err(StoreError::Closed),
                };
                let _ = done_tx.send(out);
            })
        });
        self.send(Work::Job(Job { run, durable: true }))?;
        done_rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues `f` for the writer's next transaction without waiting for it: for records
    /// whose loss in a crash changes no decision (the audit record of a decision that wrote
    /// nothing else). Batches of such records alone are committed without fsync and made
    /// durable within [`DETACHED_DURABLE_WITHIN`] (or by the next durable commit), so a crash
    /// loses at most that much of them (an I/O error too: the reopened file is as a crash
    /// leaves it). Refused at once while the store is down. A failure is logged by the writer.
    pub fn write_detached<F>(&self, f: F) -> Result<(), StoreError>
    where
        F: for<'a> FnOnce(&mut Tx<'a>) -> Result<(), StoreError> + Send + 'static,
    {
        let run: JobFn = Box::new(move |tx: Option<&mut Tx<'_>>| {
            let result = tx.map(|tx| {
                let r = f(&mut *tx);
                if let Err(e) = &r {
                    tx.note(e);
                }
                r
            });
            Box::new(move |commit: Result<(), &StoreError>| {
                let failure = match (&result, commit) {
                    (_, Err(e)) => Some((e.is_fault(), e.to_string())),
                    (Some(Err(e)), Ok(())) => Some((e.is_fault(), e.to_string())),
                    (Some(Ok(())), Ok(())) | (None, Ok(())) => None,
                };
                match failure {
                    // The writer logs a fault once, for the whole episode.
                    Some((true, e)) => {
                        tracing::debug!(error = %e, "store: a queued record was not written")
                    }
                    Some((false, e)) => {
                        tracing::error!(error = %e, "store: a queued record was not written")
                    }
                    None => {}
                }
            })
        });
        self.send(Work::Job(Job {
            run,
            durable: false,
        }))
    }

    /// Blocks until everything queued so far (detached records included) is committed, and
    /// says whether that commit succeeded. For tests and tools that read right after a
    /// decision; never on the async runtime's hot path.
    pub fn wait_for_writes(&self) -> Result<(), StoreError> {
        let (done_tx, done_rx) = mpsc::channel::<Result<(), StoreError>>();
        let run: JobFn = Box::new(move |_tx: Option<&mut Tx<'_>>| {
            Box::new(move |commit: Result<(), &StoreError>| {
                let _ = done_tx.send(commit.map_err(StoreError::for_caller));
            })
        });
        self.send(Work::Job(Job {
            run,
            durable: false,
        }))?;
        done_rx.recv().map_err(|_| StoreError::Closed)?
    }

    pub fn data_dir(&self) -> PathBuf {
        self.inner
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Runs `f` on a read transaction. Fails at once while the store is down, damaged or
    /// being checked. A damaged page met here makes the store damaged; an I/O error wakes the
    /// writer, which then finds the database failed and starts reopening it.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Reader) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.inner.shared.db()?;
        let r = match guard::mixed(|| {
            let txn = db.begin_read()?;
            f(&Reader { txn })
        }) {
            Ok(r) => r,
            Err(Caught::Redb(panic)) => Err(StoreError::Damaged(format!(
                "{}: {panic}",
                self.inner.path.display()
            ))),
            Err(Caught::Other(payload)) => std::panic::resume_unwind(payload),
        };
        drop(db);
        match &r {
            Err(StoreError::Damaged(why)) => {
                self.inner.shared.mark_damaged(why);
            }
            Err(StoreError::Unwritable(_)) => {
                // An empty commit: it fails on the latched error and the writer goes down.
                let _ = self.write_detached(|_| Ok(()));
            }
            _ => {}
        }
        r
    }
}

fn init_tables(db: &Database) -> Result<(u64, u64), StoreError> {
    let txn = db.begin_write()?;
    let ids = {
        let mut meta = txn.open_table(META)?;
        txn.open_table(USERS)?;
        txn.open_table(CHALLENGES)?;
        txn.open_table(TOTP_STEPS)?;
        txn.open_table(FACTOR_FAILURES)?;
        txn.open_table(AUTH_LOG)?;
        txn.open_table(CHANGELOG)?;
        txn.open_table(SYNC_APPROVALS)?;
        txn.open_table(SMS_LATEST)?;
        txn.open_table(PUSH_STATE)?;
        txn.open_table(PORTAL_SESSIONS)?;
        txn.open_table(RAFT_LOG)?;
        txn.open_table(RAFT_META)?;
        txn.open_table(RAFT_SNAPSHOT)?;
        txn.open_table(SIGNING_CLIENTS)?;
        txn.open_table(PEER_APPLIED)?;
        txn.open_table(TOTP_STEP_ORIGIN)?;
        txn.open_table(PEER_FAILURES)?;
        txn.open_table(PEER_PUSH)?;
        let existing = meta.get("node_id")?.map(|v| be_u64(v.value()));
        let node_id = match existing {
            Some(id) => id,
            None => {
                let mut b = [0u8; 8];
                getrandom::getrandom(&mut b).map_err(|e| StoreError::Setup(e.to_string()))?;
                let id = u64::from_be_bytes(b);
                meta.insert("node_id", id.to_be_bytes().as_slice())?;
                meta.insert("schema", 1u64.to_be_bytes().as_slice())?;
                id
            }
        };
        let seq = meta.get("seq")?.map(|v| be_u64(v.value())).unwrap_or(0);
        (node_id, seq)
    };
    txn.commit()?;
    Ok(ids)
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[8 - n..].copy_from_slice(&b[..n]);
    u64::from_be_bytes(a)
}
