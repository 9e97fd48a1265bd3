//! The RADIUS front-end (RFC 2865 over UDP): client lookup by source address, the
//! BlastRADIUS-safe Message-Authenticator rules, duplicate detection, and the translation of
//! Access-Requests into [`AuthRequest`]s and of [`Decision`]s into replies
//! ([`decision_to_reply`] is the only place that chooses a reply code).
//!
//! Order of work for each datagram, cheapest and most restrictive first: size, known client,
//! parse, code, Message-Authenticator, User-Password shape; only then the duplicate cache and
//! a slot among `max_in_flight`. Anything that fails before the cache is dropped silently and
//! leaves no trace in it.
//!
//! Which clients sign their requests (`require_message_authenticator = "auto"`) is wire
//! state, not a decision, so the front-end keeps it itself, in the store's own table: a
//! restart must not forget that a client signs.
//!
//! A reload replaces the client table (clients, secrets, "signs" flags carried over by name)
//! and the pipeline as two [`Live`] values. A datagram is screened against the table it finds
//! and keeps that table (its index and secret) to its reply, and its decision runs on the
//! pipeline current when it is handed over: a request in flight is answered with the secret
//! it was received under, whatever a reload does meanwhile.

pub mod accounting;
pub mod cache;
mod mapping;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::auth::{
    split_appended_code, Attribute, AuthRequest, Credential, Decision, PeerClaims, Pipeline,
    Relayed, SharedReply,
};
use crate::clock::SharedClock;
use crate::config::{
    canonical_ip, ClientCredentials, MaPolicy, OtpMode, RadiusClient, RadiusConfig, Secret,
};
use crate::live::Live;
use crate::radius::codec::*;
use crate::radius::{
    decode_attributes, encode_attribute, ATTR_CHAP_CHALLENGE, ATTR_EAP_MESSAGE, MS_CHAP2_RESPONSE,
    MS_CHAP_ERROR, VENDOR_MICROSOFT,
};
use crate::store::Store;
use cache::{Begin, ReplyCache};
use mapping::{decision_to_reply, forwarded, translate};

/// A configured client with its secret loaded.
pub struct Client {
    pub cfg: RadiusClient,
    pub secret: Secret<Vec<u8>>,
    /// An `[[upstream]]` checks its requests: their attributes are handed on.
    pub relays: bool,
}

/// Counters of what was dropped and why; exposed for tests and as `mfagate_radius_*`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Status-Servers answered, and those left unanswered because the store cannot write.
    pub status_server_answered: AtomicU64,
    pub status_server_unready: AtomicU64,
    pub unknown_client: AtomicU64,
    pub malformed: AtomicU64,
    pub bad_authenticator: AtomicU64,
    pub missing_authenticator: AtomicU64,
    pub duplicates_dropped: AtomicU64,
    pub duplicates_answered: AtomicU64,
    pub overloaded: AtomicU64,
    pub answered: AtomicU64,
    pub unanswered_errors: AtomicU64,
}

/// The clients as one reload installs them.
pub struct ClientTable {
    clients: Vec<Client>,
    /// Per client: it has sent a request with a valid Message-Authenticator ("auto" mode).
    signs: Vec<AtomicBool>,
    /// Per client (same order as `clients`), when `[metrics]` is on.
    metrics: Option<Vec<crate::metrics::ClientMetrics>>,
}

impl ClientTable {
    pub fn names(&self) -> Vec<String> {
        self.clients.iter().map(|c| c.cfg.name.clone()).collect()
    }
}

pub struct RadiusFrontend {
    table: Live<ClientTable>,
    store: Store,
    pipeline: Live<Pipeline>,
    /// Kept to give the clients of a reloaded table their counters.
    registry: Option<Arc<crate::metrics::Metrics>>,
    clock: SharedClock,
    cache: Mutex<ReplyCache>,
    cache_ttl_ms: u64,
    in_flight: Arc<Semaphore>,
    log_limit: LogLimiter<4>,
    /// In a cluster: every request's fate is shared with the peers.
    shared: Option<SharedFates>,
    pub stats: Stats,
    /// Status-Server is answered only while the store takes writes (see `screen`).
    health: Option<Arc<crate::health::Health>>,
    max_in_flight: usize,
}

