//! The self-service enrolment portal (`[portal]`): HTTPS with its own certificate, HTTP/1.1
//! through hyper, server-rendered pages that work without JavaScript. It owns the portal's
//! sessions (in the store, so any cluster node serves them), its form tokens and its pages;
//! sign-in and enrolment are decided by the pipeline (`crate::auth::portal`).
//!
//! Limits in plain sight: at most `max_connections` connections, a TLS handshake and a
//! request head within [`HANDSHAKE_TIMEOUT`], forms up to [`http::MAX_FORM`] octets, and
//! [`SIGN_IN_PER_MINUTE`] sign-in steps a minute from one address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::auth::Pipeline;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::live::Live;
use crate::store::Store;

pub mod http;
pub mod i18n;
mod pages;
mod routes;

pub use routes::normalise_phone;

pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection left open longer than this is closed (keep-alive included).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
pub const SIGN_IN_PER_MINUTE: u32 = 20;

pub struct Portal {
    cfg: Arc<Live<Config>>,
    pipeline: Arc<Live<Pipeline>>,
    store: Store,
    clock: SharedClock,
    /// Sign-in steps by source address: (window start ms, count).
    attempts: Mutex<HashMap<IpAddr, (u64, u32)>>,
}

impl Portal {
    pub fn new(
        cfg: Arc<Live<Config>>,
        pipeline: Arc<Live<Pipeline>>,
        store: Store,
        clock: SharedClock,
    ) -> Self {
        Portal {
            cfg,
            pipeline,
            store,
            clock,
            attempts: Mutex::new(HashMap::new()),
        }
    }
}

/// The TLS acceptor for `[portal]`, or None for `tls = "none"`.
pub fn acceptor(cfg: &crate::config::PortalConfig) -> Result<Option<TlsAcceptor>, String> {
    match &cfg.tls {
        crate::config::PortalTls::Files {
            cert_file,
            key_file,
        } => crate::frontend::ldap::tls_acceptor(cert_file, key_file).map(Some),
        crate::config::PortalTls::None => Ok(None),
    }
}

/// The otpauth URI as an inline SVG QR code (no XML prolog, so it sits in HTML).
pub fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(220, 220)
                .build();
            match svg.find("<svg") {
                Some(i) => svg[i..].to_owned(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

/// Serves until `cancel`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    portal: Arc<Portal>,
    max_connections: usize,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    while let Some((stream, peer)) = crate::accept::next(&listener, &cancel, "portal").await {
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "portal: too many connections; closed one");
            continue;
        };
        let (tls, portal, cancel) = (tls.clone(), portal.clone(), cancel.clone());
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(CONNECTION_LIFETIME) => {}
                _ = connection(stream, peer.ip(), tls, portal) => {}
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: IpAddr,
    tls: Option<TlsAcceptor>,
    portal: Arc<Portal>,
) {
    let service = hyper::service::service_fn(move |req| {
        let portal = portal.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&portal, req, peer).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .max_buf_size(64 * 1024);
    let result = match tls {
        Some(acceptor) => {
            let Ok(Ok(s)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            builder.serve_connection(TokioIo::new(s), service).await
        }
        None => {
            builder
                .serve_connection(TokioIo::new(stream), service)
                .await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "portal: connection ended");
    }
}

type Response = hyper::Response<http_body_util::Full<bytes::Bytes>>;

async fn handle(portal: &Portal, req: hyper::Request<Incoming>, peer: IpAddr) -> Response {
    let (parts, body) = req.into_parts();
    let verb = match parts.method {
        hyper::Method::GET | hyper::Method::HEAD => http::Verb::Get,
        hyper::Method::POST => http::Verb::Post,
        _ => http::Verb::Other,
    };
    let query = parts
        .uri
        .query()
        .filter(|q| q.len() <= http::MAX_FORM)
        .map(|q| http::decode_pairs(q.as_bytes()))
        .unwrap_or_default();
    let cookies = http::parse_cookies(
        parts
            .headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let accept_language = parts
        .headers
        .get(hyper::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 512)
        .map(str::to_owned);
    let mut form = HashMap::new();
    if verb == http::Verb::Post {
        let declared = parts
            .headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > http::MAX_FORM) {
            return too_large();
        }
        let is_form = parts
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        match http_body_util::Limited::new(body, http::MAX_FORM)
            .collect()
            .await
        {
            Ok(b) if is_form => form = http::decode_pairs(&b.to_bytes()),
            Ok(_) => {}
            Err(_) => return too_large(),
        }
    }
    // Behind the reverse proxy `tls = "none"` is for, every request comes from loopback:
    // the client is the address the proxy appended, or the rate limit would be shared by all.
    let behind_proxy = peer.is_loopback()
        && portal
            .cfg
            .get()
            .portal
            .as_ref()
            .is_some_and(|p| p.tls == crate::config::PortalTls::None);
    let peer = match behind_proxy {
        true => http::forwarded_for(
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
        .unwrap_or(peer),
        false => peer,
    };
    let req = http::Req {
        verb,
        path: parts.uri.path().to_owned(),
        query,
        cookies,
        form,
        accept_language,
        peer,
    };
    http::response(portal.route(req).await)
}

fn too_large() -> Response {
    http::response(http::Reply::html(
        413,
        "<!DOCTYPE html><title>413</title><p>Too large.</p>".into(),
    ))
}
