//! The built-in directory: argon2id password hashes in the store. The embedded default for a
//! quick start and for small sites.
//!
//! Timing: an unknown user, a user without a password and a wrong password all cost one
//! argon2id verification (against a dummy hash made with the configured cost), so response
//! time does not tell which user names exist.
//!
//! Memory: verifications run on a fixed pool of one thread per core, each reusing one argon2
//! memory buffer. (With tokio's growing blocking pool, glibc kept a freed 19 MiB buffer per
//! thread and a burst of 64 logins peaked at 1.2 GB.) Peak memory is cores × hash_memory_kib.

use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::config::LocalPrimaryConfig;
use crate::store::model::{user_key, UserRecord};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing: {0}")]
    Hash(String),
}

/// Makes a new argon2id PHC string with the configured cost.
pub fn hash_password(cfg: &LocalPrimaryConfig, password: &str) -> Result<String, HashError> {
    let params = Params::new(
        cfg.hash_memory_kib,
        cfg.hash_iterations,
        cfg.hash_parallelism,
        None,
    )
    .map_err(|e| HashError::Hash(e.to_string()))?;
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| HashError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Hash(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

/// Verifies `password` against an argon2id PHC string (which carries its own cost), using
/// `blocks` as the algorithm's memory.
fn verify(blocks: &mut Vec<Block>, hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    blocks.resize(params.block_count(), Block::default());
    let mut out = vec![0u8; expected.len()];
    Argon2::new(Algorithm::Argon2id, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..])
        .is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

type VerifyJob = (Arc<str>, String, oneshot::Sender<bool>);

/// The verification threads; they end when the pool is dropped.
struct VerifyPool {
    jobs: mpsc::Sender<VerifyJob>,
}

impl VerifyPool {
    fn new(threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<VerifyJob>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut blocks = Vec::new();
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok((hash, password, reply)) = job else {
                            break;
                        };
                        let _ = reply.send(verify(&mut blocks, &hash, &password));
                    }
                })?;
        }
        Ok(Self { jobs: tx })
    }

    async fn verify(&self, hash: Arc<str>, password: String) -> Result<bool, PrimaryError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send((hash, password, tx))
            .map_err(|_| PrimaryError::Task)?;
        rx.await.map_err(|_| PrimaryError::Task)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordReject {
    UnknownUser,
    NoPassword,
    WrongPassword,
}

impl PasswordReject {
    pub fn reason(&self) -> &'static str {
        match self {
            PasswordReject::UnknownUser => "unknown user",
            PasswordReject::NoPassword => "no local password set",
            PasswordReject::WrongPassword => "wrong password",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrimaryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password check task failed")]
    Task,
}

pub struct LocalPrimary {
    store: Store,
    dummy_hash: Arc<str>,
    pool: VerifyPool,
}

impl LocalPrimary {
    pub fn new(store: Store, cfg: &LocalPrimaryConfig) -> Result<Self, HashError> {
        let dummy_hash = hash_password(cfg, "mfagate-dummy-password-for-timing")?.into();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let pool = VerifyPool::new(cores).map_err(|e| HashError::Hash(e.to_string()))?;
        Ok(Self {
            store,
            dummy_hash,
            pool,
        })
    }

    /// Checks `password` for `user_name`; the user record comes back on success.
    pub async fn verify(
        &self,
        user_name: &str,
        password: &str,
    ) -> Result<Result<UserRecord, PasswordReject>, PrimaryError> {
        let user = self.find(user_name)?;
        self.check(user, password).await
    }

    /// The record for a login name. An LDAP DN (`uid=alice,…` or `cn=alice,…`) names the user
    /// by its first RDN value, since the local directory has no tree.
    pub fn find(&self, user_name: &str) -> Result<Option<UserRecord>, PrimaryError> {
        let key = user_key(local_name(user_name));
        Ok(self.store.read(|r| r.user(&key))?)
    }

    /// Checks `password` against a record from [`find`](Self::find); an absent record costs
    /// the same hashing work.
    pub async fn check(
        &self,
        user: Option<UserRecord>,
        password: &str,
    ) -> Result<Result<UserRecord, PasswordReject>, PrimaryError> {
        let (hash, reject_even_if_match) = match user.as_ref().map(|u| u.password_hash.clone()) {
            Some(Some(h)) => (Arc::<str>::from(h), None),
            Some(None) => (self.dummy_hash.clone(), Some(PasswordReject::NoPassword)),
            None => (self.dummy_hash.clone(), Some(PasswordReject::UnknownUser)),
        };
        let matched = self.pool.verify(hash, password.to_owned()).await?;
        Ok(match (user, reject_even_if_match, matched) {
            (_, Some(r), _) => Err(r),
            (Some(u), None, true) => Ok(u),
            _ => Err(PasswordReject::WrongPassword),
        })
    }
}

/// `uid=alice,ou=people,dc=x` → `alice`; anything else is already a user name.
fn local_name(login: &str) -> &str {
    let Some((first_rdn, _)) = login.split_once(',') else {
        return login;
    };
    match first_rdn.split_once('=') {
        Some((attr, value))
            if attr.trim().eq_ignore_ascii_case("uid")
                || attr.trim().eq_ignore_ascii_case("cn") =>
        {
            value.trim()
        }
        _ => login,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_names_the_user_by_its_first_rdn() {
        assert_eq!(local_name("uid=alice,ou=people,dc=x"), "alice");
        assert_eq!(local_name("CN=Bob,DC=x"), "Bob");
        assert_eq!(local_name("alice"), "alice");
        assert_eq!(local_name("o=x,dc=y"), "o=x,dc=y");
    }

    #[test]
    fn hash_and_verify() {
        let cfg = LocalPrimaryConfig {
            hash_memory_kib: 64,
            hash_iterations: 1,
            hash_parallelism: 1,
        };
        let h = hash_password(&cfg, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let mut blocks = Vec::new();
        assert!(verify(&mut blocks, &h, "correct horse"));
        assert!(!verify(&mut blocks, &h, "correct horsf"));
        assert!(!verify(&mut blocks, "not a hash", "x"));
        // Other argon2 variants are not accepted as argon2id.
        let d = h.replace("$argon2id$", "$argon2d$");
        assert!(!verify(&mut blocks, &d, "correct horse"));
    }
}
