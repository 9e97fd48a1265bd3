//! The `mfagate` binary: check-config on every shipped and every invalid configuration, and
//! the user/report commands with and without a running daemon.

use std::path::Path;

use crate::harness::*;

fn mfagate() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_accepts_every_example_and_names_the_key_in_every_error() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples = 0;
    let windows = repo.join("windows/mfagate.toml");
    for p in std::fs::read_dir(repo.join("config"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .chain([windows])
    {
        if p.extension().is_some_and(|x| x == "toml") {
            let mut cmd = mfagate();
            cmd.arg("check-config").arg("-c").arg(&p);
            cmd.env("MFAGATE_VPN_SECRET", "an-example-secret-of-32-characters");
            cmd.env("MFAGATE_AD_BIND_PASSWORD", "an-example-bind-password");
            cmd.env("MFAGATE_SMS_TOKEN", "an-example-sms-gateway-token");
            cmd.env("MFAGATE_DUO_SKEY", "an-example-duo-secret-key");
            cmd.env("MFAGATE_PI_PASSWORD", "an-example-privacyidea-password");
            cmd.env("MFAGATE_NPS_SECRET", "an-example-nps-secret-of-32-chars");
            cmd.env("MFAGATE_RDG_SECRET", "an-example-rdg-secret-of-32-chars");
            let (ok, out, err) = run(cmd).await;
            assert!(ok, "{}: {err}", p.display());
            assert!(out.contains(": OK"), "{out}");
            examples += 1;
        }
    }
    assert!(examples >= 2);
    let mut invalid = 0;
    for e in std::fs::read_dir(repo.join("config/invalid")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks a '# expect: ' first line", p.display()));
        let mut cmd = mfagate();
        cmd.arg("check-config").arg("-c").arg(&p);
        let (ok, _, err) = run(cmd).await;
        assert!(!ok, "{} was accepted", p.display());
        assert!(
            err.contains(expect),
            "{}: expected {expect:?}, got {err:?}",
            p.display()
        );
        invalid += 1;
    }
    assert!(invalid >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_work_with_and_without_the_daemon() {
    let gw = start("").await;
    let cfg = gw.config_path.clone();
    let cli = |args: &[&str]| {
        let mut c = mfagate();
        c.args(args).arg("-c").arg(&cfg);
        c
    };
    let sock = gw.cfg.admin_socket_path();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let (ok, out, err) = run_with_stdin(
        cli(&["user", "add", "zoe", "--password-stdin"]),
        Some("zoe pass, with comma\n"),
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("zoe"), "{out}");
    let (ok, _, err) = run_with_stdin(
        cli(&["user", "add", "Zoe", "--password-stdin"]),
        Some("x\n"),
    )
    .await;
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, out, err) = run(cli(&["user", "enroll-totp", "zoe"])).await;
    assert!(ok, "{err}");
    let uri = out
        .lines()
        .find(|l| l.starts_with("otpauth://totp/"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        uri.starts_with("otpauth://totp/mfagate:zoe?secret="),
        "{uri}"
    );
    assert!(
        !out.contains('█'),
        "no QR code when stdout is not a terminal"
    );
    let seed = seed_from_uri(uri);

    // The daemon sees what the CLI wrote: a full login.
    let r = pap(&gw, "zoe", "zoe pass, with comma", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let r = pap(&gw, "zoe", &gw.code(&seed, 0), r["state"].as_str()).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");

    let (ok, out, _) = run(cli(&["user", "list"])).await;
    assert!(
        ok && out
            .lines()
            .any(|l| l.starts_with("zoe ") && l.contains("true")),
        "{out}"
    );
    let (ok, out, _) = run(cli(&["user", "show", "zoe"])).await;
    assert!(
        ok && out.contains("totp_enrolled  true") && out.contains("last_code_at"),
        "{out}"
    );
    // What the helpdesk asks about: where SMS codes go, where the user came from.
    for field in ["phone ", "email ", "display_name ", "source ", "dn "] {
        assert!(
            out.lines().any(|l| l.starts_with(field)),
            "{field} in {out}"
        );
    }
    // `user list` filters: by method, state and sync item.
    let (ok, _, err) = run_with_stdin(
        cli(&["user", "add", "tom", "--password-stdin"]),
        Some("tom-pass\n"),
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(cli(&["user", "set-phone", "tom", "+15550001234"])).await;
    assert!(ok, "{err}");
    let names = |out: &str| -> Vec<String> {
        out.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    let (_, out, _) = run(cli(&["user", "list", "--method", "totp"])).await;
    assert_eq!(names(&out).len(), 2, "{out}");
    let (_, out, _) = run(cli(&["user", "list", "--method", "sms"])).await;
    assert!(names(&out).is_empty(), "{out}");
    let (_, out, _) = run(cli(&["user", "list", "--state", "not-enrolled"])).await;
    assert_eq!(names(&out), ["tom"], "{out}");
    let (_, out, _) = run(cli(&["user", "list", "--source", ""])).await;
    assert_eq!(names(&out).len(), 2, "all added by hand: {out}");
    let (_, out, _) = run(cli(&["user", "list", "--source", "corp-ad"])).await;
    assert!(names(&out).is_empty(), "{out}");
    let (_, out, _) = run(cli(&["user", "show", "tom"])).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("phone") && l.contains("+15550001234")),
        "{out}"
    );
    assert!(run(cli(&["user", "delete", "tom"])).await.0);
    assert!(
        !out.contains("argon2") && !out.contains("ciphertext"),
        "no secrets in show: {out}"
    );

    let (ok, _, _) = run(cli(&["user", "disable", "zoe"])).await;
    assert!(ok);
    let r = pap(&gw, "zoe", "zoe pass, with comma", None).await;
    assert_eq!(r["code"], "Access-Reject");
    let (ok, _, _) = run(cli(&["user", "enable", "zoe"])).await;
    assert!(ok);
    let (ok, _, err) = run_with_stdin(
        cli(&["user", "set-password", "zoe", "--password-stdin"]),
        Some("new-zoe-pass\n"),
    )
    .await;
    assert!(ok, "{err}");
    let r = pap(&gw, "zoe", "new-zoe-pass", None).await;
    assert_eq!(r["code"], "Access-Challenge");
    let (ok, _, err) = run(cli(&["user", "unlock", "zoe"])).await;
    assert!(ok, "{err}");

    let (ok, out, _) = run(cli(&[
        "report",
        "auth",
        "--since",
        "2026-01-01",
        "--format",
        "csv",
    ]))
    .await;
    assert!(ok);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("time,node,user,client_name,client_ip,method,result,reason,policy,node_ip,display_name,email,phone")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{out}");
    assert!(
        rows[1].contains(",zoe,vpn,127.0.0.1,totp,accept,password and code accepted,"),
        "{out}"
    );
    assert!(
        rows[2].ends_with("reject,user disabled,,127.0.0.1,,,"),
        "{out}"
    );
    let (ok, out, _) = run(cli(&[
        "report",
        "auth",
        "--since",
        "2026-01-01",
        "--format",
        "json",
    ]))
    .await;
    assert!(ok);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["result"], "challenge");
    assert_eq!(first["time"], "2026-11-23T12:00:15.000Z");
    // Nothing secret reaches the report.
    assert!(!out.contains("zoe pass") && !out.contains(&gw.code(&seed, 0)));

    let (ok, _, err) = run(cli(&["user", "show", "nobody"])).await;
    assert!(!ok && err.contains("no user \"nobody\""), "{err}");
    let (ok, _, _) = run(cli(&["user", "delete", "zoe"])).await;
    assert!(ok);
    let r = pap(&gw, "zoe", "new-zoe-pass", None).await;
    assert_eq!(r["code"], "Access-Reject");

    // Without the daemon the CLI opens the store itself.
    let dir = gw.dir.clone();
    gw.stop_keep_dir().await;
    assert!(!sock.exists() || std::os::unix::net::UnixStream::connect(&sock).is_err());
    let (ok, _, err) = run_with_stdin(
        cli(&["user", "add", "yan", "--password-stdin"]),
        Some("yan-password\n"),
    )
    .await;
    assert!(ok, "{err}");
    let (ok, out, _) = run(cli(&["user", "list"])).await;
    assert!(ok && out.contains("yan ") && !out.contains("zoe "), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The README's quick start, with the port and data directory moved: `serve` creates the
/// secret file owner-only, answers, logs no secret even at debug level, and stops on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_serve_binary_runs_and_stops_cleanly() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = temp_dir("serve");
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let data = dir.join("data");
    let quick = std::fs::read_to_string(repo.join("config/quickstart.toml")).unwrap();
    let cfg_text = quick
        .replace("127.0.0.1:1812", &format!("127.0.0.1:{port}"))
        .replace("\"./data\"", &format!("\"{}\"", data.display()))
        .replace(
            "./data/quickstart-radius.secret",
            &data.join("radius.secret").display().to_string(),
        )
        .replace("[factor]", "[log]\nlevel = \"debug\"\n\n[factor]");
    assert!(cfg_text.contains(&format!("127.0.0.1:{port}")));
    let cfg = dir.join("quick.toml");
    std::fs::write(&cfg, cfg_text).unwrap();

    // A file, not a pipe: nobody reads a pipe while the test runs, and a full one blocks logging.
    let log_path = dir.join("serve.log");
    let mut child = KillOnDrop(Some(
        mfagate()
            .args(["serve", "-c"])
            .arg(&cfg)
            .stdin(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    ));
    let pid = child.0.as_ref().unwrap().id();
    let secret_path = data.join("radius.secret");
    // Generous: the whole suite runs in parallel on 2 cores. The admin socket is bound before
    // the secret file is made, so wait for both.
    for _ in 0..600 {
        if data.join("admin.sock").exists() && secret_path.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        data.join("admin.sock").exists(),
        "the daemon did not start within 30 s; its log:\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&secret_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let secret = std::fs::read_to_string(&secret_path)
        .unwrap()
        .trim()
        .to_owned();
    assert!(secret.len() >= 32);

    let cli = |args: &[&str]| {
        let mut c = mfagate();
        c.args(args).arg("-c").arg(&cfg);
        c
    };
    let (ok, _, err) = run_with_stdin(
        cli(&["user", "add", "kim", "--password-stdin"]),
        Some("kim-secret-pw\n"),
    )
    .await;
    assert!(ok, "{err}");
    let (_, out, _) = run(cli(&["user", "enroll-totp", "kim"])).await;
    let seed = seed_from_uri(out.lines().next().unwrap());
    let server = format!("127.0.0.1:{port}");
    let r = pyrad(
        &server,
        &secret,
        &[
            "--enforce-ma",
            "--user",
            "kim",
            "--password",
            "kim-secret-pw",
        ],
    )
    .await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let now = mfagate::clock::Clock::now_ms(&mfagate::clock::SystemClock);
    let tcfg = mfagate::config::TotpConfig {
        issuer: "mfagate".into(),
        digits: 6,
        period_secs: 30,
        skew_steps: 1,
    };
    let code =
        mfagate::factor::totp::code_at(&seed, mfagate::factor::totp::step_at(now, &tcfg), &tcfg);
    let r = pyrad(
        &server,
        &secret,
        &[
            "--enforce-ma",
            "--user",
            "kim",
            "--password",
            &code,
            "--state",
            r["state"].as_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(r["code"], "Access-Accept", "{r}");

    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let mut inner = child.0.take().unwrap();
    let status = tokio::task::spawn_blocking(move || inner.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit on SIGTERM: {status:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("authentication decision"), "{log}");
    assert!(log.contains("result=\"accept\""), "{log}");
    for secret_text in [secret.as_str(), "kim-secret-pw", code.as_str()] {
        assert!(
            !log.contains(secret_text),
            "a secret reached the log: {secret_text}"
        );
    }
    assert!(
        !data.join("admin.sock").exists(),
        "admin socket removed on shutdown"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Kills the daemon if the test fails before stopping it, so no server outlives the run.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tcp_admin_transport_needs_the_token_file() {
    // What Windows uses (no Unix sockets there): a loopback port and an owner-only token.
    let gw = start_config("", "", "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n", "[admin]\ntransport = \"tcp\"\n").await;
    let (addr_file, token_file) = (
        gw.cfg.data_dir.join("admin.addr"),
        gw.cfg.data_dir.join("admin.token"),
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!gw.cfg.admin_socket_path().exists());
    let addr: std::net::SocketAddr = std::fs::read_to_string(&addr_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(addr.ip().is_loopback());

    // The CLI goes through the daemon (it holds the store's lock, so nothing else could write).
    let cli = |args: &[&str]| {
        let mut c = mfagate();
        c.args(args).arg("-c").arg(&gw.config_path);
        c
    };
    let (ok, out, err) = run(cli(&["user", "add", "tara"])).await;
    assert!(ok, "{out}{err}");
    assert!(gw.store.read(|r| r.user("tara")).unwrap().is_some());
    let (ok, out, _) = run(cli(&["doctor"])).await;
    assert!(
        out.contains("[ ok ] daemon: running; admin port in"),
        "{ok} {out}"
    );

    // A client without the token gets no answer, and the daemon goes on serving.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"not-the-token\n{\"cmd\":\"user_list\"}\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        s.read_to_end(&mut answer),
    )
    .await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let (ok, out, err) = run(cli(&["user", "list"])).await;
    assert!(ok && out.contains("tara"), "{out}{err}");

    // After a stop, the files are gone and the CLI opens the store itself.
    let config_path = gw.config_path.clone();
    let data_dir = gw.cfg.data_dir.clone();
    gw.stop_keep_dir().await;
    assert!(!addr_file.exists() && !token_file.exists());
    let mut c = mfagate();
    c.args(["user", "list", "-c"]).arg(&config_path);
    let (ok, out, err) = run(c).await;
    assert!(ok && out.contains("tara"), "{out}{err}");
    let _ = std::fs::remove_dir_all(data_dir.parent().unwrap());
}
