//! RADIUS on the wire, shared by the front-end (we are the server) and the upstream client
//! (we are a NAS to NPS or FreeRADIUS): the packet codec with Message-Authenticator, vendor
//! attributes, and the RFC 2865 / RFC 2548 hiding of passwords and keys.

pub mod codec;
pub mod dictionary;
pub mod salt;
