//! `[portal]`: the self-service enrolment portal's HTTPS listener, the address users reach it
//! at (`public_url`, used in invitation links), which methods users may enrol themselves,
//! and how long invitations and sessions last. The portal takes passwords, so it never
//! listens in plain text on a reachable address: `tls = "none"` is for a reverse proxy on the
//! same host, and only on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{invalid, ConfigError, Method};
use crate::timefmt::parse_duration_ms;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortalRaw {
    listen: Option<String>,
    public_url: Option<String>,
    tls: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    methods: Option<Vec<String>>,
    #[serde(default)]
    require_invitation: bool,
    invitation_valid: Option<String>,
    idle_timeout: Option<String>,
    helpdesk: Option<String>,
    max_connections: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalTls {
    /// The portal's own certificate chain and key (PEM).
    Files {
        cert_file: PathBuf,
        key_file: PathBuf,
    },
    /// Plain HTTP on loopback, behind a reverse proxy that terminates TLS.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalConfig {
    pub listen: SocketAddr,
    /// The portal's address as users reach it (`https://mfa.example.com`), without a
    /// trailing slash: invitation links start with it.
    pub public_url: String,
    pub tls: PortalTls,
    /// The methods users may enrol themselves (`totp`, `sms`).
    pub methods: Vec<Method>,
    /// Every sign-in needs the invitation link, also for users who already have a factor.
    pub require_invitation: bool,
    pub invitation_valid_ms: u64,
    pub idle_timeout_ms: u64,
    /// Who to call, shown after "this wasn't me" (e.g. "the IT helpdesk, +46 8 123 45 67").
    pub helpdesk: Option<String>,
    pub max_connections: usize,
}

pub const DEFAULT_PORT: u16 = 8443;
const DEFAULT_INVITATION_MS: u64 = 72 * 3_600_000;
const DEFAULT_IDLE_MS: u64 = 15 * 60_000;

impl PortalRaw {
    pub(super) fn validate(self, warnings: &mut Vec<String>) -> Result<PortalConfig, ConfigError> {
        let listen = match self.listen.as_deref() {
            None => SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            Some(s) => s.parse().map_err(|_| {
                invalid(
                    "portal.listen",
                    format!("\"{s}\" is not an IP:PORT (e.g. \"0.0.0.0:{DEFAULT_PORT}\")"),
                )
            })?,
        };
        let public_url =
            match self.public_url {
                Some(u) => u.trim_end_matches('/').to_owned(),
                None => return Err(invalid(
                    "portal.public_url",
                    "missing (e.g. \"https://mfa.example.com\"): invitation links start with it",
                )),
            };
        let host_ok = public_url
            .strip_prefix("https://")
            .or_else(|| public_url.strip_prefix("http://"))
            .is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.contains(['"', '<', '>', ' ', '\'', '\\'])
                    && !rest.chars().any(char::is_control)
            });
        if !host_ok {
            return Err(invalid(
                "portal.public_url",
                format!("\"{public_url}\" is not an https:// address"),
            ));
        }
        if public_url.starts_with("http://") {
            warnings.push(format!(
                "portal.public_url: {public_url} is plain http; invitation links and passwords \
                 would cross the network unencrypted unless a proxy redirects them"
            ));
        }
        let tls = match self.tls.as_deref().unwrap_or("files") {
            "files" => match (self.cert_file, self.key_file) {
                (Some(cert_file), Some(key_file)) => PortalTls::Files {
                    cert_file,
                    key_file,
                },
                (None, _) => {
                    return Err(invalid(
                        "portal.cert_file",
                        "missing (PEM certificate chain); or tls = \"none\" behind a reverse \
                         proxy on loopback",
                    ))
                }
                (_, None) => return Err(invalid("portal.key_file", "missing (PEM private key)")),
            },
            "none" => {
                if !listen.ip().is_loopback() {
                    return Err(invalid(
                        "portal.tls",
                        format!(
                            "tls = \"none\" on {listen}: the portal takes passwords, so plain \
                             HTTP is only allowed on a loopback address behind a reverse proxy"
                        ),
                    ));
                }
                if self.cert_file.is_some() || self.key_file.is_some() {
                    return Err(invalid(
                        "portal.cert_file",
                        "tls = \"none\" takes no certificate",
                    ));
                }
                warnings.push(format!(
                    "portal.tls: \"none\" — plain HTTP on {listen}; the reverse proxy in front \
                     must terminate TLS"
                ));
                PortalTls::None
            }
            other => {
                return Err(invalid(
                    "portal.tls",
                    format!("\"{other}\" is not \"files\" or \"none\""),
                ))
            }
        };
        let mut methods = Vec::new();
        for m in self.methods.unwrap_or_else(|| vec!["totp".into()]) {
            match Method::parse(&m) {
                Some(x @ (Method::Totp | Method::Sms)) if !methods.contains(&x) => methods.push(x),
                Some(Method::Totp | Method::Sms) => {}
                _ => {
                    return Err(invalid(
                        "portal.methods",
                        format!("\"{m}\": users can enrol \"totp\" and \"sms\" themselves"),
                    ))
                }
            }
        }
        let duration = |key: &str, v: Option<String>, default: u64, min: u64, max: u64| {
            let Some(s) = v else { return Ok(default) };
            match parse_duration_ms(&s) {
                Some(ms) if (min..=max).contains(&ms) => Ok(ms),
                _ => Err(invalid(
                    key,
                    format!(
                        "\"{s}\" is not a duration from {}s to {}h (e.g. \"15m\")",
                        min / 1000,
                        max / 3_600_000
                    ),
                )),
            }
        };
        let invitation_valid_ms = duration(
            "portal.invitation_valid",
            self.invitation_valid,
            DEFAULT_INVITATION_MS,
            60_000,
            30 * 24 * 3_600_000,
        )?;
        let idle_timeout_ms = duration(
            "portal.idle_timeout",
            self.idle_timeout,
            DEFAULT_IDLE_MS,
            1_000,
            12 * 3_600_000,
        )?;
        let max_connections = self.max_connections.unwrap_or(256);
        if !(1..=65_536).contains(&max_connections) {
            return Err(invalid("portal.max_connections", "must be 1 to 65536"));
        }
        if let Some(h) = &self.helpdesk {
            if h.len() > 200 || h.chars().any(char::is_control) {
                return Err(invalid(
                    "portal.helpdesk",
                    "at most 200 characters, on one line",
                ));
            }
        }
        Ok(PortalConfig {
            listen,
            public_url,
            tls,
            methods,
            require_invitation: self.require_invitation,
            invitation_valid_ms,
            idle_timeout_ms,
            helpdesk: self.helpdesk,
            max_connections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(PortalConfig, Vec<String>), String> {
        let raw: PortalRaw = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut w = Vec::new();
        raw.validate(&mut w)
            .map(|c| (c, w))
            .map_err(|e| e.to_string())
    }

    const FILES: &str =
        "public_url = \"https://mfa.example.com/\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";

    #[test]
    fn defaults_and_plain_http_only_on_loopback() {
        let (c, w) = parse(FILES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.public_url, "https://mfa.example.com");
        assert_eq!(c.listen.port(), DEFAULT_PORT);
        assert_eq!(c.methods, vec![Method::Totp]);
        assert_eq!(c.invitation_valid_ms, 72 * 3_600_000);
        assert_eq!(c.idle_timeout_ms, 15 * 60_000);
        assert!(w.is_empty(), "{w:?}");
        let e = parse("public_url = \"https://x\"\ntls = \"none\"\n").err();
        assert!(
            e.is_some_and(|e| e.contains("portal.tls")),
            "0.0.0.0 without TLS is refused"
        );
        let (c, w) =
            parse("public_url = \"https://x\"\ntls = \"none\"\nlisten = \"127.0.0.1:8080\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.tls, PortalTls::None);
        assert!(w.iter().any(|w| w.starts_with("portal.tls")), "{w:?}");
        let e = parse("public_url = \"https://x\"\n").err();
        assert!(e.is_some_and(|e| e.contains("portal.cert_file")));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (extra, key) in [
            ("methods = [\"push\"]\n", "portal.methods"),
            ("idle_timeout = \"15x\"\n", "portal.idle_timeout"),
            ("invitation_valid = \"1s\"\n", "portal.invitation_valid"),
            ("helpdesk = \"a\\nb\"\n", "portal.helpdesk"),
            ("listen = \"nowhere\"\n", "portal.listen"),
        ] {
            let e = parse(&format!("{FILES}{extra}")).err();
            assert!(
                e.as_ref().is_some_and(|e| e.contains(key)),
                "{extra}: {e:?}"
            );
        }
        let e = parse("public_url = \"ftp://x\"\ncert_file = \"c\"\nkey_file = \"k\"\n").err();
        assert!(e.is_some_and(|e| e.contains("portal.public_url")));
        let e =
            parse("public_url = \"https://x\\\"><script>\"\ncert_file = \"c\"\nkey_file = \"k\"\n")
                .err();
        assert!(e.is_some_and(|e| e.contains("portal.public_url")));
        assert!(parse(&format!("{FILES}methdos = []\n")).is_err());
    }
}
