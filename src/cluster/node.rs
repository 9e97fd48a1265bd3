//! A running cluster member: the Raft instance over the store, the cluster listener that
//! serves peers, and the leader's housekeeping (voter count, first snapshot). Directory writes
//! enter here ([`ClusterNode::write`]); logins never do — they read the local store.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::Cursor;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::{ChangeMembers, ServerState, SnapshotPolicy};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::identity;
use super::network::{Identity, Network};
use super::rpc::{self, Envelope, Joined, Peer, Request, Response};
use super::tls::{self, ClusterTls};
use super::types::*;
use super::{storage, ClusterError, DirectoryError};
use crate::config::{ClusterConfig, Config};
use crate::store::model::{hex, DirectoryOutcome, DirectoryWrite};
use crate::store::Store;

/// Directory writes (and forwarded admin commands) give up after this long without a leader;
/// with the report of who answers (probed at once, [`STATUS_TIMEOUT`]) they fail within 5 s.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(4);
/// How often a membership change that found another under way tries again.
const MEMBERSHIP_RETRY: Duration = Duration::from_millis(100);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const STATUS_TIMEOUT: Duration = Duration::from_millis(800);
const MANAGE_EVERY: Duration = Duration::from_millis(1000);
/// A learner this close to the leader's log is caught up enough to become a voter.
const CAUGHT_UP_ENTRIES: u64 = 100;

/// Runs an admin command (JSON `admin::Request`) on this node: forwarded commands land here.
pub type AdminHandler =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>> + Send + Sync>;

pub struct ClusterNode {
    pub raft: Raft,
    pub me: Arc<Identity>,
    pub cluster_id: String,
    /// Peer acknowledgement of login-state writes, for the pipeline.
    pub claims: Arc<super::login_state::Claims>,
    pub(super) tls: ClusterTls,
    pub(super) store: Store,
    advertise: String,
    /// `cluster.login_log_keep`.
    pub login_log_keep: u64,
    data_dir: PathBuf,
    /// Members named when this node joined, trusted until its own copy of the membership
    /// arrives with the first replicated entries.
    join_members: Vec<NodeInfo>,
    /// When each recent log index was appended here (leader side), for lag in milliseconds.
    pub(super) appended: std::sync::Mutex<std::collections::VecDeque<(u64, std::time::Instant)>>,
    /// Old-epoch members still to be told they are fenced (after a forced promotion).
    fence_targets: std::sync::Mutex<Vec<NodeInfo>>,
    admin: OnceLock<AdminHandler>,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("me", &self.me)
            .field("advertise", &self.advertise)
            .finish()
    }
}

fn raft_config(cluster_id: &str) -> Result<openraft::Config, ClusterError> {
    openraft::Config {
        cluster_name: cluster_id.to_owned(),
        // A dead leader is replaced within about two election timeouts: a follower refuses
        // votes while its leader's lease (election_timeout_max) runs, so the first candidate
        // may need a second round. 0.8-1.6 s keeps that well inside 5 s, and heartbeats every
        // 200 ms leave room for a busy 2-core node before a spurious election.
        heartbeat_interval: 200,
        election_timeout_min: 800,
        election_timeout_max: 1600,
        install_snapshot_timeout: 120_000,
        max_payload_entries: 64,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(5000),
        max_in_snapshot_log_to_keep: 1000,
        ..Default::default()
    }
    .validate()
    .map_err(|e| ClusterError::Setup(e.to_string()))
}

