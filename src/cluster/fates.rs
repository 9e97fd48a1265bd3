//! The RADIUS reply cache the members share: each request's fate (being decided on a node
//! while a phone is asked, or answered there, with the reply's bytes), so a retransmit that a
//! load balancer sends to another member is answered as the first node answered it, or
//! dropped while that node waits, or finished there if that node stopped answering.
//!
//! Kept in memory, not in the store: a fate lives for the reply cache's lifetime (seconds),
//! and writing one per answer to the store and every peer's cost a fifth of the cluster's
//! login throughput. Each node ships the fates it records to every peer with its login-state
//! batches (`login_state`), and peers merge them by [`merge_reply`], so the order they arrive
//! in does not matter. A node that restarts does not learn the fates recorded before it came
//! back; a retransmit that reaches it within those seconds is decided there again.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;

use crate::auth::SharedReply;

/// Of two fates of one request: an answer beats "being decided"; between two of a kind the
/// later wins, then the lower node name, so every member ends with the same one. It is kept
/// as long as either says.
pub fn merge_reply(old: Option<SharedReply>, new: SharedReply) -> SharedReply {
    let Some(old) = old else {
        return new;
    };
    let rank = |r: &SharedReply| {
        (
            r.reply.is_some(),
            r.since_ms,
            std::cmp::Reverse(r.node.clone()),
        )
    };
    let expires_ms = old.expires_ms.max(new.expires_ms);
    let winner = if rank(&new) > rank(&old) { new } else { old };
    SharedReply {
        expires_ms,
        ..winner
    }
}

/// Fates recorded here and not yet shipped are kept up to this many; a peer further behind
/// misses the oldest (they are about to expire anyway).
const OUTBOX_KEPT: usize = 100_000;
/// Fates held at most (in a cluster at 1,000 answers/s with a 30 s cache: 30,000).
const HELD_AT_MOST: usize = 500_000;

#[derive(Default)]
struct Inner {
    held: HashMap<Vec<u8>, SharedReply>,
    /// (expiry, key), to forget in order; an entry may be stale (the fate's own expiry rules).
    expiry: BTreeSet<(u64, Vec<u8>)>,
    /// This node's own fates in the order recorded: (number, key, fate).
    outbox: VecDeque<(u64, Vec<u8>, SharedReply)>,
    recorded: u64,
}

#[derive(Default)]
pub struct Fates {
    inner: Mutex<Inner>,
}

impl Inner {
    fn merge(&mut self, key: Vec<u8>, fate: SharedReply) {
        let merged = merge_reply(self.held.remove(&key), fate);
        self.expiry.insert((merged.expires_ms, key.clone()));
        self.held.insert(key, merged);
    }

    fn forget_expired(&mut self, now_ms: u64) {
        while let Some((at, key)) = self.expiry.first().cloned() {
            if at > now_ms && self.held.len() <= HELD_AT_MOST {
                break;
            }
            self.expiry.pop_first();
            if self.held.get(&key).is_some_and(|f| f.expires_ms <= at) {
                self.held.remove(&key);
            }
        }
    }
}

impl Fates {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The request's fate as this node knows it, unless expired.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Option<SharedReply> {
        let mut inner = self.lock();
        inner.forget_expired(now_ms);
        inner
            .held
            .get(key)
            .filter(|f| f.expires_ms > now_ms)
            .cloned()
    }

    /// Records a fate decided here, to be shipped to every peer.
    pub fn record(&self, key: Vec<u8>, fate: SharedReply, now_ms: u64) {
        let mut inner = self.lock();
        inner.forget_expired(now_ms);
        inner.recorded += 1;
        let n = inner.recorded;
        inner.outbox.push_back((n, key.clone(), fate.clone()));
        while inner.outbox.len() > OUTBOX_KEPT {
            inner.outbox.pop_front();
        }
        inner.merge(key, fate);
    }

    /// Fates a peer sent (any order, any number of times).
    pub fn merge(&self, fates: Vec<(Vec<u8>, SharedReply)>) {
        let mut inner = self.lock();
        for (k, f) in fates {
            inner.merge(k, f);
        }
    }

    /// This node's fates recorded after number `after`, at most `limit`, and the number of
    /// the last one returned (`after` when none).
    pub fn recorded_after(&self, after: u64, limit: usize) -> (Vec<(Vec<u8>, SharedReply)>, u64) {
        let inner = self.lock();
        let from = inner.outbox.partition_point(|(n, _, _)| *n <= after);
        let to = (from + limit).min(inner.outbox.len());
        let out: Vec<_> = inner
            .outbox
            .range(from..to)
            .map(|(_, k, f)| (k.clone(), f.clone()))
            .collect();
        let last = match to.checked_sub(1) {
            Some(i) if to > from => inner.outbox.get(i).map_or(after, |(n, _, _)| *n),
            _ => after,
        };
        (out, last)
    }

    /// The number of the last fate recorded here.
    pub fn recorded(&self) -> u64 {
        self.lock().recorded
    }

    pub fn len(&self) -> usize {
        self.lock().held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fate(node: &str, since_ms: u64, answered: bool) -> SharedReply {
        SharedReply {
            node: node.into(),
            since_ms,
            expires_ms: since_ms + 30_000,
            challenge: None,
            reply: answered.then(|| "0201".into()),
        }
    }

    #[test]
    fn an_answer_beats_being_decided_and_the_merge_is_the_same_in_any_order() {
        let cases = [
            (fate("a", 10, false), fate("b", 5, true)),
            (fate("a", 10, false), fate("b", 20, false)),
            (fate("a", 10, true), fate("b", 10, true)),
        ];
        for (x, y) in cases {
            let xy = merge_reply(Some(x.clone()), y.clone());
            let yx = merge_reply(Some(y.clone()), x.clone());
            assert_eq!(xy, yx, "{x:?} {y:?}");
            assert_eq!(merge_reply(Some(xy.clone()), xy.clone()), xy);
            assert_eq!(xy.expires_ms, x.expires_ms.max(y.expires_ms));
        }
        assert_eq!(
            merge_reply(Some(fate("a", 10, false)), fate("b", 5, true)).node,
            "b"
        );
        assert_eq!(
            merge_reply(Some(fate("a", 10, true)), fate("b", 10, true)).node,
            "a"
        );
    }

    #[test]
    fn fates_expire_ship_in_order_and_a_later_one_outlives_the_first() {
        let f = Fates::default();
        f.record(b"a".to_vec(), fate("n1", 0, true), 0);
        f.record(b"b".to_vec(), fate("n1", 10, false), 10);
        let (sent, last) = f.recorded_after(0, 10);
        assert_eq!(sent.len(), 2);
        assert_eq!(f.recorded_after(last, 10).0.len(), 0, "nothing new after");
        assert_eq!(f.recorded_after(1, 10).0[0].0, b"b".to_vec());
        // b answered on another node later: kept past b's first expiry.
        f.merge(vec![(b"b".to_vec(), fate("n2", 20_000, true))]);
        assert!(f.get(b"a", 29_999).is_some());
        assert!(f.get(b"a", 30_000).is_none(), "expired");
        let b = f.get(b"b", 40_000).map(|x| x.node);
        assert_eq!(b.as_deref(), Some("n2"));
        assert_eq!(f.len(), 1);
        assert!(f.get(b"b", 50_000).is_none());
        assert!(f.is_empty());
    }
}
