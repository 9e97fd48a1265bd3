//! Runs the daemon: takes already-bound sockets (so tests bind port 0 and the binary binds
//! the configured addresses), starts every listener and the housekeeping task under one
//! [`CancellationToken`], and returns when it is cancelled.
//!
//! [`Running::reload`] applies a new config file to the running daemon without rebinding a
//! socket (see [`crate::reload`] for what it may change): the pipeline and the RADIUS client
//! tables are swapped as [`crate::live::Live`] values, so a request in flight finishes on
//! what it started with, and the `[[sync]]` schedule is restarted from the new items.

use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::admin::{self, AdminContext};
use crate::auth::{PeerClaims, Pipeline};
use crate::clock::SharedClock;
use crate::cluster::{ClusterNode, Directory};
use crate::config::Config;
use crate::frontend::ldap::LdapFrontend;
use crate::frontend::radius::accounting::AccountingFrontend;
use crate::frontend::radius::{Client, RadiusFrontend};
use crate::health::Health;
use crate::live::Live;
use crate::metrics::{Metrics, Source};
use crate::reload::{ReloadError, Reloaded};
use crate::store::Store;

/// How many change-log entries of its own a node keeps (the future replication feed).
const CHANGELOG_KEEP: u64 = 1_000_000;
const HOUSEKEEPING_EVERY_MS: u64 = 60_000;
/// How often a cluster member that is not the leader checks whether it has become one, for
/// the scheduled sync.
const LEADER_POLL: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("{0}")]
    Ldap(#[from] crate::frontend::ldap::LdapSetupError),
    #[error("{0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("radius.accounting_upstream: {0}")]
    Accounting(String),
    #[error("portal: {0}")]
    Portal(String),
    #[error("cannot bind {what}: {source}")]
    Bind {
        what: String,
        source: std::io::Error,
    },
}

pub struct Listeners {
    pub radius: Vec<UdpSocket>,
    /// One per `radius.accounting_listen` address, in order.
    pub accounting: Vec<UdpSocket>,
    /// One per `[[ldap.listeners]]` entry, in order.
    pub ldap: Vec<TcpListener>,
    pub admin: Option<admin::AdminListener>,
    /// The `[cluster]` listener, when configured.
    pub cluster: Option<TcpListener>,
    /// The `[metrics]` HTTP listener, when configured.
    pub metrics: Option<TcpListener>,
    /// The `[portal]` listener, when configured.
    pub portal: Option<TcpListener>,
}

/// Binds what the configuration names. Must run inside a tokio runtime.
pub fn bind(cfg: &Config) -> Result<Listeners, ServerError> {
    let udp = |addr: &std::net::SocketAddr, key: &str| {
        std::net::UdpSocket::bind(addr)
            .and_then(|s| {
                s.set_nonblocking(true)?;
                UdpSocket::from_std(s)
            })
            .map_err(|source| ServerError::Bind {
                what: format!("{key} {addr}"),
                source,
            })
    };
    let mut radius = Vec::new();
    let mut accounting = Vec::new();
    if let Some(r) = &cfg.radius {
        for addr in &r.listen {
            radius.push(udp(addr, "radius.listen")?);
        }
        for addr in &r.accounting_listen {
            accounting.push(udp(addr, "radius.accounting_listen")?);
        }
    }
    let mut ldap = Vec::new();
    for l in cfg.ldap.iter().flat_map(|l| &l.listeners) {
        let s = std::net::TcpListener::bind(l.address)
            .and_then(|s| {
                s.set_nonblocking(true)?;
                TcpListener::from_std(s)
            })
            .map_err(|source| ServerError::Bind {
                what: format!("ldap listener {} ({})", l.name, l.address),
                source,
            })?;
        ldap.push(s);
    }
    crate::config::create_private_dir(&cfg.data_dir).map_err(|source| ServerError::Bind {
        what: format!("data_dir {}", cfg.data_dir.display()),
        source,
    })?;
    let admin = admin::bind(cfg).map_err(|source| ServerError::Bind {
        what: admin::transport::describe(cfg),
        source,
    })?;
    let cluster = match &cfg.cluster {
        Some(c) => Some(
            std::net::TcpListener::bind(c.listen)
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    TcpListener::from_std(s)
                })
                .map_err(|source| ServerError::Bind {
                    what: format!("cluster.listen {}", c.listen),
                    source,
                })?,
        ),
        None => None,
    };
    let metrics = match &cfg.metrics {
        Some(m) => Some(
            std::net::TcpListener::bind(m.listen)
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    TcpListener::from_std(s)
                })
                .map_err(|source| ServerError::Bind {
                    what: format!("metrics.listen {}", m.listen),
                    source,
                })?,
        ),
        None => None,
    };
    let portal = match &cfg.portal {
        Some(p) => Some(
            std::net::TcpListener::bind(p.listen)
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    TcpListener::from_std(s)
                })
                .map_err(|source| ServerError::Bind {
                    what: format!("portal.listen {}", p.listen),
                    source,
                })?,
        ),
        None => None,
    };
    Ok(Listeners {
        radius,
        accounting,
        ldap,
        admin: Some(admin),
        cluster,
        metrics,
        portal,
    })
}

