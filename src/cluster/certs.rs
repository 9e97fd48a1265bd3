//! The cluster CA and the node certificates it issues (`cluster init-ca`, `cluster
//! issue-cert`): ECDSA P-256 keys and PEM files, private keys owner-only, nothing ever
//! overwritten.

use std::io::Write;
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, DnsName, UnixTime};

use crate::config::{create_private_dir, private_file_options};

pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca.key";
const CA_COMMON_NAME: &str = "mfagate cluster CA";
const DAY: u64 = 24 * 60 * 60;
// Each span counts the most leap days it can hold, so a certificate never runs out before
// the years it promises.
const CA_VALID_DAYS: u64 = 20 * 365 + 5;
const NODE_VALID_DAYS: u64 = 5 * 365 + 2;
// A certificate is often used on another node minutes after it was issued; backdating its
// start keeps a peer whose clock is a little behind from calling it not yet valid.
const CLOCK_SKEW: Duration = Duration::from_secs(60 * 60);
const MAX_NODE_NAME_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} already exists; refusing to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("invalid node name {name:?}: {reason}")]
    NodeName { name: String, reason: String },
    #[error("invalid address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("{}: {reason}", path.display())]
    BadCertificate { path: PathBuf, reason: String },
    #[error("{}: not a usable private key: {source}", path.display())]
    BadKey { path: PathBuf, source: rcgen::Error },
    #[error("{} is not the private key of the CA certificate {}", key.display(), cert.display())]
    CaKeyMismatch { key: PathBuf, cert: PathBuf },
    #[error("{} holds a different CA certificate than {}", existing.display(), ca.display())]
    OtherCa { existing: PathBuf, ca: PathBuf },
    #[error(
        "a certificate issued with {} does not verify against it ({source}); \
         was it made by `cluster init-ca`?",
        ca.display()
    )]
    DoesNotVerify { ca: PathBuf, source: webpki::Error },
    #[error("generating the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the system clock is outside the range a certificate can carry")]
    Clock,
}

/// Creates the cluster CA in `out_dir`: `ca.pem` and `ca.key`.
pub fn init_ca(out_dir: &Path) -> Result<CaFiles, CertError> {
    let files = CaFiles {
        cert: out_dir.join(CA_CERT_FILE),
        key: out_dir.join(CA_KEY_FILE),
    };
    refuse_existing(&files.cert)?;
    refuse_existing(&files.key)?;

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = ca_params();
    set_validity(&mut params, CA_VALID_DAYS)?;
    let cert = params.self_signed(&key)?;

    create_private_dir(out_dir).map_err(|source| io_err(out_dir, source))?;
    write_new_files(&[
        NewFile::secret(&files.key, key.serialize_pem()),
        NewFile::public(&files.cert, cert.pem()),
    ])?;
    Ok(files)
}

