//! Sealing of TOTP seeds at rest with a key file in the data directory, so that a copy of the
//! database file alone (a backup, a replica's disk) does not reveal any seed.

use std::io::{Read, Write};
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::model::{hex, unhex, SealedSeed};
use super::StoreError;
use crate::config::private_file_options;

pub struct SeedSealer {
    cipher: ChaCha20Poly1305,
    /// Derived from the same key file, for hashing one-time codes (never used to encrypt).
    mac_key: [u8; 20],
}

impl std::fmt::Debug for SeedSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeedSealer(<key redacted>)")
    }
}

impl SeedSealer {
    /// Loads the key file, creating it (owner-only) when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| StoreError::KeyFile(format!("{}: {e}", path.display()));
        let mut key = [0u8; 32];
        if path.exists() {
            let mut f = std::fs::File::open(path).map_err(io)?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).map_err(io)?;
            if buf.len() != 32 {
                return Err(StoreError::KeyFile(format!(
                    "{}: expected 32 bytes, found {}",
                    path.display(),
                    buf.len()
                )));
            }
            key.copy_from_slice(&buf);
        } else {
            getrandom::getrandom(&mut key).map_err(|e| StoreError::KeyFile(e.to_string()))?;
            let mut f = private_file_options()
                .create_new(true)
                .open(path)
                .map_err(io)?;
            f.write_all(&key).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            mac_key: hmac_sha1(&key, &[b"mfagate one-time code mac key".as_slice()]),
        })
    }

    /// HMAC of a one-time code, bound to its challenge and salt: a copy of the database alone
    /// does not let anyone test the 10^6 possible codes offline.
    pub fn code_mac(&self, challenge_id: &[u8], salt: &[u8], code: &str) -> [u8; 20] {
        hmac_sha1(&self.mac_key, &[challenge_id, salt, code.as_bytes()])
    }

    pub fn seal(&self, seed: &[u8], user_key: &str) -> Result<SealedSeed, StoreError> {
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| StoreError::KeyFile(e.to_string()))?;
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: seed,
                    aad: user_key.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Sealing)?;
        Ok(SealedSeed {
            nonce: hex(&nonce),
            ciphertext: hex(&ct),
        })
    }

    /// Fails when the record was sealed for another user or with another key.
    pub fn open(&self, sealed: &SealedSeed, user_key: &str) -> Result<Vec<u8>, StoreError> {
        let nonce = unhex(&sealed.nonce)
            .filter(|n| n.len() == 12)
            .ok_or(StoreError::Sealing)?;
        let ct = unhex(&sealed.ciphertext).ok_or(StoreError::Sealing)?;
        self.cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: user_key.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Sealing)
    }
}

/// Replaces the key file in one step (write aside, fsync, rename), owner-only: joining a
/// cluster takes its key, a restore takes the backup's.
pub fn replace_key_file(path: &Path, key: &[u8]) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::KeyFile(format!("{}: {e}", path.display()));
    if key.len() != 32 {
        return Err(StoreError::KeyFile(format!(
            "{}: a key is 32 bytes, not {}",
            path.display(),
            key.len()
        )));
    }
    let tmp = path.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    let mut f = private_file_options()
        .create_new(true)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(key).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    use hmac::{Hmac, Mac};
    let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for p in parts {
        // Length-prefixed, so that (id, salt, code) boundaries cannot shift.
        m.update(&(p.len() as u32).to_be_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().into()
}
