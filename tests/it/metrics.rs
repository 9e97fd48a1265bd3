//! `[metrics]`: `/metrics` scraped after logins and hostile packets and parsed with the
//! Prometheus project's own parsers (`prometheus_client` on PyPI, `tests/py/prom_parse.py`),
//! the counts exactly what was sent; `/healthz`, `/readyz` and the HTTP listener's limits;
//! and a store that cannot write (its filesystem frozen) making the node unready and
//! Status-Server unanswered until the fault ends.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

const METRICS: &str = "[metrics]\nlisten = \"127.0.0.1:9812\"\n";

/// One HTTP exchange on a fresh connection: (status code, body). `None`: the connection was
/// closed without an answer.
async fn http(addr: SocketAddr, request: &[u8]) -> Option<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(request).await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the metrics listener kept the connection open"
    );
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: mfagate\r\n\r\n");
    http(addr, req.as_bytes()).await.expect("no answer")
}

/// A scrape as Prometheus asks for it (OpenMetrics), or as curl does (text 0.0.4).
async fn scrape(addr: SocketAddr, openmetrics: bool) -> String {
    let accept = if openmetrics {
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
    } else {
        ""
    };
    let req = format!("GET /metrics HTTP/1.1\r\nHost: mfagate\r\n{accept}\r\n");
    let (code, body) = http(addr, req.as_bytes()).await.expect("no answer");
    assert_eq!(code, 200, "{body}");
    body
}

/// Every sample, as Prometheus' parser reads the scrape.
async fn parsed(text: &str, openmetrics: bool) -> Vec<Value> {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/prom_parse.py"));
    if openmetrics {
        cmd.arg("--openmetrics");
    }
    let (ok, out, err) = run_with_stdin(cmd, Some(text)).await;
    assert!(ok, "prom_parse.py refused the scrape: {err}\n{text}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The value of the sample `name` whose labels include all of `labels`; 0 when absent
/// (a counter that has not counted anything yet).
fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|s| s["name"] == name)
        .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
        .collect();
    assert!(
        found.len() <= 1,
        "{name} {labels:?} is ambiguous: {found:?}"
    );
    found.first().copied().unwrap_or(0.0)
}

