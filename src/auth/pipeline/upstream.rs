//! Logins that an `[[upstream]]` RADIUS server checks: which group checks which client
//! ([`Routes`]), the password or relayed credential sent there, and what its answer means
//! for the second factor. The upstream's Accept attributes ride on the login (and on its
//! challenge record) to the final Accept; its Reject attributes (MS-CHAP-Error) to the Reject.

use super::*;
use crate::auth::Relayed;
use crate::config::PrimaryConfig;
use crate::primary::radius_upstream::{Outgoing, Upstream, UpstreamError, Verdict};

#[derive(Default)]
pub(super) struct Routes {
    /// `[primary] backend = "radius"`.
    default: Option<Arc<Upstream>>,
    /// Clients with their own `primary`.
    by_client: HashMap<String, Arc<Upstream>>,
}

impl Routes {
    pub(super) fn new(cfg: &Config, clock: SharedClock) -> Result<Self, String> {
        let mut groups = HashMap::new();
        for u in &cfg.upstreams {
            groups.insert(u.name.clone(), Upstream::new(u, clock.clone())?);
        }
        let group = |name: &str| {
            groups
                .get(name)
                .cloned()
                .ok_or_else(|| format!("no [[upstream]] named \"{name}\""))
        };
        let default = match &cfg.primary {
            PrimaryConfig::Radius(name) => Some(group(name)?),
            _ => None,
        };
        let mut by_client = HashMap::new();
        for c in cfg.radius.iter().flat_map(|r| &r.clients) {
            if let Some(name) = &c.primary {
                by_client.insert(c.name.clone(), group(name)?);
            }
        }
        Ok(Self { default, by_client })
    }

    pub(super) fn default_group(&self) -> Option<Arc<Upstream>> {
        self.default.clone()
    }

    /// The group that checks this client's requests, if one does.
    pub(super) fn for_client(&self, client: &str) -> Option<Arc<Upstream>> {
        self.by_client
            .get(client)
            .or(self.default.as_ref())
            .cloned()
    }
}

/// The account name an upstream's user name stands for in mfagate: `CORP\alice` and
/// `alice@corp.example` are `alice`, as AD's sAMAccountName (the name `user import` keeps).
pub fn account_name(login: &str) -> &str {
    let login = login.trim();
    let login = login.rsplit_once('\\').map_or(login, |(_, n)| n);
    login.split_once('@').map_or(login, |(n, _)| n)
}

impl From<UpstreamError> for AuthError {
    fn from(e: UpstreamError) -> Self {
        AuthError::Unavailable(e.to_string())
    }
}

impl Pipeline {
    /// A credential only the upstream can check (CHAP, MS-CHAP, MS-CHAPv2): it goes there
    /// as it came; after its Accept, the second factor the client can wait for.
    pub(super) async fn relayed(
        &self,
        audit: &mut Audit<'_>,
        kind: Relayed,
    ) -> Result<Decision, AuthError> {
        let Some(up) = self.upstreams.for_client(&audit.req.client_name) else {
            let reason = format!(
                "unsupported authentication: {} (the primary cannot check it: use PAP, or \
                 an [[upstream]] RADIUS server as this client's primary)",
                kind.as_str()
            );
            return self.finish_reject(audit, &reason).await;
        };
        match Box::pin(self.upstream_check(audit, &up, None)).await? {
            AfterPrimary::Reject(reason) => self.finish_reject(audit, &reason).await,
            AfterPrimary::Accept(reason) => self.finish(audit, AuthResult::Accept, &reason).await,
            AfterPrimary::SecondFactor(user) => {
                Box::pin(self.held_second_factor(audit, &user, "")).await
            }
        }
    }

    /// A client that authenticated the user itself (an RD Gateway) asks for the second
    /// factor only. An upstream authorizes the request first (NPS's connection authorization
    /// policy, as the retired product did); without one the directory admits the account by
    /// its state (AD: not disabled, expired or locked out). Then the policy rules and a push
    /// or call the client waits for.
    pub(super) async fn name_only(&self, audit: &mut Audit<'_>) -> Result<Decision, AuthError> {
        let after = match self.upstreams.for_client(&audit.req.client_name) {
            Some(up) => Box::pin(self.upstream_check(audit, &up, None)).await?,
            None => {
                let candidate = self.primary.find(&audit.req.user_name).await?;
                if let Some(n) = candidate.name() {
                    audit.user = n.to_owned();
                }
                match self.primary.admit(candidate) {
                    Ok(id) => self.after_primary(audit, id).await?,
                    Err(reason) => AfterPrimary::Reject(reason),
                }
            }
        };
        match after {
            AfterPrimary::Reject(reason) => self.finish_reject(audit, &reason).await,
            AfterPrimary::Accept(reason) => self.finish(audit, AuthResult::Accept, &reason).await,
            AfterPrimary::SecondFactor(user) => {
                Box::pin(self.held_second_factor(audit, &user, "")).await
            }
        }
    }

    /// Sends the login to the upstream; its Accept goes on to the policy rules and account
    /// checks like any right password.
    pub(super) async fn upstream_check(
        &self,
        audit: &mut Audit<'_>,
        up: &Upstream,
        password: Option<&str>,
    ) -> Result<AfterPrimary, AuthError> {
        let req = audit.req;
        let out = Outgoing {
            user_name: &req.user_name,
            password,
            attributes: &req.forward,
            state: None,
        };
        let reply = up.authenticate(&out).await?;
        match reply.verdict {
            Verdict::Accept => {
                audit.grant = reply.attributes;
                let name = account_name(&req.user_name).to_owned();
                let id = Identity {
                    key: user_key(&name),
                    name,
                    record: None,
                    dn: None,
                };
                self.after_primary(audit, id).await
            }
            Verdict::Reject => {
                audit.refusal = reply.attributes;
                Ok(AfterPrimary::Reject(format!(
                    "rejected by upstream \"{}\" ({})",
                    up.name(),
                    reply.server
                )))
            }
            Verdict::Challenge { .. } => Ok(AfterPrimary::Reject(format!(
                "upstream \"{}\" ({}) sent an Access-Challenge, which is relayed only for EAP",
                up.name(),
                reply.server
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn account_names_drop_domain_and_realm() {
        for (login, name) in [
            ("alice", "alice"),
            ("CORP\\alice", "alice"),
            ("alice@corp.example", "alice"),
            (" alice ", "alice"),
        ] {
            assert_eq!(super::account_name(login), name);
        }
    }
}
