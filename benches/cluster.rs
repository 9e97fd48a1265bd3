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
//! `cargo bench --bench cluster`. Knobs: `BENCH_WRITES` (500), `BENCH_IMPORT_USERS` (100000),
//! `BENCH_LOGINS` (20000).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
    let writes: usize = common::env_num("BENCH_WRITES", 500);
    let users: usize = common::env_num("BENCH_IMPORT_USERS", 100_000);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = std::env::temp_dir().join(format!("mfagate-bench-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let result = run(repo, &root, writes, users);
    common::stop_slapd(repo, &root.join("slapd"));
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn run(repo: &Path, root: &Path, writes: usize, users: usize) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# cluster bench: {writes} sequential user adds, {users}-user import, {cores} cores");
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

    // A single node outside any cluster: the baseline.
    let mut single = Node::new(root, "single", None, &primary)?;
    single.start(&penv)?;
    let (s50, s99) = write_latency(&single, "s", writes)?;
    drop(single);

    let ca = root.join("ca");
    let mut c = mfagate();
    c.args(["cluster", "init-ca", "--out"]).arg(&ca);
    ok(c)?;
    let mut nodes = Vec::new();
    for name in ["m1", "m2", "m3"] {
        nodes.push(Node::new(root, name, Some(&ca), &primary)?);
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
    drop(nodes);
    login_throughput(root, &ca)
}

fn login_throughput(root: &Path, ca: &Path) -> anyhow::Result<()> {
    let users: usize = common::env_num("BENCH_LOGINS", 20_000);
    let hash = mfagate::config::LocalPrimaryConfig {
        hash_memory_kib: 64,
        hash_iterations: 1,
        hash_parallelism: 1,
    };
    let port = free_udp_port()?;
    let mut single = Node::new(root, "lsingle", None, &radius_tables(port))?;
    let cfg = mfagate::config::Config::load(&single.config)?;
    let seeds = common::seed_users(&cfg, users, &hash)?;
    single.start(&[])?;
    let (one, one_serial) = logins(&single, port, &seeds)?;
    drop(single);

    let ports: Vec<u16> = (0..3).map(|_| free_udp_port()).collect::<Result<_, _>>()?;
    let mut nodes = Vec::new();
    for (i, name) in ["l1", "l2", "l3"].iter().enumerate() {
        nodes.push(Node::new(root, name, Some(ca), &radius_tables(ports[i]))?);
    }
    let cfg = mfagate::config::Config::load(&nodes[0].config)?;
    let seeds = common::seed_users(&cfg, users, &hash)?;
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
