//! Active Directory as the primary: find the user with the service account (search), then
//! check the password with one bind as that user's DN on a fresh connection.
//!
//! - Login names `alice`, `alice@corp.example` (for a configured UPN suffix) and `CORP\alice`
//!   (for the configured NetBIOS domain) become an escaped search filter (RFC 4515); exactly one
//!   entry must match.
//! - One login causes at most one bind as the user: mfagate must never be the reason an account
//!   locks out. (Retransmits are absorbed by the front-end before they reach here.)
//! - An unknown user still costs a bind (to a DN that does not exist), so that timing does not
//!   reveal which names exist; AD's sub-codes (52e, 533, 701, 773, 775, 532…) become a reason
//!   for the log, never for the client.
//! - User binds re-use idle connections (a re-bind is much cheaper than a TLS handshake); a
//!   connection that carried a user's bind is never used for a service-account search.
//! - Several domain controllers are tried in order; one that fails to connect is skipped for a
//!   back-off period (30 s, doubling up to 5 min) while another answers.
//! - Certificates are always verified against `ca_file`; there is no switch to turn that off.

use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3::{ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio::sync::Semaphore;

use crate::clock::SharedClock;
use crate::config::AdConfig;
use crate::primary::{DirEntry, DirQuery, DirResult, DirScope};

const BACKOFF_MIN_MS: u64 = 30_000;
const BACKOFF_MAX_MS: u64 = 300_000;
/// Idle bind connections older than this are not reused.
const BIND_IDLE_MS: u64 = 60_000;

#[derive(Debug, thiserror::Error)]
pub enum AdError {
    #[error("CA file {0}: {1}")]
    CaFile(String, String),
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("no domain controller reachable: {0}")]
    Unreachable(String),
    #[error("service account search failed: {0}")]
    Search(String),
}

/// The AD account that passed the password check.
#[derive(Debug, Clone)]
pub struct AdUser {
    pub dn: String,
    pub sam_account_name: String,
    pub user_principal_name: Option<String>,
    /// What the entry's account state refuses (disabled, expired, locked out), read with
    /// the search; the bind finds the same, so only a login without a password (an RD
    /// Gateway's) needs it.
    pub state_refusal: Option<AdReject>,
}

