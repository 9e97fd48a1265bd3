//! Administration: the operations the CLI offers, executed in one place ([`execute`]) over
//! the store, and the local transport ([`transport`]: an owner-only socket, or a loopback
//! port with a token file) through which the CLI reaches a running daemon — redb holds an exclusive lock on the database file, so while
//! the daemon runs only it can write. With no daemon, the CLI opens the store itself and calls
//! the same [`execute`].
//!
//! Protocol: one JSON [`Request`] line in, one JSON line out (`{"ok": …}` or `{"error": …}`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::cluster::{Directory, DirectoryError};
use crate::config::{Config, Method, PrimaryConfig};
use crate::directory_sync;
use crate::factor::totp;
use crate::primary::ad::AdPrimary;
use crate::primary::local::hash_password;
use crate::store::model::{user_key, Change, DirectoryWrite, FactorFailures, Guard, UserRecord};
use crate::store::{Reader, Store, StoreError};
use crate::timefmt::rfc3339_ms;

mod contact;
use contact::validate_phone;
pub mod transport;

pub use transport::{bind, AdminListener, AdminStream};

const MAX_REQUEST: u64 = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    UserAdd {
        name: String,
        password: Option<String>,
        method: Option<Method>,
        #[serde(default)]
        phone: Option<String>,
        /// The `[[factor.provider]]` for the user's method, when not the configured one.
        #[serde(default)]
        provider: Option<String>,
    },
    /// Changes what is given (method, phone, provider: `""` goes back to the configured
    /// one); the rest stays.
    UserSet {
        name: String,
        method: Option<Method>,
        phone: Option<String>,
        #[serde(default)]
        provider: Option<String>,
    },
    /// A one-time bypass of the second factor for `for_ms` (a user who lost their phone).
    UserBypass {
        name: String,
        for_ms: u64,
    },
    /// E-mails invitations (`names`, or every user without a factor yet).
    UserInvite {
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        not_enrolled: bool,
        #[serde(default)]
        dry_run: bool,
    },
    /// Sets the e-mail address and/or display name (kept by a sync unless the directory wins).
    UserSetContact {
        name: String,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
        /// The language of the user's mails: en, sv, nl ("" for `[email] language`).
        #[serde(default)]
        language: Option<String>,
    },
    UserList,
    UserShow {
        name: String,
    },
    UserSetEnabled {
        name: String,
        enabled: bool,
    },
    UserDelete {
        name: String,
    },
    UserSetPassword {
        name: String,
        password: String,
    },
    UserEnrollTotp {
        name: String,
    },
    UserUnlock {
        name: String,
    },
    ReportAuth {
        since_ms: u64,
        limit: usize,
    },
    UserSetPhone {
        name: String,
        phone: String,
    },
    SyncRun {
        item: Option<String>,
        dry_run: bool,
    },
    SyncApprove {
        item: String,
    },
    ClusterStatus,
    ClusterRemove {
        name: String,
    },
    /// A consistent copy of the store, with its key.
    Backup,
    /// redb's integrity check on the store the daemon holds.
    StoreCheck,
}

impl Request {
    /// Changes directory data: in a cluster it runs on the leader.
    pub fn changes_directory(&self) -> bool {
        matches!(
            self,
            Request::UserAdd { .. }
                | Request::UserSet { .. }
                | Request::UserSetEnabled { .. }
                | Request::UserBypass { .. }
                | Request::UserInvite { .. }
                | Request::UserSetContact { .. }
                | Request::UserDelete { .. }
                | Request::UserSetPassword { .. }
                | Request::UserEnrollTotp { .. }
                | Request::UserSetPhone { .. }
                | Request::SyncRun { .. }
                | Request::SyncApprove { .. }
                | Request::ClusterRemove { .. }
        )
    }
}

pub struct AdminContext {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub clock: SharedClock,
    /// Where directory changes go (this store, or the cluster's leader).
    pub directory: Directory,
}

fn validate_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() || n.len() > 256 || n.chars().any(char::is_control) {
        return Err("user names must be 1-256 characters without control characters".into());
    }
    Ok(n.to_owned())
}

