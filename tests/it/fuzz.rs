//! Fuzzing on the stable toolchain (`cargo fuzz` needs nightly): seeded mutation loops over
//! the three inputs strangers or typos control — RADIUS datagrams (sent to a running
//! gateway, so the whole screening path runs, with some mutants re-signed so they pass the
//! Message-Authenticator and reach attribute handling), LDAP messages (to a running plain
//! listener), configuration files (the loader) and an upstream RADIUS server's replies (a
//! hostile upstream signs its mutated replies correctly, so they reach attribute decoding). Each target runs for
//! `MFAGATE_FUZZ_SECS` (default 3) from the seeds in `fixtures/fuzz/` and its own valid
//! requests; afterwards the gateway must still answer correctly. A seed that once crashed
//! something belongs in `fixtures/fuzz/<target>/` for good.

use std::time::{Duration, Instant};

use mfagate::radius::codec::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::harness::*;

/// xorshift64*, seeded: `MFAGATE_FUZZ_SEED` replays a run.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("MFAGATE_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("fuzz seed {seed} (MFAGATE_FUZZ_SEED={seed} replays it)");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn budget() -> Duration {
    let secs = std::env::var("MFAGATE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

/// One to four random edits: bit flips, byte sets, truncation, duplication, insertion,
/// length-looking bytes set to extremes, and splicing with another seed.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = [0x00, 0x01, 0x7f, 0x80, 0xff][rng.below(5)];
            }
            2 => v.truncate(at),
            3 if at < v.len() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                let chunk = v[at..end].to_vec();
                v.splice(at..at, chunk);
            }
            4 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            _ => {}
        }
    }
    v
}

