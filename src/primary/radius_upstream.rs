//! An `[[upstream]]` group of RADIUS servers as the primary: mfagate is their NAS. It owns
//! the sockets and Identifiers, failover between the servers, their health, and the checks
//! on every reply (Response Authenticator, Message-Authenticator).
//!
//! A request goes to one server at a time, so a slow server cannot cost the user two
//! failed-password counts. Retransmits to one server are the same bytes (same Identifier and
//! authenticator), as RFC 5080 §2.2.1 asks, so the server's duplicate detection sees them as
//! one request. A server that does not answer is skipped for 30 s, doubling up to 5 min;
//! with `health_check = "status-server"` it comes back only once it answers a Status-Server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::Attribute;
use crate::clock::SharedClock;
use crate::config::{AttrFilter, HealthCheck, Secret, UpstreamConfig};
use crate::radius::codec::*;
use crate::radius::{decode_attributes, encode_attribute, hiding, Hiding};

const FIRST_HOLD_DOWN_MS: u64 = 30_000;
const MAX_HOLD_DOWN_MS: u64 = 300_000;
/// Concurrent requests per server: 256 Identifiers per socket.
const MAX_LANES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("no server of upstream \"{0}\" answered")]
    Unreachable(String),
    #[error("upstream \"{group}\": {message}")]
    Local { group: String, message: String },
}

/// What the upstream said of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Reject,
    /// An Access-Challenge (an EAP round): its State comes back with the next round.
    Challenge {
        state: Option<Vec<u8>>,
    },
}

/// An upstream reply, its attributes plain (hidden ones revealed with the upstream's secret
/// and our request authenticator).
#[derive(Debug, Clone)]
pub struct UpstreamReply {
    pub verdict: Verdict,
    pub attributes: Vec<Attribute>,
    /// The server that answered, and its place in the group (an EAP conversation must stay
    /// with the server that holds it).
    pub server: SocketAddr,
    pub server_index: usize,
}

/// Attributes never copied from an upstream's reply: this leg's own (Message-Authenticator,
/// Proxy-State) and State, which is handed over on its own.
const REPLY_HOP_ATTRS: [u8; 3] = [ATTR_MESSAGE_AUTHENTICATOR, ATTR_PROXY_STATE, ATTR_STATE];

#[derive(Default)]
struct Health {
    /// Skipped until then (ms); `None`: in service.
    dead_until_ms: Option<u64>,
    /// The next hold-down (30 s, doubling to 5 min); reset by an answer.
    next_hold_down_ms: u64,
    /// A Status-Server probe is out.
    probing: bool,
}

struct Server {
    address: SocketAddr,
    secret: Secret<Vec<u8>>,
    lanes: Mutex<Vec<Arc<Lane>>>,
    health: Mutex<Health>,
}

/// One socket and its 256 Identifiers; replies are handed to the request waiting on their
/// Identifier, which checks them (only it knows the authenticator they must answer).
struct Lane {
    socket: Arc<UdpSocket>,
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    next: u8,
    slots: HashMap<u8, mpsc::Sender<Vec<u8>>>,
}

/// An Identifier held on a lane until the exchange ends.
struct Slot {
    lane: Arc<Lane>,
    id: u8,
    replies: mpsc::Receiver<Vec<u8>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.lane.waiting).slots.remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct Upstream {
    name: String,
    timeout: Duration,
    retries: u32,
    require_ma: bool,
    health_check: HealthCheck,
    request_filter: AttrFilter,
    reply_filter: AttrFilter,
    servers: Vec<Server>,
    clock: SharedClock,
    /// Stops the lanes' receivers and the health checker when the group is dropped.
    cancel: CancellationToken,
    /// Where each exchange is timed (`[metrics]`); set once, after construction.
    metrics: std::sync::OnceLock<Arc<crate::metrics::Metrics>>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .finish()
    }
}

/// Builds a request's attribute list for one server's secret and request authenticator.
type BuildAttrs<'a> = dyn Fn(&[u8], &[u8; 16]) -> Result<Vec<u8>, String> + Sync + 'a;

