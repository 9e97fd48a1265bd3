//! The replicated directory under load, with real `mfagate serve` processes on 127.0.0.1:
//!
//! 1. Directory write latency: `user add` through the admin socket (what the CLI does, minus
//!    starting a process), sequentially, on a single node outside any cluster and on the
//!    leader and a follower (forwarded) of a three-node cluster; p50/p99 side by side.
//! 2. A 100,000-user import from an AD-like slapd (`scripts/start-slapd.sh`) into the
//!    three-node cluster: the nodes are restarted with a `[[sync]]` item, the elected leader
//!    runs it (followers never do), and the time is taken until every node holds every user;
//!    with each node's peak RSS (aim: under 60 s and under 200 MB per node).
//!
//! 3. Login throughput: the same `radclient -p 64` append-mode load (password + a fresh TOTP
//!    code per request, so every accept is a replay-guard write that peers must acknowledge)
//!    against a single node and against a node of a three-node cluster, with the ratio, the
//!    server CPU per request, and the time one login takes sent one at a time (the cost of
//!    waiting for the peers' acknowledgement).
//!
//! 4. Replication lag at a steady rate (aim: p99 under 50 ms): append-mode TOTP logins, one
//!    per distinct user with that user's code for the step it is due in, sent at `BENCH_RATE`
//!    per second on an absolute schedule by the paced client of `common::paced` (radclient
//!    cannot hold a rate), first to a single node, then to n1 of a three-node cluster. Login
//!    latency is send to reply at the client. Meanwhile n1's `cluster status` (the admin
//!    socket request the CLI's `cluster status --format json` sends) is read every 500 ms,
//!    and per peer its `login_state` row gives what `Claims::report` measures:
//!    - `ack_delay` p50/p99: over the last 4096 *commits* of n1 (not logins: the store's
//!      writer groups the logins that arrive together into one commit, and commits announced
//!      before the tracker wakes count once), the time from n1's shipper-side record of the
//!      durable commit (`track_commits`, woken by the store's commit watch right after the
//!      fsync) to n1 receiving the peer's `LoginStateAck` covering it (`acked`): the wait for
//!      the shipping round, the TLS call, the peer's own merge commit and the reply. A login
//!      accepted on n1 waits for this from every answering peer, so it is roughly the
//!      cluster's share of the login latency. It is read once the last request has been
//!      sent, and the worst p99 of the samples of the load's second half (when the 4096
//!      commits are the load's) is shown next to it.
//!    - `lag_ms`, `lag_entries`: at each sample, the age of the oldest durable commit the
//!      peer has not acknowledged, and how many of n1's sequence numbers it lacks; the
//!      maximum over the samples is shown, and the `lag_ms` series on `#` lines.
//!
//! `cargo bench --bench cluster`. Knobs: `BENCH_PARTS` (`1,2,3,4`: the parts to run; parts 3
//! and 4 need no slapd), `BENCH_WRITES` (500), `BENCH_IMPORT_USERS` (100000), `BENCH_LOGINS`
//! (20000), `BENCH_RATE` (1000 logins/s) and `BENCH_SECONDS` (20) for part 4.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn mfagate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mfagate"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

const SECRET: &str = "bench-secret-0123456789abcdef";

/// A RADIUS listener in append mode over the local directory, with a cheap password hash.
fn radius_tables(port: u16) -> String {
    format!(
        "[radius]\nlisten = [\"127.0.0.1:{port}\"]\n[[radius.clients]]\nname = \"bench\"\n\
         address = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\notp_mode = \"append\"\n\
         [primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\n\
         hash_iterations = 1\n"
    )
}

