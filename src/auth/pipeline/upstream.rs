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

    pub(super) fn set_metrics(&self, m: &Arc<crate::metrics::Metrics>) {
        for u in self.default.iter().chain(self.by_client.values()) {
            u.set_metrics(m.clone());
        }
    }

    /// The groups RADIUS clients name as their own `primary`, each once, by name.
    pub(super) fn client_groups(&self) -> Vec<Arc<Upstream>> {
        let mut out: Vec<Arc<Upstream>> = Vec::new();
        for u in self.by_client.values() {
            if !out.iter().any(|o| o.name() == u.name()) {
                out.push(u.clone());
            }
        }
        out.sort_by(|a, b| a.name().cmp(b.name()));
        out
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

    /// One EAP round. The upstream's Access-Challenges are relayed round after round, our
    /// State naming the server that holds the conversation and carrying its State (so any
    /// cluster node can relay the next round); its Accept goes on to the second factor the
    /// client waits for, under the identity the upstream names (PEAP and TTLS hide the real
    /// one inside the tunnel); its Reject (with EAP-Failure) is passed on.
    pub(super) async fn eap(
        &self,
        audit: &mut Audit<'_>,
        state: Option<&[u8]>,
    ) -> Result<Decision, AuthError> {
        let Some(up) = self.upstreams.for_client(&audit.req.client_name) else {
            let reason = "unsupported authentication: EAP (it needs an [[upstream]] RADIUS \
                          server as this client's primary)";
            return self.finish_reject(audit, reason).await;
        };
        let (only, upstream_state) = match state.map(unwrap_eap_state) {
            None => (None, None),
            Some(Some((i, s))) => (Some(i), Some(s)),
            Some(None) => return self.finish_reject(audit, STALE_CHALLENGE).await,
        };
        let req = audit.req;
        let out = Outgoing {
            user_name: &req.user_name,
            password: None,
            attributes: &req.forward,
            state: upstream_state,
        };
        let reply = up.authenticate_at(&out, only).await?;
        match reply.verdict {
            Verdict::Challenge { state } => Ok(Decision::Continue {
                state: wrap_eap_state(reply.server_index, state.as_deref().unwrap_or_default()),
                attributes: reply.attributes,
            }),
            Verdict::Reject => {
                audit.refusal = reply.attributes;
                let reason = format!("rejected by upstream \"{}\" ({})", up.name(), reply.server);
                self.finish_reject(audit, &reason).await
            }
            Verdict::Accept => {
                let inner = reply
                    .attributes
                    .iter()
                    .find(|a| a.vendor == 0 && a.code == crate::radius::codec::ATTR_USER_NAME)
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                let login = inner.unwrap_or_else(|| req.user_name.clone());
                audit.user = login.clone();
                audit.grant = reply.attributes;
                let name = account_name(&login).to_owned();
                let id = Identity {
                    key: user_key(&name),
                    name,
                    record: None,
                    dn: None,
                };
                match self.after_primary(audit, id).await? {
                    AfterPrimary::Reject(reason) => {
                        self.eap_failure(audit);
                        self.finish_reject(audit, &reason).await
                    }
                    AfterPrimary::Accept(reason) => {
                        self.finish(audit, AuthResult::Accept, &reason).await
                    }
                    AfterPrimary::SecondFactor(user) => {
                        let d = Box::pin(self.held_second_factor(audit, &user, "")).await?;
                        if !d.is_accept() {
                            return Ok(Decision::Reject(eap_failure_for(&audit.grant)));
                        }
                        Ok(d)
                    }
                }
            }
        }
    }

    /// A login the upstream accepted but we refuse: the NAS must see EAP-Failure, not the
    /// upstream's EAP-Success.
    fn eap_failure(&self, audit: &mut Audit<'_>) {
        audit.refusal = eap_failure_for(&audit.grant);
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

/// Our State for an upstream's EAP Access-Challenge: a marker, the server's place in the
/// group and the upstream's own State.
const EAP_STATE_MARK: &[u8; 4] = b"mfgE";

fn wrap_eap_state(server: usize, upstream: &[u8]) -> Vec<u8> {
    let mut s = EAP_STATE_MARK.to_vec();
    s.push(server.min(255) as u8);
    s.extend_from_slice(upstream);
    s
}

fn unwrap_eap_state(state: &[u8]) -> Option<(usize, &[u8])> {
    let rest = state.strip_prefix(EAP_STATE_MARK.as_slice())?;
    let (i, upstream) = rest.split_first()?;
    Some((*i as usize, upstream))
}

/// An EAP-Failure (RFC 3748 §4.2: code 4) answering the identifier of the upstream's
/// EAP-Success, for a Reject after the upstream accepted.
fn eap_failure_for(granted: &[crate::auth::Attribute]) -> Vec<crate::auth::Attribute> {
    let id = granted
        .iter()
        .find(|a| a.vendor == 0 && a.code == crate::radius::ATTR_EAP_MESSAGE)
        .and_then(|a| a.value.get(1).copied())
        .unwrap_or(0);
    vec![crate::auth::Attribute::new(
        0,
        crate::radius::ATTR_EAP_MESSAGE,
        vec![4, id, 0, 4],
    )]
}

#[cfg(test)]
mod tests {
    #[test]
    fn eap_state_round_trips_and_foreign_states_are_refused() {
        let s = super::wrap_eap_state(1, b"upstream-state");
        assert_eq!(
            super::unwrap_eap_state(&s),
            Some((1, &b"upstream-state"[..]))
        );
        assert_eq!(super::unwrap_eap_state(b"mfgE"), None);
        assert_eq!(super::unwrap_eap_state(&[0u8; 24]), None);
    }

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
