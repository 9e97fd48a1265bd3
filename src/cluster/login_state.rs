//! Login state between members (high availability, part 2): each node is the only writer of
//! its own change-log entries and ships them to every other member as they commit; a member
//! merges them by the rules in `crate::store::replica`. This is not Raft: a node that cannot
//! reach a majority still authenticates and ships when it can.
//!
//! A sender starts each peer at the sequence the peer says it has merged (asked with an empty
//! batch), so nothing is persisted on the sending side and a restarted peer catches up from
//! the tail of every peer's log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::fates::Fates;
use super::node::ClusterNode;
use super::rpc::{Peer, Request, Response};
use crate::auth::SharedReply;
use crate::auth::{PeerAck, PeerClaims};
use crate::store::model::Change;
use crate::store::{AuthPage, LoginSnapshot, Store};

/// What the shipper has learnt of each peer, shared with logins waiting for acknowledgement.
#[derive(Default)]
struct Progress {
    /// Per peer: what it has merged of this node's log, and whether its last call answered.
    peers: HashMap<String, (u64, bool)>,
    /// Entries of this node's log a peer reported as conflicting, and which peer.
    conflicts: BTreeMap<u64, String>,
    /// Per peer: recent delays, in µs, from an entry's durable commit here to the peer's
    /// acknowledgement that it merged it.
    delays: HashMap<String, VecDeque<u32>>,
}

/// Delays kept per peer for the percentiles in `cluster status`.
const DELAYS_KEPT: usize = 4096;
/// Commit times kept: far more than a peer may lag behind before it is reported as stale.
const COMMITS_KEPT: usize = 100_000;

/// Peer acknowledgement for the pipeline (`auth::PeerClaims`): a login waits for the entries
/// of its decision to be merged by every peer that answers, up to `ack_timeout_ms`.
pub struct Claims {
    progress: Mutex<Progress>,
    changed: Notify,
    timeout: Duration,
    require: bool,
    /// Decisions made without any peer's acknowledgement (for `cluster status`).
    pub alone: AtomicU64,
    /// When each durable commit of this node's log was announced: (its last sequence, when).
    commits: Mutex<VecDeque<(u64, Instant)>>,
    /// The RADIUS reply cache shared with the peers, and a wake-up for the shipper.
    pub fates: Fates,
    fates_recorded: Notify,
}

impl Claims {
    pub fn new(timeout_ms: u64, require: bool) -> Arc<Self> {
        Arc::new(Self {
            progress: Mutex::new(Progress::default()),
            changed: Notify::new(),
            timeout: Duration::from_millis(timeout_ms),
            require,
            alone: AtomicU64::new(0),
            commits: Mutex::new(VecDeque::new()),
            fates: Fates::default(),
            fates_recorded: Notify::new(),
        })
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        if let Ok(mut p) = self.progress.lock() {
            f(&mut p);
        }
        self.changed.notify_waiters();
    }

    /// The verdict now; `None` while a peer that answers has yet to merge the entries
    /// (`timed_out`: it gets no more time, and counts as unreachable).
    fn verdict(&self, after: u64, upto: u64, timed_out: bool) -> Option<PeerAck> {
        let p = self.progress.lock().ok()?;
        if let Some((_, peer)) = p.conflicts.range(after + 1..=upto).next() {
            return Some(PeerAck::Conflict(peer.clone()));
        }
        if p.peers.is_empty() {
            return Some(PeerAck::Confirmed);
        }
        let acked = p.peers.values().filter(|(a, _)| *a >= upto).count();
        let waiting = p.peers.values().filter(|(a, up)| *up && *a < upto).count();
        if waiting > 0 && !timed_out {
            return None;
        }
        Some(if acked > 0 {
            PeerAck::Confirmed
        } else {
            PeerAck::Alone
        })
    }

