//! The writer thread, and the store's state as every thread sees it ([`Shared`]).
//!
//! redb latches the first I/O error of a database: every later write transaction fails with
//! `PreviousIo` ("close and re-open the database"), and reads that reach the file fail too. So
//! after an I/O error the writer fails its batch, drops the database and is *down*: work is
//! refused at once (a login then goes unanswered rather than waiting), and every
//! [`RETRY_EVERY`] the writer reopens the file (which runs redb's integrity check) and tries a
//! write that needs new pages. Once that commits it resumes. A damaged file is not retried: it
//! stays down until someone restores it.
//!
//! Replication counters across a reopen: `durable_seq` only ever announces what is on disk,
//! and the file's own `seq` after the reopen is the truth. Non-durable commits since the last
//! durable one (detached audit records) are gone, as after a crash, and their numbers are used
//! again, which is safe because they were never announced. The failed commit itself may have
//! reached the disk after all (redb: "may already have become durable"); then the reopened
//! file holds it and it is announced now. A reopened file that holds less than was announced
//! has lost committed changes: that is damage.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase};
use tokio::sync::{oneshot, watch};

use super::guard::{self, Caught};
use super::tables::META;
use super::{
    be_u64, open_db, CheckReport, OpenFault, StoreError, Tx, DETACHED_DURABLE_WITHIN, MAX_BATCH,
    RETRY_EVERY,
};

pub(super) type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

/// A job runs in the writer's transaction (`Some`), or not at all (`None`: the store cannot
/// take it), and returns what to do once the fate of the commit is known.
pub(super) type JobFn = Box<dyn for<'a, 'b> FnOnce(Option<&'b mut Tx<'a>>) -> Completion + Send>;

/// Work for the writer; `durable`: the caller waits for it to be on disk.
pub(super) struct Job {
    pub(super) run: JobFn,
    pub(super) durable: bool,
}

impl Job {
    fn fail(self, e: &StoreError) {
        (self.run)(None)(Err(e));
    }
}

pub(super) enum Work {
    Job(Job),
    /// redb's integrity check on the open database (`mfagate store check` with the daemon up).
    Check(oneshot::Sender<Result<CheckReport, StoreError>>),
}

/// Bytes the recovery probe writes: more than a page, so that it needs pages the file may not
/// have yet, as a login's commit does.
const PROBE_BYTES: usize = 16 * 1024;
const PROBE_KEY: &str = "write_probe";

/// How long `store check` waits for reads in progress to finish before it says "busy".
const CHECK_WAITS_FOR_READS: Duration = Duration::from_secs(5);

pub(super) enum State {
    Open(Arc<Database>),
    /// Writes failed with an I/O error (the reason); the writer tries again.
    Down(String),
    /// The file is damaged (the reason); nothing is tried until it is restored.
    Damaged(String),
    /// `store check` has the database to itself.
    Checking,
    Closed,
}

/// The store's state, read by every caller and changed by the writer (and by a reader that
/// meets a damaged page).
pub(super) struct Shared {
    state: RwLock<State>,
}

