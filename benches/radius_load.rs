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

use std::path::Path;
use std::process::{Command, Stdio};

mod common;

use common::{load, seed_users, write_requests, Load};
use mfagate::clock::{Clock, SystemClock};
use mfagate::config::{Config, LocalPrimaryConfig};
use mfagate::factor::totp;

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
    let fr = load(&fr_files, FR_PORT, parallel, SECRET, fr_pid)?;
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
        load(&files, MFA_PORT, parallel, SECRET, server.id())
    });
    common::stop(&mut server);
    result
}