/// Reads a PEM bundle into a root store; at least one certificate is required.
pub fn load_roots(path: &Path) -> Result<RootCertStore, AdError> {
    let err = |m: String| AdError::CaFile(path.display().to_string(), m);
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))?;
    for c in certs {
        let c = c.map_err(|e| err(e.to_string()))?;
        roots.add(c).map_err(|e| err(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(err("no certificate in the file".into()));
    }
    Ok(roots)
}

struct Dc {
    url: String,
    down_until_ms: AtomicU64,
    failures: AtomicU32,
}

pub struct AdPrimary {
    cfg: AdConfig,
    tls: Arc<ClientConfig>,
    dcs: Vec<Dc>,
    clock: SharedClock,
    /// Idle service-account connections, with the index of their DC.
    idle: Mutex<Vec<(usize, Ldap)>>,
    /// Bounds concurrent service-account searches to `pool_size`.
    slots: Semaphore,
    /// Idle connections for user binds, with their DC and when they were last used. Never
    /// used for searches: after a bind they carry the user's identity.
    bind_idle: Mutex<Vec<(usize, Ldap, u64)>>,
    /// A DN that cannot exist, for the timing-equalising bind of unknown users.
    decoy_dn: String,
    /// Where each call to a DC is timed (`[metrics]`); set once, after construction.
    metrics: std::sync::OnceLock<Arc<crate::metrics::Metrics>>,
}

impl AdPrimary {
    pub fn new(cfg: AdConfig, clock: SharedClock) -> Result<Self, AdError> {
        let roots = load_roots(&cfg.ca_file)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| AdError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let dcs = cfg
            .urls
            .iter()
            .map(|u| Dc {
                url: u.clone(),
                down_until_ms: AtomicU64::new(0),
                failures: AtomicU32::new(0),
            })
            .collect();
        let mut rnd = [0u8; 8];
        getrandom::getrandom(&mut rnd).map_err(|e| AdError::Tls(e.to_string()))?;
        let decoy_dn = format!(
            "CN=mfagate-no-such-user-{},{}",
            crate::store::model::hex(&rnd),
            cfg.base_dn
        );
        Ok(Self {
            slots: Semaphore::new(cfg.pool_size),
            cfg,
            tls: Arc::new(tls),
            dcs,
            clock,
            idle: Mutex::new(Vec::new()),
            bind_idle: Mutex::new(Vec::new()),
            decoy_dn,
            metrics: std::sync::OnceLock::new(),
        })
    }

    pub fn set_metrics(&self, m: Arc<crate::metrics::Metrics>) {
        let _ = self.metrics.set(m);
    }

    /// Each DC's URL and whether it is out of its back-off.
    pub fn dc_health(&self) -> Vec<(String, bool)> {
        let now = self.clock.now_ms();
        self.dcs
            .iter()
            .map(|d| {
                (
                    d.url.clone(),
                    d.down_until_ms.load(Ordering::Relaxed) <= now,
                )
            })
            .collect()
    }

    /// One call to DC `i` that started at `started`; `ok`: the DC answered.
    fn measured(&self, i: usize, op: &'static str, started: std::time::Instant, ok: bool) {
        if let Some(m) = self.metrics.get() {
            m.ad_call(&self.dcs[i].url, op, started.elapsed(), ok);
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_secs)
    }

    /// DC indexes in the order to try: healthy ones in configured order, then the ones in
    /// back-off (better a slow answer than none).
    fn dc_order(&self) -> Vec<usize> {
        let now = self.clock.now_ms();
        let (up, down): (Vec<usize>, Vec<usize>) = (0..self.dcs.len())
            .partition(|&i| self.dcs[i].down_until_ms.load(Ordering::Relaxed) <= now);
        up.into_iter().chain(down).collect()
    }

    fn mark_down(&self, i: usize, why: &str) {
        let dc = &self.dcs[i];
        let n = dc.failures.fetch_add(1, Ordering::Relaxed).min(4);
        let backoff = (BACKOFF_MIN_MS << n).min(BACKOFF_MAX_MS);
        dc.down_until_ms
            .store(self.clock.now_ms() + backoff, Ordering::Relaxed);
        tracing::warn!(dc = %dc.url, error = why, backoff_secs = backoff / 1000, "AD: domain controller unreachable");
    }

    fn mark_up(&self, i: usize) {
        let dc = &self.dcs[i];
        if dc.failures.swap(0, Ordering::Relaxed) > 0 {
            tracing::info!(dc = %dc.url, "AD: domain controller reachable again");
        }
        dc.down_until_ms.store(0, Ordering::Relaxed);
    }

    /// Connects (TCP, TLS with verification, StartTLS when configured); the error is why, and
    /// means "try another DC".
    async fn connect(&self, i: usize) -> Result<Ldap, String> {
        let settings = LdapConnSettings::new()
            .set_config(self.tls.clone())
            .set_starttls(self.cfg.starttls)
            .set_conn_timeout(self.timeout());
        let started = std::time::Instant::now();
        let connected = LdapConnAsync::with_settings(settings, &self.dcs[i].url).await;
        self.measured(i, "connect", started, connected.is_ok());
        let (conn, ldap) = connected.map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "AD: connection closed");
            }
        });
        Ok(ldap)
    }

    /// A fresh service-account connection on the first DC that works.
    async fn service_connection(&self) -> Result<(usize, Ldap), AdError> {
        let mut errors = Vec::new();
        for i in self.dc_order() {
            let mut ldap = match self.connect(i).await {
                Ok(l) => l,
                Err(e) => {
                    self.mark_down(i, &e);
                    errors.push(format!("{}: {e}", self.dcs[i].url));
                    continue;
                }
            };
            let started = std::time::Instant::now();
            let bound = ldap
                .with_timeout(self.timeout())
                .simple_bind(&self.cfg.bind_dn, self.cfg.bind_password.expose())
                .await;
            self.measured(i, "service_bind", started, bound.is_ok());
            match bound.map(|r| r.success()) {
                Ok(Ok(_)) => {
                    self.mark_up(i);
                    return Ok((i, ldap));
                }
                Ok(Err(e)) => {
                    // The DC answered: the service account itself is refused. Another DC will
                    // say the same, so report it instead of failing over.
                    return Err(AdError::Search(format!(
                        "service account bind as {} refused: {e}",
                        self.cfg.bind_dn
                    )));
                }
                Err(e) => {
                    self.mark_down(i, &e.to_string());
                    errors.push(format!("{}: {e}", self.dcs[i].url));
                }
            }
        }
        Err(AdError::Unreachable(errors.join("; ")))
    }

    /// Runs a search on a pooled service-account connection (one retry on a fresh connection
    /// if the pooled one has gone stale). Referrals are dropped, never followed.
    async fn pooled_search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<(usize, Vec<SearchEntry>), AdError> {
        self.on_service_pool(|mut ldap| async move {
            let res = ldap
                .with_timeout(self.timeout())
                .search(base, scope, filter, attrs.to_vec())
                .await
                .and_then(|r| r.success());
            let entries = match res {
                Ok((entries, _)) => Ok(entries
                    .into_iter()
                    .filter(|e| !e.is_ref())
                    .map(SearchEntry::construct)
                    .collect()),
                // noSuchObject on a base search: the entry is not there, not an error.
                Err(ldap3::LdapError::LdapResult { result }) if result.rc == 32 => Ok(Vec::new()),
                Err(e) => Err(e),
            };
            (ldap, entries)
        })
        .await
    }

    /// Runs `op` on a pooled service-account connection (at most `pool_size` at once),
    /// retrying once on a fresh connection when a pooled one has gone stale. `op` hands the
    /// connection back with its result; after an `Ok` it returns to the pool.
    async fn on_service_pool<T, F, Fut>(&self, op: F) -> Result<(usize, T), AdError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: std::future::Future<Output = (Ldap, Result<T, ldap3::LdapError>)>,
    {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| AdError::Search(e.to_string()))?;
        for attempt in 0..2 {
            let pooled = if attempt == 0 { self.take_idle() } else { None };
            let (dc, ldap) = match pooled {
                Some(p) => p,
                None => self.service_connection().await?,
            };
            let started = std::time::Instant::now();
            let done = op(ldap).await;
            self.measured(dc, "search", started, done.1.is_ok());
            match done {
                (ldap, Ok(v)) => {
                    self.put_idle(dc, ldap);
                    return Ok((dc, v));
                }
                (_, Err(e)) if attempt == 0 => {
                    tracing::debug!(error = %e, "AD: pooled connection failed; reconnecting");
                }
                (_, Err(e)) => return Err(AdError::Search(e.to_string())),
            }
        }
        Err(AdError::Search("unreachable".into()))
    }

    fn take_idle(&self) -> Option<(usize, Ldap)> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn put_idle(&self, dc: usize, ldap: Ldap) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((dc, ldap));
    }

    async fn find_user(&self, filter: &str) -> Result<(usize, Vec<SearchEntry>), AdError> {
        let full = format!("(&{}{filter})", self.cfg.user_filter);
        self.pooled_search(
            &self.cfg.base_dn,
            Scope::Subtree,
            &full,
            &[
                "sAMAccountName",
                "userPrincipalName",
                "userAccountControl",
                "accountExpires",
                "msDS-User-Account-Control-Computed",
            ],
        )
        .await
    }

    /// Whether `user_dn` is a member of `group_dn`, directly or through nested groups
    /// (LDAP_MATCHING_RULE_IN_CHAIN), as the service account sees it.
    pub async fn member_of(&self, user_dn: &str, group_dn: &str) -> Result<bool, AdError> {
        let filter = format!(
            "(memberOf:1.2.840.113556.1.4.1941:={})",
            ldap_escape(group_dn)
        );
        let (_, entries) = self
            .pooled_search(user_dn, Scope::Base, &filter, &["1.1"])
            .await?;
        Ok(!entries.is_empty())
    }

    /// A connection for a user bind: an idle one to `dc` (re-binding is cheaper than a TLS
    /// handshake), else a fresh one. Idle connections older than `BIND_IDLE_MS` are dropped
    /// before a DC's idle timeout (AD: 900 s) can close them under us.
    async fn bind_connection(&self, dc: usize) -> Result<(Ldap, bool), String> {
        let now = self.clock.now_ms();
        let pooled = {
            let mut idle = self.bind_idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|(_, _, used)| now.saturating_sub(*used) < BIND_IDLE_MS);
            idle.iter()
                .position(|(i, _, _)| *i == dc)
                .map(|pos| idle.swap_remove(pos).1)
        };
        match pooled {
            Some(l) => Ok((l, true)),
            None => Ok((self.connect(dc).await?, false)),
        }
    }

    /// One bind as `dn`, on the DC that found the user when it still answers, else another.
    async fn bind_as(
        &self,
        first_dc: usize,
        dn: &str,
        password: &str,
    ) -> Result<Result<(), AdReject>, AdError> {
        let mut order = vec![first_dc];
        order.extend(self.dc_order().into_iter().filter(|&i| i != first_dc));
        let mut errors = Vec::new();
        for i in order {
            let (mut ldap, pooled) = match self.bind_connection(i).await {
                Ok(l) => l,
                Err(e) => {
                    self.mark_down(i, &e);
                    errors.push(e);
                    continue;
                }
            };
            let started = std::time::Instant::now();
            let res = ldap
                .with_timeout(self.timeout())
                .simple_bind(dn, password)
                .await;
            self.measured(i, "bind", started, res.is_ok());
            let answer = match &res {
                Ok(r) if r.rc == 0 => Ok(()),
                Ok(r) => Err(map_bind_failure(r.rc, &r.text)),
                // The bind may have reached AD: never retry it on another DC (lockout).
                Err(e) => {
                    let how = if pooled { "pooled" } else { "fresh" };
                    return Err(AdError::Unreachable(format!(
                        "bind failed on a {how} connection: {e}"
                    )));
                }
            };
            let mut idle = self.bind_idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < self.cfg.pool_size * 2 {
                idle.push((i, ldap, self.clock.now_ms()));
            }
            return Ok(answer);
        }
        Err(AdError::Unreachable(errors.join("; ")))
    }

    pub async fn verify(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Result<AdUser, AdReject>, AdError> {
        let candidate = self.find(login).await?;
        self.check(&candidate, password).await
    }

    /// Looks the login name up with the service account (no bind yet), so that callers can
    /// decide on the entry (e.g. an LDAP exemption by DN or group) before the password is
    /// checked.
    pub async fn find(&self, login: &str) -> Result<AdCandidate, AdError> {
        let filter = match dn_filter(login, &self.cfg.base_dn)
            .map(Ok)
            .unwrap_or_else(|| {
                login_filter(
                    login,
                    self.cfg.netbios_domain.as_deref(),
                    &self.cfg.upn_suffixes,
                )
            }) {
            Ok(f) => f,
            Err(r) => {
                return Ok(AdCandidate {
                    dc: self.dc_order().first().copied().unwrap_or(0),
                    found: Err(r),
                })
            }
        };
        let (dc, entries) = self.find_user(&filter).await?;
        if entries.len() != 1 {
            let reject = if entries.is_empty() {
                AdReject::NoSuchUser
            } else {
                AdReject::Ambiguous(entries.len())
            };
            return Ok(AdCandidate {
                dc,
                found: Err(reject),
            });
        }
        let entry = &entries[0];
        let first = |a: &str| entry.attrs.get(a).and_then(|v| v.first()).cloned();
        let found = match first("sAMAccountName") {
            Some(sam) => Ok(AdUser {
                dn: entry.dn.clone(),
                sam_account_name: sam,
                user_principal_name: first("userPrincipalName"),
                state_refusal: state_refusal(entry, self.clock.now_ms()),
            }),
            None => Err(AdReject::NoSuchUser),
        };
        Ok(AdCandidate { dc, found })
    }

    /// A candidate for a DN the configuration names (an exempt service account): no search,
    /// the bind alone decides. Its name in the log is the DN.
    pub fn known_dn(&self, dn: &str) -> AdCandidate {
        AdCandidate {
            dc: self.dc_order().first().copied().unwrap_or(0),
            found: Ok(AdUser {
                dn: dn.to_owned(),
                sam_account_name: dn.to_owned(),
                user_principal_name: None,
                state_refusal: None,
            }),
        }
    }

    /// One bind as the candidate; a candidate that was not found still costs a bind (to a
    /// DN that cannot exist), so timing does not tell the difference.
    pub async fn check(
        &self,
        candidate: &AdCandidate,
        password: &str,
    ) -> Result<Result<AdUser, AdReject>, AdError> {
        if password.is_empty() {
            // RFC 4513 §5.1.2: an empty password is an unauthenticated bind that "succeeds".
            return Ok(Err(AdReject::WrongPassword));
        }
        match &candidate.found {
            Ok(user) => Ok(self
                .bind_as(candidate.dc, &user.dn, password)
                .await?
                .map(|()| user.clone())),
            Err(reject) => {
                if !matches!(reject, AdReject::OutsideDomains) {
                    let _ = self.bind_as(candidate.dc, &self.decoy_dn, password).await;
                }
                Ok(Err(reject.clone()))
            }
        }
    }
}

