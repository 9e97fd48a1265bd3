//! LDAP binds: the entry first (an exempt account's password is never split at the
//! delimiter), the bind cache, the password and the appended code; and the directory reads the
//! LDAP front-end passes through.

use super::*;

impl Pipeline {
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
        let mut audit = Audit::new(req);
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
                AfterPrimary::SecondFactor(_) if cached => {
                    self.finish(
                        &audit,
                        AuthResult::Accept,
                        "password accepted; code skipped: repeated bind within bind_cache_secs",
                    )
                    .await?
                }
                AfterPrimary::SecondFactor(user) => {
                    let d = Box::pin(self.held_second_factor(&audit, &user, code)).await?;
                    if let (Decision::Accept(_), Some(c), Some(k)) =
                        (&d, &self.bind_cache, cache_key)
                    {
                        c.remember(k, password, self.clock.now_ms());
                    }
                    d
                }
            }
        };
        if !decision.is_accept() {
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
}
