//! A TCP relay in front of one node's cluster listener, which the tests control: every other
//! node reaches that node through it (its `cluster.advertise` is the relay), and the relay
//! tells callers apart by the source IP of their connection (each node dials from its own
//! 127.0.0.x, see `cluster.listen`). Per caller it passes, cuts, blackholes or delays the
//! bytes; it never looks inside them (mutual TLS runs end to end through it).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// What happens to one caller's traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rule {
    #[default]
    Pass,
    /// Its connections are closed, new ones closed as soon as accepted (a refused connect,
    /// as the caller sees it).
    Cut,
    /// Accepted and read, never forwarded, never answered: the caller's calls time out.
    Drop,
    /// Forwarded, each chunk this much later (both directions).
    Delay(Duration),
}

#[derive(Default)]
struct Shared {
    rules: Mutex<HashMap<IpAddr, Rule>>,
    /// Connections accepted per caller, so a test can see who dialled through the relay.
    accepted: Mutex<HashMap<IpAddr, u64>>,
}

impl Shared {
    fn rule(&self, from: IpAddr) -> Rule {
        self.rules
            .lock()
            .unwrap()
            .get(&from)
            .copied()
            .unwrap_or_default()
    }
}

pub struct Relay {
    /// Where callers connect (the node's advertised cluster address).
    pub addr: SocketAddr,
    /// The node's own cluster listener.
    pub target: SocketAddr,
    shared: Arc<Shared>,
    /// Bumped at every rule change: open connections re-read their caller's rule.
    changed: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// A relay on 127.0.0.1, port chosen by the system, to `target`.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let (changed, _) = watch::channel(0u64);
        let task = tokio::spawn(accept_loop(
            listener,
            target,
            shared.clone(),
            changed.clone(),
        ));
        Relay {
            addr,
            target,
            shared,
            changed,
            task,
        }
    }

    /// The IP of the node behind this relay (how `partition` names nodes).
    pub fn node_ip(&self) -> IpAddr {
        self.target.ip()
    }

    pub fn set(&self, from: IpAddr, rule: Rule) {
        self.shared.rules.lock().unwrap().insert(from, rule);
        self.changed.send_modify(|g| *g += 1);
    }

    pub fn cut(&self, from: IpAddr) {
        self.set(from, Rule::Cut);
    }

    pub fn drop_from(&self, from: IpAddr) {
        self.set(from, Rule::Drop);
    }

    pub fn delay(&self, from: IpAddr, ms: u64) {
        self.set(from, Rule::Delay(Duration::from_millis(ms)));
    }

    pub fn heal(&self, from: IpAddr) {
        self.set(from, Rule::Pass);
    }

    pub fn heal_all(&self) {
        self.shared.rules.lock().unwrap().clear();
        self.changed.send_modify(|g| *g += 1);
    }

    /// How many connections `from` has opened through this relay.
    pub fn accepted_from(&self, from: IpAddr) -> u64 {
        self.shared
            .accepted
            .lock()
            .unwrap()
            .get(&from)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
        // Open connections end with the rule change they are all waiting on.
        self.shared.rules.lock().unwrap().clear();
        self.shared.accepted.lock().unwrap().clear();
        let _ = self.changed.send(u64::MAX);
    }
}

/// `rule` for every link between a node of `a` and a node of `b`, both ways, on every relay.
pub fn between(relays: &[&Relay], a: &[IpAddr], b: &[IpAddr], rule: Rule) {
    for r in relays {
        let callers = if a.contains(&r.node_ip()) {
            b
        } else if b.contains(&r.node_ip()) {
            a
        } else {
            continue;
        };
        for c in callers {
            r.set(*c, rule);
        }
    }
}

/// Cuts every link between `a` and `b`.
pub fn partition(relays: &[&Relay], a: &[IpAddr], b: &[IpAddr]) {
    between(relays, a, b, Rule::Cut);
}

/// Every link passes again.
pub fn heal(relays: &[&Relay]) {
    for r in relays {
        r.heal_all();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    shared: Arc<Shared>,
    changed: watch::Sender<u64>,
) {
    loop {
        let Ok((conn, from)) = listener.accept().await else {
            continue;
        };
        let from = from.ip();
        *shared.accepted.lock().unwrap().entry(from).or_default() += 1;
        let (shared, gen) = (shared.clone(), changed.subscribe());
        tokio::spawn(async move {
            match shared.rule(from) {
                Rule::Cut => {}
                Rule::Drop => blackhole(conn, from, &shared, gen).await,
                Rule::Pass | Rule::Delay(_) => forward(conn, from, target, &shared, gen).await,
            }
        });
    }
}

/// Reads and discards what `from` sends until it gives up, or its link is cut or healed
/// (what it sent is lost: it has to reconnect either way).
async fn blackhole(
    mut conn: TcpStream,
    from: IpAddr,
    shared: &Shared,
    mut gen: watch::Receiver<u64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            r = conn.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { return },
            r = gen.changed() => {
                if r.is_err() || shared.rule(from) != Rule::Drop {
                    return;
                }
            }
        }
    }
}

