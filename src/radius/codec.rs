//! RADIUS packet codec (RFC 2865, Message-Authenticator per RFC 2869/3579, Status-Server per
//! RFC 5997).
//!
//! Why our own codec instead of the `radius` crate: the gateway must reject every malformed
//! packet exactly (attribute length 0/1, overruns, Length beyond the datagram, > 4096 octets)
//! before any other work, verify Message-Authenticator over the packet *as received*, and emit
//! Message-Authenticator as the first attribute of every reply (the BlastRADIUS mitigation).
//! Those three are the whole security surface, and they are simpler to get right in ~250 lines
//! that borrow the datagram than through a general packet model that re-encodes it.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

pub const ACCESS_REQUEST: u8 = 1;
pub const ACCESS_ACCEPT: u8 = 2;
pub const ACCESS_REJECT: u8 = 3;
pub const ACCESS_CHALLENGE: u8 = 11;
pub const STATUS_SERVER: u8 = 12;

pub const ATTR_USER_NAME: u8 = 1;
pub const ATTR_USER_PASSWORD: u8 = 2;
pub const ATTR_CHAP_PASSWORD: u8 = 3;
pub const ATTR_REPLY_MESSAGE: u8 = 18;
pub const ATTR_STATE: u8 = 24;
pub const ATTR_VENDOR_SPECIFIC: u8 = 26;
pub const ATTR_PROXY_STATE: u8 = 33;
pub const ATTR_MESSAGE_AUTHENTICATOR: u8 = 80;

pub const HEADER_LEN: usize = 20;
pub const MAX_PACKET_LEN: usize = 4096;
const MA_LEN: usize = 18;
const MAX_ATTR_VALUE: usize = 253;

type HmacMd5 = Hmac<Md5>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("datagram shorter than the 20-octet header")]
    TooShort,
    #[error("datagram longer than 4096 octets")]
    TooLong,
    #[error("Length field outside 20..=4096")]
    BadLength,
    #[error("Length field exceeds the datagram")]
    Truncated,
    #[error("attribute length below 2")]
    BadAttributeLength,
    #[error("attribute overruns the packet")]
    AttributeOverrun,
    #[error("Message-Authenticator malformed or repeated")]
    BadMessageAuthenticatorAttribute,
    #[error("Message-Authenticator does not verify")]
    MessageAuthenticatorMismatch,
    #[error("User-Password length not a multiple of 16 in 16..=128")]
    BadUserPasswordLength,
    #[error("response authenticator does not verify")]
    ResponseAuthenticatorMismatch,
}

/// A parsed packet borrowing the datagram. Attribute values are slices of `raw`.
#[derive(Debug)]
pub struct Packet<'a> {
    pub code: u8,
    pub identifier: u8,
    pub authenticator: [u8; 16],
    /// The packet up to its Length field (trailing padding of the datagram removed).
    pub raw: &'a [u8],
    attrs: Vec<(u8, &'a [u8])>,
    /// Offset in `raw` of the Message-Authenticator value, when there is exactly one.
    ma_offset: Option<usize>,
}