/// A cluster member's side of the reply cache: answers (and requests held while a phone is
/// asked) are shared with the peers (`crate::cluster::fates`), so a retransmit that a load balancer sends
/// to another member gets the first member's reply, byte for byte, or is dropped while that
/// member still waits on the phone; if that member no longer answers, this one finishes it.
struct SharedFates {
    node: String,
    peers: Arc<dyn PeerClaims>,
}

/// The client whose configured network is the most specific one containing `ip` (on the
/// authentication and the accounting port alike, so a NAS is one client on both).
pub(super) fn client_for(clients: &[Client], ip: IpAddr) -> Option<usize> {
    let ip = canonical_ip(ip);
    clients
        .iter()
        .enumerate()
        .filter(|(_, c)| c.cfg.network.contains(ip))
        .max_by_key(|(_, c)| c.cfg.network.prefix)
        .map(|(i, _)| i)
}

/// The cluster-wide identity of a request: what RFC 5080 §2.2.2 says identifies it.
fn fate_key(src: SocketAddr, identifier: u8, authenticator: &[u8; 16]) -> Vec<u8> {
    let mut k = authenticator.to_vec();
    k.push(identifier);
    // Canonical, so nodes whose sockets see an IPv4 NAS as IPv4-mapped IPv6 agree.
    let src = format!("{}:{}", canonical_ip(src.ip()), src.port());
    k.extend_from_slice(src.as_bytes());
    k
}

/// At most one warning per kind (of `N`) every 10 s, so a flood cannot fill the disk with
/// logs; both RADIUS ports use it, each with its own label ("radius", "radius accounting").
pub(super) struct LogLimiter<const N: usize> {
    label: &'static str,
    state: Mutex<LimiterState<N>>,
}

struct LimiterState<const N: usize> {
    last_ms: [u64; N],
    suppressed: [u64; N],
}

impl<const N: usize> LogLimiter<N> {
    pub(super) fn new(label: &'static str) -> Self {
        Self {
            label,
            state: Mutex::new(LimiterState {
                last_ms: [0; N],
                suppressed: [0; N],
            }),
        }
    }

    /// Logs `msg` about `src` if a line of kind `i` may be logged at `now_ms`, with how many
    /// were suppressed since the last one.
    pub(super) fn warn(&self, i: usize, now_ms: u64, src: SocketAddr, msg: &str) {
        let suppressed = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if now_ms.saturating_sub(st.last_ms[i]) >= 10_000 {
                st.last_ms[i] = now_ms;
                std::mem::take(&mut st.suppressed[i])
            } else {
                st.suppressed[i] += 1;
                return;
            }
        };
        tracing::warn!(source = %src, suppressed, "{}: {msg}", self.label);
    }
}

#[derive(Clone, Copy)]
enum Noise {
    UnknownClient = 0,
    BadPacket = 1,
    Overloaded = 2,
    /// While the store or every primary is down each request fails alike: one line per
    /// 10 s says so (the store logs the fault itself).
    Unanswered = 3,
}

/// What the UDP loop extracts from a request before handing it to a task.
struct Incoming {
    /// The table it was screened against (`client` indexes it).
    table: Arc<ClientTable>,
    src: SocketAddr,
    client: usize,
    identifier: u8,
    authenticator: [u8; 16],
    user_name: Option<String>,
    password: Option<Vec<u8>>,
    /// A credential only an upstream can check, and for MS-CHAPv2 the identifier of its
    /// response (an MS-CHAP-Error must repeat it).
    relayed: Option<(Relayed, u8)>,
    /// An EAP round (EAP-Message).
    eap: bool,
    state: Option<Vec<u8>>,
    /// What an upstream gets to see (only for clients whose requests go to one).
    forward: Vec<Attribute>,
    proxy_states: Vec<Vec<u8>>,
    /// Its cluster-wide identity, in a cluster.
    fate: Option<Vec<u8>>,
}

impl RadiusFrontend {
    pub fn new(
        cfg: &RadiusConfig,
        clients: Vec<Client>,
        pipeline: Arc<Pipeline>,
        clock: SharedClock,
        store: Store,
    ) -> Result<Self, crate::store::StoreError> {
        let known = store.read(|r| r.signing_clients())?;
        let signs = clients
            .iter()
            .map(|c| AtomicBool::new(known.contains(&c.cfg.name)))
            .collect();
        Ok(Self {
            table: Live::new(Arc::new(ClientTable {
                clients,
                signs,
                metrics: None,
            })),
            store,
            pipeline: Live::new(pipeline),
            registry: None,
            clock,
            cache: Mutex::new(ReplyCache::new(
                cfg.reply_cache_secs * 1000,
                cfg.reply_cache_max_entries,
            )),
            cache_ttl_ms: cfg.reply_cache_secs * 1000,
            in_flight: Arc::new(Semaphore::new(cfg.max_in_flight)),
            log_limit: LogLimiter::new("radius"),
            shared: None,
            stats: Stats::default(),
            health: None,
            max_in_flight: cfg.max_in_flight,
        })
    }