/// How a request to the upstream is built for one server: from the secret and the request
/// authenticator of that server's leg (User-Password is hidden with both).
pub struct Outgoing<'a> {
    pub user_name: &'a str,
    /// The password to send as User-Password (PAP), already split from an appended code.
    pub password: Option<&'a str>,
    /// Everything else the NAS sent that the upstream should see (its credential attributes,
    /// NAS-*, Called-/Calling-Station-Id, vendor attributes), plain.
    pub attributes: &'a [Attribute],
    /// The upstream's own State from its last Access-Challenge (EAP rounds).
    pub state: Option<&'a [u8]>,
}

impl Upstream {
    /// Needs a Tokio runtime (the health checker is a task).
    pub fn new(cfg: &UpstreamConfig, clock: SharedClock) -> Result<Arc<Self>, String> {
        let mut servers = Vec::new();
        for (j, s) in cfg.servers.iter().enumerate() {
            let secret = s
                .secret
                .load(&format!("upstream \"{}\" servers[{j}].secret", cfg.name))
                .map_err(|e| e.to_string())?;
            servers.push(Server {
                address: s.address,
                secret,
                lanes: Mutex::new(Vec::new()),
                health: Mutex::new(Health {
                    next_hold_down_ms: FIRST_HOLD_DOWN_MS,
                    ..Health::default()
                }),
            });
        }
        let me = Arc::new(Self {
            name: cfg.name.clone(),
            timeout: Duration::from_millis(cfg.timeout_ms),
            retries: cfg.retries,
            require_ma: cfg.require_message_authenticator,
            health_check: cfg.health_check,
            request_filter: cfg.request_filter.clone(),
            reply_filter: cfg.reply_filter.clone(),
            servers,
            clock,
            cancel: CancellationToken::new(),
            metrics: std::sync::OnceLock::new(),
        });
        if me.health_check == HealthCheck::StatusServer {
            let weak = Arc::downgrade(&me);
            let cancel = me.cancel.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tick.tick() => {}
                    }
                    let Some(me) = weak.upgrade() else { return };
                    me.probe_due();
                }
            });
        }
        Ok(me)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set_metrics(&self, m: Arc<crate::metrics::Metrics>) {
        let _ = self.metrics.set(m);
    }

    /// Sends an Access-Request for `out` and returns the upstream's answer.
    pub async fn authenticate(&self, out: &Outgoing<'_>) -> Result<UpstreamReply, UpstreamError> {
        self.authenticate_at(out, None).await
    }

    /// As [`authenticate`](Self::authenticate), to the server at `only` alone when given
    /// (the next round of an EAP conversation: no other server knows its State).
    pub async fn authenticate_at(
        &self,
        out: &Outgoing<'_>,
        only: Option<usize>,
    ) -> Result<UpstreamReply, UpstreamError> {
        let build = |secret: &[u8], ra: &[u8; 16]| -> Result<Vec<u8>, String> {
            let mut attrs = Vec::new();
            push_attr(&mut attrs, ATTR_USER_NAME, out.user_name.as_bytes());
            if let Some(pw) = out.password {
                if pw.len() > 128 {
                    return Err("password longer than 128 octets".into());
                }
                push_attr(
                    &mut attrs,
                    ATTR_USER_PASSWORD,
                    &hide_user_password(pw.as_bytes(), secret, ra),
                );
            }
            if let Some(state) = out.state {
                push_attr(&mut attrs, ATTR_STATE, state);
            }
            for a in out.attributes {
                if exchange_needs(a) || self.request_filter.passes(a.vendor, a.code) {
                    encode_attribute(a, secret, ra, &mut attrs).map_err(|e| e.to_string())?;
                }
            }
            Ok(attrs)
        };
        let (raw, ra, server_index) = self.exchange(ACCESS_REQUEST, &build, only).await?;
        let (secret, server) = (
            &self.servers[server_index].secret,
            self.servers[server_index].address,
        );
        let pkt = Packet::parse(&raw).map_err(|e| self.local(e.to_string()))?;
        let (mut attributes, bad) = decode_attributes(&pkt, &REPLY_HOP_ATTRS, secret.expose(), &ra);
        attributes.retain(|a| exchange_needs(a) || self.reply_filter.passes(a.vendor, a.code));
        for (vendor, code, e) in bad {
            tracing::warn!(upstream = %self.name, %server, vendor, code, error = %e, "radius upstream: dropped a hidden attribute that does not decrypt (wrong secret?)");
        }
        let verdict = match pkt.code {
            ACCESS_ACCEPT => Verdict::Accept,
            ACCESS_CHALLENGE => Verdict::Challenge {
                state: pkt.attr(ATTR_STATE).map(<[u8]>::to_vec),
            },
            _ => Verdict::Reject,
        };
        Ok(UpstreamReply {
            verdict,
            attributes,
            server,
            server_index,
        })
    }

    /// Hands an accounting record (an Accounting-Request's attributes without this leg's
    /// Message-Authenticator and Proxy-State) to the group, one server at a time with the
    /// same failover as [`Upstream::authenticate`], and returns the server that acknowledged
    /// it with an Accounting-Response. Only then may the NAS be answered: until a server has
    /// the record the NAS must keep it and retry (RFC 2866 §2.1, RFC 5080 §2.2.1).
    ///
    /// Acct-Delay-Time (RFC 2866 §5.2: how long the record has been on its way) grows by the
    /// whole seconds spent here whenever a request is built for the next server; retransmits
    /// to one server are the same bytes and keep the value of their first send, since a
    /// changed value needs a new Identifier (§5.2). Attributes hidden on the wire
    /// (Tunnel-Password, MS-MPPE keys) are left out: RFC 2868 hides them with the Request
    /// Authenticator, which in an Accounting-Request is computed over them, and key material
    /// has no place in an accounting record.
    pub async fn account(&self, attributes: &[Attribute]) -> Result<SocketAddr, UpstreamError> {
        let since = self.clock.now_ms();
        let plain: Vec<Attribute> = attributes
            .iter()
            .filter(|a| {
                let keep = hiding(a.vendor, a.code) == Hiding::Plain;
                if !keep {
                    tracing::debug!(upstream = %self.name, vendor = a.vendor, code = a.code, "radius upstream: a hidden attribute is not forwarded in an accounting record");
                }
                keep
            })
            .cloned()
            .collect();
        let build = |secret: &[u8], ra: &[u8; 16]| -> Result<Vec<u8>, String> {
            let waited = self.clock.now_ms().saturating_sub(since) / 1000;
            let mut attrs = Vec::new();
            for a in &with_delay(&plain, waited) {
                encode_attribute(a, secret, ra, &mut attrs).map_err(|e| e.to_string())?;
            }
            Ok(attrs)
        };
        let (_, _, i) = self.exchange(ACCOUNTING_REQUEST, &build, None).await?;
        Ok(self.servers[i].address)
    }

    fn local(&self, message: String) -> UpstreamError {
        UpstreamError::Local {
            group: self.name.clone(),
            message,
        }
    }

    /// The order to try the servers in: those in service, in configured order; when none
    /// is, the one whose hold-down ends first (trying one beats refusing every login).
    fn order(&self, now: u64) -> Vec<usize> {
        let mut live = Vec::new();
        let mut resting = Vec::new();
        for (i, s) in self.servers.iter().enumerate() {
            let h = lock(&s.health);
            match h.dead_until_ms {
                None => live.push(i),
                Some(t) if t <= now && self.health_check == HealthCheck::None => live.push(i),
                Some(t) => resting.push((t, i)),
            }
        }
        if live.is_empty() {
            resting.sort();
            live.extend(resting.first().map(|(_, i)| *i));
        }
        live
    }

    fn mark_answered(&self, i: usize) {
        let mut h = lock(&self.servers[i].health);
        if h.dead_until_ms.take().is_some() {
            tracing::info!(upstream = %self.name, server = %self.servers[i].address, "radius upstream: server answers again; back in service");
        }
        h.next_hold_down_ms = FIRST_HOLD_DOWN_MS;
    }

    fn mark_silent(&self, i: usize) {
        let now = self.clock.now_ms();
        let mut h = lock(&self.servers[i].health);
        let hold = h.next_hold_down_ms;
        h.dead_until_ms = Some(now + hold);
        h.next_hold_down_ms = (hold * 2).min(MAX_HOLD_DOWN_MS);
        tracing::warn!(upstream = %self.name, server = %self.servers[i].address, hold_down_secs = hold / 1000, "radius upstream: server does not answer; skipped");
    }

    /// Sends one request to the servers in turn (or to `only`) until one answers with a
    /// reply that checks out. Returns the reply, the request authenticator it answers, and
    /// the index of the server that sent it.
    async fn exchange(
        &self,
        code: u8,
        build: &BuildAttrs<'_>,
        only: Option<usize>,
    ) -> Result<(Vec<u8>, [u8; 16], usize), UpstreamError> {
        let order = match only {
            Some(i) if i < self.servers.len() => vec![i],
            Some(_) => return Err(self.local("no such server in the group".into())),
            None => self.order(self.clock.now_ms()),
        };
        for i in order {
            let started = std::time::Instant::now();
            let answered = self.exchange_with(i, code, build).await?;
            if let Some(m) = self.metrics.get() {
                let took = answered.as_ref().map(|_| started.elapsed());
                m.upstream_exchange(&self.name, &self.servers[i].address.to_string(), took);
            }
            match answered {
                Some((raw, ra)) => {
                    self.mark_answered(i);
                    return Ok((raw, ra, i));
                }
                None => self.mark_silent(i),
            }
        }
        Err(UpstreamError::Unreachable(self.name.clone()))
    }

    /// One server: the first send and `retries` retransmits of the same bytes. `None`: it
    /// did not answer (in time, or with anything that checks out).
    async fn exchange_with(
        &self,
        i: usize,
        code: u8,
        build: &BuildAttrs<'_>,
    ) -> Result<Option<(Vec<u8>, [u8; 16])>, UpstreamError> {
        let server = &self.servers[i];
        let mut slot = self.slot(server).await?;
        let secret = server.secret.expose();
        let too_big = || self.local("request does not fit into 4096 octets".into());
        let (packet, ra) = if code == ACCOUNTING_REQUEST {
            // RFC 2866 §3: the Request Authenticator is an MD5 over the packet and this
            // server's secret, not random. No Message-Authenticator: RFC 2869 §6 and RFC 3579
            // §3.3 say it MUST NOT be in an Accounting-Request, and the Request Authenticator
            // already signs the whole packet (BlastRADIUS has nothing to forge here). The
            // attributes are built with a zero vector: nothing hidden is forwarded.
            let attrs = build(secret, &[0u8; 16]).map_err(|m| self.local(m))?;
            let packet =
                encode_accounting_request(slot.id, &attrs, secret, false).ok_or_else(too_big)?;
            let mut ra = [0u8; 16];
            ra.copy_from_slice(&packet[4..HEADER_LEN]);
            (packet, ra)
        } else {
            let mut ra = [0u8; 16];
            getrandom::getrandom(&mut ra).map_err(|e| self.local(e.to_string()))?;
            let attrs = build(secret, &ra).map_err(|m| self.local(m))?;
            let packet =
                encode_request(code, slot.id, &ra, &attrs, secret, true).ok_or_else(too_big)?;
            (packet, ra)
        };
        for _ in 0..=self.retries {
            if let Err(e) = slot.lane.socket.send(&packet).await {
                tracing::debug!(upstream = %self.name, server = %server.address, error = %e, "radius upstream: send failed");
            }
            let deadline = tokio::time::Instant::now() + self.timeout;
            loop {
                let reply = tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => break,
                    r = slot.replies.recv() => match r {
                        Some(r) => r,
                        None => break,
                    },
                };
                if self.checks_out(server, code, slot.id, &ra, &reply) {
                    return Ok(Some((reply, ra)));
                }
            }
        }
        Ok(None)
    }

    /// Whether `reply` answers the request with Identifier `id` and authenticator `ra`.
    fn checks_out(&self, server: &Server, code: u8, id: u8, ra: &[u8; 16], reply: &[u8]) -> bool {
        let why = match Packet::parse(reply) {
            Err(e) => format!("malformed ({e})"),
            Ok(p) if p.identifier != id => return false,
            Ok(p) if !answers(code, p.code) => format!("code {} does not answer {code}", p.code),
            Ok(p) => match if code == ACCOUNTING_REQUEST {
                // Servers disagree on how an Accounting-Response's MA is computed.
                p.verify_accounting_response(ra, server.secret.expose())
            } else {
                p.verify_response(ra, server.secret.expose())
            } {
                Err(e) => format!("{e} (wrong shared secret?)"),
                // An Accounting-Response grants nothing, so a forged one gains no access
                // (BlastRADIUS targets Access-Accept); servers seldom sign them, FreeRADIUS
                // not even when answering a Status-Server on its accounting port.
                Ok(())
                    if self.require_ma
                        && p.code != ACCOUNTING_RESPONSE
                        && !p.has_message_authenticator() =>
                {
                    "no Message-Authenticator (require_message_authenticator = true)".to_owned()
                }
                Ok(()) => return true,
            },
        };
        tracing::warn!(upstream = %self.name, server = %server.address, "radius upstream: ignored a reply: {why}");
        false
    }

    /// A free Identifier on one of the server's sockets (a new socket when all are busy).
    async fn slot(&self, server: &Server) -> Result<Slot, UpstreamError> {
        let (tx, rx) = mpsc::channel(4);
        {
            let lanes = lock(&server.lanes);
            for lane in lanes.iter() {
                let mut w = lock(&lane.waiting);
                if w.slots.len() < 256 {
                    let mut id = w.next;
                    while w.slots.contains_key(&id) {
                        id = id.wrapping_add(1);
                    }
                    w.next = id.wrapping_add(1);
                    w.slots.insert(id, tx);
                    return Ok(Slot {
                        lane: lane.clone(),
                        id,
                        replies: rx,
                    });
                }
            }
            if lanes.len() >= MAX_LANES {
                return Err(self.local(format!(
                    "more than {} requests waiting on {}",
                    MAX_LANES * 256,
                    server.address
                )));
            }
        }
        let bind: SocketAddr = if server.address.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind)
            .await
            .map_err(|e| self.local(format!("cannot open a socket: {e}")))?;
        socket
            .connect(server.address)
            .await
            .map_err(|e| self.local(format!("cannot reach {}: {e}", server.address)))?;
        let lane = Arc::new(Lane {
            socket: Arc::new(socket),
            waiting: Mutex::new(Waiting::default()),
        });
        lock(&lane.waiting).slots.insert(0, tx);
        lock(&lane.waiting).next = 1;
        tokio::spawn(receive(lane.clone(), self.cancel.clone()));
        lock(&server.lanes).push(lane.clone());
        Ok(Slot {
            lane,
            id: 0,
            replies: rx,
        })
    }

    /// Sends a Status-Server to each server whose hold-down has ended.
    fn probe_due(self: &Arc<Self>) {
        let now = self.clock.now_ms();
        for i in 0..self.servers.len() {
            {
                let mut h = lock(&self.servers[i].health);
                match h.dead_until_ms {
                    Some(t) if t <= now && !h.probing => h.probing = true,
                    _ => continue,
                }
            }
            let me = self.clone();
            tokio::spawn(async move {
                let none = |_: &[u8], _: &[u8; 16]| Ok(Vec::new());
                let answered =
                    matches!(me.exchange_with(i, STATUS_SERVER, &none).await, Ok(Some(_)));
                lock(&me.servers[i].health).probing = false;
                if answered {
                    me.mark_answered(i);
                } else {
                    me.mark_silent(i);
                }
            });
        }
    }

    /// `mfagate doctor`: asks each server once, without failover or hold-down, whether it
    /// answers with this secret. A Status-Server where the group probes with it; otherwise
    /// (NPS answers none) an Access-Request for a user that cannot exist, whose signed
    /// Reject proves the same. Returns what each answered, or why not.
    pub async fn check_servers(&self) -> Vec<(SocketAddr, Result<String, String>)> {
        let mut out = Vec::new();
        for (i, s) in self.servers.iter().enumerate() {
            let probe = |_: &[u8], _: &[u8; 16]| Ok(Vec::new());
            let mut nonce = [0u8; 8];
            let _ = getrandom::getrandom(&mut nonce);
            let user = format!("mfagate-doctor-{}", crate::store::model::hex(&nonce));
            let pw = crate::store::model::hex(&nonce);
            let login = |secret: &[u8], ra: &[u8; 16]| {
                let mut attrs = Vec::new();
                push_attr(&mut attrs, ATTR_USER_NAME, user.as_bytes());
                push_attr(
                    &mut attrs,
                    ATTR_USER_PASSWORD,
                    &hide_user_password(pw.as_bytes(), secret, ra),
                );
                Ok(attrs)
            };
            let (code, build): (u8, &BuildAttrs<'_>) = match self.health_check {
                HealthCheck::StatusServer => (STATUS_SERVER, &probe),
                HealthCheck::None => (ACCESS_REQUEST, &login),
            };
            let started = std::time::Instant::now();
            let res = match self.exchange_with(i, code, build).await {
                Ok(Some((raw, _))) => {
                    let what = match raw.first() {
                        Some(&ACCESS_ACCEPT) if code == STATUS_SERVER => "answered Status-Server",
                        Some(&ACCESS_REJECT) => "rejected a probe login, signed with our secret",
                        Some(&ACCESS_ACCEPT) => "accepted a probe login (!)",
                        _ => "answered, signed with our secret",
                    };
                    Ok(format!("{what} in {} ms", started.elapsed().as_millis()))
                }
                Ok(None) => Err(format!(
                    "no valid answer within {} s x {} (unreachable, wrong secret, or replies without \
                     Message-Authenticator)",
                    self.timeout.as_secs(),
                    self.retries + 1
                )),
                Err(e) => Err(e.to_string()),
            };
            out.push((s.address, res));
        }
        out
    }

    /// Whether each server would be tried now, as [`Upstream::order`] sees it: in service, or
    /// (without Status-Server probes) its hold-down has ended. For readiness.
    pub fn servers_up(&self) -> Vec<(SocketAddr, bool)> {
        let now = self.clock.now_ms();
        self.servers
            .iter()
            .map(|s| {
                let up = match lock(&s.health).dead_until_ms {
                    None => true,
                    Some(t) => t <= now && self.health_check == HealthCheck::None,
                };
                (s.address, up)
            })
            .collect()
    }

    /// Whether the server at `i` is in service (for status output and tests).
    pub fn in_service(&self) -> Vec<(SocketAddr, bool)> {
        self.servers
            .iter()
            .map(|s| (s.address, lock(&s.health).dead_until_ms.is_none()))
            .collect()
    }
}

