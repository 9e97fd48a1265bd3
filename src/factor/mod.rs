//! Second factors ("is it really them?"). TOTP is verified locally; the state it needs (replay
//! guard, failure counter, lockout) lives in the store and is changed by the pipeline in the
//! same transaction as the audit record, so this module holds the pure rules.
//!
//! A `SecondFactor` trait will be extracted when the second method (SMS, push) arrives; with a
//! single method it would only be indirection.

pub mod totp;