impl Shared {
    pub(super) fn new(db: Arc<Database>) -> Self {
        Self {
            state: RwLock::new(State::Open(db)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one still holds a whole state.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the state; the old one is returned (and with it, maybe, the last handle).
    pub(super) fn set(&self, s: State) -> State {
        let mut g = self.state.write().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *g, s)
    }

    /// The open database, for a read.
    pub(super) fn db(&self) -> Result<Arc<Database>, StoreError> {
        match &*self.read() {
            State::Open(db) => Ok(db.clone()),
            State::Checking => Err(StoreError::Busy(
                "redb's integrity check (mfagate store check) is running".into(),
            )),
            other => Err(state_error(other)),
        }
    }

    /// Why work is refused at once, if it is: the store is down, damaged or closed.
    pub(super) fn refusal(&self) -> Option<StoreError> {
        match &*self.read() {
            State::Open(_) | State::Checking => None,
            other => Some(state_error(other)),
        }
    }

    pub(super) fn health(&self) -> Result<(), String> {
        self.refusal().map_or(Ok(()), |e| Err(e.to_string()))
    }

    fn is_damaged(&self) -> bool {
        matches!(&*self.read(), State::Damaged(_))
    }

    /// Marks the store damaged, logging it the first time (the first finding is kept: it is
    /// the one that names the damage).
    pub(super) fn mark_damaged(&self, why: &str) {
        let old = {
            let mut g = self.state.write().unwrap_or_else(|p| p.into_inner());
            if matches!(&*g, State::Damaged(_) | State::Closed) {
                return;
            }
            std::mem::replace(&mut *g, State::Damaged(why.to_owned()))
        };
        // The last handle, if this was it, closes outside the lock.
        drop(old);
        tracing::error!(
            error = why,
            "store: the database is damaged; logins are left unanswered. Stop mfagate and \
             restore a backup (mfagate restore FILE)"
        );
    }
}

fn state_error(s: &State) -> StoreError {
    match s {
        State::Down(why) => StoreError::Unwritable(why.clone()),
        State::Damaged(why) => StoreError::Damaged(why.clone()),
        State::Closed => StoreError::Closed,
        State::Open(_) | State::Checking => StoreError::Busy("the store is open".into()),
    }
}

pub(super) struct Writer {
    pub(super) shared: Arc<Shared>,
    pub(super) rx: mpsc::Receiver<Work>,
    pub(super) commits: Arc<watch::Sender<u64>>,
    pub(super) node_id: u64,
    pub(super) path: PathBuf,
    /// The writer's handle; `None` while down or damaged.
    pub(super) db: Option<Arc<Database>>,
    /// The last change-log sequence committed (durably or not).
    pub(super) seq: u64,
    pub(super) last_durable: Instant,
    pub(super) pending_non_durable: bool,
    /// A check that arrived while a batch was being gathered; it runs next.
    pub(super) stashed: Option<Work>,
    pub(super) down_since: Option<Instant>,
    pub(super) next_retry: Instant,
}

impl Writer {
    pub(super) fn run(mut self) {
        while let Some(work) = self.next() {
            match work {
                Work::Job(first) => self.batch(first),
                Work::Check(reply) => {
                    let r = self.check();
                    let _ = reply.send(r);
                }
            }
        }
        if self.db.is_some() && self.pending_non_durable {
            let _ = self.checkpoint();
        }
    }

    /// The next work for the open database. While the store is down, work is answered at once
    /// and the database is tried again in between. `None`: the store is being dropped.
    fn next(&mut self) -> Option<Work> {
        loop {
            if self.db.is_some() && self.shared.is_damaged() {
                // A reader met a damaged page: this handle is not used again.
                self.db = None;
            }
            if let Some(w) = self.stashed.take() {
                if self.db.is_some() {
                    return Some(w);
                }
                self.refuse(w);
                continue;
            }
            if self.db.is_none() {
                let got = if self.shared.is_damaged() {
                    self.rx
                        .recv()
                        .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
                } else {
                    let left = self.next_retry.saturating_duration_since(Instant::now());
                    self.rx.recv_timeout(left)
                };
                match got {
                    Ok(w) => self.refuse(w),
                    Err(mpsc::RecvTimeoutError::Timeout) => self.reopen(),
                    Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                }
                continue;
            }
            let got = if self.pending_non_durable {
                let left = DETACHED_DURABLE_WITHIN.saturating_sub(self.last_durable.elapsed());
                self.rx.recv_timeout(left)
            } else {
                self.rx
                    .recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            };
            match got {
                Ok(w) => return Some(w),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.checkpoint();
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Answers work that arrived while the store cannot take it.
    fn refuse(&self, w: Work) {
        let e = self.shared.refusal().unwrap_or(StoreError::Closed);
        match w {
            Work::Job(j) => j.fail(&e),
            Work::Check(reply) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    fn durable_seq(&self) -> u64 {
        *self.commits.borrow()
    }

    fn announce(&self, seq: u64) {
        self.commits
            .send_if_modified(|s| std::mem::replace(s, seq) != seq);
    }

    fn batch(&mut self, first: Job) {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(Work::Job(j)) => jobs.push(j),
                Ok(w @ Work::Check(_)) => {
                    self.stashed = Some(w);
                    break;
                }
                Err(_) => break,
            }
        }
        let Some(db) = self.db.clone() else {
            for j in jobs {
                self.refuse(Work::Job(j));
            }
            return;
        };
        let durable = jobs.iter().any(|j| j.durable)
            || self.last_durable.elapsed() >= DETACHED_DURABLE_WITHIN;
        let start_seq = self.seq;
        let (result, completions, unrun, durable) = self.run_batch(&db, jobs, durable, start_seq);
        drop(db);
        match &result {
            Err(_) => self.seq = start_seq,
            Ok(()) => {
                // Only what is on disk is announced: a crash rolls back a non-durable tail,
                // and its sequence numbers are then used again, so a peer that had merged
                // that tail would skip the new entries as already seen.
                if durable {
                    self.announce(self.seq);
                    self.last_durable = Instant::now();
                    self.pending_non_durable = false;
                } else {
                    self.pending_non_durable = true;
                }
            }
        }
        // The store's state changes before anyone hears of the failure, so that a caller who
        // then asks `health` gets the same answer.
        if let Err(e) = &result {
            self.on_error(e);
        }
        for c in completions {
            c(result.as_ref().map(|_| ()));
        }
        if let Err(e) = &result {
            for j in unrun {
                j.fail(e);
            }
        }
    }

    /// Runs the jobs in one transaction and commits it. Returns the outcome, the completions
    /// of the jobs that ran, the jobs that did not (a job before them failed the batch), and
    /// whether the commit was durable.
    fn run_batch(
        &mut self,
        db: &Database,
        jobs: Vec<Job>,
        durable: bool,
        start_seq: u64,
    ) -> (Result<(), StoreError>, Vec<Completion>, Vec<Job>, bool) {
        let mut completions = Vec::with_capacity(jobs.len());
        let mut txn = match guard::redb_only(|| db.begin_write()) {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => return (Err(e.into()), completions, jobs, durable),
            Err(panic) => return (Err(StoreError::Damaged(panic)), completions, jobs, durable),
        };
        // If lowering durability is refused, the commit simply stays durable.
        let durable = durable || txn.set_durability(redb::Durability::None).is_err();
        let mut failure = None;
        let mut unrun = Vec::new();
        {
            let mut tx = Tx::new(&txn, self.node_id, &mut self.seq);
            let mut jobs = jobs.into_iter();
            for job in jobs.by_ref() {
                match guard::mixed(|| (job.run)(Some(&mut tx))) {
                    Ok(c) => completions.push(c),
                    Err(Caught::Redb(panic)) => failure = Some(StoreError::Damaged(panic)),
                    Err(Caught::Other(payload)) => {
                        // Our own bug, not the store's: the batch fails, the writer goes on.
                        let what = payload
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        failure = Some(StoreError::Commit(format!("a store job panicked: {what}")));
                    }
                }
                // A job that met a damaged page or a failed disk fails the whole batch: its
                // writes so far cannot be told apart from the others'.
                if let Some(f) = tx.fault.take() {
                    failure.get_or_insert(f);
                }
                if failure.is_some() {
                    break;
                }
            }
            unrun.extend(jobs);
        }
        if let Some(f) = failure {
            let _ = guard::redb_only(|| txn.abort());
            return (Err(f), completions, unrun, durable);
        }
        let seq = self.seq;
        let committed = guard::redb_only(|| -> Result<(), StoreError> {
            if seq != start_seq {
                txn.open_table(META)?
                    .insert("seq", seq.to_be_bytes().as_slice())?;
            }
            txn.commit()?;
            Ok(())
        });
        let result = match committed {
            Ok(Ok(())) => Ok(()),
            // Rolled back whole (a job's write failed part way): the database is fine.
            Ok(Err(StoreError::Db(redb::Error::TransactionPoisoned))) => Err(StoreError::Commit(
                "a write in the batch failed part way; the batch was rolled back".into(),
            )),
            Ok(Err(e)) if e.is_fault() => Err(e),
            // After any other failed commit redb refuses further write transactions until the
            // database is reopened: treat it as the disk failing.
            Ok(Err(e)) => Err(StoreError::Unwritable(format!("commit failed: {e}"))),
            Err(panic) => Err(StoreError::Damaged(panic)),
        };
        (result, completions, unrun, durable)
    }

    /// What a failed batch, checkpoint or check does to the store.
    fn on_error(&mut self, e: &StoreError) {
        match e {
            StoreError::Unwritable(why) => self.go_down(why),
            StoreError::Damaged(why) => self.go_damaged(why),
            StoreError::Busy(_) => {}
            other => tracing::error!(error = %other, "store: commit failed"),
        }
    }

    fn go_down(&mut self, why: &str) {
        self.db = None;
        self.next_retry = Instant::now() + RETRY_EVERY;
        // Changes committed without fsync since the last durable commit do not survive the
        // reopen (detached audit records only: everything else waits for a durable commit).
        let not_durable = self.seq.saturating_sub(self.durable_seq());
        let was = self.shared.set(State::Down(why.to_owned()));
        if matches!(was, State::Open(_) | State::Checking) {
            self.down_since = Some(Instant::now());
            tracing::error!(
                error = why,
                retry_every_s = RETRY_EVERY.as_secs(),
                lost_unsynced_changes = not_durable,
                "store: writes fail; logins are left unanswered until the store takes writes \
                 again (tried every few seconds, no restart needed)"
            );
        }
    }

    fn go_damaged(&mut self, why: &str) {
        self.db = None;
        self.shared.mark_damaged(why);
    }

    /// While down: reopens the database and, if a write that needs new pages commits,
    /// resumes.
    fn reopen(&mut self) {
        self.next_retry = Instant::now() + RETRY_EVERY;
        let outcome = match open_db(&self.path) {
            Ok(db) => self.resume(db),
            Err(f) => Err(f.at_reopen(&self.path)),
        };
        match outcome {
            Ok(()) => {}
            Err(StoreError::Damaged(why)) => self.go_damaged(&why),
            Err(e) => {
                // Still down: the reason is kept current (a full disk may have become a
                // read-only one) but not logged again.
                let why = match e {
                    StoreError::Unwritable(w) => w,
                    other => other.to_string(),
                };
                tracing::debug!(error = %why, "store: still cannot write");
                self.shared.set(State::Down(why));
            }
        }
    }

    fn resume(&mut self, db: Database) -> Result<(), StoreError> {
        let path = self.path.display().to_string();
        let ids = guard::redb_only(|| read_ids(&db))
            .map_err(|p| StoreError::Damaged(format!("{path}: {p}")))??;
        let (node_id, seq) = ids.ok_or_else(|| {
            StoreError::Damaged(format!("{path} no longer holds this node's tables"))
        })?;
        if node_id != self.node_id {
            return Err(StoreError::Damaged(format!(
                "{path} was replaced while mfagate ran (it is another node's store)"
            )));
        }
        let announced = self.durable_seq();
        if seq < announced {
            return Err(StoreError::Damaged(format!(
                "{path} lost committed changes: change {announced} was on disk, the file now \
                 ends at {seq}"
            )));
        }
        guard::redb_only(|| probe(&db))
            .map_err(|p| StoreError::Damaged(format!("{path}: {p}")))??;
        self.seq = seq;
        self.pending_non_durable = false;
        self.last_durable = Instant::now();
        // Logged before anyone can see the store up again.
        let down_for = self.down_since.take().map_or(0, |t| t.elapsed().as_secs());
        tracing::warn!(
            down_for_s = down_for,
            seq,
            "store: writes succeed again; deciding logins"
        );
        let db = Arc::new(db);
        self.db = Some(db.clone());
        self.shared.set(State::Open(db));
        self.announce(seq);
        Ok(())
    }

    /// Makes every commit so far durable (an empty durable commit persists them).
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        let Some(db) = self.db.clone() else {
            return Err(self.shared.refusal().unwrap_or(StoreError::Closed));
        };
        let r = match guard::redb_only(|| -> Result<(), StoreError> {
            db.begin_write()?.commit()?;
            Ok(())
        }) {
            Ok(r) => r,
            Err(panic) => Err(StoreError::Damaged(panic)),
        };
        drop(db);
        self.last_durable = Instant::now();
        self.pending_non_durable = false;
        match &r {
            Ok(()) => self.announce(self.seq),
            Err(e) => {
                tracing::debug!(error = %e, "store: durable checkpoint failed");
                self.on_error(e);
            }
        }
        r
    }

    /// redb's integrity check on the open database: it needs the handle to itself, so reads
    /// are refused ("busy") while it runs and writes wait for it.
    fn check(&mut self) -> Result<CheckReport, StoreError> {
        let started = Instant::now();
        // Nothing non-durable may be pending: the check would make it durable or roll it
        // back behind the counters' back.
        self.checkpoint()?;
        let Some(arc) = self.db.take() else {
            return Err(self.shared.refusal().unwrap_or(StoreError::Closed));
        };
        self.shared.set(State::Checking);
        let mut db = match alone(arc) {
            Ok(db) => db,
            Err(arc) => {
                self.db = Some(arc.clone());
                self.shared.set(State::Open(arc));
                return Err(StoreError::Busy(
                    "a long read (a backup or a sync) holds the store; try again".into(),
                ));
            }
        };
        let path = self.path.display().to_string();
        let checked = match guard::redb_only(|| db.check_integrity()) {
            Err(panic) => Err(StoreError::Damaged(format!("{path}: {panic}"))),
            Ok(Err(redb::DatabaseError::TransactionInProgress)) => Err(StoreError::Busy(
                "a transaction is still open; try again".into(),
            )),
            Ok(Err(e)) => Err(OpenFault::from(e).at_reopen(&self.path)),
            Ok(Ok(clean)) => Ok(clean),
        };
        let clean = match checked {
            Ok(clean) => clean,
            Err(StoreError::Busy(why)) => {
                let db = Arc::new(db);
                self.db = Some(db.clone());
                self.shared.set(State::Open(db));
                return Err(StoreError::Busy(why));
            }
            Err(e) => {
                // A failed check leaves redb's allocator state discarded: the handle must be
                // reopened even when the error is not damage.
                drop(db);
                match &e {
                    StoreError::Damaged(why) => self.go_damaged(why),
                    StoreError::Unwritable(why) => self.go_down(why),
                    other => self.go_down(&other.to_string()),
                }
                return Err(e);
            }
        };
        // A repair may roll back: what was announced must still be there.
        let ids = match guard::redb_only(|| read_ids(&db)) {
            Ok(Ok(Some(ids))) => Ok(ids),
            Ok(Ok(None)) => Err(StoreError::Damaged(format!(
                "{path} no longer holds this node's tables"
            ))),
            Ok(Err(e)) => Err(e),
            Err(panic) => Err(StoreError::Damaged(format!("{path}: {panic}"))),
        };
        let lost = match ids {
            Ok((_, seq)) if seq < self.durable_seq() => Some(StoreError::Damaged(format!(
                "{path}: redb's repair rolled back committed changes (to {seq}, after {} was \
                 on disk)",
                self.durable_seq()
            ))),
            Ok((_, seq)) => {
                self.seq = seq;
                None
            }
            Err(e) => Some(e),
        };
        if let Some(e) = lost {
            drop(db);
            self.on_error(&e);
            return Err(e);
        }
        let db = Arc::new(db);
        self.db = Some(db.clone());
        self.shared.set(State::Open(db));
        Ok(CheckReport {
            file: path,
            bytes: std::fs::metadata(&self.path).map_or(0, |m| m.len()),
            repaired: !clean,
            took_ms: started.elapsed().as_millis() as u64,
            by_daemon: true,
        })
    }
}

/// The database once no reader holds it any more, or back after [`CHECK_WAITS_FOR_READS`].
fn alone(mut arc: Arc<Database>) -> Result<Database, Arc<Database>> {
    let until = Instant::now() + CHECK_WAITS_FOR_READS;
    loop {
        match Arc::try_unwrap(arc) {
            Ok(db) => return Ok(db),
            Err(a) if Instant::now() >= until => return Err(a),
            Err(a) => {
                arc = a;
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// This store's node id and change-log sequence, if the file holds the store's tables.
pub(super) fn read_ids(db: &Database) -> Result<Option<(u64, u64)>, StoreError> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(node_id) = meta.get("node_id")?.map(|v| be_u64(v.value())) else {
        return Ok(None);
    };
    let seq = meta.get("seq")?.map(|v| be_u64(v.value())).unwrap_or(0);
    Ok(Some((node_id, seq)))
}

/// A write that needs new pages, as a login's does. Reopening alone proves little: on a full
/// disk it succeeds (it rewrites pages the file already has), and so does an empty commit.
fn probe(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    txn.open_table(META)?
        .insert(PROBE_KEY, [0u8; PROBE_BYTES].as_slice())?;
    txn.commit()?;
    let txn = db.begin_write()?;
    txn.open_table(META)?.remove(PROBE_KEY)?;
    txn.commit()?;
    Ok(())
}