    /// Notes when commits are announced, for the lag and delays of `cluster status`.
    pub async fn track_commits(self: Arc<Self>, store: Store, cancel: CancellationToken) {
        let mut rx = store.commits();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = rx.changed() => if r.is_err() { return },
            }
            let seq = *rx.borrow_and_update();
            if let Ok(mut q) = self.commits.lock() {
                q.push_back((seq, Instant::now()));
                while q.len() > COMMITS_KEPT {
                    q.pop_front();
                }
            }
        }
    }

    /// A peer has merged this node's log up to `acked` (it had `before`): the delay of each
    /// commit it now has, for the percentiles.
    fn acked(&self, peer: &str, before: u64, acked: u64) {
        if acked <= before {
            return;
        }
        let now = Instant::now();
        let delays: Vec<u32> = match self.commits.lock() {
            Ok(q) => {
                // In sequence order: the commits the peer now has are one run of them.
                let from = q.partition_point(|(s, _)| *s <= before);
                let to = q.partition_point(|(s, _)| *s <= acked);
                q.range(from..to)
                    .map(|(_, t)| now.duration_since(*t).as_micros().min(u32::MAX as u128) as u32)
                    .collect()
            }
            Err(_) => return,
        };
        self.update(|pr| {
            let d = pr.delays.entry(peer.to_owned()).or_default();
            d.extend(delays);
            while d.len() > DELAYS_KEPT {
                d.pop_front();
            }
        });
    }

    /// Per peer: what it has merged of this node's durable log, how far behind it is (in
    /// entries and in the age of the oldest entry it lacks), and the recent delays from
    /// commit to its acknowledgement (p50/p99, ms).
    pub fn report(&self, durable: u64) -> serde_json::Value {
        let Ok(p) = self.progress.lock() else {
            return serde_json::Value::Null;
        };
        let oldest_missing = |acked: u64| -> Option<u64> {
            if acked >= durable {
                return Some(0);
            }
            let q = self.commits.lock().ok()?;
            let t = q
                .get(q.partition_point(|(s, _)| *s <= acked))
                .map(|(_, t)| *t)?;
            Some(t.elapsed().as_millis() as u64)
        };
        let mut peers: Vec<_> = p.peers.iter().collect();
        peers.sort_by(|a, b| a.0.cmp(b.0));
        let rows: Vec<_> = peers
            .into_iter()
            .map(|(name, (acked, up))| {
                let mut d: Vec<u32> = p
                    .delays
                    .get(name)
                    .map(|d| d.iter().copied().collect())
                    .unwrap_or_default();
                d.sort_unstable();
                let pct = |q: f64| -> Option<f64> {
                    let i = ((d.len() as f64 - 1.0) * q).round() as usize;
                    d.get(i).map(|us| (*us as f64 / 100.0).round() / 10.0)
                };
                serde_json::json!({
                    "peer": name, "answers": up, "merged_seq": acked,
                    "lag_entries": durable.saturating_sub(*acked),
                    "lag_ms": oldest_missing(*acked),
                    "ack_delay_p50_ms": pct(0.5), "ack_delay_p99_ms": pct(0.99),
                    "ack_delay_samples": d.len(),
                })
            })
            .collect();
        serde_json::Value::Array(rows)
    }

    fn counted(&self, v: PeerAck) -> PeerAck {
        if v == PeerAck::Alone {
            let n = self.alone.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                decided_alone = n,
                "cluster: no peer acknowledged a login's one-time credential in time; decided alone"
            );
        }
        v
    }
}

impl PeerClaims for Claims {
    fn confirm(
        &self,
        after: u64,
        upto: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = PeerAck> + Send + '_>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + self.timeout;
            loop {
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(v) = self.verdict(after, upto, false) {
                    return self.counted(v);
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    let v = self.verdict(after, upto, true).unwrap_or(PeerAck::Alone);
                    return self.counted(v);
                }
            }
        })
    }

    fn require_peer_ack(&self) -> bool {
        self.require
    }

    fn fate(&self, request: &[u8], now_ms: u64) -> Option<SharedReply> {
        self.fates.get(request, now_ms)
    }

    fn share_fate(&self, request: Vec<u8>, fate: SharedReply, now_ms: u64) {
        self.fates.record(request, fate, now_ms);
        self.fates_recorded.notify_one();
    }

    fn answers(&self, node: &str) -> bool {
        self.progress
            .lock()
            .ok()
            .and_then(|p| p.peers.get(node).map(|(_, up)| *up))
            .unwrap_or(false)
    }
}

