//! openraft's network: one [`Peer`] connection per replication stream, Raft messages in the
//! cluster protocol ([`super::rpc`]). A peer that answers "fenced" has seen a newer cluster
//! epoch: this node then stops acting as a member of its old cluster.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    Fatal, NetworkError, RPCError, RaftError, RemoteError, ReplicationClosed, StreamingError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::OptionalSend;

use super::rpc::{Envelope, Peer, Request, Response, RpcError};
use super::tls::ClusterTls;
use super::types::*;

/// A snapshot of 100,000 users is tens of megabytes: give it time on a slow link.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

/// This node as the cluster knows it; the epoch and the fenced flag change at run time.
#[derive(Debug)]
pub struct Identity {
    pub id: NodeId,
    pub name: String,
    pub epoch: AtomicU64,
    pub fenced: AtomicBool,
}

impl Identity {
    pub fn envelope(&self, request: Request) -> Envelope {
        Envelope {
            epoch: self.epoch.load(Ordering::SeqCst),
            from: self.id,
            request,
        }
    }

    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
pub struct Network {
    pub tls: ClusterTls,
    pub me: Arc<Identity>,
    /// Where being fenced is recorded, so a restart does not forget it.
    pub store: crate::store::Store,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> PeerNetwork {
        PeerNetwork {
            peer: Peer::new(self.tls.clone(), &node.address, &node.name),
            target,
            me: self.me.clone(),
            store: self.store.clone(),
        }
    }
}

pub struct PeerNetwork {
    peer: Peer,
    target: NodeId,
    me: Arc<Identity>,
    store: crate::store::Store,
}

/// Why a call got no usable answer.
enum CallFailed {
    Unreachable(RpcError),
    Other(RpcError),
}

impl PeerNetwork {
    async fn send(
        &mut self,
        request: Request,
        blob: &[u8],
        timeout: Duration,
    ) -> Result<Response, CallFailed> {
        if self.me.is_fenced() {
            return Err(CallFailed::Other(RpcError::Protocol(
                "this node is fenced: it left an older cluster epoch".into(),
            )));
        }
        let env = self.me.envelope(request);
        match self.peer.call(&env, blob, timeout).await {
            Ok((Response::Fenced { epoch }, _)) => {
                self.me.fenced.store(true, Ordering::SeqCst);
                let _ = super::identity::set_fenced(&self.store).await;
                tracing::error!(
                    peer = self.target,
                    epoch,
                    "cluster: a peer is in a newer cluster epoch: this node is fenced and refuses \
                     directory writes; bring it back with `mfagate cluster join`"
                );
                Err(CallFailed::Other(RpcError::Protocol("fenced".into())))
            }
            Ok((r, _)) => Ok(r),
            Err(e @ (RpcError::Io(_) | RpcError::Timeout(_) | RpcError::Tls(_))) => {
                Err(CallFailed::Unreachable(e))
            }
            Err(e) => Err(CallFailed::Other(e)),
        }
    }
}

fn rpc_error<E: std::error::Error>(f: CallFailed) -> RPCError<NodeId, NodeInfo, E> {
    match f {
        CallFailed::Unreachable(e) => RPCError::Unreachable(Unreachable::new(&e)),
        CallFailed::Other(e) => RPCError::Network(NetworkError::new(&e)),
    }
}

fn unexpected(r: &Response) -> RpcError {
    RpcError::Protocol(format!("unexpected answer: {r:?}"))
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        match self
            .send(Request::AppendEntries(rpc), &[], option.hard_ttl())
            .await
            .map_err(rpc_error)?
        {
            Response::AppendEntries(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(RPCError::Network(NetworkError::new(&unexpected(&other)))),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        match self
            .send(Request::Vote(rpc), &[], option.hard_ttl())
            .await
            .map_err(rpc_error)?
        {
            Response::Vote(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(RPCError::Network(NetworkError::new(&unexpected(&other)))),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        let meta = snapshot.meta.clone();
        let data = snapshot.snapshot.into_inner();
        let r = self
            .send(Request::Snapshot { vote, meta }, &data, SNAPSHOT_TIMEOUT)
            .await;
        match r {
            Ok(Response::Snapshot(r)) => {
                r.map_err(|e| StreamingError::RemoteError(RemoteError::new(self.target, e)))
            }
            Ok(other) => Err(StreamingError::Network(NetworkError::new(&unexpected(
                &other,
            )))),
            Err(CallFailed::Unreachable(e)) => {
                Err(StreamingError::Unreachable(Unreachable::new(&e)))
            }
            Err(CallFailed::Other(e)) => Err(StreamingError::Network(NetworkError::new(&e))),
        }
    }
}
