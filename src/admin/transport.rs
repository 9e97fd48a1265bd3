//! How the CLI reaches the running daemon.
//!
//! - `socket` (the default on Unix): the owner-only Unix socket `<data_dir>/admin.sock`; who
//!   may open it may administer.
//! - `tcp` (the default elsewhere, i.e. Windows, where std and Tokio have no Unix sockets):
//!   a loopback port chosen at start, written to `<data_dir>/admin.addr`, and a random token
//!   in the owner-only `<data_dir>/admin.token` (on Windows the data directory's ACL, which
//!   `windows/install.ps1` sets) that a client sends as its first line. Who may read the data
//!   directory may administer, as with the socket. On Unix it is chosen with
//!   `[admin] transport = "tcp"`, which is how it is tested here.
//!
//! The platform code is limited to choosing the default and binding the Unix socket, both
//! behind `cfg(unix)`; everything else compiles (and is tested) everywhere.

use std::io;
use std::path::PathBuf;

use subtle::ConstantTimeEq;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::config::{AdminTransport, Config};

/// A connection to or from the daemon.
pub trait AdminStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AdminStream for T {}

pub enum AdminListener {
    #[cfg(unix)]
    Socket(tokio::net::UnixListener),
    Tcp {
        listener: TcpListener,
        token: String,
    },
}

/// Where the `tcp` transport keeps its address and token.
fn tcp_files(cfg: &Config) -> (PathBuf, PathBuf) {
    (
        cfg.data_dir.join("admin.addr"),
        cfg.data_dir.join("admin.token"),
    )
}

fn in_use(what: &std::path::Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("{} is served by a running mfagate", what.display()),
    )
}

/// Binds the configured transport, replacing what a crashed daemon left behind.
pub fn bind(cfg: &Config) -> io::Result<AdminListener> {
    match cfg.admin.transport {
        AdminTransport::Socket => bind_socket(cfg),
        AdminTransport::Tcp => {
            let (addr_file, token_file) = tcp_files(cfg);
            if std::fs::read_to_string(&addr_file).is_ok() && connect_tcp_blocking(cfg).is_ok() {
                return Err(in_use(&addr_file));
            }
            let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            std_listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(std_listener)?;
            let mut raw = [0u8; 24];
            getrandom::getrandom(&mut raw).map_err(io::Error::other)?;
            let token = crate::store::model::hex(&raw);
            write_private(&token_file, token.as_bytes())?;
            write_private(&addr_file, listener.local_addr()?.to_string().as_bytes())?;
            Ok(AdminListener::Tcp { listener, token })
        }
    }
}

#[cfg(unix)]
fn bind_socket(cfg: &Config) -> io::Result<AdminListener> {
    let path = cfg.admin_socket_path();
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(in_use(&path));
        }
        std::fs::remove_file(&path)?;
    }
    let l = tokio::net::UnixListener::bind(&path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(AdminListener::Socket(l))
}

#[cfg(not(unix))]
fn bind_socket(_: &Config) -> io::Result<AdminListener> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no Unix sockets on this platform: use [admin] transport = \"tcp\"",
    ))
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut f = crate::config::private_file_options()
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)
}

impl AdminListener {
    /// The next client, once it has shown the token (`tcp`); a client with a wrong token is
    /// dropped without an answer and `Ok(None)` returned.
    pub async fn accept(&self) -> io::Result<Option<Box<dyn AdminStream>>> {
        match self {
            #[cfg(unix)]
            AdminListener::Socket(l) => Ok(Some(Box::new(l.accept().await?.0))),
            AdminListener::Tcp { listener, token } => {
                let (stream, _) = listener.accept().await?;
                let mut stream = BufReader::new(stream);
                let mut shown = String::new();
                let read = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    (&mut stream).take(128).read_line(&mut shown),
                )
                .await;
                let ok = matches!(read, Ok(Ok(_)))
                    && bool::from(shown.trim_end().as_bytes().ct_eq(token.as_bytes()));
                if !ok {
                    tracing::warn!("admin: a connection without the right token was dropped");
                    return Ok(None);
                }
                Ok(Some(Box::new(stream)))
            }
        }
    }

    /// Removes the files that point clients here (at shutdown).
    pub fn cleanup(cfg: &Config) {
        let (addr_file, token_file) = tcp_files(cfg);
        for f in [cfg.admin_socket_path(), addr_file, token_file] {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// A connection to the running daemon; `Ok(None)` when none runs.
pub async fn connect(cfg: &Config) -> io::Result<Option<Box<dyn AdminStream>>> {
    let absent = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
        )
    };
    match cfg.admin.transport {
        AdminTransport::Socket => match connect_socket(cfg).await {
            Ok(s) => Ok(Some(s)),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(e),
        },
        AdminTransport::Tcp => {
            let (addr_file, token_file) = tcp_files(cfg);
            let addr = match std::fs::read_to_string(&addr_file) {
                Ok(a) => a,
                Err(e) if absent(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            let token = std::fs::read_to_string(&token_file)?;
            let addr: std::net::SocketAddr = addr.trim().parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "admin.addr is not IP:PORT")
            })?;
            if !addr.ip().is_loopback() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "admin.addr is not a loopback address",
                ));
            }
            let mut s = match TcpStream::connect(addr).await {
                Ok(s) => s,
                Err(e) if absent(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            s.write_all(format!("{}\n", token.trim()).as_bytes())
                .await?;
            Ok(Some(Box::new(s)))
        }
    }
}

#[cfg(unix)]
async fn connect_socket(cfg: &Config) -> io::Result<Box<dyn AdminStream>> {
    Ok(Box::new(
        tokio::net::UnixStream::connect(cfg.admin_socket_path()).await?,
    ))
}

#[cfg(not(unix))]
async fn connect_socket(_: &Config) -> io::Result<Box<dyn AdminStream>> {
    Err(io::Error::new(io::ErrorKind::NotFound, "no Unix sockets"))
}

fn connect_tcp_blocking(cfg: &Config) -> io::Result<()> {
    let (addr_file, _) = tcp_files(cfg);
    let addr: std::net::SocketAddr = std::fs::read_to_string(addr_file)?
        .trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "admin.addr"))?;
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).map(drop)
}

/// Whether a daemon answers on the configured transport (for `doctor`).
pub fn daemon_answers(cfg: &Config) -> bool {
    match cfg.admin.transport {
        AdminTransport::Tcp => connect_tcp_blocking(cfg).is_ok(),
        AdminTransport::Socket => socket_answers(cfg),
    }
}

#[cfg(unix)]
fn socket_answers(cfg: &Config) -> bool {
    std::os::unix::net::UnixStream::connect(cfg.admin_socket_path()).is_ok()
}

#[cfg(not(unix))]
fn socket_answers(_: &Config) -> bool {
    false
}

/// Where a client reaches the daemon, for messages.
pub fn describe(cfg: &Config) -> String {
    match cfg.admin.transport {
        AdminTransport::Socket => format!("admin socket {}", cfg.admin_socket_path().display()),
        AdminTransport::Tcp => format!("admin port in {}", tcp_files(cfg).0.display()),
    }
}