async fn status_server(gw: &Gateway) -> String {
    let r = pyrad(&gw.server(), SECRET, &["--status-server", "--enforce-ma"]).await;
    r["code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_counts_exactly_what_was_sent() {
    let primary = "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let ldap = "[ldap]\n[[ldap.listeners]]\nname = \"apps\"\naddress = \"127.0.0.1:0\"\ntls = \"none\"\nallow_cleartext_bind = true\n";
    let acct = "accounting_listen = [\"127.0.0.1:0\"]";
    let gw = start_config("", acct, primary, &format!("{METRICS}{ldap}")).await;
    let addr = gw.metrics_addr.unwrap();
    let seed = gw.add_user("alice", "alice-password").await;

    // One login through a challenge (challenge, accept), one wrong password, and one
    // challenge left open.
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let state = r["state"].as_str().unwrap().to_owned();
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let r = pap(&gw, "alice", "not-her-password", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(status_server(&gw).await, "Access-Accept");

    // Hostile: three from an address no client has, two with the wrong secret.
    for _ in 0..3 {
        assert_eq!(
            raw_pap(gw.addr, "127.0.0.3:0", SECRET, "alice", "x", None).await,
            None
        );
    }
    for _ in 0..2 {
        let r = pyrad(
            &gw.server(),
            "not-the-right-secret-at-all",
            &["--user", "alice", "--password", "alice-password"],
        )
        .await;
        assert_eq!(r["code"], "timeout");
    }

    // One accounting record (no upstream: answered here).
    let (ok, out) = radclient(
        &gw.acct_addr.unwrap().to_string(),
        SECRET,
        "acct",
        "Acct-Status-Type = Start\nAcct-Session-Id = \"m-1\"\nNAS-IP-Address = 10.0.0.1\n",
    )
    .await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");

    // LDAP: a bind with password and code, one with a wrong password.
    let ldap_url = format!("ldap://127.0.0.1:{}", gw.ldap_addrs[0].port());
    for (cred, ok) in [
        (format!("alice-password,{}", gw.code(&seed, 1)), true),
        ("not-her-password,123456".to_owned(), false),
    ] {
        let mut cmd = std::process::Command::new("ldapwhoami");
        cmd.args(["-x", "-o", "nettimeout=10", "-H", &ldap_url])
            .args(["-D", "uid=alice,ou=people,dc=example", "-w", &cred]);
        let (done, out, err) = run(cmd).await;
        assert_eq!(done, ok, "ldapwhoami: {out} {err}");
    }

    for openmetrics in [false, true] {
        let text = scrape(addr, openmetrics).await;
        assert!(
            !text.contains("alice"),
            "a user name in the metrics:\n{text}"
        );
        let s = parsed(&text, openmetrics).await;
        let req = |result| {
            value(
                &s,
                "mfagate_requests_total",
                &[
                    ("frontend", "radius"),
                    ("client", "vpn"),
                    ("result", result),
                ],
            )
        };
        assert_eq!(
            (req("accept"), req("reject"), req("challenge"), req("error")),
            (1.0, 1.0, 2.0, 0.0),
            "{text}"
        );
        // The other client is known from the configuration and counted from zero.
        let other = [("client", "other"), ("result", "accept")];
        assert!(s.iter().any(|x| x["name"] == "mfagate_requests_total"
            && other.iter().all(|(k, v)| x["labels"][*k] == *v)));
        let binds = |result| {
            value(
                &s,
                "mfagate_requests_total",
                &[("frontend", "ldap"), ("client", "apps"), ("result", result)],
            )
        };
        assert_eq!((binds("accept"), binds("reject")), (1.0, 1.0), "{text}");
        let decided = |method, result, reason| {
            value(
                &s,
                "mfagate_decisions_total",
                &[("method", method), ("result", result), ("reason", reason)],
            )
        };
        assert_eq!(decided("totp", "accept", "code_accepted"), 2.0, "{text}");
        assert_eq!(decided("password", "reject", "wrong_password"), 2.0);
        assert_eq!(decided("totp", "challenge", "code_requested"), 2.0);
        let decisions: f64 = s
            .iter()
            .filter(|x| x["name"] == "mfagate_decisions_total")
            .map(|x| x["value"].as_f64().unwrap())
            .sum();
        assert_eq!(decisions, 6.0, "one decision per request and bind");
        let latency = |result| {
            value(
                &s,
                "mfagate_decision_duration_seconds_count",
                &[("frontend", "radius"), ("result", result)],
            )
        };
        assert_eq!((latency("accept"), latency("challenge")), (1.0, 2.0));
        let dropped = |cause| value(&s, "mfagate_radius_dropped_total", &[("cause", cause)]);
        assert_eq!(dropped("unknown_client"), 3.0, "{text}");
        assert_eq!(dropped("bad_authenticator"), 2.0);
        assert_eq!(dropped("malformed"), 0.0);
        assert_eq!(dropped("max_in_flight"), 0.0);
        assert_eq!(
            value(
                &s,
                "mfagate_radius_status_server_total",
                &[("result", "answered")]
            ),
            1.0
        );
        assert_eq!(value(&s, "mfagate_challenges_pending", &[]), 1.0);
        assert_eq!(value(&s, "mfagate_pushes_waiting", &[]), 0.0);
        // Four requests decided, each answer cached for retransmits.
        assert_eq!(value(&s, "mfagate_radius_reply_cache_entries", &[]), 4.0);
        assert_eq!(value(&s, "mfagate_ready", &[]), 1.0);
        assert_eq!(value(&s, "mfagate_store_writable", &[]), 1.0);
        assert!(value(&s, "mfagate_store_commit_duration_seconds_count", &[]) >= 1.0);
        let acct = |result| {
            value(
                &s,
                "mfagate_accounting_requests_total",
                &[("result", result)],
            )
        };
        assert_eq!((acct("answered"), acct("forwarded")), (1.0, 0.0));
    }
    // The open challenge expires (challenge_ttl_secs, 300 s by default) and drops out.
    gw.clock.advance_ms(301_000);
    let s = parsed(&scrape(addr, false).await, false).await;
    assert_eq!(value(&s, "mfagate_challenges_pending", &[]), 0.0);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_and_the_listeners_limits() {
    let gw = start_config("", "", "[primary]\nbackend = \"local\"\n", METRICS).await;
    let addr = gw.metrics_addr.unwrap();
    assert_eq!(get(addr, "/healthz").await, (200, "alive\n".into()));
    assert_eq!(get(addr, "/readyz").await, (200, "ready\n".into()));
    assert_eq!(get(addr, "/nope").await.0, 404);
    assert_eq!(get(addr, "/metrics/../readyz").await.0, 404);
    let post = http(
        addr,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
    )
    .await;
    assert_eq!(post.map(|p| p.0), Some(405));
    assert_eq!(
        http(addr, b"GET /metrics\r\n\r\n").await.map(|p| p.0),
        Some(400)
    );
    // A request head over 8 KiB: refused and closed, never read to its end.
    let mut huge = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let answer = http(addr, &huge).await;
    assert!(answer.as_ref().is_none_or(|a| a.0 == 431), "{answer:?}");
    // A client that sends nothing is cut off after the read timeout (5 s).
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(8), idle.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "an idle connection stayed open"
    );
    // Still serving after all that.
    assert_eq!(get(addr, "/readyz").await.0, 200);
    gw.stop().await;
}

/// A loop-mounted ext4 for a data directory, frozen and thawed with fsfreeze(8): while it is
/// frozen every write and fsync to it blocks, as on a hung disk, until it is thawed. Dropping
/// it thaws and unmounts.
struct FreezableFs {
    mount: std::path::PathBuf,
}

impl FreezableFs {
    /// `None` when this is not root (mounting needs it); the caller then skips.
    fn new(dir: &std::path::Path) -> Option<Self> {
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if !root {
            return None;
        }
        let image = dir.join("fs.img");
        let mount = dir.join("data");
        std::fs::create_dir_all(&mount).unwrap();
        let sh = |args: &[&str]| {
            let out = std::process::Command::new(args[0])
                .args(&args[1..])
                .output()
                .unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let img = image.to_str().unwrap();
        sh(&["truncate", "-s", "64M", img]);
        sh(&["mkfs.ext4", "-q", "-F", img]);
        sh(&["mount", "-o", "loop", img, mount.to_str().unwrap()]);
        Some(Self { mount })
    }

    fn freeze(&self, frozen: bool) {
        let flag = if frozen { "-f" } else { "-u" };
        let out = std::process::Command::new("fsfreeze")
            .arg(flag)
            .arg(&self.mount)
            .output()
            .unwrap();
        assert!(
            out.status.success() || !frozen,
            "fsfreeze {flag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for FreezableFs {
    fn drop(&mut self) {
        self.freeze(false);
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.mount)
            .status();
    }
}

/// Polls `/readyz` until its status is `want` (up to `within`); returns the last answer.
async fn readyz_until(addr: SocketAddr, want: u16, within: Duration) -> (u16, String) {
    let until = tokio::time::Instant::now() + within;
    loop {
        let r = get(addr, "/readyz").await;
        if r.0 == want || tokio::time::Instant::now() >= until {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_write_makes_the_node_unready_until_it_can() {
    let dir = temp_dir("metrics-fault");
    let Some(fs) = FreezableFs::new(&dir) else {
        eprintln!("skipped: mounting a loop filesystem needs root");
        return;
    };
    let config_path = dir.join("mfagate.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
node_name = "it-node"
data_dir = "{data}"
[radius]
listen = ["127.0.0.1:0"]
[[radius.clients]]
name = "vpn"
address = "127.0.0.1/32"
secret = "{SECRET}"
[primary]
backend = "local"
[primary.local]
hash_memory_kib = 64
hash_iterations = 1
{METRICS}
"#,
            data = fs.mount.display()
        ),
    )
    .unwrap();
    let gw = start_from(dir.clone(), config_path).await;
    let addr = gw.metrics_addr.unwrap();
    let seed = gw.add_user("alice", "alice-password").await;
    assert_eq!(get(addr, "/readyz").await.0, 200);
    assert_eq!(status_server(&gw).await, "Access-Accept");

    fs.freeze(true);
    // Checked without panicking: the filesystem must be thawed before anything else, or
    // the store's writer (and so the test's teardown) stays blocked on it.
    let frozen = async {
        let (code, body) = readyz_until(addr, 503, Duration::from_secs(15)).await;
        if code != 503 || !body.contains("store: an empty commit did not finish") {
            return Err(format!("/readyz while frozen: {code} {body:?}"));
        }
        let s = status_server(&gw).await;
        if s != "timeout" {
            return Err(format!(
                "Status-Server answered while the store cannot write: {s}"
            ));
        }
        let text = scrape(addr, true).await;
        let s = parsed(&text, true).await;
        let figures = (
            value(&s, "mfagate_ready", &[]),
            value(&s, "mfagate_store_writable", &[]),
            value(
                &s,
                "mfagate_radius_status_server_total",
                &[("result", "unready")],
            ),
        );
        if figures != (0.0, 0.0, 1.0) {
            return Err(format!("figures while frozen: {figures:?}\n{text}"));
        }
        if get(addr, "/healthz").await.0 != 200 {
            return Err("/healthz failed while only the store is stuck".into());
        }
        Ok(())
    }
    .await;
    fs.freeze(false);
    frozen.unwrap();

    let (code, body) = readyz_until(addr, 200, Duration::from_secs(20)).await;
    assert_eq!((code, body.as_str()), (200, "ready\n"));
    assert_eq!(status_server(&gw).await, "Access-Accept");
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let state = r["state"].as_str().unwrap().to_owned();
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let s = parsed(&scrape(addr, false).await, false).await;
    assert_eq!(value(&s, "mfagate_ready", &[]), 1.0);
    assert_eq!(
        value(
            &s,
            "mfagate_radius_status_server_total",
            &[("result", "answered")]
        ),
        2.0
    );
    gw.stop_keep_dir().await;
    drop(fs);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_primary_with_every_server_held_down_is_unready() {
    let (silent, mut heard) = crate::accounting::silent_server().await;
    let tail = format!(
        "{METRICS}\n[[upstream]]\nname = \"nps\"\ntimeout_secs = 1\nretries = 0\n\
         [[upstream.servers]]\naddress = \"{silent}\"\nsecret = \"upstream-secret-0123456789\"\n"
    );
    let primary = "[primary]\nbackend = \"radius\"\nupstream = \"nps\"\n";
    let gw = start_config("otp_mode = \"append\"", "", primary, &tail).await;
    let addr = gw.metrics_addr.unwrap();
    assert_eq!(get(addr, "/readyz").await, (200, "ready\n".into()));
    // The only server does not answer: the login goes unanswered and the server is held
    // down, so no login can be decided here until it is back.
    let r = pyrad(
        &gw.server(),
        SECRET,
        &[
            "--user",
            "alice",
            "--password",
            "pw,123456",
            "--timeout",
            "3",
        ],
    )
    .await;
    assert_eq!(r["code"], "timeout", "{r}");
    assert_eq!(
        heard.recv().await.map(|p| p[0]),
        Some(1),
        "the login went upstream"
    );
    let (code, body) = readyz_until(addr, 503, Duration::from_secs(5)).await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains(&format!(
            "primary upstream nps: every server is held down ({silent})"
        )),
        "{body}"
    );
    // Status-Server is still answered: only a store that cannot write silences it.
    assert_eq!(status_server(&gw).await, "Access-Accept");
    let s = parsed(&scrape(addr, true).await, true).await;
    let server = [("upstream", "nps"), ("server", silent.as_str())];
    assert_eq!(
        value(&s, "mfagate_upstream_exchange_errors_total", &server),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "mfagate_primary_server_up",
            &[("primary", "upstream nps"), ("server", silent.as_str())]
        ),
        0.0
    );
    assert_eq!(value(&s, "mfagate_ready", &[]), 0.0);
    assert_eq!(value(&s, "mfagate_store_writable", &[]), 1.0);
    let req = [
        ("frontend", "radius"),
        ("client", "vpn"),
        ("result", "error"),
    ];
    assert_eq!(value(&s, "mfagate_requests_total", &req), 1.0);
    gw.stop().await;
}
