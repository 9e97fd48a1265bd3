//! RADIUS on the wire, shared by the front-end (we are the server) and the upstream client
//! (we are a NAS to NPS or FreeRADIUS): the packet codec with Message-Authenticator, vendor
//! attributes, and the RFC 2865 / RFC 2548 hiding of passwords and keys.
//!
//! [`decode_attributes`] and [`encode_attribute`] translate between the wire and the neutral
//! [`Attribute`] the pipeline carries: values in it are always plain, so a hidden value
//! received on one leg (under one secret and request authenticator) is hidden afresh for the
//! other.

pub mod codec;
pub mod dictionary;
pub mod salt;

pub use crate::auth::Attribute;
use codec::*;

pub const VENDOR_MICROSOFT: u32 = 311;
pub const MS_CHAP_ERROR: u8 = 2;
pub const MS_CHAP_MPPE_KEYS: u8 = 12;
pub const MS_MPPE_SEND_KEY: u8 = 16;
pub const MS_MPPE_RECV_KEY: u8 = 17;
pub const MS_CHAP2_RESPONSE: u8 = 25;
pub const MS_CHAP2_SUCCESS: u8 = 26;
pub const ATTR_CLASS: u8 = 25;
pub const ATTR_TUNNEL_PASSWORD: u8 = 69;
pub const ATTR_EAP_MESSAGE: u8 = 79;
pub const ATTR_CHAP_CHALLENGE: u8 = 60;

/// How an attribute's value is hidden on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hiding {
    Plain,
    /// RFC 2548 §2.4.2 / RFC 2868 §3.5 salt encryption (`tagged`: a tag octet comes first).
    Salted {
        tagged: bool,
    },
    /// The RFC 2865 §5.2 User-Password keystream over whole blocks (MS-CHAP-MPPE-Keys).
    Keystream,
}

/// The hiding of the attributes a reply may carry hidden.
pub fn hiding(vendor: u32, code: u8) -> Hiding {
    match (vendor, code) {
        (0, ATTR_TUNNEL_PASSWORD) => Hiding::Salted { tagged: true },
        (VENDOR_MICROSOFT, MS_MPPE_SEND_KEY | MS_MPPE_RECV_KEY) => Hiding::Salted { tagged: false },
        (VENDOR_MICROSOFT, MS_CHAP_MPPE_KEYS) => Hiding::Keystream,
        _ => Hiding::Plain,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error(transparent)]
    Salt(#[from] salt::SaltError),
    #[error("hidden value of the wrong length")]
    BadHiddenLength,
}

/// The attributes of a packet as plain [`Attribute`]s: vendor attributes split into their
/// sub-attributes, hidden values revealed with `secret` and the request authenticator.
/// Attributes in `skip` (standard types) are left out. A hidden value that does not decrypt
/// is returned as an error with its position so the caller can log and drop it.
pub fn decode_attributes(
    pkt: &Packet<'_>,
    skip: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> (Vec<Attribute>, Vec<(u32, u8, AttributeError)>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for &(t, v) in pkt.attributes() {
        if skip.contains(&t) {
            continue;
        }
        let subs = match (t == ATTR_VENDOR_SPECIFIC)
            .then(|| vendor_attrs(v))
            .flatten()
        {
            Some((vendor, subs)) => subs.into_iter().map(|(c, v)| (vendor, c, v)).collect(),
            None => vec![(0, t, v)],
        };
        for (vendor, code, value) in subs {
            match reveal(vendor, code, value, secret, request_authenticator) {
                Ok(value) => out.push(Attribute {
                    vendor,
                    code,
                    value,
                }),
                Err(e) => bad.push((vendor, code, e)),
            }
        }
    }
    (out, bad)
}

fn reveal(
    vendor: u32,
    code: u8,
    value: &[u8],
    secret: &[u8],
    ra: &[u8; 16],
) -> Result<Vec<u8>, AttributeError> {
    Ok(match hiding(vendor, code) {
        Hiding::Plain => value.to_vec(),
        Hiding::Salted { tagged: false } => salt::decrypt(value, secret, ra)?,
        Hiding::Salted { tagged: true } => {
            let (tag, rest) = value.split_first().ok_or(AttributeError::BadHiddenLength)?;
            let mut v = vec![*tag];
            v.extend(salt::decrypt(rest, secret, ra)?);
            v
        }
        Hiding::Keystream => {
            if value.is_empty() || !value.len().is_multiple_of(16) {
                return Err(AttributeError::BadHiddenLength);
            }
            unhide(value, secret, ra)
        }
    })
}

/// Appends `a` to an encoded attribute list, hidden for `secret` and the request
/// authenticator of the packet it goes into (a fresh salt for each salted value).
pub fn encode_attribute(
    a: &Attribute,
    secret: &[u8],
    request_authenticator: &[u8; 16],
    out: &mut Vec<u8>,
) -> Result<(), AttributeError> {
    let value = match hiding(a.vendor, a.code) {
        Hiding::Plain => a.value.clone(),
        Hiding::Salted { tagged: false } => {
            salt::encrypt(&a.value, secret, request_authenticator, salt::fresh_salt())?
        }
        Hiding::Salted { tagged: true } => {
            let (tag, rest) = a
                .value
                .split_first()
                .ok_or(AttributeError::BadHiddenLength)?;
            let mut v = vec![*tag];
            v.extend(salt::encrypt(
                rest,
                secret,
                request_authenticator,
                salt::fresh_salt(),
            )?);
            v
        }
        Hiding::Keystream => {
            if a.value.is_empty() || !a.value.len().is_multiple_of(16) {
                return Err(AttributeError::BadHiddenLength);
            }
            hide_user_password(&a.value, secret, request_authenticator)
        }
    };
    if a.vendor == 0 {
        push_attr(out, a.code, &value);
    } else {
        push_vsa(out, a.vendor, a.code, &value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_values_are_re_hidden_for_the_other_leg() {
        let granted = vec![
            Attribute::new(0, 25, b"class-1".to_vec()),
            Attribute::new(VENDOR_MICROSOFT, MS_MPPE_SEND_KEY, vec![0xA5; 32]),
            Attribute::new(0, ATTR_TUNNEL_PASSWORD, b"\x01tunnel-pw".to_vec()),
            Attribute::new(VENDOR_MICROSOFT, MS_CHAP_MPPE_KEYS, vec![0; 32]),
        ];
        let (up_secret, up_ra) = (b"upstream-secret".as_slice(), [1u8; 16]);
        let mut wire = Vec::new();
        for a in &granted {
            encode_attribute(a, up_secret, &up_ra, &mut wire).unwrap();
        }
        let pkt = encode_request(ACCESS_ACCEPT, 1, &up_ra, &wire, up_secret, false).unwrap();
        let p = Packet::parse(&pkt).unwrap();
        assert!(
            !pkt.windows(32).any(|w| w == [0xA5; 32]),
            "the key is not sent in the clear"
        );
        let (back, bad) = decode_attributes(&p, &[], up_secret, &up_ra);
        assert!(bad.is_empty());
        assert_eq!(back, granted);
        let (wrong, _) = decode_attributes(&p, &[], b"client-secret", &up_ra);
        assert_ne!(wrong, granted, "another secret does not reveal them");
        let (skipped, _) = decode_attributes(&p, &[25], up_secret, &up_ra);
        assert_eq!(skipped.len(), 3);
    }
}
