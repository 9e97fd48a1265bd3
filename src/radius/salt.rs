//! Salt-encrypted attribute values (RFC 2548 §2.4.2 for MS-MPPE-Send-Key/Recv-Key, RFC 2868
//! §3.5 for Tunnel-Password): the value is bound to one shared secret and one *request*
//! authenticator, so a proxy must decrypt it with the upstream leg's pair and encrypt it
//! afresh, with a new salt, for the client's.

use md5::{Digest, Md5};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SaltError {
    #[error("salt-encrypted value shorter than salt and one block, or not whole blocks")]
    BadLength,
    #[error("salt without its high bit set")]
    BadSalt,
    #[error("decrypted length exceeds the value")]
    BadInnerLength,
    #[error("value longer than 239 octets")]
    TooLong,
}

/// Encrypts `plain` under `salt` (whose high bit is set here) for `secret` and the request
/// authenticator it answers. Returns salt ‖ ciphertext.
pub fn encrypt(
    plain: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: [u8; 2],
) -> Result<Vec<u8>, SaltError> {
    // One length octet and the value must fit a 253-octet attribute with the 2-octet salt
    // (and, for Tunnel-Password, its tag) in front: at most 15 blocks.
    if plain.len() > 239 {
        return Err(SaltError::TooLong);
    }
    let salt = [salt[0] | 0x80, salt[1]];
    let mut p = Vec::with_capacity(plain.len() + 16);
    p.push(plain.len() as u8);
    p.extend_from_slice(plain);
    p.resize(p.len().div_ceil(16) * 16, 0);
    let mut out = salt.to_vec();
    let mut prev: Vec<u8> = [request_authenticator.as_slice(), &salt].concat();
    for block in p.chunks(16) {
        let b = Md5::new()
            .chain_update(secret)
            .chain_update(&prev)
            .finalize();
        let c: Vec<u8> = block.iter().zip(b.iter()).map(|(x, k)| x ^ k).collect();
        out.extend_from_slice(&c);
        prev = c;
    }
    Ok(out)
}

/// The inverse of [`encrypt`]: `value` is salt ‖ ciphertext; returns the plain value.
pub fn decrypt(
    value: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, SaltError> {
    if value.len() < 18 || !(value.len() - 2).is_multiple_of(16) {
        return Err(SaltError::BadLength);
    }
    let (salt, cipher) = value.split_at(2);
    if salt[0] & 0x80 == 0 {
        return Err(SaltError::BadSalt);
    }
    let mut plain = Vec::with_capacity(cipher.len());
    let mut prev: Vec<u8> = [request_authenticator.as_slice(), salt].concat();
    for block in cipher.chunks(16) {
        let b = Md5::new()
            .chain_update(secret)
            .chain_update(&prev)
            .finalize();
        plain.extend(block.iter().zip(b.iter()).map(|(x, k)| x ^ k));
        prev = block.to_vec();
    }
    let n = plain[0] as usize;
    if n + 1 > plain.len() {
        return Err(SaltError::BadInnerLength);
    }
    Ok(plain[1..=n].to_vec())
}

/// A fresh salt (RFC 2548: unique per attribute within a packet, high bit set).
pub fn fresh_salt() -> [u8; 2] {
    let mut s = [0u8; 2];
    // A predictable salt weakens only this attribute's keystream; getrandom failing is an OS
    // fault no caller can mend, so a counter-free fallback would be no better than zeros.
    let _ = getrandom::getrandom(&mut s);
    [s[0] | 0x80, s[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_to_secret_and_authenticator() {
        let ra = [7u8; 16];
        for n in [0usize, 1, 15, 16, 32, 239] {
            let key: Vec<u8> = (0..n as u8).collect();
            let v = encrypt(&key, b"s3cret", &ra, [0x12, 0x34]).unwrap();
            assert_eq!(v[0], 0x92, "high bit set on the salt");
            assert_eq!((v.len() - 2) % 16, 0);
            assert_eq!(decrypt(&v, b"s3cret", &ra).unwrap(), key);
            if n > 0 {
                assert_ne!(decrypt(&v, b"other", &ra).ok(), Some(key.clone()));
                assert_ne!(decrypt(&v, b"s3cret", &[8u8; 16]).ok(), Some(key));
            }
        }
        assert_eq!(
            encrypt(&[0; 240], b"s", &ra, [1, 2]),
            Err(SaltError::TooLong)
        );
        assert_eq!(decrypt(&[0x80; 17], b"s", &ra), Err(SaltError::BadLength));
        assert_eq!(decrypt(&[0x00; 18], b"s", &ra), Err(SaltError::BadSalt));
    }

    #[test]
    fn matches_rfc2548_construction_by_hand() {
        // b(1) = MD5(S + R + A), c(1) = p(1) xor b(1): one block, written out.
        let (secret, ra, salt) = (b"xyzzy", [0x11u8; 16], [0x85u8, 0x01]);
        let key = [0xAAu8; 15];
        let v = encrypt(&key, secret, &ra, salt).unwrap();
        let mut p = vec![15u8];
        p.extend(key);
        let b = Md5::new()
            .chain_update(secret)
            .chain_update(ra)
            .chain_update(salt)
            .finalize();
        let c: Vec<u8> = p.iter().zip(b.iter()).map(|(x, k)| x ^ k).collect();
        assert_eq!(&v[2..], &c[..]);
    }
}
