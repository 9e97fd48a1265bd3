//! `[ldap]`: listeners and their TLS, exemptions, the directory proxy.

use super::*;

pub(super) fn validate_ldap(
    l: Ldap,
    primary: &PrimaryConfig,
    warnings: &mut Vec<String>,
) -> Result<LdapConfig, ConfigError> {
    if l.listeners.is_empty() {
        return Err(invalid(
            "ldap.listeners",
            "define at least one [[ldap.listeners]] (or remove [ldap])",
        ));
    }
    let is_ad = matches!(primary, PrimaryConfig::Ad(_));
    let mut listeners: Vec<LdapListener> = Vec::new();
    for (i, r) in l.listeners.into_iter().enumerate() {
        let key = |k: &str| format!("ldap.listeners[{i}].{k}");
        let addr = r
            .address
            .ok_or_else(|| invalid(key("address"), "missing (e.g. \"0.0.0.0:636\")"))?;
        let address: SocketAddr = addr
            .parse()
            .map_err(|_| invalid(key("address"), format!("\"{addr}\" is not IP:PORT")))?;
        let name = r.name.unwrap_or_else(|| format!("ldap:{address}"));
        if name.trim().is_empty() || listeners.iter().any(|o| o.name == name) {
            return Err(invalid(key("name"), "must be non-empty and unique"));
        }
        let tls = match r.tls.as_deref() {
            Some("ldaps") => LdapTls::Ldaps,
            Some("starttls") => LdapTls::StartTls,
            Some("none") => LdapTls::None,
            Some(o) => {
                return Err(invalid(
                    key("tls"),
                    format!("\"{o}\" is not \"ldaps\", \"starttls\" or \"none\""),
                ))
            }
            None => {
                return Err(invalid(
                    key("tls"),
                    "missing: \"ldaps\", \"starttls\" or \"none\"",
                ))
            }
        };
        match tls {
            LdapTls::None => {
                if r.cert_file.is_some() || r.key_file.is_some() {
                    return Err(invalid(
                        key("cert_file"),
                        "a listener with tls = \"none\" takes no certificate",
                    ));
                }
                if !r.allow_cleartext_bind {
                    return Err(invalid(
                        key("allow_cleartext_bind"),
                        "with tls = \"none\" every bind would be refused; set \
                         allow_cleartext_bind = true (loopback tests only) or use TLS",
                    ));
                }
            }
            LdapTls::Ldaps | LdapTls::StartTls => {
                if r.cert_file.is_none() {
                    return Err(invalid(key("cert_file"), "missing (PEM certificate chain)"));
                }
                if r.key_file.is_none() {
                    return Err(invalid(key("key_file"), "missing (PEM private key)"));
                }
            }
        }
        if r.allow_cleartext_bind {
            warnings.push(format!(
                "{}: passwords and codes cross the network unencrypted on this listener",
                key("allow_cleartext_bind")
            ));
        }
        let otp_delimiter = otp_delimiter(r.otp_delimiter, &key("otp_delimiter"))?;
        let failmode = failmode(r.failmode, &key("failmode"), &name, warnings)?;
        listeners.push(LdapListener {
            name,
            address,
            tls,
            cert_file: r.cert_file,
            key_file: r.key_file,
            allow_cleartext_bind: r.allow_cleartext_bind,
            otp_delimiter,
            failmode,
        });
    }
    for (j, d) in l.exempt.dns.iter().enumerate() {
        if !d.contains('=') {
            return Err(invalid(
                format!("ldap.exempt.dns[{j}]"),
                format!("\"{d}\" is not a distinguished name"),
            ));
        }
    }
    for (j, g) in l.exempt.groups.iter().enumerate() {
        if !g.contains('=') {
            return Err(invalid(
                format!("ldap.exempt.groups[{j}]"),
                format!("\"{g}\" is not a distinguished name"),
            ));
        }
    }
    if !l.exempt.groups.is_empty() && !is_ad {
        return Err(invalid(
            "ldap.exempt.groups",
            "group rules need primary.backend = \"ad\"",
        ));
    }
    let search_as = match l.search_as.as_deref() {
        None | Some("service") => SearchAs::Service,
        Some("user") if is_ad => SearchAs::User,
        Some("user") => {
            return Err(invalid(
                "ldap.search_as",
                "\"user\" needs primary.backend = \"ad\"",
            ))
        }
        Some(o) => {
            return Err(invalid(
                "ldap.search_as",
                format!("\"{o}\" is not \"service\" or \"user\""),
            ))
        }
    };
    Ok(LdapConfig {
        listeners,
        exempt_dns: l.exempt.dns,
        exempt_groups: l.exempt.groups,
        bind_cache_secs: in_range(
            "ldap.bind_cache_secs",
            l.bind_cache_secs.unwrap_or(0),
            0,
            3600,
        )?,
        search_as,
        max_message_bytes: in_range(
            "ldap.max_message_bytes",
            l.max_message_bytes.unwrap_or(256 * 1024),
            1024,
            16 * 1024 * 1024,
        )?,
        idle_timeout_secs: in_range(
            "ldap.idle_timeout_secs",
            l.idle_timeout_secs.unwrap_or(300),
            1,
            86_400,
        )?,
        max_connections: in_range(
            "ldap.max_connections",
            l.max_connections.unwrap_or(4096),
            1,
            1_000_000,
        )?,
        max_connections_per_ip: in_range(
            "ldap.max_connections_per_ip",
            l.max_connections_per_ip.unwrap_or(256),
            1,
            1_000_000,
        )?,
        max_filter_depth: in_range(
            "ldap.max_filter_depth",
            l.max_filter_depth.unwrap_or(32),
            2,
            1000,
        )?,
    })
}