/// A user as the CLI shows it, with their login state, read in the caller's transaction.
fn summary(ctx: &AdminContext, r: &Reader, u: &UserRecord) -> Result<Value, StoreError> {
    let key = user_key(&u.name);
    let (failures, step) = (r.failures(&key)?, r.totp_step(&key)?);
    let now = ctx.clock.now_ms();
    let locked_until = crate::factor::totp::locked_until(&failures, &ctx.cfg.factor);
    Ok(json!({
        "name": u.name,
        "enabled": u.enabled,
        "method": u.method.as_str(),
        "provider": ctx.cfg.factor.provider_for(u.method, u.provider.as_deref()).map(|p| p.name()),
        "password_set": u.password_hash.is_some(),
        "totp_enrolled": u.totp.is_some(),
        "display_name": u.display_name,
        "email": u.email,
        "phone": u.phone,
        "source": u.source,
        "dn": u.dn,
        "failed_codes": failures.count,
        "locked_until": (locked_until > now).then(|| rfc3339_ms(locked_until)),
        "bypass_until": u.bypass_until_ms.filter(|t| *t > now).map(rfc3339_ms),
        "last_code_at": step.map(|s| rfc3339_ms(s * ctx.cfg.factor.totp.period_secs * 1000)),
        "created": rfc3339_ms(u.created_ms),
        "updated": rfc3339_ms(u.updated_ms),
    }))
}

