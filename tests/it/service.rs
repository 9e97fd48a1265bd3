//! `mfagate serve` under a service manager: systemd's notification protocol spoken to a
//! socket the test binds as systemd would (`$NOTIFY_SOCKET`, `$WATCHDOG_USEC`), and the unit
//! file in `systemd/` checked by `systemd-analyze` itself.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The next notification, or `None` after `wait`.
pub fn next(rx: &UnixDatagram, wait: Duration) -> Option<String> {
    rx.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 512];
    rx.recv(&mut buf)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_tells_systemd_when_ready_pings_the_watchdog_and_says_when_stopping() {
    let dir = temp_dir("sd-notify");
    let sock = dir.join("notify.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let port = free_udp_port();
    let config = dir.join("mfagate.toml");
    std::fs::write(
        &config,
        format!(
            "node_name = \"sd1\"\ndata_dir = \"{}\"\n[radius]\nlisten = [\"127.0.0.1:{port}\"]\n\
             [[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\n\
             [primary]\nbackend = \"local\"\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["serve", "-c"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &sock)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = next(&rx, Duration::from_secs(15)).expect("no READY=1");
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    assert!(
        ready.contains(&format!("MAINPID={}", child.id())),
        "{ready}"
    );
    // Ready means listening: a Status-Server sent right now is answered.
    let r = pyrad(
        &format!("127.0.0.1:{port}"),
        SECRET,
        &["--status-server", "--timeout", "1", "--retries", "0"],
    )
    .await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    // WatchdogSec=0.4 s: a ping every 0.2 s while healthy.
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        if next(&rx, Duration::from_millis(500)).as_deref() == Some("WATCHDOG=1") {
            pings += 1;
        }
    }
    assert!(pings >= 3, "{pings} watchdog pings in 1.5 s");
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut said = Vec::new();
    while let Some(m) = next(&rx, Duration::from_secs(5)) {
        said.push(m.clone());
        if m == "STOPPING=1" {
            break;
        }
    }
    assert!(said.iter().any(|m| m == "STOPPING=1"), "{said:?}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    eprintln!("READY after {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `systemd-analyze verify` accepts the unit (with ExecStart pointed at the binary just
/// built, since `verify` checks it exists) and `systemd-analyze security` rates it "OK" or
/// better; the score is printed.
#[test]
fn the_systemd_unit_verifies_and_is_rated_ok_or_better() {
    let unit = std::fs::read_to_string(repo().join("systemd/mfagate.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/mfagate serve"));
    let dir = temp_dir("sd-unit");
    let path = dir.join("mfagate.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/mfagate", env!("CARGO_BIN_EXE_mfagate")),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (package systemd) is needed");
    let complaints = String::from_utf8_lossy(&verify.stderr);
    let ours: Vec<&str> = complaints
        .lines()
        .filter(|l| l.contains("mfagate"))
        .collect();
    assert!(
        verify.status.success() && ours.is_empty(),
        "systemd-analyze verify: {complaints}"
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&security.stdout);
    let overall = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall score in\n{out}"))
        .to_owned();
    eprintln!("systemd-analyze security: {overall}");
    assert!(
        overall.contains(" OK") || overall.contains(" SAFE"),
        "{overall}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windows_service_definition_runs_what_the_binary_offers() {
    // Nothing here runs Windows: what can be checked is that WinSW's definition is
    // well-formed and starts the command line this binary accepts, stopping it the way
    // mfagate stops cleanly (Ctrl+C, with time to finish), and that the installer checks the
    // configuration before it touches the service.
    let xml = repo().join("windows/mfagate-service.xml");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c")
        .arg(
            "import json,sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); \
             print(json.dumps({c.tag: (c.text or '').strip() for c in r} | \
             {'onfailure': [f.get('action') for f in r.findall('onfailure')], \
              'log': r.find('log').get('mode'), 'account': r.find('serviceaccount/username').text}))",
        )
        .arg(&xml);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["id"], "mfagate");
    assert!(
        v["executable"].as_str().unwrap().ends_with("\\mfagate.exe"),
        "{v}"
    );
    let args = v["arguments"].as_str().unwrap();
    assert!(args.starts_with("serve -c "), "{v}");
    assert_eq!(
        v["onfailure"],
        serde_json::json!(["restart", "restart", "restart"])
    );
    assert_eq!(v["log"], "roll-by-size");
    assert_eq!(v["account"], "NT AUTHORITY\\LocalService");
    assert!(v["stoptimeout"].as_str().unwrap().starts_with("30"), "{v}");
    // The arguments are this binary's: `serve -c FILE` parses (it fails only on the file).
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    serve.args(["serve", "-c", "/nonexistent/mfagate.toml"]);
    let (ok, _, err) = run(serve).await;
    assert!(
        !ok && err.contains("/nonexistent/mfagate.toml") && !err.contains("unexpected argument"),
        "{err}"
    );
    let install = std::fs::read_to_string(repo().join("windows/install.ps1")).unwrap();
    let check = install.find("check-config").unwrap();
    assert!(
        check < install.find("& $service install").unwrap(),
        "config checked first"
    );
    assert!(
        install.contains("/inheritance:r"),
        "the data directory is not left readable by Users"
    );
}