/// Logins of every seeded user with a fresh code: (radclient -p 64 load, seconds per login
/// sent one at a time).
fn logins(node: &Node, port: u16, seeds: &[Vec<u8>]) -> anyhow::Result<(common::Load, f64)> {
    use mfagate::clock::Clock;
    let cfg = mfagate::config::Config::load(&node.config)?;
    let step =
        mfagate::factor::totp::step_at(mfagate::clock::SystemClock.now_ms(), &cfg.factor.totp);
    let code =
        |i: usize, step: u64| mfagate::factor::totp::code_at(&seeds[i - 1], step, &cfg.factor.totp);
    let pid = node.child.as_ref().map_or(0, |c| c.id());
    common::wait_ready(port, SECRET)?;
    let files = common::write_requests(&node.dir.join("req"), seeds.len(), |i| {
        format!("pass{i:06},{}", code(i, step))
    })?;
    let load = common::load(&files, port, 64, SECRET, pid)?;
    // Then one at a time, 200 users with the next step's code (this one's is spent).
    let serial = 200.min(seeds.len());
    let files = common::write_requests(&node.dir.join("serial"), serial, |i| {
        format!("pass{i:06},{}", code(i, step + 1))
    })?;
    let t = Instant::now();
    let c = common::radclient(&files[0], port, 1, SECRET, 3)?;
    anyhow::ensure!(c.accepted as usize == serial, "serial logins: {c:?}");
    Ok((load, t.elapsed().as_secs_f64() / serial as f64))
}

