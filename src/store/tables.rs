//! Every redb table, in one place. Directory data (one writer: the primary node) and login
//! state (written by whichever node handles a login) are separate tables so each can replicate
//! its own way.

use redb::TableDefinition;

/// Store metadata: `node_id` (u64 BE), `seq` (last change-log sequence, u64 BE), `schema`.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

// --- directory data ---
/// Lower-cased user name → JSON [`super::model::UserRecord`].
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");

/// Sync item name → JSON [`super::model::SyncApproval`] (a run blocked by `max_disable`).
pub const SYNC_APPROVALS: TableDefinition<&str, &[u8]> = TableDefinition::new("sync_approvals");

// --- login state ---
/// Challenge id (node id + 128 random bits) → JSON [`super::model::ChallengeRecord`].
pub const CHALLENGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("challenges");
/// Lower-cased user name → highest TOTP time step accepted (RFC 6238 §5.2 replay guard).
pub const TOTP_STEPS: TableDefinition<&str, u64> = TableDefinition::new("totp_steps");
/// Lower-cased user name → store node id of the node whose accepted code set the user's TOTP
/// step (a peer's claim on the same or an earlier step then conflicts).
pub const TOTP_STEP_ORIGIN: TableDefinition<&str, u64> = TableDefinition::new("totp_step_origin");
/// (lower-cased user name, peer's store node id) → that peer's JSON
/// [`super::model::FactorFailures`] for the user; this node's own are in `FACTOR_FAILURES`.
pub const PEER_FAILURES: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("peer_failures");
/// Lower-cased user name → JSON [`super::model::FactorFailures`].
pub const FACTOR_FAILURES: TableDefinition<&str, &[u8]> = TableDefinition::new("factor_failures");
/// Lower-cased user name → id of the user's newest SMS challenge (a new code voids the old).
pub const SMS_LATEST: TableDefinition<&str, &[u8]> = TableDefinition::new("sms_latest");
/// Lower-cased user name → JSON [`super::model::PushState`] (outstanding push, recent sends).
pub const PUSH_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("push_state");
/// (lower-cased user name, peer's store node id) → that peer's JSON
/// [`super::model::PushState`]: the user's pushes are limited across the cluster.
pub const PEER_PUSH: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("peer_push");
/// Hex SHA-256 of a portal session cookie → JSON [`super::model::PortalSession`].
pub const PORTAL_SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("portal_sessions");
/// (time ms, node id, change-log sequence) → JSON [`super::model::AuthRecord`].
pub const AUTH_LOG: TableDefinition<(u64, u64, u64), &[u8]> = TableDefinition::new("auth_log");

/// RADIUS client name → when it first sent a request with a valid Message-Authenticator
/// (ms): with `require_message_authenticator = "auto"` its unsigned requests are dropped from
/// then on. This node's own knowledge of its clients, so not in the change log.
pub const SIGNING_CLIENTS: TableDefinition<&str, u64> = TableDefinition::new("signing_clients");

// --- replication feed ---
/// Peer's store node id → the highest of its change-log sequences merged here (login state
/// shipped between cluster members, `crate::cluster::login_state`).
pub const PEER_APPLIED: TableDefinition<u64, u64> = TableDefinition::new("peer_applied");
/// (node id, sequence) → JSON [`super::model::Change`], appended in the same transaction as
/// the change it describes.
pub const CHANGELOG: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("changelog");

// --- Raft (directory replication; see `crate::cluster`) ---
/// Raft log index → JSON openraft entry.
pub const RAFT_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
/// Raft and cluster state, JSON values: vote, committed, last purged and last applied log
/// ids, membership, snapshot metadata, this node's Raft id, the cluster epoch.
pub const RAFT_META: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_meta");
/// The current Raft snapshot of the directory ("data" → bytes), kept until the next one.
pub const RAFT_SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_snapshot");
