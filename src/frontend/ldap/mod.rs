//! LDAP front-end (RFC 4511) for applications that can only authenticate with a simple bind.
//!
//! Owns the listeners (LDAPS, StartTLS, and cleartext for loopback tests), the per-connection
//! session and the translation between LDAP operations and the [`Pipeline`]:
//! - a simple bind becomes an [`AuthRequest`] with [`Credential::Bind`]; the pipeline decides
//!   (exempt accounts, bind cache, `password<delimiter>code`), and [`bind_result`] is the one
//!   place where its answer becomes an LDAP result code;
//! - search and compare are passed through to the directory behind the gateway (neutral
//!   [`DirQuery`] types: this module never sees AD's client types), entry by entry, with
//!   continuation references dropped;
//! - writes get `unwillingToPerform`: the gateway is read-only.
//!
//! Limits keep a hostile client from exhausting the process: message size and filter depth at
//! the codec, an idle timeout (which also ends half-sent messages), connections per listener
//! and per client IP, and a bounded queue between a proxied search and the socket.

mod codec;
pub mod filter;
mod reply;
mod tls;
pub use reply::bind_result;
use reply::{
    critical_control_unsupported, dir_result, error_response, extended, notice_of_disconnection,
    result, Reply,
};
pub use tls::acceptor as tls_acceptor;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindResponse, LdapMsg, LdapOp, LdapPartialAttribute, LdapResultCode,
    LdapSearchRequest, LdapSearchResultEntry, LdapSearchScope,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthRequest, Bound, Credential, Pipeline};
use crate::config::{canonical_ip, LdapConfig, LdapListener, LdapTls, SearchAs, Secret};
use crate::primary::{DirEntry, DirQuery, DirScope, UserDirectory};

const OID_STARTTLS: &str = "1.3.6.1.4.1.1466.20037";
const OID_WHOAMI: &str = "1.3.6.1.4.1.4203.1.11.3";
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Entries queued between a proxied search and the socket, per search.
const ENTRY_QUEUE: usize = 32;
/// Operations one connection may have outstanding; beyond, new ones get `busy`.
const MAX_OUTSTANDING: usize = 64;

#[derive(Debug, thiserror::Error)]
#[error("ldap.listeners[{index}]: {message}")]
pub struct LdapSetupError {
    index: usize,
    message: String,
}

struct Listener {
    cfg: LdapListener,
    tls: Option<TlsAcceptor>,
    slots: Arc<Semaphore>,
}

pub struct LdapFrontend {
    cfg: LdapConfig,
    /// Replaced by a reload (exemptions, policies, providers live in the pipeline); each bind,
    /// search and compare takes it once and finishes on it.
    pipeline: crate::live::Live<Pipeline>,
    listeners: Vec<Listener>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Per listener (same order), when `[metrics]` is on.
    metrics: Option<Vec<crate::metrics::ClientMetrics>>,
}

/// Holds one of a client IP's connection slots until dropped.
struct IpSlot<'a> {
    fe: &'a LdapFrontend,
    ip: IpAddr,
}

