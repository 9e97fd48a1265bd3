//! `[[upstream]]`: groups of upstream RADIUS servers (NPS, FreeRADIUS) that check what
//! mfagate cannot (CHAP, MS-CHAPv2, EAP, an RD Gateway's authorization) or that own the
//! passwords. `[primary] backend = "radius"` names one; a RADIUS client may name its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::raw::in_range;
use super::raw::secret_source;
use super::{invalid, ConfigError, SecretSource};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpstreamRaw {
    name: Option<String>,
    #[serde(default)]
    servers: Vec<UpstreamServerRaw>,
    timeout_secs: Option<u64>,
    retries: Option<u32>,
    require_message_authenticator: Option<bool>,
    health_check: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamServerRaw {
    address: Option<String>,
    secret: Option<String>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
}

/// How a server that stopped answering is found to be back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthCheck {
    /// Status-Server (RFC 5997) when its hold-down ends: FreeRADIUS answers it.
    StatusServer,
    /// None: the server gets requests again when its hold-down ends. For NPS, which does not
    /// answer Status-Server.
    None,
}

#[derive(Debug, Clone)]
pub struct UpstreamServer {
    pub address: SocketAddr,
    pub secret: SecretSource,
}

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub name: String,
    /// Tried in order; a server that does not answer is skipped for a while.
    pub servers: Vec<UpstreamServer>,
    /// How long one send waits for the answer.
    pub timeout_ms: u64,
    /// Sends to one server after the first (same Identifier and authenticator), before the
    /// next server is tried.
    pub retries: u32,
    pub require_message_authenticator: bool,
    pub health_check: HealthCheck,
}

impl UpstreamRaw {
    pub(super) fn validate(
        self,
        i: usize,
        warnings: &mut Vec<String>,
    ) -> Result<UpstreamConfig, ConfigError> {
        let key = |k: &str| format!("upstream[{i}].{k}");
        let name = self.name.ok_or_else(|| invalid(key("name"), "missing"))?;
        if name.is_empty() || name == "default" {
            return Err(invalid(
                key("name"),
                "must be non-empty and not \"default\"",
            ));
        }
        if self.servers.is_empty() {
            return Err(invalid(
                key("servers"),
                "list at least one [[upstream.servers]]",
            ));
        }
        let mut servers = Vec::new();
        for (j, s) in self.servers.into_iter().enumerate() {
            let skey = |k: &str| format!("upstream[{i}].servers[{j}].{k}");
            let text = s
                .address
                .ok_or_else(|| invalid(skey("address"), "missing (IP:PORT)"))?;
            let address: SocketAddr = text.parse().map_err(|_| {
                invalid(
                    skey("address"),
                    format!("\"{text}\" is not IP:PORT (e.g. \"10.0.0.5:1812\")"),
                )
            })?;
            if servers
                .iter()
                .any(|o: &UpstreamServer| o.address == address)
            {
                return Err(invalid(
                    skey("address"),
                    format!("{address} is listed twice"),
                ));
            }
            let secret = secret_source(
                s.secret,
                s.secret_file,
                s.secret_env,
                false,
                &skey,
                warnings,
            )?;
            servers.push(UpstreamServer { address, secret });
        }
        let require_ma = self.require_message_authenticator.unwrap_or(true);
        if !require_ma {
            warnings.push(format!(
                "{} (upstream \"{name}\"): false accepts replies without Message-Authenticator, \
                 which BlastRADIUS (CVE-2024-3596) forges",
                key("require_message_authenticator")
            ));
        }
        let health_check = match self.health_check.as_deref() {
            None | Some("status-server") => HealthCheck::StatusServer,
            Some("none") => HealthCheck::None,
            Some(o) => {
                return Err(invalid(
                    key("health_check"),
                    format!("\"{o}\" is not \"status-server\" or \"none\""),
                ))
            }
        };
        Ok(UpstreamConfig {
            name,
            servers,
            timeout_ms: in_range(&key("timeout_secs"), self.timeout_secs.unwrap_or(5), 1, 120)?
                * 1000,
            retries: in_range(&key("retries"), self.retries.unwrap_or(1), 0, 10)?,
            require_message_authenticator: require_ma,
            health_check,
        })
    }
}
