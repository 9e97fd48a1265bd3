//! Clusters of real `mfagate serve` processes on 127.0.0.1, made with the binary's own
//! `cluster init-ca` / `issue-cert` / `init` / `join`, driven with pyrad and the CLI. A node
//! may sit behind a relay the test controls (`crate::relay`): it then listens on its own
//! loopback IP and advertises the relay, so every link to it can be cut, dropped or delayed.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfagate::clock::{Clock, SystemClock};
use mfagate::config::Config;
use mfagate::factor::totp;
use mfagate::store::model::AuthRecord;
use mfagate::store::Backup;
use serde_json::Value;

use crate::harness::*;
use crate::relay::Relay;

pub fn mfagate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mfagate"))
}

/// A port that was free a moment ago (the processes bind their own sockets).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The same on `ip` (any 127.0.0.x: all of 127/8 is the loopback interface on Linux).
pub fn free_port_on(ip: IpAddr) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub radius: String,
    /// Where the other nodes reach it (`cluster.advertise`: its relay, when it has one).
    pub cluster: String,
    /// Its own cluster listener, and so the IP it dials the others from.
    pub listen: SocketAddr,
    pub relay: Option<Relay>,
    child: Option<Child>,
}

impl Node {
    /// Writes the node's certificate and configuration; does not start it.
    pub async fn new(root: &Path, name: &str, ca: &Path) -> Node {
        Self::with(root, name, ca, "otp_mode = \"append\"", "").await
    }

    /// The same with the RADIUS client's settings `client` and `tail` (the `[factor]` table
    /// onwards) chosen.
    pub async fn with(root: &Path, name: &str, ca: &Path, client: &str, tail: &str) -> Node {
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        Self::build(root, name, ca, client, tail, listen, None).await
    }

    /// A node listening on its own loopback `ip` behind a new relay, which is the address
    /// it advertises (and the one its certificate names).
    pub async fn relayed(
        root: &Path,
        name: &str,
        ca: &Path,
        ip: &str,
        client: &str,
        tail: &str,
    ) -> Node {
        let ip: IpAddr = ip.parse().unwrap();
        let listen = SocketAddr::new(ip, free_port_on(ip));
        let relay = Relay::start(listen).await;
        Self::build(root, name, ca, client, tail, listen, Some(relay)).await
    }

    async fn build(
        root: &Path,
        name: &str,
        ca: &Path,
        client: &str,
        tail: &str,
        listen: SocketAddr,
        relay: Option<Relay>,
    ) -> Node {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let radius = format!("127.0.0.1:{}", free_udp_port());
        let cluster = relay.as_ref().map_or(listen, |r| r.addr).to_string();
        let (ok, _, err) = run({
            let mut c = mfagate();
            c.args(["cluster", "issue-cert", name, "--address", &cluster])
                .arg("--ca")
                .arg(ca)
                .arg("--out")
                .arg(dir.join("certs"));
            c
        })
        .await;
        assert!(ok, "issue-cert {name}: {err}");
        let config = dir.join("mfagate.toml");
        let d = dir.display();
        std::fs::write(
            &config,
            format!(
                r#"node_name = "{name}"
data_dir = "{d}/data"
[log]
level = "info,openraft=warn"
[radius]
listen = ["{radius}"]
[[radius.clients]]
name = "vpn"
address = "127.0.0.1"
secret = "{SECRET}"
{client}
[primary]
backend = "local"
[primary.local]
hash_memory_kib = 64
hash_iterations = 1
[cluster]
listen = "{listen}"
advertise = "{cluster}"
ca_file = "{d}/certs/ca.pem"
cert_file = "{d}/certs/{name}.pem"
key_file = "{d}/certs/{name}.key"
{tail}
"#
            ),
        )
        .unwrap();
        Node {
            name: name.into(),
            dir,
            config,
            radius,
            cluster,
            listen,
            relay,
            child: None,
        }
    }

    /// The IP this node's cluster connections come from.
    pub fn ip(&self) -> IpAddr {
        self.listen.ip()
    }

    pub fn relay(&self) -> &Relay {
        self.relay.as_ref().expect("a relayed node")
    }