impl<'a> Packet<'a> {
    pub fn parse(datagram: &'a [u8]) -> Result<Self, CodecError> {
        if datagram.len() < HEADER_LEN {
            return Err(CodecError::TooShort);
        }
        if datagram.len() > MAX_PACKET_LEN {
            return Err(CodecError::TooLong);
        }
        let length = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
            return Err(CodecError::BadLength);
        }
        if length > datagram.len() {
            return Err(CodecError::Truncated);
        }
        let raw = &datagram[..length];
        let mut attrs = Vec::with_capacity(8);
        let mut ma_offset = None;
        let mut seen_ma = false;
        let mut i = HEADER_LEN;
        while i < length {
            if i + 2 > length {
                return Err(CodecError::AttributeOverrun);
            }
            let (t, l) = (raw[i], raw[i + 1] as usize);
            if l < 2 {
                return Err(CodecError::BadAttributeLength);
            }
            if i + l > length {
                return Err(CodecError::AttributeOverrun);
            }
            if t == ATTR_MESSAGE_AUTHENTICATOR {
                if seen_ma || l != MA_LEN {
                    return Err(CodecError::BadMessageAuthenticatorAttribute);
                }
                seen_ma = true;
                ma_offset = Some(i + 2);
            }
            attrs.push((t, &raw[i + 2..i + l]));
            i += l;
        }
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&raw[4..20]);
        Ok(Self {
            code: raw[0],
            identifier: raw[1],
            authenticator,
            raw,
            attrs,
            ma_offset,
        })
    }

    pub fn attr(&self, t: u8) -> Option<&'a [u8]> {
        self.attrs.iter().find(|(at, _)| *at == t).map(|(_, v)| *v)
    }

    pub fn attrs_of(&self, t: u8) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.attrs
            .iter()
            .filter(move |(at, _)| *at == t)
            .map(|(_, v)| *v)
    }

    pub fn attributes(&self) -> &[(u8, &'a [u8])] {
        &self.attrs
    }

    pub fn has_message_authenticator(&self) -> bool {
        self.ma_offset.is_some()
    }

    /// Verifies the Message-Authenticator of a request (RFC 3579 §3.2): HMAC-MD5 keyed with the
    /// shared secret over the packet as received with the MA value zeroed.
    pub fn verify_request_message_authenticator(&self, secret: &[u8]) -> Result<(), CodecError> {
        let off = self
            .ma_offset
            .ok_or(CodecError::BadMessageAuthenticatorAttribute)?;
        let expected = hmac_md5_zeroed(self.raw, off, None, secret);
        if bool::from(expected.ct_eq(&self.raw[off..off + 16])) {
            Ok(())
        } else {
            Err(CodecError::MessageAuthenticatorMismatch)
        }
    }

    /// Verifies a response against the request authenticator it answers: the Response
    /// Authenticator, and the Message-Authenticator when present.
    pub fn verify_response(
        &self,
        request_authenticator: &[u8; 16],
        secret: &[u8],
    ) -> Result<(), CodecError> {
        let mut h = Md5::new();
        h.update(&self.raw[..4]);
        h.update(request_authenticator);
        h.update(&self.raw[HEADER_LEN..]);
        h.update(secret);
        if !bool::from(h.finalize().as_slice().ct_eq(&self.authenticator)) {
            return Err(CodecError::ResponseAuthenticatorMismatch);
        }
        if let Some(off) = self.ma_offset {
            let expected = hmac_md5_zeroed(self.raw, off, Some(request_authenticator), secret);
            if !bool::from(expected.ct_eq(&self.raw[off..off + 16])) {
                return Err(CodecError::MessageAuthenticatorMismatch);
            }
        }
        Ok(())
    }
}

