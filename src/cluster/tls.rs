//! Mutual TLS for every cluster connection: both ends present a node certificate and accept
//! only the cluster CA (never the system roots), TLS 1.3 only, rustls on ring; plus reading
//! the node names certificates carry, which is how a connection is matched to a member.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a PEM file: {source}", path.display())]
    BadPem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: no certificate in the file", .0.display())]
    NoCertificate(PathBuf),
    #[error("{}: no private key in the file", .0.display())]
    NoKey(PathBuf),
    #[error("{}: not a usable certificate: {source}", path.display())]
    BadCertificate {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("{}: not a usable private key: {source}", path.display())]
    BadKey {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("{} is not the private key of the certificate in {}", key.display(), cert.display())]
    KeyMismatch { key: PathBuf, cert: PathBuf },
    #[error(
        "{} does not verify against the cluster CA in {} ({source}); \
         was it issued with that CA, and is it still valid?",
        cert.display(),
        ca.display()
    )]
    NotFromCa {
        cert: PathBuf,
        ca: PathBuf,
        source: webpki::Error,
    },
    #[error("{}: the certificate names no DNS name", .0.display())]
    NoDnsName(PathBuf),
    #[error("{}: cannot parse the certificate: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: webpki::Error,
    },
    #[error("`{0}` is neither an IP address nor a DNS name")]
    BadName(String),
    #[error("building the cluster TLS configuration: {0}")]
    Config(String),
}

/// The TLS settings of one node, for both directions of a cluster connection, and the local
/// address it dials peers from.
#[derive(Clone)]
pub struct ClusterTls {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    /// `cluster.listen`'s IP when it is a specific one: outgoing connections come from the
    /// address peers (and firewalls between them) know this node by.
    source: Option<IpAddr>,
}

// By hand: the configurations hold this node's private key.
impl fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterTls")
            .field("versions", &"TLS 1.3")
            .field("client_auth", &"required, cluster CA")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ClusterTls {
    /// Loads the cluster CA certificate and this node's certificate and key (PEM files).
    pub fn load(ca_file: &Path, cert_file: &Path, key_file: &Path) -> Result<Self, TlsError> {
        let ca_certs = read_certs(ca_file)?;
        let chain = read_certs(cert_file)?;
        let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey(key_file.to_owned()),
            e => pem_err(key_file, e),
        })?;
        // Caught here, the wrong CA or an expired certificate is one clear startup error
        // instead of every handshake failing with the peer's alert.
        check_issued_by(&chain, &ca_certs, ca_file, cert_file)?;
        let mut roots = RootCertStore::empty();
        for cert in ca_certs {
            roots.add(cert).map_err(|source| TlsError::BadCertificate {
                path: ca_file.to_owned(),
                source,
            })?;
        }
        let roots = Arc::new(roots);

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert_err = |e: rustls::Error| match e {
            rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                key: key_file.to_owned(),
                cert: cert_file.to_owned(),
            },
            rustls::Error::InvalidCertificate(_) => TlsError::BadCertificate {
                path: cert_file.to_owned(),
                source: e,
            },
            e => TlsError::BadKey {
                path: key_file.to_owned(),
                source: e,
            },
        };
        let config_err = |e: rustls::Error| TlsError::Config(e.to_string());

        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| TlsError::Config(format!("{}: {e}", ca_file.display())))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(config_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(cert_err)?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(config_err)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(cert_err)?;
        Ok(Self {
            server: Arc::new(server),
            client: Arc::new(client),
            source: None,
        })
    }

    /// The same, dialling from the IP `listen` names (none for 0.0.0.0 / `::`: the routing
    /// table chooses, as for any client).
    pub fn dialling_from(self, listen: std::net::SocketAddr) -> Self {
        Self {
            source: (!listen.ip().is_unspecified()).then(|| listen.ip()),
            ..self
        }
    }

    /// The local IP outgoing cluster connections are bound to, if any.
    pub fn source(&self) -> Option<IpAddr> {
        self.source
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server.clone())
    }

    pub fn connector(&self) -> TlsConnector {
        TlsConnector::from(self.client.clone())
    }
}