impl ClusterNode {
    /// Starts this node's Raft and its cluster listener; `None` when the store is not in a
    /// cluster yet (`mfagate cluster init` / `cluster join` make it one).
    pub async fn start(
        cfg: &Config,
        ccfg: &ClusterConfig,
        store: Store,
        listener: TcpListener,
        cancel: CancellationToken,
    ) -> Result<Option<Arc<Self>>, ClusterError> {
        let Some(id) = identity::load(&store)? else {
            tracing::warn!(
                "[cluster] is configured but this node is not in a cluster yet: run \
                 `mfagate cluster init` (first node) or `mfagate cluster join ADDRESS` while \
                 mfagate is stopped"
            );
            return Ok(None);
        };
        let tls = ClusterTls::load(&ccfg.ca_file, &ccfg.cert_file, &ccfg.key_file)
            .map_err(|e| ClusterError::Setup(e.to_string()))?
            .dialling_from(ccfg.listen);
        let named =
            tls::own_node_name(&ccfg.cert_file).map_err(|e| ClusterError::Setup(e.to_string()))?;
        if named != cfg.node_name {
            return Err(ClusterError::Setup(format!(
                "cluster.cert_file {} is for node \"{named}\", but node_name is \"{}\"",
                ccfg.cert_file.display(),
                cfg.node_name
            )));
        }
        let me = Arc::new(Identity {
            id: id.node_id,
            name: cfg.node_name.clone(),
            epoch: AtomicU64::new(id.epoch),
            fenced: AtomicBool::new(id.fenced),
        });
        let network = Network {
            tls: tls.clone(),
            me: me.clone(),
            store: store.clone(),
        };
        let (log, sm) = storage::new(store.clone());
        let raft = Raft::new(
            id.node_id,
            Arc::new(raft_config(&id.cluster_id)?),
            network,
            log,
            sm,
        )
        .await
        .map_err(|e| ClusterError::Setup(e.to_string()))?;
        let node = Arc::new(Self {
            raft,
            me,
            cluster_id: id.cluster_id.clone(),
            claims: super::login_state::Claims::new(ccfg.ack_timeout_ms, ccfg.require_peer_ack),
            tls,
            store,
            advertise: ccfg.advertise.clone(),
            login_log_keep: ccfg.login_log_keep,
            data_dir: cfg.data_dir.clone(),
            join_members: id.join_members.clone(),
            fence_targets: std::sync::Mutex::new(id.fence_targets.clone()),
            appended: std::sync::Mutex::new(std::collections::VecDeque::new()),
            admin: OnceLock::new(),
        });
        if id.bootstrap {
            node.bootstrap().await?;
        }
        if node.me.is_fenced() {
            tracing::error!("cluster: this node is fenced (a newer cluster epoch exists): it serves logins from its copy and refuses directory writes; bring it back with `mfagate cluster join`");
        }
        tokio::spawn(node.clone().serve(listener, cancel.clone()));
        tokio::spawn(node.clone().manage(cancel.clone()));
        tokio::spawn(node.clone().track_appends(cancel.clone()));
        tokio::spawn(
            node.claims
                .clone()
                .track_commits(node.store.clone(), cancel.clone()),
        );
        tokio::spawn(super::login_state::ship(
            node.clone(),
            node.claims.clone(),
            cancel.clone(),
        ));
        let stopping = node.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            let _ = stopping.raft.shutdown().await;
        });
        tracing::info!(node = %cfg.node_name, id = id.node_id, epoch = id.epoch, address = %ccfg.advertise, "cluster: member started");
        Ok(Some(node))
    }

    pub fn set_admin_handler(&self, h: AdminHandler) {
        let _ = self.admin.set(h);
    }

    /// First start after `cluster init`: a one-voter cluster holding the existing directory.
    /// The directory is then put in a snapshot and the log purged, so nodes that join get it
    /// (it was never in the log).
    async fn bootstrap(&self) -> Result<(), ClusterError> {
        let setup = |e: String| ClusterError::Setup(e);
        if !self
            .raft
            .is_initialized()
            .await
            .map_err(|e| setup(e.to_string()))?
        {
            let members = BTreeMap::from([(
                self.me.id,
                NodeInfo {
                    name: self.me.name.clone(),
                    address: self.advertise.clone(),
                },
            )]);
            self.raft
                .initialize(members)
                .await
                .map_err(|e| setup(e.to_string()))?;
        }
        self.raft
            .wait(Some(Duration::from_secs(10)))
            .state(ServerState::Leader, "bootstrap")
            .await
            .map_err(|e| setup(format!("the new cluster elected no leader: {e}")))?;
        // The new leader's own first entry applied: the snapshot then covers the whole log.
        let m = self
            .raft
            .wait(Some(Duration::from_secs(10)))
            .metrics(
                |m| {
                    m.last_log_index.is_some()
                        && m.last_applied.map(|l| l.index) == m.last_log_index
                },
                "bootstrap applied",
            )
            .await
            .map_err(|e| setup(e.to_string()))?;
        self.raft
            .trigger()
            .snapshot()
            .await
            .map_err(|e| setup(e.to_string()))?;
        if let Some(applied) = m.last_applied {
            self.raft
                .wait(Some(Duration::from_secs(60)))
                .snapshot(applied, "bootstrap snapshot")
                .await
                .map_err(|e| setup(e.to_string()))?;
            self.raft
                .trigger()
                .purge_log(applied.index)
                .await
                .map_err(|e| setup(e.to_string()))?;
            // The purge runs in the background; a node joining before it ends would be sent
            // the log, which does not hold the directory.
            self.raft
                .wait(Some(Duration::from_secs(60)))
                .metrics(|m| m.purged >= Some(applied), "bootstrap purge")
                .await
                .map_err(|e| setup(e.to_string()))?;
        }
        identity::clear_bootstrap(&self.store).await?;
        let users = self.store.read(|r| r.user_count())?;
        tracing::info!(
            users,
            snapshot = ?self.raft.metrics().borrow().snapshot,
            "cluster: initialised as a one-node cluster with the existing directory"
        );
        Ok(())
    }

    pub(super) fn metrics(&self) -> openraft::RaftMetrics<NodeId, NodeInfo> {
        self.raft.metrics().borrow().clone()
    }

    pub(super) fn members(&self) -> Vec<(NodeId, NodeInfo)> {
        let m = self.metrics();
        let mut v: Vec<(NodeId, NodeInfo)> = m
            .membership_config
            .membership()
            .nodes()
            .map(|(id, n)| (*id, n.clone()))
            .collect();
        if v.is_empty() {
            v = self.join_members.iter().map(|n| (0, n.clone())).collect();
        }
        v
    }

    /// The member whose certificate carries one of `names`.
    fn member_named(&self, names: &[String]) -> Option<NodeInfo> {
        self.members()
            .into_iter()
            .map(|(_, n)| n)
            .find(|n| names.iter().any(|x| x == &n.name))
    }

    pub fn leader(&self) -> Option<(NodeId, NodeInfo)> {
        let m = self.metrics();
        let id = m.current_leader?;
        let node = m.membership_config.membership().get_node(&id)?.clone();
        Some((id, node))
    }

    pub fn is_leader(&self) -> bool {
        self.metrics().state == ServerState::Leader && !self.me.is_fenced()
    }

    /// Proposes a directory write and waits until this node (the leader) has applied it.
    pub async fn write(&self, w: DirectoryWrite) -> Result<DirectoryOutcome, DirectoryError> {
        if self.me.is_fenced() {
            return Err(DirectoryError::Fenced);
        }
        match tokio::time::timeout(WRITE_TIMEOUT, self.raft.client_write(w)).await {
            Ok(Ok(resp)) => Ok(resp.data),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Err(DirectoryError::NotLeader(f.leader_node.map(|n| n.name)))
            }
            Ok(Err(e)) => Err(DirectoryError::Cluster(e.to_string())),
            Err(_) => Err(DirectoryError::NoLeader(self.no_leader_report().await)),
        }
    }

    /// Says who was the leader and who answers, for a write that found no leader.
    pub async fn no_leader_report(&self) -> String {
        let last = self
            .leader()
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| "none".into());
        let others: Vec<NodeInfo> = self
            .members()
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| n.name != self.me.name)
            .collect();
        let probes = others.iter().map(|n| self.peer_status(n));
        let answers = futures_util::future::join_all(probes).await;
        let mut answering = vec![format!("{} (this node)", self.me.name)];
        for (n, a) in others.iter().zip(answers) {
            if a.is_ok() {
                answering.push(n.name.clone());
            }
        }
        format!(
            "no cluster leader answered within {}s (last known leader: {last}; nodes that answer: {})",
            WRITE_TIMEOUT.as_secs(),
            answering.join(", ")
        )
    }

    pub(super) async fn peer_status(&self, n: &NodeInfo) -> Result<Value, String> {
        let mut p = Peer::new(self.tls.clone(), &n.address, &n.name);
        match p
            .call(&self.me.envelope(Request::Status), &[], STATUS_TIMEOUT)
            .await
        {
            Ok((Response::Status(v), _)) => Ok(v),
            Ok((other, _)) => Err(format!("{other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Runs an admin command on the leader and returns its answer once this node has applied
    /// what it changed, with the leader's name. A leader that does not answer is waited out
    /// (an election takes 1-2 s) until [`WRITE_TIMEOUT`], so a command run during a failover
    /// lands on the new leader instead of failing.
    pub async fn forward_admin(&self, req: Value) -> Result<(Value, String), DirectoryError> {
        if self.me.is_fenced() {
            return Err(DirectoryError::Fenced);
        }
        let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
        let mut failed: Option<String> = None;
        loop {
            let leader = self
                .wait_for_leader_other_than(failed.as_deref(), deadline)
                .await;
            let Some(leader) = leader else {
                return Err(DirectoryError::NoLeader(self.no_leader_report().await));
            };
            if leader.name == self.me.name {
                // Became the leader meanwhile: the caller runs it here.
                return Err(DirectoryError::NotLeader(Some(leader.name)));
            }
            let mut p = Peer::new(self.tls.clone(), &leader.address, &leader.name);
            let env = self.me.envelope(Request::Admin(req.clone()));
            // Long enough for a sync run on the leader; a dead leader fails at connect.
            match p.call(&env, &[], Duration::from_secs(600)).await {
                Ok((
                    Response::Admin {
                        result,
                        applied,
                        node,
                    },
                    _,
                )) => {
                    let v = result.map_err(DirectoryError::Refused)?;
                    if let Some(i) = applied {
                        let _ = self
                            .raft
                            .wait(Some(WRITE_TIMEOUT))
                            .applied_index_at_least(Some(i), "forwarded admin command")
                            .await;
                    }
                    return Ok((v, node));
                }
                Ok((Response::Refused(e), _)) => return Err(DirectoryError::Refused(e)),
                Ok((Response::NotLeader { .. }, _)) | Err(_) => {
                    // With the only voter gone no election can happen: say so now.
                    if self.only_voter_is(&leader.name) {
                        return Err(DirectoryError::NoLeader(self.no_leader_report().await));
                    }
                    failed = Some(leader.name)
                }
                Ok((other, _)) => return Err(DirectoryError::Cluster(format!("{other:?}"))),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DirectoryError::NoLeader(self.no_leader_report().await));
            }
        }
    }

    fn only_voter_is(&self, name: &str) -> bool {
        let m = self.metrics();
        let membership = m.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        voters.len() == 1
            && membership
                .get_node(&voters[0])
                .is_some_and(|n| n.name == name)
    }

    /// The current leader once it is known and is not `not`, or `None` at `deadline`.
    async fn wait_for_leader_other_than(
        &self,
        not: Option<&str>,
        deadline: tokio::time::Instant,
    ) -> Option<NodeInfo> {
        loop {
            if let Some((_, l)) = self.leader() {
                if Some(l.name.as_str()) != not {
                    return Some(l);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Accepts cluster connections until `cancel`.
    async fn serve(self: Arc<Self>, listener: TcpListener, cancel: CancellationToken) {
        loop {
            let (tcp, addr) = tokio::select! {
                _ = cancel.cancelled() => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let node = self.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = node.connection(tcp, addr) => {}
                }
            });
        }
    }

    async fn connection(self: Arc<Self>, tcp: tokio::net::TcpStream, addr: std::net::SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let accepted =
            tokio::time::timeout(HANDSHAKE_TIMEOUT, self.tls.acceptor().accept(tcp)).await;
        let mut conn = match accepted {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!(peer = %addr, error = %e, "cluster: refused a connection: TLS handshake failed (no or untrusted client certificate?)");
                return;
            }
            Err(_) => {
                tracing::warn!(peer = %addr, "cluster: refused a connection: no TLS handshake within 5 s");
                return;
            }
        };
        let names = tls::peer_dns_names(conn.get_ref().1);
        let member = self.member_named(&names);
        loop {
            let (header, blob) = match rpc::read_frame(&mut conn).await {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(peer = %addr, error = %e, "cluster: dropped a connection: bad frame");
                    return;
                }
            };
            let env: Envelope = match serde_json::from_slice(&header) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(peer = %addr, error = %e, "cluster: dropped a connection: undecodable message");
                    return;
                }
            };
            let mine = self.me.epoch.load(Ordering::SeqCst);
            if member.is_none() && env.epoch != 0 && env.epoch < mine {
                // A member of the epoch this one replaced: tell it, so it stops acting on it.
                tracing::warn!(peer = %addr, names = ?names, epoch = env.epoch, "cluster: a node of an older epoch called: told it is fenced");
                let _ = rpc::write_frame(&mut conn, &Response::Fenced { epoch: mine }, &[]).await;
                return;
            }
            let (resp, out_blob) = if member.is_none()
                && !matches!(env.request, Request::Join { .. })
            {
                tracing::warn!(peer = %addr, names = ?names, "cluster: refused a connection: its certificate names no member of this cluster");
                let r = Response::Refused(format!(
                    "certificate names {names:?}: not a member of this cluster"
                ));
                let _ = rpc::write_frame(&mut conn, &r, &[]).await;
                return;
            } else {
                self.dispatch(env, blob, &names).await
            };
            if let Err(e) = rpc::write_frame(&mut conn, &resp, &out_blob).await {
                tracing::debug!(peer = %addr, error = %e, "cluster: connection closed while answering");
                return;
            }
        }
    }

    async fn dispatch(
        &self,
        env: Envelope,
        blob: Vec<u8>,
        names: &[String],
    ) -> (Response, Vec<u8>) {
        let mine = self.me.epoch.load(Ordering::SeqCst);
        if env.epoch != 0 && env.epoch < mine {
            return (Response::Fenced { epoch: mine }, Vec::new());
        }
        if env.epoch > mine && !self.me.is_fenced() {
            self.me.fenced.store(true, Ordering::SeqCst);
            let _ = identity::set_fenced(&self.store).await;
            tracing::error!(epoch = env.epoch, "cluster: a peer is in a newer cluster epoch: this node is fenced and refuses directory writes; bring it back with `mfagate cluster join`");
        }
        let r = match env.request {
            Request::AppendEntries(r) => Response::AppendEntries(self.raft.append_entries(r).await),
            Request::Vote(r) => Response::Vote(self.raft.vote(r).await),
            Request::Snapshot { vote, meta } => {
                let snapshot = Snapshot {
                    meta,
                    snapshot: Box::new(Cursor::new(blob)),
                };
                Response::Snapshot(self.raft.install_full_snapshot(vote, snapshot).await)
            }
            Request::Join { name, address } => self.join(name, address, names).await,
            Request::Admin(req) => self.admin(req).await,
            Request::Status => Response::Status(self.local_status()),
            Request::LoginState {
                origin,
                entries,
                upto,
                fates,
            } => {
                super::login_state::receive(&self.store, &self.claims, origin, entries, upto, fates)
                    .await
            }
            Request::LoginSnapshot { origin, upto, done } => {
                super::login_state::receive_snapshot(&self.store, origin, upto, done, blob).await
            }
        };
        (r, Vec::new())
    }

    fn not_leader(&self) -> Response {
        Response::NotLeader {
            leader: self.leader().map(|(_, n)| n),
        }
    }

    async fn admin(&self, req: Value) -> Response {
        if !self.is_leader() {
            return self.not_leader();
        }
        let Some(h) = self.admin.get() else {
            return Response::Refused("this node does not take admin commands yet".into());
        };
        let result = h(req).await;
        Response::Admin {
            result,
            applied: self.metrics().last_applied.map(|l| l.index),
            node: self.me.name.clone(),
        }
    }

    async fn join(&self, name: String, address: String, names: &[String]) -> Response {
        if !self.is_leader() {
            return self.not_leader();
        }
        if !names.iter().any(|n| n == &name) {
            return Response::Refused(format!(
                "the joining node calls itself \"{name}\" but its certificate names {names:?}"
            ));
        }
        if self.members().iter().any(|(_, n)| n.name == name) {
            return Response::Refused(format!(
                "a member is already named \"{name}\": remove it first with `mfagate cluster remove {name}`"
            ));
        }
        let key = match std::fs::read(self.data_dir.join("seed.key")) {
            Ok(k) => k,
            Err(e) => return Response::Refused(format!("cannot read the cluster key: {e}")),
        };
        let taken: BTreeSet<NodeId> = self.members().into_iter().map(|(id, _)| id).collect();
        let node_id = loop {
            let id = identity::random_u64();
            if id != 0 && !taken.contains(&id) {
                break id;
            }
        };
        let info = NodeInfo {
            name: name.clone(),
            address,
        };
        match one_membership_change(|| self.raft.add_learner(node_id, info.clone(), false)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Response::Refused(format!("cannot add the node: {e}")),
            Err(_) => return Response::Refused(self.no_leader_report().await),
        }
        tracing::info!(node = %name, id = node_id, "cluster: node added as a learner");
        Response::Joined(Joined {
            node_id,
            epoch: self.me.epoch.load(Ordering::SeqCst),
            cluster_id: self.cluster_id.clone(),
            key: hex(&key),
            leader: NodeInfo {
                name: self.me.name.clone(),
                address: self.advertise.clone(),
            },
            members: self.members().into_iter().map(|(_, n)| n).collect(),
        })
    }

    /// Removes the member named `name` (leader only).
    pub async fn remove(&self, name: &str) -> Result<Value, DirectoryError> {
        let Some((id, _)) = self.members().into_iter().find(|(_, n)| n.name == name) else {
            return Err(DirectoryError::Refused(format!(
                "no member is named \"{name}\""
            )));
        };
        let voters: BTreeSet<NodeId> = self
            .metrics()
            .membership_config
            .membership()
            .voter_ids()
            .collect();
        let change = if voters.contains(&id) {
            if voters.len() == 1 {
                return Err(DirectoryError::Refused(format!(
                    "\"{name}\" is the only voter: a cluster cannot remove its last voter"
                )));
            }
            ChangeMembers::RemoveVoters(BTreeSet::from([id]))
        } else {
            ChangeMembers::RemoveNodes(BTreeSet::from([id]))
        };
        match one_membership_change(|| self.raft.change_membership(change.clone(), false)).await {
            Ok(Ok(_)) => Ok(json!({ "removed": name })),
            Ok(Err(e)) => Err(DirectoryError::Cluster(e.to_string())),
            Err(_) => Err(DirectoryError::NoLeader(self.no_leader_report().await)),
        }
    }

    /// The leader keeps the voter count right: one voter for one or two nodes (the second is a
    /// learner), three from three nodes, five from five; learners become voters once caught up.
    async fn manage(self: Arc<Self>, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(MANAGE_EVERY);
        let mut fenced_saved = false;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            if self.me.is_fenced() {
                if !fenced_saved {
                    fenced_saved = identity::set_fenced(&self.store).await.is_ok();
                }
                continue;
            }
            self.fence_old_members().await;
            if !self.is_leader() {
                continue;
            }
            let m = self.metrics();
            let membership = m.membership_config.membership();
            let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
            let learners: Vec<NodeId> = membership.learner_ids().collect();
            let n = voters.len() + learners.len();
            let desired = match n {
                0..=2 => 1,
                3 | 4 => 3,
                _ => 5,
            };
            let change = if voters.len() < desired {
                let last = m.last_log_index.unwrap_or(0);
                let ready: BTreeSet<NodeId> = learners
                    .iter()
                    .filter(|l| {
                        m.replication
                            .as_ref()
                            .and_then(|r| r.get(l).cloned().flatten())
                            .is_some_and(|matched| matched.index + CAUGHT_UP_ENTRIES >= last)
                    })
                    .take(desired - voters.len())
                    .copied()
                    .collect();
                if ready.is_empty() {
                    continue;
                }
                ChangeMembers::AddVoterIds(ready)
            } else if voters.len() > desired {
                let mut keep = BTreeSet::from([self.me.id]);
                keep.extend(
                    voters
                        .iter()
                        .copied()
                        .filter(|v| *v != self.me.id)
                        .take(desired - 1),
                );
                ChangeMembers::ReplaceAllVoters(keep)
            } else {
                continue;
            };
            tracing::info!(change = ?change, "cluster: adjusting voters");
            if let Err(e) = self.raft.change_membership(change, true).await {
                tracing::debug!(error = %e, "cluster: voter change not made now; will retry");
            }
        }
    }

    /// Calls each old-epoch member still untold; one that answers has been told (its side
    /// marks itself fenced on seeing the newer epoch) and is dropped from the list.
    async fn fence_old_members(&self) {
        let targets = match self.fence_targets.lock() {
            Ok(t) => t.clone(),
            Err(_) => return,
        };
        let mine = self.me.epoch.load(Ordering::SeqCst);
        for n in targets {
            let Ok(v) = self.peer_status(&n).await else {
                continue;
            };
            if v["role"] == "fenced" || v["epoch"].as_u64() >= Some(mine) {
                tracing::info!(node = %n.name, "cluster: an old-epoch member knows it is fenced");
                if let Ok(mut t) = self.fence_targets.lock() {
                    t.retain(|x| x.name != n.name);
                }
            }
        }
    }
}

/// Runs a membership change (a join's learner, a removal) within [`WRITE_TIMEOUT`]. Raft
/// makes one membership change at a time, and the leader's voter manager starts its own after
/// every join or removal (it promotes caught-up learners and trims voters), so an admin's
/// `cluster join` or `cluster remove` right after another can meet one under way. That is
/// brief: wait for it and try again instead of refusing the command.
async fn one_membership_change<T, F, Fut>(
    mut change: F,
) -> Result<
    Result<T, RaftError<NodeId, ClientWriteError<NodeId, NodeInfo>>>,
    tokio::time::error::Elapsed,
>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RaftError<NodeId, ClientWriteError<NodeId, NodeInfo>>>>,
{
    let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
    loop {
        let r = tokio::time::timeout_at(deadline, change()).await;
        let in_progress = matches!(
            &r,
            Ok(Err(RaftError::APIError(
                ClientWriteError::ChangeMembershipError(ChangeMembershipError::InProgress(_))
            )))
        );
        if !in_progress || tokio::time::Instant::now() + MEMBERSHIP_RETRY >= deadline {
            return r;
        }
        tracing::debug!("cluster: another membership change is under way; trying again");
        tokio::time::sleep(MEMBERSHIP_RETRY).await;
    }
}
