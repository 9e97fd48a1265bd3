//! openraft's type configuration for the directory: a log entry is a [`DirectoryWrite`], its
//! result a [`DirectoryOutcome`], a member is a [`NodeInfo`].

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::store::model::{DirectoryOutcome, DirectoryWrite};

openraft::declare_raft_types!(
    pub TypeConfig:
        D = DirectoryWrite,
        R = DirectoryOutcome,
        NodeId = u64,
        Node = NodeInfo,
        SnapshotData = Cursor<Vec<u8>>,
);

/// Raft node ids are random 64-bit numbers made when a node initialises or joins a cluster:
/// a node that leaves and comes back (even under the same name) is a new member.
pub type NodeId = u64;

/// What the cluster knows of a member: the name its certificate carries and where it listens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    /// `HOST:PORT` of its cluster listener (`cluster.advertise`).
    pub address: String,
}

impl std::fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.address)
    }
}

pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, NodeInfo>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeInfo>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type Raft = openraft::Raft<TypeConfig>;
