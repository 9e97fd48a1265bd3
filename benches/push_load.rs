//! Many logins waiting on a push at once: `BENCH_PUSH_USERS` (default 10,000) RADIUS
//! Access-Requests in wait mode are sent together to the mfagate binary (its own process),
//! whose push provider is a Duo Auth API v2 stand-in inside this bench that approves each push
//! `BENCH_PUSH_DELAY_MS` (default 5000) after it was sent. Reports the gateway's peak RSS
//! (aim: under 100 MB), that every login got exactly one Access-Accept, and that Duo got
//! exactly one push per login.
//!
//! The stand-in speaks Duo's JSON answers (preauth, async auth, auth_status) over HTTP/1.1
//! with keep-alive; it does not check signatures (the tests do that, with Duo's own client).
//!
//! `cargo bench --bench push_load` (any user).

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mfagate::config::Config;
use mfagate::primary::local::hash_password;
use mfagate::radius::codec::*;
use mfagate::store::model::{user_key, UserRecord};
use mfagate::store::Store;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

const SECRET: &str = "bench-secret-0123456789abcdef";

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let users: usize = common::env_num("BENCH_PUSH_USERS", 10_000);
    let delay_ms: u64 = common::env_num("BENCH_PUSH_DELAY_MS", 5_000);
    let work = std::env::temp_dir().join(format!("mfagate-pushload-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(run(&work, users, delay_ms));
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn run(work: &Path, users: usize, delay_ms: u64) -> anyhow::Result<()> {
    let duo = FakeDuo::start(Duration::from_millis(delay_ms)).await?;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    std::fs::write(work.join("skey"), "bench-duo-secret-key")?;
    let cfg_path = work.join("push.toml");
    std::fs::write(
        &cfg_path,
        format!(
            r#"node_name = "bench"
data_dir = "{data}"
[log]
level = "warn"
[radius]
listen = ["127.0.0.1:{port}"]
max_in_flight = {inflight}
[[radius.clients]]
name = "bench"
address = "127.0.0.1/32"
secret = "{SECRET}"
[primary]
backend = "local"
[primary.local]
hash_memory_kib = 8
hash_iterations = 1
[factor]
push_provider = "duo"
push_timeout_secs = 120
push_max_per_window = 5
[[factor.provider]]
name = "duo"
kind = "duo"
api_host = "api-bench.duosecurity.com"
ikey = "DIBENCHBENCHBENCH000"
secret_file = "{skey}"
url = "http://{duo}"
timeout_secs = 30
"#,
            data = work.join("data").display(),
            inflight = users + 100,
            skey = work.join("skey").display(),
            duo = duo.addr,
        ),
    )?;
    let cfg = Config::load(&cfg_path)?;
    seed_users(&cfg, users).await?;

    let mut gw = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["serve", "-c"])
        .arg(&cfg_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let status_path = format!("/proc/{}/status", gw.id());
    let result = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (peak, path) = (peak.clone(), status_path.clone());
            tokio::spawn(async move {
                loop {
                    if let Ok(s) = std::fs::read_to_string(&path) {
                        if let Some(kb) = s
                            .lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                        {
                            peak.fetch_max(kb, Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        };
        let t = Instant::now();
        let server: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let (accepted, rejected, lost, duplicates) = send_all(server, users).await?;
        let secs = t.elapsed().as_secs_f64();
        sampler.abort();
        let pushes = duo.pushes.load(Ordering::Relaxed);
        println!(
            "{users} logins held open on a push (approved after {delay_ms} ms): {accepted} accepted, \
             {rejected} rejected, {lost} unanswered, {duplicates} answered both ways; \
             {pushes} pushes sent; all done in {secs:.1} s; gateway peak RSS {:.0} MB",
            peak.load(Ordering::Relaxed) as f64 / 1024.0
        );
        anyhow::ensure!(
            accepted as usize == users && pushes as usize == users && duplicates == 0,
            "every login must finish exactly once with one push"
        );
        anyhow::Ok(())
    }
    .await;
    common::stop(&mut gw);
    result
}

/// `users` push users with the same cheap password hash.
async fn seed_users(cfg: &Config, users: usize) -> anyhow::Result<()> {
    let mfagate::config::PrimaryConfig::Local(local) = &cfg.primary else {
        anyhow::bail!("local primary expected");
    };
    let hash = hash_password(local, "bench-password")?;
    let store = Store::open(&cfg.data_dir)?;
    for chunk in (0..users).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<(String, UserRecord)> = chunk
            .iter()
            .map(|i| {
                let name = format!("push{i:06}");
                let u = UserRecord {
                    name: name.clone(),
                    enabled: true,
                    method: mfagate::config::Method::Push,
                    password_hash: Some(hash.clone()),
                    version: 1,
                    ..Default::default()
                };
                (user_key(&name), u)
            })
            .collect();
        store
            .write(move |tx| {
                for (k, u) in &batch {
                    tx.put_user(k, u)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(())
}

/// Sends one Access-Request per user at once (250 per socket: the Identifier is one octet),
/// retransmitting unanswered ones every 3 s as a NAS does (UDP bursts this large overflow
/// socket buffers), and waits for the answers. Returns (accepted, rejected, unanswered,
/// logins answered both ways).
async fn send_all(server: SocketAddr, users: usize) -> anyhow::Result<(u64, u64, u64, u64)> {
    let mut tasks = Vec::new();
    for chunk in (0..users).collect::<Vec<_>>().chunks(250) {
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            let sock = UdpSocket::bind("127.0.0.1:0").await?;
            let mut packets = HashMap::new();
            for (id, i) in chunk.iter().enumerate() {
                let mut ra = [0u8; 16];
                getrandom::getrandom(&mut ra)?;
                let mut attrs = Vec::new();
                push_attr(&mut attrs, ATTR_USER_NAME, format!("push{i:06}").as_bytes());
                push_attr(
                    &mut attrs,
                    ATTR_USER_PASSWORD,
                    &hide_user_password(b"bench-password", SECRET.as_bytes(), &ra),
                );
                let pkt = encode_request(
                    ACCESS_REQUEST,
                    id as u8,
                    &ra,
                    &attrs,
                    SECRET.as_bytes(),
                    true,
                )
                .ok_or_else(|| anyhow::anyhow!("request too large"))?;
                packets.insert(id as u8, (ra, pkt));
            }
            let mut answers: HashMap<u8, u8> = HashMap::new();
            let mut conflicting = 0u64;
            let deadline = Instant::now() + Duration::from_secs(150);
            let mut buf = vec![0u8; 4096];
            while answers.len() < chunk.len() && Instant::now() < deadline {
                for (id, (_, pkt)) in &packets {
                    if !answers.contains_key(id) {
                        sock.send_to(pkt, server).await?;
                    }
                }
                let round = Instant::now() + Duration::from_secs(3);
                while let Ok(Ok((n, _))) =
                    tokio::time::timeout_at(round.into(), sock.recv_from(&mut buf)).await
                {
                    let p = Packet::parse(&buf[..n])?;
                    let Some((ra, _)) = packets.get(&p.identifier) else {
                        continue;
                    };
                    p.verify_response(ra, SECRET.as_bytes())?;
                    // A retransmit may be answered again (from the reply cache): the same
                    // answer is fine, a different one is not.
                    if let Some(prev) = answers.insert(p.identifier, p.code) {
                        if prev != p.code {
                            conflicting += 1;
                        }
                    }
                }
            }
            let accepted = answers.values().filter(|c| **c == ACCESS_ACCEPT).count() as u64;
            let rejected = answers.len() as u64 - accepted;
            let lost = (chunk.len() - answers.len()) as u64;
            anyhow::Ok((accepted, rejected, lost, conflicting))
        }));
    }
    let mut total = (0, 0, 0, 0);
    for t in tasks {
        let (a, r, l, d) = t.await??;
        total = (total.0 + a, total.1 + r, total.2 + l, total.3 + d);
    }
    Ok(total)
}

/// A stand-in for Duo's Auth API v2: every user is enrolled; a push is approved `delay`
/// after it was sent.
struct FakeDuo {
    addr: SocketAddr,
    pushes: Arc<AtomicU64>,
}

impl FakeDuo {
    async fn start(delay: Duration) -> anyhow::Result<FakeDuo> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let pushes = Arc::new(AtomicU64::new(0));
        let txs: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let counter = pushes.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let (txs, counter) = (txs.clone(), counter.clone());
                tokio::spawn(async move {
                    let _ = serve_conn(s, txs, counter, delay).await;
                });
            }
        });
        Ok(FakeDuo { addr, pushes })
    }
}

async fn serve_conn(
    s: tokio::net::TcpStream,
    txs: Arc<Mutex<HashMap<String, Instant>>>,
    pushes: Arc<AtomicU64>,
    delay: Duration,
) -> anyhow::Result<()> {
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).await?;
            if h == "\r\n" || h.is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        let response = if path.starts_with("/auth/v2/preauth") {
            r#"{"stat":"OK","response":{"result":"auth","status_msg":"Account is active","devices":[]}}"#.to_owned()
        } else if path.starts_with("/auth/v2/auth_status") {
            let txid = path.split("txid=").nth(1).unwrap_or("").to_owned();
            let due = txs.lock().unwrap().get(&txid).copied();
            match due {
                Some(t) if t <= Instant::now() => {
                    r#"{"stat":"OK","response":{"result":"allow","status":"allow","status_msg":"Success. Logging you in..."}}"#.to_owned()
                }
                Some(_) => r#"{"stat":"OK","response":{"result":"waiting","status":"pushed","status_msg":"Pushed a login request to your device..."}}"#.to_owned(),
                None => r#"{"stat":"FAIL","code":40002,"message":"Invalid request parameters","message_detail":"txid"}"#.to_owned(),
            }
        } else if path.starts_with("/auth/v2/auth") {
            let n = pushes.fetch_add(1, Ordering::Relaxed);
            let txid = format!("tx-{n}");
            txs.lock()
                .unwrap()
                .insert(txid.clone(), Instant::now() + delay);
            format!(r#"{{"stat":"OK","response":{{"txid":"{txid}"}}}}"#)
        } else {
            r#"{"stat":"FAIL","code":40401,"message":"Resource not found"}"#.to_owned()
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            response.len()
        );
        w.write_all(head.as_bytes()).await?;
        w.write_all(response.as_bytes()).await?;
    }
}
