//! The store under real faults, seen from outside: a full disk and a read-only remount
//! (data_dir on a tmpfs the test mounts, so these need root, as the suite has in CI), a
//! damaged database file (bytes flipped in it), and a seed key whose database is gone.
//! Logins go through pyrad; `store check`, `user list`, `serve`, `backup` and `restore`
//! run as the real binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::*;

const PRIMARY: &str =
    "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";

fn mfagate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mfagate"))
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
        "{test} mounts a tmpfs as data_dir to fill it and remount it read-only: run the \
         suite as root (as CI does)"
    );
}

/// A tmpfs mounted at `dir` for one test, unmounted when the test ends, also when it fails.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(test: &str, dir: &Path, size: &str) -> Tmpfs {
        require_root(test);
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .expect("cannot run mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            dir: dir.to_owned(),
        }
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
        let mut f = std::fs::File::create(&p).unwrap();
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
            // Still held (a gateway a failed test did not stop): detach it anyway.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).output();
        }
    }
}

/// One login of `user` (password and code appended) a TOTP period after the last one.
async fn login(gw: &Gateway, user: &str, seed: &[u8]) -> String {
    gw.clock.advance_ms(30_000);
    let pw = format!("{user}-password,{}", gw.code(seed, 0));
    let r = pap(gw, user, &pw, None).await;
    r["code"].as_str().unwrap_or("?").to_owned()
}

/// Logs in until a login goes unanswered: on a full disk, commits that fit into pages the
/// file already has still succeed (they are answered, rightly) until one needs a new page.
async fn login_until_unanswered(gw: &Gateway, user: &str, seed: &[u8]) -> usize {
    for answered in 0..300 {
        match login(gw, user, seed).await.as_str() {
            "timeout" => return answered,
            "Access-Accept" => {}
            other => panic!("{other} on a full disk"),
        }
    }
    panic!("300 logins on a full disk were all answered: the store never needed a new page");
}

