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

    /// Writes a request's fate (not logged: the caller is an apply or a merge) and indexes
    /// it by expiry.
    pub(super) fn store_shared_reply(
        &mut self,
        key: &[u8],
        reply: &SharedReply,
    ) -> Result<(), StoreError> {
        let b = serde_json::to_vec(reply)?;
        self.radius_replies()?.insert(key, b.as_slice())?;
        self.radius_reply_expiry()?
            .insert((reply.expires_ms, key), ())?;
        Ok(())
    }

    /// Forgets at most `limit` requests whose fate has expired (local housekeeping: every
    /// node expires its own copies by the same times).
    pub fn purge_shared_replies(&mut self, now_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let due: Vec<(u64, Vec<u8>)> = self
            .radius_reply_expiry()?
            .range((0, [].as_slice())..(now_ms, [].as_slice()))?
            .take(limit)
            .filter_map(|r| r.ok().map(|(k, _)| (k.value().0, k.value().1.to_vec())))
            .collect();
        let mut removed = 0;
        for (at, key) in &due {
            self.radius_reply_expiry()?.remove((*at, key.as_slice()))?;
            let current: Option<SharedReply> = get_json(self.radius_replies()?, key.as_slice())?;
            // A later fate of the same request may have moved its expiry on.
            if current.is_some_and(|r| r.expires_ms <= now_ms) {
                self.radius_replies()?.remove(key.as_slice())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl Reader {
    pub fn shared_reply(&self, key: &[u8]) -> Result<Option<SharedReply>, StoreError> {
        get_json(&self.txn.open_table(RADIUS_REPLIES)?, key)
    }

    /// Whether some shared reply is due to be forgotten at `now_ms`.
    pub fn shared_replies_due(&self, now_ms: u64) -> Result<bool, StoreError> {
        let t = self.txn.open_table(RADIUS_REPLY_EXPIRY)?;
        let first = t.range((0, [].as_slice())..(now_ms, [].as_slice()))?.next();
        Ok(first.is_some())
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

    #[tokio::test]
    async fn expired_fates_are_forgotten_and_a_later_one_is_kept() {
        let dir = std::env::temp_dir().join(format!("mfagate-fates-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = crate::store::Store::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (b"req-a".to_vec(), b"req-b".to_vec());
        let (a2, b2) = (a.clone(), b.clone());
        store
            .write(move |tx| {
                tx.put_shared_reply(&a2, fate("n1", 0, true))?;
                tx.put_shared_reply(&b2, fate("n1", 10, true))
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // b's fate moves on (a later answer elsewhere): its first expiry no longer holds.
        let b3 = b.clone();
        store
            .write(move |tx| {
                tx.merge_unsequenced(
                    7,
                    &Change::RadiusReply {
                        key: hex(&b3),
                        reply: fate("n2", 40_000, true),
                    },
                )
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let due = |s: &crate::store::Store, t| s.read(|r| r.shared_replies_due(t)).unwrap_or(false);
        assert!(!due(&store, 30_000));
        assert!(due(&store, 30_001));
        let gone = store
            .write(|tx| tx.purge_shared_replies(50_000, 100))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(gone, 1, "a's expired; b's index entry was stale");
        let left = store
            .read(move |r| Ok((r.shared_reply(&a)?, r.shared_reply(&b)?)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(left.0.is_none());
        assert_eq!(left.1.map(|f| f.node).as_deref(), Some("n2"));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
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
