//! TOTP (RFC 6238, HMAC-SHA-1 as RFC 4226 §5.3 truncates it) and the rules that make a code
//! single-use and stop guessing: a time step is accepted at most once per user and never after
//! a newer one (RFC 6238 §5.2), and `max_failures` wrong codes in a row lock the factor.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::config::{FactorConfig, TotpConfig};
use crate::store::model::FactorFailures;

pub const SEED_LEN: usize = 20;

/// The RFC 4226 HOTP value of `seed` at `counter`, reduced to `digits` digits.
pub fn hotp(seed: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(seed).unwrap_or_else(|_| unreachable!());
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(digits)
}

pub fn step_at(now_ms: u64, cfg: &TotpConfig) -> u64 {
    now_ms / 1000 / cfg.period_secs
}

pub fn code_at(seed: &[u8], step: u64, cfg: &TotpConfig) -> String {
    format!(
        "{:0width$}",
        hotp(seed, step, cfg.digits),
        width = cfg.digits as usize
    )
}

/// The time step within ±`skew_steps` of now whose code equals `code`, if any. Every candidate
/// is computed and compared in constant time, so timing does not reveal which step matched.
pub fn matching_step(seed: &[u8], code: &str, now_ms: u64, cfg: &TotpConfig) -> Option<u64> {
    if code.len() != cfg.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_ms, cfg);
    let mut found = None;
    for step in now.saturating_sub(cfg.skew_steps)..=now + cfg.skew_steps {
        let candidate = code_at(seed, step, cfg);
        if bool::from(candidate.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    Accepted {
        step: u64,
    },
    Wrong,
    /// The code matched a step that was already used, or one older than the newest used.
    Replayed,
    Locked,
}

impl CodeOutcome {
    pub fn reason(&self) -> &'static str {
        match self {
            CodeOutcome::Accepted { .. } => "code accepted",
            CodeOutcome::Wrong => "wrong code",
            CodeOutcome::Replayed => "code already used (replay)",
            CodeOutcome::Locked => "second factor locked after repeated wrong codes",
        }
    }
}

/// Applies one code attempt to the stored state and returns the outcome, the new replay-guard
/// step (when it moves) and the new failure state.
pub fn apply_attempt(
    matched: Option<u64>,
    last_step: Option<u64>,
    failures: &FactorFailures,
    now_ms: u64,
    cfg: &FactorConfig,
) -> (CodeOutcome, Option<u64>, FactorFailures) {
    if is_locked(failures, now_ms, cfg) {
        return (CodeOutcome::Locked, None, failures.clone());
    }
    let outcome = match matched {
        Some(step) if last_step.is_none_or(|last| step > last) => {
            return (
                CodeOutcome::Accepted { step },
                Some(step),
                FactorFailures::cleared(now_ms),
            )
        }
        Some(_) => CodeOutcome::Replayed,
        None => CodeOutcome::Wrong,
    };
    (outcome, None, after_failure(failures, now_ms, cfg))
}

/// The failure state after one more wrong code (any second factor): `max_failures` in a row
/// lock it for `lockout_secs`; an expired lock starts a fresh count.
pub fn after_failure(failures: &FactorFailures, now_ms: u64, cfg: &FactorConfig) -> FactorFailures {
    let count = if locked_until(failures, cfg) != 0 {
        0
    } else {
        failures.count
    } + 1;
    let locked_until_ms = if count >= cfg.max_failures {
        now_ms + cfg.lockout_secs * 1000
    } else {
        0
    };
    FactorFailures {
        count,
        locked_until_ms,
        last_ms: now_ms,
        reset_ms: failures.reset_ms,
    }
}

/// Until when the factor is locked (0: not locked, or never was): a lock one node set, or —
/// when the wrong codes reached `max_failures` only in sum over the nodes (each side of a
/// partition counted fewer) — `lockout_secs` from the latest of them.
pub fn locked_until(failures: &FactorFailures, cfg: &FactorConfig) -> u64 {
    if failures.locked_until_ms != 0 {
        failures.locked_until_ms
    } else if failures.count >= cfg.max_failures {
        failures
            .last_ms
            .saturating_add(cfg.lockout_secs.saturating_mul(1000))
    } else {
        0
    }
}

pub fn is_locked(failures: &FactorFailures, now_ms: u64, cfg: &FactorConfig) -> bool {
    locked_until(failures, cfg) > now_ms
}

