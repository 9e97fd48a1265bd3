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
    /// A one-time bypass of the second factor (`user bypass`), valid until then: the next
    /// login with the right password uses it up. A directory field, so exactly one login in
    /// the cluster can take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_until_ms: Option<u64>,
    /// The user's open invitation to the portal (`user invite`). A directory field, so the
    /// link signs in once in the whole cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<Invitation>,
    /// When the last invitation e-mail went out: no second one within `[email]
    /// invite_interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_ms: Option<u64>,
    /// The language of the user's mails (`en`, `sv`, `nl`); None: `[email] language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// An invitation is owed (a sync added the user, or a send failed): retried until sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invite_pending: bool,
}

/// A portal invitation: the SHA-256 of the link's token (the token itself is only in the
/// e-mail), when it was made and until when it signs in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Invitation {
    pub token_hash: String,
    pub created_ms: u64,
    pub expires_ms: u64,
}

/// A signed-in portal session, keyed by the SHA-256 of its cookie. Login state: any node
/// serves it once replicated; the version with the newest `updated_ms` wins, and a signed-out
/// session stays signed out.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortalSession {
    pub user_key: String,
    pub created_ms: u64,
    /// The last request, for the idle timeout.
    pub seen_ms: u64,
    /// The form token every POST must carry (hex).
    pub csrf: String,
    pub signed_out: bool,
    pub updated_ms: u64,
    /// An enrolment begun and not yet confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingEnrolment>,
}

/// What a portal session is enrolling: saved to the user only once confirmed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingEnrolment {
    /// A new authenticator's seed, sealed like an enrolled one.
    Totp {
        seed: SealedSeed,
        attempts_left: u32,
    },
    /// A new phone number, confirmed by the SMS challenge `state` (hex).
    Phone { phone: String, state: String },
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
    /// What the upstream RADIUS server granted with its Accept, for the Accept that follows
    /// the answer (Class, Filter-Id, keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted: Vec<crate::auth::Attribute>,
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

/// Where an authentication record sits in the log of the node that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthKey {
    pub time_ms: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FactorFailures {
    /// Failed codes in a row.
    pub count: u32,
    /// The second factor is refused until this instant (0 = not locked).
    pub locked_until_ms: u64,
    /// When the latest of these failures (or the lock) happened: a count older than the
    /// newest clear, on any node, no longer counts.
    #[serde(default)]
    pub last_ms: u64,
    /// When the count was last cleared (a right code, `user unlock`).
    #[serde(default)]
    pub reset_ms: u64,
}

impl FactorFailures {
    /// The state after a right code or an unlock at `now_ms`.
    pub fn cleared(now_ms: u64) -> Self {
        Self {
            reset_ms: now_ms,
            ..Self::default()
        }
    }

    /// Locked until an administrator unlocks it: a push reported as fraud, a sign-in the
    /// user said was not theirs.
    pub fn locked_by_report(now_ms: u64) -> Self {
        FactorFailures {
            count: 0,
            locked_until_ms: u64::MAX,
            last_ms: now_ms,
            reset_ms: 0,
        }
    }

    pub fn is_clear(&self) -> bool {
        self.count == 0 && self.locked_until_ms == 0
    }

    /// A user's failures as every node's records add up: the counts of the records not older
    /// than the newest clear anywhere are summed, the latest lock among them holds.
    pub fn combine(records: impl IntoIterator<Item = FactorFailures>) -> FactorFailures {
        let all: Vec<FactorFailures> = records.into_iter().collect();
        let reset = all.iter().map(|f| f.reset_ms).max().unwrap_or(0);
        let current = all.iter().filter(|f| f.last_ms >= reset);
        FactorFailures {
            count: current.clone().map(|f| f.count).sum(),
            locked_until_ms: current.map(|f| f.locked_until_ms).max().unwrap_or(0),
            last_ms: all.iter().map(|f| f.last_ms).max().unwrap_or(0),
            reset_ms: reset,
        }
    }