/// Attributes without which the exchange cannot work, whatever the group's lists say: the
/// relayed credential (CHAP, MS-CHAP, EAP) on the way up, and on the way down the answer to
/// it (MS-CHAP2-Success, MS-CHAP-Error, EAP-Message) and the keys the session is encrypted
/// with.
fn exchange_needs(a: &Attribute) -> bool {
    use crate::radius::*;
    match a.vendor {
        0 => matches!(
            a.code,
            ATTR_CHAP_PASSWORD | ATTR_CHAP_CHALLENGE | ATTR_EAP_MESSAGE
        ),
        // MS-CHAP-Response (1), MS-CHAP-CPW-1/-2 and the encrypted new passwords (3..=6),
        // MS-CHAP-Challenge (11), MS-CHAP2-CPW (27).
        VENDOR_MICROSOFT => matches!(
            a.code,
            1 | 3
                ..=6 | 11
                    | 27
                    | MS_CHAP_ERROR
                    | MS_CHAP_MPPE_KEYS
                    | MS_MPPE_SEND_KEY
                    | MS_MPPE_RECV_KEY
                    | MS_CHAP2_RESPONSE
                    | MS_CHAP2_SUCCESS
        ),
        _ => false,
    }
}

// The codes live in the codec now; kept here under their old path.
pub use crate::radius::codec::{ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE};

