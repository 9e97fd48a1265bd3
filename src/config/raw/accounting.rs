//! The accounting keys of `[radius]` (`accounting_listen`, `accounting_upstream`) and of
//! `[[radius.clients]]` (`accounting_message_authenticator`), apart from `radius.rs` so the
//! authentication settings and these change independently.

use super::*;
use crate::radius::codec::AccountingResponseMa;

/// `accounting_message_authenticator` of a client: which convention its Accounting-Responses'
/// Message-Authenticator follows (see [`AccountingResponseMa`]), or none.
pub(super) fn accounting_ma(
    word: Option<&str>,
    key: &str,
) -> Result<Option<AccountingResponseMa>, ConfigError> {
    match word {
        None | Some("zeroed") => Ok(Some(AccountingResponseMa::Zeroed)),
        Some("request-authenticator") => Ok(Some(AccountingResponseMa::RequestAuthenticator)),
        Some("none") => Ok(None),
        Some(o) => Err(invalid(
            key,
            format!("\"{o}\" is not \"zeroed\", \"request-authenticator\" or \"none\""),
        )),
    }
}

/// `radius.accounting_listen` and `radius.accounting_upstream`.
pub(super) fn validate_accounting(
    listen_text: &[String],
    upstream: Option<String>,
    auth_listen: &[SocketAddr],
    upstreams: &[&str],
) -> Result<(Vec<SocketAddr>, Option<String>), ConfigError> {
    let mut listen = Vec::new();
    for (i, l) in listen_text.iter().enumerate() {
        let key = format!("radius.accounting_listen[{i}]");
        let a: SocketAddr = l.parse().map_err(|_| {
            invalid(
                &key,
                format!("\"{l}\" is not IP:PORT (e.g. \"0.0.0.0:1813\")"),
            )
        })?;
        // Port 0 (tests) binds a fresh port each time, so only fixed ports can collide.
        if a.port() != 0 && (auth_listen.contains(&a) || listen.contains(&a)) {
            return Err(invalid(&key, format!("{a} is already a RADIUS listener")));
        }
        listen.push(a);
    }
    let upstream =
        match upstream {
            None => None,
            Some(u) if !upstreams.contains(&u.as_str()) => {
                return Err(invalid(
                    "radius.accounting_upstream",
                    format!("no [[upstream]] is named \"{u}\""),
                ))
            }
            Some(_) if listen.is_empty() => return Err(invalid(
                "radius.accounting_upstream",
                "set radius.accounting_listen too: without an accounting port nothing is forwarded",
            )),
            Some(u) => Some(u),
        };
    Ok((listen, upstream))
}

/// Accounting-Requests go to the accounting port (1813); an accounting group whose servers
/// are on an authentication port gets every record dropped there, so the NAS is never
/// answered. Likely a copy of the authentication group's addresses: say so at start.
pub(super) fn warn_accounting_ports(
    radius: Option<&RadiusConfig>,
    upstreams: &[UpstreamConfig],
    warnings: &mut Vec<String>,
) {
    let Some(name) = radius.and_then(|r| r.accounting_upstream.as_deref()) else {
        return;
    };
    for u in upstreams.iter().filter(|u| u.name == name) {
        for (j, s) in u.servers.iter().enumerate() {
            if matches!(s.address.port(), 1812 | 1645) {
                warnings.push(format!(
                    "upstream \"{name}\" servers[{j}].address ({}): radius.accounting_upstream \
                     sends Accounting-Requests there, but {} is an authentication port; \
                     accounting is usually on 1813 (use a group of its own)",
                    s.address,
                    s.address.port()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(radius_extra: &str, client_extra: &str, tail: &str) -> Result<Config, String> {
        let text = format!(
            "node_name = \"a\"\ndata_dir = \"./data\"\n[radius]\nlisten = [\"127.0.0.1:1812\"]\n\
             {radius_extra}\n[[radius.clients]]\nname = \"vpn\"\naddress = \"10.0.0.1\"\n\
             secret = \"an-example-secret-of-32-characters\"\n{client_extra}\n\
             [primary]\nbackend = \"local\"\n{tail}"
        );
        Config::from_toml(&text, Path::new("x.toml")).map_err(|e| e.to_string())
    }

    const GROUP: &str = "[[upstream]]\nname = \"acct\"\n[[upstream.servers]]\n\
                         address = \"10.0.0.9:1813\"\nsecret = \"an-upstream-secret-of-32-chars\"\n";

    #[test]
    fn accounting_keys_default_to_no_port_and_a_zeroed_ma() {
        let c = config("", "", "").unwrap();
        let r = c.radius.unwrap();
        assert!(r.accounting_listen.is_empty() && r.accounting_upstream.is_none());
        assert_eq!(
            r.clients[0].accounting_message_authenticator,
            Some(AccountingResponseMa::Zeroed)
        );
        let c = config(
            "accounting_listen = [\"127.0.0.1:1813\"]\naccounting_upstream = \"acct\"",
            "accounting_message_authenticator = \"none\"",
            GROUP,
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let r = c.radius.unwrap();
        assert_eq!(r.accounting_listen, vec!["127.0.0.1:1813".parse().unwrap()]);
        assert_eq!(r.accounting_upstream.as_deref(), Some("acct"));
        assert_eq!(r.clients[0].accounting_message_authenticator, None);
    }

    #[test]
    fn accounting_mistakes_name_the_key() {
        let cases = [
            (
                "accounting_listen = [\"x\"]",
                "",
                "",
                "radius.accounting_listen[0]: \"x\" is not IP:PORT",
            ),
            (
                "accounting_listen = [\"127.0.0.1:1812\"]",
                "",
                "",
                "radius.accounting_listen[0]: 127.0.0.1:1812 is already a RADIUS listener",
            ),
            (
                "accounting_listen = [\"127.0.0.1:1813\"]\naccounting_upstream = \"nope\"",
                "",
                GROUP,
                "radius.accounting_upstream: no [[upstream]] is named \"nope\"",
            ),
            (
                "accounting_upstream = \"acct\"",
                "",
                GROUP,
                "radius.accounting_upstream: set radius.accounting_listen too",
            ),
            (
                "",
                "accounting_message_authenticator = true",
                "",
                "accounting_message_authenticator",
            ),
            (
                "",
                "accounting_message_authenticator = \"request\"",
                "",
                "radius.clients[0].accounting_message_authenticator: \"request\" is not",
            ),
        ];
        for (radius, client, tail, want) in cases {
            let e = config(radius, client, tail).err().unwrap_or_default();
            assert!(e.contains(want), "{radius} {client}: {e}");
        }
    }

    #[test]
    fn an_accounting_group_on_an_authentication_port_is_warned_about() {
        let group = GROUP.replace(":1813", ":1812");
        let c = config(
            "accounting_listen = [\"127.0.0.1:1813\"]\naccounting_upstream = \"acct\"",
            "",
            &group,
        )
        .unwrap();
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("servers[0].address") && w.contains("authentication port")),
            "{:?}",
            c.warnings
        );
    }
}
