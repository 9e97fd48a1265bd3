//! The cluster wire protocol: one request and one response per frame, in order, over a
//! mutual-TLS connection. A frame is a JSON header (the message) and a binary blob (a
//! snapshot's bytes, so they are not inflated by JSON), each with a 4-byte big-endian length.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use openraft::error::{Fatal, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
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
        /// RADIUS fates recorded on the sender (request identity hex, fate), kept in memory.
        #[serde(default)]
        fates: Vec<(String, crate::auth::SharedReply)>,
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

/// Connects to `to` from `source` (any port), so the peer sees the cluster address.
async fn dial_from(source: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = if source.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(to).await
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

    /// A TCP connection to the peer, from the node's cluster IP when it has a specific one.
    async fn dial(&self) -> Result<TcpStream, RpcError> {
        let Some(source) = self.tls.source() else {
            return Ok(TcpStream::connect(&self.address).await?);
        };
        let mut last = None;
        for addr in tokio::net::lookup_host(&self.address).await? {
            if addr.is_ipv4() != source.is_ipv4() {
                continue;
            }
            match dial_from(source, addr).await {
                Ok(tcp) => return Ok(tcp),
                Err(e) => last = Some(e),
            }
        }
        Err(RpcError::Io(last.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!(
                    "{} has no {} address to reach from cluster.listen's {source}",
                    self.address,
                    if source.is_ipv4() { "IPv4" } else { "IPv6" }
                ),
            )
        })))
    }

    async fn connect(&self) -> Result<TlsStream<TcpStream>, RpcError> {
        let name =
            tls::server_name(&self.expected_name).map_err(|e| RpcError::Tls(e.to_string()))?;
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, self.dial())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::certs::{self, tests::TempDir};
    use tokio::net::TcpListener;

    /// Answers one Status call; yields the address the connection came from.
    async fn serve_status(tls: ClusterTls) -> (SocketAddr, tokio::task::JoinHandle<SocketAddr>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (tcp, from) = listener.accept().await.unwrap();
            let mut conn = tls.acceptor().accept(tcp).await.unwrap();
            read_frame(&mut conn).await.unwrap().unwrap();
            let status = Response::Status(serde_json::json!({}));
            write_frame(&mut conn, &status, &[]).await.unwrap();
            from
        });
        (addr, task)
    }

    #[tokio::test]
    async fn a_node_with_a_specific_listen_ip_dials_from_it() {
        let tmp = TempDir::new("cluster-rpc");
        let ca = tmp.path().join("ca");
        certs::init_ca(&ca).unwrap();
        let a =
            certs::issue_node_cert("node-a", "127.0.0.2:4443", &ca, &tmp.path().join("a")).unwrap();
        let b =
            certs::issue_node_cert("node-b", "127.0.0.1:4444", &ca, &tmp.path().join("b")).unwrap();
        let load = |f: &certs::NodeFiles| ClusterTls::load(&f.ca, &f.cert, &f.key).unwrap();
        let env = Envelope {
            epoch: 1,
            from: 1,
            request: Request::Status,
        };
        // All of 127/8 is the loopback interface on Linux, so 127.0.0.2 is a local address.
        for (listen, from) in [
            ("127.0.0.2:4443", "127.0.0.2"),
            ("0.0.0.0:4443", "127.0.0.1"),
        ] {
            let (addr, server) = serve_status(load(&b)).await;
            let tls = load(&a).dialling_from(listen.parse().unwrap());
            let mut peer = Peer::new(tls, &addr.to_string(), "node-b");
            let (r, _) = peer.call(&env, &[], Duration::from_secs(5)).await.unwrap();
            assert!(matches!(r, Response::Status(_)), "{r:?}");
            assert_eq!(
                server.await.unwrap().ip().to_string(),
                from,
                "listen {listen}"
            );
        }
    }
}
