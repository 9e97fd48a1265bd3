//! Invitations to enrol: the e-mail that tells a user how they will confirm sign-ins and,
//! with `[portal]`, the one-time link that signs them in there. This module owns making the
//! link (a random token, only its hash stored on the user, through the directory so one
//! cluster member sends it), the interval between two invitations to one user, the record
//! of every send in the authentication log, and the retry of sends that failed.
//!
//! A sync never sends: it marks the users it adds (`invite_pending`) and the sweep
//! ([`Inviter::sweep`], every [`SWEEP_EVERY`] and after each sync run) sends what is owed,
//! so a mail outage never holds a sync up; a failed send stays owed and is tried again.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::auth::portal::{has_factor, token_hash};
use crate::clock::SharedClock;
use crate::cluster::Directory;
use crate::config::{Config, Method};
use crate::email::{EmailError, Invitation as Mail, Mailer};
use crate::store::model::{
    hex, user_key, AuthRecord, AuthResult, DirectoryWrite, Invitation, UserRecord,
};
use crate::store::{Store, StoreError};

pub const SWEEP_EVERY: Duration = Duration::from_secs(300);

/// Sends what is owed now, when `owed` is poked (after a sync run that may have added
/// users), and every [`SWEEP_EVERY`], with the configuration of the moment (a reload applies).
pub async fn sweep_loop(
    cfg: Arc<crate::live::Live<Config>>,
    store: Store,
    directory: Directory,
    clock: SharedClock,
    owed: Arc<tokio::sync::Notify>,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        let now = cfg.get();
        if now.email.is_some() {
            match Inviter::new(now, store.clone(), directory.clone(), clock.clone()) {
                Ok(inviter) => {
                    if let Err(e) = inviter.sweep().await {
                        tracing::warn!(error = %e, "invitations: sweep failed; will retry");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "invitations: cannot send"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = owed.notified() => {}
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}
/// The client name of invitation records in the authentication log.
pub const INVITE_CLIENT: &str = "invitation";

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("no [email] section: invitations need an SMTP server")]
    NoEmail,
    #[error("{0}")]
    Mailer(EmailError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("directory: {0}")]
    Directory(String),
    #[error("random: {0}")]
    Random(String),
}

/// What happened for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Sent {
        to: String,
    },
    /// `--dry-run`: would be sent.
    WouldSend {
        to: String,
    },
    /// Not sent, and nothing to retry (no address, invited recently, …).
    Skipped {
        why: String,
    },
    /// Not sent; `retry`: still owed, tried again by the sweep.
    Failed {
        error: String,
        retry: bool,
    },
}

pub struct Inviter {
    cfg: Arc<Config>,
    store: Store,
    directory: Directory,
    clock: SharedClock,
    mailer: Mailer,
}

impl Inviter {
    pub fn new(
        cfg: Arc<Config>,
        store: Store,
        directory: Directory,
        clock: SharedClock,
    ) -> Result<Self, InviteError> {
        let ecfg = cfg.email.as_ref().ok_or(InviteError::NoEmail)?;
        let mailer = Mailer::new(ecfg).map_err(InviteError::Mailer)?;
        Ok(Inviter {
            cfg,
            store,
            directory,
            clock,
            mailer,
        })
    }

    /// Sends the user an invitation unless one went out within the interval.
    pub async fn invite(&self, name: &str, dry_run: bool) -> Result<Outcome, InviteError> {
        let key = user_key(name);
        let Some(user) = self.store.read(|r| r.user(&key))? else {
            return Ok(Outcome::Skipped {
                why: format!("no user \"{name}\""),
            });
        };
        if let Some(why) = self.not_invitable(&user) {
            return Ok(Outcome::Skipped { why });
        }
        let to = user.email.clone().unwrap_or_default();
        if dry_run {
            return Ok(Outcome::WouldSend { to });
        }
        self.send(user).await
    }

    /// Why this user gets no invitation now, if so.
    fn not_invitable(&self, user: &UserRecord) -> Option<String> {
        if !user.enabled {
            return Some("disabled".into());
        }
        if user.email.as_deref().is_none_or(str::is_empty) {
            return Some("no e-mail address".into());
        }
        let needs_portal = matches!(user.method, Method::Totp | Method::Privacyidea);
        if needs_portal && self.cfg.portal.is_none() {
            return Some(format!(
                "method {} is enrolled at the portal, and there is no [portal]",
                user.method.as_str()
            ));
        }
        let interval = self
            .cfg
            .email
            .as_ref()
            .map(|e| e.invite_interval_secs * 1000)
            .unwrap_or(0);
        let now = self.clock.now_ms();
        if let Some(t) = user.invited_ms.filter(|t| now < t.saturating_add(interval)) {
            return Some(format!(
                "invited at {}; not again before {}",
                crate::timefmt::rfc3339_ms(t),
                crate::timefmt::rfc3339_ms(t.saturating_add(interval))
            ));
        }
        None
    }

