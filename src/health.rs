//! Whether this node can decide a login right now ("ready"), and whether it still runs its
//! loops ("alive"): what `/readyz` and `/healthz` answer, and what the RADIUS front-end asks
//! before answering a Status-Server.
//!
//! A background task ([`probe`]) looks about once a second: the store is writable when an
//! empty durable commit finishes within [`STORE_TIMEOUT`] (the writer, the disk and the fsync
//! all work; the way the systemd watchdog checks it), and the primary is reachable when not
//! every one of its servers is held down (AD keeps per-DC health, an `[[upstream]]` group
//! per-server health; the local directory is always there). The probe only observes: it
//! neither retries nor repairs anything.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::auth::{Pipeline, PrimaryStatus};
use crate::metrics::{Metrics, Samples, Source};
use crate::store::Store;

/// How often the probe looks.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// An empty commit slower than this counts as a store that cannot write. Generous: a busy
/// disk's fsync can take a second, and flapping in and out of a load balancer is worse than
/// noticing a stuck store a moment later.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(3);
/// `/healthz` fails when the probe has not finished a round for this long (the runtime or
/// the probe itself is stuck).
const ALIVE_WITHIN: Duration = Duration::from_secs(15);

pub struct Health {
    /// Until the first probe says otherwise: the store was just opened, so it could write.
    store_writable: AtomicBool,
    /// Why the node is not ready; empty when it is.
    problems: Mutex<Vec<String>>,
    primaries: Mutex<Vec<PrimaryStatus>>,
    started: Instant,
    /// When the probe last finished a round, in ms since `started`.
    last_round_ms: AtomicU64,
    listeners_alive: OnceLock<Box<dyn Fn() -> bool + Send + Sync>>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            store_writable: AtomicBool::new(true),
            problems: Mutex::new(Vec::new()),
            primaries: Mutex::new(Vec::new()),
            started: Instant::now(),
            last_round_ms: AtomicU64::new(0),
            listeners_alive: OnceLock::new(),
        }
    }
}

impl Health {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether the last probe's empty commit went through in time.
    pub fn store_writable(&self) -> bool {
        self.store_writable.load(Ordering::Relaxed)
    }

    /// `Err` with the reasons when this node cannot decide a login.
    pub fn ready(&self) -> Result<(), Vec<String>> {
        let p = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        if p.is_empty() {
            Ok(())
        } else {
            Err(p.clone())
        }
    }

    /// `Err` with the reason when a loop of the daemon has stopped.
    pub fn alive(&self) -> Result<(), String> {
        if self.listeners_alive.get().is_some_and(|f| !f()) {
            return Err("a listener has stopped".into());
        }
        let last = Duration::from_millis(self.last_round_ms.load(Ordering::Relaxed));
        if self.started.elapsed().saturating_sub(last) > ALIVE_WITHIN {
            return Err(format!(
                "the health probe has not finished a round for over {} s",
                ALIVE_WITHIN.as_secs()
            ));
        }
        Ok(())
    }

    /// What tells whether every listener still runs (set once, by the server).
    pub fn set_listeners_alive(&self, f: impl Fn() -> bool + Send + Sync + 'static) {
        let _ = self.listeners_alive.set(Box::new(f));
    }

    fn record(&self, store: Result<(), String>, primaries: Vec<PrimaryStatus>) {
        let mut problems = Vec::new();
        if let Err(e) = &store {
            problems.push(format!("store: {e}"));
        }
        for p in primaries.iter().filter(|p| p.default && !p.reachable()) {
            let servers: Vec<&str> = p.servers.iter().map(|(s, _)| s.as_str()).collect();
            problems.push(format!(
                "primary {}: every server is held down ({})",
                p.name,
                servers.join(", ")
            ));
        }
        let was = self.store_writable.swap(store.is_ok(), Ordering::Relaxed);
        match (&store, was) {
            (Err(e), true) => tracing::error!(
                error = %e,
                "health: the store takes no writes: not ready, Status-Server unanswered"
            ),
            (Ok(()), false) => tracing::info!("health: the store takes writes again"),
            _ => {}
        }
        *self.problems.lock().unwrap_or_else(|p| p.into_inner()) = problems;
        *self.primaries.lock().unwrap_or_else(|p| p.into_inner()) = primaries;
        let now = self.started.elapsed().as_millis() as u64;
        self.last_round_ms.store(now, Ordering::Relaxed);
    }
}

impl Source for Health {
    fn collect(&self, out: &mut Samples) {
        out.gauge(
            "ready",
            "1 when this node can decide a login (store writable, primary reachable)",
            &[],
            if self.ready().is_ok() { 1.0 } else { 0.0 },
        );
        out.gauge(
            "store_writable",
            "1 when the readiness probe's empty commit went through in time",
            &[],
            if self.store_writable() { 1.0 } else { 0.0 },
        );
        let primaries = self.primaries.lock().unwrap_or_else(|p| p.into_inner());
        for p in primaries.iter() {
            for (server, up) in &p.servers {
                out.gauge(
                    "primary_server_up",
                    "1 when a domain controller or upstream RADIUS server is not held down",
                    &[("primary", &p.name), ("server", server)],
                    if *up { 1.0 } else { 0.0 },
                );
            }
        }
    }
}

/// Looks every [`PROBE_EVERY`] until `cancel`.
pub async fn probe(
    health: Arc<Health>,
    store: Store,
    pipeline: Arc<crate::live::Live<Pipeline>>,
    metrics: Option<Arc<Metrics>>,
    cancel: CancellationToken,
) {
    loop {
        let started = Instant::now();
        let commit = tokio::select! {
            _ = cancel.cancelled() => return,
            r = tokio::time::timeout(STORE_TIMEOUT, store.write(|_| Ok(()))) => r,
        };
        // The store's own verdict first: it knows damage and a reopen in progress, which an
        // empty commit (satisfied by pages the file already has) may not show on a full disk.
        let store_ok = match (store.health(), commit) {
            (Err(e), _) => Err(e),
            (Ok(()), Ok(Ok(()))) => {
                if let Some(m) = &metrics {
                    m.store_commit(started.elapsed());
                }
                Ok(())
            }
            (Ok(()), Ok(Err(e))) => Err(format!("an empty commit failed: {e}")),
            (Ok(()), Err(_)) => Err(format!(
                "an empty commit did not finish within {} s",
                STORE_TIMEOUT.as_secs()
            )),
        };
        // The pipeline a reload installed last: its primaries are the ones logins now use.
        health.record(store_ok, pipeline.get().primary_status());
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(PROBE_EVERY) => {}
        }
    }
}
