//! [`Pipeline`]: primary, then second factor, then one audit record, with the state changes
//! of a code attempt (replay guard, failure counter, challenge attempts) and the audit record
//! committed in one store transaction.
//!
//! Second factors other than TOTP go through [`SecondFactor`] providers; the pipeline owns
//! what is common to them all: the pending challenge in the store, push limits, waiting for
//! an answer on the phone, failmode, lockout on fraud and the audit record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

mod account;
mod bind;
mod codes;
mod measured;
mod peers;
pub mod portal;
mod provider;
mod push;
mod reply;
mod upstream;
use push::{poll_answer, release_reservation};
pub use upstream::account_name;

use super::bind_cache::{BindCache, BindKey};
use super::{split_appended_code, AuthError, AuthRequest, Bound, Credential, Decision};
use crate::clock::SharedClock;
use crate::config::{Config, FailMode, Method, PolicyAction, PolicyRule, PushMode, UnknownUsers};
use crate::factor::totp::{self, CodeOutcome};
use crate::factor::{
    sms, Answer, CodeVerdict, FactorError, Precheck, Recipient, SecondFactor, Started,
};
use crate::primary::{Candidate, DirEntry, DirQuery, DirResult, Identity, Primary, UserDirectory};
use crate::store::model::{
    hex, unhex, user_key, AuthRecord, AuthResult, ChallengeRecord, FactorFailures, PendingFactor,
    SmsCodeHash, UserRecord,
};
use crate::store::{Store, StoreError, Tx};
use subtle::ConstantTimeEq;

pub struct Pipeline {
    cfg: Arc<Config>,
    store: Store,
    clock: SharedClock,
    primary: Primary,
    bind_cache: Option<BindCache>,
    /// Every `[[factor.provider]]`, by name.
    factors: HashMap<String, Arc<dyn SecondFactor>>,
    /// In a cluster: peers acknowledge a spent one-time credential before it is accepted.
    claims: Option<Arc<dyn super::PeerClaims>>,
    /// Where a one-time bypass is used up: through Raft in a cluster, so one login takes it.
    directory: crate::cluster::Directory,
    /// This node's address for the authentication records (see [`node_ip`]).
    node_ip: Option<String>,
    /// Which `[[upstream]]` group checks a RADIUS client's requests (its own `primary`, or
    /// `[primary] backend = "radius"`), by client name; `None` under the key "" is the default.
    upstreams: upstream::Routes,
    /// Where decisions and pending challenges are counted (`[metrics]`).
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// One primary's servers and whether each is out of its hold-down, for readiness and the
/// `mfagate_primary_server_up` gauge.
#[derive(Debug, Clone)]
pub struct PrimaryStatus {
    /// "local", "ad", or "upstream NAME".
    pub name: String,
    /// The `[primary]` one (not a RADIUS client's own `[[upstream]]` group).
    pub default: bool,
    /// Server (DC URL, address) and whether it is in service; empty for the local directory.
    pub servers: Vec<(String, bool)>,
}

impl PrimaryStatus {
    /// Not every server is held down (the local directory always is reachable).
    pub fn reachable(&self) -> bool {
        self.servers.is_empty() || self.servers.iter().any(|(_, up)| *up)
    }
}

fn upstream_status(u: &crate::primary::radius_upstream::Upstream, default: bool) -> PrimaryStatus {
    PrimaryStatus {
        name: format!("upstream {}", u.name()),
        default,
        servers: u
            .servers_up()
            .into_iter()
            .map(|(a, up)| (a.to_string(), up))
            .collect(),
    }
}

/// The address an authentication record names for this node: the first specific (not
/// wildcard) address it listens on, the cluster's first; none when it listens on wildcards
/// only (the name still tells the nodes apart).
fn node_ip(cfg: &Config) -> Option<String> {
    let cluster = cfg.cluster.iter().map(|c| c.listen.ip());
    let radius = cfg
        .radius
        .iter()
        .flat_map(|r| r.listen.iter().map(|a| a.ip()));
    let ldap = cfg
        .ldap
        .iter()
        .flat_map(|l| l.listeners.iter().map(|x| x.address.ip()));
    cluster
        .chain(radius)
        .chain(ldap)
        .find(|ip| !ip.is_unspecified())
        .map(|ip| ip.to_string())
}

/// DNs compare case-insensitively and without the spaces people put after commas.
fn same_dn(a: &str, b: &str) -> bool {
    crate::primary::normalize_dn(a) == crate::primary::normalize_dn(b)
}

/// The audit facts gathered while deciding.
struct Audit<'a> {
    req: &'a AuthRequest,
    user: String,
    method: &'static str,
    policy: Option<String>,
    /// Attributes for the Accept (granted by the upstream RADIUS server).
    grant: super::ReplyAttributes,
    /// Attributes for the Reject (the upstream's own, e.g. MS-CHAP-Error).
    refusal: super::ReplyAttributes,
    /// The user's record, once found: its display name, e-mail and phone go into the record.
    contact: Option<Contact>,
}

