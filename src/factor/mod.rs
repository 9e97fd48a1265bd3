//! Second factors ("is it really them?"). TOTP is verified locally; SMS codes are made here
//! and delivered by an HTTP gateway. The state both need (replay guard, failure counter,
//! lockout, the code's hash) lives in the store and is changed by the pipeline in the same
//! transaction as the audit record, so these modules hold the rules and the delivery.
//!
//! A `SecondFactor` trait over the cloud providers (privacyIDEA, Duo: push and phone) will be
//! extracted when they arrive; with one delivery kind it would only be indirection.

pub mod duo;
pub mod privacyidea;
pub mod sms;
pub mod totp;
