//! `[[sync]]` items: which part of Active Directory each imports, how its attributes map,
//! how often it runs and what it does with the users it adds.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Sync {
    name: Option<String>,
    base_dn: Option<String>,
    group: Option<String>,
    default_method: Option<String>,
    phone_attributes: Option<Vec<String>>,
    email_attribute: Option<String>,
    name_attribute: Option<String>,
    language_attribute: Option<String>,
    interval: Option<String>,
    #[serde(default)]
    directory_wins: bool,
    #[serde(default)]
    invite_new_users: bool,
    max_disable: Option<usize>,
}

pub(super) fn sync_items(
    items: Vec<Sync>,
    primary: &PrimaryConfig,
    factor: &FactorConfig,
) -> Result<Vec<SyncItem>, ConfigError> {
    let mut sync: Vec<SyncItem> = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        let key = |k: &str| format!("sync[{i}].{k}");
        let name = it
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| invalid(key("name"), "missing (e.g. name = \"people\")"))?;
        if sync.iter().any(|o| o.name == name) {
            return Err(invalid(
                key("name"),
                format!("\"{name}\" is used by another item"),
            ));
        }
        if !matches!(primary, PrimaryConfig::Ad(_)) {
            return Err(invalid(
                key("name"),
                "sync reads Active Directory: it needs primary.backend = \"ad\"",
            ));
        }
        let scope = match (it.base_dn, it.group) {
            (Some(b), None) if b.contains('=') => SyncScope::Subtree(b),
            (None, Some(g)) if g.contains('=') => SyncScope::Group(g),
            _ => {
                return Err(invalid(
                    key("base_dn"),
                    "set exactly one of base_dn (an OU) or group (a group's DN)",
                ))
            }
        };
        let default_method = match it.default_method.as_deref() {
            None => Method::Totp,
            Some(o) => Method::parse(o).ok_or_else(|| {
                invalid(
                    key("default_method"),
                    format!(
                        "\"{o}\" is not \"totp\", \"sms\", \"push\", \"phone\" or \"privacyidea\""
                    ),
                )
            })?,
        };
        if let Some(m) = default_method_without_provider(factor, default_method) {
            return Err(invalid(key("default_method"), m));
        }
        let interval = it.interval.unwrap_or_else(|| "1h".into());
        let interval_ms = crate::timefmt::parse_duration_ms(&interval)
            .filter(|ms| (60_000..=86_400_000).contains(ms))
            .ok_or_else(|| {
                invalid(
                    key("interval"),
                    format!("\"{interval}\" is not a duration from 1m to 24h (e.g. \"15m\")"),
                )
            })?;
        let phone_attributes = it.phone_attributes.unwrap_or_else(|| {
            vec![
                "mobile".into(),
                "telephoneNumber".into(),
                "otherTelephone".into(),
            ]
        });
        sync.push(SyncItem {
            name,
            scope,
            default_method,
            phone_attributes,
            email_attribute: it.email_attribute.unwrap_or_else(|| "mail".into()),
            name_attribute: it.name_attribute.unwrap_or_else(|| "displayName".into()),
            interval_ms,
            directory_wins: it.directory_wins,
            invite_new_users: it.invite_new_users,
            language_attribute: it.language_attribute.filter(|a| !a.trim().is_empty()),
            max_disable: in_range(
                &key("max_disable"),
                it.max_disable.unwrap_or(5),
                0,
                1_000_000,
            )?,
        });
    }
    Ok(sync)
}