/// Issues the certificate of cluster member `node`, reachable at `address` (`HOST:PORT`),
/// with the CA in `ca_dir`; writes `NODE.pem`, `NODE.key` and (if missing) `ca.pem` to
/// `out_dir`.
pub fn issue_node_cert(
    node: &str,
    address: &str,
    ca_dir: &Path,
    out_dir: &Path,
) -> Result<NodeFiles, CertError> {
    check_node_name(node)?;
    let host = address_host(address)?;
    let files = NodeFiles {
        cert: out_dir.join(format!("{node}.pem")),
        key: out_dir.join(format!("{node}.key")),
        ca: out_dir.join(CA_CERT_FILE),
    };
    refuse_existing(&files.cert)?;
    refuse_existing(&files.key)?;

    let ca_cert_path = ca_dir.join(CA_CERT_FILE);
    let ca_key_path = ca_dir.join(CA_KEY_FILE);
    let ca_pem = std::fs::read_to_string(&ca_cert_path).map_err(|e| io_err(&ca_cert_path, e))?;
    let ca_der = first_cert(&ca_cert_path, &ca_pem)?;
    let ca_key_pem = std::fs::read_to_string(&ca_key_path).map_err(|e| io_err(&ca_key_path, e))?;
    let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(|source| CertError::BadKey {
        path: ca_key_path.clone(),
        source,
    })?;
    check_ca_key(&ca_der, &ca_key, &ca_cert_path, &ca_key_path)?;
    let copy_ca = match std::fs::read_to_string(&files.ca) {
        Ok(existing) => {
            if first_cert(&files.ca, &existing)? != ca_der {
                return Err(CertError::OtherCa {
                    existing: files.ca,
                    ca: ca_cert_path,
                });
            }
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io_err(&files.ca, e)),
    };

    // rcgen can only read a CA certificate back with its `x509-parser` feature; the issuer
    // is rebuilt from the parameters `init_ca` used instead, and the result is verified
    // against the real `ca.pem` below, so a CA made some other way fails here, not later in
    // every handshake.
    let issuer = Issuer::new(ca_params(), ca_key);
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, node);
    params.subject_alt_names = subject_alt_names(node, host)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, NODE_VALID_DAYS)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&key, &issuer)?;
    verify_issued(cert.der(), &ca_der, &ca_cert_path)?;

    create_private_dir(out_dir).map_err(|source| io_err(out_dir, source))?;
    let mut new_files = vec![
        NewFile::secret(&files.key, key.serialize_pem()),
        NewFile::public(&files.cert, cert.pem()),
    ];
    if copy_ca {
        new_files.push(NewFile::public(&files.ca, ca_pem));
    }
    write_new_files(&new_files)?;
    Ok(files)
}

/// The parameters that make the CA's subject, key identifiers and key usages; shared by
/// `init_ca` and the issuer `issue_node_cert` rebuilds from them.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    // Path length 0: the CA signs node certificates only, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn set_validity(params: &mut CertificateParams, days: u64) -> Result<(), CertError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| CertError::Clock)?;
    let start = now.checked_sub(CLOCK_SKEW).ok_or(CertError::Clock)?;
    let end = now
        .checked_add(Duration::from_secs(days * DAY))
        .ok_or(CertError::Clock)?;
    // rcgen takes `time::OffsetDateTime`, a crate this tree does not depend on directly;
    // the epoch plus an offset reaches it through rcgen's own helper.
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch
        .checked_add(start.try_into().map_err(|_| CertError::Clock)?)
        .ok_or(CertError::Clock)?;
    params.not_after = epoch
        .checked_add(end.try_into().map_err(|_| CertError::Clock)?)
        .ok_or(CertError::Clock)?;
    Ok(())
}

/// The host part of `HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Dns(String),
}

fn address_host(address: &str) -> Result<Host, CertError> {
    let bad = |reason: String| CertError::Address {
        address: address.to_owned(),
        reason,
    };
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(bad("expected HOST:PORT".into()));
    };
    let port_ok = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if !port_ok {
        return Err(bad(format!("`{port}` is not a port (1-65535)")));
    }
    let host = if let Some(inner) = host.strip_prefix('[') {
        let v6 = inner
            .strip_suffix(']')
            .and_then(|v6| v6.parse::<Ipv6Addr>().ok())
            .ok_or_else(|| bad(format!("`{host}` is not a bracketed IPv6 address")))?;
        Host::Ip(IpAddr::V6(v6))
    } else if host.contains(':') {
        return Err(bad(
            "an IPv6 address goes in brackets: [ADDRESS]:PORT".into()
        ));
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        Host::Ip(ip)
    } else if host.is_empty() {
        return Err(bad("the host is empty".into()));
    } else {
        // A certificate names a host without the root's trailing dot.
        let name = host.strip_suffix('.').unwrap_or(host);
        if DnsName::try_from(name).is_err() {
            return Err(bad(format!(
                "`{host}` is neither an IP address nor a DNS name"
            )));
        }
        Host::Dns(name.to_owned())
    };
    if let Host::Ip(ip) = host {
        if ip.is_unspecified() {
            // Peers verify the address they dial; a bind-everything address is never that.
            return Err(bad(format!(
                "`{ip}` listens on every interface; give the address other nodes connect to"
            )));
        }
    }
    Ok(host)
}