    pub fn cli(&self, args: &[&str]) -> Command {
        let mut c = mfagate();
        c.args(args).arg("-c").arg(&self.config);
        c
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = run(self.cli(args)).await;
        assert!(ok, "{} {args:?}: {err}", self.name);
        out
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .unwrap();
        let child = self
            .cli(&["serve"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL (what `Child::kill` sends): no shutdown, nothing flushed but what the store
    /// had committed.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The node's store as `mfagate backup` writes it (online through the admin socket; a
    /// stopped node's file is opened directly).
    pub async fn dump(&self) -> mfagate::store::Backup {
        let file = self.dir.join("dump.json");
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let (ok, _, err) = run({
                let mut c = self.cli(&["backup"]);
                c.arg(&file);
                c
            })
            .await;
            if ok {
                break;
            }
            // A daemon just started holds the file before its admin socket answers.
            let starting = err.contains("in use by another mfagate process");
            assert!(
                starting && Instant::now() < until,
                "{}: backup: {err}\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let b = std::fs::read(&file).unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    pub async fn status(&self) -> Option<Value> {
        let (ok, out, _) = run(self.cli(&["cluster", "status", "--format", "json"])).await;
        ok.then(|| serde_json::from_str(out.trim()).ok()).flatten()
    }

    /// Waits until this node's status satisfies `f`.
    pub async fn wait_status(
        &self,
        what: &str,
        within: Duration,
        f: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = Instant::now() + within;
        loop {
            if let Some(v) = self.status().await {
                if f(&v) {
                    return v;
                }
                if Instant::now() > until {
                    panic!(
                        "{}: {what} not within {within:?}; status {v}\n{}",
                        self.name,
                        self.log()
                    );
                }
            } else if Instant::now() > until {
                panic!(
                    "{}: {what} not within {within:?}; no status\n{}",
                    self.name,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn login(&self, user: &str, password: &str, seed: &[u8]) -> String {
        self.login_at(user, password, seed, 0).await
    }

    /// The same with the code `offset` steps ahead: the replay guard is cluster-wide, so a
    /// second node logging the same user in within one step takes the next step's code.
    pub async fn login_at(&self, user: &str, password: &str, seed: &[u8], offset: u64) -> String {
        let cfg = Config::load(&self.config).unwrap();
        let step = totp::step_at(SystemClock.now_ms(), &cfg.factor.totp) + offset;
        let code = totp::code_at(seed, step, &cfg.factor.totp);
        self.login_with(user, password, &code).await
    }

    /// A PAP login with this exact code, for a test that must later replay the very code used
    /// (recomputing it could land in the next time step and be a fresh, valid code).
    pub async fn login_with(&self, user: &str, password: &str, code: &str) -> String {
        let r = pyrad(
            &self.radius,
            SECRET,
            &[
                "--enforce-ma",
                "--user",
                user,
                "--password",
                &format!("{password},{code}"),
            ],
        )
        .await;
        r["code"].as_str().unwrap_or("none").to_owned()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn make_ca(root: &Path) -> PathBuf {
    let ca = root.join("ca");
    let (ok, _, err) = run({
        let mut c = mfagate();
        c.args(["cluster", "init-ca", "--out"]).arg(&ca);
        c
    })
    .await;
    assert!(ok, "init-ca: {err}");
    ca
}

/// `issue-cert NODE` from the CA in `ca` into `out` (127.0.0.1:1: never dialled).
pub async fn issue_cert(ca: &Path, node: &str, out: &Path) {
    let mut c = mfagate();
    c.args(["cluster", "issue-cert", node, "--address", "127.0.0.1:1"])
        .arg("--ca")
        .arg(ca)
        .arg("--out")
        .arg(out);
    let (ok, _, err) = run(c).await;
    assert!(ok, "issue-cert {node}: {err}");
}

/// A CA and two nodes; the first is initialised as a one-node cluster, started, and leads.
pub async fn first_of_two(tag: &str) -> (PathBuf, Node, Node) {
    let root = temp_dir(tag);
    let ca = make_ca(&root).await;
    let mut n1 = Node::new(&root, "n1", &ca).await;
    let n2 = Node::new(&root, "n2", &ca).await;
    n1.ok(&["cluster", "init"]).await;
    n1.start();
    n1.wait_status("leader", Duration::from_secs(15), |v| v["role"] == "leader")
        .await;
    (root, n1, n2)
}

/// Three nodes with the RADIUS client's settings `client` and `tail` (see [`Node::with`]):
/// n1 initialised and leading, n2 and n3 joined, all three voters.
pub async fn three_nodes(root: &Path, ca: &Path, client: &str, tail: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    for name in ["n1", "n2", "n3"] {
        nodes.push(Node::with(root, name, ca, client, tail).await);
    }
    form_cluster(&mut nodes).await;
    nodes
}

/// Makes `nodes` one cluster: the first initialised and leading, the others joined through
/// it, all of them voters.
pub async fn form_cluster(nodes: &mut [Node]) {
    nodes[0].ok(&["cluster", "init"]).await;
    nodes[0].start();
    nodes[0]
        .wait_status("leader", Duration::from_secs(15), |v| v["role"] == "leader")
        .await;
    let leader = nodes[0].cluster.clone();
    for n in nodes.iter_mut().skip(1) {
        n.ok(&["cluster", "join", &leader]).await;
        n.start();
    }
    let all = nodes.len();
    nodes[0]
        .wait_status("every node a voter", Duration::from_secs(30), |v| {
            voters(v) == all
        })
        .await;
}

/// The `[factor]` tail for mfagate's own SMS codes sent through `sink` (token in `root`).
pub fn sms_tail(root: &Path, sink: &crate::http_sink::Sink) -> String {
    std::fs::write(root.join("sms.token"), "sms-token-0123\n").unwrap();
    format!(
        "[factor]\nsms_provider = \"sms\"\n[[factor.provider]]\nname = \"sms\"\nkind = \"sms_http\"\n\
         secret_file = \"{}\"\nurl = \"{}\"\nmethod = \"POST\"\n\
         headers = {{ \"Content-Type\" = \"application/json\" }}\n\
         body = '{{\"to\":\"{{phone}}\",\"text\":\"Your code is {{code}}\"}}'\ntimeout_secs = 2\n",
        root.join("sms.token").display(),
        sink.url("/sms")
    )
}

/// The last six digits of the newest SMS text.
pub fn sms_code(sink: &crate::http_sink::Sink) -> String {
    let text = sink.requests().last().unwrap().body.clone();
    let digits: Vec<char> = text.chars().filter(|c| c.is_ascii_digit()).collect();
    digits[digits.len() - 6..].iter().collect()
}

/// Adds `user` (password `PASSWORD`) with method sms and `phone` through `node`'s CLI.
pub async fn add_sms_user(node: &Node, user: &str, password: &str, phone: &str) {
    let (ok, _, err) = run_with_stdin(
        node.cli(&[
            "user",
            "add",
            user,
            "--password-stdin",
            "--method",
            "sms",
            "--phone",
            phone,
        ]),
        Some(&format!("{password}\n")),
    )
    .await;
    assert!(ok, "user add {user}: {err}");
}

/// Waits until `user show USER` succeeds on `node`.
pub async fn wait_user(node: &Node, user: &str, within: Duration) {
    let until = Instant::now() + within;
    while !run(node.cli(&["user", "show", user])).await.0 {
        assert!(
            Instant::now() < until,
            "{user} did not reach {} within {within:?}\n{}",
            node.name,
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn voters(v: &Value) -> usize {
    v["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|x| x["role"] == "leader" || x["role"] == "follower")
                .count()
        })
        .unwrap_or(0)
}

/// Adds a user with a password through `node`'s CLI, enrols TOTP there; returns the seed and
/// the node that applied it.
pub async fn add_enrolled(node: &Node, user: &str, password: &str) -> (Vec<u8>, String) {
    let (ok, out, err) = run_with_stdin(
        node.cli(&["user", "add", user, "--password-stdin"]),
        Some(&format!("{password}\n")),
    )
    .await;
    assert!(ok, "user add {user} on {}: {err}", node.name);
    let applied_by = out
        .split("applied_by: ")
        .nth(1)
        .map(|s| s.split([',', '\n']).next().unwrap_or("").trim().to_owned())
        .unwrap_or_default();
    let uri = node.ok(&["user", "enroll-totp", user]).await;
    (seed_from_uri(uri.lines().next().unwrap()), applied_by)
}

/// One PAP request to `node` (challenge mode), with `state` when answering a challenge.
pub async fn ask(node: &Node, user: &str, password: &str, state: Option<&str>) -> Value {
    let mut args = vec!["--enforce-ma", "--user", user, "--password", password];
    if let Some(s) = state {
        args.extend(["--state", s]);
    }
    pyrad(&node.radius, SECRET, &args).await
}

/// Asks until the answer's code is `want` (login state from another node may take a moment
/// to arrive), for at most 2 s; returns the last answer.
pub async fn ask_until(node: &Node, user: &str, password: &str, state: &str, want: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let r = ask(node, user, password, Some(state)).await;
        if r["code"] == want || Instant::now() > until {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The login state every member must hold alike once its links heal, taken from a dump:
/// challenges, consumed TOTP steps, the users' newest SMS challenge and the authentication
/// log (each record under its origin's key), plus the directory that Raft replicates.
///
/// Left out, as legitimately per node: the cluster identity and seed key, RADIUS clients
/// seen signing, push state (per node by design), and the failure counters — a dump holds
/// only the node's own share (`factor_failures`; peers' shares are in a table no backup
/// carries), so failures are compared as each node's combined view through `user show`
/// ([`failures`]). Challenges that expired before `open_at_ms` are left out too: each node
/// purges expired ones on its own schedule.
#[derive(Debug, PartialEq)]
pub struct LoginState {
    pub challenges: BTreeMap<String, Value>,
    pub totp_steps: BTreeMap<String, u64>,
    pub sms_latest: BTreeMap<String, String>,
    pub auth_log: BTreeMap<(u64, u64, u64), AuthRecord>,
    pub users: BTreeMap<String, Value>,
}

impl LoginState {
    pub fn of(b: &Backup, open_at_ms: u64) -> LoginState {
        let t = &b.tables;
        LoginState {
            challenges: t
                .challenges
                .iter()
                .filter(|(_, c)| c.expires_ms > open_at_ms)
                .map(|(id, c)| (id.clone(), serde_json::to_value(c).unwrap()))
                .collect(),
            totp_steps: t.totp_steps.iter().cloned().collect(),
            sms_latest: t.sms_latest.iter().cloned().collect(),
            auth_log: t.auth_log.iter().cloned().collect(),
            users: t
                .directory
                .users
                .iter()
                .map(|(k, u)| (k.clone(), serde_json::to_value(u).unwrap()))
                .collect(),
        }
    }

    /// Where `self` (of node `a`) and `other` (of node `b`) differ, one line per key.
    pub fn diff(&self, a: &str, other: &LoginState, b: &str) -> Vec<String> {
        fn section<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
            out: &mut Vec<String>,
            name: &str,
            (a, x): (&str, &BTreeMap<K, V>),
            (b, y): (&str, &BTreeMap<K, V>),
        ) {
            for (k, v) in x {
                match y.get(k) {
                    None => out.push(format!("{name} {k:?}: only on {a}: {v:?}")),
                    Some(w) if w != v => {
                        out.push(format!("{name} {k:?}: {a} has {v:?}, {b} has {w:?}"))
                    }
                    Some(_) => {}
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    out.push(format!("{name} {k:?}: only on {b}: {w:?}"));
                }
            }
        }
        let mut out = Vec::new();
        let (x, y) = (self, other);
        section(
            &mut out,
            "challenge",
            (a, &x.challenges),
            (b, &y.challenges),
        );
        section(
            &mut out,
            "totp step",
            (a, &x.totp_steps),
            (b, &y.totp_steps),
        );
        section(
            &mut out,
            "sms latest",
            (a, &x.sms_latest),
            (b, &y.sms_latest),
        );
        section(&mut out, "auth record", (a, &x.auth_log), (b, &y.auth_log));
        section(&mut out, "user", (a, &x.users), (b, &y.users));
        out
    }
}

/// Dumps every node until their login state agrees, for at most `within`; returns the dumps
/// and how long agreement took. Panics with the differences and the logs otherwise.
pub async fn wait_agree(nodes: &[&Node], within: Duration) -> (Vec<Backup>, Duration) {
    let started = Instant::now();
    loop {
        let mut dumps = Vec::new();
        for n in nodes {
            dumps.push(n.dump().await);
        }
        // Challenges any node could have purged by now are not compared.
        let open_at = dumps.iter().map(|d| d.created_ms).max().unwrap_or(0) + 1000;
        let views: Vec<_> = dumps.iter().map(|d| LoginState::of(d, open_at)).collect();
        let diffs: Vec<String> = (1..views.len())
            .flat_map(|i| views[0].diff(&nodes[0].name, &views[i], &nodes[i].name))
            .collect();
        if diffs.is_empty() {
            return (dumps, started.elapsed());
        }
        if started.elapsed() > within {
            let logs: Vec<String> = nodes
                .iter()
                .map(|n| format!("--- {} ---\n{}", n.name, n.log()))
                .collect();
            panic!(
                "login state still differs after {within:?} ({} differences):\n{}\n{}",
                diffs.len(),
                diffs
                    .iter()
                    .take(40)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n"),
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The user's failed codes and whether the second factor is locked, as `user show` on `node`
/// sees them: its own share and its peers' together.
pub async fn failures(node: &Node, user: &str) -> (u32, bool) {
    let out = node.ok(&["user", "show", user]).await;
    let field = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_owned()))
            .unwrap_or_default()
    };
    let count = field("failed_codes").parse().unwrap_or_else(|_| {
        panic!(
            "{}: no failed_codes in `user show {user}`:\n{out}",
            node.name
        )
    });
    let locked = field("locked_until");
    (
        count,
        !locked.is_empty() && locked != "-" && locked != "null",
    )
}

mod directory;
mod faults;
mod login_state;
mod portal;
mod push;
