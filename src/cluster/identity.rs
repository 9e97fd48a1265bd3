//! Which cluster this node belongs to, as its store records it: the Raft node id, the cluster
//! id and epoch, and whether it is fenced. `cluster init` and `cluster join` write it (with the
//! daemon stopped, so the store is theirs); the daemon reads it at start.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::rpc::{Envelope, Joined, Peer, Request, Response};
use super::tls::ClusterTls;
use super::types::NodeInfo;
use super::ClusterError;
use crate::config::{split_host_port, Config};
use crate::store::model::{hex, unhex};
use crate::store::{DirectoryDump, Store, StoreError};

/// The Raft metadata entry holding [`ClusterIdentity`].
pub const IDENTITY: &str = "identity";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterIdentity {
    pub node_id: u64,
    pub epoch: u64,
    pub cluster_id: String,
    #[serde(default)]
    pub fenced: bool,
    /// Set by `cluster init`: the next start forms the one-node cluster.
    #[serde(default)]
    pub bootstrap: bool,
    /// The members when this node joined (see `ClusterNode::join_members`).
    #[serde(default)]
    pub join_members: Vec<NodeInfo>,
    /// After `cluster promote --force`: the members of the old epoch, told that they are
    /// fenced whenever they can be reached.
    #[serde(default)]
    pub fence_targets: Vec<NodeInfo>,
}

pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // getrandom fails only without an OS entropy source; a zero id is then refused upstream.
    let _ = getrandom::getrandom(&mut b);
    u64::from_be_bytes(b)
}

pub fn load(store: &Store) -> Result<Option<ClusterIdentity>, StoreError> {
    store.read(|r| r.raft_meta(IDENTITY))
}

async fn update(
    store: &Store,
    f: impl FnOnce(&mut ClusterIdentity) + Send + 'static,
) -> Result<(), StoreError> {
    store
        .write(move |tx| {
            if let Some(mut id) = tx.get_raft_meta::<ClusterIdentity>(IDENTITY)? {
                f(&mut id);
                tx.set_raft_meta(IDENTITY, &id)?;
            }
            Ok(())
        })
        .await
}

pub async fn clear_bootstrap(store: &Store) -> Result<(), ClusterError> {
    Ok(update(store, |id| id.bootstrap = false).await?)
}

pub async fn set_fenced(store: &Store) -> Result<(), ClusterError> {
    Ok(update(store, |id| id.fenced = true).await?)
}

/// `mfagate cluster init`: this node, with its directory, becomes a one-node cluster at its
/// next start. Its seed key becomes the cluster key.
pub async fn init(store: &Store) -> Result<ClusterIdentity, ClusterError> {
    if let Some(id) = load(store)? {
        return Err(ClusterError::Setup(format!(
            "this node is already in cluster {} (node id {}); `mfagate cluster status` shows it",
            id.cluster_id, id.node_id
        )));
    }
    let mut cid = [0u8; 16];
    getrandom::getrandom(&mut cid).map_err(|e| ClusterError::Setup(e.to_string()))?;
    let id = ClusterIdentity {
        node_id: random_u64(),
        epoch: 1,
        cluster_id: hex(&cid),
        fenced: false,
        bootstrap: true,
        join_members: Vec::new(),
        fence_targets: Vec::new(),
    };
    let saved = id.clone();
    store
        .write(move |tx| {
            tx.reset_raft(&[])?;
            tx.set_raft_meta(IDENTITY, &saved)
        })
        .await?;
    Ok(id)
}

/// `mfagate cluster promote --force`: when a majority of voters is gone for good, this node
/// re-forms the cluster alone, with its copy of the directory, under the next epoch. Members
/// of the old epoch are fenced as soon as they reach it (or it reaches them).
pub async fn promote(store: &Store) -> Result<ClusterIdentity, ClusterError> {
    let Some(old) = load(store)? else {
        return Err(ClusterError::Setup(
            "this node is not in a cluster: there is nothing to promote".into(),
        ));
    };
    let me = old.node_id;
    let fence_targets: Vec<NodeInfo> = super::storage::members(store)?
        .into_iter()
        .filter(|(id, _)| *id != me)
        .map(|(_, n)| n)
        .collect();
    let id = ClusterIdentity {
        epoch: old.epoch + 1,
        fenced: false,
        bootstrap: true,
        join_members: Vec::new(),
        fence_targets,
        ..old
    };
    let saved = id.clone();
    store
        .write(move |tx| {
            tx.reset_raft(&[IDENTITY])?;
            tx.set_raft_meta(IDENTITY, &saved)
        })
        .await?;
    Ok(id)
}

