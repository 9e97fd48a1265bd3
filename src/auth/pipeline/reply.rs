//! `[[reply]]` rules: what a right password adds to the Accept to come. The first rule whose
//! conditions hold (client, AD group, the upstream's Class) wins; its attributes replace any
//! the upstream granted of the same type (the VPN reads one group policy) and the others stay.

use super::*;
use crate::radius::ATTR_CLASS;

impl Pipeline {
    pub(super) async fn grant_by_rules(
        &self,
        audit: &mut Audit<'_>,
        id: &Identity,
    ) -> Result<(), AuthError> {
        let class: Vec<&[u8]> = audit
            .grant
            .iter()
            .filter(|a| a.vendor == 0 && a.code == ATTR_CLASS)
            .map(|a| a.value.as_slice())
            .collect();
        for rule in &self.cfg.replies {
            if !rule.clients.is_empty() && !rule.clients.contains(&audit.req.client_name) {
                continue;
            }
            if !rule.upstream_class.is_empty()
                && !rule
                    .upstream_class
                    .iter()
                    .any(|c| class.contains(&c.as_slice()))
            {
                continue;
            }
            if !self.in_any_group(id, &rule.groups).await? {
                continue;
            }
            let mine = |a: &crate::auth::Attribute| {
                rule.attributes
                    .iter()
                    .any(|r| r.vendor == a.vendor && r.code == a.code)
            };
            audit.grant.retain(|a| !mine(a));
            audit.grant.extend(rule.attributes.iter().cloned());
            tracing::debug!(rule = %rule.name, user = %id.name, "reply attributes by rule");
            return Ok(());
        }
        Ok(())
    }
}
