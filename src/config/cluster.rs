//! `[cluster]`: this node's place in a cluster — where it listens for other nodes, the
//! address they reach it at, and its certificate. Which nodes are members is not here: it is
//! replicated cluster state (`mfagate cluster init/join/remove`), so no node's file can
//! disagree with the others about it.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{invalid, ConfigError};

pub const DEFAULT_PORT: u16 = 4443;

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Where other nodes connect. A specific IP here is also the source of this node's own
    /// connections to them, so peers and the firewalls between nodes see one address per
    /// node; with 0.0.0.0 / `::` the routing table picks the source.
    pub listen: SocketAddr,
    /// `HOST:PORT` other nodes connect to; its host is in this node's certificate.
    pub advertise: String,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// How long a login waits for peers to acknowledge a one-time credential.
    pub ack_timeout_ms: u64,
    /// Refuse a one-time credential no peer acknowledged (default: accept, warn, count).
    pub require_peer_ack: bool,
    /// Entries of this node's login-state log kept for a member that has not merged them;
    /// one further behind catches up from a snapshot of login state instead.
    pub login_log_keep: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClusterRaw {
    listen: Option<String>,
    advertise: Option<String>,
    ca_file: Option<PathBuf>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    ack_timeout_ms: Option<u64>,
    #[serde(default)]
    require_peer_ack: bool,
    login_log_keep: Option<u64>,
}

/// Splits `HOST:PORT` (`[v6]:PORT` too) into host and port.
pub fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok()?;
    (!host.is_empty() && port != 0).then_some((host, port))
}

impl ClusterRaw {
    pub(super) fn validate(self, node_name: &str) -> Result<ClusterConfig, ConfigError> {
        // The name is a DNS name in the node's certificate, which is how peers know it.
        let dns_label = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if !node_name.split('.').all(dns_label) {
            return Err(invalid(
                "node_name",
                "a cluster node's name is a DNS name in its certificate: letters, digits,                  '-' and '.' (no '_', no empty label)",
            ));
        }
        let listen = match self.listen.as_deref() {
            None => SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            Some(s) => s.parse().map_err(|_| {
                invalid(
                    "cluster.listen",
                    format!("\"{s}\" is not an IP:PORT (e.g. \"0.0.0.0:{DEFAULT_PORT}\")"),
                )
            })?,
        };
        let advertise = match self.advertise {
            Some(a) => {
                if split_host_port(&a).is_none() {
                    return Err(invalid(
                        "cluster.advertise",
                        format!(
                            "\"{a}\" is not HOST:PORT (e.g. \"mfa1.corp.example:{DEFAULT_PORT}\")"
                        ),
                    ));
                }
                a
            }
            None if !listen.ip().is_unspecified() => listen.to_string(),
            None => {
                return Err(invalid(
                    "cluster.advertise",
                    format!(
                        "missing: the HOST:PORT other nodes reach this one at (e.g. \
                         \"mfa1.corp.example:{}\"), needed because cluster.listen is {listen}",
                        listen.port()
                    ),
                ))
            }
        };
        let file = |v: Option<PathBuf>, key: &str, what: &str| {
            v.filter(|p| !p.as_os_str().is_empty()).ok_or_else(|| {
                invalid(
                    format!("cluster.{key}"),
                    format!("missing ({what}; `mfagate cluster init-ca` and `cluster issue-cert` make them)"),
                )
            })
        };
        let ack_timeout_ms = self.ack_timeout_ms.unwrap_or(250);
        if !(10..=10_000).contains(&ack_timeout_ms) {
            return Err(invalid(
                "cluster.ack_timeout_ms",
                format!("{ack_timeout_ms} is outside 10..=10000"),
            ));
        }
        let login_log_keep = self.login_log_keep.unwrap_or(1_000_000);
        if login_log_keep < 10 {
            return Err(invalid(
                "cluster.login_log_keep",
                format!("{login_log_keep} is below 10"),
            ));
        }
        Ok(ClusterConfig {
            ack_timeout_ms,
            login_log_keep,
            require_peer_ack: self.require_peer_ack,
            listen,
            advertise,
            ca_file: file(self.ca_file, "ca_file", "the cluster CA certificate, PEM")?,
            cert_file: file(self.cert_file, "cert_file", "this node's certificate, PEM")?,
            key_file: file(self.key_file, "key_file", "this node's private key, PEM")?,
        })
    }
}
