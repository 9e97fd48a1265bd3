//! The one place where login decisions are made. Front-ends hand in an [`AuthRequest`] and
//! map the [`Decision`] (or [`AuthError`]) back to their wire; the [`Pipeline`] runs the
//! primary check, the second factor and the audit record.
//!
//! Every rejection looks the same to the client; the reason goes to the authentication log
//! and the audit trace line only.

pub mod bind_cache;
mod pipeline;

use std::net::IpAddr;

pub use pipeline::portal;
pub use pipeline::{account_name, Pipeline, PrimaryStatus};

/// What a node's peers said about a one-time credential it is about to accept (see
/// `crate::cluster::login_state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAck {
    /// Every reachable peer merged the claim (or there are no peers).
    Confirmed,
    /// A peer already holds the same credential spent by another node.
    Conflict(String),
    /// No peer answered in time: the node decided alone.
    Alone,
}

/// A RADIUS request as the cluster knows it: being decided on `node` (waiting on the phone
/// for challenge `challenge`), or answered there with `reply` (hex of the datagram).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SharedReply {
    /// The `node_name` of the node that holds or answered it.
    pub node: String,
    /// When that node took it or answered it.
    pub since_ms: u64,
    /// Forgotten after this (the reply cache's lifetime, or the push's).
    pub expires_ms: u64,
    #[serde(default)]
    pub challenge: Option<String>,
    #[serde(default)]
    pub reply: Option<String>,
}

/// Peer acknowledgement of login-state writes, given to the pipeline by the cluster (the
/// pipeline knows nothing else of it).
pub trait PeerClaims: Send + Sync {
    /// Waits until every reachable peer has merged this node's change-log entries in
    /// (`after`, `upto`], or one reported a conflict among them, or the time is up.
    fn confirm(
        &self,
        after: u64,
        upto: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = PeerAck> + Send + '_>>;
    /// `cluster.require_peer_ack`: deciding alone is refused.
    fn require_peer_ack(&self) -> bool;
    /// Whether the member named `node` answered this node's last call.
    fn answers(&self, node: &str) -> bool;
    /// A RADIUS request's fate as the cluster knows it (`crate::cluster::fates`), by the
    /// request's identity (authenticator, identifier, source).
    fn fate(&self, request: &[u8], now_ms: u64) -> Option<SharedReply>;
    /// Records a request's fate decided here; it is shipped to every peer.
    fn share_fate(&self, request: Vec<u8>, fate: SharedReply, now_ms: u64);
}

use crate::config::Secret;

/// A RADIUS attribute as plain data (vendor 0: a standard attribute; otherwise a vendor's
/// sub-attribute). Hidden attributes (MPPE keys, Tunnel-Password) are plain here and hidden
/// by `crate::radius` for each leg, so values are redacted from `Debug`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attribute {
    pub vendor: u32,
    pub code: u8,
    pub value: Vec<u8>,
}

impl Attribute {
    pub fn new(vendor: u32, code: u8, value: Vec<u8>) -> Self {
        Self {
            vendor,
            code,
            value,
        }
    }
}

impl std::fmt::Debug for Attribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Attr-{}.{}(<{} octets>)",
            self.vendor,
            self.code,
            self.value.len()
        )
    }
}

/// What an Accept (or a Reject) carries besides its code: attributes granted by the upstream
/// RADIUS server or by `[[reply]]` rules, which only the RADIUS front-end puts on the wire.
pub type ReplyAttributes = Vec<Attribute>;

#[derive(Debug)]
pub struct AuthRequest {
    pub user_name: String,
    /// The configured name of the RADIUS client (or LDAP listener) the request came through.
    pub client_name: String,
    pub client_ip: IpAddr,
    pub credential: Credential,
    /// The client's `failmode` (what to do when a cloud second factor is unreachable).
    pub failmode: crate::config::FailMode,
    /// How a push is carried (RADIUS clients choose; a bind always waits).
    pub push_mode: crate::config::PushMode,
    /// The RADIUS request's identity (authenticator, identifier, source) when its fate is
    /// shared with cluster peers: a push it waits on is recorded under it, so a retransmit
    /// that reaches another node finishes that push instead of sending another.
    pub retransmit_key: Option<Vec<u8>>,
    /// The request's other attributes (NAS-*, station ids, vendor attributes and, for a
    /// relayed credential, the credential itself), passed on when an upstream RADIUS server
    /// checks the request. Empty for LDAP.
    pub forward: Vec<Attribute>,
}

