//! Starts a gateway in-process with a manual clock, and runs the real RADIUS clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mfagate::admin::{self, AdminContext, Request};
use mfagate::clock::{Clock, ManualClock, SharedClock};
use mfagate::config::Config;
use mfagate::factor::totp;
use mfagate::frontend::radius::accounting::AccountingFrontend;
use mfagate::frontend::radius::RadiusFrontend;
use mfagate::server::{self, Listeners, Running};
use mfagate::store::Store;
use serde_json::Value;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "it-shared-secret-0123456789";
pub const OTHER_SECRET: &str = "other-client-secret-987654321";
/// 2026-11-23T12:00:00Z, mid-period, so ±1 step stays inside the same minute.
pub const T0_MS: u64 = 1_795_435_215_000;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("mfagate-it-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub struct Gateway {
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub cfg: Arc<Config>,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub radius: Arc<RadiusFrontend>,
    /// The accounting port (bound on port 0 when the config has `radius.accounting_listen`).
    pub acct_addr: Option<SocketAddr>,
    pub accounting: Option<Arc<AccountingFrontend>>,
    /// The bound address of each `[[ldap.listeners]]` entry, in order.
    pub ldap_addrs: Vec<SocketAddr>,
    /// The `[metrics]` HTTP listener (bound on port 0 when the config has the section).
    pub metrics_addr: Option<SocketAddr>,
    /// The `[portal]` listener (bound on port 0 when the config has the section).
    pub portal_addr: Option<SocketAddr>,
    cancel: CancellationToken,
    running: Option<Running>,
}

/// The first RADIUS client's settings beyond name/address/secret, e.g. `otp_mode = "append"`.
pub async fn start(client_extra: &str) -> Gateway {
    start_with(client_extra, "").await
}

pub async fn start_with(client_extra: &str, radius_extra: &str) -> Gateway {
    start_full(client_extra, radius_extra, 64).await
}

/// `hash_kib` sets the argon2id memory cost, which sets how long a password check takes.
pub async fn start_full(client_extra: &str, radius_extra: &str, hash_kib: u32) -> Gateway {
    let primary = format!(
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = {hash_kib}\nhash_iterations = 1\n"
    );
    start_with_primary(client_extra, radius_extra, &primary).await
}

/// A gateway whose `[primary]` section (with its sub-tables) is `primary`.
pub async fn start_with_primary(client_extra: &str, radius_extra: &str, primary: &str) -> Gateway {
    start_config(client_extra, radius_extra, primary, "").await
}

/// The full form: `tail` is appended to the configuration (e.g. an `[ldap]` section, whose
/// listeners are bound on port 0 whatever their `address`).
pub async fn start_config(
    client_extra: &str,
    radius_extra: &str,
    primary: &str,
    tail: &str,
) -> Gateway {
    start_config_in(temp_dir("gw"), client_extra, radius_extra, primary, tail).await
}

/// [`start_config`] in `dir`, whose `data` the test may have prepared (a file system mounted
/// there, say).
pub async fn start_config_in(
    dir: PathBuf,
    client_extra: &str,
    radius_extra: &str,
    primary: &str,
    tail: &str,
) -> Gateway {
    let toml = format!(
        r#"
node_name = "it-node"
data_dir = "{data}"
[radius]
listen = ["127.0.0.1:0"]
{radius_extra}

[[radius.clients]]
name = "vpn"
address = "127.0.0.1/32"
secret = "{SECRET}"
{client_extra}

[[radius.clients]]
name = "other"
address = "127.0.0.2/32"
secret = "{OTHER_SECRET}"

{primary}

[factor]
max_failures = 5
lockout_secs = 600

{tail}
"#,
        data = dir.join("data").display()
    );
    let config_path = dir.join("mfagate.toml");
    std::fs::write(&config_path, toml).unwrap();
    start_from(dir, config_path).await
}