/// Entries per batch.
const BATCH: usize = 500;
/// A peer that does not answer this fast is tried again at the next round.
const SHIP_TIMEOUT: Duration = Duration::from_secs(2);
/// Rounds also run this often without a commit, to retry peers that were unreachable.
const RETRY_EVERY: Duration = Duration::from_millis(500);

struct PeerLog {
    peer: Peer,
    address: String,
    /// What the peer has merged of this node's log, once it said so.
    acked: Option<u64>,
    /// When the peer last answered.
    heard: Instant,
    /// The number of the last of this node's RADIUS fates the peer has.
    fates_sent: u64,
}

/// Ships this node's login-state entries to every other member until `cancel`.
pub async fn ship(node: Arc<ClusterNode>, claims: Arc<Claims>, cancel: CancellationToken) {
    let origin = node.store.node_id();
    let mut commits = node.store.commits();
    let mut peers: HashMap<String, PeerLog> = HashMap::new();
    let mut trimmed = Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = commits.changed() => if r.is_err() { return },
            _ = claims.fates_recorded.notified() => {}
            _ = tokio::time::sleep(RETRY_EVERY) => {}
        }
        let members: Vec<_> = node
            .members()
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| n.name != node.me.name)
            .collect();
        peers.retain(|name, p| {
            members
                .iter()
                .any(|m| &m.name == name && m.address == p.address)
        });
        claims.update(|pr| pr.peers.retain(|name, _| peers.contains_key(name)));
        for m in members {
            peers.entry(m.name.clone()).or_insert_with(|| PeerLog {
                peer: Peer::new(node.tls.clone(), &m.address, &m.name),
                address: m.address.clone(),
                acked: None,
                heard: Instant::now(),
                fates_sent: 0,
            });
        }
        let rounds = peers
            .iter_mut()
            .map(|(name, p)| ship_to(&node, &claims, origin, name, p));
        futures_util::future::join_all(rounds).await;
        if trimmed.elapsed() >= TRIM_EVERY {
            trim(&node, &claims, origin, peers.len(), node.login_log_keep).await;
            trimmed = Instant::now();
        }
    }
}

/// Sends `p` everything it lacks, a batch at a time; stops at the first failure.
async fn ship_to(node: &ClusterNode, claims: &Claims, origin: u64, name: &str, p: &mut PeerLog) {
    let unreachable = |pr: &mut Progress| pr.peers.entry(name.to_owned()).or_default().1 = false;
    loop {
        let after = match p.acked {
            Some(a) => a,
            None => match call(node, claims, p, origin, Vec::new(), 0).await {
                Some((a, _)) => a,
                None => {
                    claims.update(unreachable);
                    return;
                }
            },
        };
        p.acked = Some(after);
        // Only durable entries leave the node (see `Store::commits`).
        let durable = node.store.durable_seq();
        let first = node.store.read(|r| r.own_log_first(origin)).ok().flatten();
        if durable > after && first.is_none_or(|f| f > after + 1) {
            // What the peer lacks was trimmed: it catches up from a snapshot.
            if !send_snapshot(node, claims, origin, name, p, after, durable).await {
                claims.update(unreachable);
                return;
            }
            continue;
        }
        let batch = node
            .store
            .read(|r| r.own_changes_after(origin, after, durable, BATCH));
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: cannot read the change log to ship");
                return;
            }
        };
        let Some(upto) = batch.last().map(|(s, _)| *s) else {
            // Nothing to send: a peer that was not heard from lately is asked all the same,
            // so a dead one stops counting as answering (a retransmit held by it is then
            // finished elsewhere).
            if p.heard.elapsed() >= RETRY_EVERY || claims.fates.recorded() > p.fates_sent {
                match call(node, claims, p, origin, Vec::new(), 0).await {
                    Some((a, _)) => p.acked = Some(a),
                    None => {
                        claims.update(unreachable);
                        return;
                    }
                }
            }
            claims.update(|pr| {
                pr.peers.insert(name.to_owned(), (after, true));
            });
            return;
        };
        let full = batch.len() == BATCH;
        let entries: Vec<(u64, Change)> = batch
            .into_iter()
            .filter(|(_, c)| !c.is_directory())
            .collect();
        match call(node, claims, p, origin, entries, upto).await {
            Some((a, conflicts)) => {
                p.acked = Some(a);
                claims.acked(name, after, a);
                claims.update(|pr| {
                    pr.peers.insert(name.to_owned(), (a, true));
                    for c in conflicts {
                        pr.conflicts.insert(c, name.to_owned());
                    }
                    // Only recent conflicts matter to a login that is waiting.
                    while pr.conflicts.len() > 10_000 {
                        pr.conflicts.pop_first();
                    }
                });
            }
            None => {
                claims.update(unreachable);
                tracing::debug!(peer = name, "cluster: login state not shipped; will retry");
                return;
            }
        }
        if !full {
            return;
        }
    }
}

