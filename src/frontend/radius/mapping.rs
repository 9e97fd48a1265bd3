//! The translation between RADIUS and the pipeline: an Access-Request's attributes to an
//! [`AuthRequest`] (which credential, what an upstream gets to see), and a [`Decision`] to the
//! reply's code and attributes. The UDP loop and screening in `mod.rs` only move bytes.

use super::*;

/// Access-Request → [`AuthRequest`].
pub(super) fn translate(inc: &Incoming, client: &RadiusClient) -> AuthRequest {
    let credential = match (&inc.password, &inc.state) {
        // An RD Gateway's request: whatever it carries, the user's password was checked there.
        _ if client.credentials == ClientCredentials::None => Credential::NameOnly,
        _ if inc.eap => Credential::Eap {
            state: inc.state.clone(),
        },
        (Some(pw), _) => match String::from_utf8(pw.clone()) {
            Err(_) => Credential::Unsupported("User-Password is not UTF-8"),
            Ok(pw) => match (&inc.state, client.otp_mode) {
                (Some(state), _) => Credential::ChallengeResponse {
                    state: state.clone(),
                    code: Secret::new(pw),
                },
                (None, OtpMode::Challenge) => Credential::Password(Secret::new(pw)),
                (None, OtpMode::Append) => {
                    let (password, code) = openvpn_static_challenge(&pw)
                        .or_else(|| {
                            split_appended_code(&pw, &client.otp_delimiter)
                                .map(|(p, c)| (p.to_owned(), c.to_owned()))
                        })
                        .unwrap_or((pw, String::new()));
                    Credential::PasswordAndCode {
                        password: Secret::new(password),
                        code: Secret::new(code),
                    }
                }
            },
        },
        (None, _) => match inc.relayed {
            Some((kind, _)) => Credential::Relayed(kind),
            None => Credential::Unsupported("no User-Password"),
        },
    };
    AuthRequest {
        user_name: inc.user_name.clone().unwrap_or_default(),
        client_name: client.name.clone(),
        client_ip: canonical_ip(inc.src.ip()),
        credential,
        failmode: client.failmode,
        push_mode: client.push_mode,
        retransmit_key: inc.fate.clone(),
        forward: inc.forward.clone(),
    }
}

/// OpenVPN's static challenge (`static-challenge` in the client config) sends
/// `SCRV1:base64(password):base64(response)` as the password: the code needs no delimiter.
fn openvpn_static_challenge(pw: &str) -> Option<(String, String)> {
    let rest = pw.strip_prefix("SCRV1:")?;
    let (p, c) = rest.split_once(':')?;
    let decode =
        |s: &str| crate::store::model::base64_decode(s).and_then(|b| String::from_utf8(b).ok());
    Some((decode(p)?, decode(c)?))
}

/// Attributes that belong to this leg only, or that the request carries apart.
const HOP_ATTRS: [u8; 5] = [
    ATTR_USER_NAME,
    ATTR_USER_PASSWORD,
    ATTR_STATE,
    ATTR_PROXY_STATE,
    ATTR_MESSAGE_AUTHENTICATOR,
];

/// The request's attributes for an upstream, and which credential only it can check.
/// MS-CHAP and MS-CHAPv2 values go unchanged (they are not hidden with the RADIUS secret);
/// a CHAP response whose challenge was our request authenticator gets that challenge named,
/// since the upstream leg has an authenticator of its own.
pub(super) fn forwarded(
    pkt: &Packet<'_>,
    client: &Client,
    secret: &[u8],
) -> (Vec<Attribute>, Option<(Relayed, u8)>) {
    let mut forward = Vec::new();
    let mut relayed = None;
    let chap = pkt.attr(ATTR_CHAP_PASSWORD).is_some();
    if client.relays {
        let (attrs, _) = decode_attributes(pkt, &HOP_ATTRS, secret, &pkt.authenticator);
        forward = attrs;
        if chap && pkt.attr(ATTR_CHAP_CHALLENGE).is_none() {
            forward.push(Attribute::new(
                0,
                ATTR_CHAP_CHALLENGE,
                pkt.authenticator.to_vec(),
            ));
        }
    }
    if pkt.attr(ATTR_USER_PASSWORD).is_some() {
        return (forward, None);
    }
    let ms = |code: u8| {
        pkt.attrs_of(ATTR_VENDOR_SPECIFIC)
            .filter_map(vendor_attrs)
            .filter(|(v, _)| *v == VENDOR_MICROSOFT)
            .flat_map(|(_, subs)| subs)
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.to_vec())
    };
    if let Some(resp) = ms(MS_CHAP2_RESPONSE) {
        relayed = Some((Relayed::MsChapV2, resp.first().copied().unwrap_or(0)));
    } else if let Some(cpw) = ms(27) {
        // MS-CHAP2-CPW (a password change after E=648): Code 7, then the Ident.
        relayed = Some((Relayed::MsChapV2, cpw.get(1).copied().unwrap_or(0)));
    } else if let Some(resp) = ms(1) {
        relayed = Some((Relayed::MsChap, resp.first().copied().unwrap_or(0)));
    } else if chap {
        relayed = Some((Relayed::Chap, 0));
    }
    (forward, relayed)
}

/// [`Decision`] → reply code and attributes (Message-Authenticator is added first by the
/// encoder). Every rejection of ours is the same Access-Reject, whatever its reason; one the
/// upstream refused carries the upstream's attributes (its MS-CHAP-Error). An MS-CHAPv2
/// client always gets an MS-CHAP-Error, so it shows "access denied" rather than a timeout.
/// Granted attributes are hidden again for this client's secret and request authenticator.
pub(super) fn decision_to_reply(
    decision: &Decision,
    inc: &Incoming,
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> (u8, Vec<u8>) {
    let mut attrs = Vec::new();
    let put = |granted: &[Attribute], attrs: &mut Vec<u8>| {
        for a in granted {
            if let Err(e) = encode_attribute(a, secret, request_authenticator, attrs) {
                tracing::warn!(vendor = a.vendor, code = a.code, error = %e, "radius: dropped a granted attribute that cannot be encoded");
            }
        }
    };
    match decision {
        Decision::Accept(granted) => {
            put(granted, &mut attrs);
            (ACCESS_ACCEPT, attrs)
        }
        Decision::Continue { state, attributes } => {
            put(attributes, &mut attrs);
            push_attr(&mut attrs, ATTR_STATE, state);
            (ACCESS_CHALLENGE, attrs)
        }
        Decision::Reject(refused) => {
            put(refused, &mut attrs);
            let has_error = refused
                .iter()
                .any(|a| a.vendor == VENDOR_MICROSOFT && a.code == MS_CHAP_ERROR);
            if let (Some((Relayed::MsChapV2, ident)), false) = (inc.relayed, has_error) {
                // RFC 2759 §6 / RFC 2548 §2.1.5: the ident, then "E=691 R=0 V=3"
                // (authentication failure, no retry).
                let mut v = vec![ident];
                v.extend_from_slice(b"E=691 R=0 V=3");
                push_vsa(&mut attrs, VENDOR_MICROSOFT, MS_CHAP_ERROR, &v);
            }
            (ACCESS_REJECT, attrs)
        }
        Decision::Challenge { state, prompt } => {
            push_attr(&mut attrs, ATTR_REPLY_MESSAGE, prompt.as_bytes());
            push_attr(&mut attrs, ATTR_STATE, state);
            (ACCESS_CHALLENGE, attrs)
        }
    }
}
