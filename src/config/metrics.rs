//! `[metrics]`: where `/metrics` (Prometheus), `/healthz` and `/readyz` are served over
//! HTTP. The section is optional; without it nothing listens. Loopback is the default because
//! the figures name RADIUS clients, LDAP listeners and servers: anything wider draws a
//! warning (user names never appear in them).

use std::net::SocketAddr;

use serde::Deserialize;

use super::{invalid, ConfigError};

/// The port when `listen` is not given (unassigned by IANA; next to the exporters' range).
pub const DEFAULT_PORT: u16 = 9812;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetricsRaw {
    listen: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
}

impl MetricsRaw {
    pub(super) fn validate(self, warnings: &mut Vec<String>) -> Result<MetricsConfig, ConfigError> {
        let listen = match self.listen.as_deref() {
            None => SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            Some(s) => s.parse().map_err(|_| {
                invalid(
                    "metrics.listen",
                    format!("\"{s}\" is not an IP:PORT (e.g. \"127.0.0.1:{DEFAULT_PORT}\")"),
                )
            })?,
        };
        if !listen.ip().is_loopback() {
            warnings.push(format!(
                "metrics.listen: {listen} is not a loopback address; the figures name RADIUS \
                 clients and servers and need no password: keep the port behind a firewall"
            ));
        }
        Ok(MetricsConfig { listen })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<(MetricsConfig, Vec<String>), ConfigError> {
        let raw: MetricsRaw =
            toml::from_str(toml_text).map_err(|e| invalid("metrics", e.to_string()))?;
        let mut w = Vec::new();
        raw.validate(&mut w).map(|c| (c, w))
    }

    #[test]
    fn loopback_by_default_and_a_warning_for_anything_wider() {
        let (c, w) = parse("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.listen,
            "127.0.0.1:9812".parse().unwrap_or_else(|e| panic!("{e}"))
        );
        assert!(w.is_empty());
        let (c, w) = parse("listen = \"[::1]:9100\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen.port(), 9100);
        assert!(w.is_empty());
        let (_, w) = parse("listen = \"0.0.0.0:9812\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("metrics.listen"), "{w:?}");
        let e = parse("listen = \"localhost\"").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("metrics.listen")));
        assert!(
            parse("listne = \"127.0.0.1:1\"").is_err(),
            "unknown keys are refused"
        );
    }
}
