//! The `[metrics] listen` HTTP listener: `GET /metrics`, `/healthz` and `/readyz`, nothing
//! else. A small HTTP/1.1 responder written here rather than a web framework or hyper's
//! server: three read-only paths need no routing, keep-alive, bodies or chunking, and every
//! limit is then in plain sight — one request per connection, its head at most
//! [`MAX_REQUEST`] octets and read within [`READ_TIMEOUT`], the answer written within
//! [`WRITE_TIMEOUT`], at most [`MAX_CONNECTIONS`] connections at once; any other method is
//! 405, any other path 404, anything unparsable 400, an oversized head 431, each followed by
//! closing the connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::Metrics;
use crate::health::Health;

/// A scraper's request head is a few hundred octets.
pub const MAX_REQUEST: usize = 8 * 1024;
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_CONNECTIONS: usize = 16;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const PLAIN: &str = "text/plain; charset=utf-8";

/// Serves until `cancel`.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    while let Some((stream, peer)) = crate::accept::next(&listener, &cancel, "metrics").await {
        // Over the limit the connection is closed at once: a scraper retries next interval.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "metrics: too many connections; closed one");
            continue;
        };
        let (metrics, health) = (metrics.clone(), health.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = connection(stream, &metrics, &health).await {
                tracing::debug!(%peer, error = %e, "metrics: connection ended");
            }
        });
    }
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    extra: &'static str,
    body: String,
}

impl Response {
    fn text(status: &'static str, body: impl Into<String>) -> Self {
        let mut body = body.into();
        body.push('\n');
        Self {
            status,
            content_type: PLAIN,
            extra: "",
            body,
        }
    }
}

async fn connection(
    mut stream: TcpStream,
    metrics: &Metrics,
    health: &Health,
) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(h))) => h,
        Ok(Ok(None)) => {
            let r = Response::text("431 Request Header Fields Too Large", "request too large");
            return write(&mut stream, &r).await;
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let response = respond(&head, metrics, health);
    write(&mut stream, &response).await
}

/// Reads up to the blank line that ends the request head; `None` when it does not come
/// within [`MAX_REQUEST`] octets. A body is never read: the connection is closed after the
/// answer.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf[from..], b"\r\n\r\n") {
            buf.truncate(from + end);
            return Ok(Some(buf));
        }
        if buf.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn respond(head: &[u8], metrics: &Metrics, health: &Health) -> Response {
    let bad = || Response::text("400 Bad Request", "bad request");
    let Ok(head) = std::str::from_utf8(head) else {
        return bad();
    };
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad();
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return bad();
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    if !matches!(path, "/metrics" | "/healthz" | "/readyz") {
        return Response::text("404 Not Found", "not found: /metrics, /healthz, /readyz");
    }
    if method != "GET" {
        let mut r = Response::text("405 Method Not Allowed", "only GET");
        r.extra = "Allow: GET\r\n";
        return r;
    }
    match path {
        "/healthz" => match health.alive() {
            Ok(()) => Response::text("200 OK", "alive"),
            Err(why) => Response::text("503 Service Unavailable", why),
        },
        "/readyz" => match health.ready() {
            Ok(()) => Response::text("200 OK", "ready"),
            Err(why) => Response::text("503 Service Unavailable", why.join("\n")),
        },
        _ => {
            // Prometheus asks for OpenMetrics in Accept; curl and older scrapers get the
            // classic text format.
            let openmetrics = lines.any(|l| {
                l.split_once(':').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("accept")
                        && v.contains("application/openmetrics-text")
                })
            });
            Response {
                status: "200 OK",
                content_type: if openmetrics {
                    OPENMETRICS
                } else {
                    PROMETHEUS_TEXT
                },
                extra: "",
                body: metrics.encode(openmetrics),
            }
        }
    }
}

async fn write(stream: &mut TcpStream, r: &Response) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{}Connection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len(),
        r.extra
    );
    let send = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(r.body.as_bytes()).await?;
        stream.shutdown().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, send).await {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(req: &str) -> &'static str {
        let clock = Arc::new(crate::clock::ManualClock::new(0));
        let m = Metrics::new(clock);
        let h = Health::new();
        respond(req.as_bytes(), &m, &h).status
    }

    #[test]
    fn only_get_of_three_paths() {
        assert_eq!(status("GET /metrics HTTP/1.1\r\nHost: x"), "200 OK");
        assert_eq!(status("GET /readyz?verbose HTTP/1.0"), "200 OK");
        assert_eq!(status("GET /other HTTP/1.1"), "404 Not Found");
        assert_eq!(status("POST /metrics HTTP/1.1"), "405 Method Not Allowed");
        assert_eq!(status("HEAD /healthz HTTP/1.1"), "405 Method Not Allowed");
        assert_eq!(status("GET /metrics"), "400 Bad Request");
        assert_eq!(status("GET /metrics HTTP/2.0"), "400 Bad Request");
        assert_eq!(status("GET  /metrics HTTP/1.1"), "400 Bad Request");
    }
}
