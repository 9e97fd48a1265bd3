//! Helpers shared by the benchmarks: running radclient and reading the test peers' env files.
#![allow(dead_code)] // each bench uses a subset

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Accepted, rejected and lost counts from one `radclient -s` run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub accepted: u64,
    pub rejected: u64,
    pub lost: u64,
}

/// Sends every request in `file` with `radclient -p parallel` and returns its summary.
pub fn radclient(
    file: &Path,
    port: u16,
    parallel: usize,
    secret: &str,
    timeout_s: u32,
) -> anyhow::Result<Counts> {
    let out = Command::new("radclient")
        .args(["-q", "-s", "-r", "3", "-t", &timeout_s.to_string(), "-p"])
        .arg(parallel.to_string())
        .arg("-f")
        .arg(file)
        .arg(format!("127.0.0.1:{port}"))
        .args(["auth", secret])
        .stdin(Stdio::null())
        .output()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let count = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(Counts {
        accepted: count("Accepted"),
        rejected: count("Rejected"),
        lost: count("Lost"),
    })
}

/// The variables starting with `prefix` that `DIR/env` (written by the peer start scripts)
/// exports, read through bash so its quoting is honoured.
pub fn peer_env(dir: &Path, prefix: &str) -> anyhow::Result<HashMap<String, String>> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}/env' && env", dir.display()))
        .output()?;
    anyhow::ensure!(out.status.success(), "cannot read {}/env", dir.display());
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// Waits until a RADIUS server on 127.0.0.1:`port` answers Status-Server.
pub fn wait_ready(port: u16, secret: &str) -> anyhow::Result<()> {
    for _ in 0..100 {
        let ok = Command::new("radclient")
            .args(["-q", "-r", "1", "-t", "0.2"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["status", secret])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut c| {
                c.stdin
                    .take()
                    .map(|mut s| s.write_all(b"Message-Authenticator = 0x00\n"));
                c.wait()
            })
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("server on port {port} did not answer Status-Server")
}

pub fn stop(child: &mut Child) {
    // SIGTERM, so the server shuts down cleanly; kill if it does not.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A number from the environment, or `default`.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts `scripts/start-slapd.sh DIR USERS` (an AD-like slapd) and returns its `SLAPD_*`
/// variables.
pub fn start_slapd(
    repo: &Path,
    dir: &Path,
    users: usize,
) -> anyhow::Result<HashMap<String, String>> {
    let ok = Command::new(repo.join("scripts/start-slapd.sh"))
        .arg(dir)
        .arg(users.to_string())
        .stdout(Stdio::null())
        .status()?
        .success();
    anyhow::ensure!(ok, "start-slapd.sh failed");
    peer_env(dir, "SLAPD_")
}

/// The `[primary]` tables of a configuration whose directory is the slapd of `start_slapd`
/// (its bind password comes from `SLAPD_BIND_PASSWORD` in the gateway's environment).
pub fn slapd_primary(env: &HashMap<String, String>) -> String {
    let get = |k: &str| env.get(k).cloned().unwrap_or_default();
    format!(
        r#"[primary]
backend = "ad"
[primary.ad]
urls = ["{url}"]
ca_file = "{ca}"
base_dn = "{base}"
bind_dn = "{bind}"
bind_password_env = "SLAPD_BIND_PASSWORD"
user_filter = "{filter}"
"#,
        url = get("SLAPD_LDAPS_URL"),
        ca = get("SLAPD_CA_PEM"),
        base = get("SLAPD_BASE_DN"),
        bind = get("SLAPD_BIND_DN"),
        filter = get("SLAPD_USER_FILTER"),
    )
}

pub fn stop_slapd(repo: &Path, dir: &Path) {
    let _ = Command::new(repo.join("scripts/stop-slapd.sh"))
        .arg(dir)
        .arg("--clean")
        .stdout(Stdio::null())
        .status();
}
