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
    request_allow: Option<Vec<String>>,
    request_deny: Option<Vec<String>>,
    reply_allow: Option<Vec<String>>,
    reply_deny: Option<Vec<String>>,
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

/// Which attributes pass between the NAS and the upstream, by the administrator's list.
/// Attributes the exchange itself needs (the user name and credential, EAP-Message, State,
/// MS-CHAP2-Success, MS-CHAP-Error) always pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AttrFilter {
    #[default]
    All,
    Only(Vec<(u32, u8)>),
    Except(Vec<(u32, u8)>),
}

impl AttrFilter {
    pub fn passes(&self, vendor: u32, code: u8) -> bool {
        // "Vendor-Specific" (0, 26) in a list stands for every vendor attribute.
        let listed = |l: &[(u32, u8)]| {
            l.iter()
                .any(|&(v, c)| (v, c) == (vendor, code) || (vendor != 0 && (v, c) == (0, 26)))
        };
        match self {
            AttrFilter::All => true,
            AttrFilter::Only(l) => listed(l),
            AttrFilter::Except(l) => !listed(l),
        }
    }

    fn parse(
        allow: Option<Vec<String>>,
        deny: Option<Vec<String>>,
        key: &dyn Fn(&str) -> String,
        which: &str,
    ) -> Result<Self, ConfigError> {
        let names = |list: Vec<String>, k: &str| -> Result<Vec<(u32, u8)>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(i, n)| {
                    crate::radius::dictionary::lookup(n)
                        .map(|d| (d.vendor, d.code))
                        .ok_or_else(|| {
                            invalid(
                                format!("{}[{i}]", key(k)),
                                format!("\"{n}\" is not an attribute of the built-in dictionary"),
                            )
                        })
                })
                .collect()
        };
        match (allow, deny) {
            (Some(_), Some(_)) => Err(invalid(
                key(&format!("{which}_allow")),
                format!("set {which}_allow or {which}_deny, not both"),
            )),
            (Some(a), None) => Ok(AttrFilter::Only(names(a, &format!("{which}_allow"))?)),
            (None, Some(d)) => Ok(AttrFilter::Except(names(d, &format!("{which}_deny"))?)),
            (None, None) => Ok(AttrFilter::All),
        }
    }
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
    /// What of the NAS's request goes upstream.
    pub request_filter: AttrFilter,
    /// What of the upstream's reply reaches the NAS.
    pub reply_filter: AttrFilter,
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
        let request_filter =
            AttrFilter::parse(self.request_allow, self.request_deny, &key, "request")?;
        let reply_filter = AttrFilter::parse(self.reply_allow, self.reply_deny, &key, "reply")?;
        Ok(UpstreamConfig {
            request_filter,
            reply_filter,
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

#[cfg(test)]
mod tests {
    use crate::config::{ClientCredentials, Config, PrimaryConfig};
    use std::path::Path;

    const BASE: &str = "node_name = \"a\"\ndata_dir = \"/tmp/x\"\n[radius]\nlisten = [\"127.0.0.1:1812\"]\n\
        [[radius.clients]]\nname = \"vpn\"\naddress = \"10.0.0.1\"\nsecret = \"client-secret-0123456789\"\n";
    const UPSTREAM: &str =
        "[[upstream]]\nname = \"nps\"\n[[upstream.servers]]\naddress = \"10.0.0.9:1812\"\n\
        secret = \"upstream-secret-012345\"\n";

    fn load(text: &str) -> Result<Config, String> {
        Config::from_toml(text, Path::new("t.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn upstream_groups_clients_and_replies_are_validated() {
        let ok = load(&format!(
            "{BASE}credentials = \"none\"\nprimary = \"nps\"\n[primary]\nbackend = \"local\"\n{UPSTREAM}\
             [[reply]]\nname = \"r\"\nattributes = {{ Filter-Id = \"x\", \"Tunnel-Type:1\" = \"VLAN\" }}\n"
        ))
        .unwrap();
        let c = &ok.radius.as_ref().unwrap().clients[0];
        assert_eq!(
            (c.primary.as_deref(), c.credentials),
            (Some("nps"), ClientCredentials::None)
        );
        assert_eq!(ok.upstreams[0].timeout_ms, 5000);
        assert_eq!(ok.replies[0].attributes.len(), 2);
        // Tunnel-Type:1 = VLAN (13): the tag in the first octet of the integer.
        assert_eq!(ok.replies[0].attributes[1].value, [1, 0, 0, 13]);
        let radius = load(&format!(
            "{BASE}[primary]\nbackend = \"radius\"\nupstream = \"nps\"\n{UPSTREAM}"
        ))
        .unwrap();
        assert!(matches!(radius.primary, PrimaryConfig::Radius(ref n) if n == "nps"));

        for (text, key) in [
            (format!("{BASE}[primary]\nbackend = \"radius\"\nupstream = \"nope\"\n{UPSTREAM}"), "primary.upstream"),
            (format!("{BASE}primary = \"nope\"\n[primary]\nbackend = \"local\"\n{UPSTREAM}"), "radius.clients[0].primary"),
            (format!("{BASE}credentials = \"none\"\npush_mode = \"challenge\"\n[primary]\nbackend = \"local\"\n"), "radius.clients[0].push_mode"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[upstream]]\nname = \"nps\"\n"), "upstream[0].servers"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n{UPSTREAM}{UPSTREAM}"), "upstream[1].name"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[upstream]]\nname = \"nps\"\nhealth_check = \"ping\"\n[[upstream.servers]]\naddress = \"10.0.0.9:1812\"\nsecret = \"upstream-secret-012345\"\n"), "upstream[0].health_check"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[upstream]]\nname = \"nps\"\n[[upstream.servers]]\naddress = \"10.0.0.9\"\nsecret = \"upstream-secret-012345\"\n"), "upstream[0].servers[0].address"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[reply]]\nname = \"r\"\nattributes = {{ Filter-Idd = \"x\" }}\n"), "reply[0].attributes.Filter-Idd"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[reply]]\nname = \"r\"\ngroups = [\"CN=g,DC=x\"]\nattributes = {{ Filter-Id = \"x\" }}\n"), "reply[0].groups"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[reply]]\nname = \"r\"\nclients = [\"asa\"]\nattributes = {{ Filter-Id = \"x\" }}\n"), "reply[0].clients[0]"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[reply]]\nname = \"r\"\nattributes = {{ Tunnel-Password = \"x\" }}\n"), "reply[0].attributes.Tunnel-Password"),
            (format!("{BASE}[primary]\nbackend = \"local\"\n[[reply]]\nname = \"r\"\nattributes = {{ Session-Timeout = \"soon\" }}\n"), "reply[0].attributes.Session-Timeout"),
        ] {
            let e = load(&text).err().unwrap_or_default();
            assert!(e.contains(key), "{key}: {e}");
        }
        let e = load(&format!("{BASE}[primary]\nbackend = \"local\"\n[[reply]]\nname = \"r\"\nattributes = {{ Filter-Idd = \"x\" }}\n")).err().unwrap_or_default();
        assert!(e.contains("Filter-Id"), "suggests the known name: {e}");
        let f = load(&format!(
            "{BASE}[primary]\nbackend = \"local\"\n[[upstream]]\nname = \"nps\"\nrequest_deny = [\"Calling-Station-Id\"]\n\
             reply_allow = [\"Class\", \"Vendor-Specific\"]\n[[upstream.servers]]\naddress = \"10.0.0.9:1812\"\nsecret = \"upstream-secret-012345\"\n"
        ))
        .unwrap();
        let u = &f.upstreams[0];
        assert!(!u.request_filter.passes(0, 31) && u.request_filter.passes(0, 4));
        assert!(
            u.reply_filter.passes(0, 25)
                && u.reply_filter.passes(9, 1)
                && !u.reply_filter.passes(0, 11)
        );
        let e = load(&format!(
            "{BASE}[primary]\nbackend = \"local\"\n[[upstream]]\nname = \"nps\"\nreply_allow = [\"Class\"]\nreply_deny = [\"Class\"]\n\
             [[upstream.servers]]\naddress = \"10.0.0.9:1812\"\nsecret = \"upstream-secret-012345\"\n"
        ))
        .err()
        .unwrap_or_default();
        assert!(e.contains("reply_allow"), "{e}");
        let warned = load(&format!("{BASE}require_message_authenticator = false\ncredentials = \"none\"\n[primary]\nbackend = \"local\"\n")).unwrap();
        assert!(
            warned
                .warnings
                .iter()
                .any(|w| w.contains("credentials = \"none\"")),
            "{:?}",
            warned.warnings
        );
    }
}