/// Starts a gateway on an existing configuration and data directory.
pub async fn start_from(dir: PathBuf, config_path: PathBuf) -> Gateway {
    let cfg = Arc::new(Config::load(&config_path).unwrap());
    let clock = Arc::new(ManualClock::new(T0_MS));
    let store = Store::open(&cfg.data_dir).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let mut accounting = Vec::new();
    for _ in cfg.radius.iter().flat_map(|r| &r.accounting_listen) {
        accounting.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    }
    let acct_addr = accounting.first().map(|s| s.local_addr().unwrap());
    let mut ldap = Vec::new();
    let mut ldap_addrs = Vec::new();
    for _ in cfg.ldap.iter().flat_map(|l| &l.listeners) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ldap_addrs.push(l.local_addr().unwrap());
        ldap.push(l);
    }
    let metrics = match cfg.metrics {
        Some(_) => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
        None => None,
    };
    let metrics_addr = metrics.as_ref().map(|l| l.local_addr().unwrap());
    let portal = match cfg.portal {
        Some(_) => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
        None => None,
    };
    let portal_addr = portal.as_ref().map(|l| l.local_addr().unwrap());
    let admin = admin::bind(&cfg).unwrap();
    let cancel = CancellationToken::new();
    let running = server::start(
        cfg.clone(),
        store.clone(),
        clock.clone() as SharedClock,
        Listeners {
            radius: vec![sock],
            accounting,
            ldap,
            admin: Some(admin),
            cluster: None,
            metrics,
            portal,
        },
        cancel.clone(),
    )
    .await
    .unwrap();
    let radius = running.radius.clone().unwrap();
    let accounting = running.accounting.clone();
    Gateway {
        acct_addr,
        accounting,
        addr,
        dir,
        config_path,
        cfg,
        store,
        clock,
        radius,
        ldap_addrs,
        metrics_addr,
        portal_addr,
        cancel,
        running: Some(running),
    }
}

impl Gateway {
    pub fn admin_ctx(&self) -> AdminContext {
        AdminContext {
            cfg: self.cfg.clone(),
            store: self.store.clone(),
            clock: self.clock.clone() as SharedClock,
            directory: mfagate::cluster::Directory::new(self.store.clone(), None).unwrap(),
        }
    }

    pub async fn admin(&self, req: Request) -> Result<Value, String> {
        admin::execute(&self.admin_ctx(), req).await
    }

    /// Adds a user with a password and an enrolled TOTP; returns the seed.
    pub async fn add_user(&self, name: &str, password: &str) -> Vec<u8> {
        self.admin(Request::UserAdd {
            name: name.into(),
            password: Some(password.into()),
            method: None,
            phone: None,
            provider: None,
        })
        .await
        .unwrap();
        let v = self
            .admin(Request::UserEnrollTotp { name: name.into() })
            .await
            .unwrap();
        seed_from_uri(v["uri"].as_str().unwrap())
    }

    /// The code for `seed` at the gateway's current time plus `steps` periods.
    pub fn code(&self, seed: &[u8], steps: i64) -> String {
        let step = totp::step_at(self.clock.now_ms(), &self.cfg.factor.totp) as i64 + steps;
        totp::code_at(seed, step as u64, &self.cfg.factor.totp)
    }

    /// What SIGHUP does in `mfagate serve`: reads `config_path` again and applies it.
    pub async fn reload(&self) -> Result<mfagate::reload::Reloaded, mfagate::reload::ReloadError> {
        let running = self.running.as_ref().expect("the gateway runs");
        running.reload(&self.config_path).await
    }

    pub fn server(&self) -> String {
        self.addr.to_string()
    }

    pub fn auth_log(&self) -> Vec<mfagate::store::model::AuthRecord> {
        // Audit records of decisions that wrote nothing else are queued, not awaited.
        self.store.wait_for_writes().unwrap();
        self.store.read(|r| r.auth_log(0, 10_000)).unwrap()
    }