/// Authentication records per snapshot page.
const SNAPSHOT_PAGE: usize = 5000;

/// Sends `p` this node's login state and then, a page at a time, its own authentication
/// records after `after`; `false` when the peer stopped answering.
async fn send_snapshot(
    node: &ClusterNode,
    claims: &Claims,
    origin: u64,
    name: &str,
    p: &mut PeerLog,
    after: u64,
    upto: u64,
) -> bool {
    tracing::warn!(peer = name, merged = after, "cluster: a peer lacks login state this node no longer keeps in its log (cluster.login_log_keep); sending it a snapshot");
    let state = match node.store.read(|r| r.login_snapshot()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cluster: cannot read login state for a snapshot");
            return false;
        }
    };
    let mut state = Some(state);
    let mut cursor = None;
    loop {
        let page = node
            .store
            .read(|r| r.own_auth_page(origin, after, cursor, SNAPSHOT_PAGE));
        let (page, next) = match page {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: cannot read the authentication log for a snapshot");
                return false;
            }
        };
        let done = next.is_none();
        let blob = match serde_json::to_vec(&(state.take(), page)) {
            Ok(b) => b,
            Err(_) => return false,
        };
        let env = node
            .me
            .envelope(Request::LoginSnapshot { origin, upto, done });
        match p.peer.call(&env, &blob, SHIP_TIMEOUT * 5).await {
            Ok((Response::LoginStateAck { applied, .. }, _)) => {
                p.heard = Instant::now();
                if done {
                    p.acked = Some(applied);
                    claims.acked(name, after, applied);
                    claims.update(|pr| {
                        pr.peers.insert(name.to_owned(), (applied, true));
                    });
                    tracing::info!(
                        peer = name,
                        upto = applied,
                        "cluster: peer caught up from a login-state snapshot"
                    );
                    return true;
                }
            }
            Ok(_) | Err(_) => {
                p.acked = None;
                return false;
            }
        }
        cursor = next;
    }
}