fn check_node_name(name: &str) -> Result<(), CertError> {
    match node_name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(CertError::NodeName {
            name: name.to_owned(),
            reason,
        }),
    }
}

/// Node names are DNS names because peers verify each other's certificates by them; the
/// rules are stricter than a resolver's (no `_`) since the name also becomes a file name.
fn node_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > MAX_NODE_NAME_LEN {
        return Some(format!("it is longer than {MAX_NODE_NAME_LEN} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Some(format!(
            "{c:?} is not allowed; a node name is a DNS name of A-Z, a-z, 0-9, `-` and `.`"
        ));
    }
    if name.starts_with(['-', '.']) || name.ends_with(['-', '.']) {
        return Some("it must not start or end with `-` or `.`".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("it has an empty label (`..`)".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label `{label}` starts or ends with `-`"));
        }
        if label.len() > 63 {
            return Some(format!("label `{label}` is longer than 63 characters"));
        }
    }
    if DnsName::try_from(name).is_err() {
        return Some("its last label is a number, so it reads as an IP address".into());
    }
    None
}

fn subject_alt_names(node: &str, host: Host) -> Result<Vec<SanType>, CertError> {
    // The node name comes first: `tls::own_node_name` reads it back as the first DNS name.
    let mut sans = vec![SanType::DnsName(node.try_into()?)];
    match host {
        Host::Ip(ip) => sans.push(SanType::IpAddress(ip)),
        Host::Dns(name) if !name.eq_ignore_ascii_case(node) => {
            sans.push(SanType::DnsName(name.try_into()?));
        }
        Host::Dns(_) => {}
    }
    Ok(sans)
}

fn first_cert(path: &Path, pem: &str) -> Result<CertificateDer<'static>, CertError> {
    match CertificateDer::pem_slice_iter(pem.as_bytes()).next() {
        Some(Ok(der)) => Ok(der),
        Some(Err(e)) => Err(CertError::BadCertificate {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        None => Err(CertError::BadCertificate {
            path: path.to_owned(),
            reason: "no certificate in the file".into(),
        }),
    }
}

fn check_ca_key(
    ca_der: &CertificateDer<'_>,
    key: &KeyPair,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), CertError> {
    use rcgen::PublicKeyData;

    let cert = webpki::EndEntityCert::try_from(ca_der).map_err(|e| CertError::BadCertificate {
        path: cert_path.to_owned(),
        reason: e.to_string(),
    })?;
    if cert.subject_public_key_info().as_ref() != key.subject_public_key_info().as_slice() {
        return Err(CertError::CaKeyMismatch {
            key: key_path.to_owned(),
            cert: cert_path.to_owned(),
        });
    }
    Ok(())
}

fn verify_issued(
    cert: &CertificateDer<'_>,
    ca_der: &CertificateDer<'_>,
    ca_path: &Path,
) -> Result<(), CertError> {
    let fail = |source| CertError::DoesNotVerify {
        ca: ca_path.to_owned(),
        source,
    };
    let anchor = webpki::anchor_from_trusted_cert(ca_der).map_err(fail)?;
    let cert = webpki::EndEntityCert::try_from(cert).map_err(fail)?;
    for usage in [
        webpki::KeyUsage::server_auth(),
        webpki::KeyUsage::client_auth(),
    ] {
        cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(&anchor),
            &[],
            UnixTime::now(),
            usage,
            None,
            None,
        )
        .map_err(fail)?;
    }
    Ok(())
}

fn refuse_existing(path: &Path) -> Result<(), CertError> {
    match path.try_exists() {
        Ok(false) => Ok(()),
        Ok(true) => Err(CertError::Exists(path.to_owned())),
        Err(e) => Err(io_err(path, e)),
    }
}

