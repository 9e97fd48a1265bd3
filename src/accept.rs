//! Accepting TCP connections for the listeners that serve them (LDAP, the portal, metrics):
//! the next connection, or none once the server is cancelled, without spinning when accept
//! fails (out of file descriptors and the like).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The next connection on `listener`; None once `cancel` fires. `what` names the listener
/// in the log line of a failed accept.
pub async fn next(
    listener: &TcpListener,
    cancel: &CancellationToken,
    what: &str,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return None,
            r = listener.accept() => match r {
                Ok(x) => return Some(x),
                Err(e) => {
                    tracing::warn!(error = %e, "{what}: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}
