//! Helpers shared by the benchmarks: running radclient (or the paced client of `paced`) and
//! reading the test peers' env files.
#![allow(dead_code)] // each bench uses a subset

pub mod paced;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfagate::clock::{Clock, SystemClock};
use mfagate::config::{Config, LocalPrimaryConfig, Method};
use mfagate::factor::totp;
use mfagate::primary::local::hash_password;
use mfagate::store::model::{user_key, UserRecord};
use mfagate::store::Store;

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

pub struct Load {
    pub rate: f64,
    pub accepted: u64,
    pub rejected: u64,
    pub lost: u64,
    pub cpu_us_per_req: f64,
    pub peak_rss_mb: f64,
    /// Seconds the radclient runs took, end to end.
    pub wall_s: f64,
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>8.0} accepts/s  accepted={} rejected={} lost={}  server {:.0} us CPU/request, peak RSS {:.0} MB",
            self.rate, self.accepted, self.rejected, self.lost, self.cpu_us_per_req, self.peak_rss_mb
        )
    }
}

/// Seeds `n` users `user000001`… with password `pass000001`… and a fresh TOTP seed each.
pub fn seed_users(
    cfg: &Config,
    n: usize,
    hash: &LocalPrimaryConfig,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let store = Store::open(&cfg.data_dir)?;
    let t = Instant::now();
    let now = SystemClock.now_ms();
    let mut seeds = Vec::with_capacity(n);
    let mut batch = Vec::new();
    for i in 1..=n {
        let name = format!("user{i:06}");
        let key = user_key(&name);
        let seed = totp::generate_seed()?.to_vec();
        let user = UserRecord {
            name,
            enabled: true,
            method: Method::Totp,
            password_hash: Some(hash_password(hash, &format!("pass{i:06}"))?),
            totp: Some(store.sealer().seal(&seed, &key)?),
            created_ms: now,
            updated_ms: now,
            version: 1,
            ..Default::default()
        };
        seeds.push(seed);
        batch.push((key, user));
        if batch.len() == 2000 || i == n {
            let b = std::mem::take(&mut batch);
            rt.block_on(store.write(move |tx| {
                for (k, u) in &b {
                    tx.put_user(k, u)?;
                }
                Ok(())
            }))?;
        }
    }
    drop(store);
    println!("# seeded {n} users in {:.1}s", t.elapsed().as_secs_f64());
    Ok(seeds)
}

const CHUNK: usize = 2000;

/// Writes one request per user into files of `CHUNK` requests named `<prefix>-N.txt`.
pub fn write_requests(
    prefix: &Path,
    n: usize,
    password: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<PathBuf>> {
    (0..n.div_ceil(CHUNK))
        .map(|c| write_chunk(prefix, c, n, &password))
        .collect()
}

/// Chunk `c` of [`write_requests`]: users `c * CHUNK + 1`… up to `n`.
fn write_chunk(
    prefix: &Path,
    c: usize,
    n: usize,
    password: &impl Fn(usize) -> String,
) -> anyhow::Result<PathBuf> {
    let start = c * CHUNK + 1;
    let path = PathBuf::from(format!("{}-{c}.txt", prefix.display()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for i in start..(start + CHUNK).min(n + 1) {
        writeln!(
            f,
            "User-Name = \"user{i:06}\", User-Password = \"{}\", Message-Authenticator = 0x00\n",
            password(i)
        )?;
    }
    f.flush()?;
    Ok(path)
}

pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
}

pub fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn load(
    files: &[PathBuf],
    port: u16,
    parallel: usize,
    secret: &str,
    server_pid: u32,
) -> anyhow::Result<Load> {
    let mut next = files.iter();
    load_files(port, parallel, secret, server_pid, || {
        Ok(next.next().cloned())
    })
}

/// Like [`load`] over `write_requests(prefix, n, password)`, but each file is written just
/// before it is sent, so TOTP codes made by `password` stay fresh however long the run takes.
/// Only the radclient runs are timed.
pub fn load_fresh(
    prefix: &Path,
    n: usize,
    port: u16,
    parallel: usize,
    secret: &str,
    server_pid: u32,
    password: impl Fn(usize) -> String,
) -> anyhow::Result<Load> {
    let mut c = 0;
    load_files(port, parallel, secret, server_pid, || {
        if c * CHUNK >= n {
            return Ok(None);
        }
        c += 1;
        write_chunk(prefix, c - 1, n, &password).map(Some)
    })
}

fn load_files(
    port: u16,
    parallel: usize,
    secret: &str,
    server_pid: u32,
    mut next: impl FnMut() -> anyhow::Result<Option<PathBuf>>,
) -> anyhow::Result<Load> {
    // CLK_TCK is 100 on Linux.
    let c0 = cpu_ticks(server_pid)?;
    let mut wall = Duration::ZERO;
    let (mut accepted, mut rejected, mut lost) = (0, 0, 0);
    while let Some(file) = next()? {
        let t = Instant::now();
        let c = radclient(&file, port, parallel, secret, 3)?;
        wall += t.elapsed();
        accepted += c.accepted;
        rejected += c.rejected;
        lost += c.lost;
    }
    let wall = wall.as_secs_f64();
    let cpu_s = (cpu_ticks(server_pid)? - c0) as f64 / 100.0;
    anyhow::ensure!(accepted > 0, "radclient reported no accepts");
    Ok(Load {
        rate: accepted as f64 / wall,
        accepted,
        rejected,
        lost,
        cpu_us_per_req: cpu_s * 1e6 / accepted as f64,
        peak_rss_mb: peak_rss_mb(server_pid),
        wall_s: wall,
    })
}