    pub async fn stop(self) {
        let dir = self.dir.clone();
        self.stop_keep_dir().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Stops the daemon and starts it again on the same data directory (a restart).
    pub async fn restart(self) -> Gateway {
        let (dir, config_path) = (self.dir.clone(), self.config_path.clone());
        self.stop_keep_dir().await;
        start_from(dir, config_path).await
    }

    /// Stops the daemon and releases the store, leaving the data directory in place.
    pub async fn stop_keep_dir(mut self) {
        self.cancel.cancel();
        if let Some(r) = self.running.take() {
            r.join().await;
        }
        mfagate::admin::AdminListener::cleanup(&self.cfg);
    }
}

/// Adds an mfagate record without a local password (it lives in AD) and enrols a TOTP;
/// returns the seed.
pub async fn enrol(gw: &Gateway, sam: &str) -> Vec<u8> {
    gw.admin(Request::UserAdd {
        name: sam.into(),
        password: None,
        method: None,
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
    let v = gw
        .admin(Request::UserEnrollTotp { name: sam.into() })
        .await
        .unwrap();
    seed_from_uri(v["uri"].as_str().unwrap())
}

pub fn seed_from_uri(uri: &str) -> Vec<u8> {
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap();
    base32_decode(secret)
}

fn base32_decode(s: &str) -> Vec<u8> {
    let (mut buf, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("bad base32"),
        } as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    let p = std::env::var_os("MFAGATE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} missing: run scripts/test.sh, which installs the test clients",
        p.display()
    );
    p
}

/// Runs a command off the async runtime and returns (status ok, stdout, stderr).
pub async fn run(cmd: std::process::Command) -> (bool, String, String) {
    run_with_stdin(cmd, None).await
}

pub async fn run_with_stdin(
    mut cmd: std::process::Command,
    input: Option<&str>,
) -> (bool, String, String) {
    let input = input.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let mut stdin = child.stdin.take().unwrap();
        if let Some(i) = input {
            stdin.write_all(i.as_bytes()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// One request through pyrad (`tests/py/radius_client.py`); returns its JSON line.
pub async fn pyrad(server: &str, secret: &str, args: &[&str]) -> Value {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/radius_client.py"))
        .args(["--server", server, "--secret", secret, "--timeout", "1"])
        .args(args);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "radius_client.py failed: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bad JSON {out:?}: {e}; {err}"))
}

/// PAP request with Message-Authenticator, from the "vpn" client.
pub async fn pap(gw: &Gateway, user: &str, password: &str, state: Option<&str>) -> Value {
    let mut args = vec!["--enforce-ma", "--user", user, "--password", password];
    if let Some(s) = state {
        args.extend(["--state", s]);
    }
    pyrad(&gw.server(), SECRET, &args).await
}

/// One request through FreeRADIUS's radclient; returns its whole output.
pub async fn radclient(server: &str, secret: &str, kind: &str, attrs: &str) -> (bool, String) {
    let mut cmd = std::process::Command::new("radclient");
    cmd.args(["-x", "-r", "1", "-t", "1", server, kind, secret]);
    let attrs = attrs.to_owned();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("radclient not found: run scripts/test.sh, which installs freeradius-utils");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(attrs.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap();
    (ok, format!("{out}{err}"))
}

/// Sends raw bytes from `from` and waits up to `wait` for one reply.
pub async fn raw_exchange(
    to: SocketAddr,
    from: &str,
    bytes: &[u8],
    wait: Duration,
) -> Option<Vec<u8>> {
    let s = UdpSocket::bind(from).await.unwrap();
    raw_on(&s, to, bytes, wait).await
}

pub async fn raw_on(
    s: &UdpSocket,
    to: SocketAddr,
    bytes: &[u8],
    wait: Duration,
) -> Option<Vec<u8>> {
    s.send_to(bytes, to).await.unwrap();
    let mut buf = vec![0u8; 5000];
    match tokio::time::timeout(wait, s.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

/// A PAP Access-Request built with our codec and sent from `from` (e.g. 127.0.0.2, which the
/// pyrad client cannot bind); returns the verified reply code, or None without a reply.
pub async fn raw_pap(
    to: SocketAddr,
    from: &str,
    secret: &str,
    user: &str,
    password: &str,
    state: Option<&[u8]>,
) -> Option<u8> {
    use mfagate::radius::codec::*;
    let (req, ra) = pap_request(user, password, secret, 42, state);
    let reply = raw_exchange(to, from, &req, Duration::from_secs(1)).await?;
    let p = Packet::parse(&reply).unwrap();
    p.verify_response(&ra, secret.as_bytes()).unwrap();
    Some(p.code)
}

/// A PAP Access-Request datagram (Message-Authenticator first) and its Request
/// Authenticator.
pub fn pap_request(
    user: &str,
    password: &str,
    secret: &str,
    identifier: u8,
    state: Option<&[u8]>,
) -> (Vec<u8>, [u8; 16]) {
    use mfagate::radius::codec::*;
    let mut ra = [0u8; 16];
    getrandom_fill(&mut ra);
    let mut attrs = Vec::new();
    push_attr(&mut attrs, ATTR_USER_NAME, user.as_bytes());
    push_attr(
        &mut attrs,
        ATTR_USER_PASSWORD,
        &hide_user_password(password.as_bytes(), secret.as_bytes(), &ra),
    );
    if let Some(s) = state {
        push_attr(&mut attrs, ATTR_STATE, s);
    }
    let req = encode_request(
        ACCESS_REQUEST,
        identifier,
        &ra,
        &attrs,
        secret.as_bytes(),
        true,
    )
    .unwrap();
    (req, ra)
}

pub fn getrandom_fill(b: &mut [u8]) {
    use std::hash::{BuildHasher, Hasher};
    for chunk in b.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::SeqCst) as u64);
        let v = h.finish().to_be_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

pub fn unhex(s: &str) -> Vec<u8> {
    mfagate::store::model::unhex(s).unwrap()
}

/// A variable the test run's Samba AD DC exported (`scripts/test.sh` sources its env file).
pub fn ad_env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!(
            "{k} is not set: run the tests with scripts/test.sh (as root), which starts Samba AD"
        )
    })
}

/// The `[primary]` section for the test DC; `urls` and `starttls` as given.
pub fn ad_primary(urls: &[String], starttls: bool, ca: &str) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        r#"[primary]
backend = "ad"
[primary.ad]
urls = [{urls}]
ca_file = "{ca}"
starttls = {starttls}
base_dn = "{base}"
bind_dn = "{bind}"
bind_password_env = "AD_BIND_PASSWORD"
netbios_domain = "{nb}"
upn_suffixes = ["{realm}"]
timeout_secs = 3
"#,
        urls = urls.join(", "),
        base = ad_env("AD_BASE_DN"),
        bind = ad_env("AD_BIND_DN"),
        nb = ad_env("AD_NETBIOS"),
        realm = ad_env("AD_REALM"),
    )
}

/// A CA and a server certificate for 127.0.0.1, made once per test run.
pub fn certs() -> &'static PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mfagate-it-certs-{}", std::process::id()));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/make-test-cert.sh");
        let st = std::process::Command::new("bash")
            .arg(script)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "make-test-cert.sh failed");
        dir
    })
}

/// One simple bind (python ldap3, `tests/py/ldap_client.py`) to a cleartext listener on
/// 127.0.0.1; its LDAP result code.
pub async fn ldap_bind(port: u16, dn: &str, password: &str) -> i64 {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/ldap_client.py"))
        .args(["--url", &format!("ldap://127.0.0.1:{port}")])
        .arg(serde_json::json!([{"op": "bind", "dn": dn, "password": password}]).to_string());
    let (_, out, err) = run(cmd).await;
    let r: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out} {err}: {e}"));
    r[0]["result"].as_i64().unwrap_or(-1)
}
