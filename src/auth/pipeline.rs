//! [`Pipeline`]: primary, then second factor, then one audit record, with the state changes
//! of a code attempt (replay guard, failure counter, challenge attempts) and the audit record
//! committed in one store transaction.

use std::sync::Arc;
use std::time::Duration;

use super::bind_cache::{BindCache, BindKey};
use super::{split_appended_code, AuthError, AuthRequest, Bound, Credential, Decision};
use crate::clock::SharedClock;
use crate::config::{Config, FailMode, Method, PolicyAction, PolicyRule, PushMode, UnknownUsers};
use crate::factor::duo::{DuoClient, DuoError, Factor, Preauth, PushStatus};
use crate::factor::privacyidea::{PiClient, PiError, Verdict as PiVerdict};
use crate::factor::sms::{self, SmsSender};
use crate::factor::totp::{self, CodeOutcome};
use crate::primary::{Candidate, DirEntry, DirQuery, DirResult, Identity, Primary, UserDirectory};
use crate::store::model::{
    hex, unhex, user_key, AuthRecord, AuthResult, ChallengeRecord, FactorFailures, PiPending,
    SmsCodeHash, UserRecord,
};
use crate::store::{Store, StoreError};
use subtle::ConstantTimeEq;

pub struct Pipeline {
    cfg: Arc<Config>,
    store: Store,
    clock: SharedClock,
    primary: Primary,
    bind_cache: Option<BindCache>,
    sms: Option<SmsSender>,
    duo: Option<DuoClient>,
    pi: Option<PiClient>,
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
}

