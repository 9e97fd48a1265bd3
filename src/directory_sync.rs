//! Import and scheduled sync of users from Active Directory (`[[sync]]` items).
//!
//! One run of an item: read every user in scope (an OU subtree, or a group with its nested
//! groups) page by page, compare with the store, and
//! - add users that are new (method from the item, phone from the first non-empty phone
//!   attribute, e-mail, display name);
//! - update directory attributes, except those an administrator set in mfagate (unless the
//!   item says the directory wins);
//! - disable users disabled in AD or gone from the scope — never delete them, their enrolled
//!   authenticators stay — and enable again those that a sync (not an administrator) disabled;
//! - stop before applying anything when the run would disable more than `max_disable` users,
//!   until `mfagate sync approve ITEM` (mass deletions by mistake are a classic outage).
//!
//! A dry run computes the same plan and changes nothing.

use std::collections::{HashMap, HashSet};

use ldap3::{Scope, SearchEntry};
use serde::Serialize;

use crate::clock::SharedClock;
use crate::cluster::{Directory, DirectoryError};
use crate::config::{SyncItem, SyncScope};
use crate::primary::ad::{AdError, AdPrimary};
use crate::store::model::{user_key, Change, DirectoryWrite, Guard, SyncApproval, UserRecord};
use crate::store::StoreError;

/// userAccountControl ACCOUNTDISABLE.
const UAC_DISABLED: u64 = 0x2;
const WRITE_BATCH: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("sync item \"{0}\" does not exist")]
    NoSuchItem(String),
    #[error("{0}")]
    Ad(#[from] AdError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Directory(#[from] DirectoryError),
    #[error("{0}; the next run takes the change into account")]
    Conflict(String),
}

/// What a run did, or would do.
#[derive(Debug, Default, Serialize)]
pub struct SyncOutcome {
    pub item: String,
    pub dry_run: bool,
    /// False when nothing was written (dry run, or blocked by `max_disable`).
    pub applied: bool,
    pub blocked: Option<String>,
    pub seen: usize,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub disabled: Vec<String>,
    pub enabled: Vec<String>,
    pub unchanged: usize,
}

/// One user as the directory describes them.
struct DirUser {
    sam: String,
    dn: String,
    display_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// The mails' language (`en`, `sv`, `nl`), from `language_attribute` if the item has one.
    language: Option<String>,
    disabled: bool,
}

fn first(e: &SearchEntry, attr: &str) -> Option<String> {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.iter().find(|x| !x.trim().is_empty()))
        .map(|v| v.trim().to_owned())
}

fn dir_user(e: &SearchEntry, item: &SyncItem) -> Option<DirUser> {
    let sam = first(e, "sAMAccountName")?;
    let uac: u64 = first(e, "userAccountControl")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(DirUser {
        sam,
        dn: e.dn.clone(),
        display_name: first(e, &item.name_attribute),
        email: first(e, &item.email_attribute),
        phone: item.phone_attributes.iter().find_map(|a| first(e, a)),
        language: item
            .language_attribute
            .as_deref()
            .and_then(|a| first(e, a))
            .and_then(|v| crate::email::Language::parse(&v))
            .map(|l| l.as_str().to_owned()),
        disabled: uac & UAC_DISABLED != 0,
    })
}

/// Sets `field` from the directory unless an administrator owns it. Returns whether it changed.
fn merge(
    field: &mut Option<String>,
    name: &str,
    from_dir: &Option<String>,
    overrides: &[String],
    dir_wins: bool,
) -> bool {
    if !dir_wins && overrides.iter().any(|o| o == name) {
        return false;
    }
    if field != from_dir {
        field.clone_from(from_dir);
        true
    } else {
        false
    }
}

