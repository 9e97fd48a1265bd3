//! Duplicate detection (RFC 5080 §2.2.2). A request is identified by its source address and
//! port, Identifier and Request Authenticator. A retransmit of a request still being decided
//! is dropped (so one login never causes two primary checks or two pushes); a retransmit of an
//! answered one gets the cached reply, byte for byte, for `ttl`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

pub type Key = (SocketAddr, u8);

#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// A new request: the caller must later call `complete` or `abandon`.
    New,
    /// Same request, still in progress: drop it.
    InProgress,
    /// Same request, already answered: send these bytes again.
    Answered(Arc<[u8]>),
}

enum Slot {
    InProgress,
    Done(Arc<[u8]>),
}

struct Entry {
    authenticator: [u8; 16],
    slot: Slot,
    expires_ms: u64,
}

pub struct ReplyCache {
    map: HashMap<Key, Entry>,
    /// Answered entries in expiry order; stale records (entry replaced since) are skipped.
    order: VecDeque<(u64, Key, [u8; 16])>,
    ttl_ms: u64,
    max_entries: usize,
}

impl ReplyCache {
    pub fn new(ttl_ms: u64, max_entries: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            ttl_ms,
            max_entries,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn begin(&mut self, key: Key, authenticator: [u8; 16], now_ms: u64) -> Begin {
        self.expire(now_ms);
        if let Some(e) = self.map.get(&key) {
            if e.authenticator == authenticator {
                return match &e.slot {
                    Slot::InProgress => Begin::InProgress,
                    Slot::Done(b) => Begin::Answered(b.clone()),
                };
            }
            if matches!(e.slot, Slot::InProgress) {
                // The client reused the Identifier with a new request while the old one is
                // still being decided; the old answer will not be cached.
                tracing::debug!(client = %key.0, id = key.1, "identifier reused while in progress");
            }
        }
        self.map.insert(
            key,
            Entry {
                authenticator,
                slot: Slot::InProgress,
                expires_ms: u64::MAX,
            },
        );
        Begin::New
    }

    pub fn complete(&mut self, key: Key, authenticator: [u8; 16], reply: Arc<[u8]>, now_ms: u64) {
        if let Some(e) = self.map.get_mut(&key) {
            if e.authenticator == authenticator {
                e.slot = Slot::Done(reply);
                e.expires_ms = now_ms + self.ttl_ms;
                self.order.push_back((e.expires_ms, key, authenticator));
            }
        }
        self.expire(now_ms);
    }

    /// Forgets a request that got no answer, so that its retransmit is tried again.
    pub fn abandon(&mut self, key: Key, authenticator: [u8; 16]) {
        if self
            .map
            .get(&key)
            .is_some_and(|e| e.authenticator == authenticator && matches!(e.slot, Slot::InProgress))
        {
            self.map.remove(&key);
        }
    }

    fn expire(&mut self, now_ms: u64) {
        while let Some(&(exp, key, auth)) = self.order.front() {
            // Under memory pressure the oldest answers go before their time.
            if exp > now_ms && self.map.len() < self.max_entries {
                break;
            }
            self.order.pop_front();
            if self.map.get(&key).is_some_and(|e| {
                e.authenticator == auth && e.expires_ms == exp && matches!(e.slot, Slot::Done(_))
            }) {
                self.map.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16, id: u8) -> Key {
        (SocketAddr::from(([127, 0, 0, 1], port)), id)
    }

    #[test]
    fn retransmits_and_expiry() {
        let mut c = ReplyCache::new(30_000, 1000);
        assert_eq!(c.begin(key(1, 1), [1; 16], 0), Begin::New);
        assert_eq!(c.begin(key(1, 1), [1; 16], 10), Begin::InProgress);
        c.complete(key(1, 1), [1; 16], Arc::from(&b"reply"[..]), 20);
        assert_eq!(
            c.begin(key(1, 1), [1; 16], 29_000),
            Begin::Answered(Arc::from(&b"reply"[..]))
        );
        // Same id and port, new authenticator: a new request.
        assert_eq!(c.begin(key(1, 1), [2; 16], 29_001), Begin::New);
        assert_eq!(
            c.begin(key(2, 1), [1; 16], 29_001),
            Begin::New,
            "other port, other request"
        );
        c.abandon(key(2, 1), [1; 16]);
        assert_eq!(
            c.begin(key(2, 1), [1; 16], 29_002),
            Begin::New,
            "abandoned is retried"
        );
        c.complete(key(2, 1), [1; 16], Arc::from(&b"r2"[..]), 29_002);
        assert_eq!(c.begin(key(2, 1), [1; 16], 59_003), Begin::New, "expired");
    }

    #[test]
    fn bounded() {
        let mut c = ReplyCache::new(30_000, 1000);
        for i in 0..5000u32 {
            let k = key((i / 256) as u16, i as u8);
            assert_eq!(c.begin(k, [0; 16], 0), Begin::New);
            c.complete(k, [0; 16], Arc::from(&b"x"[..]), 0);
        }
        assert!(c.len() <= 1000);
    }
}
