//! One user's pushes as the cluster sees them: each node's push state (its own, and what it
//! merged of its peers'), read as one so the MFA-fatigue limits hold across the cluster.

use redb::ReadableTable;

use super::model::*;
use super::{StoreError, Tx};

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
}