pub fn generate_seed() -> Result<[u8; SEED_LEN], getrandom::Error> {
    let mut s = [0u8; SEED_LEN];
    getrandom::getrandom(&mut s)?;
    Ok(s)
}

/// RFC 4648 base32 without padding, as authenticator apps expect in `secret=`.
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Key Uri Format understood by authenticator apps.
pub fn otpauth_uri(user: &str, seed: &[u8], cfg: &TotpConfig) -> String {
    format!(
        "otpauth://totp/{issuer}:{user}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={digits}&period={period}",
        issuer = uri_escape(&cfg.issuer),
        user = uri_escape(user),
        secret = base32(seed),
        digits = cfg.digits,
        period = cfg.period_secs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(digits: u32) -> TotpConfig {
        TotpConfig {
            issuer: "mfagate".into(),
            digits,
            period_secs: 30,
            skew_steps: 1,
        }
    }

    fn fcfg() -> FactorConfig {
        FactorConfig {
            providers: Vec::new(),
            sms_provider: None,
            push_provider: None,
            privacyidea_provider: None,
            sms: crate::config::SmsSettings {
                code_digits: 6,
                code_ttl_secs: 300,
                max_attempts: 3,
            },
            push: crate::config::PushSettings {
                timeout_secs: 60,
                max_per_window: 5,
                window_secs: 600,
            },
            default_method: crate::config::Method::Totp,
            challenge_ttl_secs: 300,
            challenge_max_attempts: 3,
            prompts: Default::default(),
            totp: cfg(6),
            max_failures: 5,
            lockout_secs: 60,
        }
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        let seed = b"12345678901234567890";
        for (t, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(seed, t / 30, &cfg(8)), code);
        }
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn window_and_format() {
        let seed = b"12345678901234567890";
        let now = 1_234_567_890_000;
        let c = cfg(6);
        let step = step_at(now, &c);
        assert_eq!(
            matching_step(seed, &code_at(seed, step - 1, &c), now, &c),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(seed, &code_at(seed, step + 1, &c), now, &c),
            Some(step + 1)
        );
        assert_eq!(
            matching_step(seed, &code_at(seed, step - 2, &c), now, &c),
            None
        );
        assert_eq!(matching_step(seed, "12345", now, &c), None);
        assert_eq!(matching_step(seed, "12345a", now, &c), None);
    }

    #[test]
    fn replay_and_lockout_rules() {
        let f = fcfg();
        let ok = FactorFailures::default();
        let (o, s, _) = apply_attempt(Some(10), None, &ok, 0, &f);
        assert_eq!((o, s), (CodeOutcome::Accepted { step: 10 }, Some(10)));
        assert_eq!(
            apply_attempt(Some(10), Some(10), &ok, 0, &f).0,
            CodeOutcome::Replayed
        );
        assert_eq!(
            apply_attempt(Some(9), Some(10), &ok, 0, &f).0,
            CodeOutcome::Replayed
        );
        let mut st = ok.clone();
        for i in 1..=5 {
            let (o, _, n) = apply_attempt(None, Some(10), &st, 1000, &f);
            assert_eq!(o, CodeOutcome::Wrong);
            assert_eq!(n.count, i);
            st = n;
        }
        assert_eq!(st.locked_until_ms, 61_000);
        // Even the right code is refused while locked, and the lock expires by itself.
        assert_eq!(
            apply_attempt(Some(11), Some(10), &st, 60_999, &f).0,
            CodeOutcome::Locked
        );
        let (o, _, n) = apply_attempt(Some(11), Some(10), &st, 61_000, &f);
        assert_eq!(o, CodeOutcome::Accepted { step: 11 });
        assert!(n.is_clear() && n.reset_ms == 61_000, "{n:?}");
        let (_, _, n) = apply_attempt(None, Some(10), &st, 61_000, &f);
        assert_eq!(n.count, 1, "an expired lock restarts the count");
    }

    #[test]
    fn uri_is_escaped() {
        let u = otpauth_uri("jörg smith", b"12345678901234567890", &cfg(6));
        assert!(u.starts_with("otpauth://totp/mfagate:j%C3%B6rg%20smith?secret=GEZDG"));
        assert!(u.ends_with("&digits=6&period=30"));
    }
}
