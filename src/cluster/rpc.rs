//! The cluster wire protocol: one request and one response per frame, in order, over a
//! mutual-TLS connection. A frame is a JSON header (the message) and a binary blob (a
//! snapshot's bytes, so they are not inflated by JSON), each with a 4-byte big-endian length.

use std::time::Duration;

use openraft::error::{Fatal, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::tls::{self, ClusterTls};
use super::types::*;

/// Largest JSON header: a batch of append-entries (a sync writes 1,000 users per entry).
pub const MAX_HEADER: usize = 256 * 1024 * 1024;
/// Largest blob: a snapshot of the whole directory.
pub const MAX_BLOB: usize = 1024 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's cluster epoch (0: a node not in a cluster yet, e.g. one asking to join).
    pub epoch: u64,
    pub from: NodeId,
    pub request: Request,
}

#[derive(Debug, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum Request {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    /// The snapshot's bytes are the frame's blob.
    Snapshot {
        vote: Vote,
        meta: SnapshotMeta,
    },
    /// A node outside the cluster asks to be added (`mfagate cluster join`).
    Join {
        name: String,
        address: String,
    },
    /// An admin command forwarded to the leader (an `admin::Request` as JSON).
    Admin(serde_json::Value),
    /// This node's view of the cluster (`mfagate cluster status` asks every member).
    Status,
    /// Login state: entries of the sender's change log (`origin`: its store's node id), and
    /// the sequence up to which it has read its log for this batch. Empty: "how far are you".
    LoginState {
        origin: u64,
        entries: Vec<(u64, crate::store::model::Change)>,
        upto: u64,
    },
    /// Catch-up for a member whose missing entries the sender has trimmed: the blob holds
    /// (`Option<LoginSnapshot>`, `AuthPage`) as JSON, the snapshot in the first part only;
    /// with `done` the member records `origin`'s log as merged up to `upto`.
    LoginSnapshot {
        origin: u64,
        upto: u64,
        done: bool,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum Response {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Snapshot(Result<SnapshotResponse<NodeId>, Fatal<NodeId>>),
    Joined(Joined),
    Admin {
        result: Result<serde_json::Value, String>,
        /// The leader's applied index once the command was done: the forwarding node waits
        /// for its own copy to get there before it answers.
        applied: Option<u64>,
        node: String,
    },
    Status(serde_json::Value),
    /// How far this node has merged the origin's log, and which of the batch's entries
    /// conflicted with what it holds (a credential another node spent).
    LoginStateAck {
        applied: u64,
        conflicts: Vec<u64>,
    },
    /// This node is not the leader; ask this one.
    NotLeader {
        leader: Option<NodeInfo>,
    },
    /// The sender's epoch is older than this node's: the sender was left behind by a forced
    /// promotion and must not act on its old cluster.
    Fenced {
        epoch: u64,
    },
    Refused(String),
}

/// What a node gets when the leader adds it.
#[derive(Serialize, Deserialize)]
pub struct Joined {
    pub node_id: NodeId,
    pub epoch: u64,
    pub cluster_id: String,
    /// The cluster key (seals TOTP seeds, keys SMS-code MACs), hex.
    pub key: String,
    pub leader: NodeInfo,
    pub members: Vec<NodeInfo>,
}

impl std::fmt::Debug for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joined")
            .field("node_id", &self.node_id)
            .field("epoch", &self.epoch)
            .field("cluster_id", &self.cluster_id)
            .field("key", &"<redacted>")
            .field("leader", &self.leader)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes is larger than allowed")]
    TooLarge(usize),
    #[error("undecodable message: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Tls(String),
    /// An answer that makes no sense for the request, or a peer that refuses to talk.
    #[error("{0}")]
    Protocol(String),
}

pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    header: &impl Serialize,
    blob: &[u8],
) -> Result<(), RpcError> {
    let h = serde_json::to_vec(header)?;
    if h.len() > MAX_HEADER {
        return Err(RpcError::TooLarge(h.len()));
    }
    let mut buf = Vec::with_capacity(8 + h.len());
    buf.extend_from_slice(&(h.len() as u32).to_be_bytes());
    buf.extend_from_slice(&h);
    buf.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    w.write_all(&buf).await?;
    w.write_all(blob).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one frame; `None` at a clean end of stream before a frame began.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
) -> Result<Option<(Vec<u8>, Vec<u8>)>, RpcError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_HEADER {
        return Err(RpcError::TooLarge(n));
    }
    let mut header = vec![0u8; n];
    r.read_exact(&mut header).await?;
    r.read_exact(&mut len).await?;
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_BLOB {
        return Err(RpcError::TooLarge(n));
    }
    let mut blob = vec![0u8; n];
    r.read_exact(&mut blob).await?;
    Ok(Some((header, blob)))
}

/// A client connection to one peer, opened on first use and again after any failure.
pub struct Peer {
    tls: ClusterTls,
    /// Where to connect, and the name its certificate must carry.
    address: String,
    expected_name: String,
    conn: Option<TlsStream<TcpStream>>,
}

impl Peer {
    pub fn new(tls: ClusterTls, address: &str, expected_name: &str) -> Self {
        Self {
            tls,
            address: address.to_owned(),
            expected_name: expected_name.to_owned(),
            conn: None,
        }
    }

    async fn connect(&self) -> Result<TlsStream<TcpStream>, RpcError> {
        let name =
            tls::server_name(&self.expected_name).map_err(|e| RpcError::Tls(e.to_string()))?;
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.address))
            .await
            .map_err(|_| RpcError::Timeout(CONNECT_TIMEOUT))??;
        let _ = tcp.set_nodelay(true);
        tokio::time::timeout(CONNECT_TIMEOUT, self.tls.connector().connect(name, tcp))
            .await
            .map_err(|_| RpcError::Timeout(CONNECT_TIMEOUT))?
            .map_err(|e| RpcError::Tls(format!("TLS with {}: {e}", self.address)))
    }

    /// Sends one request and reads its response within `timeout`. A failed or timed-out call
    /// drops the connection: a late response must not be read as the next call's.
    pub async fn call(
        &mut self,
        envelope: &Envelope,
        blob: &[u8],
        timeout: Duration,
    ) -> Result<(Response, Vec<u8>), RpcError> {
        let r = tokio::time::timeout(timeout, self.call_inner(envelope, blob)).await;
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(_) => {
                self.conn = None;
                Err(RpcError::Timeout(timeout))
            }
        }
    }

    async fn call_inner(
        &mut self,
        envelope: &Envelope,
        blob: &[u8],
    ) -> Result<(Response, Vec<u8>), RpcError> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(self.connect().await?),
        };
        write_frame(conn, envelope, blob).await?;
        match read_frame(conn).await? {
            Some((h, b)) => Ok((serde_json::from_slice(&h)?, b)),
            None => Err(RpcError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the peer closed the connection",
            ))),
        }
    }
}