    /// Counts each client's requests and times their decisions in `metrics`.
    pub fn with_metrics(mut self, metrics: &Arc<crate::metrics::Metrics>) -> Self {
        self.registry = Some(metrics.clone());
        let old = self.table.get();
        let clients = old.clients.iter().map(|c| Client {
            cfg: c.cfg.clone(),
            secret: c.secret.clone(),
            relays: c.relays,
        });
        let signs = old.signs.iter().map(|s| s.load(Ordering::SeqCst)).collect();
        self.table
            .set(Arc::new(self.table_of(clients.collect(), signs)));
        self
    }

    fn table_of(&self, clients: Vec<Client>, signs: Vec<bool>) -> ClientTable {
        let metrics = self.registry.as_ref().map(|m| {
            clients
                .iter()
                .map(|c| m.client("radius", &c.cfg.name))
                .collect()
        });
        ClientTable {
            signs: signs.into_iter().map(AtomicBool::new).collect(),
            clients,
            metrics,
        }
    }

    /// Installs the clients of a reloaded config for the datagrams received from now on. A
    /// client that has signed its requests keeps that flag (looked up by name, here and in
    /// the store), so a reload cannot reopen the BlastRADIUS door for it.
    pub fn set_clients(&self, clients: Vec<Client>) {
        let old = self.table.get();
        let known = self.store.read(|r| r.signing_clients()).unwrap_or_default();
        let signs = clients
            .iter()
            .map(|c| {
                known.contains(&c.cfg.name)
                    || old
                        .clients
                        .iter()
                        .zip(&old.signs)
                        .any(|(o, s)| o.cfg.name == c.cfg.name && s.load(Ordering::SeqCst))
            })
            .collect();
        self.table.set(Arc::new(self.table_of(clients, signs)));
    }

    /// The clients new datagrams are screened against.
    pub fn clients(&self) -> Arc<ClientTable> {
        self.table.get()
    }

    /// Hands the requests that start from now on to `pipeline`; those in flight finish on
    /// the one they started with.
    pub fn set_pipeline(&self, pipeline: Arc<Pipeline>) {
        self.pipeline.set(pipeline);
    }

    /// Leaves Status-Server unanswered while `health` says the store cannot write.
    pub fn with_health(mut self, health: Arc<crate::health::Health>) -> Self {
        self.health = Some(health);
        self
    }

    /// Shares every request's fate with the cluster's peers (see [`SharedFates`]).
    pub fn with_cluster(mut self, node_name: &str, peers: Arc<dyn PeerClaims>) -> Self {
        self.shared = Some(SharedFates {
            node: node_name.to_owned(),
            peers,
        });
        self
    }

    /// What the cluster knows of a request this node has not seen: `Some` to answer it
    /// with those bytes or drop it (`None` inside), `None` to decide it here.
    fn shared_fate(&self, fate: &[u8], now_ms: u64) -> Option<Option<Vec<u8>>> {
        let shared = self.shared.as_ref()?;
        let known = shared.peers.fate(fate, now_ms)?;
        if let Some(bytes) = known.reply.as_deref().and_then(crate::store::model::unhex) {
            return Some(Some(bytes));
        }
        // Held elsewhere while a phone is asked: that node answers, unless it has stopped
        // answering us (then the pipeline finishes its push here).
        (known.node != shared.node && shared.peers.answers(&known.node)).then_some(None)
    }

