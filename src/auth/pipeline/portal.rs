//! The enrolment portal's decisions: who may sign in (directory password, then the current
//! second factor if the user has one, or the invitation link if not), and what an enrolment
//! needs before it is saved (a code from the new authenticator, a code sent to the new phone).
//! The portal front-end only renders these outcomes; every decision is in the authentication
//! log under the client name [`PORTAL_CLIENT`].
//!
//! `[[policy]]` rules that deny a user apply here too; a bypass rule does not, because the
//! portal is where factors change: skipping the current factor here would let a password
//! alone replace it.

use super::*;
use crate::auth::Credential;
use crate::config::Secret;
use crate::store::model::{DirectoryWrite, SealedSeed};

/// The client name portal decisions carry in the authentication log.
pub const PORTAL_CLIENT: &str = "portal";

/// Attempts at confirming a new authenticator before it is thrown away.
pub const TOTP_CONFIRM_ATTEMPTS: u32 = 5;

/// A sign-in at the portal.
pub struct PortalLogin {
    pub user_name: String,
    pub password: Secret<String>,
    pub client_ip: std::net::IpAddr,
    /// The token from an invitation link.
    pub invitation: Option<Secret<String>>,
    /// `[portal] require_invitation`.
    pub require_invitation: bool,
}

/// Where a portal sign-in stands. A refusal says nothing of why: an unknown user, a wrong
/// password, a used link and a locked account look the same; the reason is logged.
#[derive(Debug)]
pub enum PortalStep {
    Refused,
    /// The user's current factor is asked: `state` is answered with a code (or, for a push,
    /// after approving on the phone).
    Challenge {
        state: Vec<u8>,
        prompt: String,
        /// Answered on the phone (push, call), not with a typed code.
        out_of_band: bool,
    },
    SignedIn {
        user: Box<UserRecord>,
    },
}

/// Whether a user already has a second factor the portal must ask before changes.
pub fn has_factor(user: &UserRecord) -> bool {
    match user.method {
        Method::Totp => user.totp.is_some(),
        Method::Sms => user.phone.is_some() || user.totp.is_some(),
        // Provider-managed factors (push, phone, privacyIDEA tokens) exist outside mfagate.
        _ => true,
    }
}

/// The hex SHA-256 of an invitation token or a session cookie: only hashes are stored.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(token.as_bytes()))
}

fn invitation_matches(user: &UserRecord, token: Option<&Secret<String>>, now: u64) -> bool {
    let (Some(inv), Some(token)) = (&user.invitation, token) else {
        return false;
    };
    let given = token_hash(token.expose());
    inv.expires_ms > now && bool::from(given.as_bytes().ct_eq(inv.token_hash.as_bytes()))
}

impl Pipeline {
    fn portal_request(&self, user_name: &str, ip: std::net::IpAddr, c: Credential) -> AuthRequest {
        AuthRequest {
            user_name: user_name.to_owned(),
            client_name: PORTAL_CLIENT.to_owned(),
            client_ip: ip,
            credential: c,
            failmode: FailMode::Secure,
            push_mode: PushMode::Challenge,
            retransmit_key: None,
            forward: Vec::new(),
        }
    }