/// The result of [`AdPrimary::find`]: the entry (or why there is none) and the DC that
/// answered, where the bind should go too (replication lag).
#[derive(Debug, Clone)]
pub struct AdCandidate {
    dc: usize,
    pub found: Result<AdUser, AdReject>,
}

impl AdPrimary {
    /// Streams every entry of a large search to `on_entry`, page by page (AD returns at most
    /// 1000 entries per page), on a dedicated service-account connection. Referrals are
    /// dropped. Used by the directory sync, which may read 100,000 users.
    pub async fn search_paged(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        mut on_entry: impl FnMut(SearchEntry),
    ) -> Result<(), AdError> {
        use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
        let (_, mut ldap) = self.service_connection().await?;
        let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(500)),
        ];
        let mut stream = ldap
            .streaming_search_with(adapters, base, scope, filter, attrs.to_vec())
            .await
            .map_err(|e| AdError::Search(e.to_string()))?;
        while let Some(entry) = stream
            .next()
            .await
            .map_err(|e| AdError::Search(e.to_string()))?
        {
            on_entry(SearchEntry::construct(entry));
        }
        let res = stream.finish().await;
        let _ = ldap.unbind().await;
        res.success().map_err(|e| AdError::Search(e.to_string()))?;
        Ok(())
    }
}

