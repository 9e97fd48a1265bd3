//! Records kept in the store and the change-log entries that describe writes to them.

use serde::{Deserialize, Serialize};

use crate::config::Method;

/// A TOTP seed sealed with the data directory's key (ChaCha20-Poly1305, the user key as AAD).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealedSeed {
    pub nonce: String,
    pub ciphertext: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRecord {
    /// The name as the administrator typed it; the table key is its lower-case form.
    pub name: String,
    pub enabled: bool,
    pub method: Method,
    /// argon2id PHC string; `None` when the password lives elsewhere or is not set yet.
    pub password_hash: Option<String>,
    pub totp: Option<SealedSeed>,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Bumped on every change; replication keeps the higher version.
    pub version: u64,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// The `[[sync]]` item that imported the user (None: added by hand).
    #[serde(default)]
    pub source: Option<String>,
    /// The user's entry in the directory, as last seen by a sync.
    #[serde(default)]
    pub dn: Option<String>,
    /// Fields an administrator set in mfagate; a sync keeps them unless the directory wins.
    #[serde(default)]
    pub local_overrides: Vec<String>,
    /// Disabled by a sync (out of scope or disabled in AD), so a later sync may enable it
    /// again; a user disabled by an administrator stays disabled.
    #[serde(default)]
    pub disabled_by_sync: bool,
    /// The `[[factor.provider]]` this user's method goes through, when not the configured
    /// one for the method (`user set --provider`).
    #[serde(default)]
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub user_key: String,
    pub client: String,
    pub created_ms: u64,
    pub expires_ms: u64,
    pub attempts_left: u32,
    pub consumed: bool,
    /// The policy rule that sent this login to the second factor, for the final record.
    #[serde(default)]
    pub policy: Option<String>,
    /// For a one-way SMS code: its keyed hash (never the code itself).
    #[serde(default)]
    pub sms: Option<SmsCodeHash>,
    /// For a provider's factor: which provider and method, and its transaction.
    #[serde(default)]
    pub factor: Option<PendingFactor>,
    /// The store node id of the node that consumed it (set where it is written consumed).
    #[serde(default)]
    pub consumed_by: Option<u64>,
}

/// A second factor that a provider (not mfagate) decides.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingFactor {
    pub method: Method,
    /// The `[[factor.provider]]` name.
    pub provider: String,
    /// The provider's transaction, once it has one (a push's, a privacyIDEA challenge's).
    pub transaction: Option<String>,
    /// Answered on the phone (push, call): the answer to the challenge collects it.
    pub out_of_band: bool,
}

/// A user's pushes: the one outstanding (challenge id hex, until when) and the recent send
/// times, for MFA-fatigue limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushState {
    pub pending: Option<(String, u64)>,
    pub recent_ms: Vec<u64>,
}

/// HMAC of an SMS code, bound to its challenge (see `SeedSealer::code_mac`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmsCodeHash {
    pub salt: String,
    pub mac: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FactorFailures {
    /// Failed codes in a row.
    pub count: u32,
    /// The second factor is refused until this instant (0 = not locked).
    pub locked_until_ms: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthResult {
    Accept,
    Reject,
    Challenge,
}

impl AuthResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthResult::Accept => "accept",
            AuthResult::Reject => "reject",
            AuthResult::Challenge => "challenge",
        }
    }
}

/// One authentication decision, as the retired MFA Server reported it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthRecord {
    pub time_ms: u64,
    pub node: String,
    pub user: String,
    pub client_name: String,
    pub client_ip: String,
    pub method: String,
    pub result: AuthResult,
    pub reason: String,
    /// The `[[policy]]` rule that matched, if any.
    #[serde(default)]
    pub policy: Option<String>,
}

/// A sync that would disable more users than `max_disable` waits for `mfagate sync approve`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncApproval {
    /// How many disables the blocked run wanted.
    pub pending_disables: usize,
    pub approved: bool,
    pub updated_ms: u64,
}

/// A change-log entry: a whole record put or deleted, so applying one twice is harmless.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    PutUser {
        key: String,
        user: UserRecord,
    },
    DeleteUser {
        key: String,
    },
    PutChallenge {
        id: String,
        challenge: ChallengeRecord,
    },
    DeleteChallenge {
        id: String,
    },
    TotpStep {
        key: String,
        step: u64,
    },
    FactorFailures {
        key: String,
        failures: FactorFailures,
    },
    AuthLog {
        time_ms: u64,
        seq: u64,
        record: AuthRecord,
    },
    SyncApproval {
        item: String,
        approval: SyncApproval,
    },
    DeleteSyncApproval {
        item: String,
    },
    PushState {
        key: String,
        state: PushState,
    },
    /// The user's newest SMS challenge; older ones are no longer accepted.
    SmsLatest {
        key: String,
        id: String,
    },
}

impl Change {
    /// Directory data (one writer: the Raft leader in a cluster), as opposed to login state.
    pub fn is_directory(&self) -> bool {
        matches!(
            self,
            Change::PutUser { .. }
                | Change::DeleteUser { .. }
                | Change::SyncApproval { .. }
                | Change::DeleteSyncApproval { .. }
        )
    }
}

/// One directory write: changes applied together, only if every guard still holds when the
/// write is applied. A replicated write is decided where it is applied (the Raft state
/// machine), not where it was made, so a read-modify-write carries what it read as a guard.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DirectoryWrite {
    #[serde(default)]
    pub guards: Vec<Guard>,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "guard", rename_all = "snake_case")]
pub enum Guard {
    /// The user's record has this version (`None`: there is no such user).
    UserVersion { key: String, version: Option<u64> },
}

/// What applying a [`DirectoryWrite`] did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DirectoryOutcome {
    /// The first guard that no longer held; nothing was written then.
    pub conflict: Option<String>,
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// RFC 4648 base64 with padding (HTTP Basic credentials).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The key under which a user name is stored: user names are matched case-insensitively, as
/// Active Directory does.
pub fn user_key(name: &str) -> String {
    name.trim().to_lowercase()
}