    /// "auto" mode: the first valid signed request from a client makes signing required for
    /// it, durably (written off the request's path; the flag in memory takes effect at once).
    fn learn_signing(&self, table: &ClientTable, ci: usize) {
        let client = &table.clients[ci];
        if client.cfg.require_message_authenticator != MaPolicy::Auto
            || table.signs[ci].swap(true, Ordering::SeqCst)
        {
            return;
        }
        tracing::info!(client = %client.cfg.name, "radius: this client signs its requests (Message-Authenticator): from now on its unsigned requests are dropped");
        let (store, name, now) = (
            self.store.clone(),
            client.cfg.name.clone(),
            self.clock.now_ms(),
        );
        tokio::spawn(async move {
            if let Err(e) = store
                .write(move |tx| tx.remember_signing_client(&name, now))
                .await
            {
                tracing::error!(error = %e, "radius: could not record that a client signs its requests");
            }
        });
    }

    /// Why an unsigned request must be dropped, if it must.
    fn unsigned_refusal(
        &self,
        table: &ClientTable,
        ci: usize,
        pkt: &Packet<'_>,
    ) -> Option<&'static str> {
        if pkt.attr(ATTR_EAP_MESSAGE).is_some() {
            // RFC 3579 §3.2: an EAP-Message without Message-Authenticator is discarded.
            return Some("an EAP request without Message-Authenticator");
        }
        if pkt.code == STATUS_SERVER {
            // RFC 5997 §3 requires Message-Authenticator in every Status-Server.
            return Some("a Status-Server without Message-Authenticator");
        }
        match table.clients[ci].cfg.require_message_authenticator {
            MaPolicy::Required => Some("a request without Message-Authenticator"),
            MaPolicy::Off => None,
            // Like FreeRADIUS's limit_proxy_state: a forged reply to a proxied request is
            // what BlastRADIUS needs, so unsigned requests that were proxied never pass.
            MaPolicy::Auto if pkt.attr(ATTR_PROXY_STATE).is_some() => {
                Some("a request with Proxy-State but without Message-Authenticator")
            }
            MaPolicy::Auto if table.signs[ci].load(Ordering::SeqCst) => Some(
                "a request without Message-Authenticator (this client has signed its requests before)",
            ),
            MaPolicy::Auto => None,
        }
    }

    /// Requests in the duplicate cache (in progress or answered).
    pub fn cache_len(&self) -> usize {
        self.lock_cache().len()
    }

    pub async fn run(self: Arc<Self>, socket: Arc<UdpSocket>, cancel: CancellationToken) {
        let mut buf = vec![0u8; MAX_PACKET_LEN + 1];
        loop {
            let (n, src) = tokio::select! {
                _ = cancel.cancelled() => break,
                r = socket.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::debug!(error = %e, "radius: receive error");
                        continue;
                    }
                },
            };
            match self.screen(&buf[..n], src) {
                Screened::Drop => {}
                Screened::Reply(bytes) => {
                    let _ = socket.send_to(&bytes, src).await;
                }
                Screened::Work(incoming, permit) => {
                    let me = self.clone();
                    let sock = socket.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        me.answer(*incoming, &sock).await;
                    });
                }
            }
        }
    }

    fn note(&self, kind: Noise, msg: &str, src: SocketAddr) {
        self.log_limit
            .warn(kind as usize, self.clock.now_ms(), src, msg);
    }

    fn screen(&self, datagram: &[u8], src: SocketAddr) -> Screened {
        if datagram.len() > MAX_PACKET_LEN {
            self.stats.malformed.fetch_add(1, Ordering::Relaxed);
            self.note(Noise::BadPacket, "dropped a datagram over 4096 octets", src);
            return Screened::Drop;
        }
        let table = self.table.get();
        let Some(ci) = client_for(&table.clients, src.ip()) else {
            self.stats.unknown_client.fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::UnknownClient,
                "dropped a packet from an unknown client",
                src,
            );
            return Screened::Drop;
        };
        let client = &table.clients[ci];
        let secret = client.secret.expose();
        let pkt = match Packet::parse(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                self.note(
                    Noise::BadPacket,
                    &format!("dropped a malformed packet: {e}"),
                    src,
                );
                return Screened::Drop;
            }
        };
        if pkt.code != ACCESS_REQUEST && pkt.code != STATUS_SERVER {
            self.stats.malformed.fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::BadPacket,
                &format!("dropped a packet with code {}", pkt.code),
                src,
            );
            return Screened::Drop;
        }
        if pkt.has_message_authenticator() {
            if pkt.verify_request_message_authenticator(secret).is_err() {
                self.stats.bad_authenticator.fetch_add(1, Ordering::Relaxed);
                self.note(
                    Noise::BadPacket,
                    &format!(
                        "dropped a packet whose Message-Authenticator does not verify \
                         (wrong shared secret for client \"{}\"?)",
                        client.cfg.name
                    ),
                    src,
                );
                return Screened::Drop;
            }
            self.learn_signing(&table, ci);
        } else if let Some(why) = self.unsigned_refusal(&table, ci, &pkt) {
            self.stats
                .missing_authenticator
                .fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::BadPacket,
                &format!("dropped {why} from client \"{}\"", client.cfg.name),
                src,
            );
            return Screened::Drop;
        }
        if pkt.code == STATUS_SERVER {
            // A NAS and a load balancer probe with Status-Server: while the store cannot
            // write, no login can be decided here, and silence makes them fail over.
            if self.health.as_ref().is_some_and(|h| !h.store_writable()) {
                self.stats
                    .status_server_unready
                    .fetch_add(1, Ordering::Relaxed);
                return Screened::Drop;
            }
            self.stats
                .status_server_answered
                .fetch_add(1, Ordering::Relaxed);
            // Answered at once and never cached (RFC 5997 §3).
            return match encode_response(
                ACCESS_ACCEPT,
                pkt.identifier,
                &pkt.authenticator,
                &[],
                secret,
            ) {
                Some(b) => Screened::Reply(b),
                None => Screened::Drop,
            };
        }
        let password = match pkt.attr(ATTR_USER_PASSWORD) {
            Some(hidden) => match decode_user_password(hidden, secret, &pkt.authenticator) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    self.note(Noise::BadPacket, &format!("dropped a request: {e}"), src);
                    return Screened::Drop;
                }
            },
            None => None,
        };
        match self.lock_cache().begin(
            (src, pkt.identifier),
            pkt.authenticator,
            self.clock.now_ms(),
        ) {
            Begin::New => {}
            Begin::InProgress => {
                self.stats
                    .duplicates_dropped
                    .fetch_add(1, Ordering::Relaxed);
                return Screened::Drop;
            }
            Begin::Answered(bytes) => {
                self.stats
                    .duplicates_answered
                    .fetch_add(1, Ordering::Relaxed);
                return Screened::Reply(bytes.to_vec());
            }
        }
        let fate = self
            .shared
            .as_ref()
            .map(|_| fate_key(src, pkt.identifier, &pkt.authenticator));
        let now = self.clock.now_ms();
        match fate.as_deref().and_then(|f| self.shared_fate(f, now)) {
            None => {}
            Some(Some(bytes)) => {
                let bytes: Arc<[u8]> = bytes.into();
                self.lock_cache().complete(
                    (src, pkt.identifier),
                    pkt.authenticator,
                    bytes.clone(),
                    now,
                );
                self.stats
                    .duplicates_answered
                    .fetch_add(1, Ordering::Relaxed);
                return Screened::Reply(bytes.to_vec());
            }
            Some(None) => {
                self.lock_cache()
                    .abandon((src, pkt.identifier), pkt.authenticator);
                self.stats
                    .duplicates_dropped
                    .fetch_add(1, Ordering::Relaxed);
                return Screened::Drop;
            }
        }
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            self.lock_cache()
                .abandon((src, pkt.identifier), pkt.authenticator);
            self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::Overloaded,
                "overloaded: dropped a request (max_in_flight reached)",
                src,
            );
            return Screened::Drop;
        };
        let (forward, relayed) = forwarded(&pkt, client, secret);
        Screened::Work(
            Box::new(Incoming {
                table: table.clone(),
                src,
                client: ci,
                identifier: pkt.identifier,
                authenticator: pkt.authenticator,
                user_name: pkt
                    .attr(ATTR_USER_NAME)
                    .map(|u| String::from_utf8_lossy(u).into_owned()),
                password,
                relayed,
                eap: pkt.attr(ATTR_EAP_MESSAGE).is_some(),
                forward,
                state: pkt.attr(ATTR_STATE).map(<[u8]>::to_vec),
                proxy_states: pkt.attrs_of(ATTR_PROXY_STATE).map(<[u8]>::to_vec).collect(),
                fate,
            }),
            permit,
        )
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, ReplyCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn answer(&self, inc: Incoming, socket: &UdpSocket) {
        let table = inc.table.clone();
        let client = &table.clients[inc.client];
        let key = (inc.src, inc.identifier);
        let request = translate(&inc, &client.cfg);
        let started = std::time::Instant::now();
        // Taken once: a reload during a push leaves this request on the pipeline it began on.
        let pipeline = self.pipeline.get();
        let decided = pipeline.authenticate(request).await;
        if let Some(m) = table.metrics.as_ref().and_then(|m| m.get(inc.client)) {
            m.observe(outcome(&decided), started.elapsed());
        }
        let decision = match decided {
            Ok(d) => d,
            Err(e) => {
                // No answer: the NAS retries or fails over to another server.
                self.stats.unanswered_errors.fetch_add(1, Ordering::Relaxed);
                self.note(
                    Noise::Unanswered,
                    &format!(
                        "request from client \"{}\" not answered: {e}",
                        client.cfg.name
                    ),
                    inc.src,
                );
                self.lock_cache().abandon(key, inc.authenticator);
                return;
            }
        };
        let (code, mut attrs) =
            decision_to_reply(&decision, &inc, client.secret.expose(), &inc.authenticator);
        for ps in &inc.proxy_states {
            push_attr(&mut attrs, ATTR_PROXY_STATE, ps);
        }
        let Some(bytes) = encode_response(
            code,
            inc.identifier,
            &inc.authenticator,
            &attrs,
            client.secret.expose(),
        ) else {
            tracing::error!("radius: reply does not fit into 4096 octets");
            self.lock_cache().abandon(key, inc.authenticator);
            return;
        };
        let bytes: Arc<[u8]> = bytes.into();
        let now = self.clock.now_ms();
        self.lock_cache()
            .complete(key, inc.authenticator, bytes.clone(), now);
        if let (Some(shared), Some(fate)) = (&self.shared, inc.fate.clone()) {
            let answered = SharedReply {
                node: shared.node.clone(),
                since_ms: now,
                expires_ms: now + self.cache_ttl_ms,
                challenge: None,
                reply: Some(crate::store::model::hex(&bytes)),
            };
            shared.peers.share_fate(fate, answered, now);
        }
        self.stats.answered.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = socket.send_to(&bytes, inc.src).await {
            tracing::debug!(error = %e, "radius: send failed");
        }
    }
}

