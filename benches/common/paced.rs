//! A paced RADIUS client: Access-Requests sent at a fixed rate on an absolute schedule,
//! replies taken on the same sockets by other threads. radclient only bounds the requests in
//! flight, so its rate follows the server's latency; a latency figure at a given load needs
//! the load held steady whatever the latency does.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mfagate::radius::codec::{
    encode_request, hide_user_password, push_attr, Packet, ACCESS_ACCEPT, ACCESS_REJECT,
    ACCESS_REQUEST, ATTR_USER_NAME, ATTR_USER_PASSWORD,
};

/// Sockets the requests are spread over. One socket's 256 Identifiers would come round again
/// after 256 ms at 1,000/s, so a slower reply could be taken for the answer to a newer
/// request; over 16 sockets an Identifier is reused only after 4 s, longer than `LATE`.
const SOCKETS: usize = 16;
/// Replies are waited for this long after the last send; later ones count as unanswered.
const LATE: Duration = Duration::from_secs(3);

/// What one paced run gave.
#[derive(Debug, Default, Clone)]
pub struct Paced {
    pub sent: usize,
    /// Requests per second over the sending (first to last send).
    pub rate: f64,
    /// How far behind its scheduled time the latest send went, in ms.
    pub worst_late_ms: f64,
    pub accepted: u64,
    pub rejected: u64,
    pub unanswered: u64,
    /// Replies that were neither Accept nor Reject, or failed verification.
    pub other: u64,
    /// Send to reply, over the answered requests, in ms.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One precomputed Access-Request.
struct Req {
    authenticator: [u8; 16],
    packet: Vec<u8>,
}

fn access_request(id: u8, user: &str, password: &str, secret: &[u8]) -> anyhow::Result<Req> {
    let mut authenticator = [0u8; 16];
    getrandom::getrandom(&mut authenticator)?;
    let mut attrs = Vec::with_capacity(64);
    push_attr(&mut attrs, ATTR_USER_NAME, user.as_bytes());
    let hidden = hide_user_password(password.as_bytes(), secret, &authenticator);
    push_attr(&mut attrs, ATTR_USER_PASSWORD, &hidden);
    // Message-Authenticator first (RFC 3579, and what BlastRADIUS hardening demands).
    let packet = encode_request(ACCESS_REQUEST, id, &authenticator, &attrs, secret, true)
        .ok_or_else(|| anyhow::anyhow!("request for {user} does not fit a packet"))?;
    Ok(Req {
        authenticator,
        packet,
    })
}

/// Sends `logins` (user, password) to 127.0.0.1:`port` at `rate` per second, calls `sent`
/// once the last one is out, and waits for the replies.
pub fn run(
    port: u16,
    secret: &str,
    logins: &[(String, String)],
    rate: f64,
    sent: impl FnOnce(),
) -> anyhow::Result<Paced> {
    let n = logins.len();
    anyhow::ensure!(n > 0 && rate > 0.0, "nothing to send");
    let secret = secret.as_bytes();
    // Request i goes out on socket i % SOCKETS with Identifier (i / SOCKETS) % 256.
    let reqs: Vec<Req> = logins
        .iter()
        .enumerate()
        .map(|(i, (u, p))| access_request(((i / SOCKETS) % 256) as u8, u, p, secret))
        .collect::<anyhow::Result<_>>()?;
    let socks: Vec<UdpSocket> = (0..SOCKETS)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0")?;
            s.connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_millis(50)))?;
            Ok(s)
        })
        .collect::<std::io::Result<_>>()?;
    // Per socket and Identifier: the request now using it, plus one (0: none yet).
    let current: Vec<Vec<AtomicUsize>> = (0..SOCKETS)
        .map(|_| (0..256).map(|_| AtomicUsize::new(0)).collect())
        .collect();
    // Nanoseconds since `t0`, 0 until it happened.
    let sent_at: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let replied_at: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let code: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
    let other = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let interval_ns = 1e9 / rate;
    let t0 = Instant::now();
    let ns = || t0.elapsed().as_nanos().max(1) as u64;
    let mut worst_late_ns = 0u64;
    let mut last_sent_ns = 0u64;

    std::thread::scope(|s| -> anyhow::Result<()> {
        for (k, sock) in socks.iter().enumerate() {
            let (current, reqs, sent_at, replied_at) = (&current[k], &reqs, &sent_at, &replied_at);
            let (code, other, stop) = (&code, &other, &stop);
            s.spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    let Ok(len) = sock.recv(&mut buf) else {
                        continue;
                    };
                    let at = ns();
                    let Ok(p) = Packet::parse(&buf[..len]) else {
                        other.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let i = current[p.identifier as usize].load(Ordering::Acquire);
                    let ok = i > 0
                        && p.verify_response(&reqs[i - 1].authenticator, secret)
                            .is_ok();
                    if !ok || sent_at[i - 1].load(Ordering::Acquire) == 0 {
                        other.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if replied_at[i - 1]
                        .compare_exchange(0, at, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                    {
                        code[i - 1].store(p.code, Ordering::Release);
                    }
                }
            });
        }
        let sending = (|| -> anyhow::Result<()> {
            for (i, r) in reqs.iter().enumerate() {
                // Each send has its own deadline from t0, so a late wake-up is caught up on
                // the following sends instead of stretching the whole run.
                let due = (i as f64 * interval_ns) as u64;
                let now = ns();
                if due > now {
                    std::thread::sleep(Duration::from_nanos(due - now));
                }
                let k = i % SOCKETS;
                current[k][(i / SOCKETS) % 256].store(i + 1, Ordering::Release);
                let at = ns();
                sent_at[i].store(at, Ordering::Release);
                socks[k].send(&r.packet)?;
                worst_late_ns = worst_late_ns.max(at.saturating_sub(due));
                last_sent_ns = at;
            }
            Ok(())
        })();
        if sending.is_ok() {
            sent();
            let until = Instant::now() + LATE;
            while Instant::now() < until
                && replied_at.iter().any(|r| r.load(Ordering::Acquire) == 0)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        stop.store(true, Ordering::Relaxed);
        sending
    })?;

    let mut out = Paced {
        sent: n,
        rate: if n > 1 {
            (n - 1) as f64 / (last_sent_ns as f64 / 1e9)
        } else {
            0.0
        },
        worst_late_ms: worst_late_ns as f64 / 1e6,
        other: other.into_inner(),
        ..Default::default()
    };
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let r = replied_at[i].load(Ordering::Acquire);
        if r == 0 {
            out.unanswered += 1;
            continue;
        }
        match code[i].load(Ordering::Acquire) {
            ACCESS_ACCEPT => out.accepted += 1,
            ACCESS_REJECT => out.rejected += 1,
            _ => out.other += 1,
        }
        ms.push(r.saturating_sub(sent_at[i].load(Ordering::Acquire)) as f64 / 1e6);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ms.get(((ms.len() as f64 * q) as usize).min(ms.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    out.p50_ms = at(0.50);
    out.p99_ms = at(0.99);
    out.max_ms = ms.last().copied().unwrap_or(f64::NAN);
    Ok(out)
}