/// What the authentication record shows of a user besides the name.
#[derive(Clone)]
struct Contact {
    display_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

impl Contact {
    fn of(u: &UserRecord) -> Self {
        Contact {
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
        }
    }
}

impl Audit<'_> {
    fn new(req: &AuthRequest) -> Audit<'_> {
        Audit {
            req,
            user: req.user_name.clone(),
            method: "password",
            policy: None,
            grant: Vec::new(),
            refusal: Vec::new(),
            contact: None,
        }
    }

    /// Whether the client can show an Access-Challenge and send its answer: not an LDAP
    /// bind, nor a credential relayed to an upstream (MS-CHAPv2, EAP), nor a request with no
    /// credential (RD Gateway). Those get a code appended, or a push or call they wait for.
    fn can_challenge(&self) -> bool {
        matches!(
            self.req.credential,
            Credential::Password(_)
                | Credential::PasswordAndCode { .. }
                | Credential::ChallengeResponse { .. }
        )
    }
}

const STALE_CHALLENGE: &str = "unknown, expired or used challenge state";
const SMS_OVER_LDAP: &str =
    "SMS is not offered over LDAP: a simple bind cannot carry the challenge";

/// Where the password check leaves a login.
enum AfterPrimary {
    Reject(String),
    /// Password only: a bypass rule or `unknown_users = "bypass"`. The reason is logged.
    Accept(String),
    SecondFactor(Box<UserRecord>),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Unavailable(e.to_string())
    }
}

impl From<crate::primary::PrimaryError> for AuthError {
    fn from(e: crate::primary::PrimaryError) -> Self {
        AuthError::Unavailable(e.to_string())
    }
}

impl Pipeline {
    pub fn new(cfg: Arc<Config>, store: Store, clock: SharedClock) -> Result<Self, AuthError> {
        let upstreams =
            upstream::Routes::new(&cfg, clock.clone()).map_err(AuthError::Unavailable)?;
        let primary = match upstreams.default_group() {
            Some(u) => Primary::Radius(u),
            None => Primary::new(&cfg.primary, store.clone(), clock.clone())
                .map_err(AuthError::Unavailable)?,
        };
        let bind_cache = match cfg.ldap.as_ref().map(|l| l.bind_cache_secs) {
            Some(secs) if secs > 0 => {
                Some(BindCache::new(secs).map_err(|e| AuthError::Unavailable(e.to_string()))?)
            }
            _ => None,
        };
        let mut factors = HashMap::new();
        for p in &cfg.factor.providers {
            let built =
                crate::factor::build(p).map_err(|e| AuthError::Unavailable(e.to_string()))?;
            factors.insert(p.name().to_owned(), built);
        }
        let directory = crate::cluster::Directory::new(store.clone(), None)
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        Ok(Self {
            store,
            clock,
            primary,
            bind_cache,
            factors,
            claims: None,
            upstreams,
            metrics: None,
            node_ip: node_ip(&cfg),
            directory,
            cfg,
        })
    }