impl Drop for IpSlot<'_> {
    fn drop(&mut self) {
        let mut m = self.fe.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// What a session learned from a successful bind.
struct BoundUser {
    name: String,
    dn: Option<String>,
    directory: Option<Arc<UserDirectory>>,
}

struct Session {
    listener: usize,
    peer: SocketAddr,
    tls: bool,
    bound: Option<BoundUser>,
}

/// Why a session loop returned.
enum Next<S> {
    Close,
    StartTls(S),
}

/// What the session loop does with one request, as [`LdapFrontend::answer`] decided: the loop
/// itself only does the I/O.
enum Answer {
    /// Nothing now: abandon, or an operation whose task answers through the queue.
    Nothing,
    Send(LdapMsg),
    /// Unbind: close without a word.
    Close,
    /// A notice of disconnection with this reason, then close.
    Disconnect(&'static str),
    /// Send this success, then hand the connection to the TLS handshake.
    StartTls(LdapMsg),
}

impl From<Option<LdapMsg>> for Answer {
    fn from(reply: Option<LdapMsg>) -> Answer {
        reply.map_or(Answer::Nothing, Answer::Send)
    }
}

impl LdapFrontend {
    /// Loads every listener's certificate and key.
    pub fn new(cfg: &LdapConfig, pipeline: Arc<Pipeline>) -> Result<Self, LdapSetupError> {
        let mut listeners = Vec::new();
        for (index, l) in cfg.listeners.iter().enumerate() {
            let tls = match (&l.cert_file, &l.key_file) {
                (Some(c), Some(k)) => {
                    Some(tls::acceptor(c, k).map_err(|message| LdapSetupError { index, message })?)
                }
                _ => None,
            };
            listeners.push(Listener {
                cfg: l.clone(),
                tls,
                slots: Arc::new(Semaphore::new(cfg.max_connections)),
            });
        }
        Ok(Self {
            cfg: cfg.clone(),
            pipeline: crate::live::Live::new(pipeline),
            listeners,
            per_ip: Mutex::new(HashMap::new()),
            metrics: None,
        })
    }

    /// Hands the operations that start from now on to `pipeline`.
    pub fn set_pipeline(&self, pipeline: Arc<Pipeline>) {
        self.pipeline.set(pipeline);
    }

    /// Counts each listener's binds and times their decisions in `metrics`.
    pub fn with_metrics(mut self, metrics: &crate::metrics::Metrics) -> Self {
        let per_listener = self
            .listeners
            .iter()
            .map(|l| metrics.client("ldap", &l.cfg.name))
            .collect();
        self.metrics = Some(per_listener);
        self
    }

    /// Accepts connections on listener `index` until `cancel` fires.
    pub async fn run(
        self: Arc<Self>,
        index: usize,
        socket: TcpListener,
        cancel: CancellationToken,
    ) {
        while let Some((stream, peer)) = crate::accept::next(&socket, &cancel, "ldap").await {
            let Ok(permit) = self.listeners[index].slots.clone().try_acquire_owned() else {
                tracing::warn!(peer = %peer, "ldap: max_connections reached; connection refused");
                continue;
            };
            let fe = self.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                fe.connection(index, stream, peer, permit, cancel).await;
            });
        }
    }

    fn ip_slot(&self, ip: IpAddr) -> Option<IpSlot<'_>> {
        let mut m = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= self.cfg.max_connections_per_ip {
            return None;
        }
        *n += 1;
        Some(IpSlot { fe: self, ip })
    }

    async fn connection(
        self: Arc<Self>,
        index: usize,
        stream: TcpStream,
        peer: SocketAddr,
        _permit: OwnedSemaphorePermit,
        cancel: CancellationToken,
    ) {
        let ip = canonical_ip(peer.ip());
        let Some(_ip_slot) = self.ip_slot(ip) else {
            tracing::warn!(peer = %peer, "ldap: max_connections_per_ip reached; connection refused");
            return;
        };
        let _ = stream.set_nodelay(true);
        let listener = &self.listeners[index];
        let mut session = Session {
            listener: index,
            peer,
            tls: false,
            bound: None,
        };
        let plain = match (listener.cfg.tls, &listener.tls) {
            (LdapTls::Ldaps, Some(acceptor)) => {
                if let Some(s) = self.handshake(acceptor, stream, peer).await {
                    session.tls = true;
                    self.session(s, &mut session, &cancel).await;
                }
                return;
            }
            _ => stream,
        };
        if let Next::StartTls(stream) = self.session(plain, &mut session, &cancel).await {
            let Some(acceptor) = &listener.tls else {
                return;
            };
            if let Some(s) = self.handshake(acceptor, stream, peer).await {
                session.tls = true;
                self.session(s, &mut session, &cancel).await;
            }
        }
    }

    async fn handshake(
        &self,
        acceptor: &TlsAcceptor,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(s)) => Some(s),
            Ok(Err(e)) => {
                tracing::debug!(peer = %peer, error = %e, "ldap: TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(peer = %peer, "ldap: TLS handshake timed out");
                None
            }
        }
    }

    /// Serves one connection (or its part before StartTLS). Operations other than bind run
    /// as tasks that send their responses through `tx`, so a long search does not stop the
    /// session from reading an Abandon.
    async fn session<S: AsyncRead + AsyncWrite + Unpin + Send>(
        &self,
        io: S,
        st: &mut Session,
        cancel: &CancellationToken,
    ) -> Next<S> {
        let idle = Duration::from_secs(self.cfg.idle_timeout_secs);
        let mut framed = Framed::new(
            io,
            codec::Codec::new(
                self.cfg.max_message_bytes,
                // The envelope (message, op, attribute lists) takes a few levels of its own.
                self.cfg.max_filter_depth + 8,
            ),
        );
        let (tx, mut rx) = mpsc::channel::<Reply>(ENTRY_QUEUE);
        let mut running: HashMap<i32, JoinHandle<()>> = HashMap::new();
        let mut deadline = tokio::time::Instant::now() + idle;
        let next = loop {
            running.retain(|_, h| !h.is_finished());
            let msg = tokio::select! {
                _ = cancel.cancelled() => break Next::Close,
                Some(reply) = rx.recv() => {
                    if reply.last {
                        running.remove(&reply.msg.msgid);
                    }
                    if framed.send(reply.msg).await.is_err() {
                        break Next::Close;
                    }
                    deadline = tokio::time::Instant::now() + idle;
                    continue;
                }
                _ = tokio::time::sleep_until(deadline), if running.is_empty() => {
                    tracing::debug!(peer = %st.peer, "ldap: idle timeout");
                    break Next::Close;
                }
                m = framed.next() => m,
            };
            deadline = tokio::time::Instant::now() + idle;
            let msg = match msg {
                None => break Next::Close,
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::debug!(peer = %st.peer, error = %e, "ldap: undecodable message; disconnecting");
                    let _ = framed.send(notice_of_disconnection(&e.to_string())).await;
                    break Next::Close;
                }
            };
            if msg.msgid <= 0 {
                let _ = framed
                    .send(notice_of_disconnection("messageID 0 is reserved"))
                    .await;
                break Next::Close;
            }
            match self.answer(st, msg, &mut running, &mut rx, &tx).await {
                Answer::Nothing => {}
                Answer::Send(r) => {
                    if framed.send(r).await.is_err() {
                        break Next::Close;
                    }
                }
                Answer::Close => break Next::Close,
                Answer::Disconnect(why) => {
                    let _ = framed.send(notice_of_disconnection(why)).await;
                    break Next::Close;
                }
                Answer::StartTls(r) => {
                    if framed.send(r).await.is_err() {
                        break Next::Close;
                    }
                    // RFC 4511 §4.14.1: anything the client sent after the request and
                    // before the handshake is not part of the TLS session: drop it.
                    break Next::StartTls(framed.into_parts().io);
                }
            }
        };
        for (_, h) in running {
            h.abort();
        }
        next
    }

    /// What one request gets. Operations that run as tasks (search, compare) are started
    /// here and answer through `tx`; a bind first abandons them and drops what they queued.
    async fn answer(
        &self,
        st: &mut Session,
        msg: LdapMsg,
        running: &mut HashMap<i32, JoinHandle<()>>,
        rx: &mut mpsc::Receiver<Reply>,
        tx: &mpsc::Sender<Reply>,
    ) -> Answer {
        let id = msg.msgid;
        let queued_op = matches!(msg.op, LdapOp::SearchRequest(_) | LdapOp::CompareRequest(_));
        if queued_op && running.len() >= MAX_OUTSTANDING {
            let text = "too many outstanding operations on this connection";
            return Answer::from(error_response(&msg.op, id, LdapResultCode::Busy, text));
        }
        if let Some(code) = critical_control_unsupported(&msg) {
            let text = "unsupported critical control";
            return Answer::from(error_response(&msg.op, id, code, text));
        }
        let started =
            |task: Result<JoinHandle<()>, Box<LdapMsg>>, running: &mut HashMap<_, _>| match task {
                Ok(h) => {
                    running.insert(id, h);
                    Answer::Nothing
                }
                Err(reply) => Answer::Send(*reply),
            };
        match msg.op {
            LdapOp::BindRequest(req) => {
                // RFC 4511 §4.2.1: operations outstanding at a bind are abandoned.
                for (_, h) in running.drain() {
                    h.abort();
                }
                // Their queued responses go too: nothing of theirs follows the bind.
                while rx.try_recv().is_ok() {}
                let (code, text) = self.bind(st, req).await;
                let resp = LdapOp::BindResponse(LdapBindResponse {
                    res: result(code, text),
                    saslcreds: None,
                });
                Answer::Send(LdapMsg::new(id, resp))
            }
            LdapOp::UnbindRequest => Answer::Close,
            LdapOp::AbandonRequest(target) => {
                if let Some(h) = running.remove(&target) {
                    h.abort();
                }
                Answer::Nothing
            }
            LdapOp::SearchRequest(req) => {
                let paged = msg
                    .ctrl
                    .iter()
                    .any(|c| matches!(c, LdapControl::SimplePagedResults { .. }));
                started(self.search_task(st, id, req, paged, tx.clone()), running)
            }
            LdapOp::CompareRequest(req) => {
                started(self.compare_task(st, id, req, tx.clone()), running)
            }
            LdapOp::AddRequest(_)
            | LdapOp::ModifyRequest(_)
            | LdapOp::DelRequest(_)
            | LdapOp::ModifyDNRequest(_) => Answer::from(error_response(
                &msg.op,
                id,
                LdapResultCode::UnwillingToPerform,
                "this gateway is read-only",
            )),
            LdapOp::ExtendedRequest(req) if req.name == OID_STARTTLS => {
                match self.start_tls_refusal(st, running) {
                    Some((code, text)) => {
                        Answer::Send(extended(id, code, text, Some(OID_STARTTLS), None))
                    }
                    None => Answer::StartTls(extended(
                        id,
                        LdapResultCode::Success,
                        "",
                        Some(OID_STARTTLS),
                        None,
                    )),
                }
            }
            LdapOp::ExtendedRequest(req) if req.name == OID_WHOAMI => {
                let authz = match &st.bound {
                    Some(b) => match &b.dn {
                        Some(dn) => format!("dn:{dn}"),
                        None => format!("u:{}", b.name),
                    },
                    None => String::new(),
                };
                let value = Some(authz.into_bytes());
                Answer::Send(extended(id, LdapResultCode::Success, "", None, value))
            }
            // RFC 4511 §4.12: an unrecognised request name gets protocolError.
            LdapOp::ExtendedRequest(_) => Answer::Send(extended(
                id,
                LdapResultCode::ProtocolError,
                "unsupported extended operation",
                None,
                None,
            )),
            // Responses and other things only a server sends.
            _ => Answer::Disconnect("unexpected operation"),
        }
    }

    /// Why StartTLS cannot begin now, if it cannot.
    fn start_tls_refusal(
        &self,
        st: &Session,
        running: &HashMap<i32, JoinHandle<()>>,
    ) -> Option<(LdapResultCode, &'static str)> {
        if st.tls {
            Some((
                LdapResultCode::OperationsError,
                "TLS is already established",
            ))
        } else if self.listeners[st.listener].cfg.tls != LdapTls::StartTls {
            Some((
                LdapResultCode::ProtocolError,
                "StartTLS is not offered on this listener",
            ))
        } else if !running.is_empty() {
            Some((
                LdapResultCode::OperationsError,
                "operations are outstanding",
            ))
        } else {
            None
        }
    }

    /// A simple bind: refused locally when it must be, else decided by the pipeline.
    async fn bind(
        &self,
        st: &mut Session,
        req: ldap3_proto::proto::LdapBindRequest,
    ) -> (LdapResultCode, &'static str) {
        // Whatever happens next, the previous identity is gone (RFC 4513 §5.1.1).
        st.bound = None;
        if req.version != 3 {
            return (LdapResultCode::ProtocolError, "only LDAPv3 is supported");
        }
        let password = match req.cred {
            LdapBindCred::Simple(p) => Secret::new(p),
            LdapBindCred::SASL(_) | LdapBindCred::Unsupported => {
                return (
                    LdapResultCode::AuthMethodNotSupported,
                    "only simple bind is supported",
                )
            }
        };
        let listener = &self.listeners[st.listener].cfg;
        if !st.tls && !listener.allow_cleartext_bind {
            return (
                LdapResultCode::ConfidentialityRequired,
                "use LDAPS or StartTLS before binding",
            );
        }
        let request = AuthRequest {
            user_name: req.dn,
            client_name: listener.name.clone(),
            client_ip: canonical_ip(st.peer.ip()),
            credential: Credential::Bind {
                combined: password,
                delimiter: listener.otp_delimiter.clone(),
            },
            failmode: listener.failmode,
            // A simple bind cannot be challenged: a push runs inside it.
            push_mode: crate::config::PushMode::Wait,
            forward: Vec::new(),
            retransmit_key: None,
        };
        let want_directory = self.cfg.search_as == SearchAs::User;
        let started = std::time::Instant::now();
        let outcome = self
            .pipeline
            .get()
            .authenticate_bind(&request, want_directory)
            .await;
        if let Some(m) = self.metrics.as_ref().and_then(|m| m.get(st.listener)) {
            use crate::metrics::Outcome;
            let o = match &outcome {
                Ok((d, _)) if d.is_accept() => Outcome::Accept,
                Ok(_) => Outcome::Reject,
                Err(_) => Outcome::Error,
            };
            m.observe(o, started.elapsed());
        }
        let (decision, bound) = match outcome {
            Ok((d, b)) => (Ok(d), b),
            Err(e) => {
                tracing::warn!(error = %e, "ldap: bind could not be decided");
                (Err(e), None)
            }
        };
        let (code, text) = bind_result(&decision);
        if code == LdapResultCode::Success {
            st.bound = bound.map(|b: Bound| BoundUser {
                name: b.name,
                dn: b.dn,
                directory: b.directory.map(Arc::new),
            });
        }
        (code, text)
    }

    /// Starts a proxied search, or answers at once (`Err`) when it cannot run.
    fn search_task(
        &self,
        st: &Session,
        id: i32,
        req: LdapSearchRequest,
        paged: bool,
        tx: mpsc::Sender<Reply>,
    ) -> Result<JoinHandle<()>, Box<LdapMsg>> {
        let done =
            |code, text: &str| LdapMsg::new(id, LdapOp::SearchResultDone(result(code, text)));
        let root_dse = req.base.is_empty() && req.scope == LdapSearchScope::Base;
        // The rootDSE is readable before a bind, as on AD (clients read it to discover what
        // the server supports); anything else needs a bound session.
        if st.bound.is_none() && !root_dse {
            return Err(Box::new(done(
                LdapResultCode::OperationsError,
                "a successful bind must be completed before searching",
            )));
        }
        let Some(filter) = filter::to_rfc4515(&req.filter) else {
            return Err(Box::new(done(
                LdapResultCode::ProtocolError,
                "invalid filter",
            )));
        };
        let query = DirQuery {
            base: req.base,
            scope: match req.scope {
                LdapSearchScope::Base => DirScope::Base,
                LdapSearchScope::OneLevel => DirScope::One,
                // Subordinate (draft) behaves like a subtree without the base for our needs.
                _ => DirScope::Sub,
            },
            filter,
            attrs: req.attrs,
            size_limit: req.sizelimit.max(0),
            time_limit: req.timelimit.max(0),
            types_only: req.typesonly,
        };
        let pipeline = self.pipeline.get();
        let directory = st.bound.as_ref().and_then(|b| b.directory.clone());
        Ok(tokio::spawn(async move {
            let (etx, mut erx) = mpsc::channel::<DirEntry>(ENTRY_QUEUE);
            let search = async move {
                pipeline
                    .directory_search(&query, directory.as_deref(), &etx)
                    .await
            };
            let forward = {
                let tx = tx.clone();
                async move {
                    while let Some(e) = erx.recv().await {
                        let entry = LdapSearchResultEntry {
                            dn: e.dn,
                            attributes: e
                                .attrs
                                .into_iter()
                                .map(|(atype, vals)| LdapPartialAttribute { atype, vals })
                                .collect(),
                        };
                        let msg = LdapMsg::new(id, LdapOp::SearchResultEntry(entry));
                        if tx.send(Reply { msg, last: false }).await.is_err() {
                            return;
                        }
                    }
                }
            };
            let (outcome, ()) = tokio::join!(search, forward);
            let (code, text) = dir_result(outcome);
            let ctrl = if paged {
                // Every entry went out in this one "page": an empty cookie says there is no
                // next one (RFC 2696 §3).
                vec![LdapControl::SimplePagedResults {
                    size: 0,
                    cookie: Vec::new(),
                }]
            } else {
                Vec::new()
            };
            let msg =
                LdapMsg::new_with_ctrls(id, LdapOp::SearchResultDone(result(code, &text)), ctrl);
            let _ = tx.send(Reply { msg, last: true }).await;
        }))
    }

    fn compare_task(
        &self,
        st: &Session,
        id: i32,
        req: ldap3_proto::proto::LdapCompareRequest,
        tx: mpsc::Sender<Reply>,
    ) -> Result<JoinHandle<()>, Box<LdapMsg>> {
        let Some(bound) = &st.bound else {
            return Err(Box::new(LdapMsg::new(
                id,
                LdapOp::CompareResult(result(
                    LdapResultCode::OperationsError,
                    "a successful bind must be completed before comparing",
                )),
            )));
        };
        let pipeline = self.pipeline.get();
        let directory = bound.directory.clone();
        Ok(tokio::spawn(async move {
            let outcome = pipeline
                .directory_compare(&req.dn, &req.atype, &req.val, directory.as_deref())
                .await;
            let (code, text) = dir_result(outcome);
            let msg = LdapMsg::new(id, LdapOp::CompareResult(result(code, &text)));
            let _ = tx.send(Reply { msg, last: true }).await;
        }))
    }
}

/// Whether a listener's certificate and key load (for `mfagate doctor`).
pub fn check_certificate(
    cert_file: &std::path::Path,
    key_file: &std::path::Path,
) -> Result<(), String> {
    tls::acceptor(cert_file, key_file).map(|_| ())
}
