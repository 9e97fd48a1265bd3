//! Framing: `ldap3_proto`'s codec behind a check of the outer BER header, so that a declared
//! length beyond `[ldap] max_message_bytes` (e.g. `84 FF FF FF FF`) or an indefinite length
//! ends the connection at once instead of waiting for bytes that will never fit.

use bytes::BytesMut;
use ldap3_proto::proto::LdapMsg;
use ldap3_proto::LdapCodec;
use tokio_util::codec::{Decoder, Encoder};

pub struct Codec {
    inner: LdapCodec,
    max_message_bytes: usize,
}

impl Codec {
    pub fn new(max_message_bytes: usize, max_depth: usize) -> Self {
        Self {
            inner: LdapCodec::new(Some(max_message_bytes), Some(max_depth)),
            max_message_bytes,
        }
    }
}

fn invalid(msg: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// The total size (header included) the first BER element in `buf` declares, once its
/// header is complete.
fn declared_size(buf: &[u8]) -> Result<Option<usize>, std::io::Error> {
    let Some(&tag) = buf.first() else {
        return Ok(None);
    };
    if tag != 0x30 {
        return Err(invalid("an LDAPMessage must be a SEQUENCE"));
    }
    let Some(&len) = buf.get(1) else {
        return Ok(None);
    };
    match len {
        0x00..=0x7f => Ok(Some(2 + len as usize)),
        0x80 => Err(invalid(
            "indefinite length is not allowed in LDAP (RFC 4511 §5.1)",
        )),
        0x81..=0x84 => {
            let n = (len & 0x7f) as usize;
            let Some(bytes) = buf.get(2..2 + n) else {
                return Ok(None);
            };
            let body = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            Ok(Some(2 + n + body))
        }
        _ => Err(invalid("BER length field too long")),
    }
}

/// RFC 4511 §4.1.1: MessageID ::= INTEGER (0 .. maxInt). `ldap3_proto` reads the BER
/// integer without its sign and truncates it to 32 bits, so `02 01 FB` (-5) would be
/// answered as 251: a negative or oversized id is refused here, before it decodes.
fn check_message_id(buf: &[u8]) -> Result<(), std::io::Error> {
    let header = match buf.get(1) {
        Some(l) if *l < 0x80 => 2,
        Some(l) => 2 + (l & 0x7f) as usize,
        None => return Ok(()),
    };
    let (Some(&tag), Some(&len)) = (buf.get(header), buf.get(header + 1)) else {
        return Ok(());
    };
    if tag != 0x02 || len == 0 || len > 5 {
        return Err(invalid("the messageID must be an INTEGER of 1 to 4 bytes"));
    }
    let Some(value) = buf.get(header + 2..header + 2 + len as usize) else {
        return Ok(());
    };
    if value[0] & 0x80 != 0 {
        return Err(invalid("a negative messageID (RFC 4511 §4.1.1)"));
    }
    let n = value.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
    if n > i32::MAX as u64 {
        return Err(invalid("a messageID beyond maxInt (RFC 4511 §4.1.1)"));
    }
    Ok(())
}

impl Decoder for Codec {
    type Item = LdapMsg;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<LdapMsg>, std::io::Error> {
        match declared_size(buf)? {
            Some(size) if size > self.max_message_bytes => {
                Err(invalid("message larger than max_message_bytes"))
            }
            Some(size) if buf.len() >= size => {
                check_message_id(buf)?;
                self.inner.decode(buf)
            }
            _ => Ok(None),
        }
    }
}

impl Encoder<LdapMsg> for Codec {
    type Error = std::io::Error;

    fn encode(&mut self, msg: LdapMsg, buf: &mut BytesMut) -> Result<(), std::io::Error> {
        self.inner.encode(msg, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(declared_size(&[]).unwrap(), None);
        assert_eq!(declared_size(&[0x30]).unwrap(), None);
        assert_eq!(declared_size(&[0x30, 0x05]).unwrap(), Some(7));
        assert_eq!(declared_size(&[0x30, 0x82, 0x01]).unwrap(), None);
        assert_eq!(declared_size(&[0x30, 0x82, 0x01, 0x00]).unwrap(), Some(260));
        assert_eq!(
            declared_size(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Some(6 + 0xffff_ffff)
        );
        assert!(declared_size(&[0x30, 0x80]).is_err());
        assert!(declared_size(&[0x30, 0x85]).is_err());
        assert!(declared_size(&[0x02, 0x01]).is_err());
    }

    #[test]
    fn message_ids_outside_0_to_maxint_are_refused() {
        // An UnbindRequest (42 00) under messageID `id`.
        let unbind = |id: &[u8]| {
            let mut m = vec![0x30, (2 + id.len() + 2) as u8, 0x02, id.len() as u8];
            m.extend_from_slice(id);
            m.extend_from_slice(&[0x42, 0x00]);
            m
        };
        let mut c = Codec::new(1024, 16);
        for bad in [&[0xfb][..], &[0xff, 0xff], &[0x00, 0x80, 0x00, 0x00, 0x00]] {
            let mut buf = BytesMut::from(unbind(bad).as_slice());
            assert!(c.decode(&mut buf).is_err(), "{bad:02x?} accepted");
        }
        for good in [&[0x05][..], &[0x00, 0xfb], &[0x7f, 0xff, 0xff, 0xff]] {
            let mut buf = BytesMut::from(unbind(good).as_slice());
            let msg = c
                .decode(&mut buf)
                .unwrap_or_else(|e| panic!("{good:02x?}: {e}"));
            let want = good.iter().fold(0i32, |a, b| (a << 8) | *b as i32);
            assert_eq!(msg.map(|m| m.msgid), Some(want));
        }
    }

    #[test]
    fn oversized_declared_length_fails_before_the_bytes_arrive() {
        let mut c = Codec::new(1024, 16);
        let mut buf = BytesMut::from(&[0x30u8, 0x84, 0xff, 0xff, 0xff, 0xff][..]);
        assert!(c.decode(&mut buf).is_err());
    }
}
