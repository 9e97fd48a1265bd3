//! What a member says of itself and of the cluster (`cluster status`): role, term, epoch,
//! applied index, each member's lag in entries and in time, login-state shipping per peer.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::node::ClusterNode;
use super::types::*;

impl ClusterNode {
    /// Notes when each new log index appeared, so a follower's lag can be told in time: the
    /// age of the oldest entry it does not have yet.
    pub(super) async fn track_appends(self: Arc<Self>, cancel: CancellationToken) {
        const KEEP: usize = 100_000;
        let mut rx = self.raft.metrics();
        let mut last = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = rx.changed() => if r.is_err() { return },
            }
            let idx = rx.borrow().last_log_index;
            if idx > last {
                if let (Some(i), Ok(mut q)) = (idx, self.appended.lock()) {
                    q.push_back((i, std::time::Instant::now()));
                    while q.len() > KEEP {
                        q.pop_front();
                    }
                }
                last = idx;
            }
        }
    }

    /// Milliseconds since the first entry after `matched` was appended here (0: none missing).
    fn lag_ms(&self, matched: u64, last: u64) -> Option<u64> {
        if matched >= last {
            return Some(0);
        }
        let q = self.appended.lock().ok()?;
        let since = q.iter().find(|(i, _)| *i > matched).map(|(_, t)| *t)?;
        Some(since.elapsed().as_millis() as u64)
    }

    /// This node's view: role, term, epoch, applied index, members, lag (on the leader).
    pub fn local_status(&self) -> Value {
        let m = self.metrics();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let role = |id: NodeId| {
            if id == self.me.id && self.me.is_fenced() {
                "fenced"
            } else if Some(id) == m.current_leader {
                "leader"
            } else if voters.contains(&id) {
                "follower"
            } else {
                "learner"
            }
        };
        let last = m.last_log_index.unwrap_or(0);
        let members: Vec<Value> = membership
            .nodes()
            .map(|(id, n)| {
                let matched = m
                    .replication
                    .as_ref()
                    .map(|r| r.get(id).cloned().flatten().map(|l| l.index).unwrap_or(0));
                let lag = matched.map(|x| last.saturating_sub(x));
                let lag_ms = matched.and_then(|x| self.lag_ms(x, last));
                json!({ "id": id, "name": n.name, "address": n.address, "role": role(*id),
                        "lag_entries": lag, "lag_ms": lag_ms })
            })
            .collect();
        json!({
            "node": self.me.name,
            "id": self.me.id,
            "role": role(self.me.id),
            "state": format!("{:?}", m.state),
            "term": m.current_term,
            "epoch": self.me.epoch.load(Ordering::SeqCst),
            "cluster_id": self.cluster_id,
            "leader": self.leader().map(|(_, n)| n.name),
            "last_log_index": m.last_log_index,
            "users": self.store.read(|r| r.user_count()).ok(),
            "decided_without_peer_ack": self.claims.alone.load(Ordering::Relaxed),
            "login_state": self.claims.report(self.store.durable_seq()),
            "login_log": {
                "durable_seq": self.store.durable_seq(),
                "first_held": self.store.read(|r| r.own_log_first(self.store.node_id())).ok().flatten(),
            },
            "last_applied": m.last_applied.map(|l| l.index),
            "millis_since_quorum_ack": m.millis_since_quorum_ack,
            "members": members,
        })
    }

    /// `cluster status`: this node's view plus what every other member says of itself.
    pub async fn cluster_status(&self) -> Value {
        let mut own = self.local_status();
        let mut peers = Vec::new();
        for (_, n) in self.members() {
            if n.name == self.me.name {
                continue;
            }
            let started = std::time::Instant::now();
            match self.peer_status(&n).await {
                Ok(v) => peers.push(json!({ "name": n.name, "reachable": true,
                    "rtt_ms": started.elapsed().as_millis() as u64, "status": v })),
                Err(e) => peers.push(json!({ "name": n.name, "reachable": false, "error": e })),
            }
        }
        own["peers"] = Value::Array(peers);
        own
    }
}

/// The replication figures for `/metrics`: the same per-peer report as `cluster status`
/// (login-state shipping: who answers, how far behind, how long acknowledgements take),
/// read at scrape time.
impl crate::metrics::Source for ClusterNode {
    fn collect(&self, out: &mut crate::metrics::Samples) {
        let report = self.claims.report(self.store.durable_seq());
        let rows = report.as_array().cloned().unwrap_or_default();
        let answering = rows.iter().filter(|r| r["answers"] == true).count();
        out.gauge(
            "cluster_peers",
            "Cluster peers this node ships its login state to",
            &[],
            rows.len() as f64,
        );
        out.gauge(
            "cluster_peers_answering",
            "Cluster peers that answer this node now",
            &[],
            answering as f64,
        );
        out.gauge(
            "cluster_is_leader",
            "1 when this node leads the directory's Raft group",
            &[],
            if self.is_leader() { 1.0 } else { 0.0 },
        );
        out.counter(
            "cluster_decided_without_peer_ack",
            "Logins decided without any peer acknowledging their one-time credential in time",
            &[],
            self.claims.alone.load(Ordering::Relaxed),
        );
        for r in &rows {
            let Some(peer) = r["peer"].as_str() else {
                continue;
            };
            let labels = [("peer", peer)];
            if let Some(lag) = r["lag_entries"].as_u64() {
                out.gauge(
                    "cluster_peer_lag_entries",
                    "Entries of this node's login log the peer has yet to merge",
                    &labels,
                    lag as f64,
                );
            }
            for (key, name, help) in [
                (
                    "ack_delay_p50_ms",
                    "cluster_peer_ack_delay_p50_seconds",
                    "Median delay from a commit here to the peer's acknowledgement (recent commits)",
                ),
                (
                    "ack_delay_p99_ms",
                    "cluster_peer_ack_delay_p99_seconds",
                    "99th percentile of the delay from a commit here to the peer's acknowledgement",
                ),
            ] {
                if let Some(ms) = r[key].as_f64() {
                    out.gauge(name, help, &labels, ms / 1000.0);
                }
            }
        }
    }
}