/// The name a client expects the server's certificate to carry: an IP address SAN for an
/// address, otherwise a DNS name (a member's node name, or the host of `cluster join ADDRESS`).
pub fn server_name(host_or_name: &str) -> Result<ServerName<'static>, TlsError> {
    let bad = || TlsError::BadName(host_or_name.to_owned());
    // `[::1]` is how the host of an IPv6 `HOST:PORT` is written.
    let bare = host_or_name
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host_or_name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    if bare.len() != host_or_name.len() {
        return Err(bad());
    }
    ServerName::try_from(host_or_name.to_owned()).map_err(|_| bad())
}

/// The DNS names of the peer's certificate, which the handshake has already verified against
/// the cluster CA; empty before the handshake or without a peer certificate.
pub fn peer_dns_names(conn: &rustls::CommonState) -> Vec<String> {
    let Some(cert) = conn.peer_certificates().and_then(|chain| chain.first()) else {
        return Vec::new();
    };
    match webpki::EndEntityCert::try_from(cert) {
        Ok(cert) => cert.valid_dns_names().map(str::to_owned).collect(),
        Err(_) => Vec::new(),
    }
}

/// The node name in this node's own certificate: its first DNS name, which is where
/// `certs::issue_node_cert` puts it.
pub fn own_node_name(cert_file: &Path) -> Result<String, TlsError> {
    let chain = read_certs(cert_file)?;
    let Some(der) = chain.first() else {
        return Err(TlsError::NoCertificate(cert_file.to_owned()));
    };
    let cert = webpki::EndEntityCert::try_from(der).map_err(|source| TlsError::Parse {
        path: cert_file.to_owned(),
        source,
    })?;
    let name = cert.valid_dns_names().next().map(str::to_owned);
    name.ok_or_else(|| TlsError::NoDnsName(cert_file.to_owned()))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_err(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

fn check_issued_by(
    chain: &[CertificateDer<'static>],
    ca_certs: &[CertificateDer<'static>],
    ca_file: &Path,
    cert_file: &Path,
) -> Result<(), TlsError> {
    let Some((end_entity, intermediates)) = chain.split_first() else {
        return Err(TlsError::NoCertificate(cert_file.to_owned()));
    };
    let parse = |path: &Path, source| TlsError::Parse {
        path: path.to_owned(),
        source,
    };
    let anchors = ca_certs
        .iter()
        .map(|c| webpki::anchor_from_trusted_cert(c).map_err(|e| parse(ca_file, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|e| parse(cert_file, e))?;
    // Both ways: a node is the server of some cluster connections and the client of others.
    for usage in [
        webpki::KeyUsage::server_auth(),
        webpki::KeyUsage::client_auth(),
    ] {
        cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            UnixTime::now(),
            usage,
            None,
            None,
        )
        .map_err(|source| TlsError::NotFromCa {
            cert: cert_file.to_owned(),
            ca: ca_file.to_owned(),
            source,
        })?;
    }
    Ok(())
}

fn pem_err(path: &Path, e: rustls::pki_types::pem::Error) -> TlsError {
    match e {
        rustls::pki_types::pem::Error::Io(source) => TlsError::Unreadable {
            path: path.to_owned(),
            source,
        },
        source => TlsError::BadPem {
            path: path.to_owned(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::certs::{self, tests::TempDir};
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    /// Two CAs; node-a and node-b from the first, node-x from the second.
    struct Fixture {
        _tmp: TempDir,
        ca1: PathBuf,
        ca2: PathBuf,
        a: certs::NodeFiles,
        b: certs::NodeFiles,
        x: certs::NodeFiles,
    }

    impl Fixture {
        fn new() -> Self {
            let tmp = TempDir::new("cluster-tls");
            let ca1 = tmp.path().join("ca1");
            let ca2 = tmp.path().join("ca2");
            certs::init_ca(&ca1).unwrap();
            certs::init_ca(&ca2).unwrap();
            let a = certs::issue_node_cert("node-a", "127.0.0.1:4443", &ca1, &tmp.path().join("a"))
                .unwrap();
            let b = certs::issue_node_cert("node-b", "127.0.0.1:4444", &ca1, &tmp.path().join("b"))
                .unwrap();
            let x = certs::issue_node_cert("node-x", "127.0.0.1:4445", &ca2, &tmp.path().join("x"))
                .unwrap();
            Fixture {
                _tmp: tmp,
                ca1,
                ca2,
                a,
                b,
                x,
            }
        }
    }

    fn load(files: &certs::NodeFiles) -> ClusterTls {
        ClusterTls::load(&files.ca, &files.cert, &files.key).unwrap()
    }

    fn ring() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn roots(ca_file: &Path) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        for cert in read_certs(ca_file).unwrap() {
            roots.add(cert).unwrap();
        }
        Arc::new(roots)
    }

    fn client_builder(
        ca_file: &Path,
    ) -> rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert> {
        ClientConfig::builder_with_provider(ring())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots(ca_file))
    }

    /// Accepts one connection, echoes five bytes, and yields the client's DNS names.
    async fn serve_once(
        acceptor: TlsAcceptor,
    ) -> (SocketAddr, JoinHandle<std::io::Result<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let mut tls = acceptor.accept(tcp).await?;
            let names = peer_dns_names(tls.get_ref().1);
            let mut buf = [0u8; 5];
            tls.read_exact(&mut buf).await?;
            tls.write_all(&buf).await?;
            tls.flush().await?;
            tls.shutdown().await?;
            Ok(names)
        });
        (addr, task)
    }

    /// Connects, sends five bytes and reads them back; yields the server's DNS names.
    async fn exchange(
        connector: TlsConnector,
        addr: SocketAddr,
        name: ServerName<'static>,
    ) -> std::io::Result<Vec<String>> {
        let tcp = TcpStream::connect(addr).await?;
        let mut tls = connector.connect(name, tcp).await?;
        let names = peer_dns_names(tls.get_ref().1);
        tls.write_all(b"hello").await?;
        tls.flush().await?;
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"hello");
        Ok(names)
    }

    fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
        e.get_ref().and_then(|inner| inner.downcast_ref())
    }

    /// Every cluster CA has the same subject, so webpki finds "the" issuer of a foreign
    /// certificate and fails on its signature rather than calling the issuer unknown.
    fn from_another_ca(e: &std::io::Error) -> bool {
        matches!(
            rustls_error(e),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadSignature | rustls::CertificateError::UnknownIssuer
            ))
        )
    }

    #[tokio::test]
    async fn two_nodes_of_one_ca_talk_both_ways() {
        let f = Fixture::new();
        let (a, b) = (load(&f.a), load(&f.b));
        for expected in ["node-b", "127.0.0.1"] {
            let (addr, server) = serve_once(b.acceptor()).await;
            let seen = exchange(a.connector(), addr, server_name(expected).unwrap())
                .await
                .unwrap();
            assert_eq!(seen, ["node-b"]);
            assert_eq!(server.await.unwrap().unwrap(), ["node-a"]);
        }
        let (addr, server) = serve_once(a.acceptor()).await;
        let seen = exchange(b.connector(), addr, server_name("node-a").unwrap())
            .await
            .unwrap();
        assert_eq!(seen, ["node-a"]);
        assert_eq!(server.await.unwrap().unwrap(), ["node-b"]);
    }

    #[tokio::test]
    async fn a_client_of_another_ca_is_refused() {
        let f = Fixture::new();
        let b = load(&f.b);
        // Trusts node-b's CA, so only the server's check of the client certificate can fail.
        let key = PrivateKeyDer::from_pem_file(&f.x.key).unwrap();
        let rogue = client_builder(&f.ca1.join("ca.pem"))
            .with_client_auth_cert(read_certs(&f.x.cert).unwrap(), key)
            .unwrap();
        let (addr, server) = serve_once(b.acceptor()).await;
        let client = exchange(
            TlsConnector::from(Arc::new(rogue)),
            addr,
            server_name("node-b").unwrap(),
        )
        .await;
        let err = server.await.unwrap().unwrap_err();
        assert!(from_another_ca(&err), "{err}");
        assert!(client.is_err(), "{client:?}");
    }

    #[tokio::test]
    async fn a_client_without_a_certificate_is_refused() {
        let f = Fixture::new();
        let b = load(&f.b);
        let anonymous = client_builder(&f.b.ca).with_no_client_auth();
        let (addr, server) = serve_once(b.acceptor()).await;
        let client = exchange(
            TlsConnector::from(Arc::new(anonymous)),
            addr,
            server_name("node-b").unwrap(),
        )
        .await;
        let err = server.await.unwrap().unwrap_err();
        assert!(
            matches!(
                rustls_error(&err),
                Some(rustls::Error::NoCertificatesPresented)
            ),
            "{err}"
        );
        assert!(client.is_err(), "{client:?}");
    }

    #[tokio::test]
    async fn a_server_of_another_ca_is_refused() {
        let f = Fixture::new();
        let (a, x) = (load(&f.a), load(&f.x));
        let (addr, server) = serve_once(x.acceptor()).await;
        let err = exchange(a.connector(), addr, server_name("node-x").unwrap())
            .await
            .unwrap_err();
        assert!(from_another_ca(&err), "{err}");
        assert!(server.await.unwrap().is_err());
    }

    #[tokio::test]
    async fn a_server_with_another_name_is_refused() {
        let f = Fixture::new();
        let (a, b) = (load(&f.a), load(&f.b));
        for wrong in ["node-c", "127.0.0.2"] {
            let (addr, server) = serve_once(b.acceptor()).await;
            let err = exchange(a.connector(), addr, server_name(wrong).unwrap())
                .await
                .unwrap_err();
            assert!(
                matches!(
                    rustls_error(&err),
                    Some(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::NotValidForName
                            | rustls::CertificateError::NotValidForNameContext { .. }
                    ))
                ),
                "{wrong}: {err}"
            );
            assert!(server.await.unwrap().is_err());
        }
    }

    #[test]
    fn load_names_what_is_wrong() {
        let f = Fixture::new();
        let ca = &f.a.ca;

        let err = ClusterTls::load(ca, &f.a.cert, &f.b.key).unwrap_err();
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
        assert!(err.to_string().contains("node-b.key"), "{err}");

        let err = ClusterTls::load(&f.ca2.join("ca.pem"), &f.a.cert, &f.a.key).unwrap_err();
        assert!(matches!(err, TlsError::NotFromCa { .. }), "{err}");

        let missing = f.ca1.join("missing.pem");
        let err = ClusterTls::load(&missing, &f.a.cert, &f.a.key).unwrap_err();
        assert!(matches!(err, TlsError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");

        // A key file holds no certificate, a certificate file no key.
        let err = ClusterTls::load(ca, &f.a.key, &f.a.key).unwrap_err();
        assert!(
            matches!(err, TlsError::NoCertificate(ref p) if p == &f.a.key),
            "{err}"
        );
        let err = ClusterTls::load(ca, &f.a.cert, &f.a.cert).unwrap_err();
        assert!(
            matches!(err, TlsError::NoKey(ref p) if p == &f.a.cert),
            "{err}"
        );

        let debug = format!("{:?}", load(&f.a));
        assert!(!debug.contains("PRIVATE"), "{debug}");
    }

    #[test]
    fn own_node_name_is_the_first_dns_name() {
        let f = Fixture::new();
        assert_eq!(own_node_name(&f.a.cert).unwrap(), "node-a");
        let err = own_node_name(&f.a.key).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate(_)), "{err}");
    }

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("::1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert_eq!(
            server_name("node-b").unwrap(),
            ServerName::try_from("node-b").unwrap()
        );
        for bad in ["", "bad name", "[node-b]", "a..b"] {
            assert!(
                matches!(server_name(bad), Err(TlsError::BadName(_))),
                "{bad}"
            );
        }
    }
}