/// A running daemon's handles, for tests that look inside.
pub struct Running {
    pub radius: Option<Arc<RadiusFrontend>>,
    pub accounting: Option<Arc<AccountingFrontend>>,
    pub ldap: Option<Arc<LdapFrontend>>,
    pub cluster: Option<Arc<ClusterNode>>,
    /// Readiness, as `/readyz` and Status-Server see it.
    pub health: Arc<Health>,
    /// The registry, when `[metrics]` is configured.
    pub metrics: Option<Arc<Metrics>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    reloader: Reloader,
    /// How many of the RADIUS, LDAP and admin listeners still run (for the watchdog).
    listening: Arc<std::sync::atomic::AtomicUsize>,
    listeners: usize,
}

impl Running {
    /// Every listener still runs (one that ended before shutdown means the node is sick).
    pub fn listeners_alive(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let (listening, all) = (self.listening.clone(), self.listeners);
        move || listening.load(std::sync::atomic::Ordering::SeqCst) == all
    }

    /// Installs the function that sets the log filter (`log.level`) on a reload.
    pub fn set_log_level_handle(&mut self, f: LogLevelHandle) {
        self.reloader.log_level = Some(f);
    }

    /// Reads and validates `path` again and applies it for requests that start from now on;
    /// on any error nothing changes. Every outcome is logged here too (the SIGHUP handler
    /// and the tests see the same thing).
    pub async fn reload(&self, path: &std::path::Path) -> Result<Reloaded, ReloadError> {
        let r = &self.reloader;
        // One reload at a time: two SIGHUPs in a row apply the file twice, in order.
        let mut current = r.cfg.lock().await;
        tracing::info!(file = %path.display(), "reload: reading the configuration again");
        let outcome = self.apply(&current, path).await;
        match &outcome {
            Ok((cfg, done)) => {
                for w in &done.warnings {
                    tracing::warn!("config: {w}");
                }
                for k in &done.restart_needed {
                    tracing::warn!(key = %k, "reload: {k} changed; this takes a restart, the running value stays until then");
                }
                *current = cfg.clone();
                tracing::info!("reload: done; new requests use the new configuration");
            }
            Err(e) => {
                tracing::error!("reload refused, the running configuration stays: {e}");
            }
        }
        outcome.map(|(_, done)| done)
    }

