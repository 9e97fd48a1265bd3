//! The cluster's word on a spent one-time credential: an accept made here becomes final only
//! once the peers that answer have merged it and none holds the same credential spent by
//! another node (see `crate::cluster::login_state`).

use super::{Audit, Pipeline};
use crate::auth::{AuthError, Decision, PeerAck};
use crate::store::model::{AuthKey, AuthResult};

impl Pipeline {
    /// After a decision that spent a one-time credential was committed (its change-log
    /// entries in (`after`, `upto`], its accept recorded under `key`): what the peers say.
    /// Accept stays accept only if no peer holds the same credential spent by another node
    /// (and, with `require_peer_ack`, if one answered); any other verdict replaces the record.
    pub(super) async fn peers_agree(
        &self,
        audit: &Audit<'_>,
        after: u64,
        upto: u64,
        reason: String,
        key: AuthKey,
        spent: &str,
    ) -> Result<Decision, AuthError> {
        let (result, reason) = match &self.claims {
            None => return Ok(self.decided(audit, AuthResult::Accept, &reason)),
            Some(c) => match c.confirm(after, upto).await {
                PeerAck::Confirmed => return Ok(self.decided(audit, AuthResult::Accept, &reason)),
                PeerAck::Conflict(peer) => (
                    AuthResult::Reject,
                    format!("{spent} already used on another node (reported by {peer})"),
                ),
                PeerAck::Alone if c.require_peer_ack() => (
                    AuthResult::Reject,
                    format!("no cluster peer acknowledged the {spent} (cluster.require_peer_ack)"),
                ),
                PeerAck::Alone => (
                    AuthResult::Accept,
                    format!("{reason} (no peer acknowledged)"),
                ),
            },
        };
        let mut record = self.record(audit, result, &reason);
        record.time_ms = key.time_ms;
        if result == AuthResult::Accept {
            self.store
                .write_detached(move |tx| tx.replace_auth(key, &record))?;
        } else {
            self.store
                .write(move |tx| tx.replace_auth(key, &record))
                .await?;
        }
        Ok(self.decided(audit, result, &reason))
    }
}