/// Merges one part of `origin`'s snapshot (see [`Request::LoginSnapshot`]).
pub async fn receive_snapshot(
    store: &Store,
    origin: u64,
    upto: u64,
    done: bool,
    blob: Vec<u8>,
) -> Response {
    if origin == store.node_id() {
        return Response::Refused("a node's own log is not merged back into it".into());
    }
    let (state, page): (Option<LoginSnapshot>, AuthPage) = match serde_json::from_slice(&blob) {
        Ok(x) => x,
        Err(e) => return Response::Refused(format!("login-state snapshot does not decode: {e}")),
    };
    let merged = store
        .write(move |tx| {
            if let Some(s) = &state {
                tx.merge_snapshot(origin, s)?;
            }
            tx.merge_auth_page(&page)?;
            if done {
                tx.set_peer_applied(origin, upto)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = merged {
        return Response::Refused(format!("login-state snapshot not merged: {e}"));
    }
    match store.read(|r| r.peer_applied(origin)) {
        Ok(applied) => Response::LoginStateAck {
            applied,
            conflicts: Vec::new(),
        },
        Err(e) => Response::Refused(e.to_string()),
    }
}

/// How often this node trims its own log, and how much at most each time (more than a
/// second of logins at full speed writes, so the log does not outgrow its trimming).
const TRIM_EVERY: Duration = Duration::from_secs(1);
const TRIM_AT_MOST: usize = 100_000;

/// Trims this node's own log: entries every member has merged go; so do entries beyond
/// `keep` that a member lagging further has not (it will get a snapshot). A member not heard
/// from since this node started keeps everything within `keep`.
async fn trim(node: &ClusterNode, claims: &Claims, origin: u64, members: usize, keep: u64) {
    let durable = node.store.durable_seq();
    let everyone = claims.progress.lock().ok().and_then(|p| {
        (p.peers.len() >= members)
            .then(|| p.peers.values().map(|(a, _)| *a).min())
            .flatten()
    });
    let upto = everyone
        .unwrap_or(0)
        .max(durable.saturating_sub(keep))
        .min(durable);
    let held = node.store.read(|r| r.own_log_first(origin)).ok().flatten();
    if held.is_none_or(|f| f > upto) {
        return;
    }
    match node
        .store
        .write(move |tx| tx.trim_own_log(upto, TRIM_AT_MOST))
        .await
    {
        Ok(n) => tracing::debug!(trimmed = n, upto, "cluster: login-state log trimmed"),
        Err(e) => tracing::warn!(error = %e, "cluster: login-state log not trimmed"),
    }
}

/// RADIUS fates sent with one call at most.
const FATES_PER_CALL: usize = 5000;

/// One call to the peer with `entries` and the fates it lacks; how far it has merged this
/// node's log and which entries conflicted.
async fn call(
    node: &ClusterNode,
    claims: &Claims,
    p: &mut PeerLog,
    origin: u64,
    entries: Vec<(u64, Change)>,
    upto: u64,
) -> Option<(u64, Vec<u64>)> {
    let (fates, last) = claims.fates.recorded_after(p.fates_sent, FATES_PER_CALL);
    let fates = fates
        .into_iter()
        .map(|(k, f)| (crate::store::model::hex(&k), f))
        .collect();
    let env = node.me.envelope(Request::LoginState {
        origin,
        entries,
        upto,
        fates,
    });
    match p.peer.call(&env, &[], SHIP_TIMEOUT).await {
        Ok((Response::LoginStateAck { applied, conflicts }, _)) => {
            p.heard = Instant::now();
            p.fates_sent = last;
            Some((applied, conflicts))
        }
        Ok(_) | Err(_) => {
            p.acked = None;
            None
        }
    }
}

/// Merges a batch from `origin` in one transaction (its RADIUS fates in memory) and says
/// how far this node now is.
pub async fn receive(
    store: &Store,
    claims: &Claims,
    origin: u64,
    entries: Vec<(u64, Change)>,
    upto: u64,
    fates: Vec<(String, SharedReply)>,
) -> Response {
    if origin == store.node_id() {
        return Response::Refused("a node's own log is not merged back into it".into());
    }
    claims.fates.merge(
        fates
            .into_iter()
            .filter_map(|(k, f)| crate::store::model::unhex(&k).map(|k| (k, f)))
            .collect(),
    );
    let merged = store
        .write(move |tx| {
            let mut conflicts = Vec::new();
            for (seq, c) in &entries {
                if tx.merge_peer_change(origin, *seq, c)? {
                    conflicts.push(*seq);
                }
            }
            if upto > 0 {
                tx.set_peer_applied(origin, upto)?;
            }
            Ok(conflicts)
        })
        .await;
    let conflicts = match merged {
        Ok(c) => c,
        Err(e) => return Response::Refused(format!("login state not merged: {e}")),
    };
    match store.read(|r| r.peer_applied(origin)) {
        Ok(applied) => Response::LoginStateAck { applied, conflicts },
        Err(e) => Response::Refused(e.to_string()),
    }
}