/// `mfagate cluster join ADDRESS`: asks the cluster (any member; followers point at the
/// leader) to add this node, then takes the cluster key and identity it answers with. The
/// directory arrives from the leader once the daemon starts.
pub async fn join(
    cfg: &Config,
    store: &Store,
    address: &str,
    force: bool,
) -> Result<Joined, ClusterError> {
    let Some(ccfg) = &cfg.cluster else {
        return Err(ClusterError::Setup(
            "no [cluster] section in the configuration".into(),
        ));
    };
    if let Some(id) = load(store)? {
        if !force {
            return Err(ClusterError::Setup(format!(
                "this node is already in cluster {} (node id {}); pass --force to leave it and \
                 join afresh (its directory is replaced by the cluster's)",
                id.cluster_id, id.node_id
            )));
        }
    }
    let users = store.read(|r| r.user_count())?;
    if users > 0 && !force {
        return Err(ClusterError::Setup(format!(
            "this node's store holds {users} users; joining replaces its directory with the \
             cluster's: pass --force to go ahead"
        )));
    }
    let tls = ClusterTls::load(&ccfg.ca_file, &ccfg.cert_file, &ccfg.key_file)
        .map_err(|e| ClusterError::Setup(e.to_string()))?
        .dialling_from(ccfg.listen);
    let (host, _) = split_host_port(address)
        .ok_or_else(|| ClusterError::Setup(format!("\"{address}\" is not HOST:PORT")))?;
    let mut target = (address.to_owned(), host.to_owned());
    for _ in 0..3 {
        let mut peer = Peer::new(tls.clone(), &target.0, &target.1);
        let env = Envelope {
            epoch: 0,
            from: 0,
            request: Request::Join {
                name: cfg.node_name.clone(),
                address: ccfg.advertise.clone(),
            },
        };
        let r = peer
            .call(&env, &[], std::time::Duration::from_secs(15))
            .await
            .map_err(|e| ClusterError::Setup(format!("{}: {e}", target.0)))?;
        match r.0 {
            Response::Joined(j) => {
                accept_join(&cfg.data_dir, store, &j).await?;
                return Ok(j);
            }
            Response::NotLeader { leader: Some(l) } => target = (l.address, l.name),
            Response::NotLeader { leader: None } => {
                return Err(ClusterError::Setup(format!(
                    "{} is a member but knows no leader right now; try again shortly",
                    target.0
                )))
            }
            Response::Refused(e) => return Err(ClusterError::Setup(e)),
            other => return Err(ClusterError::Setup(format!("unexpected answer: {other:?}"))),
        }
    }
    Err(ClusterError::Setup("no leader found after 3 hops".into()))
}

async fn accept_join(data_dir: &Path, store: &Store, j: &Joined) -> Result<(), ClusterError> {
    let key = unhex(&j.key)
        .filter(|k| k.len() == 32)
        .ok_or_else(|| ClusterError::Setup("the leader sent no usable cluster key".into()))?;
    crate::store::replace_key_file(&data_dir.join("seed.key"), &key)?;
    let id = ClusterIdentity {
        node_id: j.node_id,
        epoch: j.epoch,
        cluster_id: j.cluster_id.clone(),
        fenced: false,
        bootstrap: false,
        join_members: j.members.clone(),
        fence_targets: Vec::new(),
    };
    store
        .write(move |tx| {
            tx.reset_raft(&[])?;
            tx.replace_directory(&DirectoryDump::default())?;
            tx.set_raft_meta(IDENTITY, &id)
        })
        .await?;
    Ok(())
}