const STALE_CHALLENGE: &str = "unknown, expired or used challenge state";
/// How often a pending push is polled: first after this, then 1.5 times longer each time,
/// up to `PUSH_POLL_MAX`.
const PUSH_POLL_EVERY: Duration = Duration::from_millis(300);
const PUSH_POLL_MAX: Duration = Duration::from_secs(2);
/// How long the answer to a push challenge waits for the phone before asking again (NASes
/// often give up after a few seconds).
const PUSH_COLLECT_WAIT: Duration = Duration::from_secs(2);
const PUSH_PROMPT: &str = "Approve the request on your phone, then press Enter";
const CALL_PROMPT: &str = "Answer the call and approve, then press Enter";
const PUSH_PROMPT_AGAIN: &str =
    "Not approved yet: approve the request on your phone, then press Enter";

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
        let primary = Primary::new(&cfg.primary, store.clone(), clock.clone())
            .map_err(AuthError::Unavailable)?;
        let bind_cache = match cfg.ldap.as_ref().map(|l| l.bind_cache_secs) {
            Some(secs) if secs > 0 => {
                Some(BindCache::new(secs).map_err(|e| AuthError::Unavailable(e.to_string()))?)
            }
            _ => None,
        };
        let sms = match &cfg.factor.sms {
            Some(c) => Some(
                SmsSender::new(&c.provider).map_err(|e| AuthError::Unavailable(e.to_string()))?,
            ),
            None => None,
        };
        let duo = match &cfg.factor.push {
            Some(p) => Some(
                DuoClient::new(&p.provider).map_err(|e| AuthError::Unavailable(e.to_string()))?,
            ),
            None => None,
        };
        let pi = match &cfg.factor.privacyidea {
            Some(p) => Some(PiClient::new(p).map_err(|e| AuthError::Unavailable(e.to_string()))?),
            None => None,
        };
        Ok(Self {
            cfg,
            store,
            clock,
            primary,
            bind_cache,
            sms,
            duo,
            pi,
        })
    }

    pub async fn authenticate(&self, req: AuthRequest) -> Result<Decision, AuthError> {
        let mut audit = Audit {
            req: &req,
            user: req.user_name.clone(),
            method: "password",
            policy: None,
        };
        match &req.credential {
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
                    AfterPrimary::SecondFactor(user) if user.method.is_out_of_band() => {
                        Box::pin(self.run_push(&audit, &user)).await
                    }
                    AfterPrimary::SecondFactor(user) if user.method == Method::Privacyidea => {
                        Box::pin(self.start_pi_challenge(&audit, &user)).await
                    }
                    AfterPrimary::SecondFactor(user) => {
                        Box::pin(self.start_challenge(&audit, &user)).await
                    }
                }
            }
            Credential::PasswordAndCode { password, code } => {
                match Box::pin(self.check_password(&mut audit, password.expose())).await? {
                    AfterPrimary::Reject(reason) => self.finish_reject(&audit, &reason).await,
                    AfterPrimary::Accept(reason) => {
                        self.finish(&audit, AuthResult::Accept, &reason).await
                    }
                    AfterPrimary::SecondFactor(user) if user.method.is_out_of_band() => {
                        if code.expose().is_empty() {
                            Box::pin(self.run_push(&audit, &user)).await
                        } else {
                            Box::pin(self.duo_passcode(&audit, code.expose())).await
                        }
                    }
                    AfterPrimary::SecondFactor(user) if user.method == Method::Privacyidea => {
                        if code.expose().is_empty() {
                            Box::pin(self.start_pi_challenge(&audit, &user)).await
                        } else {
                            Box::pin(self.pi_answer(&audit, &user, code.expose(), None)).await
                        }
                    }
                    AfterPrimary::SecondFactor(user) if user.method == Method::Sms => {
                        if code.expose().is_empty() {
                            Box::pin(self.start_challenge(&audit, &user)).await
                        } else {
                            self.finish_reject(
                                &audit,
                                "a code was appended, but SMS codes are sent after the password",
                            )
                            .await
                        }
                    }
                    AfterPrimary::SecondFactor(user) => {
                        Box::pin(self.check_code(&audit, &user, code.expose(), None)).await
                    }
                }
            }
            Credential::Bind { .. } => Ok(Box::pin(self.authenticate_bind(&req, false)).await?.0),
            Credential::ChallengeResponse { state, code } => {
                audit.method = Method::Totp.as_str();
                let key = user_key(&req.user_name);
                let now = self.clock.now_ms();
                let challenge = self.store.read(|r| r.challenge(state))?;
                if challenge.as_ref().is_some_and(|c| c.sms.is_some()) {
                    audit.method = Method::Sms.as_str();
                }
                if challenge.as_ref().is_some_and(|c| c.privacyidea.is_some()) {
                    audit.method = Method::Privacyidea.as_str();
                }
                let valid = challenge.as_ref().is_some_and(|c| {
                    c.user_key == key
                        && c.client == req.client_name
                        && !c.consumed
                        && c.expires_ms > now
                        && c.attempts_left > 0
                });
                if !valid {
                    return self.finish_reject(&audit, STALE_CHALLENGE).await;
                }
                audit.policy = challenge.as_ref().and_then(|c| c.policy.clone());
                let user = match self.store.read(|r| r.user(&key))? {
                    Some(u) if u.enabled => u,
                    _ => return self.finish_reject(&audit, "user disabled or removed").await,
                };
                // A method word instead of a code: switch to that method (this challenge is
                // spent; the new one follows).
                let current = match &challenge {
                    Some(c) if c.sms.is_some() => Some(Method::Sms),
                    Some(c) if c.push_txid.is_some() => Some(user.method),
                    Some(c) if c.privacyidea.is_some() => None,
                    _ => Some(Method::Totp),
                };
                let word = code.expose().trim().to_ascii_lowercase();
                if let (Some(current), Some(m)) = (current, Method::parse(&word)) {
                    if m != current && self.alternatives(&user).contains(&m) {
                        let (cid, c) = (state.clone(), challenge.clone());
                        self.store
                            .write(move |tx| match c {
                                Some(mut c) => {
                                    c.consumed = true;
                                    tx.put_challenge(&cid, &c)
                                }
                                None => Ok(()),
                            })
                            .await?;
                        let mut chosen = user.clone();
                        chosen.method = m;
                        audit.method = m.as_str();
                        return if m.is_out_of_band() {
                            Box::pin(self.run_push(&audit, &chosen)).await
                        } else {
                            Box::pin(self.start_challenge(&audit, &chosen)).await
                        };
                    }
                }
                if challenge.as_ref().is_some_and(|c| c.sms.is_some()) {
                    return Box::pin(self.check_sms_code(
                        &audit,
                        &user,
                        code.expose(),
                        state.clone(),
                    ))
                    .await;
                }
                if let Some(c) = challenge.clone().filter(|c| c.privacyidea.is_some()) {
                    audit.method = Method::Privacyidea.as_str();
                    return Box::pin(self.pi_answer(
                        &audit,
                        &user,
                        code.expose(),
                        Some((state.clone(), c)),
                    ))
                    .await;
                }
                if let Some(c) = challenge.filter(|c| c.push_txid.is_some()) {
                    audit.method = user.method.as_str();
                    // Digits are a Duo passcode; anything else: the answer is on the phone.
                    let typed = code.expose().trim();
                    if typed.len() >= 6 && typed.bytes().all(|b| b.is_ascii_digit()) {
                        let d = Box::pin(self.duo_passcode(&audit, typed)).await?;
                        // The passcode decided (and was logged); the push is closed quietly.
                        self.close_push(&user, state.clone(), c).await?;
                        return Ok(d);
                    }
                    return Box::pin(self.collect_push(&audit, &user, state.clone(), c)).await;
                }
                Box::pin(self.check_code(&audit, &user, code.expose(), Some(state.clone()))).await
            }
        }
    }

    /// An LDAP simple bind ([`Credential::Bind`]): the entry is looked up first, so that an
    /// exempt account's password is never split at the delimiter; then the bind cache, the
    /// password and the appended code. With `open_directory`, an accepted AD user also gets
    /// a connection bound as them (`[ldap] search_as = "user"`).
    pub async fn authenticate_bind(
        &self,
        req: &AuthRequest,
        open_directory: bool,
    ) -> Result<(Decision, Option<Bound>), AuthError> {
        let Credential::Bind {
            combined,
            delimiter,
        } = &req.credential
        else {
            return Err(AuthError::Unavailable("not a bind".into()));
        };
        let mut audit = Audit {
            req,
            user: req.user_name.clone(),
            method: "password",
            policy: None,
        };
        let combined: &str = combined.expose();
        if combined.is_empty() {
            // RFC 4513 §5.1.2: an unauthenticated bind; never forwarded.
            return Ok((self.finish_reject(&audit, "empty password").await?, None));
        }
        // An application's service account named by its DN in `exempt.dns` needs no lookup:
        // one bind decides (this is most of an LDAP application's traffic).
        let named_exempt = self
            .cfg
            .ldap
            .as_ref()
            .is_some_and(|l| l.exempt_dns.iter().any(|d| same_dn(d, &req.user_name)));
        let (candidate, exempt) = match self.primary.known_dn(&req.user_name) {
            Some(c) if named_exempt => (c, Some("ldap.exempt.dns".to_owned())),
            _ => {
                let c = self.primary.find(&req.user_name).await?;
                let exempt = self.ldap_exempt(&c, &req.user_name).await?;
                (c, exempt)
            }
        };
        if let Some(n) = candidate.name() {
            audit.user = n.to_owned();
        }
        let (password, code) = match (&exempt, split_appended_code(combined, delimiter)) {
            (Some(_), _) | (None, None) => (combined, ""),
            (None, Some((p, c))) => (p, c),
        };
        let cache_key = candidate.name().map(|n| BindKey {
            user_key: user_key(n),
            client_ip: req.client_ip,
            listener: req.client_name.clone(),
        });
        let now = self.clock.now_ms();
        let cached = match (&self.bind_cache, &cache_key, &exempt) {
            (Some(c), Some(k), None) => c.matches(k, password, now),
            _ => false,
        };
        let dn = candidate.dn().map(str::to_owned);
        let id = match self.primary.check(candidate, password).await? {
            Ok(id) => id,
            Err(reason) => {
                if let (Some(c), Some(k)) = (&self.bind_cache, &cache_key) {
                    c.forget(k);
                }
                return Ok((self.finish_reject(&audit, &reason).await?, None));
            }
        };
        let bound = |id: &Identity| Bound {
            name: id.name.clone(),
            dn: id.dn.clone().or(dn.clone()),
            directory: None,
        };
        let mut out = bound(&id);
        let decision = if let Some(rule) = exempt {
            audit.policy = Some(rule);
            self.finish(
                &audit,
                AuthResult::Accept,
                "password only: exempt LDAP account",
            )
            .await?
        } else {
            match self.after_primary(&mut audit, id).await? {
                AfterPrimary::Reject(reason) => self.finish_reject(&audit, &reason).await?,
                AfterPrimary::Accept(reason) => {
                    self.finish(&audit, AuthResult::Accept, &reason).await?
                }
                AfterPrimary::SecondFactor(user) if user.method.is_out_of_band() && !cached => {
                    // A passcode appended, or else the bind waits for the answer on the phone.
                    let d = if code.is_empty() {
                        Box::pin(self.run_push(&audit, &user)).await?
                    } else {
                        Box::pin(self.duo_passcode(&audit, code)).await?
                    };
                    if let (Decision::Accept, Some(c), Some(k)) =
                        (&d, &self.bind_cache, cache_key.clone())
                    {
                        c.remember(k, password, self.clock.now_ms());
                    }
                    d
                }
                AfterPrimary::SecondFactor(user)
                    if user.method == Method::Privacyidea && !cached && !code.is_empty() =>
                {
                    let d = self.pi_answer(&audit, &user, code, None).await?;
                    if let (Decision::Accept, Some(c), Some(k)) =
                        (&d, &self.bind_cache, cache_key.clone())
                    {
                        c.remember(k, password, self.clock.now_ms());
                    }
                    d
                }
                AfterPrimary::SecondFactor(user) if user.method == Method::Sms && !cached => {
                    self.finish_reject(
                        &audit,
                        "SMS is not offered over LDAP: a simple bind cannot carry the challenge",
                    )
                    .await?
                }
                AfterPrimary::SecondFactor(_) if cached => {
                    self.finish(
                        &audit,
                        AuthResult::Accept,
                        "password accepted; code skipped: repeated bind within bind_cache_secs",
                    )
                    .await?
                }
                AfterPrimary::SecondFactor(_) if code.is_empty() => {
                    self.finish_reject(
                        &audit,
                        "no code appended to the password (an LDAP bind cannot be challenged)",
                    )
                    .await?
                }
                AfterPrimary::SecondFactor(user) => {
                    let d = self.check_code(&audit, &user, code, None).await?;
                    if let (Decision::Accept, Some(c), Some(k)) = (&d, &self.bind_cache, cache_key)
                    {
                        c.remember(k, password, self.clock.now_ms());
                    }
                    d
                }
            }
        };
        if decision != Decision::Accept {
            return Ok((decision, None));
        }
        if open_directory {
            if let Some(dn) = &out.dn {
                out.directory = self.primary.open_user_directory(dn, password).await?;
            }
        }
        Ok((decision, Some(out)))
    }

    /// The `[ldap] exempt` rule that lets this bind skip the second factor, by the entry's DN
    /// (or, without AD, the bind name) or by group.
    async fn ldap_exempt(
        &self,
        candidate: &Candidate,
        bind_name: &str,
    ) -> Result<Option<String>, AuthError> {
        let Some(ldap) = &self.cfg.ldap else {
            return Ok(None);
        };
        let dn = candidate.dn().unwrap_or(bind_name);
        if ldap.exempt_dns.iter().any(|d| same_dn(d, dn)) {
            return Ok(Some("ldap.exempt.dns".into()));
        }
        if let Some(dn) = candidate.dn() {
            for g in &ldap.exempt_groups {
                if self.primary.dn_member_of(dn, g).await? {
                    return Ok(Some("ldap.exempt.groups".into()));
                }
            }
        }
        Ok(None)
    }

    /// Proxies a directory search (LDAP front-end); `Ok(None)`: no directory behind us.
    pub async fn directory_search(
        &self,
        query: &DirQuery,
        user: Option<&UserDirectory>,
        out: &tokio::sync::mpsc::Sender<DirEntry>,
    ) -> Result<Option<DirResult>, AuthError> {
        Ok(self.primary.search(query, user, out).await?)
    }

    /// Proxies a directory compare (LDAP front-end); `Ok(None)`: no directory behind us.
    pub async fn directory_compare(
        &self,
        dn: &str,
        attribute: &str,
        value: &[u8],
        user: Option<&UserDirectory>,
    ) -> Result<Option<DirResult>, AuthError> {
        Ok(self.primary.compare(dn, attribute, value, user).await?)
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
        let id = match self.primary.verify(&audit.req.user_name, password).await? {
            Ok(id) => id,
            Err(reason) => return Ok(AfterPrimary::Reject(reason)),
        };
        self.after_primary(audit, id).await
    }

    /// The policy rules and account checks for someone whose password is right.
    async fn after_primary(
        &self,
        audit: &mut Audit<'_>,
        id: Identity,
    ) -> Result<AfterPrimary, AuthError> {
        audit.user = id.name.clone();
        if let Some(rule) = self.matching_rule(&id, &audit.req.client_name).await? {
            audit.policy = Some(rule.name.clone());
            match rule.action {
                PolicyAction::Deny => return Ok(AfterPrimary::Reject("denied by policy".into())),
                PolicyAction::Bypass => {
                    return Ok(AfterPrimary::Accept(
                        "password only: bypass by policy".into(),
                    ))
                }
                PolicyAction::Mfa => {}
            }
        }
        let user = match id.record {
            Some(u) => u,
            None => match self.store.read(|r| r.user(&id.key))? {
                Some(u) => u,
                None => {
                    return Ok(match self.cfg.unknown_users {
                        UnknownUsers::Reject => AfterPrimary::Reject(
                            "password accepted, but the user is not in mfagate".into(),
                        ),
                        UnknownUsers::Bypass => AfterPrimary::Accept(
                            "password only: not in mfagate (unknown_users = bypass)".into(),
                        ),
                    })
                }
            },
        };
        audit.user = user.name.clone();
        audit.method = user.method.as_str();
        if !user.enabled {
            return Ok(AfterPrimary::Reject("user disabled".into()));
        }
        match user.method {
            Method::Totp if user.totp.is_none() => {
                return Ok(AfterPrimary::Reject(
                    "no TOTP authenticator enrolled".into(),
                ))
            }
            Method::Totp => {}
            Method::Sms if self.sms.is_none() => {
                return Ok(AfterPrimary::Reject(
                    "method sms, but no factor.sms_provider is configured".into(),
                ))
            }
            Method::Sms if user.phone.as_deref().is_none_or(str::is_empty) => {
                return Ok(AfterPrimary::Reject(
                    "method sms, but no phone number".into(),
                ))
            }
            Method::Sms => {}
            Method::Push | Method::Phone if self.duo.is_none() => {
                return Ok(AfterPrimary::Reject(
                    "method push or phone, but no factor.push_provider is configured".into(),
                ))
            }
            Method::Push | Method::Phone => {}
            Method::Privacyidea if self.pi.is_none() => {
                return Ok(AfterPrimary::Reject(
                    "method privacyidea, but no factor.privacyidea_provider is configured".into(),
                ))
            }
            Method::Privacyidea => {}
        }
        let failures = self.store.read(|r| r.failures(&user_key(&user.name)))?;
        if totp::is_locked(&failures, self.clock.now_ms()) {
            return Ok(AfterPrimary::Reject(CodeOutcome::Locked.reason().into()));
        }
        Ok(AfterPrimary::SecondFactor(Box::new(user)))
    }

    /// The first `[[policy]]` rule that matches this user and client.
    async fn matching_rule(
        &self,
        id: &Identity,
        client: &str,
    ) -> Result<Option<&PolicyRule>, AuthError> {
        for rule in &self.cfg.policies {
            if !rule.clients.is_empty() && !rule.clients.iter().any(|c| c == client) {
                continue;
            }
            let mut member = rule.groups.is_empty();
            for g in &rule.groups {
                if member {
                    break;
                }
                member = self.primary.member_of(id, g).await?;
            }
            if member {
                return Ok(Some(rule));
            }
        }
        Ok(None)
    }

    /// The password was right; the code comes in the answer to a challenge. For an SMS user
    /// the code is made and sent now; only its keyed hash is stored.
    async fn start_challenge(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
    ) -> Result<Decision, AuthError> {
        let unavailable = |e: getrandom::Error| AuthError::Unavailable(e.to_string());
        let id = self.challenge_id()?;
        let key = user_key(&user.name);
        let now = self.clock.now_ms();
        let mut challenge = ChallengeRecord {
            user_key: key.clone(),
            client: audit.req.client_name.clone(),
            created_ms: now,
            expires_ms: now + self.cfg.factor.challenge_ttl_secs * 1000,
            attempts_left: self.cfg.factor.challenge_max_attempts,
            consumed: false,
            policy: audit.policy.clone(),
            sms: None,
            push_txid: None,
            privacyidea: None,
        };
        let mut prompt = self.cfg.factor.challenge_prompt.clone();
        let mut reason = "password accepted, code requested";
        if let (Method::Sms, Some(sender), Some(sms)) =
            (user.method, &self.sms, &self.cfg.factor.sms)
        {
            let phone = user.phone.clone().unwrap_or_default();
            let code = sms::generate_code(sms.code_digits).map_err(unavailable)?;
            let mut salt = [0u8; 16];
            getrandom::getrandom(&mut salt).map_err(unavailable)?;
            let mac = self.store.sealer().code_mac(&id, &salt, &code);
            challenge.expires_ms = now + sms.code_ttl_secs * 1000;
            challenge.attempts_left = sms.max_attempts;
            challenge.sms = Some(SmsCodeHash {
                salt: hex(&salt),
                mac: hex(&mac),
            });
            // Sent before it is stored: the client cannot answer before it has the State,
            // which it gets only after the commit below.
            if let Err(e) = sender.send(&phone, &code, &user.name).await {
                let what = format!("SMS not delivered ({e})");
                return self.provider_failed(audit, e.is_outage(), &what).await;
            }
            prompt = format!("Enter the code sent to {}", sms::mask_phone(&phone));
            reason = "password accepted, SMS code sent";
        }
        let record = self.record(audit, AuthResult::Challenge, reason);
        let cid = id.clone();
        let is_sms = challenge.sms.is_some();
        self.store
            .write(move |tx| {
                tx.put_challenge(&cid, &challenge)?;
                if is_sms {
                    // A new code voids the user's earlier ones.
                    tx.set_sms_latest(&key, &cid)?;
                }
                tx.append_auth(&record)
            })
            .await?;
        self.trace(audit, AuthResult::Challenge, reason);
        Ok(Decision::Challenge {
            state: id,
            prompt: self.with_choices(user, prompt),
        })
    }

    /// The methods a user may choose at a challenge prompt besides their own: TOTP when an
    /// authenticator is enrolled, SMS when there is a phone number and a gateway, and push or
    /// phone (the other one) for a push or phone user.
    fn alternatives(&self, user: &UserRecord) -> Vec<Method> {
        let mut out = Vec::new();
        if user.method != Method::Totp && user.totp.is_some() {
            out.push(Method::Totp);
        }
        let has_phone = user.phone.as_deref().is_some_and(|p| !p.is_empty());
        if user.method != Method::Sms && has_phone && self.sms.is_some() {
            out.push(Method::Sms);
        }
        if user.method.is_out_of_band() && self.duo.is_some() {
            out.push(if user.method == Method::Push {
                Method::Phone
            } else {
                Method::Push
            });
        }
        out
    }

    /// The prompt, telling the user what else they may type.
    fn with_choices(&self, user: &UserRecord, prompt: String) -> String {
        let words: Vec<&str> = self.alternatives(user).iter().map(|m| m.as_str()).collect();
        if words.is_empty() {
            prompt
        } else {
            format!("{prompt} (or type {})", words.join(" or "))
        }
    }

    /// A push. The pending push is a challenge record in the store (with the provider's
    /// transaction id), and the user's push state allows one outstanding push and at most
    /// `push_max_per_window` per window. In wait mode the login is held until the user
    /// answers on the phone, the push times out (`push_timeout_secs`) or the provider fails;
    /// in challenge mode the client gets an Access-Challenge at once and the answer to it
    /// (any text) collects the result, on whichever node it lands. Status polls may be
    /// retried; the push itself is sent once.
    async fn run_push(&self, audit: &Audit<'_>, user: &UserRecord) -> Result<Decision, AuthError> {
        let (id, challenge) = match Box::pin(self.start_push(audit, user)).await? {
            Ok(started) => started,
            Err(decision) => return Ok(decision),
        };
        if audit.req.push_mode == PushMode::Challenge {
            let reason = "push sent; waiting for the answer to the challenge";
            let record = self.record(audit, AuthResult::Challenge, reason);
            self.store.write(move |tx| tx.append_auth(&record)).await?;
            self.trace(audit, AuthResult::Challenge, reason);
            let prompt = if user.method == Method::Phone {
                CALL_PROMPT
            } else {
                PUSH_PROMPT
            };
            return Ok(Decision::Challenge {
                state: id,
                prompt: self.with_choices(user, prompt.into()),
            });
        }
        let (Some(duo), Some(pcfg), Some(txid)) = (
            &self.duo,
            &self.cfg.factor.push,
            challenge.push_txid.clone(),
        ) else {
            return Err(AuthError::Unavailable("push without a provider".into()));
        };
        let outcome = poll_push(duo, &txid, Duration::from_secs(pcfg.timeout_secs)).await;
        self.settle_push(audit, user, id, challenge, outcome).await
    }

    /// Preauth, the per-user limits, and the push. `Ok(Err(decision))`: the login ended
    /// there (preauth allow or deny, a limit, the provider failing).
    async fn start_push(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
    ) -> Result<Result<(Vec<u8>, ChallengeRecord), Decision>, AuthError> {
        let (Some(duo), Some(pcfg)) = (&self.duo, &self.cfg.factor.push) else {
            let d = self
                .finish_reject(
                    audit,
                    "method push, but no factor.push_provider is configured",
                )
                .await?;
            return Ok(Err(d));
        };
        let ended = match duo.preauth(&user.name).await {
            Ok(Preauth::Auth) => None,
            Ok(Preauth::Allow) => Some(
                self.finish(
                    audit,
                    AuthResult::Accept,
                    "Duo preauth: allow (bypass set in Duo)",
                )
                .await?,
            ),
            Ok(Preauth::Deny(m)) => Some(
                self.finish_reject(audit, &format!("Duo preauth: deny ({m})"))
                    .await?,
            ),
            Ok(Preauth::Enroll) => Some(
                self.finish_reject(audit, "Duo preauth: the user is not enrolled in Duo")
                    .await?,
            ),
            Err(e) => Some(self.cloud_failed(audit, e).await?),
        };
        if let Some(d) = ended {
            return Ok(Err(d));
        }
        let key = user_key(&user.name);
        let id = self.challenge_id()?;
        let now = self.clock.now_ms();
        let expires_ms = now + pcfg.timeout_secs * 1000;
        let mut challenge = ChallengeRecord {
            user_key: key.clone(),
            client: audit.req.client_name.clone(),
            created_ms: now,
            expires_ms,
            attempts_left: 1,
            consumed: false,
            policy: audit.policy.clone(),
            sms: None,
            push_txid: None,
            privacyidea: None,
        };
        let (window_ms, max) = (pcfg.window_secs * 1000, pcfg.max_per_window as usize);
        let (k, cid, c) = (key.clone(), id.clone(), challenge.clone());
        let reserved = self
            .store
            .write(move |tx| {
                if totp::is_locked(&tx.failures(&k)?, now) {
                    return Ok(Err(CodeOutcome::Locked.reason().to_owned()));
                }
                let mut st = tx.push_state(&k)?;
                if st.pending.as_ref().is_some_and(|(_, until)| *until > now) {
                    return Ok(Err("a push is already outstanding for this user".to_owned()));
                }
                st.recent_ms.retain(|t| t + window_ms > now);
                if st.recent_ms.len() >= max {
                    return Ok(Err(format!(
                        "push limit reached: {max} per {} s (MFA-fatigue protection)",
                        window_ms / 1000
                    )));
                }
                st.recent_ms.push(now);
                st.pending = Some((hex(&cid), expires_ms));
                tx.set_push_state(&k, &st)?;
                tx.put_challenge(&cid, &c)?;
                Ok(Ok(()))
            })
            .await?;
        if let Err(why) = reserved {
            return Ok(Err(self.finish_reject(audit, &why).await?));
        }
        let factor = if user.method == Method::Phone {
            Factor::Phone
        } else {
            Factor::Push
        };
        match duo.start(&user.name, factor).await {
            Ok(txid) => {
                challenge.push_txid = Some(txid);
                let (cid, c) = (id.clone(), challenge.clone());
                self.store
                    .write(move |tx| tx.put_challenge(&cid, &c))
                    .await?;
                Ok(Ok((id, challenge)))
            }
            Err(e) => {
                let d = self.settle_push(audit, user, id, challenge, Err(e)).await?;
                Ok(Err(d))
            }
        }
    }

    /// The answer to a push challenge (challenge mode): waits a little for the user, then
    /// settles, or asks again while the push is still open.
    async fn collect_push(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        id: Vec<u8>,
        challenge: ChallengeRecord,
    ) -> Result<Decision, AuthError> {
        let (Some(duo), Some(txid)) = (&self.duo, challenge.push_txid.clone()) else {
            return self.finish_reject(audit, STALE_CHALLENGE).await;
        };
        let left = challenge.expires_ms.saturating_sub(self.clock.now_ms());
        let wait = Duration::from_millis(left).min(PUSH_COLLECT_WAIT);
        let outcome = poll_push(duo, &txid, wait).await;
        if matches!(outcome, Ok(PushStatus::Waiting)) && left > wait.as_millis() as u64 {
            let reason = "push not answered yet; asked again";
            let record = self.record(audit, AuthResult::Challenge, reason);
            self.store.write(move |tx| tx.append_auth(&record)).await?;
            self.trace(audit, AuthResult::Challenge, reason);
            return Ok(Decision::Challenge {
                state: id,
                prompt: PUSH_PROMPT_AGAIN.into(),
            });
        }
        self.settle_push(audit, user, id, challenge, outcome).await
    }

    /// Clears the user's outstanding push and spends its challenge, without an audit record
    /// (another decision was recorded).
    async fn close_push(
        &self,
        user: &UserRecord,
        id: Vec<u8>,
        mut challenge: ChallengeRecord,
    ) -> Result<(), AuthError> {
        let key = user_key(&user.name);
        self.store
            .write(move |tx| {
                let mut st = tx.push_state(&key)?;
                if st.pending.as_ref().is_some_and(|(p, _)| *p == hex(&id)) {
                    st.pending = None;
                    tx.set_push_state(&key, &st)?;
                }
                challenge.consumed = true;
                tx.put_challenge(&id, &challenge)
            })
            .await?;
        Ok(())
    }

    /// The end of a push: one transaction clears the user's outstanding push, spends the
    /// challenge, locks the factor on fraud and writes the audit record.
    async fn settle_push(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        id: Vec<u8>,
        mut challenge: ChallengeRecord,
        outcome: Result<PushStatus, DuoError>,
    ) -> Result<Decision, AuthError> {
        let key = user_key(&user.name);
        let what = if user.method == Method::Phone {
            "phone call"
        } else {
            "push"
        };
        let (result, reason, fraud) = match outcome {
            Ok(PushStatus::Allow) => (AuthResult::Accept, format!("{what} approved"), false),
            Ok(PushStatus::Deny) => (
                AuthResult::Reject,
                format!("{what} denied by the user"),
                false,
            ),
            Ok(PushStatus::Timeout | PushStatus::Waiting) => (
                AuthResult::Reject,
                format!("{what} not answered in time"),
                false,
            ),
            Ok(PushStatus::Fraud) => (
                AuthResult::Reject,
                format!(
                    "{what} reported as fraud: second factor locked until an administrator unlocks it"
                ),
                true,
            ),
            Err(e) => {
                let (result, reason) = self.failmode_verdict(audit, e.is_outage(), &e.to_string());
                (result, reason, false)
            }
        };
        if fraud {
            tracing::warn!(user = %user.name, "push reported as fraud; second factor locked");
        }
        let record = self.record(audit, result, &reason);
        self.store
            .write(move |tx| {
                let mut st = tx.push_state(&key)?;
                if st.pending.as_ref().is_some_and(|(p, _)| *p == hex(&id)) {
                    st.pending = None;
                    tx.set_push_state(&key, &st)?;
                }
                challenge.consumed = true;
                tx.put_challenge(&id, &challenge)?;
                if fraud {
                    let locked = FactorFailures {
                        count: 0,
                        locked_until_ms: u64::MAX,
                    };
                    tx.set_failures(&key, &locked)?;
                }
                tx.append_auth(&record)
            })
            .await?;
        Ok(self.decided(audit, result, &reason))
    }

    /// privacyIDEA, password accepted: its challenge-response tokens (SMS, e-mail) are
    /// triggered and its prompt relayed; for other tokens (TOTP, HOTP) the user is asked for a
    /// code. Either way the State is our challenge record, so any node can take the answer.
    async fn start_pi_challenge(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
    ) -> Result<Decision, AuthError> {
        let Some(pi) = &self.pi else {
            return self
                .finish_reject(audit, "no factor.privacyidea_provider")
                .await;
        };
        let (transaction_id, prompt) = match pi.trigger(&user.name).await {
            Ok(Some(PiVerdict::Challenge {
                transaction_id,
                message,
            })) => (Some(transaction_id), message),
            Ok(_) => (None, self.cfg.factor.challenge_prompt.clone()),
            Err(e) => return self.pi_failed(audit, e).await,
        };
        let id = self.challenge_id()?;
        let now = self.clock.now_ms();
        let challenge = ChallengeRecord {
            user_key: user_key(&user.name),
            client: audit.req.client_name.clone(),
            created_ms: now,
            expires_ms: now + self.cfg.factor.challenge_ttl_secs * 1000,
            attempts_left: self.cfg.factor.challenge_max_attempts,
            consumed: false,
            policy: audit.policy.clone(),
            sms: None,
            push_txid: None,
            privacyidea: Some(PiPending { transaction_id }),
        };
        let reason = "password accepted; privacyIDEA code requested";
        let record = self.record(audit, AuthResult::Challenge, reason);
        let cid = id.clone();
        self.store
            .write(move |tx| {
                tx.put_challenge(&cid, &challenge)?;
                tx.append_auth(&record)
            })
            .await?;
        self.trace(audit, AuthResult::Challenge, reason);
        Ok(Decision::Challenge { state: id, prompt })
    }

    /// A code for privacyIDEA: appended to the password, or the answer to a challenge (then
    /// with its transaction id; the challenge's attempts are spent here).
    async fn pi_answer(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        code: &str,
        challenge: Option<(Vec<u8>, ChallengeRecord)>,
    ) -> Result<Decision, AuthError> {
        let Some(pi) = &self.pi else {
            return self
                .finish_reject(audit, "no factor.privacyidea_provider")
                .await;
        };
        let txid = challenge
            .as_ref()
            .and_then(|(_, c)| c.privacyidea.as_ref())
            .and_then(|p| p.transaction_id.clone());
        let verdict = pi.check(&user.name, code.trim(), txid.as_deref()).await;
        let (result, reason) = match verdict {
            Ok(PiVerdict::Accept) => (AuthResult::Accept, "privacyIDEA accepted the code".into()),
            Ok(PiVerdict::Reject(m)) => (
                AuthResult::Reject,
                format!("privacyIDEA rejected the code ({m})"),
            ),
            Ok(PiVerdict::Challenge { .. }) => (
                AuthResult::Reject,
                "privacyIDEA asked for another challenge".into(),
            ),
            Err(e) => {
                if let Some((id, mut c)) = challenge {
                    c.consumed = true;
                    self.store
                        .write(move |tx| tx.put_challenge(&id, &c))
                        .await?;
                }
                return self.pi_failed(audit, e).await;
            }
        };
        let record = self.record(audit, result, &reason);
        self.store
            .write(move |tx| {
                if let Some((id, mut c)) = challenge {
                    c.attempts_left = c.attempts_left.saturating_sub(1);
                    c.consumed = result == AuthResult::Accept || c.attempts_left == 0;
                    tx.put_challenge(&id, &c)?;
                }
                tx.append_auth(&record)
            })
            .await?;
        Ok(self.decided(audit, result, &reason))
    }

    /// privacyIDEA could not decide: an outage goes to the client's failmode, a refusal
    /// rejects.
    async fn pi_failed(&self, audit: &Audit<'_>, e: PiError) -> Result<Decision, AuthError> {
        self.provider_failed(audit, e.is_outage(), &e.to_string())
            .await
    }

    /// A Duo passcode (from Duo Mobile or a hardware token) instead of a push.
    async fn duo_passcode(&self, audit: &Audit<'_>, code: &str) -> Result<Decision, AuthError> {
        let Some(duo) = &self.duo else {
            return self.finish_reject(audit, "no factor.push_provider").await;
        };
        match duo.passcode(&audit.user, code.trim()).await {
            Ok(true) => {
                self.finish(audit, AuthResult::Accept, "Duo passcode accepted")
                    .await
            }
            Ok(false) => self.finish_reject(audit, "Duo passcode rejected").await,
            Err(e) => self.cloud_failed(audit, e).await,
        }
    }

    /// The provider could not be asked (before anything was sent): the client's failmode.
    async fn cloud_failed(&self, audit: &Audit<'_>, e: DuoError) -> Result<Decision, AuthError> {
        self.provider_failed(audit, e.is_outage(), &e.to_string())
            .await
    }

    /// The one failmode rule: a provider outage on a `failmode = "safe"` client accepts on
    /// the password alone (warned every time); a refusal, or any failure on a `secure` client,
    /// rejects. `what` describes the failure for the log.
    fn failmode_verdict(
        &self,
        audit: &Audit<'_>,
        outage: bool,
        what: &str,
    ) -> (AuthResult, String) {
        if outage && audit.req.failmode == FailMode::Safe {
            tracing::warn!(error = what, user = %audit.user, client = %audit.req.client_name,
                "second-factor provider unreachable: failmode safe, accepted on the password alone");
            (
                AuthResult::Accept,
                format!("{what}; failmode safe: accepted on the password alone"),
            )
        } else {
            (AuthResult::Reject, format!("{what}; rejected"))
        }
    }

    /// Records and returns the decision for a provider that failed before anything was
    /// pending.
    async fn provider_failed(
        &self,
        audit: &Audit<'_>,
        outage: bool,
        what: &str,
    ) -> Result<Decision, AuthError> {
        let (result, reason) = self.failmode_verdict(audit, outage, what);
        self.finish(audit, result, &reason).await
    }

    /// The answer to an SMS challenge: the challenge must still be open and the user's newest,
    /// the code's hash must match; every attempt spends one of the challenge's attempts and
    /// counts towards the second factor's lockout, in one transaction with the audit record.
    async fn check_sms_code(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        code: &str,
        id: Vec<u8>,
    ) -> Result<Decision, AuthError> {
        let key = user_key(&user.name);
        let now = self.clock.now_ms();
        let fcfg = self.cfg.factor.clone();
        let mut record = self.record(audit, AuthResult::Reject, "");
        let store = self.store.clone();
        let code = code.trim().to_owned();
        let (result, reason) = self
            .store
            .write(move |tx| {
                let verdict = (|| -> Result<(AuthResult, String), StoreError> {
                    let Some(mut c) = tx.challenge(&id)? else {
                        return Ok((AuthResult::Reject, STALE_CHALLENGE.to_owned()));
                    };
                    if c.consumed || c.attempts_left == 0 || c.expires_ms <= now {
                        return Ok((AuthResult::Reject, STALE_CHALLENGE.to_owned()));
                    }
                    if tx.sms_latest(&key)?.as_deref() != Some(id.as_slice()) {
                        return Ok((
                            AuthResult::Reject,
                            "SMS code replaced by a newer one".to_owned(),
                        ));
                    }
                    let failures = tx.failures(&key)?;
                    if totp::is_locked(&failures, now) {
                        return Ok((AuthResult::Reject, CodeOutcome::Locked.reason().to_owned()));
                    }
                    let matched = c.sms.as_ref().is_some_and(|h| {
                        let salt = unhex(&h.salt).unwrap_or_default();
                        let expected = unhex(&h.mac).unwrap_or_default();
                        let got = store.sealer().code_mac(&id, &salt, &code);
                        bool::from(got.as_slice().ct_eq(expected.as_slice()))
                    });
                    c.attempts_left -= 1;
                    c.consumed = matched || c.attempts_left == 0;
                    tx.put_challenge(&id, &c)?;
                    let next = if matched {
                        FactorFailures::default()
                    } else {
                        totp::after_failure(&failures, now, &fcfg)
                    };
                    if next != failures {
                        tx.set_failures(&key, &next)?;
                    }
                    Ok(if matched {
                        (
                            AuthResult::Accept,
                            "password and SMS code accepted".to_owned(),
                        )
                    } else {
                        (AuthResult::Reject, CodeOutcome::Wrong.reason().to_owned())
                    })
                })();
                let (result, reason) = verdict?;
                record.result = result;
                record.reason = reason.clone();
                tx.append_auth(&record)?;
                Ok((result, reason))
            })
            .await?;
        Ok(self.decided(audit, result, &reason))
    }

    async fn check_code(
        &self,
        audit: &Audit<'_>,
        user: &UserRecord,
        code: &str,
        challenge_id: Option<Vec<u8>>,
    ) -> Result<Decision, AuthError> {
        let key = user_key(&user.name);
        let now = self.clock.now_ms();
        let matched = match &user.totp {
            Some(sealed) => {
                let seed = self.store.sealer().open(sealed, &key)?;
                totp::matching_step(&seed, code.trim(), now, &self.cfg.factor.totp)
            }
            None => None,
        };
        let fcfg = self.cfg.factor.clone();
        let mut record = self.record(audit, AuthResult::Reject, "");
        let outcome = self
            .store
            .write(move |tx| {
                // Re-checked inside the transaction: two racing answers to one challenge
                // cannot both spend its last attempt.
                let challenge = match &challenge_id {
                    None => None,
                    Some(id) => match tx.challenge(id)? {
                        Some(c) if !c.consumed && c.attempts_left > 0 && c.expires_ms > now => {
                            Some((id, c))
                        }
                        _ => {
                            record.reason = STALE_CHALLENGE.into();
                            tx.append_auth(&record)?;
                            return Ok(None);
                        }
                    },
                };
                let previous = tx.failures(&key)?;
                let (outcome, step, failures) =
                    totp::apply_attempt(matched, tx.totp_step(&key)?, &previous, now, &fcfg);
                if let Some((id, mut c)) = challenge {
                    c.attempts_left -= 1;
                    c.consumed =
                        matches!(outcome, CodeOutcome::Accepted { .. }) || c.attempts_left == 0;
                    tx.put_challenge(id, &c)?;
                }
                if let Some(step) = step {
                    tx.set_totp_step(&key, step)?;
                }
                // Writing an unchanged all-zero counter on every success would double the log.
                if failures != previous {
                    tx.set_failures(&key, &failures)?;
                }
                (record.result, record.reason) = code_verdict(Some(outcome));
                tx.append_auth(&record)?;
                Ok(Some(outcome))
            })
            .await?;
        let (result, reason) = code_verdict(outcome);
        Ok(self.decided(audit, result, &reason))
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
            Decision::Accept
        } else {
            Decision::Reject
        }
    }

    fn trace(&self, audit: &Audit<'_>, result: AuthResult, reason: &str) {
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

/// The audit result and reason of a code attempt; `None`: the challenge was no longer valid.
fn code_verdict(outcome: Option<CodeOutcome>) -> (AuthResult, String) {
    match outcome {
        Some(CodeOutcome::Accepted { .. }) => {
            (AuthResult::Accept, "password and code accepted".into())
        }
        Some(o) => (AuthResult::Reject, o.reason().into()),
        None => (AuthResult::Reject, STALE_CHALLENGE.into()),
    }
}

/// Polls a push until it is answered or `limit` passes (then: `Waiting`). A failed poll is retried (at most
/// three in a row): polling never sends another push.
async fn poll_push(duo: &DuoClient, txid: &str, limit: Duration) -> Result<PushStatus, DuoError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut failures = 0;
    let mut every = PUSH_POLL_EVERY;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(every.min(left).max(Duration::from_millis(1))).await;
        // Backing off keeps thousands of pending pushes from flooding the provider.
        every = (every * 3 / 2).min(PUSH_POLL_MAX);
        let last = tokio::time::Instant::now() >= deadline;
        // Boxed: a login waiting between polls then holds only the sleep, not a request.
        match Box::pin(duo.status(txid)).await {
            Ok(PushStatus::Waiting) if last => return Ok(PushStatus::Waiting),
            Ok(PushStatus::Waiting) => failures = 0,
            Ok(done) => return Ok(done),
            Err(e @ DuoError::Unreachable(..)) => {
                failures += 1;
                if failures >= 3 || last {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}