/// The new record for `d`, or None when nothing changes. Also says whether it was disabled or
/// enabled by this run.
fn plan_update(u: &UserRecord, d: &DirUser, item: &SyncItem) -> Option<(UserRecord, Option<bool>)> {
    let mut n = u.clone();
    let mut changed = false;
    if item.directory_wins {
        n.local_overrides.clear();
    }
    changed |= merge(
        &mut n.display_name,
        "display_name",
        &d.display_name,
        &u.local_overrides,
        item.directory_wins,
    );
    changed |= merge(
        &mut n.email,
        "email",
        &d.email,
        &u.local_overrides,
        item.directory_wins,
    );
    changed |= merge(
        &mut n.phone,
        "phone",
        &d.phone,
        &u.local_overrides,
        item.directory_wins,
    );
    if item.language_attribute.is_some() {
        changed |= merge(
            &mut n.language,
            "language",
            &d.language,
            &u.local_overrides,
            item.directory_wins,
        );
    }
    if n.dn.as_deref() != Some(d.dn.as_str()) {
        n.dn = Some(d.dn.clone());
        changed = true;
    }
    // The first item that imported a user keeps them; a hand-made user is adopted.
    if n.source.is_none() {
        n.source = Some(item.name.clone());
        changed = true;
    }
    let mut toggled = None;
    if d.disabled && n.enabled {
        n.enabled = false;
        n.disabled_by_sync = true;
        toggled = Some(false);
    } else if !d.disabled && !n.enabled && n.disabled_by_sync {
        n.enabled = true;
        n.disabled_by_sync = false;
        toggled = Some(true);
    }
    (changed || toggled.is_some()).then_some((n, toggled))
}

/// Another configured item whose scope still holds `u` (by its last known DN).
async fn covering_item(
    ad: &AdPrimary,
    u: &UserRecord,
    item: &SyncItem,
    all_items: &[SyncItem],
) -> Result<Option<String>, SyncError> {
    let Some(dn) = &u.dn else {
        return Ok(None);
    };
    for other in all_items.iter().filter(|o| o.name != item.name) {
        let covered = match &other.scope {
            SyncScope::Subtree(base) => dn
                .to_ascii_lowercase()
                .ends_with(&format!(",{}", base.to_ascii_lowercase())),
            SyncScope::Group(g) => ad.member_of(dn, g).await?,
        };
        if covered {
            return Ok(Some(other.name.clone()));
        }
    }
    Ok(None)
}

