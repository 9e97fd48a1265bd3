//! Live reload (SIGHUP, `systemctl reload`): what a new config may change in a running
//! daemon, and what only a restart can.
//!
//! The file is read with [`Config::load`], the very validation `check-config` runs, so a
//! refused reload says what `check-config` would say, and the running config stays. What is
//! bound or built once at start — sockets, the data directory and its store, the node's
//! identity, the cluster, TLS acceptors, the front-ends' own limits, the log format — keeps its
//! running value: [`effective`] puts those back into the new config and names each one, so
//! the pipeline built from the result never disagrees with the sockets it serves. Everything
//! else (clients and secrets, policies, providers, primaries, upstream groups, replies, LDAP
//! exemptions, sync items, the log level) takes effect for requests that start afterwards.

use crate::config::{Config, ConfigError};

/// What a reload that was applied reports.
#[derive(Debug, Default, Clone)]
pub struct Reloaded {
    /// The keys that differ in the file but keep their running value until a restart.
    pub restart_needed: Vec<String>,
    /// The new config's own warnings (as `check-config` prints them).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file does not load or validate: the running config stays.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// It validates but cannot be put to use (a secret file, a provider): nothing changed.
    #[error("{0}")]
    Apply(String),
}

fn differs<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
    // Debug output compares the fields that matter here; secrets print redacted, and no
    // restart-only field is a secret alone.
    format!("{a:?}") != format!("{b:?}")
}

/// `new` with every restart-only field set back to `old`'s value, and the keys that differed.
pub fn effective(old: &Config, mut new: Config) -> (Config, Vec<String>) {
    let mut names = Vec::new();
    macro_rules! keep {
        ($key:expr, $old:expr, $new:expr) => {
            if differs(&$old, &$new) {
                names.push($key.to_owned());
                $new = $old.clone();
            }
        };
    }
    keep!("node_name", old.node_name, new.node_name);
    keep!("data_dir", old.data_dir, new.data_dir);
    keep!("log.format", old.log.format, new.log.format);
    keep!("cluster", old.cluster, new.cluster);
    keep!("admin", old.admin, new.admin);
    keep!("metrics", old.metrics, new.metrics);
    match (&old.portal, &mut new.portal) {
        (Some(o), Some(n)) => {
            keep!("portal.listen", o.listen, n.listen);
            keep!("portal.tls", o.tls, n.tls);
            keep!(
                "portal.max_connections",
                o.max_connections,
                n.max_connections
            );
        }
        _ => keep!("portal", old.portal, new.portal),
    }
    match (&old.radius, &mut new.radius) {
        (Some(o), Some(n)) => {
            keep!("radius.listen", o.listen, n.listen);
            keep!(
                "radius.accounting_listen",
                o.accounting_listen,
                n.accounting_listen
            );
            keep!(
                "radius.accounting_upstream",
                o.accounting_upstream,
                n.accounting_upstream
            );
            keep!("radius.max_in_flight", o.max_in_flight, n.max_in_flight);
            keep!(
                "radius.reply_cache_secs",
                o.reply_cache_secs,
                n.reply_cache_secs
            );
            keep!(
                "radius.reply_cache_max_entries",
                o.reply_cache_max_entries,
                n.reply_cache_max_entries
            );
        }
        (None, None) => {}
        _ => keep!("[radius]", old.radius, new.radius),
    }
    match (&old.ldap, &mut new.ldap) {
        (Some(o), Some(n)) => {
            keep!("ldap.listeners", o.listeners, n.listeners);
            keep!("ldap.search_as", o.search_as, n.search_as);
            keep!(
                "ldap.max_message_bytes",
                o.max_message_bytes,
                n.max_message_bytes
            );
            keep!(
                "ldap.idle_timeout_secs",
                o.idle_timeout_secs,
                n.idle_timeout_secs
            );
            keep!("ldap.max_connections", o.max_connections, n.max_connections);
            keep!(
                "ldap.max_connections_per_ip",
                o.max_connections_per_ip,
                n.max_connections_per_ip
            );
            keep!(
                "ldap.max_filter_depth",
                o.max_filter_depth,
                n.max_filter_depth
            );
        }
        (None, None) => {}
        _ => keep!("[ldap]", old.ldap, new.ldap),
    }
    (new, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(radius_listen: &str, ldap: &str, exempt: &str) -> Config {
        let text = format!(
            "node_name = \"n\"\ndata_dir = \"/tmp/mfagate-reload-unit\"\n[radius]\nlisten = [\"{radius_listen}\"]\n\
             [[radius.clients]]\nname = \"vpn\"\naddress = \"10.0.0.1\"\nsecret = \"a-long-enough-secret-1\"\n\
             [primary]\nbackend = \"local\"\n\
             [ldap]\nexempt = {{ dns = [\"{exempt}\"] }}\n[[ldap.listeners]]\nname = \"app\"\naddress = \"{ldap}\"\n\
             tls = \"none\"\nallow_cleartext_bind = true\n"
        );
        match Config::from_toml(&text, Path::new("t.toml")) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn restart_only_keys_are_named_and_keep_their_running_value() {
        let old = cfg("127.0.0.1:1812", "127.0.0.1:389", "cn=a");
        let new = cfg("127.0.0.1:1813", "127.0.0.1:390", "cn=b");
        let (eff, names) = effective(&old, new);
        assert_eq!(names, ["radius.listen", "ldap.listeners"]);
        let (r, l) = (eff.radius.as_ref(), eff.ldap.as_ref());
        assert_eq!(r.map(|r| r.listen[0].port()), Some(1812));
        assert_eq!(l.map(|l| l.listeners[0].address.port()), Some(389));
        // What takes effect on a reload does.
        assert_eq!(
            l.map(|l| l.exempt_dns.clone()),
            Some(vec!["cn=b".to_owned()])
        );
        let (_, names) = effective(&old, old.clone());
        assert!(names.is_empty(), "{names:?}");
    }
}