async fn hash(ctx: &AdminContext, password: String) -> Result<String, String> {
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    let PrimaryConfig::Local(cfg) = ctx.cfg.primary.clone() else {
        return Err(
            "passwords live in Active Directory (primary.backend = \"ad\"); \
                    add the user without --password-stdin"
                .into(),
        );
    };
    tokio::task::spawn_blocking(move || hash_password(&cfg, &password))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// How often a read-modify-write is tried again when the user changed in between.
const UPDATE_TRIES: usize = 3;

/// Changes an existing user with `f`, which returns the answer. The change is applied only if
/// the user is still as read (a guard on the version), and is tried again on fresh data
/// otherwise: in a cluster another node's command may land in between.
async fn update_user(
    ctx: &AdminContext,
    name: &str,
    f: impl Fn(&mut UserRecord) -> Value + Send + Sync + 'static,
) -> Result<Value, String> {
    let key = user_key(name);
    for _ in 0..UPDATE_TRIES {
        let Some(mut u) = ctx
            .store
            .read(|r| r.user(&key))
            .map_err(|e| e.to_string())?
        else {
            return Err(format!("no user \"{name}\""));
        };
        let version = u.version;
        let out = f(&mut u);
        u.updated_ms = ctx.clock.now_ms();
        u.version = version + 1;
        let w = DirectoryWrite {
            guards: vec![Guard::UserVersion {
                key: key.clone(),
                version: Some(version),
            }],
            changes: vec![Change::PutUser {
                key: key.clone(),
                user: u,
            }],
        };
        if write_directory(ctx, w).await?.is_none() {
            return Ok(out);
        }
    }
    Err(format!(
        "user \"{name}\" kept changing while this command ran; try again"
    ))
}

/// Writes the directory; `Some(conflict)` when a guard no longer held.
async fn write_directory(ctx: &AdminContext, w: DirectoryWrite) -> Result<Option<String>, String> {
    ctx.directory
        .write(w)
        .await
        .map(|o| o.conflict)
        .map_err(|e: DirectoryError| e.to_string())
}

/// Runs a request that came through the admin socket: in a cluster, a directory change made
/// on a follower is carried out by the leader, and the answer says which node applied it.
pub async fn run(ctx: &AdminContext, req: Request) -> Result<Value, String> {
    let Some(node) = ctx.directory.node() else {
        return execute(ctx, req).await;
    };
    if !req.changes_directory() {
        return execute(ctx, req).await;
    }
    let (mut out, by) = if node.is_leader() {
        (execute(ctx, req).await?, node.me.name.clone())
    } else {
        let v = serde_json::to_value(&req).map_err(|e| e.to_string())?;
        match node.forward_admin(v).await {
            Ok(x) => x,
            // This node became the leader while looking for one.
            Err(DirectoryError::NotLeader(Some(n))) if n == node.me.name => {
                (execute(ctx, req).await?, n)
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    if let Value::Object(m) = &mut out {
        m.insert("applied_by".into(), Value::String(by));
    }
    Ok(out)
}

/// A directory change another node forwarded to this one (the leader).
pub async fn execute_forwarded(ctx: &AdminContext, req: Value) -> Result<Value, String> {
    let req: Request =
        serde_json::from_value(req).map_err(|e| format!("bad forwarded command: {e}"))?;
    if !req.changes_directory() {
        return Err("only directory changes are forwarded to the leader".into());
    }
    tracing::info!(target: "mfagate::admin", command = request_name(&req), "admin command forwarded by a cluster member");
    execute(ctx, req).await
}

pub async fn execute(ctx: &AdminContext, req: Request) -> Result<Value, String> {
    match req {
        Request::ClusterStatus => match ctx.directory.node() {
            Some(n) => Ok(n.cluster_status().await),
            None => match crate::cluster::identity::load(&ctx.store).map_err(|e| e.to_string())? {
                Some(id) => Ok(json!({
                    "node": ctx.cfg.node_name, "id": id.node_id, "epoch": id.epoch,
                    "cluster_id": id.cluster_id,
                    "role": if id.fenced { "fenced" } else { "stopped" },
                    "note": "mfagate is not running on this node: start it to see the cluster",
                })),
                None => Err("this node is not in a cluster (`mfagate cluster init` on the first node, `mfagate cluster join ADDRESS` on the others)".into()),
            },
        },
        Request::Backup => {
            // Queued audit records are committed first, so the copy has them.
            ctx.store.write(|_| Ok(())).await.map_err(|e| e.to_string())?;
            let store = ctx.store.clone();
            let (node, now) = (ctx.cfg.node_name.clone(), ctx.clock.now_ms());
            let b = tokio::task::spawn_blocking(move || {
                store.backup(&node, now, crate::cluster::identity::IDENTITY)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            tracing::info!(users = b.tables.directory.users.len(), "backup taken");
            serde_json::to_value(b).map_err(|e| e.to_string())
        }
        Request::StoreCheck => {
            let report = ctx.store.check().await.map_err(|e| e.to_string())?;
            serde_json::to_value(report).map_err(|e| e.to_string())
        }
        Request::ClusterRemove { name } => match ctx.directory.node() {
            Some(n) => n.remove(&name).await.map_err(|e| e.to_string()),
            None => Err("this node is not running in a cluster".into()),
        },
        Request::UserAdd {
            name,
            password,
            method,
            phone,
            provider,
        } => {
            let name = validate_name(&name)?;
            let phone = phone.map(|p| validate_phone(&p)).transpose()?;
            let method = method.unwrap_or(ctx.cfg.factor.default_method);
            let provider = provider.filter(|p| !p.is_empty());
            check_method(ctx, method, phone.as_deref(), provider.as_deref())?;
            let password_hash = match password {
                Some(p) => Some(hash(ctx, p).await?),
                None => None,
            };
            let now = ctx.clock.now_ms();
            let key = user_key(&name);
            let user = UserRecord {
                name: name.clone(),
                enabled: true,
                method,
                password_hash,
                totp: None,
                local_overrides: phone.iter().map(|_| "phone".to_owned()).collect(),
                phone,
                provider,
                created_ms: now,
                updated_ms: now,
                version: 1,
                ..Default::default()
            };
            let w = DirectoryWrite {
                guards: vec![Guard::UserVersion {
                    key: key.clone(),
                    version: None,
                }],
                changes: vec![Change::PutUser { key, user }],
            };
            if write_directory(ctx, w).await?.is_some() {
                return Err(format!("user \"{name}\" already exists"));
            }
            Ok(json!({ "added": name }))
        }
        Request::UserList => ctx
            .store
            .read(|r| {
                r.users()?
                    .iter()
                    .map(|u| summary(ctx, r, u))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(Value::Array)
            .map_err(|e| e.to_string()),
        Request::UserShow { name } => {
            let key = user_key(&name);
            ctx.store
                .read(|r| r.user(&key)?.map(|u| summary(ctx, r, &u)).transpose())
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user \"{name}\""))
        }
        Request::UserInvite {
            names,
            not_enrolled,
            dry_run,
        } => contact::invite(ctx, names, not_enrolled, dry_run).await,
        Request::UserSetContact {
            name,
            email,
            display_name,
            language,
        } => contact::set_contact(ctx, name, email, display_name, language).await,
        Request::UserBypass { name, for_ms } => {
            if for_ms == 0 || for_ms > 24 * 3_600_000 {
                return Err("a bypass lasts from 1 s to 24 h (e.g. --for 15m)".into());
            }
            let until = ctx.clock.now_ms() + for_ms;
            let out = update_user(ctx, &name, move |u| {
                u.bypass_until_ms = Some(until);
                json!({ "name": u.name, "bypass_until": rfc3339_ms(until) })
            })
            .await?;
            // In the authentication log beside the login that will use it.
            let record = crate::store::model::AuthRecord {
                time_ms: ctx.clock.now_ms(),
                node: ctx.cfg.node_name.clone(),
                user: out["name"].as_str().unwrap_or(&name).to_owned(),
                client_name: "admin".into(),
                client_ip: String::new(),
                method: "bypass".into(),
                result: crate::store::model::AuthResult::Granted,
                reason: format!(
                    "one-time bypass of the second factor granted until {}",
                    rfc3339_ms(until)
                ),
                policy: None,
                node_ip: None,
                display_name: None,
                email: None,
                phone: None,
            };
            ctx.store
                .write(move |tx| tx.append_auth(&record))
                .await
                .map_err(|e| e.to_string())?;
            Ok(out)
        }
        Request::UserSetEnabled { name, enabled } => {
            update_user(ctx, &name, move |u| {
                u.enabled = enabled;
                // The administrator's decision: a sync does not undo it.
                u.disabled_by_sync = false;
                json!({ "name": u.name, "enabled": enabled })
            })
            .await
        }
        Request::UserDelete { name } => {
            let key = user_key(&name);
            let current = ctx.store.read(|r| r.user(&key)).map_err(|e| e.to_string())?;
            let Some(current) = current else {
                return Err(format!("no user \"{name}\""));
            };
            let w = DirectoryWrite {
                guards: vec![Guard::UserVersion {
                    key: key.clone(),
                    version: Some(current.version),
                }],
                changes: vec![Change::DeleteUser { key }],
            };
            match write_directory(ctx, w).await? {
                None => Ok(json!({ "deleted": name })),
                Some(c) => Err(c),
            }
        }
        Request::UserSetPassword { name, password } => {
            let h = hash(ctx, password).await?;
            update_user(ctx, &name, move |u| {
                u.password_hash = Some(h.clone());
                json!({ "name": u.name, "password_set": true })
            })
            .await
        }
        Request::UserEnrollTotp { name } => {
            let key = user_key(&name);
            let seed = totp::generate_seed().map_err(|e| e.to_string())?;
            let sealed = ctx
                .store
                .sealer()
                .seal(&seed, &key)
                .map_err(|e| e.to_string())?;
            let tcfg = ctx.cfg.factor.totp.clone();
            update_user(ctx, &name, move |u| {
                u.totp = Some(sealed.clone());
                u.method = Method::Totp;
                json!({ "name": u.name, "uri": totp::otpauth_uri(&u.name, &seed, &tcfg) })
            })
            .await
        }
        Request::UserUnlock { name } => {
            let key = user_key(&name);
            let n = name.clone();
            let now = ctx.clock.now_ms();
            ctx.store
                .write(move |tx| {
                    if tx.user(&key)?.is_none() {
                        return Ok(Err(format!("no user \"{n}\"")));
                    }
                    if !tx.failures(&key)?.is_clear() {
                        tx.set_failures(&key, &FactorFailures::cleared(now))?;
                    }
                    Ok(Ok(json!({ "unlocked": n })))
                })
                .await
                .map_err(|e| e.to_string())?
        }
        Request::UserSet {
            name,
            method,
            phone,
            provider,
        } => {
            let phone = phone.map(|p| validate_phone(&p)).transpose()?;
            let current = ctx
                .store
                .read(|r| r.user(&user_key(&name)))
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user \"{name}\""))?;
            let method = method.unwrap_or(current.method);
            // Some(""): back to the configured provider.
            let provider = provider.map(|p| Some(p).filter(|p| !p.is_empty()));
            let own = provider.clone().unwrap_or(current.provider.clone());
            check_method(
                ctx,
                method,
                phone.as_deref().or(current.phone.as_deref()),
                own.as_deref(),
            )?;
            update_user(ctx, &name, move |u| {
                u.method = method;
                if let Some(p) = &provider {
                    u.provider = p.clone();
                }
                if let Some(p) = &phone {
                    u.phone = Some(p.clone());
                    if !u.local_overrides.iter().any(|o| o == "phone") {
                        u.local_overrides.push("phone".into());
                    }
                }
                json!({ "name": u.name, "method": u.method.as_str(), "phone": u.phone,
                        "provider": u.provider })
            })
            .await
        }
        Request::UserSetPhone { name, phone } => {
            let phone = validate_phone(&phone)?;
            update_user(ctx, &name, move |u| {
                u.phone = Some(phone.clone());
                // Set here, so a sync keeps it unless its item says the directory wins.
                if !u.local_overrides.iter().any(|o| o == "phone") {
                    u.local_overrides.push("phone".into());
                }
                json!({ "name": u.name, "phone": phone })
            })
            .await
        }
        Request::SyncRun { item, dry_run } => {
            let PrimaryConfig::Ad(ad_cfg) = &ctx.cfg.primary else {
                return Err("sync reads Active Directory: set primary.backend = \"ad\"".into());
            };
            let items: Vec<&crate::config::SyncItem> = match &item {
                Some(n) => vec![ctx
                    .cfg
                    .sync
                    .iter()
                    .find(|i| &i.name == n)
                    .ok_or_else(|| format!("no [[sync]] item named \"{n}\""))?],
                None => ctx.cfg.sync.iter().collect(),
            };
            if items.is_empty() {
                return Err("no [[sync]] items are configured".into());
            }
            let ad =
                AdPrimary::new((**ad_cfg).clone(), ctx.clock.clone()).map_err(|e| e.to_string())?;
            let mut outcomes = Vec::new();
            for it in items {
                let o = directory_sync::run_item(
                    &ad,
                    &ctx.directory,
                    &ctx.clock,
                    it,
                    &ctx.cfg.sync,
                    &ad_cfg.base_dn,
                    &ad_cfg.user_filter,
                    dry_run,
                )
                .await
                .map_err(|e| format!("sync {}: {e}", it.name))?;
                outcomes.push(o);
            }
            serde_json::to_value(outcomes).map_err(|e| e.to_string())
        }
        Request::SyncApprove { item } => {
            if !ctx.cfg.sync.iter().any(|i| i.name == item) {
                return Err(format!("no [[sync]] item named \"{item}\""));
            }
            match directory_sync::approve(&ctx.directory, &ctx.clock, &item)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(n) => Ok(json!({ "approved": item, "disables": n })),
                None => Err(format!(
                    "sync item \"{item}\" has no blocked run to approve"
                )),
            }
        }
        Request::ReportAuth { since_ms, limit } => {
            // Queued audit records (see `Store::write_detached`) are committed first.
            ctx.store
                .write(|_| Ok(()))
                .await
                .map_err(|e| e.to_string())?;
            let records = ctx
                .store
                .read(|r| r.auth_log(since_ms, limit))
                .map_err(|e| e.to_string())?;
            serde_json::to_value(records).map_err(|e| e.to_string())
        }
    }
}

/// `ctx` is replaced by a reload; each connection takes the one current when it arrives.
pub async fn serve(
    listener: AdminListener,
    ctx: Arc<crate::live::Live<AdminContext>>,
    cancel: CancellationToken,
) {
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket: accept failed");
                    continue;
                }
            },
        };
        let ctx = ctx.get();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &ctx).await {
                tracing::debug!(error = %e, "admin socket: connection failed");
            }
        });
    }
}

