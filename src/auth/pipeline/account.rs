//! After a right password: the `[[policy]]` rules (by group and client), the `[[reply]]`
//! attributes, the account's own state (record, enabled, lockout, enrolment) and a one-time
//! bypass an administrator granted.

use super::*;

impl Pipeline {
    /// The policy rules and account checks for someone whose password is right.
    pub(super) async fn after_primary(
        &self,
        audit: &mut Audit<'_>,
        id: Identity,
    ) -> Result<AfterPrimary, AuthError> {
        audit.user = id.name.clone();
        let rule = self.matching_rule(&id, &audit.req.client_name).await?;
        if let Some(rule) = rule {
            audit.policy = Some(rule.name.clone());
            if rule.action == PolicyAction::Deny {
                return Ok(AfterPrimary::Reject("denied by policy".into()));
            }
        }
        self.grant_by_rules(audit, &id).await?;
        if rule.is_some_and(|r| r.action == PolicyAction::Bypass) {
            return Ok(AfterPrimary::Accept(
                "password only: bypass by policy".into(),
            ));
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
        audit.contact = Some(Contact::of(&user));
        if !user.enabled {
            return Ok(AfterPrimary::Reject("user disabled".into()));
        }
        if user
            .bypass_until_ms
            .is_some_and(|t| t > self.clock.now_ms())
        {
            if let Some(d) = self.use_bypass(&user).await? {
                return Ok(d);
            }
        }
        if user.method == Method::Totp && user.totp.is_none() {
            return Ok(AfterPrimary::Reject(
                "no TOTP authenticator enrolled".into(),
            ));
        }
        let own = user.provider.as_deref();
        if let Some(why) = self
            .cfg
            .factor
            .unservable(user.method, own, user.phone.as_deref())
        {
            return Ok(AfterPrimary::Reject(why));
        }
        let failures = self.store.read(|r| r.failures(&user_key(&user.name)))?;
        if totp::is_locked(&failures, self.clock.now_ms(), &self.cfg.factor) {
            return Ok(AfterPrimary::Reject(CodeOutcome::Locked.reason().into()));
        }
        Ok(AfterPrimary::SecondFactor(Box::new(user)))
    }

    /// Uses up the user's one-time bypass (`user bypass`). A locked factor stays locked (an
    /// administrator unlocks it on purpose); a bypass another login took first, or one the
    /// directory cannot record now, leaves the second factor to ask as usual.
    pub(super) async fn use_bypass(
        &self,
        user: &UserRecord,
    ) -> Result<Option<AfterPrimary>, AuthError> {
        use crate::store::model::DirectoryWrite;
        let key = user_key(&user.name);
        let failures = self.store.read(|r| r.failures(&key))?;
        if totp::is_locked(&failures, self.clock.now_ms(), &self.cfg.factor) {
            return Ok(Some(AfterPrimary::Reject(
                CodeOutcome::Locked.reason().into(),
            )));
        }
        let mut spent = user.clone();
        spent.bypass_until_ms = None;
        let (w, _) = DirectoryWrite::replace_user(user, spent, self.clock.now_ms());
        match self.directory.write(w).await {
            Ok(o) if o.conflict.is_none() => Ok(Some(AfterPrimary::Accept(
                "password only: one-time bypass granted by an administrator, now used".into(),
            ))),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!(user = %user.name, error = %e, "bypass: could not be recorded as used; asking for the second factor");
                Ok(None)
            }
        }
    }

    /// The first `[[policy]]` rule that matches this user and client.
    pub(super) async fn matching_rule(
        &self,
        id: &Identity,
        client: &str,
    ) -> Result<Option<&PolicyRule>, AuthError> {
        for rule in &self.cfg.policies {
            if !rule.clients.is_empty() && !rule.clients.iter().any(|c| c == client) {
                continue;
            }
            if self.in_any_group(id, &rule.groups).await? {
                return Ok(Some(rule));
            }
        }
        Ok(None)
    }

    /// Whether the user is in one of `groups` (nested groups count); true when there are none.
    pub(super) async fn in_any_group(
        &self,
        id: &Identity,
        groups: &[String],
    ) -> Result<bool, AuthError> {
        for g in groups {
            if self.primary.member_of(id, g).await? {
                return Ok(true);
            }
        }
        Ok(groups.is_empty())
    }
}
