//! The LDAP results the session sends: the one mapping from the pipeline's answer to a bind
//! result, the directory's answer to a proxied read, the response of the right type for a
//! refused request, and the notice of disconnection.

use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindResponse, LdapExtendedResponse, LdapMsg, LdapOp, LdapResult, LdapResultCode,
};

use crate::auth::{AuthError, Decision};

const OID_NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";
/// The same text for every failed bind, whatever the reason.
const BIND_FAILED: &str = "invalid credentials";

/// A message from an operation task to the session; `last` ends the operation.
pub(super) struct Reply {
    pub(super) msg: LdapMsg,
    pub(super) last: bool,
}

/// The one mapping from the pipeline's answer to a bind result. Every refusal is the same
/// `invalidCredentials` with the same text: AD's sub-codes and our reasons stay in the log.
pub fn bind_result(outcome: &Result<Decision, AuthError>) -> (LdapResultCode, &'static str) {
    match outcome {
        Ok(Decision::Accept(_)) => (LdapResultCode::Success, ""),
        // A challenge cannot be carried by a simple bind; the pipeline does not ask for one
        // on this path, and if it did, the answer is still no.
        Ok(Decision::Reject(_))
        | Ok(Decision::Challenge { .. })
        | Ok(Decision::Continue { .. }) => (LdapResultCode::InvalidCredentials, BIND_FAILED),
        Err(AuthError::Unavailable(_)) => (
            LdapResultCode::Unavailable,
            "authentication service unavailable; try again later",
        ),
    }
}

/// The directory's answer to a proxied read, as the client will see it. Referrals are never
/// passed on (the client would bypass the gateway), so a referral result becomes noSuchObject.
pub(super) fn dir_result(
    outcome: Result<Option<crate::primary::DirResult>, AuthError>,
) -> (LdapResultCode, String) {
    match outcome {
        Ok(Some(r)) if r.code == 10 => (
            LdapResultCode::NoSuchObject,
            "the base is outside this directory (referral not followed)".into(),
        ),
        Ok(Some(r)) => (
            LdapResultCode::try_from(r.code as i64).unwrap_or(LdapResultCode::Other),
            r.message,
        ),
        Ok(None) => (
            LdapResultCode::UnwillingToPerform,
            "no directory behind this gateway (primary.backend = \"local\")".into(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "ldap: directory read failed");
            (
                LdapResultCode::Unavailable,
                "directory unavailable; try again later".into(),
            )
        }
    }
}

pub(super) fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.to_owned(),
        referral: Vec::new(),
    }
}

pub(super) fn extended(
    id: i32,
    code: LdapResultCode,
    message: &str,
    name: Option<&str>,
    value: Option<Vec<u8>>,
) -> LdapMsg {
    LdapMsg::new(
        id,
        LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: result(code, message),
            name: name.map(str::to_owned),
            value,
        }),
    )
}

/// RFC 4511 §4.4.1: the unsolicited notice sent before the server drops a connection.
pub(super) fn notice_of_disconnection(why: &str) -> LdapMsg {
    tracing::debug!(reason = why, "ldap: notice of disconnection");
    extended(
        0,
        LdapResultCode::ProtocolError,
        "protocol error; disconnecting",
        Some(OID_NOTICE_OF_DISCONNECTION),
        None,
    )
}

/// The response of the right type for a request that is refused as a whole.
pub(super) fn error_response(
    op: &LdapOp,
    id: i32,
    code: LdapResultCode,
    text: &str,
) -> Option<LdapMsg> {
    let res = result(code, text);
    let op = match op {
        LdapOp::BindRequest(_) => LdapOp::BindResponse(LdapBindResponse {
            res,
            saslcreds: None,
        }),
        LdapOp::SearchRequest(_) => LdapOp::SearchResultDone(res),
        LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse(res),
        LdapOp::AddRequest(_) => LdapOp::AddResponse(res),
        LdapOp::DelRequest(_) => LdapOp::DelResponse(res),
        LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse(res),
        LdapOp::CompareRequest(_) => LdapOp::CompareResult(res),
        LdapOp::ExtendedRequest(_) => LdapOp::ExtendedResponse(LdapExtendedResponse {
            res,
            name: None,
            value: None,
        }),
        // Abandon and Unbind have no response.
        _ => return None,
    };
    Some(LdapMsg::new(id, op))
}

/// RFC 4511 §4.1.11: a critical control the server does not implement fails the operation.
/// Paged results are honoured (all entries in one page); the rest are not implemented.
pub(super) fn critical_control_unsupported(msg: &LdapMsg) -> Option<LdapResultCode> {
    let critical = msg.ctrl.iter().any(|c| match c {
        LdapControl::SimplePagedResults { .. } => false,
        LdapControl::SyncRequest { criticality, .. }
        | LdapControl::ManageDsaIT { criticality }
        | LdapControl::PasswordPolicyRequest { criticality }
        | LdapControl::SearchOptions { criticality, .. }
        | LdapControl::ShowDeleted { criticality }
        | LdapControl::SdFlags { criticality, .. }
        | LdapControl::ExtendedDn { criticality, .. }
        | LdapControl::Unknown { criticality, .. } => *criticality,
        // Server-sort and the response-only controls carry no criticality here; treat them
        // as not critical (they are ignored).
        _ => false,
    });
    critical.then_some(LdapResultCode::UnavailableCriticalExtension)
}
