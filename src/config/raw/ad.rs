//! `[primary.ad]`: the directory's URLs, TLS, bind account and search settings.

use super::*;

pub(super) fn validate_ad(a: Ad) -> Result<AdConfig, ConfigError> {
    if a.urls.is_empty() {
        return Err(invalid(
            "primary.ad.urls",
            "list at least one domain controller (e.g. [\"ldaps://dc1.corp.example:636\"])",
        ));
    }
    for (i, u) in a.urls.iter().enumerate() {
        let key = format!("primary.ad.urls[{i}]");
        match (u.split_once("://").map(|(s, _)| s), a.starttls) {
            (Some("ldaps"), false) | (Some("ldap"), true) => {}
            (Some("ldaps"), true) => {
                return Err(invalid(
                    key,
                    "an ldaps:// URL is already TLS; set starttls = false or use ldap://",
                ))
            }
            (Some("ldap"), false) => return Err(invalid(
                key,
                "ldap:// would send passwords in clear text: use ldaps:// or set starttls = true",
            )),
            _ => {
                return Err(invalid(
                    key,
                    format!("\"{u}\" is not an ldap:// or ldaps:// URL"),
                ))
            }
        }
    }
    let ca_file = a.ca_file.ok_or_else(|| {
        invalid(
            "primary.ad.ca_file",
            "missing: the PEM file of the CA that issued the domain controllers' certificates \
             (certificates are always verified)",
        )
    })?;
    crate::primary::ad::load_roots(&ca_file)
        .map_err(|e| invalid("primary.ad.ca_file", e.to_string()))?;
    let base_dn = a.base_dn.filter(|b| !b.trim().is_empty()).ok_or_else(|| {
        invalid(
            "primary.ad.base_dn",
            "missing (e.g. \"DC=corp,DC=example\")",
        )
    })?;
    let bind_dn = a.bind_dn.filter(|b| !b.trim().is_empty()).ok_or_else(|| {
        invalid(
            "primary.ad.bind_dn",
            "missing: the service account that searches for users",
        )
    })?;
    let bind_password = match (a.bind_password_file, a.bind_password_env) {
        (Some(path), None) => {
            let text = std::fs::read(&path).map_err(|e| {
                invalid(
                    "primary.ad.bind_password_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            String::from_utf8(trim_newline(&text).to_vec())
                .map_err(|_| invalid("primary.ad.bind_password_file", "not UTF-8"))?
        }
        (None, Some(var)) => std::env::var(&var).map_err(|_| {
            invalid(
                "primary.ad.bind_password_env",
                format!("environment variable {var} is not set"),
            )
        })?,
        _ => {
            return Err(invalid(
                "primary.ad.bind_password_file",
                "set exactly one of bind_password_file, bind_password_env",
            ))
        }
    };
    if bind_password.is_empty() {
        return Err(invalid(
            "primary.ad.bind_password_file",
            "the password is empty",
        ));
    }
    let upn_suffixes: Vec<String> = a
        .upn_suffixes
        .iter()
        .map(|s| s.trim().to_lowercase())
        .collect();
    if let Some(i) = upn_suffixes
        .iter()
        .position(|s| s.is_empty() || s.contains('@'))
    {
        return Err(invalid(
            format!("primary.ad.upn_suffixes[{i}]"),
            "a DNS suffix such as \"corp.example\"",
        ));
    }
    Ok(AdConfig {
        urls: a.urls,
        ca_file,
        starttls: a.starttls,
        base_dn,
        bind_dn,
        bind_password: Secret::new(bind_password),
        netbios_domain: a
            .netbios_domain
            .map(|d| d.trim().to_uppercase())
            .filter(|d| !d.is_empty()),
        upn_suffixes,
        timeout_secs: in_range(
            "primary.ad.timeout_secs",
            a.timeout_secs.unwrap_or(10),
            1,
            120,
        )?,
        pool_size: in_range("primary.ad.pool_size", a.pool_size.unwrap_or(4), 1, 64)?,
        user_filter: a
            .user_filter
            .unwrap_or_else(|| "(&(objectCategory=person)(objectClass=user))".into()),
    })
}