    /// The first step of a portal sign-in: the password, then the current factor or the
    /// invitation.
    pub async fn portal_sign_in(&self, login: PortalLogin) -> Result<PortalStep, AuthError> {
        let req = self.portal_request(
            &login.user_name,
            login.client_ip,
            Credential::Password(login.password.clone()),
        );
        let mut audit = Audit::new(&req);
        if login.password.expose().is_empty() {
            self.finish_reject(&audit, "empty password").await?;
            return Ok(PortalStep::Refused);
        }
        let id = match self
            .primary
            .verify(&login.user_name, login.password.expose())
            .await?
        {
            Ok(id) => id,
            Err(reason) => {
                self.finish_reject(&audit, &reason).await?;
                return Ok(PortalStep::Refused);
            }
        };
        audit.user = id.name.clone();
        if let Some(rule) = self.matching_rule(&id, PORTAL_CLIENT).await? {
            if rule.action == PolicyAction::Deny {
                audit.policy = Some(rule.name.clone());
                self.finish_reject(&audit, "denied by policy").await?;
                return Ok(PortalStep::Refused);
            }
        }
        let user = match id.record {
            Some(u) => Some(u),
            None => self.store.read(|r| r.user(&id.key))?,
        };
        let Some(user) = user else {
            self.finish_reject(&audit, "password accepted, but the user is not in mfagate")
                .await?;
            return Ok(PortalStep::Refused);
        };
        audit.user = user.name.clone();
        audit.method = user.method.as_str();
        audit.contact = Some(Contact::of(&user));
        let now = self.clock.now_ms();
        let failures = self.store.read(|r| r.failures(&user_key(&user.name)))?;
        let refusal = if !user.enabled {
            Some("user disabled".to_owned())
        } else if totp::is_locked(&failures, now, &self.cfg.factor) {
            Some(CodeOutcome::Locked.reason().to_owned())
        } else if (login.require_invitation || !has_factor(&user))
            && !invitation_matches(&user, login.invitation.as_ref(), now)
        {
            Some("portal: no valid invitation link (missing, expired or used)".to_owned())
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.finish_reject(&audit, &reason).await?;
            return Ok(PortalStep::Refused);
        }
        if !has_factor(&user) {
            return self
                .portal_signed_in(&audit, user, login.invitation.as_ref(), None)
                .await;
        }
        // A user who lost their factor: the helpdesk granted a one-time bypass and sent a
        // new invitation; both together stand in for the factor, once.
        let bypass = user.bypass_until_ms.is_some_and(|t| t > now);
        if bypass && invitation_matches(&user, login.invitation.as_ref(), now) {
            if let Some(AfterPrimary::Accept(_)) = self.use_bypass(&user).await? {
                let Some(user) = self.store.read(|r| r.user(&user_key(&user.name)))? else {
                    return Ok(PortalStep::Refused);
                };
                let how = "portal: signed in with the password, the invitation link and the \
                           one-time bypass (now used)";
                return self
                    .portal_signed_in(&audit, user, login.invitation.as_ref(), Some(how))
                    .await;
            }
        }
        // The current factor is asked as at any login, whatever the policy says.
        let mut asked = user.clone();
        if asked.method == Method::Sms && asked.phone.is_none() {
            asked.method = Method::Totp;
        }
        match Box::pin(self.second_factor(&audit, &asked, "")).await? {
            Decision::Challenge { state, prompt } => self.portal_challenge(state, prompt),
            Decision::Accept(_) => {
                self.portal_signed_in(&audit, user, login.invitation.as_ref(), None)
                    .await
            }
            _ => Ok(PortalStep::Refused),
        }
    }

    /// The answer to the factor a portal sign-in asked.
    pub async fn portal_answer(
        &self,
        user_name: &str,
        client_ip: std::net::IpAddr,
        state: Vec<u8>,
        code: Secret<String>,
        invitation: Option<Secret<String>>,
        require_invitation: bool,
    ) -> Result<PortalStep, AuthError> {
        let key = user_key(user_name);
        if require_invitation {
            // Checked before the code, which then stays unspent: the link is what is missing.
            let current = self.store.read(|r| r.user(&key))?;
            let now = self.clock.now_ms();
            if !current.is_some_and(|u| invitation_matches(&u, invitation.as_ref(), now)) {
                let req = self.portal_request(user_name, client_ip, Credential::NameOnly);
                let audit = Audit::new(&req);
                self.finish_reject(
                    &audit,
                    "portal: no valid invitation link (missing, expired or used)",
                )
                .await?;
                return Ok(PortalStep::Refused);
            }
        }
        let req = self.portal_request(
            user_name,
            client_ip,
            Credential::ChallengeResponse { state, code },
        );
        match Box::pin(self.authenticate(req)).await? {
            Decision::Accept(_) => {}
            Decision::Challenge { state, prompt } => return self.portal_challenge(state, prompt),
            _ => return Ok(PortalStep::Refused),
        }
        let Some(user) = self.store.read(|r| r.user(&key))? else {
            return Ok(PortalStep::Refused);
        };
        // A link that came along is used up now, so it signs in once.
        if invitation_matches(&user, invitation.as_ref(), self.clock.now_ms())
            && !self.spend_invitation(&user).await?
        {
            return Ok(PortalStep::Refused);
        }
        Ok(PortalStep::SignedIn {
            user: Box::new(user),
        })
    }

    fn portal_challenge(&self, state: Vec<u8>, prompt: String) -> Result<PortalStep, AuthError> {
        let out_of_band = self
            .store
            .read(|r| r.challenge(&state))?
            .and_then(|c| c.factor)
            .is_some_and(|f| f.out_of_band);
        Ok(PortalStep::Challenge {
            state,
            prompt,
            out_of_band,
        })
    }

