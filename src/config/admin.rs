//! `[admin]`: how the CLI reaches the running daemon (see `crate::admin::transport`).

use serde::Deserialize;

use super::{invalid, ConfigError};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AdminRaw {
    transport: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminTransport {
    /// The owner-only Unix socket `<data_dir>/admin.sock`.
    Socket,
    /// A loopback port and a token file in the data directory.
    Tcp,
}

#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub transport: AdminTransport,
}

impl AdminRaw {
    pub(super) fn validate(self) -> Result<AdminConfig, ConfigError> {
        let transport = match self.transport.as_deref() {
            // Unix sockets where the platform has them (std and Tokio have none on Windows).
            None if cfg!(unix) => AdminTransport::Socket,
            None => AdminTransport::Tcp,
            Some("socket") if cfg!(unix) => AdminTransport::Socket,
            Some("socket") => {
                return Err(invalid(
                    "admin.transport",
                    "this platform has no Unix sockets: use \"tcp\"",
                ))
            }
            Some("tcp") => AdminTransport::Tcp,
            Some(o) => {
                return Err(invalid(
                    "admin.transport",
                    format!("\"{o}\" is not \"socket\" or \"tcp\""),
                ))
            }
        };
        Ok(AdminConfig { transport })
    }
}
