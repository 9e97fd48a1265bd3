//! Login state between members (high availability, part 2): each node is the only writer of
//! its own change-log entries and ships them to every other member as they commit; a member
//! merges them by the rules in `crate::store::replica`. This is not Raft: a node that cannot
//! reach a majority still authenticates and ships when it can.
//!
//! A sender starts each peer at the sequence the peer says it has merged (asked with an empty
//! batch), so nothing is persisted on the sending side and a restarted peer catches up from
//! the tail of every peer's log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::node::ClusterNode;
use super::rpc::{Peer, Request, Response};
use crate::store::model::Change;
use crate::store::Store;

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
}

/// Ships this node's login-state entries to every other member until `cancel`.
pub async fn ship(node: Arc<ClusterNode>, cancel: CancellationToken) {
    let origin = node.store.node_id();
    let mut commits = node.store.commits();
    let mut peers: HashMap<String, PeerLog> = HashMap::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = commits.changed() => if r.is_err() { return },
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
        for m in members {
            peers.entry(m.name.clone()).or_insert_with(|| PeerLog {
                peer: Peer::new(node.tls.clone(), &m.address, &m.name),
                address: m.address.clone(),
                acked: None,
            });
        }
        let rounds = peers
            .iter_mut()
            .map(|(name, p)| ship_to(&node, origin, name, p));
        futures_util::future::join_all(rounds).await;
    }
}

/// Sends `p` everything it lacks, a batch at a time; stops at the first failure.
async fn ship_to(node: &ClusterNode, origin: u64, name: &str, p: &mut PeerLog) {
    loop {
        let after = match p.acked {
            Some(a) => a,
            None => match call(node, p, origin, Vec::new(), 0).await {
                Some(a) => a,
                None => return,
            },
        };
        p.acked = Some(after);
        let batch = node
            .store
            .read(|r| r.own_changes_after(origin, after, BATCH));
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: cannot read the change log to ship");
                return;
            }
        };
        let Some(upto) = batch.last().map(|(s, _)| *s) else {
            return;
        };
        let full = batch.len() == BATCH;
        let entries: Vec<(u64, Change)> = batch
            .into_iter()
            .filter(|(_, c)| !c.is_directory())
            .collect();
        match call(node, p, origin, entries, upto).await {
            Some(a) => p.acked = Some(a),
            None => {
                tracing::debug!(peer = name, "cluster: login state not shipped; will retry");
                return;
            }
        }
        if !full {
            return;
        }
    }
}

async fn call(
    node: &ClusterNode,
    p: &mut PeerLog,
    origin: u64,
    entries: Vec<(u64, Change)>,
    upto: u64,
) -> Option<u64> {
    let env = node.me.envelope(Request::LoginState {
        origin,
        entries,
        upto,
    });
    match p.peer.call(&env, &[], SHIP_TIMEOUT).await {
        Ok((Response::LoginStateAck { applied }, _)) => Some(applied),
        Ok(_) | Err(_) => {
            p.acked = None;
            None
        }
    }
}

/// Merges a batch from `origin` in one transaction and says how far this node now is.
pub async fn receive(
    store: &Store,
    origin: u64,
    entries: Vec<(u64, Change)>,
    upto: u64,
) -> Response {
    if origin == store.node_id() {
        return Response::Refused("a node's own log is not merged back into it".into());
    }
    let merged = store
        .write(move |tx| {
            for (seq, c) in &entries {
                tx.merge_peer_change(origin, *seq, c)?;
            }
            if upto > 0 {
                tx.set_peer_applied(origin, upto)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = merged {
        return Response::Refused(format!("login state not merged: {e}"));
    }
    match store.read(|r| r.peer_applied(origin)) {
        Ok(applied) => Response::LoginStateAck { applied },
        Err(e) => Response::Refused(e.to_string()),
    }
}
