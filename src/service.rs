//! The service manager's side of `mfagate serve`: systemd's notification protocol
//! (`sd_notify(3)`: datagrams of `KEY=VALUE` lines to `$NOTIFY_SOCKET`), written here rather
//! than linked, since it is one datagram. `READY=1` once the store is open and every listener
//! is bound, `STOPPING=1` on shutdown, and — with `WatchdogSec=` — `WATCHDOG=1` at half the
//! interval, sent only while the store takes a write and every listener still runs: a node
//! that is alive but cannot decide logins is then restarted. Without `$NOTIFY_SOCKET` (not
//! under systemd, or on Windows) every call does nothing.

use std::time::Duration;

/// Where systemd listens, if it does.
pub struct Notifier {
    #[cfg(unix)]
    target: Option<std::os::unix::net::SocketAddr>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET` (a path, or `@name` for Linux's abstract namespace).
    pub fn from_env() -> Self {
        #[cfg(unix)]
        {
            let target = std::env::var_os("NOTIFY_SOCKET").and_then(|s| socket_addr(&s));
            Self { target }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    pub fn is_active(&self) -> bool {
        #[cfg(unix)]
        {
            self.target.is_some()
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    /// Sends one notification; a failure is logged, never fatal (systemd may be gone).
    pub fn notify(&self, state: &str) {
        #[cfg(unix)]
        if let Some(to) = &self.target {
            let sent = std::os::unix::net::UnixDatagram::unbound()
                .and_then(|s| s.send_to_addr(state.as_bytes(), to));
            if let Err(e) = sent {
                tracing::warn!(error = %e, "service: notification to the service manager failed");
            }
        }
        #[cfg(not(unix))]
        let _ = state;
    }

    /// The watchdog interval systemd expects pings within (`WatchdogSec=`), if it is for us.
    pub fn watchdog_interval() -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .is_none_or(|p| p.parse::<u32>().ok() == Some(std::process::id()));
        (usec > 0 && for_us).then(|| Duration::from_micros(usec))
    }
}

#[cfg(unix)]
fn socket_addr(s: &std::ffi::OsStr) -> Option<std::os::unix::net::SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = s.as_bytes();
    match bytes.first() {
        #[cfg(target_os = "linux")]
        Some(b'@') => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(&bytes[1..]).ok()
        }
        Some(b'/') => std::os::unix::net::SocketAddr::from_pathname(s).ok(),
        _ => None,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_a_path_socket_and_nothing_breaks_without_one() {
        let dir = std::env::temp_dir().join(format!("mfagate-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap_or_else(|e| panic!("{e}"));
        let n = Notifier {
            target: socket_addr(path.as_os_str()),
        };
        assert!(n.is_active());
        n.notify("READY=1");
        let mut buf = [0u8; 64];
        let got = rx.recv(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&buf[..got], b"READY=1");
        let none = Notifier { target: None };
        assert!(!none.is_active());
        none.notify("READY=1");
        assert!(socket_addr(std::ffi::OsStr::new("relative")).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Pings systemd's watchdog at half `interval` while `healthy` says so, until `cancel`. A
/// ping that is skipped is logged with the reason; systemd restarts the node once a whole
/// interval passes without one.
pub async fn watchdog(
    notifier: std::sync::Arc<Notifier>,
    interval: Duration,
    store: crate::store::Store,
    listeners_alive: impl Fn() -> bool,
    cancel: tokio_util::sync::CancellationToken,
) {
    let every = interval / 2;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        // The store is healthy when its writer commits an empty transaction in time.
        let store_ok = matches!(
            tokio::time::timeout(every, store.write(|_| Ok(()))).await,
            Ok(Ok(()))
        );
        match (store_ok, listeners_alive()) {
            (true, true) => notifier.notify("WATCHDOG=1"),
            (false, _) => {
                tracing::error!("service: the store takes no writes; watchdog not pinged (systemd will restart mfagate)")
            }
            (_, false) => {
                tracing::error!("service: a listener stopped; watchdog not pinged (systemd will restart mfagate)")
            }
        }
    }
}
