//! Clusters of real `mfagate serve` processes on 127.0.0.1, made with the binary's own
//! `cluster init-ca` / `issue-cert` / `init` / `join`, driven with pyrad and the CLI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfagate::clock::{Clock, SystemClock};
use mfagate::config::Config;
use mfagate::factor::totp;
use serde_json::Value;

use crate::harness::*;

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
    pub cluster: String,
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
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let radius = format!("127.0.0.1:{}", free_udp_port());
        let cluster = format!("127.0.0.1:{}", free_port());
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
listen = "{cluster}"
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
            child: None,
        }
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

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
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
    nodes[0]
        .wait_status("three voters", Duration::from_secs(30), |v| voters(v) == 3)
        .await;
    nodes
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

mod directory;
mod login_state;
mod push;