async fn handle(stream: Box<dyn AdminStream>, ctx: &AdminContext) -> std::io::Result<()> {
    let (r, mut w) = tokio::io::split(stream);
    let mut line = String::new();
    BufReader::new(r.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let answer = match serde_json::from_str::<Request>(&line) {
        Ok(req) => {
            let what = request_name(&req);
            let res = run(ctx, req).await;
            tracing::info!(target: "mfagate::admin", command = what, ok = res.is_ok(), "admin command");
            res
        }
        Err(e) => Err(format!("bad admin request: {e}")),
    };
    let mut out = match answer {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "error": e }),
    }
    .to_string();
    out.push('\n');
    w.write_all(out.as_bytes()).await?;
    w.shutdown().await
}

fn request_name(r: &Request) -> &'static str {
    match r {
        Request::UserAdd { .. } => "user add",
        Request::UserList => "user list",
        Request::UserShow { .. } => "user show",
        Request::UserSetEnabled { .. } => "user enable/disable",
        Request::UserDelete { .. } => "user delete",
        Request::UserSetPassword { .. } => "user set-password",
        Request::UserEnrollTotp { .. } => "user enroll-totp",
        Request::UserUnlock { .. } => "user unlock",
        Request::UserBypass { .. } => "user bypass",
        Request::UserInvite { .. } => "user invite",
        Request::UserSetContact { .. } => "user set-contact",
        Request::ReportAuth { .. } => "report auth",
        Request::UserSetPhone { .. } => "user set-phone",
        Request::UserSet { .. } => "user set",
        Request::SyncRun { .. } => "sync run",
        Request::SyncApprove { .. } => "sync approve",
        Request::ClusterStatus => "cluster status",
        Request::ClusterRemove { .. } => "cluster remove",
        Request::Backup => "backup",
        Request::StoreCheck => "store check",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("admin socket answered something unreadable: {0}")]
    Protocol(String),
    // Transparent: the store's message is the whole message (not said twice by `{:#}`).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Runs `req` through the daemon when one is listening on the admin socket, otherwise