    async fn apply(
        &self,
        current: &Arc<Config>,
        path: &std::path::Path,
    ) -> Result<(Arc<Config>, Reloaded), ReloadError> {
        let r = &self.reloader;
        let loaded = Config::load(path)?;
        let warnings = loaded.warnings.clone();
        let (cfg, restart_needed) = crate::reload::effective(current, loaded);
        let cfg = Arc::new(cfg);
        let apply = |e: ServerError| ReloadError::Apply(e.to_string());
        // Everything is built before anything is swapped, so a failure changes nothing.
        let pipeline = Arc::new(
            pipeline_for(
                &cfg,
                &r.store,
                &r.clock,
                &r.claims,
                &self.metrics,
                &r.directory,
            )
            .map_err(apply)?,
        );
        let clients = match &cfg.radius {
            Some(rcfg) => Some((
                radius_clients(&cfg, rcfg, true).map_err(apply)?,
                radius_clients(&cfg, rcfg, false).map_err(apply)?,
            )),
            None => None,
        };
        let sync_changed = differs(
            &(&current.sync, &current.primary),
            &(&cfg.sync, &cfg.primary),
        );
        let sync = if sync_changed {
            Some(spawn_sync(&cfg, &r.directory, &r.clock, &r.owed, &r.cancel).map_err(apply)?)
        } else {
            None
        };
        if let (Some(set), true) = (&r.log_level, current.log.level != cfg.log.level) {
            if let Err(e) = set(&cfg.log.level) {
                // Nothing is swapped yet: the new schedule goes, the old one stays.
                if let Some(new) = &sync {
                    new.cancel.cancel();
                }
                return Err(ReloadError::Apply(format!("log.level: {e}")));
            }
        }
        r.pipeline.set(pipeline.clone());
        r.live_cfg.set(cfg.clone());
        r.admin.set(Arc::new(AdminContext {
            cfg: cfg.clone(),
            store: r.store.clone(),
            clock: r.clock.clone(),
            directory: r.directory.clone(),
        }));
        if let (Some(fe), Some((auth, acct))) = (&self.radius, clients) {
            fe.set_pipeline(pipeline.clone());
            fe.set_clients(auth);
            if let Some(a) = &self.accounting {
                a.set_clients(acct);
            }
        }
        if let Some(fe) = &self.ldap {
            fe.set_pipeline(pipeline);
        }
        if let Some(new) = sync {
            let old =
                std::mem::replace(&mut *r.sync.lock().unwrap_or_else(|p| p.into_inner()), new);
            // The old schedule ends at its next await; a run in progress is cut short and
            // the new schedule runs every item once now, as at start-up.
            old.cancel.cancel();
            tracing::info!("reload: [[sync]] schedule restarted");
        }
        Ok((
            cfg,
            Reloaded {
                restart_needed,
                warnings,
            },
        ))
    }

    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        let sync = std::mem::take(
            &mut self
                .reloader
                .sync
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .handles,
        );
        for t in sync {
            let _ = t.await;
        }
        if let Some(c) = self.cluster {
            let _ = c.raft.shutdown().await;
        }
    }
}

/// Sets the log filter from a `log.level` value; the error says why it is not one.
pub type LogLevelHandle = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// What a reload needs of what `start` built.
struct Reloader {
    cfg: tokio::sync::Mutex<Arc<Config>>,
    store: Store,
    clock: SharedClock,
    claims: Option<Arc<dyn PeerClaims>>,
    directory: Directory,
    /// The pipeline the health probe asks about its primaries.
    pipeline: Arc<Live<Pipeline>>,
    /// The config housekeeping reads.
    live_cfg: Arc<Live<Config>>,
    admin: Arc<Live<AdminContext>>,
    sync: std::sync::Mutex<SyncTasks>,
    /// Wakes the invitation sweep after a sync run (see `crate::invite::sweep_loop`).
    owed: Arc<tokio::sync::Notify>,
    cancel: CancellationToken,
    log_level: Option<LogLevelHandle>,
}

/// The `[[sync]]` schedule, restarted as a whole when a reload changes it.
struct SyncTasks {
    cancel: CancellationToken,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

fn differs<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") != format!("{b:?}")
}

/// The pipeline for `cfg`, with what start-up gave it (cluster claims, metrics).
fn pipeline_for(
    cfg: &Arc<Config>,
    store: &Store,
    clock: &SharedClock,
    claims: &Option<Arc<dyn PeerClaims>>,
    metrics: &Option<Arc<Metrics>>,
    directory: &Directory,
) -> Result<Pipeline, ServerError> {
    let mut pipeline =
        Pipeline::new(cfg.clone(), store.clone(), clock.clone())?.with_directory(directory.clone());
    if let Some(c) = claims {
        pipeline = pipeline.with_claims(c.clone());
    }
    if let Some(m) = metrics {
        pipeline = pipeline.with_metrics(m.clone());
    }
    Ok(pipeline)
}

/// The configured clients with their secrets read (a `secret_file` again on every call);
/// `auth`: for the authentication port (whose requests may go to an upstream).
fn radius_clients(
    cfg: &Config,
    rcfg: &crate::config::RadiusConfig,
    auth: bool,
) -> Result<Vec<Client>, ServerError> {
    let mut clients = Vec::new();
    for (i, c) in rcfg.clients.iter().enumerate() {
        let secret = c.secret.load(&format!("radius.clients[{i}].secret_file"))?;
        if let (true, crate::config::SecretSource::File { path, .. }) = (auth, &c.secret) {
            tracing::info!(client = %c.name, file = %path.display(), "radius: shared secret read from file");
        }
        let relays = auth
            && (c.primary.is_some()
                || matches!(cfg.primary, crate::config::PrimaryConfig::Radius(_)));
        clients.push(Client {
            cfg: c.clone(),
            secret,
            relays,
        });
    }
    Ok(clients)
}

