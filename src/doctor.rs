//! `mfagate doctor`: checks what a configuration depends on (store, listeners, AD, the
//! second-factor providers) and prints one line per check, with what to fix when it fails. It reads the configuration and talks to the outside; it
//! changes nothing.

use std::io::Write;
use std::sync::Arc;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, PrimaryConfig, ProviderConfig};
use crate::primary::ad::AdPrimary;

#[derive(Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub failures: usize,
}

impl Report {
    fn ok(&mut self, what: &str, detail: &str) {
        self.lines.push(format!("[ ok ] {what}: {detail}"));
    }
    fn fail(&mut self, what: &str, detail: &str, fix: &str) {
        self.failures += 1;
        self.lines
            .push(format!("[FAIL] {what}: {detail}\n       fix: {fix}"));
    }
}

fn connect_hint(e: &str) -> &'static str {
    let l = e.to_ascii_lowercase();
    if l.contains("certificate") || l.contains("unknownissuer") || l.contains("notvalidforname") {
        "primary.ad.ca_file must hold the CA that issued this DC's certificate, and the host name \
         (or IP) in the URL must be one the certificate names"
    } else if l.contains("refused") {
        "nothing listens there: check the URL's host and port (636 for ldaps://, 389 for ldap:// \
         with starttls = true)"
    } else if l.contains("timed out") || l.contains("elapsed") {
        "no answer: check routing and firewalls between this node and the DC, and timeout_secs"
    } else if l.contains("resolve") || l.contains("lookup") || l.contains("name or service") {
        "the host name does not resolve: check DNS on this node"
    } else {
        "check the URL, the DC's LDAPS certificate and the network path"
    }
}

/// What to fix when a second-factor provider's check fails.
fn provider_hint(p: &ProviderConfig, e: &crate::factor::FactorError) -> String {
    let m = e.message.to_ascii_lowercase();
    if m.contains("cannot connect") || m.contains("request failed") {
        return "check the provider's URL or host, DNS, and outbound HTTPS from this node; a \
                certificate from an internal CA needs the provider's ca_file"
            .into();
    }
    if m.contains("timed out") {
        return "no answer in time: check firewalls and proxies on the way, and timeout_secs"
            .into();
    }
    match p {
        ProviderConfig::Duo(_) if !e.outage => "check ikey, the secret key (secret_env or \
            secret_file) and api_host; Duo also refuses requests from a clock that is more than \
            a few minutes off"
            .into(),
        ProviderConfig::Privacyidea(_) if !e.outage => "check service_user and its password; \
            it must be a privacyIDEA admin allowed to trigger challenges"
            .into(),
        _ => "the provider answered with an error: check its URL and its own logs".into(),
    }
}

/// Reports whether mfagate can listen on an address (`bound`: a trial bind just made).
fn listen_check(r: &mut Report, what: &str, bound: std::io::Result<()>, cfg: &Config, other: &str) {
    match bound {
        Ok(()) => r.ok(what, "free: mfagate can listen here"),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if crate::admin::transport::daemon_answers(cfg) {
                r.ok(what, "in use (by the running mfagate)");
            } else {
                r.fail(
                    what,
                    "in use by another program",
                    &format!("stop the other {other} or choose another port"),
                );
            }
        }
        Err(e) => r.fail(
            what,
            &e.to_string(),
            "the address must belong to this machine; ports below 1024 need root or \
             CAP_NET_BIND_SERVICE",
        ),
    }
}