struct NewFile<'a> {
    path: &'a Path,
    contents: String,
    secret: bool,
}

impl<'a> NewFile<'a> {
    fn secret(path: &'a Path, contents: String) -> Self {
        Self {
            path,
            contents,
            secret: true,
        }
    }

    fn public(path: &'a Path, contents: String) -> Self {
        Self {
            path,
            contents,
            secret: false,
        }
    }
}

/// Writes every file or none: a key without its certificate (or the reverse) would block
/// the next attempt, which refuses to overwrite either.
fn write_new_files(files: &[NewFile<'_>]) -> Result<(), CertError> {
    let mut written: Vec<&Path> = Vec::with_capacity(files.len());
    for file in files {
        if let Err(e) = write_new_file(file) {
            for path in written {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        written.push(file.path);
    }
    Ok(())
}

fn write_new_file(file: &NewFile<'_>) -> Result<(), CertError> {
    let mut options = if file.secret {
        private_file_options()
    } else {
        let mut o = std::fs::OpenOptions::new();
        o.write(true);
        o
    };
    // `create_new` also closes the race with another writer after `refuse_existing`.
    let mut f = options
        .create_new(true)
        .open(file.path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => CertError::Exists(file.path.to_owned()),
            _ => io_err(file.path, e),
        })?;
    let written = f
        .write_all(file.contents.as_bytes())
        .and_then(|()| f.sync_all());
    if let Err(e) = written {
        drop(f);
        let _ = std::fs::remove_file(file.path);
        return Err(io_err(file.path, e));
    }
    Ok(())
}

fn io_err(path: &Path, source: std::io::Error) -> CertError {
    CertError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rustls::pki_types::ServerName;

    /// A fresh directory under the system temp dir, removed again on drop.
    pub(crate) struct TempDir(pub(crate) PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            use std::sync::atomic::{AtomicU64, Ordering};
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir().join(format!(
                "mfagate-{tag}-{}-{nanos}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read_der(path: &Path) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(path).unwrap()
    }

    #[test]
    fn init_ca_writes_a_ca_once() {
        let tmp = TempDir::new("certs");
        let ca_dir = tmp.path().join("ca");
        let files = init_ca(&ca_dir).unwrap();
        assert_eq!(files.cert, ca_dir.join("ca.pem"));
        assert_eq!(files.key, ca_dir.join("ca.key"));
        let before = std::fs::read(&files.key).unwrap();

        let err = init_ca(&ca_dir).unwrap_err();
        assert!(
            matches!(err, CertError::Exists(ref p) if p == &files.cert),
            "{err}"
        );
        assert!(err.to_string().contains("ca.pem"), "{err}");
        assert_eq!(std::fs::read(&files.key).unwrap(), before);

        // Either file alone already blocks a new CA.
        std::fs::remove_file(&files.cert).unwrap();
        let err = init_ca(&ca_dir).unwrap_err();
        assert!(
            matches!(err, CertError::Exists(ref p) if p == &files.key),
            "{err}"
        );
    }

    #[test]
    fn the_ca_is_a_trust_anchor() {
        let tmp = TempDir::new("certs");
        let files = init_ca(tmp.path()).unwrap();
        let der = read_der(&files.cert);
        webpki::anchor_from_trusted_cert(&der).unwrap();
        let key = KeyPair::from_pem(&std::fs::read_to_string(&files.key).unwrap()).unwrap();
        assert!(std::fs::read_to_string(&files.key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        check_ca_key(&der, &key, &files.cert, &files.key).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = TempDir::new("certs");
        let ca = init_ca(tmp.path()).unwrap();
        let node = issue_node_cert("node-a", "127.0.0.1:4443", tmp.path(), tmp.path()).unwrap();
        for key in [&ca.key, &node.key] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
    }

    #[test]
    fn node_cert_for_an_ip_address() {
        let tmp = TempDir::new("certs");
        init_ca(&tmp.path().join("ca")).unwrap();
        let out = tmp.path().join("node-a");
        let files =
            issue_node_cert("node-a", "127.0.0.1:4443", &tmp.path().join("ca"), &out).unwrap();
        assert_eq!(files.cert, out.join("node-a.pem"));
        assert_eq!(files.key, out.join("node-a.key"));
        assert_eq!(files.ca, out.join("ca.pem"));
        assert_eq!(
            std::fs::read(&files.ca).unwrap(),
            std::fs::read(tmp.path().join("ca/ca.pem")).unwrap()
        );

        let der = read_der(&files.cert);
        let cert = webpki::EndEntityCert::try_from(&der).unwrap();
        assert_eq!(cert.valid_dns_names().collect::<Vec<_>>(), ["node-a"]);
        let ip = ServerName::IpAddress("127.0.0.1".parse::<IpAddr>().unwrap().into());
        cert.verify_is_valid_for_subject_name(&ip).unwrap();
        let other_ip = ServerName::IpAddress("127.0.0.2".parse::<IpAddr>().unwrap().into());
        assert!(cert.verify_is_valid_for_subject_name(&other_ip).is_err());
        let name = ServerName::try_from("node-a").unwrap();
        cert.verify_is_valid_for_subject_name(&name).unwrap();
        verify_issued(&der, &read_der(&files.ca), &files.ca).unwrap();
    }

    #[test]
    fn node_cert_for_a_dns_host() {
        let tmp = TempDir::new("certs");
        init_ca(tmp.path()).unwrap();
        let files =
            issue_node_cert("node-a", "mfa1.corp.example:4443", tmp.path(), tmp.path()).unwrap();
        let der = read_der(&files.cert);
        let cert = webpki::EndEntityCert::try_from(&der).unwrap();
        assert_eq!(
            cert.valid_dns_names().collect::<Vec<_>>(),
            ["node-a", "mfa1.corp.example"]
        );
        let host = ServerName::try_from("mfa1.corp.example").unwrap();
        cert.verify_is_valid_for_subject_name(&host).unwrap();
    }

    #[test]
    fn node_cert_for_an_ipv6_address_and_its_own_name() {
        let tmp = TempDir::new("certs");
        init_ca(tmp.path()).unwrap();
        let v6 = issue_node_cert("node-b", "[::1]:4443", tmp.path(), tmp.path()).unwrap();
        let der = read_der(&v6.cert);
        let cert = webpki::EndEntityCert::try_from(&der).unwrap();
        let ip = ServerName::IpAddress("::1".parse::<IpAddr>().unwrap().into());
        cert.verify_is_valid_for_subject_name(&ip).unwrap();

        // The host equal to the node name is not repeated.
        let same =
            issue_node_cert("mfa1.example", "mfa1.example:4443", tmp.path(), tmp.path()).unwrap();
        let der = read_der(&same.cert);
        let cert = webpki::EndEntityCert::try_from(&der).unwrap();
        assert_eq!(cert.valid_dns_names().collect::<Vec<_>>(), ["mfa1.example"]);
    }

    #[test]
    fn node_certs_are_never_overwritten() {
        let tmp = TempDir::new("certs");
        init_ca(tmp.path()).unwrap();
        let files = issue_node_cert("node-a", "127.0.0.1:4443", tmp.path(), tmp.path()).unwrap();
        let before = std::fs::read(&files.key).unwrap();
        let err = issue_node_cert("node-a", "127.0.0.1:4443", tmp.path(), tmp.path()).unwrap_err();
        assert!(
            matches!(err, CertError::Exists(ref p) if p == &files.cert),
            "{err}"
        );
        assert_eq!(std::fs::read(&files.key).unwrap(), before);
    }

    #[test]
    fn a_different_ca_pem_in_the_out_dir_is_refused() {
        let tmp = TempDir::new("certs");
        init_ca(&tmp.path().join("ca1")).unwrap();
        init_ca(&tmp.path().join("ca2")).unwrap();
        let err = issue_node_cert(
            "node-a",
            "127.0.0.1:4443",
            &tmp.path().join("ca1"),
            &tmp.path().join("ca2"),
        )
        .unwrap_err();
        assert!(matches!(err, CertError::OtherCa { .. }), "{err}");
        assert!(!tmp.path().join("ca2/node-a.key").exists());
    }

    #[test]
    fn a_ca_key_from_another_ca_is_refused() {
        let tmp = TempDir::new("certs");
        let ca1 = init_ca(&tmp.path().join("ca1")).unwrap();
        let ca2 = init_ca(&tmp.path().join("ca2")).unwrap();
        std::fs::remove_file(&ca1.key).unwrap();
        std::fs::copy(&ca2.key, &ca1.key).unwrap();
        let out = tmp.path().join("out");
        let err =
            issue_node_cert("node-a", "127.0.0.1:4443", &tmp.path().join("ca1"), &out).unwrap_err();
        assert!(matches!(err, CertError::CaKeyMismatch { .. }), "{err}");
    }

    #[test]
    fn a_ca_not_made_by_init_ca_is_refused() {
        let tmp = TempDir::new("certs");
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = ca_params();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "someone else's CA");
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(tmp.path().join("ca.pem"), cert.pem()).unwrap();
        std::fs::write(tmp.path().join("ca.key"), key.serialize_pem()).unwrap();
        let out = tmp.path().join("out");
        let err = issue_node_cert("node-a", "127.0.0.1:4443", tmp.path(), &out).unwrap_err();
        assert!(matches!(err, CertError::DoesNotVerify { .. }), "{err}");
        assert!(!out.join("node-a.key").exists());
    }

    #[test]
    fn a_missing_ca_names_the_file() {
        let tmp = TempDir::new("certs");
        let err = issue_node_cert("node-a", "127.0.0.1:4443", tmp.path(), tmp.path()).unwrap_err();
        assert!(matches!(err, CertError::Io { .. }), "{err}");
        assert!(err.to_string().contains("ca.pem"), "{err}");
    }

    #[test]
    fn bad_node_names_are_refused() {
        let tmp = TempDir::new("certs");
        init_ca(tmp.path()).unwrap();
        let long = "a".repeat(65);
        for name in [
            "node_a", "-x", "x-", "", ".x", "x.", "a..b", "a.-b", "a b", "1.2.3.4", &long,
        ] {
            let err = issue_node_cert(name, "127.0.0.1:4443", tmp.path(), tmp.path()).unwrap_err();
            assert!(matches!(err, CertError::NodeName { .. }), "{name:?}: {err}");
        }
        let err = issue_node_cert("node_a", "127.0.0.1:4443", tmp.path(), tmp.path()).unwrap_err();
        assert!(err.to_string().contains("'_' is not allowed"), "{err}");
        for name in ["a", "node-a", "mfa1.corp.example", "n1", &"a".repeat(63)] {
            assert_eq!(node_name_problem(name), None, "{name}");
        }
    }

    #[test]
    fn addresses_are_host_and_port() {
        assert_eq!(
            address_host("127.0.0.1:4443").unwrap(),
            Host::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            address_host("[fe80::1]:1").unwrap(),
            Host::Ip("fe80::1".parse().unwrap())
        );
        assert_eq!(
            address_host("mfa1.corp.example.:65535").unwrap(),
            Host::Dns("mfa1.corp.example".into())
        );
        for bad in [
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "127.0.0.1:+1",
            ":4443",
            "::1:4443",
            "[::1:4443",
            "[mfa1]:4443",
            "0.0.0.0:4443",
            "[::]:4443",
            "bad host:4443",
        ] {
            let err = address_host(bad).unwrap_err();
            assert!(matches!(err, CertError::Address { .. }), "{bad}: {err}");
        }
    }
}