    async fn portal_signed_in(
        &self,
        audit: &Audit<'_>,
        user: UserRecord,
        invitation: Option<&Secret<String>>,
        how: Option<&str>,
    ) -> Result<PortalStep, AuthError> {
        let now = self.clock.now_ms();
        if invitation_matches(&user, invitation, now) && !self.spend_invitation(&user).await? {
            self.finish_reject(audit, "portal: invitation link used by another sign-in")
                .await?;
            return Ok(PortalStep::Refused);
        }
        let how = how.unwrap_or(if invitation.is_some() {
            "portal: signed in with the password and the invitation link"
        } else {
            "portal: signed in"
        });
        self.finish(audit, AuthResult::Accept, how).await?;
        Ok(PortalStep::SignedIn {
            user: Box::new(user),
        })
    }

    /// Clears the user's invitation, guarded by the record's version: of two sign-ins with
    /// the same link, one wins in the whole cluster.
    async fn spend_invitation(&self, user: &UserRecord) -> Result<bool, AuthError> {
        let mut spent = user.clone();
        spent.invitation = None;
        let (w, _) = DirectoryWrite::replace_user(user, spent, self.clock.now_ms());
        match self.directory.write(w).await {
            Ok(o) => Ok(o.conflict.is_none()),
            Err(e) => Err(AuthError::Unavailable(e.to_string())),
        }
    }

    /// Whether the user's second factor is locked (failures, or a sign-in reported as not
    /// theirs): then nothing may be enrolled until an administrator unlocks it.
    pub fn portal_factor_locked(&self, user_name: &str) -> Result<bool, AuthError> {
        let failures = self.store.read(|r| r.failures(&user_key(user_name)))?;
        Ok(totp::is_locked(
            &failures,
            self.clock.now_ms(),
            &self.cfg.factor,
        ))
    }

    /// Confirms a new authenticator with a code from it: on a right code the seed is the
    /// user's (method TOTP), the code's step is spent, and the enrolment is logged. Returns
    /// whether it was saved.
    pub async fn portal_confirm_totp(
        &self,
        user_name: &str,
        client_ip: std::net::IpAddr,
        sealed: &SealedSeed,
        code: &str,
    ) -> Result<bool, AuthError> {
        if self.portal_factor_locked(user_name)? {
            return Ok(false);
        }
        let key = user_key(user_name);
        let seed = self.store.sealer().open(sealed, &key)?;
        let now = self.clock.now_ms();
        let req = self.portal_request(user_name, client_ip, Credential::NameOnly);
        let mut audit = Audit::new(&req);
        audit.method = Method::Totp.as_str();
        let Some(step) = totp::matching_step(&seed, code.trim(), now, &self.cfg.factor.totp) else {
            self.portal_event(
                &audit,
                "portal: wrong code for the new authenticator; not saved",
            )
            .await?;
            return Ok(false);
        };
        let sealed = sealed.clone();
        let saved = self
            .update_portal_user(&key, move |u| {
                u.totp = Some(sealed.clone());
                u.method = Method::Totp;
                mark_local(u, "method");
            })
            .await?;
        if let Some(u) = &saved {
            audit.user = u.name.clone();
            audit.contact = Some(Contact::of(u));
            let k = key.clone();
            self.store
                .write(move |tx| {
                    if tx.totp_step(&k)?.is_none_or(|s| s < step) {
                        tx.set_totp_step(&k, step)?;
                    }
                    Ok(())
                })
                .await?;
            self.portal_event(&audit, "portal: authenticator app enrolled")
                .await?;
        }
        Ok(saved.is_some())
    }

    /// Sends a code to a new phone number for the user to type back; the challenge's state
    /// is answered with [`Pipeline::portal_confirm_phone`]. `None`: no code could be sent.
    pub async fn portal_send_phone_code(
        &self,
        user_name: &str,
        client_ip: std::net::IpAddr,
        phone: &str,
    ) -> Result<Option<Vec<u8>>, AuthError> {
        let key = user_key(user_name);
        if self.portal_factor_locked(user_name)? {
            return Ok(None);
        }
        let Some(mut user) = self.store.read(|r| r.user(&key))? else {
            return Ok(None);
        };
        user.method = Method::Sms;
        user.phone = Some(phone.to_owned());
        // A password-and-challenge request as far as the factor is concerned: the code is
        // typed back on the page (the password was checked at sign-in).
        let req = self.portal_request(
            user_name,
            client_ip,
            Credential::Password(Secret::new(String::new())),
        );
        let mut audit = Audit::new(&req);
        audit.user = user.name.clone();
        audit.method = Method::Sms.as_str();
        audit.contact = Some(Contact::of(&user));
        let Some(provider) = self.route(&user).filter(|p| p.carries_our_code()) else {
            self.portal_event(&audit, "portal: no SMS provider to confirm a phone")
                .await?;
            return Ok(None);
        };
        match Box::pin(self.begin(&audit, &user, provider)).await? {
            Decision::Challenge { state, .. } => Ok(Some(state)),
            _ => Ok(None),
        }
    }