/// One task per `[[sync]]` item (only with an AD primary), under a child of `cancel`.
fn spawn_sync(
    cfg: &Arc<Config>,
    directory: &Directory,
    clock: &SharedClock,
    owed: &Arc<tokio::sync::Notify>,
    cancel: &CancellationToken,
) -> Result<SyncTasks, ServerError> {
    let cancel = cancel.child_token();
    let mut handles = Vec::new();
    if let crate::config::PrimaryConfig::Ad(ad) = &cfg.primary {
        if !cfg.sync.is_empty() {
            let ad_primary = Arc::new(
                crate::primary::ad::AdPrimary::new((**ad).clone(), clock.clone()).map_err(|e| {
                    ServerError::Auth(crate::auth::AuthError::Unavailable(e.to_string()))
                })?,
            );
            for i in 0..cfg.sync.len() {
                handles.push(tokio::spawn(scheduled_sync(
                    cfg.clone(),
                    i,
                    ad_primary.clone(),
                    directory.clone(),
                    clock.clone(),
                    owed.clone(),
                    cancel.clone(),
                )));
            }
        }
    }
    Ok(SyncTasks { cancel, handles })
}

/// Starts everything and returns once it is running; the tasks stop when `cancel` fires.
pub async fn start(
    cfg: Arc<Config>,
    store: Store,
    clock: SharedClock,
    listeners: Listeners,
    cancel: CancellationToken,
) -> Result<Running, ServerError> {
    for w in &cfg.warnings {
        tracing::warn!("config: {w}");
    }
    let node = match (&cfg.cluster, listeners.cluster) {
        (Some(ccfg), Some(l)) => {
            ClusterNode::start(&cfg, ccfg, store.clone(), l, cancel.clone()).await?
        }
        _ => None,
    };
    let directory = Directory::new(store.clone(), node.clone())?;
    let claims: Option<Arc<dyn PeerClaims>> = match &node {
        Some(n) => Some(n.claims.clone()),
        None => None,
    };
    let metrics = cfg.metrics.as_ref().map(|_| Metrics::new(clock.clone()));
    let pipeline = Arc::new(pipeline_for(
        &cfg, &store, &clock, &claims, &metrics, &directory,
    )?);
    let live_pipeline = Arc::new(Live::new(pipeline.clone()));
    let health = Health::new();
    let mut sources: Vec<Arc<dyn Source>> = vec![health.clone()];
    if let Some(n) = &node {
        sources.push(n.clone());
    }
    let mut tasks = Vec::new();
    let listening = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // A listener's task, counted while it runs.
    let listener = |f: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| {
        let listening = listening.clone();
        listening.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            f.await;
            listening.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let mut radius = None;
    let mut accounting = None;
    if let Some(rcfg) = &cfg.radius {
        let clients = radius_clients(&cfg, rcfg, true)?;
        let mut fe = RadiusFrontend::new(
            rcfg,
            clients,
            pipeline.clone(),
            clock.clone(),
            store.clone(),
        )?;
        if let Some(n) = &node {
            fe = fe.with_cluster(&cfg.node_name, n.claims.clone());
        }
        if let Some(m) = &metrics {
            fe = fe.with_metrics(m);
        }
        let fe = Arc::new(fe.with_health(health.clone()));
        sources.push(fe.clone());
        for s in listeners.radius {
            if let Ok(a) = s.local_addr() {
                tracing::info!(address = %a, "radius: listening");
            }
            tasks.push(listener(Box::pin(
                fe.clone().run(Arc::new(s), cancel.clone()),
            )));
        }
        radius = Some(fe);
        accounting = start_accounting(
            &cfg,
            rcfg,
            &clock,
            listeners.accounting,
            &listener,
            &mut tasks,
            &cancel,
        )?;
        if let Some(a) = &accounting {
            sources.push(a.clone());
        }
    }
    let mut ldap = None;
    if let Some(lcfg) = &cfg.ldap {
        let mut fe = LdapFrontend::new(lcfg, pipeline.clone())?;
        if let Some(m) = &metrics {
            fe = fe.with_metrics(m);
        }
        let fe = Arc::new(fe);
        for (i, s) in listeners.ldap.into_iter().enumerate() {
            if let Ok(a) = s.local_addr() {
                let l = &lcfg.listeners[i];
                tracing::info!(address = %a, listener = %l.name, tls = ?l.tls, "ldap: listening");
            }
            tasks.push(listener(Box::pin(fe.clone().run(i, s, cancel.clone()))));
        }
        ldap = Some(fe);
    }
    // The admin commands see the reloaded config too (a provider added by a reload can be
    // given to a user at once).
    let admin_ctx = Arc::new(Live::new(Arc::new(AdminContext {
        cfg: cfg.clone(),
        store: store.clone(),
        clock: clock.clone(),
        directory: directory.clone(),
    })));
    if let Some(l) = listeners.admin {
        if let Some(n) = &node {
            let forwarded = admin_ctx.clone();
            n.set_admin_handler(Arc::new(move |req| {
                let ctx = forwarded.get();
                Box::pin(async move { admin::execute_forwarded(&ctx, req).await })
            }));
        }
        tasks.push(listener(Box::pin(admin::serve(
            l,
            admin_ctx.clone(),
            cancel.clone(),
        ))));
    }
    // Poked by a sync run that may have added users owed an invitation; the sweep waits on it.
    let owed = Arc::new(tokio::sync::Notify::new());
    let sync = spawn_sync(&cfg, &directory, &clock, &owed, &cancel)?;
    if let Ok(0) = store.read(|r| r.user_count()) {
        tracing::info!(
            "no users yet: add one with `mfagate user add NAME --password-stdin -c CONFIG`, \
             then `mfagate user enroll-totp NAME -c CONFIG` (works while the daemon runs)"
        );
    }
    if let (Some(l), Some(m)) = (listeners.metrics, &metrics) {
        if let Ok(a) = l.local_addr() {
            tracing::info!(address = %a, "metrics: listening (/metrics, /healthz, /readyz)");
        }
        for s in &sources {
            m.add_source(Arc::downgrade(s));
        }
        let serve = crate::metrics::http::serve(l, m.clone(), health.clone(), cancel.clone());
        tasks.push(listener(Box::pin(serve)));
    }
    tasks.push(tokio::spawn(crate::health::probe(
        health.clone(),
        store.clone(),
        live_pipeline.clone(),
        metrics.clone(),
        cancel.clone(),
    )));
    let live_cfg = Arc::new(Live::new(cfg.clone()));
    if let (Some(l), Some(pcfg)) = (listeners.portal, &cfg.portal) {
        let tls = crate::frontend::portal::acceptor(pcfg).map_err(ServerError::Portal)?;
        if let Ok(a) = l.local_addr() {
            tracing::info!(address = %a, url = %pcfg.public_url, tls = tls.is_some(), "portal: listening");
        }
        let portal = Arc::new(crate::frontend::portal::Portal::new(
            live_cfg.clone(),
            live_pipeline.clone(),
            store.clone(),
            clock.clone(),
        ));
        let serve =
            crate::frontend::portal::serve(l, tls, portal, pcfg.max_connections, cancel.clone());
        tasks.push(listener(Box::pin(serve)));
    }
    if cfg.email.is_some() {
        tasks.push(tokio::spawn(crate::invite::sweep_loop(
            live_cfg.clone(),
            store.clone(),
            directory.clone(),
            clock.clone(),
            owed.clone(),
            cancel.clone(),
        )));
    }
    tasks.push(tokio::spawn(housekeeping(
        live_cfg.clone(),
        store.clone(),
        clock.clone(),
        cancel.clone(),
    )));
    let reloader = Reloader {
        cfg: tokio::sync::Mutex::new(cfg.clone()),
        store,
        clock,
        claims,
        directory,
        pipeline: live_pipeline,
        live_cfg,
        admin: admin_ctx,
        sync: std::sync::Mutex::new(sync),
        owed,
        cancel,
        log_level: None,
    };
    let listeners = listening.load(std::sync::atomic::Ordering::SeqCst);
    {
        let (listening, all) = (listening.clone(), listeners);
        health.set_listeners_alive(move || {
            listening.load(std::sync::atomic::Ordering::SeqCst) == all
        });
    }
    Ok(Running {
        health,
        metrics,
        radius,
        accounting,
        ldap,
        cluster: node,
        tasks,
        reloader,
        listening,
        listeners,
    })
}

/// A spawned listener task, counted while it runs.
type ListenerTask<'a> = dyn Fn(
        std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> tokio::task::JoinHandle<()>
    + 'a;

/// The accounting port's front-end on its sockets, when there are any: the same clients and
/// secrets as the authentication port, and its own `[[upstream]]` instance (the group lists
/// accounting ports, so its health is its own).
fn start_accounting(
    cfg: &Config,
    rcfg: &crate::config::RadiusConfig,
    clock: &SharedClock,
    sockets: Vec<UdpSocket>,
    listener: &ListenerTask<'_>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    cancel: &CancellationToken,
) -> Result<Option<Arc<AccountingFrontend>>, ServerError> {
    if sockets.is_empty() {
        return Ok(None);
    }
    let clients = radius_clients(cfg, rcfg, false)?;
    let upstream = match &rcfg.accounting_upstream {
        Some(name) => {
            let ucfg = cfg
                .upstreams
                .iter()
                .find(|u| &u.name == name)
                .ok_or_else(|| {
                    ServerError::Accounting(format!("no [[upstream]] named \"{name}\""))
                })?;
            Some(
                crate::primary::radius_upstream::Upstream::new(ucfg, clock.clone())
                    .map_err(ServerError::Accounting)?,
            )
        }
        None => None,
    };
    let fe = Arc::new(AccountingFrontend::new(
        rcfg,
        clients,
        upstream,
        clock.clone(),
    ));
    for s in sockets {
        if let Ok(a) = s.local_addr() {
            tracing::info!(address = %a, upstream = rcfg.accounting_upstream.as_deref().unwrap_or("-"), "radius accounting: listening");
        }
        tasks.push(listener(Box::pin(
            fe.clone().run(Arc::new(s), cancel.clone()),
        )));
    }
    Ok(Some(fe))
}

async fn housekeeping(
    cfg: Arc<Live<Config>>,
    store: Store,
    clock: SharedClock,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(HOUSEKEEPING_EVERY_MS));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        // The reloaded `auth_log.retention_days` counts from the next round.
        let cfg = cfg.get();
        let now = clock.now_ms();
        let before = now.saturating_sub(cfg.auth_log.retention_days * 86_400_000);
        // In a cluster the log is also trimmed as peers merge it (`cluster::login_state`).
        let keep = cfg
            .cluster
            .as_ref()
            .map_or(CHANGELOG_KEEP, |c| c.login_log_keep);
        match store
            .write(move |tx| tx.purge(now, before, keep, 10_000))
            .await
        {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "housekeeping"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}

/// Runs one `[[sync]]` item at start-up and then every `interval`.
async fn scheduled_sync(
    cfg: Arc<Config>,
    index: usize,
    ad: Arc<crate::primary::ad::AdPrimary>,
    directory: Directory,
    clock: SharedClock,
    owed: Arc<tokio::sync::Notify>,
    cancel: CancellationToken,
) {
    let item = &cfg.sync[index];
    let crate::config::PrimaryConfig::Ad(ad_cfg) = &cfg.primary else {
        return;
    };
    let interval = std::time::Duration::from_millis(item.interval_ms);
    let mut due = tokio::time::Instant::now();
    loop {
        // In a cluster a member that is not the leader looks again shortly: when it becomes
        // the leader (at start, after a failover) it takes over a run that is due.
        let wake = match directory.node() {
            Some(_) => due.min(tokio::time::Instant::now() + LEADER_POLL),
            None => due,
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(wake) => {}
        }
        if tokio::time::Instant::now() < due {
            continue;
        }
        // The leader alone syncs: every node reading AD and proposing the same changes would
        // only make conflicts.
        if directory.node().is_some_and(|n| !n.is_leader()) {
            continue;
        }
        let run = crate::directory_sync::run_item(
            &ad,
            &directory,
            &clock,
            item,
            &cfg.sync,
            &ad_cfg.base_dn,
            &ad_cfg.user_filter,
            false,
        );
        tokio::select! {
            _ = cancel.cancelled() => break,
            r = run => match r {
                Err(e) => tracing::warn!(item = %item.name, error = %e, "sync failed; will retry at the next interval"),
                Ok(_) if item.invite_new_users => owed.notify_one(),
                Ok(_) => {}
            },
        }
        due = tokio::time::Instant::now() + interval;
    }
}
