//! RADIUS throughput: mfagate (append mode, password + a fresh TOTP code per request, so every
//! Accept is a durable replay-guard write plus an audit record) next to FreeRADIUS (PAP from a
//! users file, the DESIGN.md anchor), both on 127.0.0.1 under the same `radclient -p 64` load.
//!
//! Run with `cargo bench --bench radius_load` (as root: FreeRADIUS reads /etc/freeradius;
//! `scripts/install-test-deps.sh` installs it). Environment knobs: `BENCH_USERS` (default
//! 40000), `BENCH_PARALLEL` (64), `BENCH_SLOW_USERS` (300: a second mfagate run with the default
//! argon2id cost, to show what the password hash alone costs).
//!
//! radclient slows down sharply with long request files (16k/s at 2,000 lines, 2.3k/s at
//! 40,000 against the same FreeRADIUS), so both servers get the load as the same sequence of
//! 2,000-request files, one radclient each.
//!
//! The users are seeded through the library (the same `admin::execute` the CLI uses would
//! spend a process per user); the server is the real `mfagate serve` binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod common;

use mfagate::clock::{Clock, SystemClock};
use mfagate::config::{Config, LocalPrimaryConfig, Method};
use mfagate::factor::totp;
use mfagate::primary::local::hash_password;
use mfagate::store::model::{user_key, UserRecord};
use mfagate::store::Store;

const SECRET: &str = "bench-secret-0123456789abcdef";
const MFA_PORT: u16 = 18_712;
const FR_PORT: u16 = 18_812;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` / `cargo bench -- --list` probing: nothing to list.
        return Ok(());
    }
    let users = common::env_num("BENCH_USERS", 40_000);
    let parallel = common::env_num("BENCH_PARALLEL", 64);
    let slow_users = common::env_num("BENCH_SLOW_USERS", 300);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("mfagate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# radius_load: {users} requests, radclient -p {parallel}, {cores} cores");

    // FreeRADIUS first: the anchor.
    let fr_dir = work.join("freeradius");
    let status = Command::new(repo.join("scripts/start-freeradius.sh"))
        .arg(&fr_dir)
        .arg(FR_PORT.to_string())
        .env("RADIUS_SECRET", SECRET)
        .env("FR_USERS", users.to_string())
        .status()?;
    anyhow::ensure!(status.success(), "start-freeradius.sh failed");
    let fr_pid: u32 = std::fs::read_to_string(fr_dir.join("run/pid"))?
        .trim()
        .parse()?;
    let fr_files = write_requests(&work.join("fr"), users, |i| format!("pass{i:06}"))?;
    let fr = load(&fr_files, FR_PORT, parallel, fr_pid)?;
    let _ = Command::new(repo.join("scripts/stop-freeradius.sh"))
        .arg(&fr_dir)
        .status();
    println!("freeradius   PAP users file      {fr}");

    let fast = LocalPrimaryConfig {
        hash_memory_kib: 64,
        hash_iterations: 1,
        hash_parallelism: 1,
    };
    let mfa = run_mfagate(&work.join("mfa-fast"), users, parallel, &fast)?;
    println!("mfagate      append, argon2 64KiB {mfa}");
    println!(
        "ratio mfagate/freeradius: {:.2} (throughput), server CPU per request {:.1}x",
        mfa.rate / fr.rate,
        mfa.cpu_us_per_req / fr.cpu_us_per_req
    );

    if slow_users > 0 {
        let default_cost = LocalPrimaryConfig {
            hash_memory_kib: 19_456,
            hash_iterations: 2,
            hash_parallelism: 1,
        };
        let slow = run_mfagate(&work.join("mfa-slow"), slow_users, parallel, &default_cost)?;
        println!("mfagate      append, argon2 19MiB {slow}   (default password-hash cost)");
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

struct Load {
    rate: f64,
    accepted: u64,
    rejected: u64,
    lost: u64,
    cpu_us_per_req: f64,
    peak_rss_mb: f64,
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

fn run_mfagate(
    dir: &Path,
    users: usize,
    parallel: usize,
    hash: &LocalPrimaryConfig,
) -> anyhow::Result<Load> {
    std::fs::create_dir_all(dir)?;
    let data = dir.join("data");
    let cfg_path = dir.join("mfagate.toml");
    std::fs::write(
        &cfg_path,
        format!(
            r#"node_name = "bench"
data_dir = "{}"
[log]
level = "warn"
[radius]
listen = ["127.0.0.1:{MFA_PORT}"]
[[radius.clients]]
name = "bench"
address = "127.0.0.1/32"
secret = "{SECRET}"
otp_mode = "append"
[primary]
backend = "local"
[primary.local]
hash_memory_kib = {}
hash_iterations = {}
"#,
            data.display(),
            hash.hash_memory_kib,
            hash.hash_iterations
        ),
    )?;
    let cfg = Config::load(&cfg_path)?;
    let seeds = seed_users(&cfg, users, hash)?;

    let mut server = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["serve", "-c"])
        .arg(&cfg_path)
        .stdin(Stdio::null())
        .spawn()?;
    let ready = common::wait_ready(MFA_PORT, SECRET);
    let result = ready.and_then(|()| {
        let now = SystemClock.now_ms();
        let step = totp::step_at(now, &cfg.factor.totp);
        let files = write_requests(&dir.join("req"), users, |i| {
            format!(
                "pass{i:06},{}",
                totp::code_at(&seeds[i - 1], step, &cfg.factor.totp)
            )
        })?;
        load(&files, MFA_PORT, parallel, server.id())
    });
    common::stop(&mut server);
    result
}

/// Seeds `n` users `user000001`… with password `pass000001`… and a fresh TOTP seed each.
fn seed_users(cfg: &Config, n: usize, hash: &LocalPrimaryConfig) -> anyhow::Result<Vec<Vec<u8>>> {
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
fn write_requests(
    prefix: &Path,
    n: usize,
    password: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for (c, start) in (1..=n).step_by(CHUNK).enumerate() {
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
        files.push(path);
    }
    Ok(files)
}

fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
}

fn peak_rss_mb(pid: u32) -> f64 {
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

fn load(files: &[PathBuf], port: u16, parallel: usize, server_pid: u32) -> anyhow::Result<Load> {
    // CLK_TCK is 100 on Linux.
    let c0 = cpu_ticks(server_pid)?;
    let t = Instant::now();
    let (mut accepted, mut rejected, mut lost) = (0, 0, 0);
    for file in files {
        let c = common::radclient(file, port, parallel, SECRET, 3)?;
        accepted += c.accepted;
        rejected += c.rejected;
        lost += c.lost;
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu_s = (cpu_ticks(server_pid)? - c0) as f64 / 100.0;
    anyhow::ensure!(accepted > 0, "radclient reported no accepts");
    Ok(Load {
        rate: accepted as f64 / wall,
        accepted,
        rejected,
        lost,
        cpu_us_per_req: cpu_s * 1e6 / accepted as f64,
        peak_rss_mb: peak_rss_mb(server_pid),
    })
}