/// directly on the store.
pub async fn call(
    cfg: Arc<Config>,
    clock: SharedClock,
    req: Request,
) -> Result<Result<Value, String>, ClientError> {
    let req = match call_daemon(&cfg, req).await? {
        Sent::Answered(a) => return Ok(a),
        Sent::NoDaemon(req) => req,
    };
    let store = Store::open(&cfg.data_dir)?;
    let directory = Directory::new(store.clone(), None)?;
    let ctx = AdminContext {
        cfg,
        store,
        clock,
        directory,
    };
    Ok(execute(&ctx, req).await)
}

/// What [`call_daemon`] did with a request.
pub enum Sent {
    /// The daemon's answer.
    Answered(Result<Value, String>),
    /// No daemon listens; the request is handed back.
    NoDaemon(Request),
}

/// Runs `req` through the daemon if one listens on the admin transport: the daemon holds
/// redb's lock on the file, so while it runs only it can open the store.
pub async fn call_daemon(cfg: &Config, req: Request) -> Result<Sent, ClientError> {
    let via = transport::describe(cfg);
    let io = |e| ClientError::Io(via.clone(), e);
    match transport::connect(cfg).await.map_err(io)? {
        Some(stream) => {
            let (r, mut w) = tokio::io::split(stream);
            let mut line =
                serde_json::to_string(&req).map_err(|e| ClientError::Protocol(e.to_string()))?;
            line.push('\n');
            w.write_all(line.as_bytes()).await.map_err(io)?;
            let mut answer = String::new();
            BufReader::new(r).read_line(&mut answer).await.map_err(io)?;
            let v: Value =
                serde_json::from_str(&answer).map_err(|e| ClientError::Protocol(e.to_string()))?;
            match (v.get("ok"), v.get("error")) {
                (Some(ok), _) => Ok(Sent::Answered(Ok(ok.clone()))),
                (None, Some(Value::String(e))) => Ok(Sent::Answered(Err(e.clone()))),
                _ => Err(ClientError::Protocol(answer)),
            }
        }
        None => Ok(Sent::NoDaemon(req)),
    }
}

/// A method the configuration can serve for this user, through `provider` if named.
fn check_method(
    ctx: &AdminContext,
    method: Method,
    phone: Option<&str>,
    provider: Option<&str>,
) -> Result<(), String> {
    if let Some(name) = provider {
        match ctx.cfg.factor.provider(name) {
            None => return Err(format!("no [[factor.provider]] is named \"{name}\"")),
            Some(p) if !p.serves(method) => {
                return Err(format!(
                    "provider \"{name}\" (kind {}) does not serve method {}",
                    p.kind(),
                    method.as_str()
                ))
            }
            Some(_) => {}
        }
    }
    match ctx.cfg.factor.unservable(method, provider, phone) {
        Some(why) if why.contains("phone number") => Err(format!("{why} (--phone +15550001001)")),
        Some(why) => Err(why),
        None => Ok(()),
    }
}
