//! Directory import at scale: `mfagate sync run` (the real binary, no daemon) imports 100,000
//! users from an OpenLDAP slapd with an AD-like schema (`scripts/start-slapd.sh`, loaded with
//! slapadd in seconds; Samba would take hours to seed this many), then runs again with nothing
//! to change. Prints wall time and the process's peak RSS (aim: < 60 s, < 150 MB).
//!
//! `cargo bench --bench ad_import` (as any user; `scripts/install-test-deps.sh` installs slapd).
//! `BENCH_IMPORT_USERS` changes the count.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let users: usize = common::env_num("BENCH_IMPORT_USERS", 100_000);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("mfagate-import-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let slapd_dir = work.join("slapd");
    let t = Instant::now();
    let env = common::start_slapd(repo, &slapd_dir, users)?;
    println!(
        "# slapd with {users} users ready in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let get = |k: &str| env.get(k).cloned().unwrap_or_default();

    let cfg = work.join("import.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"node_name = "bench"
data_dir = "{data}"
[log]
level = "warn"
{primary}[[sync]]
name = "people"
base_dn = "{people}"
interval = "24h"
max_disable = 5
"#,
            data = work.join("data").display(),
            primary = common::slapd_primary(&env),
            people = get("SLAPD_PEOPLE_OU"),
        ),
    )?;
    let result = (|| -> anyhow::Result<()> {
        for run in ["first import", "second run, nothing to change"] {
            let (secs, peak_mb, out) = timed_sync(&cfg, &get("SLAPD_BIND_PASSWORD"))?;
            let summary = out.lines().next().unwrap_or("").to_owned();
            println!(
                "mfagate sync run ({run}): {secs:.1}s, peak RSS {peak_mb:.0} MB   [{summary}]"
            );
        }
        Ok(())
    })();
    common::stop_slapd(repo, &slapd_dir);
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Runs `mfagate sync run`, sampling its peak RSS (VmHWM) until it exits.
fn timed_sync(cfg: &Path, bind_pw: &str) -> anyhow::Result<(f64, f64, String)> {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["sync", "run", "-c"])
        .arg(cfg)
        .env("SLAPD_BIND_PASSWORD", bind_pw)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0f64;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut o) = stdout {
            let _ = std::io::Read::read_to_string(&mut o, &mut s);
        }
        s
    });
    loop {
        if let Ok(st) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = st
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(status) = child.try_wait()? {
            anyhow::ensure!(status.success(), "mfagate sync run failed: {status}");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = t.elapsed().as_secs_f64();
    let out = reader.join().unwrap_or_default();
    Ok((secs, peak_kb / 1024.0, out))
}