/// What `mfagate doctor` learned about one domain controller.
#[derive(Debug)]
pub struct DcCheck {
    pub url: String,
    /// TCP, TLS (certificate verified) and, for ldap:// URLs, StartTLS.
    pub connect: Result<(), String>,
    pub bind: Option<Result<(), String>>,
    pub base_search: Option<Result<(), String>>,
}

impl AdPrimary {
    /// Checks every DC in turn, ignoring back-off: connect, service-account bind, base search.
    pub async fn check_dcs(&self) -> Vec<DcCheck> {
        let mut out = Vec::new();
        for i in 0..self.dcs.len() {
            let mut check = DcCheck {
                url: self.dcs[i].url.clone(),
                connect: Ok(()),
                bind: None,
                base_search: None,
            };
            let mut ldap = match self.connect(i).await {
                Ok(l) => l,
                Err(e) => {
                    check.connect = Err(e);
                    out.push(check);
                    continue;
                }
            };
            let bind = ldap
                .with_timeout(self.timeout())
                .simple_bind(&self.cfg.bind_dn, self.cfg.bind_password.expose())
                .await
                .and_then(|r| r.success().map(|_| ()))
                .map_err(|e| e.to_string());
            let bound = bind.is_ok();
            check.bind = Some(bind);
            if bound {
                check.base_search = Some(
                    ldap.with_timeout(self.timeout())
                        .search(
                            &self.cfg.base_dn,
                            Scope::Base,
                            "(objectClass=*)",
                            vec!["1.1"],
                        )
                        .await
                        .and_then(|r| r.success().map(|_| ()))
                        .map_err(|e| e.to_string()),
                );
            }
            let _ = ldap.unbind().await;
            out.push(check);
        }
        out
    }
}

mod account;
mod proxy;
use account::state_refusal;
pub use account::{dn_filter, login_filter, map_bind_failure, AdReject};
pub use proxy::AdUserConn;
