//! Helpers shared by the benchmarks: running radclient and reading the test peers' env files.
#![allow(dead_code)] // each bench uses a subset

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

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
