//! The cluster's commands (certificates, forming, joining, status) and the store's backup and
//! restore: argument handling and printing; the work is in [`crate::cluster`] and the store.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use serde_json::Value;

use super::{admin_call, print_done, print_json_lines, runtime, s, ListFormat};
use crate::admin::Request;
use crate::config::Config;
use crate::store::Store;

#[derive(Subcommand)]
pub(super) enum ClusterCmd {
    /// Write a new cluster CA (ca.pem, and ca.key readable by the owner only) into DIR.
    InitCa {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Issue a node certificate (NODE.pem, NODE.key, and a copy of ca.pem) into DIR.
    IssueCert {
        node: String,
        /// HOST:PORT other nodes reach it at (its cluster.advertise); the host is put in the
        /// certificate.
        #[arg(long)]
        address: String,
        /// The directory holding ca.pem and ca.key.
        #[arg(long, value_name = "DIR")]
        ca: PathBuf,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Make this node, with its directory, a one-node cluster (run it with mfagate stopped;
    /// the next start forms the cluster).
    Init,
    /// Ask the cluster member at ADDRESS to add this node (run it with mfagate stopped; the
    /// directory arrives when mfagate starts).
    Join {
        address: String,
        /// Replace this node's directory (or leave its old cluster) to join.
        #[arg(long)]
        force: bool,
    },
    /// Take a member out of the cluster.
    Remove { node: String },
    /// Disaster recovery: re-form the cluster with this node as its only voter, under a new
    /// epoch, when a majority of voters is gone for good (run it with mfagate stopped). Nodes
    /// of the old epoch are fenced; bring them back with `cluster join --force`.
    Promote {
        /// Required: this overrides the cluster's majority.
        #[arg(long)]
        force: bool,
    },
    /// Every member: role, term, epoch, applied index, lag.
    Status {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
}

/// `cluster init-ca` and `cluster issue-cert` need no configuration file: made here, and
/// `true` when `cmd` was one of them.
pub(super) fn certificates(cmd: &ClusterCmd) -> anyhow::Result<bool> {
    // Certificates are made before any node has a configuration file.
    if let ClusterCmd::InitCa { out } = cmd {
        let f = crate::cluster::certs::init_ca(out)?;
        println!(
            "cluster CA written: {} (certificate) and {} (private key: keep it off the nodes)",
            f.cert.display(),
            f.key.display()
        );
        return Ok(true);
    }
    if let ClusterCmd::IssueCert {
        node,
        address,
        ca,
        out,
    } = cmd
    {
        let f = crate::cluster::certs::issue_node_cert(node, address, ca, out)?;
        println!(
            "certificate for {node} written: {}, {}, {} (set cluster.cert_file, key_file, ca_file)",
            f.cert.display(),
            f.key.display(),
            f.ca.display()
        );
        return Ok(true);
    }
    Ok(false)
}

pub(super) fn backup(cfg: Config, file: &Path) -> anyhow::Result<()> {
    let v = admin_call(cfg, Request::Backup)?;
    let b: crate::store::Backup = serde_json::from_value(v)?;
    write_private(file, &serde_json::to_vec(&b)?)?;
    println!(
        "backup written to {} ({} users, {} authentication records{}); it holds the \
         seed key (the cluster key in a cluster): keep it as safe as the key itself",
        file.display(),
        b.tables.directory.users.len(),
        b.tables.auth_log.len(),
        if b.tables.cluster.is_some() {
            ", cluster identity"
        } else {
            ""
        }
    );
    Ok(())
}

pub(super) fn restore(cfg: Config, file: &Path, force: bool) -> anyhow::Result<()> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let b: crate::store::Backup = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an mfagate backup", file.display()))?;
    b.check().map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let rt = runtime(None)?;
    rt.block_on(async {
        // A seed.key whose database is gone is what a restore is for.
        let store = open_stopped_with(&cfg, Store::open_for_restore)?;
        let users = store.read(|r| r.user_count())?;
        let clustered = crate::cluster::identity::load(&store)?.is_some();
        if (users > 0 || clustered) && !force {
            bail!(
                "the store in {} is not empty ({users} users{}): pass --force to replace it",
                cfg.data_dir.display(),
                if clustered { ", a cluster member" } else { "" }
            );
        }
        let (n, cluster) = (b.tables.directory.users.len(), b.tables.cluster.is_some());
        store.restore(b, crate::cluster::identity::IDENTITY).await?;
        println!(
            "restored {n} users into {}{}",
            cfg.data_dir.display(),
            if cluster {
                "; it was a cluster member: run `mfagate cluster promote --force` here \
                 to re-form the cluster around this node, start it, then re-join the \
                 others with `mfagate cluster join ADDRESS --force`"
            } else {
                ""
            }
        );
        Ok(())
    })
}

pub(super) fn cluster_command(cfg: Config, cmd: ClusterCmd) -> anyhow::Result<()> {
    match cmd {
        ClusterCmd::InitCa { .. } | ClusterCmd::IssueCert { .. } => Ok(()),
        ClusterCmd::Init => {
            if cfg.cluster.is_none() {
                bail!("no [cluster] section in the configuration: add one first (see config/cluster.toml)");
            }
            let rt = runtime(None)?;
            rt.block_on(async {
                let store = open_stopped(&cfg)?;
                let id = crate::cluster::identity::init(&store).await?;
                println!(
                    "node {} is now a one-node cluster (cluster {}, node id {}); start mfagate, \
                     then run `mfagate cluster join {}` on each other node",
                    cfg.node_name,
                    id.cluster_id,
                    id.node_id,
                    cfg.cluster.as_ref().map_or("", |c| c.advertise.as_str())
                );
                Ok(())
            })
        }
        ClusterCmd::Join { address, force } => {
            let rt = runtime(None)?;
            rt.block_on(async {
                let store = open_stopped(&cfg)?;
                let j = crate::cluster::identity::join(&cfg, &store, &address, force).await?;
                println!(
                    "joined cluster {} as node id {} (leader {}); start mfagate: it receives the \
                     directory from the leader",
                    j.cluster_id, j.node_id, j.leader
                );
                Ok(())
            })
        }
        ClusterCmd::Promote { force } => {
            if !force {
                bail!("cluster promote re-forms the cluster around this node alone and fences the others: run it only when a majority of voters is gone for good, with --force");
            }
            let rt = runtime(None)?;
            rt.block_on(async {
                let store = open_stopped(&cfg)?;
                let id = crate::cluster::identity::promote(&store).await?;
                let others: Vec<&str> = id.fence_targets.iter().map(|n| n.name.as_str()).collect();
                println!(
                    "node {} will start as the only voter of cluster {} in epoch {}; the old \
                     members ({}) are fenced when they come back: re-join each with \
                     `mfagate cluster join {} --force`",
                    cfg.node_name,
                    id.cluster_id,
                    id.epoch,
                    if others.is_empty() {
                        "none".to_owned()
                    } else {
                        others.join(", ")
                    },
                    cfg.cluster.as_ref().map_or("", |c| c.advertise.as_str())
                );
                Ok(())
            })
        }
        ClusterCmd::Remove { node } => {
            print_done(&admin_call(cfg, Request::ClusterRemove { name: node })?)
        }
        ClusterCmd::Status { format } => {
            let v = admin_call(cfg, Request::ClusterStatus)?;
            match format {
                ListFormat::Json => print_json_lines(&v),
                ListFormat::Text => print_cluster_status(&v),
            }
        }
    }
}

/// Opens the store for the daemon. A CLI command run while no daemon is up holds the file for
/// a moment; the daemon waits that out instead of failing to start.
/// Writes `data` to `path`, readable by the owner only (also when the file existed).
fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut f = crate::config::private_file_options()
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

/// Opens the store for a command that needs mfagate stopped, saying so when it is not.
fn open_stopped(cfg: &Config) -> anyhow::Result<Store> {
    open_stopped_with(cfg, Store::open)
}

fn open_stopped_with(
    cfg: &Config,
    open: fn(&Path) -> Result<Store, crate::store::StoreError>,
) -> anyhow::Result<Store> {
    match open(&cfg.data_dir) {
        Ok(s) => Ok(s),
        Err(crate::store::StoreError::Locked(_)) => {
            bail!("mfagate is running on this node: stop it first (systemctl stop mfagate), run this command, then start it again")
        }
        Err(e) => Err(e.into()),
    }
}

fn print_cluster_status(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "node {} ({}), epoch {}, term {}, leader {}, applied {}, users {}, logins decided without a peer's acknowledgement {}",
        s(v, "node"),
        s(v, "role"),
        s(v, "epoch"),
        s(v, "term"),
        s(v, "leader"),
        s(v, "last_applied"),
        s(v, "users"),
        s(v, "decided_without_peer_ack")
    )?;
    if let Some(n) = v.get("note").and_then(Value::as_str) {
        writeln!(out, "{n}")?;
    }
    let peers = v["peers"].as_array().cloned().unwrap_or_default();
    let reach = |name: &str| -> String {
        if name == s(v, "node") {
            return "self".into();
        }
        match peers.iter().find(|p| p["name"] == name) {
            Some(p) if p["reachable"] == true => format!("yes ({} ms)", s(p, "rtt_ms")),
            Some(_) => "NO".into(),
            None => "-".into(),
        }
    };
    writeln!(
        out,
        "{:<20} {:<24} {:<12} {:<6} {:<6} {:<9} {:<16} REACHABLE",
        "MEMBER", "ADDRESS", "ROLE", "TERM", "EPOCH", "APPLIED", "LAG entries/ms"
    )?;
    for m in v["members"].as_array().into_iter().flatten() {
        let name = s(m, "name");
        let peer = peers.iter().find(|p| p["name"] == name.as_str());
        let own = |k: &str| {
            if name == s(v, "node") {
                s(v, k)
            } else {
                peer.map(|p| s(&p["status"], k))
                    .unwrap_or_else(|| "-".into())
            }
        };
        let (applied, term, epoch) = (own("last_applied"), own("term"), own("epoch"));
        let role = peer
            .and_then(|p| p["status"]["role"].as_str().map(str::to_owned))
            .filter(|r| r == "fenced")
            .unwrap_or_else(|| s(m, "role"));
        let role = if peer.is_some_and(|p| p["reachable"] == false) {
            "unreachable".to_owned()
        } else {
            role
        };
        writeln!(
            out,
            "{:<20} {:<24} {:<12} {:<6} {:<6} {:<9} {:<16} {}",
            name,
            s(m, "address"),
            role,
            term,
            epoch,
            applied,
            format!("{}/{}", s(m, "lag_entries"), s(m, "lag_ms")),
            reach(&name)
        )?;
    }
    let shipped = v["login_state"].as_array().cloned().unwrap_or_default();
    if !shipped.is_empty() {
        writeln!(
            out,
            "login state from this node: {:<14} {:<8} {:<10} {:<8} ACK DELAY p50/p99 ms",
            "PEER", "ANSWERS", "LAG entries", "LAG ms"
        )?;
        for p in shipped {
            writeln!(
                out,
                "                            {:<14} {:<8} {:<11} {:<8} {}/{}",
                s(&p, "peer"),
                s(&p, "answers"),
                s(&p, "lag_entries"),
                s(&p, "lag_ms"),
                s(&p, "ack_delay_p50_ms"),
                s(&p, "ack_delay_p99_ms")
            )?;
        }
    }
    Ok(())
}