    /// The code sent to the new phone, typed back: on a right code the phone is saved (and
    /// kept by syncs). Wrong codes count towards the lockout like any SMS code.
    pub async fn portal_confirm_phone(
        &self,
        user_name: &str,
        client_ip: std::net::IpAddr,
        state: Vec<u8>,
        code: Secret<String>,
        phone: &str,
    ) -> Result<bool, AuthError> {
        let req = self.portal_request(
            user_name,
            client_ip,
            Credential::ChallengeResponse { state, code },
        );
        let Decision::Accept(_) = Box::pin(self.authenticate(req)).await? else {
            return Ok(false);
        };
        let key = user_key(user_name);
        let phone = phone.to_owned();
        let saved = self
            .update_portal_user(&key, move |u| {
                let had_factor = has_factor(u);
                u.phone = Some(phone.clone());
                mark_local(u, "phone");
                if !had_factor {
                    u.method = Method::Sms;
                    mark_local(u, "method");
                }
            })
            .await?;
        if let Some(u) = &saved {
            let req = self.portal_request(user_name, client_ip, Credential::NameOnly);
            let mut audit = Audit::new(&req);
            audit.user = u.name.clone();
            audit.method = Method::Sms.as_str();
            audit.contact = Some(Contact::of(u));
            self.portal_event(&audit, "portal: phone number confirmed and saved")
                .await?;
        }
        Ok(saved.is_some())
    }

    /// "This wasn't me" on a recent sign-in: the second factor is locked as for a push
    /// reported as fraud, until an administrator unlocks it.
    pub async fn portal_report_fraud(
        &self,
        user_name: &str,
        client_ip: std::net::IpAddr,
        when: &str,
    ) -> Result<(), AuthError> {
        let key = user_key(user_name);
        let now = self.clock.now_ms();
        let req = self.portal_request(user_name, client_ip, Credential::NameOnly);
        let mut audit = Audit::new(&req);
        if let Some(u) = self.store.read(|r| r.user(&key))? {
            audit.user = u.name.clone();
            audit.method = u.method.as_str();
            audit.contact = Some(Contact::of(&u));
        }
        let reason = format!(
            "portal: the user reported the sign-in of {when} as not theirs; second factor \
             locked until an administrator unlocks it"
        );
        tracing::warn!(user = %audit.user, "portal: sign-in reported as not the user's; second factor locked");
        let record = self.record(&audit, AuthResult::Event, &reason);
        self.store
            .write(move |tx| {
                tx.set_failures(&key, &FactorFailures::locked_by_report(now))?;
                tx.append_auth(&record)
            })
            .await?;
        Ok(())
    }

    /// Something done at the portal that is not a login (sign-out, a failed confirmation).
    pub async fn portal_note(
        &self,
        user_name: &str,
        client_ip: std::net::IpAddr,
        what: &str,
    ) -> Result<(), AuthError> {
        let req = self.portal_request(user_name, client_ip, Credential::NameOnly);
        let audit = Audit::new(&req);
        self.portal_event(&audit, what).await
    }

    async fn portal_event(&self, audit: &Audit<'_>, reason: &str) -> Result<(), AuthError> {
        let record = self.record(audit, AuthResult::Event, reason);
        self.trace(audit, AuthResult::Event, reason);
        self.store.write(move |tx| tx.append_auth(&record)).await?;
        Ok(())
    }

    /// Changes the user's record through the directory (the leader, in a cluster), guarded
    /// by its version. `None`: no such user, or it changed meanwhile.
    async fn update_portal_user(
        &self,
        key: &str,
        change: impl Fn(&mut UserRecord) + Send + 'static,
    ) -> Result<Option<UserRecord>, AuthError> {
        let Some(current) = self.store.read(|r| r.user(key))? else {
            return Ok(None);
        };
        let mut next = current.clone();
        change(&mut next);
        let (w, next) = DirectoryWrite::replace_user(&current, next, self.clock.now_ms());
        match self.directory.write(w).await {
            Ok(o) if o.conflict.is_none() => Ok(Some(next)),
            Ok(_) => Ok(None),
            Err(e) => Err(AuthError::Unavailable(e.to_string())),
        }
    }
}

/// Notes a field the user set in mfagate, so a sync keeps it.
fn mark_local(u: &mut UserRecord, field: &str) {
    if !u.local_overrides.iter().any(|o| o == field) {
        u.local_overrides.push(field.to_owned());
    }
}