async fn forward(
    conn: TcpStream,
    from: IpAddr,
    target: SocketAddr,
    shared: &Shared,
    mut gen: watch::Receiver<u64>,
) {
    let Ok(node) = TcpStream::connect(target).await else {
        return;
    };
    let _ = (conn.set_nodelay(true), node.set_nodelay(true));
    let (cr, cw) = conn.into_split();
    let (nr, nw) = node.into_split();
    // Bytes were discarded: the TLS stream is broken, so the connection ends when the
    // blackhole does.
    let lost = AtomicBool::new(false);
    let pumps = async {
        tokio::join!(
            pump(cr, nw, from, shared, &lost),
            pump(nr, cw, from, shared, &lost)
        )
    };
    let ended = async {
        loop {
            if gen.changed().await.is_err() {
                return;
            }
            match shared.rule(from) {
                Rule::Cut => return,
                Rule::Drop => {}
                _ if lost.load(Ordering::SeqCst) => return,
                _ => {}
            }
        }
    };
    tokio::select! {
        _ = pumps => {}
        _ = ended => {}
    }
}

/// One direction: chunks are queued with the instant they may go out, so a delay adds
/// latency without limiting throughput, and order is kept.
async fn pump(
    mut r: OwnedReadHalf,
    mut w: OwnedWriteHalf,
    from: IpAddr,
    shared: &Shared,
    lost: &AtomicBool,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reading = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let at = match shared.rule(from) {
                Rule::Pass => Instant::now(),
                Rule::Delay(d) => Instant::now() + d,
                Rule::Drop => {
                    lost.store(true, Ordering::SeqCst);
                    continue;
                }
                Rule::Cut => return,
            };
            if tx.send((at, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    let writing = async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if w.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(reading, writing);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server; the relay in front of it; a client from 127.0.0.2.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = c.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn client(relay: &Relay, ip: &str) -> TcpStream {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(format!("{ip}:0").parse().unwrap()).unwrap();
        s.connect(relay.addr).await.unwrap()
    }

    /// Sends `msg` and reads it back within `wait`; `None`: no echo (closed or silent).
    async fn round_trip(c: &mut TcpStream, msg: &[u8], wait: Duration) -> Option<Duration> {
        let started = Instant::now();
        c.write_all(msg).await.ok()?;
        let mut buf = vec![0u8; msg.len()];
        match tokio::time::timeout(wait, c.read_exact(&mut buf)).await {
            Ok(Ok(_)) if buf == msg => Some(started.elapsed()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn the_relay_passes_cuts_drops_delays_and_heals_per_caller() {
        let relay = Relay::start(echo().await).await;
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        let short = Duration::from_millis(300);
        let mut ca = client(&relay, "127.0.0.2").await;
        let mut cb = client(&relay, "127.0.0.3").await;
        assert!(round_trip(&mut ca, b"one", short).await.is_some());
        assert!(round_trip(&mut cb, b"one", short).await.is_some());

        relay.cut(a);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(round_trip(&mut ca, b"two", short).await.is_none(), "cut");
        let mut fresh = client(&relay, "127.0.0.2").await;
        assert!(
            round_trip(&mut fresh, b"two", short).await.is_none(),
            "cut, new"
        );
        assert!(
            round_trip(&mut cb, b"two", short).await.is_some(),
            "b untouched"
        );

        relay.drop_from(b);
        assert!(
            round_trip(&mut cb, b"three", short).await.is_none(),
            "dropped"
        );
        let mut fresh = client(&relay, "127.0.0.3").await;
        assert!(
            round_trip(&mut fresh, b"three", short).await.is_none(),
            "dropped, new"
        );

        relay.delay(a, 200);
        let mut ca = client(&relay, "127.0.0.2").await;
        let took = round_trip(&mut ca, b"four", Duration::from_secs(2))
            .await
            .unwrap();
        assert!(
            took >= Duration::from_millis(400),
            "200 ms each way: {took:?}"
        );

        relay.heal(a);
        let mut ca = client(&relay, "127.0.0.2").await;
        let took = round_trip(&mut ca, b"five", short).await.unwrap();
        assert!(took < Duration::from_millis(200), "{took:?}");
        let mut cb = client(&relay, "127.0.0.3").await;
        assert!(
            round_trip(&mut cb, b"five", short).await.is_none(),
            "b still dropped"
        );

        relay.heal_all();
        let mut cb = client(&relay, "127.0.0.3").await;
        let took = round_trip(&mut cb, b"five", short).await.unwrap();
        assert!(took < Duration::from_millis(200), "{took:?}");
        assert_eq!(relay.accepted_from(a), 4);
        assert_eq!(relay.accepted_from(b), 4);
    }
}