    /// Counts decisions, pending challenges and pushes, and times the calls to AD, upstream
    /// RADIUS servers and providers, in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        if let Primary::Ad(ad) = &self.primary {
            ad.set_metrics(metrics.clone());
        }
        if let Primary::Radius(u) = &self.primary {
            u.set_metrics(metrics.clone());
        }
        self.upstreams.set_metrics(&metrics);
        for f in self.factors.values_mut() {
            *f = measured::Measured::wrap(f.clone(), metrics.clone());
        }
        self.metrics = Some(metrics);
        self
    }

    /// The default primary first, then each RADIUS client's own `[[upstream]]` group.
    pub fn primary_status(&self) -> Vec<PrimaryStatus> {
        let mut out = vec![match &self.primary {
            Primary::Local(_) => PrimaryStatus {
                name: "local".into(),
                default: true,
                servers: Vec::new(),
            },
            Primary::Ad(ad) => PrimaryStatus {
                name: "ad".into(),
                default: true,
                servers: ad.dc_health(),
            },
            Primary::Radius(u) => upstream_status(u, true),
        }];
        for u in self.upstreams.client_groups() {
            if !out
                .iter()
                .any(|p| p.name == format!("upstream {}", u.name()))
            {
                out.push(upstream_status(&u, false));
            }
        }
        out
    }

    fn challenge_opened(&self, expires_ms: u64) {
        if let Some(m) = &self.metrics {
            m.challenge_opened(expires_ms);
        }
    }

    fn challenge_closed(&self, expires_ms: u64) {
        if let Some(m) = &self.metrics {
            m.challenge_closed(expires_ms);
        }
    }

    /// Counts a request waiting on the phone while the guard lives.
    fn push_waiting(&self) -> Option<crate::metrics::PushWaiting> {
        self.metrics.as_ref().map(|m| m.push_waiting())
    }

    /// Uses up one-time bypasses through the cluster's directory (Raft) instead of the local
    /// store.
    pub fn with_directory(mut self, directory: crate::cluster::Directory) -> Self {
        self.directory = directory;
        self
    }

    /// Has every one-time credential acknowledged by the cluster's peers before acceptance.
    pub fn with_claims(mut self, claims: Arc<dyn super::PeerClaims>) -> Self {
        self.claims = Some(claims);
        self
    }

    pub async fn authenticate(&self, req: AuthRequest) -> Result<Decision, AuthError> {
        let mut audit = Audit::new(&req);
        match &req.credential {
            Credential::Relayed(kind) => Box::pin(self.relayed(&mut audit, *kind)).await,
            Credential::NameOnly => Box::pin(self.name_only(&mut audit)).await,
            Credential::Eap { state } => Box::pin(self.eap(&mut audit, state.as_deref())).await,
            Credential::Unsupported(what) => {
                let reason = format!("unsupported authentication: {what}");
                self.finish_reject(&audit, &reason).await
            }
            Credential::Password(pw) => {
                match Box::pin(self.check_password(&mut audit, pw.expose())).await? {
                    AfterPrimary::Reject(reason) => self.finish_reject(&audit, &reason).await,
                    AfterPrimary::Accept(reason) => {
                        self.finish(&audit, AuthResult::Accept, &reason).await
                    }
                    AfterPrimary::SecondFactor(user) => {
                        Box::pin(self.second_factor(&audit, &user, "")).await
                    }
                }
            }
            Credential::PasswordAndCode { password, code } => {
                match Box::pin(self.check_password(&mut audit, password.expose())).await? {
                    AfterPrimary::Reject(reason) => self.finish_reject(&audit, &reason).await,
                    AfterPrimary::Accept(reason) => {
                        self.finish(&audit, AuthResult::Accept, &reason).await
                    }
                    AfterPrimary::SecondFactor(user) => {
                        Box::pin(self.second_factor(&audit, &user, code.expose())).await
                    }
                }
            }
            Credential::Bind { .. } => Ok(Box::pin(self.authenticate_bind(&req, false)).await?.0),
            Credential::ChallengeResponse { state, code } => {
                Box::pin(self.answer_challenge(&mut audit, state, code.expose())).await
            }
        }
    }

    /// The answer to an Access-Challenge: a code for the factor the challenge waits for, a
    /// method word to switch to another method, or (for a push) anything to collect the
    /// answer on the phone.
    async fn answer_challenge(
        &self,
        audit: &mut Audit<'_>,
        state: &[u8],
        answer: &str,
    ) -> Result<Decision, AuthError> {
        let req = audit.req;
        let key = user_key(&req.user_name);
        let now = self.clock.now_ms();
        let challenge = self.store.read(|r| r.challenge(state))?;
        let current = match &challenge {
            Some(c) if c.sms.is_some() => Method::Sms,
            Some(ChallengeRecord {
                factor: Some(f), ..
            }) => f.method,
            _ => Method::Totp,
        };
        audit.method = current.as_str();
        let challenge = match challenge {
            Some(c)
                if c.user_key == key
                    && c.client == req.client_name
                    && !c.consumed
                    && c.expires_ms > now
                    && c.attempts_left > 0 =>
            {
                c
            }
            _ => return self.finish_reject(audit, STALE_CHALLENGE).await,
        };
        // Whatever happens next ends this exchange for the client (a Reject ends it, a new
        // challenge is counted anew); a push asked again is counted again (`collect_push`).
        self.challenge_closed(challenge.expires_ms);
        audit.policy = challenge.policy.clone();
        audit.grant = challenge.granted.clone();
        let user = match self.store.read(|r| r.user(&key))? {
            Some(u) if u.enabled => u,
            _ => return self.finish_reject(audit, "user disabled or removed").await,
        };
        audit.contact = Some(Contact::of(&user));
        let state = state.to_vec();
        // A method word instead of a code: switch to that method, or back to the user's own
        // (this challenge is spent; the new one follows).
        let word = answer.trim().to_ascii_lowercase();
        if let Some(m) = Method::parse(&word) {
            if m != current && (m == user.method || self.alternatives(&user).contains(&m)) {
                if challenge.factor.as_ref().is_some_and(|f| f.out_of_band) {
                    self.close_push(&user, state, challenge).await?;
                } else {
                    let mut c = challenge;
                    c.consumed = true;
                    self.store
                        .write(move |tx| tx.put_challenge(&state, &c))
                        .await?;
                }
                let mut chosen = user.clone();
                chosen.method = m;
                audit.method = m.as_str();
                return Box::pin(self.second_factor(audit, &chosen, "")).await;
            }
        }
        if challenge.sms.is_some() {
            return Box::pin(self.check_sms_code(audit, &user, answer, state)).await;
        }
        let Some(pending) = challenge.factor.clone() else {
            return Box::pin(self.check_code(audit, &user, answer, Some(state))).await;
        };
        let Some(provider) = self.factors.get(&pending.provider).cloned() else {
            return self.finish_reject(audit, STALE_CHALLENGE).await;
        };
        if !pending.out_of_band {
            let tx = pending.transaction.clone();
            return Box::pin(self.provider_code(
                audit,
                &user,
                &*provider,
                answer,
                tx.as_deref(),
                Some((state, challenge)),
            ))
            .await;
        }
        // Digits are a code (a Duo passcode, a privacyIDEA OTP); anything else: the answer is
        // on the phone.
        let typed = answer.trim();
        if typed.len() >= 6 && typed.bytes().all(|b| b.is_ascii_digit()) {
            let tx = pending.transaction.as_deref();
            let d = Box::pin(self.provider_code(audit, &user, &*provider, typed, tx, None)).await?;
            // The code decided (and was logged); the push is closed quietly.
            self.close_push(&user, state, challenge).await?;
            return Ok(d);
        }
        Box::pin(self.collect_push(audit, &user, &*provider, state, challenge)).await
    }

    /// Runs the primary check, the policy rules and the account checks that follow them.
    async fn check_password(
        &self,
        audit: &mut Audit<'_>,
        password: &str,
    ) -> Result<AfterPrimary, AuthError> {
        if password.is_empty() {
            return Ok(AfterPrimary::Reject("empty password".into()));
        }
        if let Some(up) = self.upstreams.for_client(&audit.req.client_name) {
            return Box::pin(self.upstream_check(audit, &up, Some(password))).await;
        }
        let id = match self.primary.verify(&audit.req.user_name, password).await? {
            Ok(id) => id,
            Err(reason) => return Ok(AfterPrimary::Reject(reason)),
        };
        self.after_primary(audit, id).await
    }

    /// The provider that serves the user's method (their own or the configured one).
    fn route(&self, user: &UserRecord) -> Option<Arc<dyn SecondFactor>> {
        let p = self
            .cfg
            .factor
            .provider_for(user.method, user.provider.as_deref())?;
        self.factors.get(p.name()).cloned()
    }

    /// The second factor after the password, in RADIUS: `appended` is the code typed after
    /// the password (append mode; empty: none, so the factor starts and the client is
    /// challenged or, for a push in wait mode, held).
    async fn second_factor(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        appended: &str,
    ) -> Result<Decision, AuthError> {
        if user.method == Method::Totp {
            return if appended.is_empty() {
                self.start_totp_challenge(audit, user).await
            } else {
                self.check_code(audit, user, appended, None).await
            };
        }
        let Some(provider) = self.route(user) else {
            return self
                .finish_reject(audit, "no provider for the method")
                .await;
        };
        if appended.is_empty() {
            return Box::pin(self.begin(audit, user, provider)).await;
        }
        if provider.carries_our_code() {
            return self
                .finish_reject(
                    audit,
                    "a code was appended, but SMS codes are sent after the password",
                )
                .await;
        }
        Box::pin(self.provider_code(audit, user, &*provider, appended, None, None)).await
    }

    /// The second factor for a client that cannot be challenged (an LDAP bind, a relayed
    /// MS-CHAPv2 or EAP credential, an RD Gateway): a code appended to the password, or a
    /// push or call that the request waits for.
    async fn held_second_factor(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        code: &str,
    ) -> Result<Decision, AuthError> {
        let relayed = match &audit.req.credential {
            Credential::Relayed(kind) => Some(kind.as_str()),
            _ => None,
        };
        let relayed = match &audit.req.credential {
            Credential::NameOnly => Some("credentials = \"none\" (RD Gateway)"),
            Credential::Eap { .. } => Some("EAP"),
            _ => relayed,
        };
        let no_code = || match relayed {
            Some(kind) => format!(
                "the {} method needs a code, and a {kind} client cannot be challenged \
                 (give this user push or phone)",
                user.method.as_str()
            ),
            None => "no code appended to the password (an LDAP bind cannot be challenged)".into(),
        };
        if user.method == Method::Totp {
            return if code.is_empty() {
                self.finish_reject(audit, &no_code()).await
            } else {
                self.check_code(audit, user, code, None).await
            };
        }
        let Some(provider) = self.route(user) else {
            return self
                .finish_reject(audit, "no provider for the method")
                .await;
        };
        if provider.carries_our_code() || (code.is_empty() && user.method == Method::Sms) {
            let why = if relayed.is_some() {
                no_code()
            } else {
                SMS_OVER_LDAP.into()
            };
            return self.finish_reject(audit, &why).await;
        }
        if !code.is_empty() {
            return Box::pin(self.provider_code(audit, user, &*provider, code, None, None)).await;
        }
        if provider.may_push(user.method) {
            return Box::pin(self.begin(audit, user, provider)).await;
        }
        self.finish_reject(audit, &no_code()).await
    }

    /// A TOTP user's password was right; the code comes in the answer to a challenge.
    async fn start_totp_challenge(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
    ) -> Result<Decision, AuthError> {
        let id = self.challenge_id()?;
        let challenge = self.new_challenge(audit, user);
        let prompt = self.cfg.factor.prompts.totp.clone();
        let reason = "password accepted, code requested";
        self.open_challenge(audit, user, id, challenge, reason, prompt)
            .await
    }

    fn new_challenge(&self, audit: &Audit<'_>, user: &UserRecord) -> ChallengeRecord {
        let now = self.clock.now_ms();
        ChallengeRecord {
            user_key: user_key(&user.name),
            client: audit.req.client_name.clone(),
            created_ms: now,
            expires_ms: now + self.cfg.factor.challenge_ttl_secs * 1000,
            attempts_left: self.cfg.factor.challenge_max_attempts,
            consumed: false,
            policy: audit.policy.clone(),
            sms: None,
            factor: None,
            consumed_by: None,
            granted: audit.grant.clone(),
        }
    }

    /// Stores the challenge with its audit record and asks the client for the answer. A
    /// challenge holding mfagate's SMS code voids the user's earlier codes; one that waits
    /// for no answer on the phone gives back a push reservation made under its id.
    async fn open_challenge(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        id: Vec<u8>,
        challenge: ChallengeRecord,
        reason: &str,
        prompt: String,
    ) -> Result<Decision, AuthError> {
        let record = self.record(audit, AuthResult::Challenge, reason);
        let cid = id.clone();
        let expires_ms = challenge.expires_ms;
        let (after, upto) = self
            .store
            .write(move |tx| {
                let after = tx.seq();
                // The challenge before the marker naming it: a peer merging the marker
                // compares it with the user's current newest by creation time.
                tx.put_challenge(&cid, &challenge)?;
                if challenge.sms.is_some() {
                    tx.set_sms_latest(&challenge.user_key, &cid)?;
                }
                if !challenge.factor.as_ref().is_some_and(|f| f.out_of_band) {
                    release_reservation(tx, &challenge.user_key, &cid)?;
                }
                tx.append_auth(&record)?;
                Ok((after, tx.seq()))
            })
            .await?;
        // The answer may land on another node: it should hold the challenge first.
        if let Some(c) = &self.claims {
            c.confirm(after, upto).await;
        }
        self.trace(audit, AuthResult::Challenge, reason);
        self.challenge_opened(expires_ms);
        Ok(Decision::Challenge {
            state: id,
            prompt: self.with_choices(user, prompt),
        })
    }

    /// The methods a user may choose at a challenge prompt besides their own: TOTP when an
    /// authenticator is enrolled, SMS when a provider can serve it for them, and push or
    /// phone (the other one) for a push or phone user.
    fn alternatives(&self, user: &UserRecord) -> Vec<Method> {
        let mut out = Vec::new();
        if user.method != Method::Totp && user.totp.is_some() {
            out.push(Method::Totp);
        }
        for m in [Method::Sms, Method::Push, Method::Phone] {
            let offered = m == Method::Sms || user.method.is_out_of_band();
            let servable = self
                .cfg
                .factor
                .unservable(m, user.provider.as_deref(), user.phone.as_deref())
                .is_none();
            if m != user.method && offered && servable {
                out.push(m);
            }
        }
        out
    }

    /// The prompt, telling the user what else they may type.
    fn with_choices(&self, user: &UserRecord, prompt: String) -> String {
        let words: Vec<&str> = self.alternatives(user).iter().map(|m| m.as_str()).collect();
        if words.is_empty() {
            prompt
        } else {
            crate::config::prompt_with(&prompt, &format!("(or type {})", words.join(" or ")))
        }
    }

    /// Records a decision that needs no second factor and returns it.
    async fn finish(
        &self,
        audit: &Audit<'_>,
        result: AuthResult,
        reason: &str,
    ) -> Result<Decision, AuthError> {
        let record = self.record(audit, result, reason);
        if result == AuthResult::Accept {
            // Nothing but the audit record is written, so an accept need not wait for the
            // disk: a crash can lose the last second of these records, never a replay guard,
            // counter or challenge (those are committed before the answer, in `check_code`).
            self.store
                .write_detached(move |tx| tx.append_auth(&record))?;
        } else {
            // A reject waits for its record as a wrong code waits for its failure counter:
            // were rejects faster, the delay would tell an attacker that a guessed password
            // was right and only the code was wrong.
            self.store.write(move |tx| tx.append_auth(&record)).await?;
        }
        Ok(self.decided(audit, result, reason))
    }

    async fn finish_reject(&self, audit: &Audit<'_>, reason: &str) -> Result<Decision, AuthError> {
        self.finish(audit, AuthResult::Reject, reason).await
    }

    fn record(&self, audit: &Audit<'_>, result: AuthResult, reason: &str) -> AuthRecord {
        AuthRecord {
            time_ms: self.clock.now_ms(),
            node: self.cfg.node_name.clone(),
            user: audit.user.clone(),
            client_name: audit.req.client_name.clone(),
            client_ip: audit.req.client_ip.to_string(),
            method: audit.method.to_owned(),
            result,
            reason: reason.to_owned(),
            policy: audit.policy.clone(),
            node_ip: self.node_ip.clone(),
            display_name: audit.contact.as_ref().and_then(|c| c.display_name.clone()),
            email: audit.contact.as_ref().and_then(|c| c.email.clone()),
            // Only where a phone was used for this login.
            phone: matches!(audit.method, "sms" | "phone")
                .then(|| {
                    audit
                        .contact
                        .as_ref()?
                        .phone
                        .as_deref()
                        .map(sms::mask_phone)
                })
                .flatten(),
        }
    }

    /// A new challenge (RADIUS State) id: this node's id and 128 random bits.
    fn challenge_id(&self) -> Result<Vec<u8>, AuthError> {
        let mut id = self.store.node_id().to_be_bytes().to_vec();
        let mut rnd = [0u8; 16];
        getrandom::getrandom(&mut rnd).map_err(|e| AuthError::Unavailable(e.to_string()))?;
        id.extend(rnd);
        Ok(id)
    }

    /// Traces a decision and returns it as the front-ends see it.
    fn decided(&self, audit: &Audit<'_>, result: AuthResult, reason: &str) -> Decision {
        self.trace(audit, result, reason);
        if result == AuthResult::Accept {
            Decision::Accept(audit.grant.clone())
        } else {
            Decision::Reject(audit.refusal.clone())
        }
    }

    /// Every decision passes here once: the audit line, and its count.
    fn trace(&self, audit: &Audit<'_>, result: AuthResult, reason: &str) {
        if let Some(m) = &self.metrics {
            m.decision(audit.method, result.as_str(), reason);
        }
        tracing::info!(
            target: "mfagate::audit",
            user = %audit.user,
            client = %audit.req.client_name,
            client_ip = %audit.req.client_ip,
            method = audit.method,
            result = result.as_str(),
            reason,
            policy = audit.policy.as_deref().unwrap_or(""),
            "authentication decision"
        );
    }
}
