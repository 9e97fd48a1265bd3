//! The RADIUS accounting port (RFC 2866): Accounting-Requests from the same
//! `[[radius.clients]]` as the authentication port (same source-address lookup, same
//! secret), answered with a signed Accounting-Response, and with `accounting_upstream` first
//! handed to that `[[upstream]]` group.
//!
//! Order of work for each datagram, cheapest first, as on the authentication port: size,
//! known client, parse, code, Request Authenticator and Message-Authenticator; only then the
//! duplicate cache. Anything that fails before the cache is dropped silently, counted, and
//! logged at most once per kind every 10 s.
//!
//! Accounting is not a login: nothing is decided, so the pipeline is not involved and the
//! record only passes through. mfagate keeps no record. Without an upstream it acknowledges at
//! once (the NAS's record ends here, logged at debug). With one it acknowledges only after a
//! server of the group has: a proxy that answered first and then lost the record would lose
//! it for good, while a NAS that gets no answer keeps the record and retries (RFC 2866 §2.1,
//! RFC 5080 §2.2.1).
//!
//! The per-client `require_message_authenticator` policy does not apply here: RFC 2869 §6 and
//! RFC 3579 §3.3 say an Accounting-Request MUST NOT carry a Message-Authenticator, and its
//! Request Authenticator already signs the whole packet with the secret. One that carries an
//! MA anyway (radclient can send one) must have it right.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::cache::{Begin, ReplyCache};
use super::Client;
use crate::auth::Attribute;
use crate::clock::SharedClock;
use crate::config::RadiusConfig;
use crate::primary::radius_upstream::Upstream;
use crate::radius::codec::*;
use crate::radius::{decode_attributes, dictionary};

/// Counters of what happened to datagrams on the accounting port; for tests and metrics.
#[derive(Debug, Default)]
pub struct AccountingStats {
    pub unknown_client: AtomicU64,
    pub malformed: AtomicU64,
    /// Request Authenticator or Message-Authenticator did not verify (wrong secret).
    pub bad_authenticator: AtomicU64,
    pub duplicates_dropped: AtomicU64,
    pub duplicates_answered: AtomicU64,
    pub overloaded: AtomicU64,
    /// Accounting-Responses sent for new requests (not counting retransmits).
    pub answered: AtomicU64,
    /// Requests acknowledged by the upstream group (a subset of `answered`).
    pub forwarded: AtomicU64,
    /// Requests no upstream server acknowledged, so the NAS was not answered.
    pub unacknowledged: AtomicU64,
}

pub struct AccountingFrontend {
    /// Replaced by a reload; a record keeps the table it was received under to its reply.
    clients: crate::live::Live<Vec<Client>>,
    upstream: Option<Arc<Upstream>>,
    clock: SharedClock,
    cache: Mutex<ReplyCache>,
    in_flight: Arc<Semaphore>,
    log_limit: super::LogLimiter<5>,
    pub stats: AccountingStats,
}

#[derive(Clone, Copy)]
enum Noise {
    UnknownClient = 0,
    BadPacket = 1,
    BadSecret = 2,
    Overloaded = 3,
    Unacknowledged = 4,
}

/// A request that waits on the upstream.
struct Incoming {
    clients: Arc<Vec<Client>>,
    src: SocketAddr,
    client: usize,
    identifier: u8,
    authenticator: [u8; 16],
    proxy_states: Vec<Vec<u8>>,
    forward: Vec<Attribute>,
    record: Record,
}

/// What a log line says of a record: never the values a NAS may put in other attributes.
struct Record {
    status: String,
    session: String,
}

enum Screened {
    Drop,
    Reply(Vec<u8>),
    Work(Incoming, tokio::sync::OwnedSemaphorePermit),
}

impl AccountingFrontend {
    /// `upstream`: the group of `radius.accounting_upstream`, when set.
    pub fn new(
        cfg: &RadiusConfig,
        clients: Vec<Client>,
        upstream: Option<Arc<Upstream>>,
        clock: SharedClock,
    ) -> Self {
        Self {
            clients: crate::live::Live::new(Arc::new(clients)),
            upstream,
            clock,
            // RFC 5080 §2.2.2 duplicate detection, as on the authentication port but with a
            // cache of its own: the accounting socket is another receiving socket.
            cache: Mutex::new(ReplyCache::new(
                cfg.reply_cache_secs * 1000,
                cfg.reply_cache_max_entries,
            )),
            in_flight: Arc::new(Semaphore::new(cfg.max_in_flight)),
            log_limit: super::LogLimiter::new("radius accounting"),
            stats: AccountingStats::default(),
        }
    }

    /// Requests in the duplicate cache (waiting on the upstream or answered).
    pub fn cache_len(&self) -> usize {
        self.lock_cache().len()
    }

    /// Installs the clients of a reloaded config for the records received from now on.
    pub fn set_clients(&self, clients: Vec<Client>) {
        self.clients.set(Arc::new(clients));
    }

