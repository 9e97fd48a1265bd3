//! The wire rules: Message-Authenticator, shared secrets, Status-Server, retransmits,
//! malformed and hostile packets, unknown clients, overload.

use std::sync::atomic::Ordering;
use std::time::Duration;

use mfagate::radius::codec::*;

use crate::harness::*;

const QUIET: Duration = Duration::from_millis(300);

fn request(
    id: u8,
    ra: [u8; 16],
    user: &str,
    password: &str,
    secret: &str,
    with_ma: bool,
) -> Vec<u8> {
    let mut attrs = Vec::new();
    push_attr(&mut attrs, ATTR_USER_NAME, user.as_bytes());
    push_attr(
        &mut attrs,
        ATTR_USER_PASSWORD,
        &hide_user_password(password.as_bytes(), secret.as_bytes(), &ra),
    );
    encode_request(ACCESS_REQUEST, id, &ra, &attrs, secret.as_bytes(), with_ma).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_authenticator_is_required_verified_and_sent_first() {
    let gw = start("").await;
    gw.add_user("alice", "alice-password").await;
    // Without MA from a client that requires it: dropped before any other work.
    let r = pyrad(
        &gw.server(),
        SECRET,
        &["--no-ma", "--user", "alice", "--password", "alice-password"],
    )
    .await;
    assert_eq!(r["code"], "timeout");
    assert_eq!(
        gw.radius
            .stats
            .missing_authenticator
            .load(Ordering::Relaxed),
        1
    );
    assert!(gw.auth_log().is_empty(), "no decision was made");
    // With a tampered MA: dropped.
    let mut p = request(1, [7; 16], "alice", "alice-password", SECRET, true);
    p[HEADER_LEN + 5] ^= 0xff;
    assert_eq!(raw_exchange(gw.addr, "127.0.0.1:0", &p, QUIET).await, None);
    assert_eq!(gw.radius.stats.bad_authenticator.load(Ordering::Relaxed), 1);
    // With a valid one: answered, MA first and valid (pyrad --enforce-ma checks it).
    let r = pap(&gw, "alice", "alice-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(
        (
            r["has_ma"].clone(),
            r["ma_first"].clone(),
            r["ma_valid"].clone()
        ),
        (true.into(), true.into(), true.into())
    );
    gw.stop().await;

    // A client allowed to omit it still gets MA-first replies.
    let gw = start("require_message_authenticator = false").await;
    gw.add_user("alice", "alice-password").await;
    let r = pyrad(
        &gw.server(),
        SECRET,
        &[
            "--no-ma",
            "--enforce-ma",
            "--user",
            "alice",
            "--password",
            "alice-password",
        ],
    )
    .await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(r["ma_first"], true);
    // ... but a wrong MA is still dropped when present.
    let mut p = request(2, [8; 16], "alice", "alice-password", SECRET, true);
    p[HEADER_LEN + 2] ^= 1;
    assert_eq!(raw_exchange(gw.addr, "127.0.0.1:0", &p, QUIET).await, None);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shared_secret_gets_no_answer() {
    let gw = start("").await;
    gw.add_user("alice", "alice-password").await;
    let r = pyrad(
        &gw.server(),
        "not-the-right-secret-at-all",
        &["--user", "alice", "--password", "alice-password"],
    )
    .await;
    assert_eq!(r["code"], "timeout");
    let (_, out) = radclient(
        &gw.server(),
        "not-the-right-secret-at-all",
        "auth",
        "User-Name = \"alice\", User-Password = \"alice-password\", Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(!out.contains("Received"), "{out}");
    assert!(gw.radius.stats.bad_authenticator.load(Ordering::Relaxed) >= 2);
    assert!(gw.auth_log().is_empty());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_server_is_answered() {
    let gw = start("").await;
    let (_, out) = radclient(
        &gw.server(),
        SECRET,
        "status",
        "Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(out.contains("Received Access-Accept"), "{out}");
    let r = pyrad(&gw.server(), SECRET, &["--status-server", "--enforce-ma"]).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(r["ma_first"], true);
    // RFC 5997: Status-Server without Message-Authenticator is dropped.
    let p = encode_request(STATUS_SERVER, 3, &[1; 16], &[], SECRET.as_bytes(), false).unwrap();
    assert_eq!(raw_exchange(gw.addr, "127.0.0.1:0", &p, QUIET).await, None);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmits_get_identical_bytes_and_one_decision() {
    let gw = start("otp_mode = \"append\"").await;
    let seed = gw.add_user("alice", "alice-password").await;
    let pkt = request(
        9,
        [3; 16],
        "alice",
        &format!("alice-password,{}", gw.code(&seed, 0)),
        SECRET,
        true,
    );
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Two copies back to back: the second arrives while the first is being decided.
    sock.send_to(&pkt, gw.addr).await.unwrap();
    let first = raw_on(&sock, gw.addr, &pkt, Duration::from_secs(2))
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let extra = tokio::time::timeout(QUIET, sock.recv_from(&mut buf)).await;
    let p = Packet::parse(&first).unwrap();
    assert_eq!(p.code, ACCESS_ACCEPT);
    p.verify_response(&[3; 16], SECRET.as_bytes()).unwrap();
    // A retransmit after the answer: the cached reply, byte for byte.
    let again = raw_on(&sock, gw.addr, &pkt, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(again, first);
    // 25 s later (inside the 30 s cache) still identical, although the code has now been used.
    gw.clock.advance_ms(25_000);
    assert_eq!(
        raw_on(&sock, gw.addr, &pkt, Duration::from_secs(2))
            .await
            .unwrap(),
        first
    );
    let s = &gw.radius.stats;
    let dups = s.duplicates_dropped.load(Ordering::Relaxed)
        + s.duplicates_answered.load(Ordering::Relaxed);
    let extra_answers = usize::from(extra.is_ok());
    assert_eq!(dups, 3);
    assert_eq!(
        gw.auth_log().len(),
        1,
        "one decision for four copies (extra answers: {extra_answers})"
    );
    // After the cache entry expires the same bytes are a new request: a replayed code.
    gw.clock.advance_ms(10_000);
    let late = raw_on(&sock, gw.addr, &pkt, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(Packet::parse(&late).unwrap().code, ACCESS_REJECT);
    // The same Identifier with a new authenticator is a new request, not a retransmit.
    let pkt2 = request(9, [4; 16], "alice", "alice-password,000000", SECRET, true);
    let r2 = raw_on(&sock, gw.addr, &pkt2, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(Packet::parse(&r2).unwrap().code, ACCESS_REJECT);
    assert_eq!(gw.auth_log().len(), 3);
    gw.stop().await;
}

fn with_length(mut p: Vec<u8>, len: u16) -> Vec<u8> {
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p
}

/// A request with Message-Authenticator whose attribute area is `attrs` verbatim.
fn raw_request(code: u8, attrs: &[u8]) -> Vec<u8> {
    encode_request(code, 5, &[2; 16], attrs, SECRET.as_bytes(), true).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_are_dropped_and_the_server_keeps_serving() {
    let gw = start("").await;
    gw.add_user("alice", "alice-password").await;
    let good = request(1, [1; 16], "alice", "alice-password", SECRET, true);
    let mut oversize = good.clone();
    oversize.resize(4097, 0);
    let oversize = with_length(oversize, 4097);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("short", good[..19].to_vec()),
        ("length below 20", with_length(good.clone(), 19)),
        (
            "length beyond datagram",
            with_length(good.clone(), good.len() as u16 + 1),
        ),
        ("length above 4096", with_length(good.clone(), 5000)),
        (
            "attribute length 0",
            raw_request(ACCESS_REQUEST, &[ATTR_USER_NAME, 0, b'a', b'b']),
        ),
        (
            "attribute length 1",
            raw_request(ACCESS_REQUEST, &[ATTR_USER_NAME, 1, b'a']),
        ),
        (
            "attribute overrun",
            raw_request(ACCESS_REQUEST, &[ATTR_USER_NAME, 40, b'a']),
        ),
        (
            "lone attribute type",
            raw_request(ACCESS_REQUEST, &[ATTR_USER_NAME]),
        ),
        ("over 4096 octets", oversize),
        ("unknown code", raw_request(99, &[ATTR_USER_NAME, 3, b'a'])),
        (
            "accounting on the auth port",
            raw_request(4, &[ATTR_USER_NAME, 3, b'a']),
        ),
        ("access-accept sent to us", raw_request(ACCESS_ACCEPT, &[])),
        ("two message-authenticators", {
            let mut a = vec![ATTR_MESSAGE_AUTHENTICATOR, 18];
            a.extend([0u8; 16]);
            raw_request(ACCESS_REQUEST, &a)
        }),
        (
            "short message-authenticator",
            encode_request(
                ACCESS_REQUEST,
                5,
                &[2; 16],
                &[ATTR_MESSAGE_AUTHENTICATOR, 6, 0, 0, 0, 0],
                SECRET.as_bytes(),
                false,
            )
            .unwrap(),
        ),
        ("user-password of 17 octets", {
            let mut a = vec![ATTR_USER_NAME, 7];
            a.extend(b"alice");
            a.extend([ATTR_USER_PASSWORD, 19]);
            a.extend([0x41u8; 17]);
            raw_request(ACCESS_REQUEST, &a)
        }),
        ("user-password of 144 octets", {
            let mut a = vec![ATTR_USER_PASSWORD, 146];
            a.extend([0x41u8; 144]);
            raw_request(ACCESS_REQUEST, &a)
        }),
    ];
    // Random garbage with a plausible header.
    let mut noise = vec![0u8; 600];
    for i in 0..200u32 {
        getrandom_fill(&mut noise);
        noise[0] = ACCESS_REQUEST;
        let n = 20 + (i as usize * 7) % 580;
        cases.push(("random", noise[..n].to_vec()));
    }
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for (i, (_, bytes)) in cases.iter().enumerate() {
        sock.send_to(bytes, gw.addr).await.unwrap();
        if i % 16 == 15 {
            // Paced, so the kernel's receive buffer does not drop any before we count them.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut buf = [0u8; 4096];
    let answered = tokio::time::timeout(Duration::from_millis(500), sock.recv_from(&mut buf)).await;
    assert!(answered.is_err(), "a malformed packet was answered");
    assert_eq!(
        gw.radius.cache_len(),
        0,
        "malformed packets must not touch the duplicate cache"
    );
    assert!(gw.auth_log().is_empty());
    let s = &gw.radius.stats;
    let dropped = s.malformed.load(Ordering::Relaxed)
        + s.bad_authenticator.load(Ordering::Relaxed)
        + s.missing_authenticator.load(Ordering::Relaxed);
    assert_eq!(dropped as usize, cases.len());
    // Still serving.
    let r = raw_on(&sock, gw.addr, &good, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(Packet::parse(&r).unwrap().code, ACCESS_CHALLENGE);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_clients_are_dropped_silently() {
    let gw = start("").await;
    gw.add_user("alice", "alice-password").await;
    let p = request(1, [1; 16], "alice", "alice-password", SECRET, true);
    for _ in 0..50 {
        assert_eq!(
            raw_exchange(gw.addr, "127.0.0.3:0", &p, Duration::from_millis(20)).await,
            None
        );
    }
    assert_eq!(gw.radius.stats.unknown_client.load(Ordering::Relaxed), 50);
    assert_eq!(gw.radius.cache_len(), 0);
    // The configured 127.0.0.2 client with its own secret is served.
    assert_eq!(
        raw_pap(
            gw.addr,
            "127.0.0.2:0",
            OTHER_SECRET,
            "alice",
            "alice-password",
            None
        )
        .await,
        Some(ACCESS_CHALLENGE)
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_beyond_max_in_flight_is_shed_not_queued() {
    // 4 MiB argon2id makes each decision take milliseconds, so a burst overlaps.
    let gw = start_full("otp_mode = \"append\"", "max_in_flight = 2", 4096).await;
    gw.add_user("alice", "alice-password").await;
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for id in 0..40u8 {
        let p = request(id, [id; 16], "alice", "wrong-password,123456", SECRET, true);
        sock.send_to(&p, gw.addr).await.unwrap();
    }
    let mut answers = 0;
    let mut buf = [0u8; 4096];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(1500), sock.recv_from(&mut buf)).await
    {
        answers += 1;
    }
    let shed = gw.radius.stats.overloaded.load(Ordering::Relaxed);
    assert!(shed > 0, "nothing was shed");
    assert_eq!(answers + shed as usize, 40);
    assert_eq!(gw.auth_log().len(), answers);
    // Shed requests left no trace in the duplicate cache, so their retransmits are served.
    let p = request(0, [0; 16], "alice", "wrong-password,123456", SECRET, true);
    let r = raw_on(&sock, gw.addr, &p, Duration::from_secs(2)).await;
    assert!(r.is_some(), "server stopped answering after the flood");
    gw.stop().await;
}

/// `require_message_authenticator = "auto"` on the wire: unsigned requests pass until the
/// client signs one, never with Proxy-State, and not at all once it has signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_mode_learns_that_a_client_signs() {
    use mfagate::radius::codec::*;
    let gw = start("require_message_authenticator = \"auto\"").await;
    gw.add_user("dora", "dora-password").await;
    let request = |proxy_state: bool, signed: bool| {
        let mut ra = [0u8; 16];
        getrandom_fill(&mut ra);
        let mut attrs = Vec::new();
        push_attr(&mut attrs, ATTR_USER_NAME, b"dora");
        push_attr(
            &mut attrs,
            ATTR_USER_PASSWORD,
            &hide_user_password(b"dora-password", SECRET.as_bytes(), &ra),
        );
        if proxy_state {
            push_attr(&mut attrs, ATTR_PROXY_STATE, b"proxied-by-someone");
        }
        encode_request(
            ACCESS_REQUEST,
            ra[0],
            &ra,
            &attrs,
            SECRET.as_bytes(),
            signed,
        )
        .unwrap()
    };
    let wait = Duration::from_millis(500);
    // Unsigned with Proxy-State: always dropped.
    assert!(
        raw_exchange(gw.addr, "127.0.0.1:0", &request(true, false), wait)
            .await
            .is_none()
    );
    // Unsigned without: answered while the client has never signed.
    assert!(
        raw_exchange(gw.addr, "127.0.0.1:0", &request(false, false), wait)
            .await
            .is_some()
    );
    // One signed request...
    assert!(
        raw_exchange(gw.addr, "127.0.0.1:0", &request(false, true), wait)
            .await
            .is_some()
    );
    // ...and unsigned ones are dropped from then on, across a restart.
    assert!(
        raw_exchange(gw.addr, "127.0.0.1:0", &request(false, false), wait)
            .await
            .is_none()
    );
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while gw.store.read(|r| r.signing_clients()).unwrap().is_empty() {
        assert!(std::time::Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gw = gw.restart().await;
    assert!(
        raw_exchange(gw.addr, "127.0.0.1:0", &request(false, false), wait)
            .await
            .is_none()
    );
    assert!(
        raw_exchange(gw.addr, "127.0.0.1:0", &request(false, true), wait)
            .await
            .is_some()
    );
    // The other client (127.0.0.2, "true" by default) is not affected by what "vpn" learned,
    // and the start warned about "auto" naming the client.
    assert!(gw
        .cfg
        .warnings
        .iter()
        .any(|w| w.contains("client \"vpn\"") && w.contains("\"auto\"")));
    gw.stop().await;
}
