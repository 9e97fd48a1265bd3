//! The cluster: several mfagate nodes acting as one.
//!
//! Directory data (users, enrolments, sync approvals) is replicated by openraft: every write
//! is a Raft log entry ([`DirectoryWrite`]) that each node's state machine applies to its own
//! store, so logins read a local copy and never wait for the leader. Every cluster connection
//! is mutual TLS against the cluster CA ([`tls`], [`certs`]). The rest of the code sees
//! [`Directory`] (write the directory, wherever the leader is) and [`ClusterNode`]'s status;
//! openraft's types stay inside this module.

pub mod certs;
pub mod fates;
pub mod identity;
pub mod login_state;
pub mod network;
pub mod node;
pub mod rpc;
mod status;
pub mod storage;
pub mod tls;
pub mod types;

use std::sync::Arc;

pub use node::ClusterNode;

use crate::store::model::{DirectoryOutcome, DirectoryWrite};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster: {0}")]
    Setup(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("this node is not the cluster leader (the leader is {})", .0.as_deref().unwrap_or("unknown"))]
    NotLeader(Option<String>),
    #[error("{0}")]
    NoLeader(String),
    #[error("this node is fenced: a newer cluster epoch exists (after `cluster promote --force` elsewhere); it refuses directory writes until it re-joins with `mfagate cluster join`")]
    Fenced,
    #[error("this node is in a cluster: directory changes go through the running daemon (start mfagate, then run the command again)")]
    NotRunning,
    #[error("{0}")]
    Refused(String),
    #[error("cluster: {0}")]
    Cluster(String),
}

/// Where directory writes go: the local store outside a cluster, the Raft log in one.
#[derive(Clone, Debug)]
pub struct Directory {
    store: Store,
    node: Option<Arc<ClusterNode>>,
    clustered: bool,
}

impl Directory {
    /// `node`: the running cluster member, if this process runs one.
    pub fn new(store: Store, node: Option<Arc<ClusterNode>>) -> Result<Self, StoreError> {
        let clustered = node.is_some() || identity::load(&store)?.is_some();
        Ok(Self {
            store,
            node,
            clustered,
        })
    }

    pub fn node(&self) -> Option<&Arc<ClusterNode>> {
        self.node.as_ref()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Applies `w` (through the leader in a cluster) and returns once this node has applied
    /// it. A guard that failed comes back as the outcome's conflict, not as an error.
    pub async fn write(&self, w: DirectoryWrite) -> Result<DirectoryOutcome, DirectoryError> {
        match &self.node {
            Some(n) => n.write(w).await,
            None if self.clustered => Err(DirectoryError::NotRunning),
            None => Ok(self
                .store
                .write(move |tx| tx.apply_directory(&w, true))
                .await?),
        }
    }
}
