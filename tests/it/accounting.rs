//! The accounting port (RFC 2866): FreeRADIUS's radclient as the NAS, raw UDP for
//! retransmits and hostile packets, and the run's FreeRADIUS upstream (its accounting port,
//! which writes every record it acknowledges to `log/accounting.detail`) or a silent socket
//! as the `accounting_upstream`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::harness::*;
use mfagate::radius::codec::*;

const QUIET: Duration = Duration::from_millis(300);
const ACCT: &str = "accounting_listen = [\"127.0.0.1:0\"]";

async fn start_acct(client_extra: &str) -> Gateway {
    start_with(client_extra, ACCT).await
}

/// A gateway whose accounting records go to an `[[upstream]]` "acct" over `servers`.
async fn start_forwarding(servers: &[(String, String)], extra: &str) -> Gateway {
    let mut tail = format!("[[upstream]]\nname = \"acct\"\n{extra}\n");
    for (addr, secret) in servers {
        tail += &format!("[[upstream.servers]]\naddress = \"{addr}\"\nsecret = \"{secret}\"\n");
    }
    let radius = format!("{ACCT}\naccounting_upstream = \"acct\"");
    let primary = "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    start_config("", &radius, primary, &tail).await
}

fn acct(gw: &Gateway) -> SocketAddr {
    gw.acct_addr.expect("the gateway has an accounting port")
}

/// The run's FreeRADIUS upstream: its accounting address (auth port + 1), secret and dir.
fn upstream_acct() -> (String, String, std::path::PathBuf) {
    let auth: SocketAddr = std::env::var("MFAGATE_UPSTREAM_ADDR")
        .expect(
            "MFAGATE_UPSTREAM_ADDR is not set: run the tests through scripts/test.sh, which \
             starts the FreeRADIUS upstream (scripts/start-radius-upstream.sh)",
        )
        .parse()
        .expect("MFAGATE_UPSTREAM_ADDR is IP:PORT");
    let secret = std::env::var("MFAGATE_UPSTREAM_SECRET")
        .unwrap_or_else(|_| "upstream-secret-0123456789".into());
    let dir = std::env::var("MFAGATE_UPSTREAM_DIR").expect("MFAGATE_UPSTREAM_DIR is not set");
    let addr = SocketAddr::new(auth.ip(), auth.port() + 1);
    (addr.to_string(), secret, dir.into())
}

/// A session id no other test (or earlier run) used.
fn session_id(tag: &str) -> String {
    let mut r = [0u8; 6];
    getrandom_fill(&mut r);
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("it-{tag}-{}-{hex}", std::process::id())
}

/// The FreeRADIUS upstream's detail record holding `session`, if it has one.
fn detail_record(dir: &std::path::Path, session: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("log/accounting.detail")).unwrap_or_default();
    text.split("\n\n")
        .find(|r| r.contains(&format!("Acct-Session-Id = \"{session}\"")))
        .map(str::to_owned)
}

/// radclient as the NAS with its own timeout (seconds) and one try.
async fn radclient_acct(
    to: SocketAddr,
    secret: &str,
    attrs: &str,
    timeout: &str,
) -> (bool, String) {
    let mut cmd = std::process::Command::new("radclient");
    cmd.args([
        "-x",
        "-r",
        "1",
        "-t",
        timeout,
        &to.to_string(),
        "acct",
        secret,
    ]);
    let (ok, out, err) = run_with_stdin(cmd, Some(attrs)).await;
    (ok, format!("{out}{err}"))
}

fn record_attrs(status: &str, session: &str) -> Vec<u8> {
    let mut a = Vec::new();
    let status: u32 = match status {
        "Start" => 1,
        "Stop" => 2,
        _ => 3,
    };
    push_attr(&mut a, ATTR_ACCT_STATUS_TYPE, &status.to_be_bytes());
    push_attr(&mut a, ATTR_ACCT_SESSION_ID, session.as_bytes());
    push_attr(&mut a, ATTR_USER_NAME, b"alice");
    a
}