fn ok(mut c: Command) -> anyhow::Result<String> {
    let out = c.stdin(Stdio::null()).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Node {
    name: String,
    dir: PathBuf,
    config: PathBuf,
    cluster: String,
    child: Option<Child>,
}

impl Node {
    fn new(root: &Path, name: &str, ca: Option<&Path>, extra: &str) -> anyhow::Result<Node> {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        let cluster = format!("127.0.0.1:{}", free_port()?);
        let d = dir.display();
        let mut section = String::new();
        if let Some(ca) = ca {
            let mut c = mfagate();
            c.args(["cluster", "issue-cert", name, "--address", &cluster])
                .arg("--ca")
                .arg(ca)
                .arg("--out")
                .arg(dir.join("certs"));
            ok(c)?;
            section = format!(
                "[cluster]\nlisten = \"{cluster}\"\nca_file = \"{d}/certs/ca.pem\"\n\
                 cert_file = \"{d}/certs/{name}.pem\"\nkey_file = \"{d}/certs/{name}.key\"\n"
            );
        }
        let config = dir.join("mfagate.toml");
        std::fs::write(
            &config,
            format!("node_name = \"{name}\"\ndata_dir = \"{d}/data\"\n[log]\nlevel = \"warn\"\n{extra}{section}"),
        )?;
        Ok(Node {
            name: name.into(),
            dir,
            config,
            cluster,
            child: None,
        })
    }

    fn cli(&self, args: &[&str]) -> Command {
        let mut c = mfagate();
        c.args(args).arg("-c").arg(&self.config);
        c
    }

    fn start(&mut self, env: &[(&str, &str)]) -> anyhow::Result<()> {
        let log = std::fs::File::create(self.dir.join("serve.log"))?;
        let mut c = self.cli(&["serve"]);
        for (k, v) in env {
            c.env(k, v);
        }
        self.child = Some(
            c.stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?,
        );
        let until = Instant::now() + Duration::from_secs(30);
        while !self.dir.join("data/admin.sock").exists() {
            anyhow::ensure!(Instant::now() < until, "{} did not start", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// One admin-socket request, as the CLI sends it.
    fn admin(&self, req: &Value) -> anyhow::Result<Result<Value, String>> {
        let mut s = UnixStream::connect(self.dir.join("data/admin.sock"))?;
        s.write_all(format!("{req}\n").as_bytes())?;
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line)?;
        let v: Value = serde_json::from_str(&line)?;
        Ok(match v.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Err(v["error"].to_string()),
        })
    }

    fn status(&self) -> Value {
        self.admin(&json!({"cmd": "cluster_status"}))
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or(Value::Null)
    }

    fn wait(
        &self,
        what: &str,
        within: Duration,
        f: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let until = Instant::now() + within;
        loop {
            let v = self.status();
            if f(&v) {
                return Ok(v);
            }
            anyhow::ensure!(
                Instant::now() < until,
                "{}: {what} not within {within:?}: {v}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn peak_rss_mb(&self) -> f64 {
        let Some(c) = &self.child else { return 0.0 };
        std::fs::read_to_string(format!("/proc/{}/status", c.id()))
            .ok()
            .and_then(|st| {
                st.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(0.0)
            / 1024.0
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            common::stop(c);
        }
    }
}

/// How many members a status lists as voters (leader or follower).
fn voters(status: &Value) -> usize {
    status["members"].as_array().map_or(0, |m| {
        m.iter()
            .filter(|x| x["role"] == "leader" || x["role"] == "follower")
            .count()
    })
}

/// Sequential `user add`s through `node`; returns (p50, p99) in ms.
fn write_latency(node: &Node, prefix: &str, n: usize) -> anyhow::Result<(f64, f64)> {
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let r = node.admin(
            &json!({"cmd": "user_add", "name": format!("{prefix}{i:05}"),
                                    "password": null, "method": null}),
        )?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(r.is_ok(), "user add on {}: {r:?}", node.name);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q) as usize).min(ms.len() - 1)];
    Ok((at(0.50), at(0.99)))
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let parts: Vec<u32> = std::env::var("BENCH_PARTS")
        .unwrap_or_else(|_| "1,2,3,4".into())
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = std::env::temp_dir().join(format!("mfagate-bench-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let result = run(repo, &root, &parts);
    common::stop_slapd(repo, &root.join("slapd"));
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn run(repo: &Path, root: &Path, parts: &[u32]) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# cluster bench: parts {parts:?}, {cores} cores");
    let ca = root.join("ca");
    let mut c = mfagate();
    c.args(["cluster", "init-ca", "--out"]).arg(&ca);
    ok(c)?;
    if parts.contains(&1) || parts.contains(&2) {
        directory(repo, root, &ca, parts)?;
    }
    if parts.contains(&3) {
        login_throughput(root, &ca)?;
    }
    if parts.contains(&4) {
        replication_lag(root, &ca)?;
    }
    Ok(())
}

/// Parts 1 and 2, on nodes whose primary is the slapd that part 2 imports from.
fn directory(repo: &Path, root: &Path, ca: &Path, parts: &[u32]) -> anyhow::Result<()> {
    let writes: usize = common::env_num("BENCH_WRITES", 500);
    let users: usize = common::env_num("BENCH_IMPORT_USERS", 100_000);
    let t = Instant::now();
    let env = common::start_slapd(repo, &root.join("slapd"), users)?;
    println!(
        "# slapd with {users} users ready in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let get = |k: &str| env.get(k).cloned().unwrap_or_default();
    // Every mfagate this bench starts (daemons and CLI) reads the bind password from here.
    std::env::set_var("SLAPD_BIND_PASSWORD", get("SLAPD_BIND_PASSWORD"));
    let penv: [(&str, &str); 0] = [];
    let primary = common::slapd_primary(&env);
    let sync = format!(
        "[[sync]]\nname = \"people\"\nbase_dn = \"{}\"\ninterval = \"24h\"\nmax_disable = 5\n",
        get("SLAPD_PEOPLE_OU")
    );

    // A single node outside any cluster: the baseline, before the cluster's nodes run.
    let mut baseline = (0.0, 0.0);
    if parts.contains(&1) {
        let mut single = Node::new(root, "single", None, &primary)?;
        single.start(&penv)?;
        baseline = write_latency(&single, "s", writes)?;
    }
    let mut nodes = Vec::new();
    for name in ["m1", "m2", "m3"] {
        nodes.push(Node::new(root, name, Some(ca), &primary)?);
    }
    ok(nodes[0].cli(&["cluster", "init"]))?;
    nodes[0].start(&penv)?;
    nodes[0].wait("leader", Duration::from_secs(30), |v| v["role"] == "leader")?;
    let leader_addr = nodes[0].cluster.clone();
    for n in nodes.iter_mut().skip(1) {
        ok(n.cli(&["cluster", "join", &leader_addr]))?;
        n.start(&penv)?;
    }
    nodes[0].wait("three voters", Duration::from_secs(30), |v| voters(v) == 3)?;
    if parts.contains(&1) {
        let (s50, s99) = baseline;
        let (l50, l99) = write_latency(&nodes[0], "l", writes)?;
        let (f50, f99) = write_latency(&nodes[1], "f", writes)?;
        println!("directory write latency (user add, sequential, {writes} each):");
        println!("  single node          p50 {s50:6.2} ms  p99 {s99:6.2} ms");
        println!(
            "  3-node, on leader    p50 {l50:6.2} ms  p99 {l99:6.2} ms   ({:.1}x single p50)",
            l50 / s50
        );
        println!(
            "  3-node, on follower  p50 {f50:6.2} ms  p99 {f99:6.2} ms   (forwarded to the leader)"
        );
    }
    if !parts.contains(&2) {
        return Ok(());
    }

    // The import: every node restarted with a [[sync]] item; the leader (and only it) runs
    // the due sync as soon as it is elected.
    let before = nodes[0].status()["users"].as_u64().unwrap_or(0);
    for n in nodes.iter_mut() {
        if let Some(c) = &mut n.child {
            common::stop(c);
        }
        n.child = None;
        let mut text = std::fs::read_to_string(&n.config)?;
        text.push_str(&sync);
        std::fs::write(&n.config, text)?;
    }
    let t = Instant::now();
    for n in nodes.iter_mut() {
        n.start(&penv)?;
    }
    let want = before + users as u64;
    for n in &nodes {
        n.wait("import applied", Duration::from_secs(600), |v| {
            v["users"].as_u64() >= Some(want)
        })?;
    }
    let all = t.elapsed().as_secs_f64();
    let leader = nodes[0].status()["leader"].clone();
    println!(
        "{users}-user import into the 3-node cluster (restart, election, sync on leader {leader}): \
         every node has the users {all:.1}s after the restart"
    );
    for n in &nodes {
        println!("  {} peak RSS {:.0} MB", n.name, n.peak_rss_mb());
    }
    Ok(())
}

/// The TOTP seeds of `user000001`…, in order.
type Seeds = Vec<Vec<u8>>;

fn cheap_hash() -> mfagate::config::LocalPrimaryConfig {
    mfagate::config::LocalPrimaryConfig {
        hash_memory_kib: 64,
        hash_iterations: 1,
        hash_parallelism: 1,
    }
}

/// A node outside any cluster with `users` TOTP users, serving RADIUS: (node, its RADIUS
/// port, the users' seeds).
fn login_single(root: &Path, name: &str, users: usize) -> anyhow::Result<(Node, u16, Seeds)> {
    let port = free_udp_port()?;
    let mut single = Node::new(root, name, None, &radius_tables(port))?;
    let cfg = mfagate::config::Config::load(&single.config)?;
    let seeds = common::seed_users(&cfg, users, &cheap_hash())?;
    single.start(&[])?;
    Ok((single, port, seeds))
}

/// Three nodes serving RADIUS in one cluster, every one holding the `users` TOTP users seeded
/// into the first before it initialised the cluster: (nodes, their RADIUS ports, seeds).
fn login_cluster(
    root: &Path,
    ca: &Path,
    names: [&str; 3],
    users: usize,
) -> anyhow::Result<(Vec<Node>, Vec<u16>, Seeds)> {
    let ports: Vec<u16> = (0..3).map(|_| free_udp_port()).collect::<Result<_, _>>()?;
    let mut nodes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        nodes.push(Node::new(root, name, Some(ca), &radius_tables(ports[i]))?);
    }
    let cfg = mfagate::config::Config::load(&nodes[0].config)?;
    let seeds = common::seed_users(&cfg, users, &cheap_hash())?;
    ok(nodes[0].cli(&["cluster", "init"]))?;
    nodes[0].start(&[])?;
    nodes[0].wait("leader", Duration::from_secs(60), |v| v["role"] == "leader")?;
    let leader = nodes[0].cluster.clone();
    for n in nodes.iter_mut().skip(1) {
        ok(n.cli(&["cluster", "join", &leader]))?;
        n.start(&[])?;
    }
    for n in &nodes {
        n.wait("all users", Duration::from_secs(120), |v| {
            v["users"].as_u64() >= Some(users as u64)
        })?;
    }
    nodes[0].wait("three voters", Duration::from_secs(30), |v| voters(v) == 3)?;
    Ok((nodes, ports, seeds))
}

/// Part 3.
fn login_throughput(root: &Path, ca: &Path) -> anyhow::Result<()> {
    let users: usize = common::env_num("BENCH_LOGINS", 20_000);
    let (single, port, seeds) = login_single(root, "lsingle", users)?;
    let (one, one_serial) = logins(&single, port, &seeds)?;
    drop(single);
    let (nodes, ports, seeds) = login_cluster(root, ca, ["l1", "l2", "l3"], users)?;
    let (three, three_serial) = logins(&nodes[0], ports[0], &seeds)?;
    let alone = nodes[0].status()["decided_without_peer_ack"]
        .as_u64()
        .unwrap_or(0);
    println!("login throughput (append mode, TOTP, radclient -p 64, {users} logins):");
    println!("  single node        {one}");
    println!("  3-node cluster     {three}");
    println!(
        "  ratio 3-node/single: {:.2} (throughput), {:.1}x server CPU per request; decided without a peer's acknowledgement: {alone}",
        three.rate / one.rate,
        three.cpu_us_per_req / one.cpu_us_per_req
    );
    println!(
        "  one login at a time: single {:.2} ms, 3-node {:.2} ms (the peers' acknowledgement adds {:.2} ms)",
        one_serial * 1000.0,
        three_serial * 1000.0,
        (three_serial - one_serial) * 1000.0
    );
    Ok(())
}

/// One paced login per seeded user against `nodes[0]`, each with the code of the TOTP step
/// it is due in; returns the run and every node's CPU ticks over it.
fn paced_logins(
    nodes: &[&Node],
    port: u16,
    seeds: &[Vec<u8>],
    rate: f64,
    sent: impl FnOnce(),
) -> anyhow::Result<(common::paced::Paced, Vec<u64>)> {
    use mfagate::clock::Clock;
    let cfg = mfagate::config::Config::load(&nodes[0].config)?;
    let totp = &cfg.factor.totp;
    common::wait_ready(port, SECRET)?;
    let start_ms = mfagate::clock::SystemClock.now_ms();
    let logins: Vec<(String, String)> = seeds
        .iter()
        .enumerate()
        .map(|(i, seed)| {
            let due = start_ms + (i as f64 * 1000.0 / rate) as u64;
            let step = mfagate::factor::totp::step_at(due, totp);
            let code = mfagate::factor::totp::code_at(seed, step, totp);
            (
                format!("user{:06}", i + 1),
                format!("pass{:06},{code}", i + 1),
            )
        })
        .collect();
    let pid = |n: &Node| n.child.as_ref().map_or(0, |c| c.id());
    let before: Vec<u64> = nodes
        .iter()
        .map(|n| common::cpu_ticks(pid(n)))
        .collect::<Result<_, _>>()?;
    let run = common::paced::run(port, SECRET, &logins, rate, sent)?;
    let ticks = nodes
        .iter()
        .zip(before)
        .map(|(n, b)| Ok(common::cpu_ticks(pid(n))?.saturating_sub(b)))
        .collect::<anyhow::Result<_>>()?;
    Ok((run, ticks))
}

/// What n1's `cluster status` said of one peer over the load.
#[derive(Default)]
struct PeerLag {
    max_lag_ms: u64,
    max_lag_entries: u64,
    /// From the last sample, taken once the last request was sent.
    end_p50: Option<f64>,
    end_p99: Option<f64>,
    end_samples: u64,
    /// The worst p99 of the samples in the second half of the load, when the 4096 commits
    /// they cover are the load's.
    worst_p99: Option<f64>,
    not_answering: usize,
    /// `lag_ms` at every sample, to tell a spike from a steady lag.
    series: Vec<u64>,
}

fn worse(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Samples `node`'s login-state report every 500 ms until `done`, then once more.
fn sample_lag(node: &Node, done: &AtomicBool, half: Duration) -> BTreeMap<String, PeerLag> {
    let mut peers: BTreeMap<String, PeerLag> = BTreeMap::new();
    let t0 = Instant::now();
    loop {
        let last = done.load(Ordering::Acquire);
        let v = node.status();
        for row in v["login_state"].as_array().into_iter().flatten() {
            let p = peers
                .entry(row["peer"].as_str().unwrap_or("?").into())
                .or_default();
            let lag_ms = row["lag_ms"].as_u64().unwrap_or(0);
            p.max_lag_ms = p.max_lag_ms.max(lag_ms);
            p.max_lag_entries = p
                .max_lag_entries
                .max(row["lag_entries"].as_u64().unwrap_or(0));
            p.end_p50 = row["ack_delay_p50_ms"].as_f64();
            p.end_p99 = row["ack_delay_p99_ms"].as_f64();
            p.end_samples = row["ack_delay_samples"].as_u64().unwrap_or(0);
            if t0.elapsed() >= half {
                p.worst_p99 = worse(p.worst_p99, p.end_p99);
            }
            p.not_answering += usize::from(row["answers"] != true);
            p.series.push(lag_ms);
        }
        if last {
            return peers;
        }
        let next = Instant::now() + Duration::from_millis(500);
        while Instant::now() < next && !done.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Part 4.
fn replication_lag(root: &Path, ca: &Path) -> anyhow::Result<()> {
    let rate: f64 = common::env_num("BENCH_RATE", 1000.0);
    let seconds: f64 = common::env_num("BENCH_SECONDS", 20.0);
    let users = (rate * seconds).round() as usize;
    let (single, port, seeds) = login_single(root, "psingle", users)?;
    let (one, one_ticks) = paced_logins(&[&single], port, &seeds, rate, || ())?;
    let one_rss = single.peak_rss_mb();
    drop(single);

    let (nodes, ports, seeds) = login_cluster(root, ca, ["n1", "n2", "n3"], users)?;
    // The shipper's idle rounds have reached both peers: the first logins do not pay for
    // the connections.
    nodes[0].wait("both peers answering", Duration::from_secs(30), |v| {
        v["login_state"]
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|p| p["answers"] == true))
    })?;
    let done = AtomicBool::new(false);
    let (three, ticks, lag) = std::thread::scope(|s| -> anyhow::Result<_> {
        let sampler =
            s.spawn(|| sample_lag(&nodes[0], &done, Duration::from_secs_f64(seconds / 2.0)));
        let refs: Vec<&Node> = nodes.iter().collect();
        let run = paced_logins(&refs, ports[0], &seeds, rate, || {
            done.store(true, Ordering::Release)
        });
        done.store(true, Ordering::Release);
        let lag = sampler
            .join()
            .map_err(|_| anyhow::anyhow!("sampler panicked"))?;
        let (run, ticks) = run?;
        Ok((run, ticks, lag))
    })?;
    let alone = nodes[0].status()["decided_without_peer_ack"]
        .as_u64()
        .unwrap_or(0);

    // CLK_TCK is 100: a tick is 10,000 us.
    let us_per = |ticks: u64, sent: usize| ticks as f64 * 1e4 / sent.max(1) as f64;
    let ms = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1}"));
    println!(
        "replication lag at a paced {rate:.0} logins/s for {seconds:.0} s \
         (append mode, TOTP, a distinct user per login, load on n1):"
    );
    println!(
        "  {:<34} {:>18} {:>18}",
        "", "single node", "3-node cluster"
    );
    let row = |label: &str, a: String, b: String| println!("  {label:<34} {a:>18} {b:>18}");
    row(
        "rate achieved (sends/s)",
        format!("{:.1}", one.rate),
        format!("{:.1}", three.rate),
    );
    row(
        "worst send behind schedule",
        format!("{:.1} ms", one.worst_late_ms),
        format!("{:.1} ms", three.worst_late_ms),
    );
    let outcome = |p: &common::paced::Paced| match p.other {
        0 => format!("{}/{}/{}", p.accepted, p.rejected, p.unanswered),
        o => format!("{}/{}/{} +{o} bad", p.accepted, p.rejected, p.unanswered),
    };
    row(
        "accepted/rejected/unanswered",
        outcome(&one),
        outcome(&three),
    );
    for (label, a, b) in [
        ("login latency p50", one.p50_ms, three.p50_ms),
        ("login latency p99", one.p99_ms, three.p99_ms),
        ("login latency max", one.max_ms, three.max_ms),
    ] {
        row(label, format!("{a:.2} ms"), format!("{b:.2} ms"));
    }
    row(
        "server CPU per request (n1)",
        format!("{:.0} us", us_per(one_ticks[0], one.sent)),
        format!("{:.0} us", us_per(ticks[0], three.sent)),
    );
    row(
        "server CPU per request (all nodes)",
        format!("{:.0} us", us_per(one_ticks[0], one.sent)),
        format!("{:.0} us", us_per(ticks.iter().sum(), three.sent)),
    );
    let rss: Vec<String> = nodes
        .iter()
        .map(|n| format!("{:.0}", n.peak_rss_mb()))
        .collect();
    row(
        "peak RSS (MB; n1/n2/n3)",
        format!("{one_rss:.0}"),
        rss.join("/"),
    );
    row(
        "decided without a peer's ack",
        "-".into(),
        alone.to_string(),
    );
    println!(
        "  replication from n1 (ack delay: n1's durable commit to the peer's acknowledgement \
         that it merged it; last 4096 commits):"
    );
    println!(
        "  {:<6} {:>9} {:>9} {:>10} {:>8} {:>11} {:>16} {:>13}",
        "peer",
        "ack p50",
        "ack p99",
        "worst p99",
        "commits",
        "max lag_ms",
        "max lag_entries",
        "not answering"
    );
    for (peer, p) in &lag {
        println!(
            "  {peer:<6} {:>9} {:>9} {:>10} {:>8} {:>11} {:>16} {:>13}",
            ms(p.end_p50),
            ms(p.end_p99),
            ms(p.worst_p99),
            p.end_samples,
            p.max_lag_ms,
            p.max_lag_entries,
            p.not_answering
        );
    }
    let worst = lag
        .values()
        .filter_map(|p| worse(p.worst_p99, p.end_p99))
        .fold(f64::NAN, f64::max);
    println!(
        "  aim: p99 under 50 ms -> replication ack delay p99 {} ms ({}), cluster login p99 {:.1} ms",
        ms(Some(worst).filter(|w| !w.is_nan())),
        if worst < 50.0 { "met" } else { "MISSED" },
        three.p99_ms
    );
    for (peer, p) in &lag {
        let s: Vec<String> = p.series.iter().map(u64::to_string).collect();
        println!("# {peer} lag_ms every 500 ms: {}", s.join(" "));
    }
    Ok(())
}
