//! mfagate: an on-premises multi-factor authentication gateway.
//!
//! Data flows one way: a front-end ([`frontend`]) parses the wire protocol and builds an
//! [`auth::AuthRequest`]; the [`auth::Pipeline`] decides (primary, then second factor, with the
//! policy and the audit record); back-ends ([`primary`], [`factor`], [`store`]) only talk to
//! what they wrap. The binary (`main.rs`) only parses the command line and calls [`cli`].

pub mod accept;
pub mod admin;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod directory_sync;
pub mod doctor;
pub mod email;
pub mod factor;
pub mod frontend;
pub mod health;
pub mod invite;
pub mod live;
pub mod metrics;
pub mod primary;
pub mod radius;
pub mod reload;
pub mod server;
pub mod service;
pub mod store;
pub mod text;
pub mod timefmt;
