//! What cluster members share about one user's pushes and one RADIUS request: the user's
//! push state on every node, read as one so the MFA-fatigue limits hold across the cluster;
//! and each request's fate (being decided on a node while a phone is asked, or answered
//! there), so a retransmit that lands on another member is answered as the first node
//! answered it, or dropped while that node still waits.

use redb::ReadableTable;

use super::model::*;
use super::tables::*;
use super::{get_json, Reader, StoreError, Tx};

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

/// Every node's view of one user's pushes: (store node id, its push state); this node's
/// own comes first.
pub struct ClusterPushes(pub Vec<(u64, PushState)>);

impl ClusterPushes {
    /// The challenge ids (hex) of pushes that may still wait on the phone on some node (the
    /// caller looks whether each challenge was spent since).
    pub fn pending(&self, now_ms: u64) -> Vec<&str> {
        self.0
            .iter()
            .filter_map(|(_, st)| st.pending.as_ref())
            .filter(|(_, until)| *until > now_ms)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Pushes sent within the window, on every node.
    pub fn sent_since(&self, since_ms: u64) -> usize {
        self.0
            .iter()
            .map(|(_, st)| st.recent_ms.iter().filter(|t| **t > since_ms).count())
            .sum()
    }
}

impl Tx<'_> {
    /// The user's pushes on this node and every peer.
    pub fn cluster_pushes(&mut self, key: &str) -> Result<ClusterPushes, StoreError> {
        let mut all = vec![(self.node_id, self.push_state(key)?)];
        for row in self.peer_push()?.range((key, 0)..=(key, u64::MAX))? {
            let (k, v) = row?;
            all.push((k.value().1, serde_json::from_slice(v.value())?));
        }
        Ok(ClusterPushes(all))
    }

    pub fn shared_reply(&mut self, key: &[u8]) -> Result<Option<SharedReply>, StoreError> {
        get_json(self.radius_replies()?, key)
    }

    /// Records a request's fate here and for every peer.
    pub fn put_shared_reply(&mut self, key: &[u8], reply: SharedReply) -> Result<(), StoreError> {
        self.apply_logged(Change::RadiusReply {
            key: hex(key),
            reply,
        })
    }

    /// Forgets requests whose fate has expired (local housekeeping, like `purge`).
    pub fn purge_shared_replies(&mut self, now_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let mut dead = Vec::new();
        for row in self.radius_replies()?.iter()? {
            let (k, v) = row?;
            let expired = serde_json::from_slice::<SharedReply>(v.value())
                .map(|r| r.expires_ms <= now_ms)
                .unwrap_or(true);
            if expired {
                dead.push(k.value().to_vec());
            }
            if dead.len() >= limit {
                break;
            }
        }
        for k in &dead {
            self.radius_replies()?.remove(k.as_slice())?;
        }
        Ok(dead.len())
    }
}

impl Reader {
    pub fn shared_reply(&self, key: &[u8]) -> Result<Option<SharedReply>, StoreError> {
        get_json(&self.txn.open_table(RADIUS_REPLIES)?, key)
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
}