/// How a decision shows in `mfagate_requests_total`.
fn outcome(d: &Result<Decision, crate::auth::AuthError>) -> crate::metrics::Outcome {
    use crate::metrics::Outcome;
    match d {
        Ok(Decision::Accept(_)) => Outcome::Accept,
        Ok(Decision::Reject(_)) => Outcome::Reject,
        Ok(Decision::Challenge { .. } | Decision::Continue { .. }) => Outcome::Challenge,
        Err(_) => Outcome::Error,
    }
}

impl crate::metrics::Source for RadiusFrontend {
    fn collect(&self, out: &mut crate::metrics::Samples) {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let s = &self.stats;
        for (cause, v) in [
            ("unknown_client", n(&s.unknown_client)),
            ("bad_authenticator", n(&s.bad_authenticator)),
            ("missing_authenticator", n(&s.missing_authenticator)),
            ("malformed", n(&s.malformed)),
            ("max_in_flight", n(&s.overloaded)),
            ("duplicate_in_progress", n(&s.duplicates_dropped)),
        ] {
            out.counter(
                "radius_dropped",
                "RADIUS datagrams dropped before the pipeline, by cause",
                &[("cause", cause)],
                v,
            );
        }
        out.counter(
            "radius_duplicates_answered",
            "Retransmits answered from the reply cache",
            &[],
            n(&s.duplicates_answered),
        );
        for (result, v) in [
            ("answered", n(&s.status_server_answered)),
            ("unready", n(&s.status_server_unready)),
        ] {
            out.counter(
                "radius_status_server",
                "Status-Server requests, answered or left unanswered because the store cannot write",
                &[("result", result)],
                v,
            );
        }
        out.gauge(
            "radius_reply_cache_entries",
            "Requests in the RADIUS duplicate cache (in progress or answered)",
            &[],
            self.cache_len() as f64,
        );
        let busy = self
            .max_in_flight
            .saturating_sub(self.in_flight.available_permits());
        out.gauge(
            "radius_in_flight",
            "Access-Requests being decided now (at most radius.max_in_flight)",
            &[],
            busy as f64,
        );
    }
}

enum Screened {
    Drop,
    Reply(Vec<u8>),
    /// Boxed: a request is the rare, large case next to the drops.
    Work(Box<Incoming>, tokio::sync::OwnedSemaphorePermit),
}