/// One sync run at a time in this process: a run started by hand while the scheduled one is
/// going would read the same users and then find every one of them changed by the other
/// (its writes are guarded by the versions it read). The second waits and reads fresh data.
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs one item; `all_items` are every configured item (a user one item drops may still be
/// in another's scope).
#[allow(clippy::too_many_arguments)]
pub async fn run_item(
    ad: &AdPrimary,
    directory: &Directory,
    clock: &SharedClock,
    item: &SyncItem,
    all_items: &[SyncItem],
    base_dn: &str,
    user_filter: &str,
    dry_run: bool,
) -> Result<SyncOutcome, SyncError> {
    let _one_at_a_time = RUNNING.lock().await;
    let (base, filter) = match &item.scope {
        SyncScope::Subtree(dn) => (dn.clone(), user_filter.to_owned()),
        SyncScope::Group(g) => (
            base_dn.to_owned(),
            format!(
                "(&{user_filter}(memberOf:1.2.840.113556.1.4.1941:={}))",
                ldap3::ldap_escape(g.as_str())
            ),
        ),
    };
    let mut attrs: Vec<&str> = vec!["sAMAccountName", "userAccountControl"];
    attrs.push(&item.name_attribute);
    attrs.push(&item.email_attribute);
    attrs.extend(item.phone_attributes.iter().map(String::as_str));
    attrs.extend(item.language_attribute.as_deref());
    let mut dir: Vec<DirUser> = Vec::new();
    ad.search_paged(&base, Scope::Subtree, &filter, &attrs, |e| {
        if let Some(d) = dir_user(&e, item) {
            dir.push(d);
        }
    })
    .await?;

    let now = clock.now_ms();
    let store = directory.store();
    let existing: HashMap<String, UserRecord> = store.read(|r| r.users_by_key())?;
    let mut out = SyncOutcome {
        item: item.name.clone(),
        dry_run,
        seen: dir.len(),
        ..Default::default()
    };
    let mut writes: Vec<(String, UserRecord)> = Vec::new();
    let mut in_scope = HashSet::with_capacity(dir.len());
    for d in &dir {
        let key = user_key(&d.sam);
        in_scope.insert(key.clone());
        match existing.get(&key) {
            None => {
                out.added.push(d.sam.clone());
                writes.push((
                    key,
                    UserRecord {
                        name: d.sam.clone(),
                        enabled: !d.disabled,
                        method: item.default_method,
                        created_ms: now,
                        updated_ms: now,
                        version: 1,
                        display_name: d.display_name.clone(),
                        email: d.email.clone(),
                        phone: d.phone.clone(),
                        language: d.language.clone(),
                        source: Some(item.name.clone()),
                        dn: Some(d.dn.clone()),
                        disabled_by_sync: d.disabled,
                        // Sent by the invitation sweep after the run (never inside it, so
                        // a mail outage cannot hold a sync up).
                        invite_pending: item.invite_new_users && !d.disabled && d.email.is_some(),
                        ..Default::default()
                    },
                ));
            }
            Some(u) => match plan_update(u, d, item) {
                None => out.unchanged += 1,
                Some((mut n, toggled)) => {
                    match toggled {
                        Some(false) => out.disabled.push(u.name.clone()),
                        Some(true) => out.enabled.push(u.name.clone()),
                        None => out.updated.push(u.name.clone()),
                    }
                    n.updated_ms = now;
                    n.version += 1;
                    writes.push((key, n));
                }
            },
        }
    }
    // Users this item imported earlier that are no longer in its scope: handed to another
    // item that still covers them, otherwise disabled.
    for (key, u) in &existing {
        if u.source.as_deref() != Some(item.name.as_str()) || in_scope.contains(key) || !u.enabled {
            continue;
        }
        let mut n = u.clone();
        n.updated_ms = now;
        n.version += 1;
        match covering_item(ad, u, item, all_items).await? {
            Some(other) => {
                n.source = Some(other);
                out.updated.push(u.name.clone());
            }
            None => {
                n.enabled = false;
                n.disabled_by_sync = true;
                out.disabled.push(u.name.clone());
            }
        }
        writes.push((key.clone(), n));
    }
    out.added.sort();
    out.updated.sort();
    out.disabled.sort();
    out.enabled.sort();
    if dry_run {
        return Ok(out);
    }

    let approval = store.read(|r| r.sync_approval(&item.name))?;
    if out.disabled.len() > item.max_disable {
        let approved = approval
            .as_ref()
            .is_some_and(|a| a.approved && out.disabled.len() <= a.pending_disables);
        if !approved {
            let pending = SyncApproval {
                pending_disables: out.disabled.len(),
                approved: false,
                updated_ms: now,
            };
            directory
                .write(approval_write(&item.name, Some(pending)))
                .await?;
            out.blocked = Some(format!(
                "would disable {} users (max_disable = {}): nothing was changed; check with \
                 `mfagate sync run --dry-run`, then allow it once with `mfagate sync approve {}`",
                out.disabled.len(),
                item.max_disable,
                item.name
            ));
            tracing::warn!(item = %item.name, disables = out.disabled.len(), max_disable = item.max_disable, "sync blocked: too many disables");
            return Ok(out);
        }
    }
    // One approval covers one run.
    let had_approval = approval.is_some();
    for chunk in writes.chunks(WRITE_BATCH) {
        // Each record is written only if the user is still as this run read them: an
        // administrator's change made meanwhile is not overwritten.
        let w = DirectoryWrite {
            guards: chunk
                .iter()
                .map(|(k, _)| Guard::UserVersion {
                    key: k.clone(),
                    version: existing.get(k).map(|e| e.version),
                })
                .collect(),
            changes: chunk
                .iter()
                .map(|(k, u)| Change::PutUser {
                    key: k.clone(),
                    user: u.clone(),
                })
                .collect(),
        };
        if let Some(c) = directory.write(w).await?.conflict {
            return Err(SyncError::Conflict(c));
        }
    }
    if had_approval {
        directory.write(approval_write(&item.name, None)).await?;
    }
    out.applied = true;
    tracing::info!(
        item = %item.name,
        seen = out.seen,
        added = out.added.len(),
        updated = out.updated.len(),
        disabled = out.disabled.len(),
        enabled = out.enabled.len(),
        "sync applied"
    );
    Ok(out)
}

/// Marks the blocked run of `item` as approved; returns how many disables it allows.
pub async fn approve(
    directory: &Directory,
    clock: &SharedClock,
    item: &str,
) -> Result<Option<usize>, SyncError> {
    let Some(mut a) = directory.store().read(|r| r.sync_approval(item))? else {
        return Ok(None);
    };
    a.approved = true;
    a.updated_ms = clock.now_ms();
    let n = a.pending_disables;
    directory.write(approval_write(item, Some(a))).await?;
    Ok(Some(n))
}

/// Puts (or, with `None`, deletes) an item's approval record.
fn approval_write(item: &str, approval: Option<SyncApproval>) -> DirectoryWrite {
    let item = item.to_owned();
    DirectoryWrite {
        guards: Vec::new(),
        changes: vec![match approval {
            Some(approval) => Change::SyncApproval { item, approval },
            None => Change::DeleteSyncApproval { item },
        }],
    }
}
