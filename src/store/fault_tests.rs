//! The store under real faults: a full disk and a read-only remount (a tmpfs mounted for the
//! test: these need root, as the suite has in CI), a damaged file (bytes flipped in it), and
//! a seed key whose database is gone.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::ReadableDatabase;

use super::guard::{self, Caught};
use super::model::{AuthResult, Change};
use super::testing::auth_record;
use super::*;

/// One fault test at a time. tracing caches whether a log line is wanted when it is first
/// logged: with a single test subscriber alive, it asks the logging thread's subscriber, so a
/// line first logged by another test's writer (which has none) would stay unwanted and the
/// log-counting test would miss it. (Also: two tests filling disks at once are slow.)
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn ok<T>(r: Result<T, StoreError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mfagate-faults-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    ok(std::fs::create_dir_all(&d).map_err(|e| StoreError::Setup(e.to_string())));
    d
}

/// Mounting needs root; say so plainly rather than fail on `mount`'s message.
fn require_root(test: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    assert_eq!(
        uid, "0",
        "{test} mounts a tmpfs to fill it and remount it read-only: run it as root (the \
         suite runs as root in CI)"
    );
}

/// A tmpfs mounted for one test, unmounted when the test ends, also when it fails.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(test: &str, size: &str) -> Tmpfs {
        require_root(test);
        let dir = std::env::temp_dir().join(format!("mfagate-tmpfs-{}-{test}", std::process::id()));
        let _ = Command::new("umount").arg("-l").arg(&dir).output();
        let _ = std::fs::remove_dir_all(&dir);
        ok(std::fs::create_dir_all(&dir).map_err(|e| StoreError::Setup(e.to_string())));
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
        assert!(
            out.status.success(),
            "mount -t tmpfs {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn remount(&self, opts: &str) -> Result<(), String> {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.dir)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Fills the file system; returns the filler's path.
    fn fill(&self) -> PathBuf {
        let p = self.dir.join("filler");
        let mut f = std::fs::File::create(&p).unwrap_or_else(|e| panic!("{e}"));
        for size in [64 * 1024, 512] {
            let chunk = vec![0xA5u8; size];
            while f.write(&chunk).is_ok_and(|n| n > 0) {}
        }
        p
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = self.remount("rw");
        let done = Command::new("umount")
            .arg(&self.dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !done {
            // Still held by a store a failed test did not drop: detach it anyway.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).output();
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Log lines of everything opened while it is set (the writer thread logs to the subscriber
/// of whoever opened the store).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        (logs.clone(), tracing::subscriber::set_default(sub))
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    }

    fn count(&self, what: &str) -> usize {
        self.text().lines().filter(|l| l.contains(what)).count()
    }
}

/// A write, and how long it took to be answered.
async fn timed_write(store: &Store, user: &str, step: u64) -> (Result<(), StoreError>, Duration) {
    let started = Instant::now();
    let user = user.to_owned();
    let r = store.write(move |tx| tx.set_totp_step(&user, step)).await;
    (r, started.elapsed())
}

async fn wait_healthy(store: &Store, within: Duration) -> Result<(), String> {
    let until = Instant::now() + within;
    loop {
        match store.health() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= until => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// This node's own change-log entries on disk, by sequence.
fn own_log(store: &Store) -> Vec<(u64, Change)> {
    let me = store.node_id();
    ok(store.read(|r| r.changes()))
        .into_iter()
        .filter(|((node, _), _)| *node == me)
        .map(|((_, seq), c)| (seq, c))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_at_once_logs_once_and_the_writer_recovers_by_itself() {
    let _serial = SERIAL.lock().await;
    let fs = Tmpfs::mount("full-disk", "4m");
    let (logs, _log_guard) = Logs::capture();
    let store = ok(Store::open(&fs.dir.join("data")));
    let mut announced = store.commits();
    let seen = Arc::new(Mutex::new(vec![store.durable_seq()]));
    let watcher = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while announced.changed().await.is_ok() {
                let v = *announced.borrow_and_update();
                if let Ok(mut s) = seen.lock() {
                    s.push(v);
                }
            }
        })
    };

    ok(timed_write(&store, "a", 1).await.0);
    let durable_before = store.durable_seq();
    let before = own_log(&store);
    assert_eq!(before.len() as u64, durable_before);
    // A record committed without fsync, not yet announced.
    ok(store.write_detached(|tx| tx.append_auth(&auth_record("n", "b", 5, AuthResult::Accept))));
    ok(store.wait_for_writes());

    let filler = fs.fill();
    // A write that needs new pages: small ones may still fit into pages the file has.
    let big = auth_record("n", &"c".repeat(512 * 1024), 6, AuthResult::Reject);
    let r = store
        .write(move |tx| {
            tx.set_totp_step("c", 3)?;
            tx.append_auth(&big)
        })
        .await;
    let e = r
        .err()
        .unwrap_or_else(|| panic!("a write on a full disk succeeded"));
    assert!(
        matches!(e, StoreError::Unwritable(_)),
        "{e} (not \"the writer has stopped\")"
    );
    assert!(e.to_string().contains("No space left on device"), "{e}");
    let health = store
        .health()
        .err()
        .unwrap_or_else(|| panic!("healthy on a full disk"));
    assert!(health.contains("the store cannot write"), "{health}");

    // While down, everything fails at once: no caller waits on the store (an empty write is
    // what a readiness probe commits).
    for i in 0..20 {
        let (r, took) = timed_write(&store, "d", 10 + i).await;
        assert!(matches!(r, Err(StoreError::Unwritable(_))), "{r:?}");
        assert!(
            took < Duration::from_millis(100),
            "a refused write took {took:?}"
        );
    }
    let started = Instant::now();
    assert!(matches!(
        store.write(|_| Ok(())).await,
        Err(StoreError::Unwritable(_))
    ));
    assert!(store.write_detached(|_| Ok(())).is_err());
    assert!(store.wait_for_writes().is_err());
    assert!(matches!(
        store.read(|r| r.user_count()),
        Err(StoreError::Unwritable(_))
    ));
    assert!(started.elapsed() < Duration::from_millis(100));

    // Retries while the disk stays full do not bring it back, nor log again.
    tokio::time::sleep(RETRY_EVERY * 2 + Duration::from_millis(500)).await;
    assert!(store.health().is_err(), "up again on a disk still full");
    assert_eq!(logs.count("store: writes fail"), 1, "logged once");

    ok(std::fs::remove_file(&filler).map_err(|e| StoreError::Setup(e.to_string())));
    let started = Instant::now();
    wait_healthy(&store, RETRY_EVERY * 3)
        .await
        .unwrap_or_else(|e| panic!("not back within {:?}: {e}", RETRY_EVERY * 3));
    eprintln!("writes back {:?} after space was freed", started.elapsed());
    ok(timed_write(&store, "e", 4).await.0);
    assert_eq!(
        logs.count("store: writes succeed again"),
        1,
        "{}",
        logs.text()
    );
    assert_eq!(logs.count("store: writes fail"), 1);

    // The counters: what was announced before is on disk as it was; the failed write is not;
    // the log is gapless and everything in it is announced, once.
    let after = own_log(&store);
    assert_eq!(after[..before.len()], before[..]);
    assert_eq!(ok(store.read(|r| r.totp_step("c"))), None);
    assert_eq!(ok(store.read(|r| r.totp_step("e"))), Some(4));
    let seqs: Vec<u64> = after.iter().map(|(s, _)| *s).collect();
    let expected: Vec<u64> = (1..=after.len() as u64).collect();
    assert_eq!(seqs, expected, "gapless");
    assert_eq!(store.durable_seq(), after.len() as u64);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "announced in order, never twice: {seen:?}"
    );
    assert!(seen.iter().all(|v| *v <= after.len() as u64), "{seen:?}");
    watcher.abort();
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_down_on_a_read_only_remount_comes_back_when_it_is_writable_again() {
    let _serial = SERIAL.lock().await;
    let fs = Tmpfs::mount("read-only", "4m");
    let store = ok(Store::open(&fs.dir.join("data")));
    ok(timed_write(&store, "a", 1).await.0);
    // A read-only remount is refused while a file is open for writing ("busy"): the store
    // lets go of its file once a write failed, so the disk is filled first.
    let filler = fs.fill();
    assert!(timed_write(&store, "b", 2).await.0.is_err());
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match fs.remount("ro") {
            Ok(()) => break,
            // A retry holds the file for a moment.
            Err(e) if Instant::now() < until => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("remount,ro: {e}"),
        }
    }
    // The next retry meets the read-only file system, and says so.
    let until = Instant::now() + RETRY_EVERY * 3;
    loop {
        let h = store.health().err().unwrap_or_default();
        if h.contains("Read-only file system") {
            break;
        }
        assert!(Instant::now() < until, "health never named it: {h:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(
        timed_write(&store, "c", 3).await.0,
        Err(StoreError::Unwritable(_))
    ));
    fs.remount("rw")
        .unwrap_or_else(|e| panic!("remount,rw: {e}"));
    ok(std::fs::remove_file(&filler).map_err(|e| StoreError::Setup(e.to_string())));
    wait_healthy(&store, RETRY_EVERY * 3)
        .await
        .unwrap_or_else(|e| panic!("not back: {e}"));
    ok(timed_write(&store, "d", 4).await.0);
    assert_eq!(ok(store.read(|r| r.totp_step("a"))), Some(1));
    drop(store);
}

/// Builds a store holding a user named `marker` and closes it; returns the database file.
async fn store_with_marker(dir: &Path, marker: &str) -> PathBuf {
    let store = ok(Store::open(dir));
    for name in ["alice", marker, "bob"] {
        let user = model::UserRecord {
            name: name.into(),
            enabled: true,
            version: 1,
            ..Default::default()
        };
        let key = model::user_key(name);
        ok(store.write(move |tx| tx.put_user(&key, &user)).await);
    }
    drop(store);
    dir.join(DB_FILE)
}

/// Flips every occurrence of `marker` in `file` (one is in the users table's page; the
/// change log and freed pages hold others).
fn damage(file: &Path, marker: &str) {
    let mut b = std::fs::read(file).unwrap_or_else(|e| panic!("{e}"));
    let m = marker.as_bytes();
    let mut flipped = 0;
    let mut i = 0;
    while let Some(at) = b[i..].windows(m.len()).position(|w| w == m) {
        for x in &mut b[i + at..i + at + m.len()] {
            *x ^= 0x5A;
        }
        flipped += 1;
        i += at + m.len();
    }
    assert!(flipped > 0, "{marker} is not in {}", file.display());
    std::fs::write(file, b).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_damaged_file_is_reported_as_damaged_by_open_and_check_never_a_panic() {
    let _serial = SERIAL.lock().await;
    let dir = temp("damaged");
    let file = store_with_marker(&dir, "damage-marker-user").await;
    let report = ok(Store::check_file(&dir));
    assert!(!report.repaired && !report.by_daemon, "{report:?}");
    damage(&file, "damage-marker-user");
    for e in [Store::open(&dir).err(), Store::check_file(&dir).err()] {
        let e = e.unwrap_or_else(|| panic!("a damaged store opened"));
        assert!(matches!(e, StoreError::Damaged(_)), "{e}");
        let text = e.to_string();
        assert!(text.starts_with("the store is damaged: "), "{text}");
        assert!(text.contains("restore from a backup"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where redb itself panics: a plain open (which trusts a cleanly closed file) and a read
/// over a page damaged in its structure. The guard makes that a message, and `Store::open`
/// (with redb's check) reports the same file as damaged without reaching the panic.
#[tokio::test]
async fn redb_s_own_panics_on_damaged_pages_are_caught_at_the_boundary() {
    let _serial = SERIAL.lock().await;
    let dir = temp("redb-panics");
    let file = store_with_marker(&dir, "alice").await;
    let pristine = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let mut caught = Vec::new();
    for page in 1..pristine.len() / 4096 {
        let mut b = pristine.clone();
        let at = page * 4096 + 100;
        if b[at..at + 8].iter().all(|x| *x == 0) {
            continue;
        }
        for x in &mut b[at..at + 8] {
            *x ^= 0xA5;
        }
        std::fs::write(&file, &b).unwrap_or_else(|e| panic!("{e}"));
        let plain = guard::mixed(|| -> Result<usize, String> {
            let db = Database::builder().open(&file).map_err(|e| e.to_string())?;
            let r = db.begin_read().map_err(|e| e.to_string())?;
            let mut n = 0;
            for row in r
                .open_table(USERS)
                .map_err(|e| e.to_string())?
                .iter()
                .map_err(|e| e.to_string())?
            {
                n += row.map_err(|e| e.to_string())?.1.value().len();
            }
            for row in r
                .open_table(CHANGELOG)
                .map_err(|e| e.to_string())?
                .iter()
                .map_err(|e| e.to_string())?
            {
                n += row.map_err(|e| e.to_string())?.1.value().len();
            }
            for row in r
                .open_table(META)
                .map_err(|e| e.to_string())?
                .iter()
                .map_err(|e| e.to_string())?
            {
                n += row.map_err(|e| e.to_string())?.1.value().len();
            }
            Ok(n)
        });
        match plain {
            Err(Caught::Redb(msg)) => caught.push((page, msg)),
            Err(Caught::Other(_)) => panic!("a redb panic was not recognised as redb's"),
            Ok(_) => {}
        }
        std::fs::write(&file, &b).unwrap_or_else(|e| panic!("{e}"));
        match Store::open(&dir) {
            // Damage outside the committed trees (a free page) is no damage.
            Ok(s) => drop(s),
            Err(e) => assert!(matches!(e, StoreError::Damaged(_)), "page {page}: {e}"),
        }
    }
    assert!(
        !caught.is_empty(),
        "no damaged page made redb panic: the guard was not exercised"
    );
    eprintln!(
        "redb panicked on {} damaged pages, e.g. {:?}",
        caught.len(),
        caught[0]
    );
    assert!(caught[0].1.contains("redb stopped on an inconsistency"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_check_runs_in_the_writer_and_damage_it_finds_makes_the_store_damaged() {
    let _serial = SERIAL.lock().await;
    let dir = temp("live-check");
    let file = store_with_marker(&dir, "live-marker-user").await;
    let store = ok(Store::open(&dir));
    ok(store.write_detached(|tx| tx.append_auth(&auth_record("n", "x", 5, AuthResult::Accept))));
    let report = ok(store.check().await);
    assert!(report.by_daemon && !report.repaired, "{report:?}");
    // The check made the queued record durable first, and announced it.
    assert_eq!(store.durable_seq(), own_log(&store).len() as u64);
    ok(timed_write(&store, "a", 1).await.0);
    assert!(store.health().is_ok());

    // Damage under the running store, found by the next check.
    damage(&file, "live-marker-user");
    let e = store
        .check()
        .await
        .err()
        .unwrap_or_else(|| panic!("the check missed the damage"));
    assert!(matches!(e, StoreError::Damaged(_)), "{e}");
    let h = store.health().err().unwrap_or_default();
    assert!(h.starts_with("the store is damaged: "), "{h}");
    let (r, took) = timed_write(&store, "b", 2).await;
    assert!(matches!(r, Err(StoreError::Damaged(_))), "{r:?}");
    assert!(took < Duration::from_millis(100));
    assert!(matches!(
        store.read(|r| r.user_count()),
        Err(StoreError::Damaged(_))
    ));
    // Not retried: a damaged file does not heal.
    tokio::time::sleep(RETRY_EVERY + Duration::from_millis(300)).await;
    assert!(store.health().is_err());
    drop(store);
    assert!(matches!(Store::open(&dir), Err(StoreError::Damaged(_))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_seed_key_without_its_store_is_refused_and_a_fresh_start_still_works() {
    let _serial = SERIAL.lock().await;
    let dir = temp("no-store");
    // A fresh data directory (missing, or empty as a package creates it) starts empty.
    let data = dir.join("data");
    let store = ok(Store::open(&data));
    assert!(data.join(KEY_FILE).exists() && data.join(DB_FILE).exists());
    ok(timed_write(&store, "a", 1).await.0);
    drop(store);
    ok(Store::open(&data).map(drop));

    let refused = |why: &str| {
        let e = Store::open(&data)
            .err()
            .unwrap_or_else(|| panic!("{why}: opened"));
        assert!(matches!(e, StoreError::NoStore(_)), "{why}: {e}");
        let text = e.to_string();
        for part in [
            "holds seed.key but no store",
            "the database was deleted or the wrong data_dir is configured",
            "restore from a backup",
            "remove seed.key to start empty",
            "TOTP seeds sealed with it will be unreadable",
        ] {
            assert!(text.contains(part), "{why}: {text}");
        }
    };
    let remove =
        |p: PathBuf| ok(std::fs::remove_file(p).map_err(|e| StoreError::Setup(e.to_string())));
    remove(data.join(DB_FILE));
    refused("database deleted");
    assert!(!data.join(DB_FILE).exists(), "the refusal created nothing");
    ok(std::fs::write(data.join(DB_FILE), b"").map_err(|e| StoreError::Setup(e.to_string())));
    refused("empty file");
    remove(data.join(DB_FILE));
    drop(ok(
        Database::create(data.join(DB_FILE)).map_err(StoreError::from)
    ));
    refused("a redb file without mfagate's tables");
    assert!(matches!(
        Store::check_file(&data),
        Err(StoreError::Damaged(_))
    ));
    remove(data.join(DB_FILE));
    assert!(matches!(
        Store::check_file(&data),
        Err(StoreError::NoStore(_))
    ));

    // What the message points to: a restore opens it (the backup's key then replaces seed.key).
    let restored = ok(Store::open_for_restore(&data));
    drop(restored);
    ok(Store::open(&data).map(drop));

    // A database without its key is a first start interrupted before the key was written.
    remove(data.join(KEY_FILE));
    ok(Store::open(&data).map(drop));
    assert!(data.join(KEY_FILE).exists());
    let _ = std::fs::remove_dir_all(&dir);
}