/// HMAC-MD5 over `raw` with the 16 octets at `ma_off` zeroed and, for responses, the
/// authenticator field replaced by the request authenticator.
fn hmac_md5_zeroed(
    raw: &[u8],
    ma_off: usize,
    authenticator: Option<&[u8; 16]>,
    secret: &[u8],
) -> [u8; 16] {
    let mut mac = <HmacMd5 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(&raw[..4]);
    match authenticator {
        Some(a) => mac.update(a),
        None => mac.update(&raw[4..20]),
    }
    mac.update(&raw[20..ma_off]);
    mac.update(&[0u8; 16]);
    mac.update(&raw[ma_off + 16..]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// Decodes a PAP User-Password (RFC 2865 §5.2); trailing NUL padding is removed.
pub fn decode_user_password(
    hidden: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, CodecError> {
    if hidden.len() < 16 || hidden.len() > 128 || !hidden.len().is_multiple_of(16) {
        return Err(CodecError::BadUserPasswordLength);
    }
    let mut out = unhide(hidden, secret, request_authenticator);
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// The RFC 2865 §5.2 keystream undone over whole 16-octet blocks, padding kept (MS-CHAP-MPPE-Keys
/// is hidden this way and may end in zero octets that are key, not padding).
pub fn unhide(hidden: &[u8], secret: &[u8], request_authenticator: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hidden.len());
    let mut prev: &[u8] = request_authenticator;
    for chunk in hidden.chunks(16) {
        let b = Md5::new()
            .chain_update(secret)
            .chain_update(prev)
            .finalize();
        out.extend(chunk.iter().zip(b.iter()).map(|(c, k)| c ^ k));
        prev = chunk;
    }
    out
}

/// Hides a PAP User-Password (RFC 2865 §5.2). Passwords over 128 octets are truncated.
pub fn hide_user_password(
    password: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Vec<u8> {
    let len = password.len().clamp(1, 128).div_ceil(16) * 16;
    let mut padded = password[..password.len().min(128)].to_vec();
    padded.resize(len, 0);
    let mut out: Vec<u8> = Vec::with_capacity(len);
    for i in (0..len).step_by(16) {
        let prev: &[u8] = if i == 0 {
            request_authenticator
        } else {
            &out[i - 16..i]
        };
        let b = Md5::new()
            .chain_update(secret)
            .chain_update(prev)
            .finalize();
        let block: Vec<u8> = padded[i..i + 16]
            .iter()
            .zip(b.iter())
            .map(|(p, k)| p ^ k)
            .collect();
        out.extend(block);
    }
    out
}

/// Appends `t` with `value` split into as many attributes as 253-octet chunks need.
pub fn push_attr(out: &mut Vec<u8>, t: u8, value: &[u8]) {
    if value.is_empty() {
        out.extend([t, 2]);
        return;
    }
    for chunk in value.chunks(MAX_ATTR_VALUE) {
        out.push(t);
        out.push((chunk.len() + 2) as u8);
        out.extend_from_slice(chunk);
    }
}

/// A Vendor-Specific value's (type, value) pairs.
pub type SubAttributes<'a> = Vec<(u8, &'a [u8])>;

/// The sub-attributes of a Vendor-Specific value in the RFC 2865 §5.26 layout (vendor id,
/// then type/length/value triples); `None` when the value is not in that layout.
pub fn vendor_attrs(value: &[u8]) -> Option<(u32, SubAttributes<'_>)> {
    if value.len() < 4 {
        return None;
    }
    let vendor = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
    let mut subs = Vec::new();
    let mut i = 4;
    while i < value.len() {
        let l = *value.get(i + 1)? as usize;
        if l < 2 || i + l > value.len() {
            return None;
        }
        subs.push((value[i], &value[i + 2..i + l]));
        i += l;
    }
    (!subs.is_empty()).then_some((vendor, subs))
}

/// Appends one Vendor-Specific attribute holding one sub-attribute (values over 247 octets
/// are split over several, as vendors' own servers do).
pub fn push_vsa(out: &mut Vec<u8>, vendor: u32, t: u8, value: &[u8]) {
    const MAX_SUB: usize = MAX_ATTR_VALUE - 4 - 2;
    let chunks: Vec<&[u8]> = if value.is_empty() {
        vec![&[]]
    } else {
        value.chunks(MAX_SUB).collect()
    };
    for chunk in chunks {
        out.push(ATTR_VENDOR_SPECIFIC);
        out.push((chunk.len() + 8) as u8);
        out.extend(vendor.to_be_bytes());
        out.push(t);
        out.push((chunk.len() + 2) as u8);
        out.extend_from_slice(chunk);
    }
}

/// Encodes a response to a request. Message-Authenticator is always the first attribute;
/// `attrs` is the already-encoded attribute list that follows it. Returns `None` only when the
/// attributes do not fit into 4096 octets.
pub fn encode_response(
    code: u8,
    identifier: u8,
    request_authenticator: &[u8; 16],
    attrs: &[u8],
    secret: &[u8],
) -> Option<Vec<u8>> {
    // RFC 3579 §3.2: the reply's MA is computed with the request authenticator in place, then
    // the Response Authenticator covers the packet including the MA.
    let mut p = encode_request(code, identifier, request_authenticator, attrs, secret, true)?;
    let ra = Md5::new().chain_update(&p).chain_update(secret).finalize();
    p[4..20].copy_from_slice(&ra);
    Some(p)
}

/// Encodes a request (Access-Request or Status-Server) with a Message-Authenticator first when
/// `with_ma`. Used by the tests, the load tool and, later, the upstream RADIUS primary.
pub fn encode_request(
    code: u8,
    identifier: u8,
    authenticator: &[u8; 16],
    attrs: &[u8],
    secret: &[u8],
    with_ma: bool,
) -> Option<Vec<u8>> {
    let ma_len = if with_ma { MA_LEN } else { 0 };
    let len = HEADER_LEN + ma_len + attrs.len();
    if len > MAX_PACKET_LEN {
        return None;
    }
    let mut p = Vec::with_capacity(len);
    p.push(code);
    p.push(identifier);
    p.extend((len as u16).to_be_bytes());
    p.extend(authenticator);
    if with_ma {
        p.extend([ATTR_MESSAGE_AUTHENTICATOR, MA_LEN as u8]);
        p.extend([0u8; 16]);
    }
    p.extend(attrs);
    if with_ma {
        let ma = hmac_md5_zeroed(&p, HEADER_LEN + 2, None, secret);
        p[HEADER_LEN + 2..HEADER_LEN + 18].copy_from_slice(&ma);
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"xyzzy5461-shared-secret";

    fn request(attrs: &[u8], with_ma: bool) -> Vec<u8> {
        encode_request(ACCESS_REQUEST, 7, &[9u8; 16], attrs, SECRET, with_ma).unwrap()
    }

    #[test]
    fn rfc2865_pap_example_decodes() {
        // RFC 2865 §7.1: user "nemo", password "arctangent", secret "xyzzy5461".
        let ra: [u8; 16] = [
            0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4,
            0x22, 0x7a,
        ];
        let hidden = [
            0x0d, 0xbe, 0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a,
            0x0a, 0xee,
        ];
        let pw = decode_user_password(&hidden, b"xyzzy5461", &ra).unwrap();
        assert_eq!(pw, b"arctangent");
        assert_eq!(hide_user_password(b"arctangent", b"xyzzy5461", &ra), hidden);
    }

    #[test]
    fn long_passwords_round_trip_and_bad_lengths_fail() {
        let ra = [3u8; 16];
        for n in [1usize, 15, 16, 17, 100, 128] {
            let pw = vec![b'p'; n];
            let hidden = hide_user_password(&pw, SECRET, &ra);
            assert_eq!(hidden.len() % 16, 0);
            assert_eq!(decode_user_password(&hidden, SECRET, &ra).unwrap(), pw);
        }
        for n in [0usize, 8, 17, 144] {
            assert_eq!(
                decode_user_password(&vec![1u8; n], SECRET, &ra),
                Err(CodecError::BadUserPasswordLength)
            );
        }
    }

    #[test]
    fn message_authenticator_verifies_and_detects_tampering() {
        let mut attrs = Vec::new();
        push_attr(&mut attrs, ATTR_USER_NAME, b"alice");
        let raw = request(&attrs, true);
        let p = Packet::parse(&raw).unwrap();
        assert!(p.has_message_authenticator());
        p.verify_request_message_authenticator(SECRET).unwrap();
        assert_eq!(
            p.verify_request_message_authenticator(b"another-secret-xx"),
            Err(CodecError::MessageAuthenticatorMismatch)
        );
        let mut tampered = raw.clone();
        *tampered.last_mut().unwrap() ^= 1;
        let p = Packet::parse(&tampered).unwrap();
        assert_eq!(
            p.verify_request_message_authenticator(SECRET),
            Err(CodecError::MessageAuthenticatorMismatch)
        );
    }

    #[test]
    fn response_has_ma_first_and_verifies() {
        let ra = [5u8; 16];
        let mut attrs = Vec::new();
        push_attr(&mut attrs, ATTR_REPLY_MESSAGE, &[b'x'; 300]);
        let resp = encode_response(ACCESS_CHALLENGE, 1, &ra, &attrs, SECRET).unwrap();
        let p = Packet::parse(&resp).unwrap();
        assert_eq!(p.attributes()[0].0, ATTR_MESSAGE_AUTHENTICATOR);
        assert_eq!(p.attrs_of(ATTR_REPLY_MESSAGE).count(), 2);
        p.verify_response(&ra, SECRET).unwrap();
        assert!(p.verify_response(&[6u8; 16], SECRET).is_err());
    }

    #[test]
    fn vendor_attributes_round_trip() {
        let mut out = Vec::new();
        push_vsa(&mut out, 311, 26, b"\x01S=00");
        let raw = request(&out, false);
        let p = Packet::parse(&raw).unwrap();
        let (vendor, subs) = vendor_attrs(p.attr(ATTR_VENDOR_SPECIFIC).unwrap()).unwrap();
        assert_eq!((vendor, subs), (311, vec![(26u8, &b"\x01S=00"[..])]));
        assert!(
            vendor_attrs(&[0, 0, 1, 55, 9, 1]).is_none(),
            "sub-length below 2"
        );
        assert!(
            vendor_attrs(&[0, 0, 1, 55, 9, 7, 1]).is_none(),
            "sub-attribute overruns"
        );
        assert!(vendor_attrs(&[0, 0, 1]).is_none());
    }

    #[test]
    fn malformed_packets_are_classified() {
        let good = request(&[ATTR_USER_NAME, 3, b'a'], false);
        assert!(Packet::parse(&good).is_ok());
        assert_eq!(
            Packet::parse(&good[..19]).unwrap_err(),
            CodecError::TooShort
        );
        assert_eq!(
            Packet::parse(&vec![0u8; 4097]).unwrap_err(),
            CodecError::TooLong
        );
        let mut bad_len = good.clone();
        bad_len[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(Packet::parse(&bad_len).unwrap_err(), CodecError::BadLength);
        let mut long_len = good.clone();
        long_len[2..4].copy_from_slice(&200u16.to_be_bytes());
        assert_eq!(Packet::parse(&long_len).unwrap_err(), CodecError::Truncated);
        for l in [0u8, 1] {
            let p = request(&[ATTR_USER_NAME, l, b'a'], false);
            assert_eq!(
                Packet::parse(&p).unwrap_err(),
                CodecError::BadAttributeLength
            );
        }
        let p = request(&[ATTR_USER_NAME, 9, b'a'], false);
        assert_eq!(Packet::parse(&p).unwrap_err(), CodecError::AttributeOverrun);
        let p = request(&[ATTR_USER_NAME], false);
        assert_eq!(Packet::parse(&p).unwrap_err(), CodecError::AttributeOverrun);
        let p = request(&[ATTR_MESSAGE_AUTHENTICATOR, 4, 0, 0], false);
        assert_eq!(
            Packet::parse(&p).unwrap_err(),
            CodecError::BadMessageAuthenticatorAttribute
        );
        // Octets after Length are padding and ignored (RFC 2865 §3).
        let mut padded = good.clone();
        padded.extend([0xff; 7]);
        assert_eq!(Packet::parse(&padded).unwrap().raw.len(), good.len());
    }
}
