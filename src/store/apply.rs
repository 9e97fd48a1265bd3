//! The one way a [`Change`] reaches the tables: local writes apply and log it, replicated
//! directory writes (Raft) apply it behind their guards without logging.

use super::model::*;
use super::{StoreError, Tx};

impl Tx<'_> {
    /// The one place a [`Change`] reaches the tables: local writes (which also log it) and
    /// replicated ones (which do not: their feed is elsewhere) both come through here.
    pub fn apply(&mut self, change: &Change) -> Result<(), StoreError> {
        match change {
            Change::PutUser { key, user } => {
                let bytes = serde_json::to_vec(user)?;
                self.users()?.insert(key.as_str(), bytes.as_slice())?;
            }
            Change::DeleteUser { key } => {
                self.users()?.remove(key.as_str())?;
            }
            Change::PutChallenge { id, challenge } => {
                let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
                let bytes = serde_json::to_vec(challenge)?;
                self.challenges()?.insert(id.as_slice(), bytes.as_slice())?;
            }
            Change::DeleteChallenge { id } => {
                let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
                self.challenges()?.remove(id.as_slice())?;
            }
            Change::TotpStep { key, step } => {
                self.totp_steps()?.insert(key.as_str(), *step)?;
                let me = self.node_id;
                self.totp_step_origin()?.insert(key.as_str(), me)?;
            }
            Change::FactorFailures { key, failures } => {
                let bytes = serde_json::to_vec(failures)?;
                self.factor_failures()?
                    .insert(key.as_str(), bytes.as_slice())?;
            }
            Change::AuthLog {
                time_ms,
                seq,
                record,
            } => {
                let bytes = serde_json::to_vec(record)?;
                let node = self.node_id;
                self.auth_log()?
                    .insert((*time_ms, node, *seq), bytes.as_slice())?;
            }
            Change::SyncApproval { item, approval } => {
                let bytes = serde_json::to_vec(approval)?;
                self.sync_approvals()?
                    .insert(item.as_str(), bytes.as_slice())?;
            }
            Change::DeleteSyncApproval { item } => {
                self.sync_approvals()?.remove(item.as_str())?;
            }
            Change::PushState { key, state } => {
                let bytes = serde_json::to_vec(state)?;
                self.push_states()?.insert(key.as_str(), bytes.as_slice())?;
            }
            Change::SmsLatest { key, id } => {
                let id = unhex(id).ok_or(StoreError::Change("challenge id is not hex"))?;
                self.sms_newest()?.insert(key.as_str(), id.as_slice())?;
            }
            Change::PortalSession { id, session } => {
                let bytes = serde_json::to_vec(session)?;
                self.portal_sessions()?
                    .insert(id.as_str(), bytes.as_slice())?;
            }
        }
        Ok(())
    }

    /// Applies `change` and appends it to this node's change log.
    pub(super) fn apply_logged(&mut self, change: Change) -> Result<(), StoreError> {
        self.apply(&change)?;
        self.log(&change)?;
        Ok(())
    }

    /// Applies a directory write if its guards hold (see [`DirectoryWrite`]); `logged`: also
    /// append its changes to the change log (a node outside a cluster).
    pub fn apply_directory(
        &mut self,
        write: &DirectoryWrite,
        logged: bool,
    ) -> Result<DirectoryOutcome, StoreError> {
        for g in &write.guards {
            match g {
                Guard::UserVersion { key, version } => {
                    let now = self.user(key)?.map(|u| u.version);
                    if now != *version {
                        return Ok(DirectoryOutcome {
                            conflict: Some(format!(
                                "user \"{key}\" was changed meanwhile (version {now:?}, expected {version:?})"
                            )),
                        });
                    }
                }
            }
        }
        // Checked before the first write: a closure's error does not roll back its writes.
        if write.changes.iter().any(|c| !c.is_directory()) {
            return Err(StoreError::Change("a directory write holds login state"));
        }
        for c in &write.changes {
            self.apply(c)?;
            if logged {
                self.log(c)?;
            }
        }
        Ok(DirectoryOutcome::default())
    }
}