    /// Claims the send in the directory (new link, sent now), sends, and records the result;
    /// a failed send gives the claim back so the interval does not hold up its retry.
    async fn send(&self, user: UserRecord) -> Result<Outcome, InviteError> {
        let now = self.clock.now_ms();
        let link = match &self.cfg.portal {
            Some(p) => {
                let (token, inv) = self.new_invitation(p.invitation_valid_ms)?;
                Some((format!("{}/invite/{token}", p.public_url), inv))
            }
            None => None,
        };
        let mut claimed = user.clone();
        claimed.invited_ms = Some(now);
        claimed.invite_pending = false;
        if let Some((_, inv)) = &link {
            claimed.invitation = Some(inv.clone());
        }
        let Some(claimed) = self.update(&user, claimed).await? else {
            return Ok(Outcome::Skipped {
                why: "the user changed meanwhile (another node may be inviting them)".into(),
            });
        };
        let expires = link
            .as_ref()
            .map(|(_, inv)| crate::timefmt::rfc3339_ms(inv.expires_ms));
        let to = user.email.clone().unwrap_or_default();
        let mail = Mail {
            user: &user.name,
            display_name: user.display_name.as_deref(),
            to: &to,
            method: user.method,
            phone: user.phone.as_deref(),
            link: link.as_ref().map(|(l, _)| l.as_str()),
            expires: expires.as_deref(),
            language: user.language.as_deref(),
        };
        match self.mailer.send(&mail).await {
            Ok(()) => {
                let what = match &link {
                    Some(_) => format!("invitation sent to {to} with a portal link"),
                    None => format!("invitation sent to {to}"),
                };
                self.record(&user, &what).await?;
                Ok(Outcome::Sent { to })
            }
            Err(e) => {
                let retry = matches!(
                    e,
                    EmailError::Transient(_) | EmailError::Auth(_) | EmailError::Setup(_)
                );
                let mut back = claimed.clone();
                back.invited_ms = user.invited_ms;
                back.invitation = user.invitation.clone();
                back.invite_pending = retry;
                self.update(&claimed, back).await?;
                let what = if retry {
                    format!("invitation to {to} not sent, will retry: {e}")
                } else {
                    format!("invitation to {to} not sent: {e}")
                };
                tracing::warn!(user = %user.name, "{what}");
                self.record(&user, &what).await?;
                Ok(Outcome::Failed {
                    error: e.to_string(),
                    retry,
                })
            }
        }
    }

    /// Sends every invitation owed (users a sync added, sends that failed), one user at a
    /// time. Returns what happened to each.
    pub async fn sweep(&self) -> Result<Vec<(String, Outcome)>, InviteError> {
        let owed: Vec<UserRecord> = self
            .store
            .read(|r| r.users())?
            .into_iter()
            .filter(|u| u.invite_pending)
            .collect();
        let mut out = Vec::new();
        for u in owed {
            if let Some(why) = self.not_invitable(&u) {
                // Nothing to retry: an address-less or disabled user is not owed a mail.
                if u.email.as_deref().is_none_or(str::is_empty) || !u.enabled {
                    let mut done = u.clone();
                    done.invite_pending = false;
                    self.update(&u, done).await?;
                }
                out.push((u.name.clone(), Outcome::Skipped { why }));
                continue;
            }
            let name = u.name.clone();
            let o = self.send(u).await?;
            let outage = matches!(o, Outcome::Failed { retry: true, .. });
            out.push((name, o));
            if outage {
                // The rest would wait for the same time-out; they stay owed.
                break;
            }
        }
        Ok(out)
    }

    /// Marks the user as owed an invitation, for the sweep (a run cut short by an outage).
    pub async fn owe(&self, name: &str) -> Result<(), InviteError> {
        let Some(u) = self.store.read(|r| r.user(&user_key(name)))? else {
            return Ok(());
        };
        if !u.invite_pending && self.not_invitable(&u).is_none() {
            let mut owed = u.clone();
            owed.invite_pending = true;
            self.update(&u, owed).await?;
        }
        Ok(())
    }

    /// The users `--not-enrolled` means: enabled, with an address, and no second factor yet.
    pub fn not_enrolled(&self) -> Result<Vec<String>, InviteError> {
        Ok(self
            .store
            .read(|r| r.users())?
            .into_iter()
            .filter(|u| u.enabled && !has_factor(u))
            .map(|u| u.name)
            .collect())
    }

    fn new_invitation(&self, valid_ms: u64) -> Result<(String, Invitation), InviteError> {
        let mut raw = [0u8; 32];
        getrandom::getrandom(&mut raw).map_err(|e| InviteError::Random(e.to_string()))?;
        let token = hex(&raw);
        let now = self.clock.now_ms();
        let inv = Invitation {
            token_hash: token_hash(&token),
            created_ms: now,
            expires_ms: now.saturating_add(valid_ms),
        };
        Ok((token, inv))
    }

    /// Writes `next` over `current` if the record is still `current`'s version.
    async fn update(
        &self,
        current: &UserRecord,
        next: UserRecord,
    ) -> Result<Option<UserRecord>, InviteError> {
        let (w, next) = DirectoryWrite::replace_user(current, next, self.clock.now_ms());
        match self.directory.write(w).await {
            Ok(o) if o.conflict.is_none() => Ok(Some(next)),
            Ok(_) => Ok(None),
            Err(e) => Err(InviteError::Directory(e.to_string())),
        }
    }

    async fn record(&self, user: &UserRecord, what: &str) -> Result<(), InviteError> {
        let record = AuthRecord {
            time_ms: self.clock.now_ms(),
            node: self.cfg.node_name.clone(),
            user: user.name.clone(),
            client_name: INVITE_CLIENT.into(),
            client_ip: String::new(),
            method: user.method.as_str().into(),
            result: AuthResult::Event,
            reason: what.to_owned(),
            policy: None,
            node_ip: None,
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            phone: None,
        };
        tracing::info!(target: "mfagate::audit", user = %user.name, client = INVITE_CLIENT, result = "event", reason = what, "invitation");
        self.store.write(move |tx| tx.append_auth(&record)).await?;
        Ok(())
    }
}