/// Seeds from `fixtures/fuzz/<target>/`, one per file.
fn fixtures(target: &str) -> Vec<Vec<u8>> {
    let dir = repo().join("fixtures/fuzz").join(target);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if let Ok(b) = std::fs::read(e.path()) {
            out.push(b);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_radius_screening_and_decoding() {
    let gw = start("").await;
    let mut rng = Rng::from_env();
    let (plain, _) = pap_request("fuzz", "pw,123456", SECRET, 7, None);
    let (with_state, _) = pap_request("fuzz", "123456", SECRET, 8, Some(b"state-bytes"));
    let mut seeds = vec![plain, with_state];
    seeds.extend(fixtures("radius"));
    // In-process: the decoder on raw mutants (no panic, whatever the bytes).
    let until = Instant::now() + budget() / 2;
    let mut decoded = 0u64;
    while Instant::now() < until {
        let (a, b) = (rng.below(seeds.len()), rng.below(seeds.len()));
        let m = mutate(&mut rng, &seeds[a], &seeds[b]);
        if let Ok(p) = Packet::parse(&m) {
            decoded += 1;
            let _ = p.verify_request_message_authenticator(SECRET.as_bytes());
            if let Some(h) = p.attr(ATTR_USER_PASSWORD) {
                let _ = decode_user_password(h, SECRET.as_bytes(), &p.authenticator);
            }
        }
    }
    // Over the wire: raw mutants, and mutants of the attributes re-signed with the right
    // secret so they get past the Message-Authenticator to the rest of screening.
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let until = Instant::now() + budget() / 2;
    let (mut sent, mut replies) = (0u64, 0u64);
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        let (a, b) = (rng.below(seeds.len()), rng.below(seeds.len()));
        let datagram = if rng.below(2) == 0 {
            mutate(&mut rng, &seeds[a], &seeds[b])
        } else {
            let attrs = seeds[a].get(20..).unwrap_or(&[]);
            let attrs = mutate(&mut rng, attrs, seeds[b].get(20..).unwrap_or(&[]));
            let mut ra = [0u8; 16];
            getrandom_fill(&mut ra);
            match encode_request(
                ACCESS_REQUEST,
                rng.next() as u8,
                &ra,
                &attrs,
                SECRET.as_bytes(),
                true,
            ) {
                Some(d) => d,
                None => continue,
            }
        };
        let _ = s.send_to(&datagram, gw.addr).await;
        sent += 1;
        while let Ok(Ok(_)) = tokio::time::timeout(Duration::ZERO, s.recv_from(&mut buf)).await {
            replies += 1;
        }
        if sent % 64 == 0 {
            // Let the gateway breathe: this is a fuzzer, not a flood test.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    eprintln!("radius: {decoded} mutants decoded in process; {sent} sent, {replies} answered");
    // Still serving, and still right.
    let r = pyrad(&gw.server(), SECRET, &["--status-server"]).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let r = pap(&gw, "nobody-here", "wrong", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
}

/// BER TLV with a definite length.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        v.push(0x82);
        v.extend_from_slice(&(n as u16).to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

fn ldap_message(id: u8, op: Vec<u8>) -> Vec<u8> {
    let mut body = tlv(0x02, &[id]);
    body.extend(op);
    tlv(0x30, &body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_ldap_messages() {
    let tail = "[ldap]\nidle_timeout_secs = 2\n[[ldap.listeners]]\nname = \"plain\"\n\
                address = \"127.0.0.1:0\"\ntls = \"none\"\nallow_cleartext_bind = true\n";
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let gw = start_config("", "", primary, tail).await;
    let addr = gw.ldap_addrs[0];
    let mut rng = Rng::from_env();
    let mut bind = tlv(0x02, &[0x03]);
    bind.extend(tlv(0x04, b"cn=someone"));
    bind.extend(tlv(0x80, b"password123456"));
    let mut search = tlv(0x04, b"dc=test,dc=local");
    search.extend(tlv(0x0a, &[2]));
    search.extend(tlv(0x0a, &[0]));
    search.extend(tlv(0x02, &[0]));
    search.extend(tlv(0x02, &[0]));
    search.extend(tlv(0x01, &[0]));
    search.extend(tlv(0x87, b"objectClass"));
    search.extend(tlv(0x30, &tlv(0x04, b"cn")));
    let mut seeds = vec![
        ldap_message(1, tlv(0x60, &bind)),
        ldap_message(2, tlv(0x63, &search)),
        ldap_message(3, tlv(0x77, &tlv(0x80, b"1.3.6.1.4.1.1466.20037"))),
        ldap_message(4, tlv(0x42, b"")),
    ];
    seeds.extend(fixtures("ldap"));
    let until = Instant::now() + budget();
    let (mut sent, mut connections) = (0u64, 0u64);
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        let Ok(mut conn) = TcpStream::connect(addr).await else {
            panic!("the LDAP listener stopped accepting after {sent} mutants");
        };
        connections += 1;
        for _ in 0..1 + rng.below(8) {
            let (a, b) = (rng.below(seeds.len()), rng.below(seeds.len()));
            let m = mutate(&mut rng, &seeds[a], &seeds[b]);
            if conn.write_all(&m).await.is_err() {
                break;
            }
            sent += 1;
            // Read whatever comes back briefly; a closed connection ends this round.
            match tokio::time::timeout(Duration::from_millis(2), conn.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
    }
    eprintln!("ldap: {sent} mutants over {connections} connections");
    // Still serving: a well-formed bind of an unknown user is refused as it should be.
    assert_eq!(
        ldap_bind(addr.port(), "cn=nobody", "wrong-password").await,
        49,
        "invalidCredentials after the fuzzing"
    );
}

#[test]
fn fuzz_config_loader() {
    let mut rng = Rng::from_env();
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for e in std::fs::read_dir(repo().join("config")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "toml") {
            seeds.push(std::fs::read(e.path()).unwrap());
        }
    }
    seeds.extend(fixtures("config"));
    let path = std::path::Path::new("fuzz.toml");
    let until = Instant::now() + budget();
    let (mut tried, mut valid) = (0u64, 0u64);
    while Instant::now() < until {
        let (a, b) = (rng.below(seeds.len()), rng.below(seeds.len()));
        let m = mutate(&mut rng, &seeds[a], &seeds[b]);
        let Ok(text) = String::from_utf8(m) else {
            continue;
        };
        tried += 1;
        if mfagate::config::Config::from_toml(&text, path).is_ok() {
            valid += 1;
        }
    }
    eprintln!("config: {tried} mutants loaded, {valid} valid");
    assert!(tried > 0);
}

/// The attributes an upstream's reply may carry, hidden ones included, as seeds.
fn upstream_reply_seeds(secret: &[u8], ra: &[u8; 16]) -> Vec<Vec<u8>> {
    use mfagate::auth::Attribute;
    use mfagate::radius::*;
    let sets: Vec<Vec<Attribute>> = vec![
        vec![
            Attribute::new(0, ATTR_CLASS, b"upstream-class".to_vec()),
            Attribute::new(0, 11, b"vpn-users".to_vec()),
            Attribute::new(0, ATTR_TUNNEL_PASSWORD, b"\x01tunnel-secret".to_vec()),
        ],
        vec![
            Attribute::new(
                VENDOR_MICROSOFT,
                MS_CHAP2_SUCCESS,
                b"\x01S=00112233".to_vec(),
            ),
            Attribute::new(VENDOR_MICROSOFT, MS_MPPE_SEND_KEY, vec![7; 32]),
            Attribute::new(VENDOR_MICROSOFT, MS_MPPE_RECV_KEY, vec![9; 32]),
            Attribute::new(VENDOR_MICROSOFT, MS_CHAP_MPPE_KEYS, vec![1; 32]),
        ],
        vec![
            Attribute::new(0, ATTR_EAP_MESSAGE, vec![1, 2, 0, 6, 25, 0]),
            Attribute::new(0, ATTR_STATE, b"upstream-state".to_vec()),
            Attribute::new(
                VENDOR_MICROSOFT,
                MS_CHAP_ERROR,
                b"\x01E=691 R=0 V=3".to_vec(),
            ),
        ],
    ];
    sets.iter()
        .map(|set| {
            let mut out = Vec::new();
            for a in set {
                encode_attribute(a, secret, ra, &mut out).unwrap();
            }
            out
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_upstream_replies() {
    // A hostile upstream: every forwarded request gets a mutated reply that is correctly
    // signed (Response Authenticator and Message-Authenticator computed after mutating), so
    // it passes the checks and reaches attribute decoding: vendor attributes, salted keys,
    // Tunnel-Password, EAP, State.
    const UP: &[u8] = b"fuzzing-upstream-secret-01";
    let mut rng = Rng::from_env();
    let seeds = upstream_reply_seeds(UP, &[3; 16]);
    // In process: the reply decoder, whatever the bytes.
    let until = Instant::now() + budget() / 2;
    let mut decoded = 0u64;
    while Instant::now() < until {
        let (a, b) = (rng.below(seeds.len()), rng.below(seeds.len()));
        let attrs = mutate(&mut rng, &seeds[a], &seeds[b]);
        let Some(raw) = encode_response(ACCESS_ACCEPT, 1, &[3; 16], &attrs, UP) else {
            continue;
        };
        if let Ok(p) = Packet::parse(&raw) {
            decoded += 1;
            let (ok, _) = mfagate::radius::decode_attributes(&p, &[], UP, &[3; 16]);
            let mut out = Vec::new();
            for a in &ok {
                let _ =
                    mfagate::radius::encode_attribute(a, b"client-secret-xyz", &[4; 16], &mut out);
            }
        }
    }
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let up_addr = sock.local_addr().unwrap();
    let mut server_rng = Rng(rng.next() | 1);
    let server = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        let mut answered = 0u64;
        while let Ok(Ok((n, src))) =
            tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf)).await
        {
            let Ok(req) = Packet::parse(&buf[..n]) else {
                continue;
            };
            let seeds = upstream_reply_seeds(UP, &req.authenticator);
            let (a, b) = (server_rng.below(seeds.len()), server_rng.below(seeds.len()));
            let attrs = mutate(&mut server_rng, &seeds[a], &seeds[b]);
            let code = [ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_CHALLENGE][server_rng.below(3)];
            if let Some(reply) =
                encode_response(code, req.identifier, &req.authenticator, &attrs, UP)
            {
                let _ = sock.send_to(&reply, src).await;
                answered += 1;
            }
        }
        answered
    });
    let tail = format!(
        "\n[[upstream]]\nname = \"evil\"\ntimeout_secs = 1\nretries = 0\n\
         [[upstream.servers]]\naddress = \"{up_addr}\"\nsecret = \"{}\"\n",
        String::from_utf8_lossy(UP)
    );
    let gw = start_config(
        "otp_mode = \"append\"",
        "",
        "[primary]\nbackend = \"radius\"\nupstream = \"evil\"\n",
        &tail,
    )
    .await;
    let seed = enrol(&gw, "fuzz").await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let until = Instant::now() + budget() / 2;
    let (mut sent, mut replies) = (0u64, 0u64);
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        let (req, _) = pap_request(
            "fuzz",
            &format!("pw,{}", gw.code(&seed, 0)),
            SECRET,
            sent as u8,
            None,
        );
        let _ = client.send_to(&req, gw.addr).await;
        sent += 1;
        // Not waiting for each: a mutant that does not parse leaves its login unanswered
        // until the upstream timeout, and the others go on meanwhile.
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(5), client.recv_from(&mut buf)).await
        {
            replies += 1;
        }
    }
    eprintln!("upstream replies: {decoded} mutants decoded in process; {sent} logins sent, {replies} answered");
    // Still serving, and a well-formed answer still works: Status-Server, and a refusal.
    let r = pyrad(&gw.server(), SECRET, &["--status-server"]).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    gw.stop().await;
    let answered = server.await.unwrap();
    assert!(answered > 0, "the hostile upstream was asked");
}