/// The Proxy-State values of a response, in order.
fn proxy_states(p: &Packet<'_>) -> Vec<Vec<u8>> {
    p.attrs_of(ATTR_PROXY_STATE).map(<[u8]>::to_vec).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radclient_gets_a_signed_accounting_response() {
    let gw = start_acct("").await;
    let to = acct(&gw).to_string();
    let (ok, out) = radclient(
        &to,
        SECRET,
        "acct",
        "Acct-Status-Type = Start\nAcct-Session-Id = \"rc-1\"\nUser-Name = \"alice\"\n\
         NAS-IP-Address = 10.0.0.1\nProxy-State = 0xaa01\nProxy-State = 0xbb02\n",
    )
    .await;
    assert!(ok, "{out}");
    let reply = out
        .split("Received Accounting-Response")
        .nth(1)
        .unwrap_or_else(|| panic!("no Accounting-Response: {out}"));
    // radclient checked the Response Authenticator and the Message-Authenticator; it prints
    // the Proxy-States back in order.
    let a = reply.find("Proxy-State = 0xaa01").expect(reply);
    let b = reply.find("Proxy-State = 0xbb02").expect(reply);
    assert!(a < b, "{reply}");

    // A request signed with a Message-Authenticator (RFC 5176-style, authenticator zeroed).
    let (ok, out) = radclient(
        &to,
        SECRET,
        "acct",
        "Acct-Status-Type = Stop\nAcct-Session-Id = \"rc-1\"\nMessage-Authenticator = 0x00\n",
    )
    .await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");

    // Status-Server on the accounting port: an Accounting-Response (RFC 5997 §3).
    let (ok, out) = radclient(&to, SECRET, "status", "Message-Authenticator = 0x00\n").await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");

    // On the wire: Message-Authenticator first, Response Authenticator right.
    let req =
        encode_accounting_request(7, &record_attrs("Start", "raw-1"), SECRET.as_bytes(), false)
            .unwrap();
    let resp = raw_exchange(acct(&gw), "127.0.0.1:0", &req, Duration::from_secs(1))
        .await
        .expect("answered");
    let p = Packet::parse(&resp).unwrap();
    assert_eq!((p.code, p.identifier), (ACCOUNTING_RESPONSE, 7));
    assert_eq!(p.attributes()[0].0, ATTR_MESSAGE_AUTHENTICATOR);
    let q = Packet::parse(&req).unwrap();
    p.verify_accounting_response(&q.authenticator, SECRET.as_bytes())
        .unwrap();
    let stats = &gw.accounting.as_ref().unwrap().stats;
    assert_eq!(stats.answered.load(Ordering::Relaxed), 3);
    // The authentication port still does not take accounting.
    assert_eq!(
        raw_exchange(gw.addr, "127.0.0.1:0", &req, QUIET).await,
        None
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_authenticator_convention_is_per_client() {
    // FreeRADIUS 3.2.1's radclient checks an Accounting-Response's MA with the authenticator
    // zeroed (the default); the request-authenticator form (FreeRADIUS >= 3.2.9) fails there.
    let attrs = "Acct-Status-Type = Start\nAcct-Session-Id = \"conv-1\"\n";
    let gw = start_acct("accounting_message_authenticator = \"request-authenticator\"").await;
    let (ok, out) = radclient(&acct(&gw).to_string(), SECRET, "acct", attrs).await;
    assert!(
        !ok && out.contains("invalid Message-Authenticator"),
        "{out}"
    );
    let req = encode_accounting_request(
        3,
        &record_attrs("Start", "conv-2"),
        SECRET.as_bytes(),
        false,
    )
    .unwrap();
    let resp = raw_exchange(acct(&gw), "127.0.0.1:0", &req, QUIET)
        .await
        .expect("answered");
    let p = Packet::parse(&resp).unwrap();
    assert_eq!(p.attributes()[0].0, ATTR_MESSAGE_AUTHENTICATOR);
    // The Access-Accept rule with the Accounting-Request's authenticator.
    p.verify_response(&req[4..20].try_into().unwrap(), SECRET.as_bytes())
        .unwrap();
    gw.stop().await;

    let gw = start_acct("accounting_message_authenticator = \"none\"").await;
    let (ok, out) = radclient(&acct(&gw).to_string(), SECRET, "acct", attrs).await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");
    let resp = raw_exchange(acct(&gw), "127.0.0.1:0", &req, QUIET)
        .await
        .expect("answered");
    assert_eq!(resp.len(), HEADER_LEN, "no attributes at all");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_and_unknown_clients_get_no_answer() {
    let gw = start_acct("").await;
    let stats = &gw.accounting.as_ref().unwrap().stats;
    let (ok, out) = radclient(
        &acct(&gw).to_string(),
        OTHER_SECRET,
        "acct",
        "Acct-Status-Type = Start\nAcct-Session-Id = \"ws-1\"\n",
    )
    .await;
    assert!(!ok && !out.contains("Received"), "{out}");
    assert!(stats.bad_authenticator.load(Ordering::Relaxed) >= 1);
    // Right Request Authenticator, wrong Message-Authenticator: dropped too.
    let attrs = record_attrs("Start", "ws-2");
    let mut req = encode_accounting_request(1, &attrs, SECRET.as_bytes(), true).unwrap();
    req[HEADER_LEN + 2] ^= 0xff;
    let ra = accounting_request_authenticator(&req, SECRET.as_bytes());
    req[4..20].copy_from_slice(&ra);
    assert_eq!(
        raw_exchange(acct(&gw), "127.0.0.1:0", &req, QUIET).await,
        None
    );
    // A Status-Server without Message-Authenticator: dropped (RFC 5997 §3).
    let status =
        encode_request(STATUS_SERVER, 2, &[4u8; 16], &[], SECRET.as_bytes(), false).unwrap();
    assert_eq!(
        raw_exchange(acct(&gw), "127.0.0.1:0", &status, QUIET).await,
        None
    );

    // 127.0.0.3 is no client; 127.0.0.2 is one, with its own secret.
    let req = encode_accounting_request(1, &attrs, OTHER_SECRET.as_bytes(), false).unwrap();
    assert_eq!(
        raw_exchange(acct(&gw), "127.0.0.3:0", &req, QUIET).await,
        None
    );
    assert_eq!(stats.unknown_client.load(Ordering::Relaxed), 1);
    let resp = raw_exchange(acct(&gw), "127.0.0.2:0", &req, QUIET)
        .await
        .expect("the other client is answered with its secret");
    Packet::parse(&resp)
        .unwrap()
        .verify_accounting_response(&req[4..20].try_into().unwrap(), OTHER_SECRET.as_bytes())
        .unwrap();
    assert_eq!(stats.answered.load(Ordering::Relaxed), 1);
    assert_eq!(
        gw.accounting.as_ref().unwrap().cache_len(),
        1,
        "drops leave no trace"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmits_get_identical_bytes_and_proxy_states_come_back() {
    let gw = start_acct("").await;
    let stats = &gw.accounting.as_ref().unwrap().stats;
    let mut attrs = record_attrs("Interim-Update", "rt-1");
    push_attr(&mut attrs, ATTR_PROXY_STATE, b"first-hop");
    push_attr(&mut attrs, ATTR_PROXY_STATE, &[0u8, 1, 2]);
    let req = encode_accounting_request(77, &attrs, SECRET.as_bytes(), true).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let first = raw_on(&sock, acct(&gw), &req, Duration::from_secs(1))
        .await
        .expect("answered");
    let again = raw_on(&sock, acct(&gw), &req, Duration::from_secs(1))
        .await
        .expect("answered again");
    assert_eq!(first, again, "a retransmit gets the same bytes");
    assert_eq!(stats.answered.load(Ordering::Relaxed), 1);
    assert_eq!(stats.duplicates_answered.load(Ordering::Relaxed), 1);
    let p = Packet::parse(&first).unwrap();
    assert_eq!(
        proxy_states(&p),
        vec![b"first-hop".to_vec(), vec![0u8, 1, 2]]
    );
    assert_eq!(p.attributes().len(), 3, "MA and the two Proxy-States only");
    // Same Identifier, new record (new authenticator): a new answer.
    let next =
        encode_accounting_request(77, &record_attrs("Stop", "rt-1"), SECRET.as_bytes(), false)
            .unwrap();
    let other = raw_on(&sock, acct(&gw), &next, Duration::from_secs(1))
        .await
        .expect("answered");
    assert_ne!(other, first);
    assert_eq!(stats.answered.load(Ordering::Relaxed), 2);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_are_dropped_and_the_port_keeps_answering() {
    let gw = start_acct("").await;
    let stats = &gw.accounting.as_ref().unwrap().stats;
    let good =
        encode_accounting_request(5, &record_attrs("Start", "mf-1"), SECRET.as_bytes(), false)
            .unwrap();
    let mut bad: Vec<Vec<u8>> = vec![
        good[..19].to_vec(),
        vec![0u8; 4097],
        {
            let mut p = good.clone();
            p[2..4].copy_from_slice(&19u16.to_be_bytes());
            p
        },
        {
            let mut p = good.clone();
            p[2..4].copy_from_slice(&600u16.to_be_bytes());
            p
        },
        {
            let mut p = good.clone();
            p[HEADER_LEN + 1] = 200; // the first attribute overruns the packet
            p
        },
        {
            let mut p = good.clone();
            p[HEADER_LEN + 1] = 1;
            p
        },
    ];
    // Codes other than Accounting-Request (and Status-Server), signed right all the same.
    for code in [ACCESS_REQUEST, ACCOUNTING_RESPONSE, 42] {
        let mut p = good.clone();
        p[0] = code;
        let ra = accounting_request_authenticator(&p, SECRET.as_bytes());
        p[4..20].copy_from_slice(&ra);
        bad.push(p);
    }
    for p in &bad {
        assert_eq!(
            raw_exchange(acct(&gw), "127.0.0.1:0", p, Duration::from_millis(150)).await,
            None,
            "{:02x?}",
            &p[..p.len().min(24)]
        );
    }
    assert_eq!(stats.malformed.load(Ordering::Relaxed), bad.len() as u64);
    // Early NASes' all-zero Request Authenticator: discarded (RFC 5080 §2.3.3).
    let mut zero = good.clone();
    zero[4..20].copy_from_slice(&[0u8; 16]);
    assert_eq!(
        raw_exchange(acct(&gw), "127.0.0.1:0", &zero, QUIET).await,
        None
    );
    assert_eq!(stats.bad_authenticator.load(Ordering::Relaxed), 1);
    // And the port still answers.
    let resp = raw_exchange(acct(&gw), "127.0.0.1:0", &good, Duration::from_secs(1)).await;
    assert!(resp.is_some());
    let (ok, out) = radclient(
        &acct(&gw).to_string(),
        SECRET,
        "acct",
        "Acct-Status-Type = Stop\nAcct-Session-Id = \"mf-1\"\n",
    )
    .await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");
    assert_eq!(gw.accounting.as_ref().unwrap().cache_len(), 2);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_the_freeradius_upstream_before_the_nas_is_answered() {
    let (addr, secret, dir) = upstream_acct();
    let gw = start_forwarding(&[(addr, secret)], "timeout_secs = 2").await;
    let session = session_id("fwd");
    let (ok, out) = radclient_acct(
        acct(&gw),
        SECRET,
        &format!(
            "Acct-Status-Type = Start\nAcct-Session-Id = \"{session}\"\nUser-Name = \"alice\"\n\
             Acct-Delay-Time = 4\nClass = 0x75702d636c617373\nFramed-IP-Address = 10.8.0.5\n\
             Cisco-AVPair = \"audit=on\"\nMessage-Authenticator = 0x00\nProxy-State = 0x4e415331\n"
        ),
        "5",
    )
    .await;
    assert!(ok, "{out}");
    let reply = out
        .split("Received Accounting-Response")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(reply.contains("Proxy-State = 0x4e415331"), "{reply}");
    // Answered only after the upstream acknowledged, so the record is there already.
    let rec = detail_record(&dir, &session).unwrap_or_else(|| panic!("{session} not upstream"));
    for want in [
        "Acct-Status-Type = Start",
        "User-Name = \"alice\"",
        "Acct-Delay-Time = 4",
        "Class = 0x75702d636c617373",
        "Framed-IP-Address = 10.8.0.5",
        "Cisco-AVPair = \"audit=on\"",
    ] {
        assert!(rec.contains(want), "{want} missing: {rec}");
    }
    // This leg's Proxy-State stayed here (the upstream logs the one it got, if any).
    assert!(!rec.contains("0x4e415331"), "{rec}");
    let stats = &gw.accounting.as_ref().unwrap().stats;
    assert_eq!(stats.forwarded.load(Ordering::Relaxed), 1);
    gw.stop().await;
}

/// A UDP socket that never answers; hands over every datagram it gets.
pub async fn silent_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok((n, _)) = sock.recv_from(&mut buf).await {
            if tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    (addr, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_upstream_means_no_answer_for_the_nas() {
    const UP_SECRET: &str = "silent-upstream-secret-0123";
    let (silent, mut heard) = silent_server().await;
    let gw = start_forwarding(
        &[(silent, UP_SECRET.into())],
        "timeout_secs = 1\nretries = 1",
    )
    .await;
    let stats = &gw.accounting.as_ref().unwrap().stats;
    let mut attrs = record_attrs("Stop", "silent-1");
    push_attr(&mut attrs, ATTR_PROXY_STATE, b"ps");
    let req = encode_accounting_request(9, &attrs, SECRET.as_bytes(), true).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert_eq!(
        raw_on(&sock, acct(&gw), &req, Duration::from_millis(800)).await,
        None
    );
    // The NAS's retransmit while the upstream is tried is dropped, not sent on again.
    assert_eq!(
        raw_on(&sock, acct(&gw), &req, Duration::from_millis(1800)).await,
        None
    );
    for _ in 0..50 {
        if stats.unacknowledged.load(Ordering::Relaxed) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stats.unacknowledged.load(Ordering::Relaxed), 1);
    assert_eq!(stats.duplicates_dropped.load(Ordering::Relaxed), 1);
    assert_eq!(stats.answered.load(Ordering::Relaxed), 0);
    // The upstream got the first send and one identical retransmit: an Accounting-Request
    // signed for its secret, without this leg's Message-Authenticator and Proxy-State.
    let mut got = Vec::new();
    while let Ok(d) = heard.try_recv() {
        got.push(d);
    }
    assert_eq!(got.len(), 2, "{got:02x?}");
    assert_eq!(got[0], got[1], "a retransmit is the same bytes");
    let p = Packet::parse(&got[0]).unwrap();
    assert_eq!(p.code, ACCOUNTING_REQUEST);
    p.verify_accounting_request(UP_SECRET.as_bytes()).unwrap();
    assert!(!p.has_message_authenticator());
    assert_eq!(p.attr(ATTR_PROXY_STATE), None);
    assert_eq!(p.attr(ATTR_ACCT_SESSION_ID), Some(&b"silent-1"[..]));
    // Given up: the cache forgot it, so the NAS's next retransmit is tried afresh.
    assert_eq!(gw.accounting.as_ref().unwrap().cache_len(), 0);
    assert_eq!(
        raw_on(&sock, acct(&gw), &req, Duration::from_millis(300)).await,
        None
    );
    let again = tokio::time::timeout(Duration::from_secs(2), heard.recv()).await;
    assert!(matches!(again, Ok(Some(_))), "tried again");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_past_a_silent_server_adds_the_wait_to_acct_delay_time() {
    let (addr, secret, dir) = upstream_acct();
    let (silent, _heard) = silent_server().await;
    let gw = start_forwarding(
        &[(silent, secret.clone()), (addr, secret)],
        "timeout_secs = 1\nretries = 0",
    )
    .await;
    let session = session_id("failover");
    let mut attrs = record_attrs("Start", &session);
    push_attr(&mut attrs, ATTR_ACCT_DELAY_TIME, &2u32.to_be_bytes());
    let req = encode_accounting_request(11, &attrs, SECRET.as_bytes(), false).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&req, acct(&gw)).await.unwrap();
    // While the silent server is waited on, 5 s pass (the gateway's clock).
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.clock.advance_ms(5_000);
    let mut buf = [0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(4), sock.recv_from(&mut buf))
        .await
        .expect("answered after the failover")
        .unwrap();
    Packet::parse(&buf[..n])
        .unwrap()
        .verify_accounting_response(&req[4..20].try_into().unwrap(), SECRET.as_bytes())
        .unwrap();
    let rec = detail_record(&dir, &session).unwrap_or_else(|| panic!("{session} not upstream"));
    assert!(rec.contains("Acct-Delay-Time = 7"), "{rec}");
    gw.stop().await;
}

/// An accounting server like FreeRADIUS's accounting port: it answers Status-Server with an
/// unsigned Accounting-Response, and Accounting-Requests only while `answer` is set. Counts
/// the Status-Servers and the records it acknowledged.
struct FakeAcctServer {
    addr: String,
    answer: std::sync::Arc<std::sync::atomic::AtomicBool>,
    probes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    acked: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

async fn fake_acct_server(secret: &'static str) -> FakeAcctServer {
    use std::sync::atomic::{AtomicBool, AtomicU64};
    use std::sync::Arc;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap().to_string();
    let (answer, probes, acked) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let (a, p, k) = (answer.clone(), probes.clone(), acked.clone());
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let Ok(req) = Packet::parse(&buf[..n]) else {
                continue;
            };
            match req.code {
                STATUS_SERVER => {
                    p.fetch_add(1, Ordering::SeqCst);
                }
                ACCOUNTING_REQUEST if a.load(Ordering::SeqCst) => {
                    req.verify_accounting_request(secret.as_bytes()).unwrap();
                    k.fetch_add(1, Ordering::SeqCst);
                }
                _ => continue,
            }
            let resp = encode_accounting_response(
                req.identifier,
                &req.authenticator,
                &[],
                secret.as_bytes(),
                None,
            )
            .unwrap();
            let _ = sock.send_to(&resp, from).await;
        }
    });
    FakeAcctServer {
        addr,
        answer,
        probes,
        acked,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_accounting_server_comes_back_through_status_server() {
    const UP_SECRET: &str = "fake-accounting-secret-0123";
    let (addr, secret, dir) = upstream_acct();
    let fake = fake_acct_server(UP_SECRET).await;
    let gw = start_forwarding(
        &[(fake.addr.clone(), UP_SECRET.into()), (addr, secret)],
        "timeout_secs = 1\nretries = 0",
    )
    .await;
    let send = |session: &str, id: u8| {
        encode_accounting_request(
            id,
            &record_attrs("Start", session),
            SECRET.as_bytes(),
            false,
        )
        .unwrap()
    };
    // The first server is silent: the record goes to FreeRADIUS, the first is skipped.
    let s1 = session_id("skip");
    let r = raw_exchange(
        acct(&gw),
        "127.0.0.1:0",
        &send(&s1, 1),
        Duration::from_secs(4),
    )
    .await;
    assert!(r.is_some());
    assert!(detail_record(&dir, &s1).is_some());
    // After its hold-down (30 s on the gateway's clock) it is probed; its unsigned
    // Accounting-Response to the Status-Server brings it back.
    fake.answer.store(true, Ordering::SeqCst);
    gw.clock.advance_ms(31_000);
    for _ in 0..40 {
        if fake.probes.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(fake.probes.load(Ordering::SeqCst) > 0, "probed");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s2 = session_id("back");
    let r = raw_exchange(
        acct(&gw),
        "127.0.0.1:0",
        &send(&s2, 2),
        Duration::from_secs(2),
    )
    .await;
    assert!(r.is_some());
    assert_eq!(
        fake.acked.load(Ordering::SeqCst),
        1,
        "back in service, tried first"
    );
    assert!(detail_record(&dir, &s2).is_none());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_mutants_do_not_stop_the_port() {
    // Raw mutants, and mutated attribute lists re-signed with the right secret so they reach
    // the attribute decoding that forwarding does (vendor attributes included).
    let (silent, _heard) = silent_server().await;
    let gw = start_forwarding(
        &[(silent, "silent-upstream-secret-0123".into())],
        "timeout_secs = 1\nretries = 0",
    )
    .await;
    let mut seed = record_attrs("Interim-Update", "mut-1");
    push_vsa(&mut seed, 9, 1, b"audit=on");
    push_vsa(&mut seed, 311, 16, &[0x80; 34]);
    push_attr(&mut seed, ATTR_PROXY_STATE, b"ps");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..3000u32 {
        let mut attrs = seed.clone();
        for _ in 0..=(next() % 4) {
            let at = (next() as usize) % attrs.len();
            attrs[at] = next() as u8;
        }
        let datagram = if i % 2 == 0 {
            match encode_accounting_request(i as u8, &attrs, SECRET.as_bytes(), i % 4 == 1) {
                Some(d) => d,
                None => continue,
            }
        } else {
            let mut d = encode_accounting_request(i as u8, &seed, SECRET.as_bytes(), true).unwrap();
            let at = (next() as usize) % d.len();
            d[at] ^= (next() as u8) | 1;
            d
        };
        let _ = sock.send_to(&datagram, acct(&gw)).await;
        if i % 64 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    // The forwarding tasks are bounded by max_in_flight and give up after 1 s each.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stats = &gw.accounting.as_ref().unwrap().stats;
    assert!(
        stats.malformed.load(Ordering::Relaxed) + stats.bad_authenticator.load(Ordering::Relaxed)
            > 0
    );
    // Still serving: Status-Server is answered at once whatever the upstream does.
    let (ok, out) = radclient(
        &acct(&gw).to_string(),
        SECRET,
        "status",
        "Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(ok && out.contains("Received Accounting-Response"), "{out}");
    gw.stop().await;
}
