//! Fixtures the store's tests share.

use super::model::{AuthRecord, AuthResult};

/// A small seeded generator (xorshift64*), so a failing seed can be replayed exactly.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An authentication record of `user` decided on `node` at `time_ms`.
pub fn auth_record(node: &str, user: &str, time_ms: u64, result: AuthResult) -> AuthRecord {
    AuthRecord {
        time_ms,
        node: node.into(),
        user: user.into(),
        client_name: "vpn".into(),
        client_ip: "127.0.0.1".into(),
        method: "totp".into(),
        result,
        reason: String::new(),
        policy: None,
        node_ip: None,
        display_name: None,
        email: None,
        phone: None,
    }
}
