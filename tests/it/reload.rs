//! Live reload: the config file read again in a running gateway (in-process through
//! `Running::reload`, which the SIGHUP handler calls, and by SIGHUP to a real `mfagate serve`).
//! What changes takes effect for new requests, what is in flight finishes as it started, a
//! bad file is refused with `check-config`'s message, and restart-only keys are named.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::duo::{duo_factor_tail, DuoFake};
use crate::harness::*;

const NEW_SECRET: &str = "reloaded-secret-5555555555";
const THIRD_SECRET: &str = "third-client-secret-77777777";

/// A gateway config: client "vpn" (127.0.0.1) with its secret in `vpn.secret`, then `rest`.
fn write_config(dir: &Path, listen: &str, rest: &str) -> PathBuf {
    let path = dir.join("mfagate.toml");
    let toml = format!(
        "node_name = \"rl\"\ndata_dir = \"{data}\"\n[radius]\nlisten = [\"{listen}\"]\n\n\
         [[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1/32\"\nsecret_file = \"{secret}\"\n\n\
         {rest}\n\
         [primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n",
        data = dir.join("data").display(),
        secret = dir.join("vpn.secret").display(),
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// The same file with `rest` and the `[factor]` tail (after `[primary]`).
fn write_config_tail(dir: &Path, rest: &str, tail: &str) -> PathBuf {
    let path = write_config(dir, "127.0.0.1:0", rest);
    let mut s = std::fs::read_to_string(&path).unwrap();
    s.push_str(tail);
    std::fs::write(&path, s).unwrap();
    path
}

async fn status(server: &str, secret: &str) -> String {
    let r = pyrad(
        server,
        secret,
        &["--status-server", "--timeout", "1", "--retries", "0"],
    )
    .await;
    r["code"].as_str().unwrap_or("?").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_takes_new_clients_and_secret_files_and_drops_the_old_secret() {
    let dir = temp_dir("reload-clients");
    std::fs::write(dir.join("vpn.secret"), format!("{SECRET}\n")).unwrap();
    let path = write_config(&dir, "127.0.0.1:0", "");
    let gw = start_from(dir.clone(), path).await;
    assert_eq!(status(&gw.server(), SECRET).await, "Access-Accept");
    // 127.0.0.3 is no client yet: dropped.
    assert_eq!(
        raw_pap(gw.addr, "127.0.0.3:0", THIRD_SECRET, "nobody", "pw", None).await,
        None
    );
    std::fs::write(dir.join("vpn.secret"), format!("{NEW_SECRET}\n")).unwrap();
    write_config(
        &dir,
        "127.0.0.1:0",
        &format!(
            "[[radius.clients]]\nname = \"third\"\naddress = \"127.0.0.3/32\"\nsecret = \"{THIRD_SECRET}\"\n"
        ),
    );
    let done = gw.reload().await.expect("reload applied");
    assert!(done.restart_needed.is_empty(), "{done:?}");
    assert_eq!(gw.radius.clients().names(), ["vpn", "third"]);
    assert_eq!(status(&gw.server(), NEW_SECRET).await, "Access-Accept");
    assert_eq!(status(&gw.server(), SECRET).await, "timeout");
    // The new client is answered (an unknown user is refused, but answered, under its secret).
    assert!(
        raw_pap(gw.addr, "127.0.0.3:0", THIRD_SECRET, "nobody", "pw", None)
            .await
            .is_some()
    );
    // A secret file that cannot be read refuses the whole reload; the running table stays.
    std::fs::remove_file(dir.join("vpn.secret")).unwrap();
    let err = gw.reload().await.expect_err("refused").to_string();
    assert!(err.contains("radius.clients[0].secret_file"), "{err}");
    assert_eq!(status(&gw.server(), NEW_SECRET).await, "Access-Accept");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_decides_the_next_login() {
    let gw = start("").await;
    gw.add_user("alice", "alice-password").await;
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let cfg = std::fs::read_to_string(&gw.config_path).unwrap();
    std::fs::write(
        &gw.config_path,
        format!(
            "{cfg}\n[[policy]]\nname = \"vpn closed\"\nclients = [\"vpn\"]\naction = \"deny\"\n"
        ),
    )
    .unwrap();
    gw.reload().await.expect("reload applied");
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    // The other client is untouched by the rule.
    assert_eq!(
        raw_pap(
            gw.addr,
            "127.0.0.2:0",
            OTHER_SECRET,
            "alice",
            "alice-password",
            None
        )
        .await,
        Some(mfagate::radius::codec::ACCESS_CHALLENGE)
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_fails_validation_is_refused_with_check_configs_message() {
    let gw = start("").await;
    let good = std::fs::read_to_string(&gw.config_path).unwrap();
    let bad = good.replace("max_failures = 5", "max_failures = 5\nno_such_key = 1");
    std::fs::write(&gw.config_path, &bad).unwrap();
    let err = gw.reload().await.expect_err("refused").to_string();
    let mut check = Command::new(env!("CARGO_BIN_EXE_mfagate"));
    check.args(["check-config", "-c"]).arg(&gw.config_path);
    let (ok, _, stderr) = run(check).await;
    assert!(!ok);
    assert!(err.contains("no_such_key"), "{err}");
    assert!(
        stderr.contains(&err),
        "check-config said {stderr:?}, reload {err:?}"
    );
    // A value that fails validation (not only parsing) is refused the same way.
    std::fs::write(
        &gw.config_path,
        good.replace("address = \"127.0.0.2/32\"", "address = \"not-an-address\""),
    )
    .unwrap();
    let err = gw.reload().await.expect_err("refused").to_string();
    assert!(err.contains("radius.clients[1]"), "{err}");
    // The running config stays: both clients are still served.
    assert_eq!(status(&gw.server(), SECRET).await, "Access-Accept");
    assert_eq!(gw.radius.clients().names(), ["vpn", "other"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_address_change_is_named_and_the_old_listener_keeps_serving() {
    let gw = start("").await;
    let cfg = std::fs::read_to_string(&gw.config_path).unwrap();
    std::fs::write(
        &gw.config_path,
        cfg.replace(
            "listen = [\"127.0.0.1:0\"]",
            "listen = [\"127.0.0.1:1\"]\nmax_in_flight = 7",
        ),
    )
    .unwrap();
    let done = gw.reload().await.expect("reload applied");
    assert_eq!(
        done.restart_needed,
        ["radius.listen", "radius.max_in_flight"],
        "{done:?}"
    );
    assert_eq!(status(&gw.server(), SECRET).await, "Access-Accept");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_in_flight_finishes_on_the_provider_it_started_with() {
    let fake = DuoFake::start(&serde_json::json!({"users": {
        "ivy": {"preauth": "auth", "push": "allow", "delay_ms": 3000}
    }, "fault": null}));
    let dir = temp_dir("reload-push");
    std::fs::write(dir.join("vpn.secret"), format!("{SECRET}\n")).unwrap();
    let tail = format!("\n[factor]\n{}", duo_factor_tail(&fake, 10));
    let path = write_config_tail(&dir, "", &tail);
    let gw = start_from(dir.clone(), path).await;
    gw.admin(mfagate::admin::Request::UserAdd {
        name: "ivy".into(),
        password: Some("pw-ivy".into()),
        method: Some(mfagate::config::Method::Push),
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
    let server = gw.server();
    let login = tokio::spawn(async move {
        pyrad(
            &server,
            SECRET,
            &[
                "--enforce-ma",
                "--user",
                "ivy",
                "--password",
                "pw-ivy",
                "--timeout",
                "10",
                "--retries",
                "0",
            ],
        )
        .await
    });
    // The push is on the phone; the provider now points nowhere.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let moved = tail.replace(
        &format!("http://127.0.0.1:{}", fake.port),
        "http://127.0.0.1:9",
    );
    write_config_tail(&dir, "", &moved);
    gw.reload().await.expect("reload applied");
    let r = login.await.unwrap();
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(fake.calls("/auth/v2/auth", "ivy"), 1);
    // The next login uses the new (unreachable) provider: no Accept.
    let r = pyrad(
        &gw.server(),
        SECRET,
        &[
            "--enforce-ma",
            "--user",
            "ivy",
            "--password",
            "pw-ivy",
            "--timeout",
            "6",
            "--retries",
            "0",
        ],
    )
    .await;
    assert_ne!(r["code"], "Access-Accept", "{r}");
    assert_eq!(fake.calls("/auth/v2/auth", "ivy"), 1);
    gw.stop().await;
}

fn next(rx: &UnixDatagram, wait: Duration) -> Option<String> {
    rx.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 512];
    rx.recv(&mut buf)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_running_daemon_between_reloading_and_ready() {
    let dir = temp_dir("reload-sighup");
    let sock = dir.join("notify.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    std::fs::write(dir.join("vpn.secret"), SECRET).unwrap();
    let config = write_config(&dir, &listen, "");
    let child = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["serve", "-c"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &sock)
        .env_remove("WATCHDOG_USEC")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = next(&rx, Duration::from_secs(15)).expect("no READY=1");
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    assert_eq!(
        raw_pap(
            listen.parse().unwrap(),
            "127.0.0.3:0",
            THIRD_SECRET,
            "x",
            "y",
            None
        )
        .await,
        None
    );
    // A new client, and the log level from info to warn.
    write_config(
        &dir,
        &listen,
        &format!(
            "[[radius.clients]]\nname = \"third\"\naddress = \"127.0.0.3/32\"\nsecret = \"{THIRD_SECRET}\"\n\n\
             [log]\nlevel = \"warn\"\n"
        ),
    );
    let hup = |pid: u32| {
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    };
    assert!(hup(child.id()));
    let first = next(&rx, Duration::from_secs(10)).expect("no RELOADING=1");
    assert_eq!(first, "RELOADING=1");
    let second = next(&rx, Duration::from_secs(10)).expect("no READY=1 after the reload");
    assert!(second.lines().any(|l| l == "READY=1"), "{second}");
    assert!(second.contains("reloaded"), "{second}");
    assert!(raw_pap(
        listen.parse().unwrap(),
        "127.0.0.3:0",
        THIRD_SECRET,
        "x",
        "y",
        None
    )
    .await
    .is_some());
    // A bad file: RELOADING=1, READY=1 saying it was refused, and the old clients serve.
    std::fs::write(&config, "node_name = 3\n").unwrap();
    assert!(hup(child.id()));
    assert_eq!(
        next(&rx, Duration::from_secs(10)).as_deref(),
        Some("RELOADING=1")
    );
    let refused = next(&rx, Duration::from_secs(10)).expect("no READY=1");
    assert!(
        refused.lines().any(|l| l == "READY=1") && refused.contains("refused"),
        "{refused}"
    );
    assert_eq!(status(&listen, SECRET).await, "Access-Accept");
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("reload refused"), "{log}");
    assert!(log.contains("node_name"), "{log}");
    // Info lines stopped with the first reload: its own start line is the last one.
    assert_eq!(
        log.matches("reload: reading the configuration again")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("mfagate started"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accounting_port_and_an_open_challenge_follow_a_reload() {
    let gw = start_with("", "accounting_listen = [\"127.0.0.1:0\"]").await;
    let acct = gw.acct_addr.expect("accounting port").to_string();
    let seed = gw.add_user("alice", "alice-password").await;
    let status_acct = |secret: &'static str| {
        let acct = acct.clone();
        async move { radclient(&acct, secret, "status", "Message-Authenticator = 0x00\n").await }
    };
    let (ok, out) = status_acct(SECRET).await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");
    assert!(
        acct_start(gw.acct_addr.expect("accounting port"), OTHER_SECRET)
            .await
            .is_some()
    );
    // A challenge opened before the reload ...
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let state = r["state"].as_str().expect("a State").to_owned();
    // ... then "other" gets a new secret on both ports ("vpn" keeps its own).
    let cfg = std::fs::read_to_string(&gw.config_path).unwrap();
    std::fs::write(&gw.config_path, cfg.replace(OTHER_SECRET, NEW_SECRET)).unwrap();
    gw.reload().await.expect("reload applied");
    // ... is answered with the code as before.
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let (ok, out) = status_acct(SECRET).await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");
    // 127.0.0.2 on the accounting port: the new secret only.
    let to = gw.acct_addr.expect("accounting port");
    assert!(acct_start(to, NEW_SECRET).await.is_some());
    assert_eq!(acct_start(to, OTHER_SECRET).await, None);
    // 127.0.0.2 on the authentication port: the new secret only.
    assert!(raw_pap(
        gw.addr,
        "127.0.0.2:0",
        NEW_SECRET,
        "alice",
        "alice-password",
        None
    )
    .await
    .is_some());
    assert_eq!(
        raw_pap(
            gw.addr,
            "127.0.0.2:0",
            OTHER_SECRET,
            "alice",
            "alice-password",
            None
        )
        .await,
        None
    );
    gw.stop().await;
}

/// An Accounting-Request (Start) from 127.0.0.2, signed with `secret`; the reply, if any.
async fn acct_start(to: std::net::SocketAddr, secret: &str) -> Option<Vec<u8>> {
    use mfagate::radius::codec::*;
    let mut a = Vec::new();
    push_attr(&mut a, ATTR_ACCT_STATUS_TYPE, &1u32.to_be_bytes());
    push_attr(&mut a, ATTR_ACCT_SESSION_ID, b"reload-1");
    push_attr(&mut a, ATTR_USER_NAME, b"alice");
    let req = encode_accounting_request(9, &a, secret.as_bytes(), false).unwrap();
    raw_exchange(to, "127.0.0.2:0", &req, Duration::from_secs(1)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_signs_stays_required_to_sign_after_a_reload() {
    let gw = start("require_message_authenticator = \"auto\"").await;
    gw.add_user("alice", "alice-password").await;
    let unsigned = [
        "--no-ma",
        "--user",
        "alice",
        "--password",
        "alice-password",
        "--retries",
        "0",
    ];
    let r = pyrad(&gw.server(), SECRET, &unsigned).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    gw.reload().await.expect("reload applied");
    let r = pyrad(&gw.server(), SECRET, &unsigned).await;
    assert_eq!(r["code"], "timeout", "{r}");
    gw.stop().await;
}
