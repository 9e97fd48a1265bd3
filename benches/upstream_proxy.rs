//! Upstream-proxy throughput: mfagate as a RADIUS proxy (`[primary] backend = "radius"`,
//! client `otp_mode = "append"`: the User-Password `passNNNNNN,CODE` is split, the password
//! goes on to a FreeRADIUS upstream, the fresh TOTP code is checked here, so every Accept is
//! also a durable replay-guard write and an audit record) next to FreeRADIUS proxying to
//! the same upstream (`scripts/start-radius-proxy.sh`, plain PAP: the anchor), in one run,
//! on 127.0.0.1, under the same `radclient -p 64` load: the same number of requests, in
//! 2,000-request files as in `radius_load.rs`, one request per user, one line after the other
//! (upstream alone, FreeRADIUS proxy, mfagate). The first line is the upstream alone (direct
//! PAP), for reference. Each file is written just before it is sent (`load_fresh`), so the
//! TOTP codes are of the current 30 s step however long the run takes.
//!
//! Per line: accepted/rejected/lost, the wall time of the radclient runs, accepts per
//! second, the CPU per accepted request of the proxy process (utime+stime from
//! /proc/PID/stat; on the upstream line, the upstream's own) and its peak RSS (VmHWM); on
//! the proxy lines the upstream's CPU per request over the same time; on every line
//! radclient's CPU per request (the load generator's, from /proc/self/stat cutime+cstime)
//! and how busy the whole machine was (/proc/stat; "other": the part that is none of these
//! processes, e.g. a build running meanwhile): at 100% the processes of a line compete for
//! the same cores and its throughput follows their total CPU per request. Then the ratios
//! mfagate/FreeRADIUS-proxy for throughput and for proxy CPU per request.
//!
//! Run with `cargo bench --bench upstream_proxy` (as root: FreeRADIUS reads /etc/freeradius;
//! `scripts/install-test-deps.sh` installs it). Environment knobs: `BENCH_USERS` (default
//! 20000, requests per line), `BENCH_PARALLEL` (64). Fixed ports on 127.0.0.1: the upstream
//! 19012-19014, the FreeRADIUS proxy 19022-19023, mfagate 19032 (the bench stops at once if
//! one is taken).
//!
//! The users are seeded in mfagate through the library, each with a TOTP seed (their
//! password hash is never used: the upstream owns the passwords); the FreeRADIUS upstream
//! has the same users `user000001`/`pass000001`… in its users file (`FR_USERS`). The
//! mfagate server is the real `mfagate serve` binary. Every process started here is stopped
//! by a guard, on error too.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;

use common::{cpu_ticks, load_fresh, seed_users, Load};
use mfagate::clock::{Clock, SystemClock};
use mfagate::config::{Config, LocalPrimaryConfig};
use mfagate::factor::totp;