pub async fn run(cfg: Arc<Config>, out: &mut impl Write) -> std::io::Result<usize> {
    let mut r = Report::default();
    r.ok("config", &format!("valid (node {})", cfg.node_name));
    for w in &cfg.warnings {
        r.lines.push(format!("[warn] config: {w}"));
    }

    // The store: a running daemon holds it; otherwise it must open.
    if crate::admin::transport::daemon_answers(&cfg) {
        r.ok(
            "daemon",
            &format!(
                "running; {} answers",
                crate::admin::transport::describe(&cfg)
            ),
        );
    } else {
        match crate::store::Store::open(&cfg.data_dir) {
            Ok(_) => r.ok("store", &format!("{} opens", cfg.data_dir.display())),
            Err(e) => r.fail(
                "store",
                &e.to_string(),
                "data_dir must be writable by the user mfagate runs as, and no other mfagate may \
                 hold it",
            ),
        }
    }

    if let Some(radius) = &cfg.radius {
        let listen = radius.listen.iter().map(|a| ("radius.listen", a));
        let accounting = radius
            .accounting_listen
            .iter()
            .map(|a| ("radius.accounting_listen", a));
        for (key, addr) in listen.chain(accounting) {
            let what = format!("{key} {addr}");
            let bound = std::net::UdpSocket::bind(addr).map(drop);
            listen_check(
                &mut r,
                &what,
                bound,
                &cfg,
                "RADIUS server (e.g. FreeRADIUS, NPS)",
            );
        }
    }

    for l in cfg.ldap.iter().flat_map(|l| &l.listeners) {
        let what = format!("ldap listener {} ({})", l.name, l.address);
        if let (Some(cert), Some(key)) = (&l.cert_file, &l.key_file) {
            match crate::frontend::ldap::check_certificate(cert, key) {
                Ok(()) => r.ok(&format!("{what} certificate"), "certificate and key load"),
                Err(e) => r.fail(
                    &format!("{what} certificate"),
                    &e,
                    "cert_file must hold the PEM certificate chain (server certificate first) and \
                     key_file its PEM private key, readable by the user mfagate runs as",
                ),
            }
        }
        let bound = std::net::TcpListener::bind(l.address).map(drop);
        listen_check(&mut r, &what, bound, &cfg, "LDAP server (e.g. slapd)");
    }

    if let PrimaryConfig::Ad(ad) = &cfg.primary {
        let clock: SharedClock = Arc::new(SystemClock);
        match AdPrimary::new((**ad).clone(), clock) {
            Err(e) => r.fail("AD", &e.to_string(), "fix primary.ad.ca_file"),
            Ok(p) => {
                for dc in p.check_dcs().await {
                    let what = format!("AD {}", dc.url);
                    match &dc.connect {
                        Err(e) => {
                            r.fail(&format!("{what} TLS"), e, connect_hint(e));
                            continue;
                        }
                        Ok(()) => r.ok(&format!("{what} TLS"), "connected, certificate verified"),
                    }
                    match &dc.bind {
                        Some(Ok(())) => r.ok(
                            &format!("{what} bind"),
                            &format!("service account {} accepted", ad.bind_dn),
                        ),
                        Some(Err(e)) => r.fail(
                            &format!("{what} bind"),
                            e,
                            "check primary.ad.bind_dn and the bind password; the account must be \
                             enabled, unlocked, and its password not expired",
                        ),
                        None => {}
                    }
                    match &dc.base_search {
                        Some(Ok(())) => r.ok(
                            &format!("{what} search"),
                            &format!("base_dn {} is readable", ad.base_dn),
                        ),
                        Some(Err(e)) => r.fail(
                            &format!("{what} search"),
                            e,
                            "check primary.ad.base_dn (e.g. DC=corp,DC=example) and that the \
                             service account may read it",
                        ),
                        None => {}
                    }
                }
            }
        }
    }
    for u in &cfg.upstreams {
        let clock: SharedClock = Arc::new(SystemClock);
        match crate::primary::radius_upstream::Upstream::new(u, clock) {
            Err(e) => r.fail(
                &format!("upstream {}", u.name),
                &e,
                "fix the servers' secrets",
            ),
            Ok(group) => {
                for (addr, res) in group.check_servers().await {
                    let what = format!("upstream {} {addr}", u.name);
                    match res {
                        Ok(detail) => r.ok(&what, &detail),
                        Err(e) => r.fail(
                            &what,
                            &e,
                            "check the address, that the server lists mfagate as a RADIUS client \
                             with the same secret, and that it signs its replies \
                             (Message-Authenticator)",
                        ),
                    }
                }
            }
        }
    }
    for p in &cfg.factor.providers {
        let what = format!("provider {} ({})", p.name(), p.kind());
        let checked = match crate::factor::build(p) {
            Ok(f) => f.health().await,
            Err(e) => Err(e),
        };
        match checked {
            Ok(detail) => r.ok(&what, &detail),
            Err(e) => r.fail(&what, &e.message, &provider_hint(p, &e)),
        }
    }
    enrolment_checks(&mut r, &cfg).await;
    for l in &r.lines {
        writeln!(out, "{l}")?;
    }
    if r.failures == 0 {
        writeln!(out, "all checks passed")?;
    } else {
        writeln!(out, "{} check(s) failed", r.failures)?;
    }
    Ok(r.failures)
}

/// `[email]`: the SMTP server answers, its certificate verifies and the login is accepted.
/// `[portal]`: its certificate loads and its port is free.
async fn enrolment_checks(r: &mut Report, cfg: &Config) {
    if let Some(e) = &cfg.email {
        let what = format!("email {}:{}", e.host, e.port);
        match crate::email::Mailer::new(e) {
            Err(err) => r.fail(&what, &err.to_string(), "fix email.ca_file"),
            Ok(m) => match m.check().await {
                Ok(()) => r.ok(
                    &what,
                    match (&e.tls, &e.login) {
                        (crate::config::EmailTls::None, _) => "connected (no TLS: loopback relay)",
                        (_, Some(_)) => "connected, certificate verified, login accepted",
                        (_, None) => "connected, certificate verified",
                    },
                ),
                Err(err) => {
                    let fix = match err {
                        crate::email::EmailError::Auth(_) => {
                            "check email.username and its password (secret_file or secret_env)"
                        }
                        _ => {
                            "check email.host and port, that the server offers STARTTLS (or                              implicit TLS with tls = \"tls\"), and email.ca_file for a                              certificate from an internal CA"
                        }
                    };
                    r.fail(&what, &err.to_string(), fix)
                }
            },
        }
    }
    if let Some(p) = &cfg.portal {
        let what = format!("portal {}", p.listen);
        match crate::frontend::portal::acceptor(p) {
            Ok(_) => r.ok(&format!("{what} certificate"), "certificate and key load"),
            Err(e) => r.fail(
                &format!("{what} certificate"),
                &e,
                "portal.cert_file must hold the PEM certificate chain (server certificate \
                 first) and portal.key_file its PEM private key",
            ),
        }
        let bound = std::net::TcpListener::bind(p.listen).map(drop);
        listen_check(r, &what, bound, cfg, "web server");
    }
}
