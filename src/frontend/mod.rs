//! Front-ends: they translate a wire protocol into [`crate::auth::AuthRequest`] and a
//! [`crate::auth::Decision`] back into the wire protocol, and decide nothing themselves.

pub mod ldap;
pub mod portal;
pub mod radius;