    /// What this node records when the combined state `before` becomes `next` here: only its
    /// own share, so that the sum over the nodes is `next`.
    pub fn own_share(own: &FactorFailures, before: &FactorFailures, next: &FactorFailures) -> Self {
        if next.is_clear() {
            return FactorFailures {
                last_ms: own.last_ms,
                reset_ms: next.reset_ms.max(own.reset_ms),
                ..FactorFailures::default()
            };
        }
        if next.count == 1 && before.count > 0 {
            // A fresh count after an expired lock: what any node counted before is over.
            return FactorFailures {
                count: 1,
                locked_until_ms: next.locked_until_ms,
                last_ms: next.last_ms,
                reset_ms: next.last_ms.saturating_sub(1),
            };
        }
        if next.count == before.count + 1 {
            let stale = own.last_ms < before.reset_ms;
            return FactorFailures {
                count: if stale { 1 } else { own.count + 1 },
                locked_until_ms: next.locked_until_ms,
                last_ms: next.last_ms,
                reset_ms: own.reset_ms,
            };
        }
        // A lock alone (a push reported as fraud).
        FactorFailures {
            locked_until_ms: next.locked_until_ms,
            last_ms: next.last_ms.max(own.last_ms),
            ..own.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthResult {
    Accept,
    Reject,
    Challenge,
    /// An administrator's grant (a one-time bypass), not a login.
    Granted,
    /// Not a login: an invitation sent, an enrolment in the portal, a report of a sign-in
    /// that was not the user's.
    Event,
}

impl AuthResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthResult::Accept => "accept",
            AuthResult::Reject => "reject",
            AuthResult::Challenge => "challenge",
            AuthResult::Granted => "granted",
            AuthResult::Event => "event",
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
    /// The deciding node's address (its cluster or listen IP), besides its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ip: Option<String>,
    /// From the user's record, as the helpdesk knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The phone an SMS code or a call went to, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
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
    /// A portal session, by the hex SHA-256 of its cookie.
    PortalSession {
        id: String,
        session: PortalSession,
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

impl DirectoryWrite {
    /// `next` in place of `current`, if the record is still `current`'s version when the
    /// write applies (so of two writers from the same version one wins). Returns the write
    /// and the record as written.
    pub fn replace_user(
        current: &UserRecord,
        mut next: UserRecord,
        now_ms: u64,
    ) -> (DirectoryWrite, UserRecord) {
        let key = user_key(&current.name);
        next.version = current.version + 1;
        next.updated_ms = now_ms;
        let w = DirectoryWrite {
            guards: vec![Guard::UserVersion {
                key: key.clone(),
                version: Some(current.version),
            }],
            changes: vec![Change::PutUser {
                key,
                user: next.clone(),
            }],
        };
        (w, next)
    }
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

/// The inverse of [`base64`]; padding required, no whitespace.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, q) in b.chunks(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != b.len() / 4) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        for n in 0..20usize {
            let data: Vec<u8> = (0..n as u8).map(|x| x.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64(&data)), Some(data));
        }
        assert_eq!(base64_decode("cGFzcw=="), Some(b"pass".to_vec()));
        for bad in ["cGFzcw=", "cG=zcw==", "cGFz*w==", "===="] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    fn failed(count: u32, last_ms: u64) -> FactorFailures {
        FactorFailures {
            count,
            last_ms,
            ..Default::default()
        }
    }

    #[test]
    fn failure_counts_add_up_across_nodes_and_a_clear_anywhere_ends_them() {
        let (a, b, c) = (failed(2, 10), failed(2, 20), failed(1, 30));
        assert_eq!(
            FactorFailures::combine([a.clone(), b.clone(), c.clone()]).count,
            5
        );
        // B clears at 100: every count before it is over, on every node.
        let b = FactorFailures::own_share(
            &b,
            &FactorFailures::combine([b.clone(), a.clone(), c.clone()]),
            &FactorFailures::cleared(100),
        );
        let all = FactorFailures::combine([a.clone(), b.clone(), c.clone()]);
        assert!(all.is_clear(), "{all:?}");
        // A fails again at 150: its old two do not come back.
        let next = FactorFailures {
            count: 1,
            last_ms: 150,
            reset_ms: all.reset_ms,
            ..Default::default()
        };
        let a = FactorFailures::own_share(&a, &all, &next);
        assert_eq!(a.count, 1);
        assert_eq!(FactorFailures::combine([a, b, c]).count, 1);
    }
}