/// radclient → either proxy.
const SECRET: &str = "bench-secret-0123456789abcdef";
/// Either proxy → the upstream, and radclient → the upstream for the direct line.
const UP_SECRET: &str = "upstream-secret-0123456789";
/// Auth; +1 acct, +2 inner-tunnel.
const UP_PORT: u16 = 19_012;
/// Auth; +1 acct.
const FR_PROXY_PORT: u16 = 19_022;
const MFA_PORT: u16 = 19_032;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` / `cargo bench -- --list` probing: nothing to list.
        return Ok(());
    }
    let users = common::env_num("BENCH_USERS", 20_000);
    let parallel = common::env_num("BENCH_PARALLEL", 64);
    anyhow::ensure!(users > 0, "BENCH_USERS must be at least 1");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for port in [
        UP_PORT,
        UP_PORT + 1,
        UP_PORT + 2,
        FR_PROXY_PORT,
        FR_PROXY_PORT + 1,
        MFA_PORT,
    ] {
        if let Err(e) = UdpSocket::bind(("127.0.0.1", port)) {
            anyhow::bail!(
                "udp port 127.0.0.1:{port} is taken ({e}): upstream_proxy needs 19012-19014, \
                 19022-19023 and 19032; stop whatever holds it (`ss -lunp | grep {port}`)"
            );
        }
    }
    let work =
        WorkDir(std::env::temp_dir().join(format!("mfagate-bench-up-{}", std::process::id())));
    std::fs::create_dir_all(&work.0)?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# upstream_proxy: {users} requests per line, radclient -p {parallel}, {cores} cores");

    // mfagate's users first (their seeds make the codes), so no seeding runs under load.
    let mfa_dir = work.0.join("mfagate");
    std::fs::create_dir_all(&mfa_dir)?;
    let cfg_path = write_mfagate_config(&mfa_dir)?;
    let cfg = Config::load(&cfg_path)?;
    let cheap = LocalPrimaryConfig {
        hash_memory_kib: 64,
        hash_iterations: 1,
        hash_parallelism: 1,
    };
    let seeds = seed_users(&cfg, users, &cheap)?;

    let upstream = FreeRadius::start(
        repo,
        work.0.join("upstream"),
        "scripts/start-radius-upstream.sh",
        &[UP_PORT.to_string()],
        &[
            ("RADIUS_SECRET", UP_SECRET),
            ("FR_USERS", &users.to_string()),
        ],
    )?;
    println!(
        "# upstream: FreeRADIUS pid {} on 127.0.0.1:{UP_PORT}, {users} users",
        upstream.pid
    );

    // 3. The upstream alone, for reference (and to warm it up).
    let direct = measured(None, || {
        load_fresh(
            &work.0.join("direct"),
            users,
            UP_PORT,
            parallel,
            UP_SECRET,
            upstream.pid,
            |i| format!("pass{i:06}"),
        )
    })?;

    // 2. FreeRADIUS proxying to it: the anchor.
    let fr = {
        let proxy = FreeRadius::start(
            repo,
            work.0.join("fr-proxy"),
            "scripts/start-radius-proxy.sh",
            &[
                FR_PROXY_PORT.to_string(),
                UP_PORT.to_string(),
                UP_SECRET.to_owned(),
            ],
            &[("RADIUS_SECRET", SECRET)],
        )?;
        measured(Some(&upstream), || {
            load_fresh(
                &work.0.join("fr"),
                users,
                FR_PROXY_PORT,
                parallel,
                SECRET,
                proxy.pid,
                |i| format!("pass{i:06}"),
            )
        })?
    };

    // 1. mfagate proxying to it, the TOTP code appended.
    let mfa = {
        let server = Server(
            Command::new(env!("CARGO_BIN_EXE_mfagate"))
                .args(["serve", "-c"])
                .arg(&cfg_path)
                .stdin(Stdio::null())
                .spawn()?,
        );
        common::wait_ready(MFA_PORT, SECRET)?;
        let pid = server.0.id();
        measured(Some(&upstream), || {
            load_fresh(
                &mfa_dir.join("req"),
                users,
                MFA_PORT,
                parallel,
                SECRET,
                pid,
                |i| {
                    // The step when this file is written: one request per user, so the
                    // replay guard never sees a code twice.
                    let step = totp::step_at(SystemClock.now_ms(), &cfg.factor.totp);
                    let code = totp::code_at(&seeds[i - 1], step, &cfg.factor.totp);
                    format!("pass{i:06},{code}")
                },
            )
        })?
    };
    drop(upstream);

    for (label, m) in [
        ("upstream FreeRADIUS alone (direct PAP)", &direct),
        ("FreeRADIUS proxy -> upstream (PAP)", &fr),
        ("mfagate proxy -> upstream (PAP+TOTP)", &mfa),
    ] {
        println!("{label:<38} {}", line(m));
    }
    println!(
        "ratio mfagate/freeradius-proxy: {:.2}x throughput, {:.2}x proxy CPU per request \
         (aim: throughput >= 1.0x)",
        mfa.load.rate / fr.load.rate,
        mfa.load.cpu_us_per_req / fr.load.cpu_us_per_req
    );
    Ok(())
}

/// What one line measured: the load, the upstream's CPU per accepted request over the same
/// time (proxy lines), and how busy the whole machine was (% of all cores, /proc/stat).
struct Measured {
    load: Load,
    upstream_cpu_us: Option<f64>,
    /// radclient's CPU per accepted request (the children this process waited for).
    radclient_cpu_us: f64,
    host_busy_pct: f64,
    /// The part of `host_busy_pct` that is none of the above (other processes, such as a
    /// build running meanwhile, and kernel work charged to no process of ours).
    other_busy_pct: f64,
}

fn measured(
    upstream: Option<&FreeRadius>,
    f: impl FnOnce() -> anyhow::Result<Load>,
) -> anyhow::Result<Measured> {
    let u0 = upstream.map(|u| cpu_ticks(u.pid)).transpose()?;
    let h0 = host_ticks()?;
    let r0 = children_ticks()?;
    let load = f()?;
    let r1 = children_ticks()?;
    let h1 = host_ticks()?;
    let u1 = upstream.map(|u| cpu_ticks(u.pid)).transpose()?;
    // CLK_TCK is 100 on Linux.
    let per_req = |ticks: u64| ticks as f64 / 100.0 * 1e6 / load.accepted as f64;
    let total = (h1.0 - h0.0).max(1) as f64;
    let busy = total - (h1.1 - h0.1) as f64;
    let upstream_cpu_us = u0.zip(u1).map(|(a, b)| per_req(b - a));
    let radclient_cpu_us = per_req(r1 - r0);
    // Ours, in ticks: the proxy (or the upstream alone), the upstream behind it, radclient.
    let ours = (load.cpu_us_per_req + upstream_cpu_us.unwrap_or(0.0) + radclient_cpu_us)
        * load.accepted as f64
        / 1e6
        * 100.0;
    Ok(Measured {
        upstream_cpu_us,
        radclient_cpu_us,
        host_busy_pct: 100.0 * busy / total,
        other_busy_pct: (100.0 * (busy - ours) / total).max(0.0),
        load,
    })
}

/// utime + stime of the children this process has waited for (cutime, cstime: fields 16
/// and 17 of /proc/self/stat): here the radclient runs.
fn children_ticks() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(13)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    anyhow::ensure!(f.len() == 2, "cannot read /proc/self/stat");
    Ok(f[0] + f[1])
}

/// All ticks and idle ticks (idle + iowait) of the machine, from the first line of /proc/stat.
fn host_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    anyhow::ensure!(f.len() >= 5, "cannot read /proc/stat");
    Ok((f.iter().sum(), f[3] + f[4]))
}

fn line(m: &Measured) -> String {
    let l = &m.load;
    let mut s = format!(
        "accepted={} rejected={} lost={}  wall {:.2} s  {:>6.0} req/s  CPU {:>4.0} us/req  \
         peak RSS {:>3.0} MB",
        l.accepted, l.rejected, l.lost, l.wall_s, l.rate, l.cpu_us_per_req, l.peak_rss_mb
    );
    if let Some(u) = m.upstream_cpu_us {
        s += &format!("  upstream {u:.0} us/req");
    }
    s += &format!(
        "  radclient {:.0} us/req  host busy {:.0}% (other {:.0}%)",
        m.radclient_cpu_us, m.host_busy_pct, m.other_busy_pct
    );
    s
}

fn write_mfagate_config(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("mfagate.toml");
    std::fs::write(
        &path,
        format!(
            r#"node_name = "bench"
data_dir = "{data}"
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
backend = "radius"
upstream = "nps"
[[upstream]]
name = "nps"
timeout_secs = 5
retries = 1
[[upstream.servers]]
address = "127.0.0.1:{UP_PORT}"
secret = "{UP_SECRET}"
"#,
            data = dir.join("data").display(),
        ),
    )?;
    Ok(path)
}

/// A FreeRADIUS from one of the start scripts, stopped with `scripts/stop-freeradius.sh`
/// when dropped.
struct FreeRadius {
    repo: PathBuf,
    dir: PathBuf,
    pid: u32,
}

impl FreeRadius {
    fn start(
        repo: &Path,
        dir: PathBuf,
        script: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        // The guard exists before the script runs: whatever it leaves running is stopped.
        let mut me = Self {
            repo: repo.to_owned(),
            dir,
            pid: 0,
        };
        let status = Command::new(repo.join(script))
            .arg(&me.dir)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "{script} failed");
        me.pid = std::fs::read_to_string(me.dir.join("run/pid"))?
            .trim()
            .parse()?;
        Ok(me)
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = Command::new(self.repo.join("scripts/stop-freeradius.sh"))
            .arg(&self.dir)
            .status();
    }
}

/// `mfagate serve`, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        common::stop(&mut self.0);
    }
}

/// The scratch directory, removed when dropped (after the servers in it are stopped: it is
/// made first, so dropped last).
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