#[derive(Debug)]
pub enum Credential {
    /// The password alone: the second factor follows in a challenge.
    Password(Secret<String>),
    /// The password with the code appended, already split by the front-end.
    PasswordAndCode {
        password: Secret<String>,
        code: Secret<String>,
    },
    /// The answer to an earlier challenge.
    ChallengeResponse {
        state: Vec<u8>,
        code: Secret<String>,
    },
    /// An LDAP simple bind: `password<delimiter>code`, or the password alone for exempt
    /// accounts and repeated binds. The pipeline splits it, because whether to split depends
    /// on who is binding.
    Bind {
        combined: Secret<String>,
        delimiter: String,
    },
    /// A credential only an upstream RADIUS server can check; its attributes are in
    /// [`AuthRequest::forward`]. The client cannot be challenged.
    Relayed(Relayed),
    /// An EAP round (EAP-Message), relayed to the upstream; `state` is the State of our
    /// Access-Challenge that the round answers (none for the first). Cannot be challenged
    /// with a prompt of ours.
    Eap { state: Option<Vec<u8>> },
    /// No credential at all: the client (an RD Gateway) authenticated the user itself and
    /// asks for the second factor only (`credentials = "none"`). It cannot be challenged.
    NameOnly,
    /// Something the gateway cannot check (e.g. CHAP against the local directory); rejected
    /// and logged with the given description.
    Unsupported(&'static str),
}

/// The credentials mfagate passes on without reading them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    Chap,
    MsChap,
    MsChapV2,
}

impl Relayed {
    pub fn as_str(self) -> &'static str {
        match self {
            Relayed::Chap => "CHAP",
            Relayed::MsChap => "MS-CHAP",
            Relayed::MsChapV2 => "MS-CHAPv2",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// With the attributes granted (by the upstream RADIUS server).
    Accept(ReplyAttributes),
    /// With the attributes the upstream refused with (e.g. MS-CHAP-Error), if it did.
    Reject(ReplyAttributes),
    Challenge {
        state: Vec<u8>,
        prompt: String,
    },
    /// The upstream's Access-Challenge, relayed: an EAP round (its EAP-Message in
    /// `attributes`), whose answer comes back with `state`.
    Continue {
        state: Vec<u8>,
        attributes: ReplyAttributes,
    },
}

impl Decision {
    pub fn is_accept(&self) -> bool {
        matches!(self, Decision::Accept(_))
    }
}

/// Who an accepted LDAP bind authenticated, for the session that follows.
pub struct Bound {
    pub name: String,
    /// The AD entry (None with the local directory).
    pub dn: Option<String>,
    /// A directory connection bound as the user, when asked for.
    pub directory: Option<crate::primary::UserDirectory>,
}

/// The request could not be decided (the store failed). Front-ends answer nothing, so the
/// client fails over to another server instead of being told a wrong answer.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication back-end unavailable: {0}")]
    Unavailable(String),
}

/// Splits `password<delimiter>code` at the *last* delimiter, since passwords may contain it.
pub fn split_appended_code<'a>(combined: &'a str, delimiter: &str) -> Option<(&'a str, &'a str)> {
    combined
        .rsplit_once(delimiter)
        .filter(|(_, code)| !code.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_at_last_delimiter() {
        assert_eq!(
            split_appended_code("pa,ss,123456", ","),
            Some(("pa,ss", "123456"))
        );
        assert_eq!(
            split_appended_code("pass::123456", "::"),
            Some(("pass", "123456"))
        );
        assert_eq!(split_appended_code("pass", ","), None);
        assert_eq!(split_appended_code("pass,", ","), None);
    }
}