/// `attributes` with Acct-Delay-Time increased by `secs` (added when absent and `secs` > 0);
/// a malformed one (not four octets) is left as it is.
fn with_delay(attributes: &[Attribute], secs: u64) -> Vec<Attribute> {
    let mut out = attributes.to_vec();
    if secs == 0 {
        return out;
    }
    let secs = u32::try_from(secs).unwrap_or(u32::MAX);
    match out
        .iter_mut()
        .find(|a| a.vendor == 0 && a.code == ATTR_ACCT_DELAY_TIME)
    {
        Some(a) => {
            if let Ok(v) = <[u8; 4]>::try_from(a.value.as_slice()) {
                a.value = u32::from_be_bytes(v)
                    .saturating_add(secs)
                    .to_be_bytes()
                    .to_vec();
            }
        }
        None => out.push(Attribute::new(
            0,
            ATTR_ACCT_DELAY_TIME,
            secs.to_be_bytes().to_vec(),
        )),
    }
    out
}

fn answers(request: u8, reply: u8) -> bool {
    match request {
        ACCESS_REQUEST => matches!(reply, ACCESS_ACCEPT | ACCESS_REJECT | ACCESS_CHALLENGE),
        STATUS_SERVER => matches!(reply, ACCESS_ACCEPT | ACCOUNTING_RESPONSE),
        ACCOUNTING_REQUEST => reply == ACCOUNTING_RESPONSE,
        _ => false,
    }
}