    pub async fn run(self: Arc<Self>, socket: Arc<UdpSocket>, cancel: CancellationToken) {
        let mut buf = vec![0u8; MAX_PACKET_LEN + 1];
        loop {
            let (n, src) = tokio::select! {
                _ = cancel.cancelled() => break,
                r = socket.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::debug!(error = %e, "radius accounting: receive error");
                        continue;
                    }
                },
            };
            match self.screen(&buf[..n], src) {
                Screened::Drop => {}
                Screened::Reply(bytes) => {
                    if let Err(e) = socket.send_to(&bytes, src).await {
                        tracing::debug!(error = %e, "radius accounting: send failed");
                    }
                }
                Screened::Work(incoming, permit) => {
                    let me = self.clone();
                    let sock = socket.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        me.forward(incoming, &sock).await;
                    });
                }
            }
        }
    }

    fn note(&self, kind: Noise, msg: &str, src: SocketAddr) {
        self.log_limit
            .warn(kind as usize, self.clock.now_ms(), src, msg);
    }

    fn drop_malformed(&self, msg: &str, src: SocketAddr) -> Screened {
        self.stats.malformed.fetch_add(1, Ordering::Relaxed);
        self.note(Noise::BadPacket, msg, src);
        Screened::Drop
    }

    fn screen(&self, datagram: &[u8], src: SocketAddr) -> Screened {
        if datagram.len() > MAX_PACKET_LEN {
            return self.drop_malformed("dropped a datagram over 4096 octets", src);
        }
        let clients = self.clients.get();
        let Some(ci) = super::client_for(&clients, src.ip()) else {
            self.stats.unknown_client.fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::UnknownClient,
                "dropped a packet from an unknown client",
                src,
            );
            return Screened::Drop;
        };
        let client = &clients[ci];
        let secret = client.secret.expose();
        let pkt = match Packet::parse(datagram) {
            Ok(p) => p,
            Err(e) => return self.drop_malformed(&format!("dropped a malformed packet: {e}"), src),
        };
        if pkt.code == STATUS_SERVER {
            return self.status_server(&pkt, client, src);
        }
        if pkt.code != ACCOUNTING_REQUEST {
            return self.drop_malformed(&format!("dropped a packet with code {}", pkt.code), src);
        }
        if let Err(e) = pkt.verify_accounting_request(secret) {
            self.stats.bad_authenticator.fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::BadSecret,
                &format!(
                    "dropped an Accounting-Request: {e} (wrong shared secret for client \"{}\"?)",
                    client.cfg.name
                ),
                src,
            );
            return Screened::Drop;
        }
        let key = (src, pkt.identifier);
        match self
            .lock_cache()
            .begin(key, pkt.authenticator, self.clock.now_ms())
        {
            Begin::New => {}
            Begin::InProgress => {
                // Still with the upstream: the NAS's retransmit must not make a second record.
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
        let proxy_states: Vec<Vec<u8>> =
            pkt.attrs_of(ATTR_PROXY_STATE).map(<[u8]>::to_vec).collect();
        let record = Record {
            status: shown(&pkt, ATTR_ACCT_STATUS_TYPE),
            session: shown(&pkt, ATTR_ACCT_SESSION_ID),
        };
        if self.upstream.is_none() {
            tracing::debug!(client = %client.cfg.name, status = %record.status, session = %record.session, "radius accounting: record acknowledged (not kept)");
            return match self.reply(client, key, &pkt.authenticator, &proxy_states) {
                Some(bytes) => Screened::Reply(bytes),
                None => Screened::Drop,
            };
        }
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            self.lock_cache().abandon(key, pkt.authenticator);
            self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::Overloaded,
                "overloaded: dropped an Accounting-Request (max_in_flight reached; the NAS retries)",
                src,
            );
            return Screened::Drop;
        };
        // This leg's own attributes stay here: the MA was for our secret, and the Proxy-States
        // come back to the NAS from `proxy_states`, in order and unchanged.
        let (forward, _) = decode_attributes(
            &pkt,
            &[ATTR_MESSAGE_AUTHENTICATOR, ATTR_PROXY_STATE],
            secret,
            &pkt.authenticator,
        );
        Screened::Work(
            Incoming {
                clients: clients.clone(),
                src,
                client: ci,
                identifier: pkt.identifier,
                authenticator: pkt.authenticator,
                proxy_states,
                forward,
                record,
            },
            permit,
        )
    }

    /// RFC 5997: a Status-Server on an accounting port is answered with an
    /// Accounting-Response, at once and never cached; it must carry a Message-Authenticator,
    /// and the reply's is computed as for an Access-Accept (§3), whatever the client's
    /// `accounting_message_authenticator`. It says this server is up, not its upstream.
    fn status_server(&self, pkt: &Packet<'_>, client: &Client, src: SocketAddr) -> Screened {
        let secret = client.secret.expose();
        if !pkt.has_message_authenticator() {
            return self.drop_malformed(
                &format!(
                    "dropped a Status-Server without Message-Authenticator from client \"{}\"",
                    client.cfg.name
                ),
                src,
            );
        }
        if pkt.verify_request_message_authenticator(secret).is_err() {
            self.stats.bad_authenticator.fetch_add(1, Ordering::Relaxed);
            self.note(
                Noise::BadSecret,
                &format!(
                    "dropped a Status-Server whose Message-Authenticator does not verify \
                     (wrong shared secret for client \"{}\"?)",
                    client.cfg.name
                ),
                src,
            );
            return Screened::Drop;
        }
        match encode_response(
            ACCOUNTING_RESPONSE,
            pkt.identifier,
            &pkt.authenticator,
            &[],
            secret,
        ) {
            Some(b) => Screened::Reply(b),
            None => Screened::Drop,
        }
    }

    /// The Accounting-Response for a request, cached for its retransmits; `None` (and the
    /// request forgotten) if it cannot be encoded.
    fn reply(
        &self,
        client: &Client,
        key: (SocketAddr, u8),
        request_authenticator: &[u8; 16],
        proxy_states: &[Vec<u8>],
    ) -> Option<Vec<u8>> {
        let mut attrs = Vec::new();
        for ps in proxy_states {
            push_attr(&mut attrs, ATTR_PROXY_STATE, ps);
        }
        let Some(bytes) = encode_accounting_response(
            key.1,
            request_authenticator,
            &attrs,
            client.secret.expose(),
            client.cfg.accounting_message_authenticator,
        ) else {
            tracing::error!("radius accounting: response does not fit into 4096 octets");
            self.lock_cache().abandon(key, *request_authenticator);
            return None;
        };
        let shared: Arc<[u8]> = bytes.clone().into();
        self.lock_cache()
            .complete(key, *request_authenticator, shared, self.clock.now_ms());
        self.stats.answered.fetch_add(1, Ordering::Relaxed);
        Some(bytes)
    }

    /// Hands a record to the upstream group; answers the NAS once a server has it.
    async fn forward(&self, inc: Incoming, socket: &UdpSocket) {
        let key = (inc.src, inc.identifier);
        let Some(upstream) = &self.upstream else {
            self.lock_cache().abandon(key, inc.authenticator);
            return;
        };
        let client = &inc.clients[inc.client];
        let client_name = &client.cfg.name;
        match upstream.account(&inc.forward).await {
            Ok(server) => {
                tracing::debug!(client = %client_name, %server, status = %inc.record.status, session = %inc.record.session, "radius accounting: record acknowledged by the upstream");
                self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                // No answer, so the NAS keeps the record and retries; its retransmit starts
                // afresh since the cache forgets this one.
                self.lock_cache().abandon(key, inc.authenticator);
                self.stats.unacknowledged.fetch_add(1, Ordering::Relaxed);
                self.note(
                    Noise::Unacknowledged,
                    &format!(
                        "record from client \"{client_name}\" not acknowledged: {e}; the NAS was \
                         not answered and will retry"
                    ),
                    inc.src,
                );
                return;
            }
        }
        if let Some(bytes) = self.reply(client, key, &inc.authenticator, &inc.proxy_states) {
            if let Err(e) = socket.send_to(&bytes, inc.src).await {
                tracing::debug!(error = %e, "radius accounting: send failed");
            }
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, ReplyCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An attribute's value as FreeRADIUS prints it (quoted and escaped, so a NAS cannot forge a
/// log line), or "-" when absent.
fn shown(pkt: &Packet<'_>, code: u8) -> String {
    match pkt.attr(code) {
        Some(v) => {
            let line = dictionary::display(0, code, v);
            match line.split_once(" = ") {
                Some((_, value)) => value.to_owned(),
                None => line,
            }
        }
        None => "-".to_owned(),
    }
}

/// The accounting port's counters as `mfagate_accounting_*`, read at scrape time.
impl crate::metrics::Source for AccountingFrontend {
    fn collect(&self, out: &mut crate::metrics::Samples) {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let s = &self.stats;
        for (result, v) in [
            ("answered", n(&s.answered)),
            ("forwarded", n(&s.forwarded)),
            ("unacknowledged", n(&s.unacknowledged)),
            ("duplicate_answered", n(&s.duplicates_answered)),
        ] {
            out.counter(
                "accounting_requests",
                "Accounting-Requests: answered (forwarded: acknowledged by the upstream group \
                 first), unacknowledged (no upstream answered, the NAS retries), retransmits",
                &[("result", result)],
                v,
            );
        }
        for (cause, v) in [
            ("unknown_client", n(&s.unknown_client)),
            ("bad_authenticator", n(&s.bad_authenticator)),
            ("malformed", n(&s.malformed)),
            ("max_in_flight", n(&s.overloaded)),
            ("duplicate_in_progress", n(&s.duplicates_dropped)),
        ] {
            out.counter(
                "accounting_dropped",
                "Datagrams on the accounting port dropped before they were handled, by cause",
                &[("cause", cause)],
                v,
            );
        }
    }
}
