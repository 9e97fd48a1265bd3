//! The built-in directory: argon2id password hashes in the store. The embedded default for a
//! quick start and for small sites.
//!
//! Timing: an unknown user, a user without a password and a wrong password all cost one
//! argon2id verification (against a dummy hash made with the configured cost), so response
//! time does not tell which user names exist.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

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

fn verify(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        // The PHC string carries its own algorithm and cost.
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
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
    /// argon2id is memory-hard: bound how many run at once so a flood cannot exhaust memory.
    hashing: Arc<Semaphore>,
}

impl LocalPrimary {
    pub fn new(store: Store, cfg: &LocalPrimaryConfig) -> Result<Self, HashError> {
        let dummy_hash = hash_password(cfg, "mfagate-dummy-password-for-timing")?.into();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            store,
            dummy_hash,
            hashing: Arc::new(Semaphore::new(cores * 2)),
        })
    }

    /// Checks `password` for `user_name`; the user record comes back on success.
    pub async fn verify(
        &self,
        user_name: &str,
        password: &str,
    ) -> Result<Result<UserRecord, PasswordReject>, PrimaryError> {
        let key = user_key(user_name);
        let user = self.store.read(|r| r.user(&key))?;
        let (hash, reject_even_if_match) = match user.as_ref().map(|u| u.password_hash.clone()) {
            Some(Some(h)) => (Arc::<str>::from(h), None),
            Some(None) => (self.dummy_hash.clone(), Some(PasswordReject::NoPassword)),
            None => (self.dummy_hash.clone(), Some(PasswordReject::UnknownUser)),
        };
        let permit = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PrimaryError::Task)?;
        let password = password.to_owned();
        let matched = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify(&hash, &password)
        })
        .await
        .map_err(|_| PrimaryError::Task)?;
        Ok(match (user, reject_even_if_match, matched) {
            (_, Some(r), _) => Err(r),
            (Some(u), None, true) => Ok(u),
            _ => Err(PasswordReject::WrongPassword),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let cfg = LocalPrimaryConfig {
            hash_memory_kib: 64,
            hash_iterations: 1,
            hash_parallelism: 1,
        };
        let h = hash_password(&cfg, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "correct horsf"));
        assert!(!verify("not a hash", "x"));
    }
}