async fn receive(lane: Arc<Lane>, cancel: CancellationToken) {
    let mut buf = vec![0u8; MAX_PACKET_LEN];
    loop {
        let n = tokio::select! {
            _ = cancel.cancelled() => return,
            r = lane.socket.recv(&mut buf) => match r {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        if n < HEADER_LEN {
            continue;
        }
        let waiter = lock(&lane.waiting).slots.get(&buf[1]).cloned();
        if let Some(w) = waiter {
            let _ = w.try_send(buf[..n].to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acct_delay_time_grows_only_by_time_spent_here() {
        let delay = |n: u32| Attribute::new(0, ATTR_ACCT_DELAY_TIME, n.to_be_bytes().to_vec());
        let sid = Attribute::new(0, ATTR_ACCT_SESSION_ID, b"s".to_vec());
        assert_eq!(
            with_delay(std::slice::from_ref(&sid), 0),
            vec![sid.clone()],
            "unchanged at once"
        );
        assert_eq!(
            with_delay(&[delay(7), sid.clone()], 5),
            vec![delay(12), sid.clone()]
        );
        assert_eq!(
            with_delay(std::slice::from_ref(&sid), 3),
            vec![sid.clone(), delay(3)]
        );
        assert_eq!(with_delay(&[delay(u32::MAX)], 9), vec![delay(u32::MAX)]);
        let odd = Attribute::new(0, ATTR_ACCT_DELAY_TIME, vec![1, 2]);
        assert_eq!(
            with_delay(std::slice::from_ref(&odd), 4),
            vec![odd],
            "malformed: left alone"
        );
    }

    #[test]
    fn accounting_response_answers_only_accounting() {
        assert!(answers(ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE));
        assert!(!answers(ACCOUNTING_REQUEST, ACCESS_ACCEPT));
        assert!(answers(STATUS_SERVER, ACCOUNTING_RESPONSE));
    }
}
