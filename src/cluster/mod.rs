//! The cluster: several mfagate nodes acting as one. Directory data is replicated by openraft;
//! every cluster connection is mutual TLS against the cluster CA.

pub mod certs;
pub mod storage;
pub mod tls;
pub mod types;