/// Logins are decided again within `within`, without a restart.
async fn decided_again(gw: &Gateway, user: &str, seed: &[u8], within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let code = login(gw, user, seed).await;
        if code == "Access-Accept" {
            return started.elapsed();
        }
        assert_eq!(code, "timeout");
        assert!(
            started.elapsed() < within,
            "logins still unanswered {within:?} after the fault was fixed: {:?}",
            gw.store.health()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a readiness probe does: an empty write, which must fail quickly while the store
/// cannot write.
async fn empty_write_fails_fast(gw: &Gateway) -> String {
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(2), gw.store.write(|_| Ok(()))).await;
    let took = started.elapsed();
    let e = match r {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(())) => panic!("an empty write succeeded on a store that cannot write"),
        Err(_) => panic!("an empty write hung"),
    };
    assert!(took < Duration::from_millis(200), "refused after {took:?}");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_leaves_logins_unanswered_and_the_node_recovers_without_a_restart() {
    let dir = temp_dir("full-disk");
    let top = dir.clone();
    let fs = Tmpfs::mount("store_faults::full_disk", &dir.join("data"), "4m");
    let gw = start_config_in(dir, "otp_mode = \"append\"", "", PRIMARY, "").await;
    let seed = gw.add_user("fay", "fay-password").await;
    assert_eq!(login(&gw, "fay", &seed).await, "Access-Accept");

    let filler = fs.fill();
    let answered = login_until_unanswered(&gw, "fay", &seed).await;
    eprintln!("{answered} logins answered on the full disk before one needed a new page");
    for _ in 0..3 {
        assert_eq!(login(&gw, "fay", &seed).await, "timeout");
    }
    let health = gw.store.health().expect_err("healthy on a full disk");
    assert!(health.contains("No space left on device"), "{health}");
    let e = empty_write_fails_fast(&gw).await;
    assert!(e.contains("the store cannot write"), "{e}");
    assert!(!e.contains("writer has stopped"), "{e}");

    std::fs::remove_file(&filler).unwrap();
    let took = decided_again(&gw, "fay", &seed, Duration::from_secs(10)).await;
    eprintln!("logins decided again {took:?} after space was freed");
    assert!(gw.store.health().is_ok());
    gw.store.write(|_| Ok(())).await.unwrap();
    // And what was decided before the fault is still there.
    let accepted = gw
        .auth_log()
        .iter()
        .filter(|r| r.user == "fay" && r.result == mfagate::store::model::AuthResult::Accept)
        .count();
    assert!(accepted >= 2, "{accepted}");
    gw.stop_keep_dir().await;
    drop(fs);
    let _ = std::fs::remove_dir_all(&top);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_remount_leaves_logins_unanswered_until_the_file_system_is_writable_again() {
    let dir = temp_dir("read-only");
    let top = dir.clone();
    let fs = Tmpfs::mount("store_faults::read_only", &dir.join("data"), "4m");
    let gw = start_config_in(dir, "otp_mode = \"append\"", "", PRIMARY, "").await;
    let seed = gw.add_user("gus", "gus-password").await;
    assert_eq!(login(&gw, "gus", &seed).await, "Access-Accept");

    // Linux refuses `remount,ro` ("busy") while a file on it is open for writing, as the
    // store's is: the store lets go of its file once a write failed, so the disk is filled
    // first, and the remount goes through between two of the store's retries.
    let filler = fs.fill();
    login_until_unanswered(&gw, "gus", &seed).await;
    let until = Instant::now() + Duration::from_secs(10);
    while let Err(e) = fs.remount("ro") {
        assert!(Instant::now() < until, "remount,ro: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The store's next retry meets the read-only file system: still down, and it says why.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let h = gw.store.health().err().unwrap_or_default();
        if h.contains("Read-only file system") {
            break;
        }
        assert!(Instant::now() < until, "health never said read-only: {h:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(login(&gw, "gus", &seed).await, "timeout");
    empty_write_fails_fast(&gw).await;

    fs.remount("rw").unwrap();
    std::fs::remove_file(&filler).unwrap();
    let took = decided_again(&gw, "gus", &seed, Duration::from_secs(10)).await;
    eprintln!("logins decided again {took:?} after the remount rw");
    gw.stop_keep_dir().await;
    drop(fs);
    let _ = std::fs::remove_dir_all(&top);
}

/// A configuration for the CLI in `dir` (data in `dir/data`).
fn cli_config(dir: &Path) -> PathBuf {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join("mfagate.toml");
    std::fs::write(
        &path,
        format!(
            "node_name = \"sf\"\ndata_dir = \"{}\"\n[radius]\nlisten = [\"127.0.0.1:{port}\"]\n\
             [[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\n\
             {PRIMARY}",
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

fn cli(config: &Path, args: &[&str]) -> Command {
    let mut c = mfagate();
    c.args(args).arg("-c").arg(config);
    c
}

/// Runs `mfagate serve`, which must exit by itself (it refuses to start); returns
/// (success, stderr).
fn serve_must_exit(config: &Path) -> (bool, String) {
    let mut child = cli(config, &["serve"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (st.success(), err);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            panic!("mfagate serve started on a store it should refuse");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Flips every occurrence of `marker` in `file` (one is in the users table's page).
fn damage(file: &Path, marker: &str) {
    let mut b = std::fs::read(file).unwrap();
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
    // In place, as a failing disk would: the daemon may have the file open.
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.write_all(&b).unwrap();
    f.sync_all().unwrap();
}

fn assert_damaged(what: &str, ok: bool, out: &str, err: &str) {
    assert!(!ok, "{what} succeeded on a damaged store: {out}");
    assert!(
        err.contains("the store is damaged: ") && err.contains("restore from a backup"),
        "{what}: {err}"
    );
    for text in [out, err] {
        assert!(!text.contains("panicked"), "{what} panicked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_an_error_in_store_check_user_list_and_serve_never_a_panic() {
    let dir = temp_dir("damaged");
    let config = cli_config(&dir);
    for name in ["alice", "damaged-page-marker", "bob"] {
        let (ok, _, err) = run_with_stdin(
            cli(&config, &["user", "add", name, "--password-stdin"]),
            Some("pw\n"),
        )
        .await;
        assert!(ok, "{err}");
    }
    let (ok, out, err) = run(cli(&config, &["store", "check"])).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(": intact (") && out.contains("mfagate not running"),
        "{out}"
    );

    damage(&dir.join("data/mfagate.redb"), "damaged-page-marker");
    let (ok, out, err) = run(cli(&config, &["store", "check"])).await;
    assert_damaged("store check", ok, &out, &err);
    let (ok, out, err) = run(cli(&config, &["user", "list"])).await;
    assert_damaged("user list", ok, &out, &err);
    let (ok, err) = tokio::task::spawn_blocking({
        let config = config.clone();
        move || serve_must_exit(&config)
    })
    .await
    .unwrap();
    assert_damaged("serve", ok, "", &err);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_key_without_its_store_is_refused_with_an_explanation_and_a_restore_fills_it() {
    let dir = temp_dir("no-store");
    let config = cli_config(&dir);
    let (ok, _, err) = run_with_stdin(
        cli(&config, &["user", "add", "hal", "--password-stdin"]),
        Some("pw\n"),
    )
    .await;
    assert!(ok, "{err}");
    let backup = dir.join("backup.json");
    let (ok, _, err) = run(cli(&config, &["backup", backup.to_str().unwrap()])).await;
    assert!(ok, "{err}");

    std::fs::remove_file(dir.join("data/mfagate.redb")).unwrap();
    let explained = |what: &str, ok: bool, err: &str| {
        assert!(!ok, "{what} went ahead without a store");
        for part in [
            "holds seed.key but no store",
            "the database was deleted or the wrong data_dir is configured",
            "restore from a backup (mfagate restore FILE)",
            "remove seed.key to start empty",
        ] {
            assert!(err.contains(part), "{what}: {err}");
        }
    };
    let (ok, _, err) = run(cli(&config, &["user", "list"])).await;
    explained("user list", ok, &err);
    let (ok, _, err) = run(cli(&config, &["store", "check"])).await;
    explained("store check", ok, &err);
    let (ok, err) = tokio::task::spawn_blocking({
        let config = config.clone();
        move || serve_must_exit(&config)
    })
    .await
    .unwrap();
    explained("serve", ok, &err);
    assert!(
        !dir.join("data/mfagate.redb").exists(),
        "a refusal created an empty store"
    );

    let (ok, out, err) = run(cli(&config, &["restore", backup.to_str().unwrap()])).await;
    assert!(ok, "restore: {err}");
    assert!(out.contains("restored 1 users"), "{out}");
    let (ok, out, err) = run(cli(&config, &["user", "list"])).await;
    assert!(ok, "{err}");
    assert!(out.contains("hal"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_check_runs_in_the_daemon_and_damage_it_finds_makes_the_node_unready() {
    let gw = start("otp_mode = \"append\"").await;
    let seed = gw.add_user("ida", "ida-password").await;
    gw.add_user("live-damage-marker", "pw").await;
    assert_eq!(login(&gw, "ida", &seed).await, "Access-Accept");

    // With the daemon up, the CLI asks it (a second open of the file would wait for redb's
    // lock), and logins go on afterwards.
    let started = Instant::now();
    let (ok, out, err) = run(cli(&gw.config_path, &["store", "check"])).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(": intact (") && out.contains("by the running mfagate"),
        "{out}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(login(&gw, "ida", &seed).await, "Access-Accept");

    damage(&gw.cfg.data_dir.join("mfagate.redb"), "live-damage-marker");
    let (ok, out, err) = run(cli(&gw.config_path, &["store", "check"])).await;
    assert_damaged("store check (daemon)", ok, &out, &err);
    let h = gw.store.health().expect_err("healthy on a damaged store");
    assert!(h.starts_with("the store is damaged: "), "{h}");
    assert_eq!(login(&gw, "ida", &seed).await, "timeout");
    let e = empty_write_fails_fast(&gw).await;
    assert!(e.contains("the store is damaged"), "{e}");
    // The CLI says so too, through the daemon.
    let (ok, out, err) = run(cli(&gw.config_path, &["user", "list"])).await;
    assert_damaged("user list (daemon)", ok, &out, &err);
    gw.stop().await;
}

/// Whether a daemon answers a Status-Server within a second.
async fn status_server_answered(port: u16) -> bool {
    let r = pyrad(
        &format!("127.0.0.1:{port}"),
        SECRET,
        &["--status-server", "--timeout", "1", "--retries", "0"],
    )
    .await;
    r["code"] == "Access-Accept"
}

/// Watchdog pings seen in `during`.
fn pings(rx: &std::os::unix::net::UnixDatagram, during: Duration) -> usize {
    let until = Instant::now() + during;
    let mut n = 0;
    while Instant::now() < until {
        if crate::service::next(rx, Duration::from_millis(300)).as_deref() == Some("WATCHDOG=1") {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_serve_stops_readiness_status_server_and_the_watchdog_until_freed() {
    // The real daemon as systemd runs it: NOTIFY_SOCKET and WATCHDOG_USEC set, data_dir on a
    // small tmpfs, /readyz on the metrics port.
    let dir = temp_dir("full-disk-serve");
    let fs = Tmpfs::mount("store_faults::full_disk_serve", &dir.join("data"), "4m");
    let sock = dir.join("notify.sock");
    let rx = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    let (port, metrics) = (crate::service::free_udp_port(), {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    });
    let config = dir.join("mfagate.toml");
    std::fs::write(
        &config,
        format!(
            "node_name = \"df1\"\ndata_dir = \"{}\"\n[radius]\nlisten = [\"127.0.0.1:{port}\"]\n\
             [[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\n\
             {PRIMARY}\n[metrics]\nlisten = \"{metrics}\"\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = mfagate()
        .args(["serve", "-c"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &sock)
        .env("WATCHDOG_USEC", "600000")
        .env_remove("WATCHDOG_PID")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(Kill)
        .unwrap();
    let ready = crate::service::next(&rx, Duration::from_secs(15)).expect("no READY=1");
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    assert!(
        pings(&rx, Duration::from_millis(1200)) >= 2,
        "pings while healthy"
    );
    assert_eq!(crate::metrics::get(metrics, "/readyz").await.0, 200);

    // Fill the disk, then log in (wrong passwords: each reject waits for its record) until
    // the store needs a page it cannot get.
    let filler = fs.fill();
    let mut unanswered = false;
    for i in 0..300 {
        let r = pyrad(
            &format!("127.0.0.1:{port}"),
            SECRET,
            &[
                "--user",
                &format!("nobody{i}"),
                "--password",
                "x",
                "--timeout",
                "1",
                "--retries",
                "0",
            ],
        )
        .await;
        if r["code"] == "timeout" {
            unanswered = true;
            break;
        }
    }
    assert!(unanswered, "300 logins on a full disk were all answered");
    let (code, body) = readyz_within(metrics, 503, Duration::from_secs(5)).await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("store"), "{body}");
    assert!(
        !status_server_answered(port).await,
        "Status-Server answered while the store cannot write"
    );
    // Drain what was sent before the fault was noticed, then: no pings.
    let _ = pings(&rx, Duration::from_millis(700));
    assert_eq!(
        pings(&rx, Duration::from_millis(1500)),
        0,
        "watchdog pinged while the store cannot write"
    );

    // Space freed: ready again, Status-Server answered, pings again, logins decided.
    std::fs::remove_file(&filler).unwrap();
    let (code, body) = readyz_within(metrics, 200, Duration::from_secs(15)).await;
    assert_eq!(code, 200, "{body}");
    assert!(status_server_answered(port).await);
    assert!(
        pings(&rx, Duration::from_millis(1500)) >= 2,
        "pings once healthy again"
    );
    let r = pyrad(
        &format!("127.0.0.1:{port}"),
        SECRET,
        &["--user", "nobody", "--password", "x"],
    )
    .await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    drop(child);
    drop(fs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// /readyz until it answers `want` or `within` passes; the last answer.
async fn readyz_within(addr: std::net::SocketAddr, want: u16, within: Duration) -> (u16, String) {
    let until = Instant::now() + within;
    loop {
        let got = crate::metrics::get(addr, "/readyz").await;
        if got.0 == want || Instant::now() > until {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
