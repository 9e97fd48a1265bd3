//! The LDAP bind cache (`[ldap] bind_cache_secs`): applications bind several times per login
//! with the same `password,code` string, and a TOTP code is accepted only once. After a bind
//! that passed the second factor, a repeat bind from the same client IP and listener with the
//! same password skips the second factor (the password still goes to the primary) until the
//! entry expires. A wrong password forgets the entry.
//!
//! Only an HMAC of the password is kept, keyed with a per-process random key and salted per
//! entry, and only in memory: nothing here survives a restart or reaches the store.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Beyond this many entries, expired ones are purged and, if still full, new ones are not
/// remembered (the second factor is then simply asked again).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BindKey {
    pub user_key: String,
    pub client_ip: IpAddr,
    pub listener: String,
}

struct Entry {
    salt: [u8; 16],
    mac: [u8; 20],
    expires_ms: u64,
}

pub struct BindCache {
    key: [u8; 32],
    ttl_ms: u64,
    entries: Mutex<HashMap<BindKey, Entry>>,
}

impl BindCache {
    pub fn new(ttl_secs: u64) -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)?;
        Ok(Self {
            key,
            ttl_ms: ttl_secs * 1000,
            entries: Mutex::new(HashMap::new()),
        })
    }

    fn mac(&self, salt: &[u8; 16], password: &str) -> [u8; 20] {
        let mut m = <Hmac<Sha1> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(salt);
        m.update(password.as_bytes());
        m.finalize().into_bytes().into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<BindKey, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an unexpired entry holds this password.
    pub fn matches(&self, key: &BindKey, password: &str, now_ms: u64) -> bool {
        let mut entries = self.lock();
        let Some(e) = entries.get(key) else {
            return false;
        };
        if e.expires_ms <= now_ms {
            entries.remove(key);
            return false;
        }
        bool::from(self.mac(&e.salt, password).ct_eq(&e.mac))
    }

    pub fn remember(&self, key: BindKey, password: &str, now_ms: u64) {
        let mut salt = [0u8; 16];
        if getrandom::getrandom(&mut salt).is_err() {
            return;
        }
        let entry = Entry {
            salt,
            mac: self.mac(&salt, password),
            expires_ms: now_ms + self.ttl_ms,
        };
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.expires_ms > now_ms);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(key, entry);
    }

    pub fn forget(&self, key: &BindKey) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BindKey {
        BindKey {
            user_key: "alice".into(),
            client_ip: "10.0.0.1".parse().unwrap(),
            listener: "ldaps".into(),
        }
    }

    #[test]
    fn remembers_the_password_until_expiry() {
        let c = BindCache::new(60).unwrap();
        assert!(!c.matches(&key(), "pw", 0));
        c.remember(key(), "pw", 1_000);
        assert!(c.matches(&key(), "pw", 30_000));
        assert!(!c.matches(&key(), "other", 30_000));
        let mut elsewhere = key();
        elsewhere.client_ip = "10.0.0.2".parse().unwrap();
        assert!(!c.matches(&elsewhere, "pw", 30_000));
        assert!(!c.matches(&key(), "pw", 61_000));
        // Expired entries are dropped on sight.
        assert!(!c.matches(&key(), "pw", 1_000));
    }

    #[test]
    fn forget_drops_the_entry() {
        let c = BindCache::new(60).unwrap();
        c.remember(key(), "pw", 0);
        c.forget(&key());
        assert!(!c.matches(&key(), "pw", 1));
    }
}
