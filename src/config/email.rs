//! `[email]`: the SMTP server enrolment e-mails go through, the sender, the language and the
//! templates (`crate::email`). Everything that can be wrong is found here, at config load:
//! the CA file is read and parsed, the sender parsed, the password read and every template
//! (shipped and overriding) checked for unknown placeholders.

use std::net::IpAddr;
use std::path::PathBuf;

use lettre::message::Mailbox;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::Deserialize;

use super::{invalid, ConfigError, Secret};
use crate::email::{Language, Templates};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailRaw {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<String>,
    ca_file: Option<PathBuf>,
    username: Option<String>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
    from: Option<String>,
    reply_to: Option<String>,
    timeout_secs: Option<u64>,
    language: Option<String>,
    invite_interval: Option<String>,
    templates_dir: Option<PathBuf>,
}

/// How the connection to the SMTP server is protected. Certificates and the host name are
/// always verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS before anything else; refused if the server
    /// does not offer it (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only to a relay on this host (loopback or `localhost`).
    None,
}

/// The SMTP login: `email.username` and its password.
#[derive(Debug, Clone)]
pub struct SmtpLogin {
    pub username: String,
    pub password: Secret<String>,
}

#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: EmailTls,
    pub ca_file: Option<PathBuf>,
    /// The certificates of `ca_file` (DER), trusted besides the system's roots.
    pub extra_roots: Vec<Vec<u8>>,
    pub login: Option<SmtpLogin>,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub timeout_secs: u64,
    /// The language of users who have none of their own.
    pub language: Language,
    /// How soon the same user may be sent another invitation.
    pub invite_interval_secs: u64,
    pub templates_dir: Option<PathBuf>,
    /// The shipped templates with `templates_dir`'s overrides, all checked.
    pub templates: Templates,
}

const LANGUAGES: &str = "\"en\", \"sv\" or \"nl\"";

impl EmailRaw {
    pub(super) fn validate(self, warnings: &mut Vec<String>) -> Result<EmailConfig, ConfigError> {
        let host = self
            .host
            .map(|h| h.trim().to_owned())
            .ok_or_else(|| invalid("email.host", "missing (e.g. \"smtp.corp.example\")"))?;
        let host = valid_host(&host).ok_or_else(|| {
            invalid(
                "email.host",
                format!("\"{host}\" is not a host name or IP address"),
            )
        })?;
        let tls = match self.tls.as_deref() {
            None | Some("starttls") => EmailTls::StartTls,
            Some("tls") => EmailTls::Tls,
            Some("none") => EmailTls::None,
            Some(o) => {
                return Err(invalid(
                    "email.tls",
                    format!("\"{o}\" is not \"starttls\", \"tls\" or \"none\""),
                ))
            }
        };
        if tls == EmailTls::None {
            if !is_loopback(&host) {
                return Err(invalid(
                    "email.tls",
                    format!(
                        "\"none\" is only allowed to a relay on this host (127.0.0.1, ::1 or \
                         localhost), not \"{host}\": invitation links would cross the network \
                         in clear; use \"starttls\" or \"tls\""
                    ),
                ));
            }
            warnings.push(format!(
                "email.tls: \"none\": mails go to {host} unencrypted; the local relay must \
                 send them on over TLS"
            ));
        }
        let port = match self.port {
            Some(0) => return Err(invalid("email.port", "0 is not a port")),
            Some(p) => p,
            None => match tls {
                EmailTls::StartTls => 587,
                EmailTls::Tls => 465,
                EmailTls::None => 25,
            },
        };
        let (ca_file, extra_roots) = match self.ca_file {
            Some(path) => {
                let roots = read_ca(&path)?;
                (Some(path), roots)
            }
            None => (None, Vec::new()),
        };
        let login = login(self.username, self.secret_file, self.secret_env)?;
        if login.is_some() && tls == EmailTls::None {
            return Err(invalid(
                "email.username",
                "a password is never sent without TLS: use tls = \"starttls\" or \"tls\"",
            ));
        }
        let from = mailbox(self.from, "email.from")?
            .ok_or_else(|| invalid("email.from", "missing (e.g. \"MFA <mfa@corp.example>\")"))?;
        let reply_to = mailbox(self.reply_to, "email.reply_to")?;
        let timeout_secs = super::raw::in_range(
            "email.timeout_secs",
            self.timeout_secs.unwrap_or(10),
            1,
            300,
        )?;
        let language = match self.language.as_deref() {
            None => Language::En,
            Some(s) => Language::parse(s)
                .filter(|l| l.as_str() == s)
                .ok_or_else(|| invalid("email.language", format!("\"{s}\" is not {LANGUAGES}")))?,
        };
        let interval = self.invite_interval.unwrap_or_else(|| "24h".into());
        let invite_interval_secs = crate::timefmt::parse_duration_ms(&interval)
            .filter(|ms| (60_000..=90 * 86_400_000).contains(ms))
            .map(|ms| ms / 1000)
            .ok_or_else(|| {
                invalid(
                    "email.invite_interval",
                    format!("\"{interval}\" is not a duration from 1m to 90d (e.g. \"24h\", \"30m\", \"2d\")"),
                )
            })?;
        if let Some(dir) = &self.templates_dir {
            if !dir.is_dir() {
                return Err(invalid(
                    "email.templates_dir",
                    format!("{} is not a directory", dir.display()),
                ));
            }
        }
        let templates = Templates::load(self.templates_dir.as_deref(), warnings)
            .map_err(|e| invalid("email.templates_dir", e.to_string()))?;
        Ok(EmailConfig {
            host,
            port,
            tls,
            ca_file,
            extra_roots,
            login,
            from,
            reply_to,
            timeout_secs,
            language,
            invite_interval_secs,
            templates_dir: self.templates_dir,
            templates,
        })
    }
}

/// A DNS name or an IP address (brackets around IPv6 taken off), as the certificate must
/// name it.
fn valid_host(h: &str) -> Option<String> {
    let bare = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    if bare.parse::<IpAddr>().is_ok() {
        return Some(bare.to_owned());
    }
    let labels_ok = bare.len() <= 253
        && bare.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    labels_ok.then(|| bare.to_owned())
}

fn is_loopback(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => super::canonical_ip(ip).is_loopback(),
        Err(_) => host.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

/// The certificates of a PEM file, each checked to be usable as a trust anchor.
fn read_ca(path: &PathBuf) -> Result<Vec<Vec<u8>>, ConfigError> {
    let key = "email.ca_file";
    let pem = std::fs::read(path).map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(invalid(
            key,
            format!("{}: no PEM certificate in it", path.display()),
        ));
    }
    let mut store = rustls::RootCertStore::empty();
    for c in &certs {
        store.add(c.clone()).map_err(|e| {
            invalid(
                key,
                format!(
                    "{}: a certificate cannot be a trust anchor: {e}",
                    path.display()
                ),
            )
        })?;
    }
    Ok(certs.into_iter().map(|c| c.to_vec()).collect())
}

/// `username` with its password from `secret_file` or `secret_env`, or neither. No minimum
/// length (unlike a RADIUS secret): the mail server's policy decides.
fn login(
    username: Option<String>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
) -> Result<Option<SmtpLogin>, ConfigError> {
    let password = match (secret_file, secret_env) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "email.secret_file",
                "set secret_file or secret_env, not both",
            ))
        }
        (Some(path), None) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| invalid("email.secret_file", format!("{}: {e}", path.display())))?;
            Some((
                "email.secret_file",
                text.trim_end_matches(['\r', '\n']).to_owned(),
            ))
        }
        (None, Some(var)) => {
            let v = std::env::var(&var).map_err(|_| {
                invalid(
                    "email.secret_env",
                    format!("environment variable {var} is not set"),
                )
            })?;
            Some(("email.secret_env", v))
        }
        (None, None) => None,
    };
    match (username, password) {
        (None, None) => Ok(None),
        (Some(username), Some((key, password))) => {
            if username.trim().is_empty() || username.chars().any(char::is_control) {
                return Err(invalid(
                    "email.username",
                    "empty or with control characters",
                ));
            }
            if password.is_empty() {
                return Err(invalid(key, "the password is empty"));
            }
            Ok(Some(SmtpLogin {
                username,
                password: Secret::new(password),
            }))
        }
        (Some(_), None) => Err(invalid(
            "email.username",
            "needs its password in secret_file or secret_env",
        )),
        (None, Some((key, _))) => Err(invalid(key, "a password needs email.username")),
    }
}

fn mailbox(value: Option<String>, key: &str) -> Result<Option<Mailbox>, ConfigError> {
    let Some(v) = value else {
        return Ok(None);
    };
    if v.chars().any(crate::email::templates::is_control) {
        return Err(invalid(key, "contains a control character"));
    }
    v.parse::<Mailbox>().map(Some).map_err(|e| {
        invalid(
            key,
            format!("\"{v}\" is not a mailbox such as \"MFA <mfa@corp.example>\": {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(EmailConfig, Vec<String>), ConfigError> {
        let raw: EmailRaw = toml::from_str(text).map_err(|e| invalid("email", e.to_string()))?;
        let mut w = Vec::new();
        raw.validate(&mut w).map(|c| (c, w))
    }

    /// The key an error names, or a panic if there is none.
    fn err_key(text: &str) -> String {
        match parse(text) {
            Err(ConfigError::Invalid { key, message }) => format!("{key}: {message}"),
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {text}"),
        }
    }

    const MIN: &str = "host = \"smtp.corp.example\"\nfrom = \"MFA <mfa@corp.example>\"\n";

    fn temp(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("mfagate-email-cfg-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        d
    }

    #[test]
    fn defaults() {
        let (c, w) = parse(MIN).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.host, "smtp.corp.example");
        assert_eq!((c.tls, c.port), (EmailTls::StartTls, 587));
        assert_eq!(c.timeout_secs, 10);
        assert_eq!(c.language, Language::En);
        assert_eq!(c.invite_interval_secs, 86_400);
        assert!(c.login.is_none() && c.reply_to.is_none() && c.extra_roots.is_empty());
        assert_eq!(c.from.email.to_string(), "mfa@corp.example");
        assert_eq!(c.from.name.as_deref(), Some("MFA"));
        assert!(w.is_empty(), "{w:?}");
        let (c, _) = parse(&format!("{MIN}tls = \"tls\"")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.tls, c.port), (EmailTls::Tls, 465));
        let (c, _) = parse(&format!("{MIN}tls = \"tls\"\nport = 2465\nlanguage = \"sv\"\ninvite_interval = \"30m\"\ntimeout_secs = 3\nreply_to = \"helpdesk@corp.example\""))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.port, 2465);
        assert_eq!(c.language, Language::Sv);
        assert_eq!(c.invite_interval_secs, 1800);
        assert_eq!(c.timeout_secs, 3);
        assert_eq!(
            c.reply_to.map(|r| r.email.to_string()).as_deref(),
            Some("helpdesk@corp.example")
        );
        let (c, _) =
            parse(&format!("{MIN}invite_interval = \"2d\"")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.invite_interval_secs, 2 * 86_400);
    }

    #[test]
    fn no_tls_only_to_this_host_and_with_a_warning() {
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"] {
            let (c, w) = parse(&format!(
                "host = \"{host}\"\nfrom = \"mfa@corp.example\"\ntls = \"none\""
            ))
            .unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!((c.tls, c.port), (EmailTls::None, 25));
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(w[0].starts_with("email.tls"), "{w:?}");
        }
        for host in ["smtp.corp.example", "10.0.0.5", "localhost.corp.example"] {
            let e = err_key(&format!(
                "host = \"{host}\"\nfrom = \"mfa@corp.example\"\ntls = \"none\""
            ));
            assert!(e.starts_with("email.tls: "), "{e}");
        }
        assert!(err_key(&format!("{MIN}tls = \"ssl\"")).starts_with("email.tls: "));
    }

    #[test]
    fn each_mistake_names_its_key() {
        let cases: &[(&str, &str)] = &[
            ("from = \"mfa@corp.example\"", "email.host"),
            ("host = \"smtp corp\"\nfrom = \"mfa@corp.example\"", "email.host"),
            ("host = \"smtp://x\"\nfrom = \"mfa@corp.example\"", "email.host"),
            ("host = \"smtp.corp.example\"", "email.from"),
            ("host = \"smtp.corp.example\"\nfrom = \"not an address\"", "email.from"),
            ("host = \"smtp.corp.example\"\nfrom = \"MFA <mfa@corp.example>\\r\\nBcc: x@y.example\"", "email.from"),
            ("port = 0", "email.port"),
            ("reply_to = \"@\"", "email.reply_to"),
            ("timeout_secs = 0", "email.timeout_secs"),
            ("language = \"de\"", "email.language"),
            ("invite_interval = \"10s\"", "email.invite_interval"),
            ("invite_interval = \"91d\"", "email.invite_interval"),
            ("invite_interval = \"soon\"", "email.invite_interval"),
            ("ca_file = \"/nonexistent/ca.pem\"", "email.ca_file"),
            ("templates_dir = \"/nonexistent/mail\"", "email.templates_dir"),
            ("username = \"mfa\"", "email.username"),
            ("secret_env = \"MFAGATE_EMAIL_TEST_NEVER_SET\"", "email.secret_env"),
            ("username = \"mfa\"\nsecret_env = \"MFAGATE_EMAIL_TEST_NEVER_SET\"", "email.secret_env"),
            ("username = \"mfa\"\nsecret_env = \"A\"\nsecret_file = \"/x\"", "email.secret_file"),
            ("username = \"mfa\"\nsecret_file = \"/nonexistent/pw\"", "email.secret_file"),
        ];
        for (extra, key) in cases {
            let text = if extra.starts_with("host") || extra.starts_with("from") {
                extra.to_string()
            } else {
                format!("{MIN}{extra}")
            };
            let e = err_key(&text);
            assert!(e.starts_with(&format!("{key}: ")), "{extra}: {e}");
        }
        assert!(
            parse(&format!("{MIN}hots = \"x\"")).is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn login_needs_tls_and_its_password_stays_out_of_debug() {
        let dir = temp("login");
        let pw = dir.join("pw");
        std::fs::write(&pw, "s3cret-smtp-pw\n").unwrap_or_else(|e| panic!("{e}"));
        let text = format!(
            "{MIN}username = \"mfa@corp.example\"\nsecret_file = \"{}\"\n",
            pw.display()
        );
        let (c, _) = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let login = c.login.as_ref().unwrap_or_else(|| panic!("no login"));
        assert_eq!(login.username, "mfa@corp.example");
        assert_eq!(login.password.expose(), "s3cret-smtp-pw", "newline trimmed");
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "the password reached Debug"
        );
        let e = err_key(&format!(
            "host = \"127.0.0.1\"\nfrom = \"mfa@corp.example\"\ntls = \"none\"\nusername = \"u\"\nsecret_file = \"{}\"",
            pw.display()
        ));
        assert!(e.starts_with("email.username: "), "{e}");
        std::fs::write(&pw, "\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(err_key(&text).starts_with("email.secret_file: "));
    }

    #[test]
    fn ca_file_is_parsed_at_load() {
        let dir = temp("ca");
        let ca = dir.join("ca.pem");
        let cert = rcgen::generate_simple_self_signed(vec!["smtp.corp.example".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&ca, cert.cert.pem()).unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{MIN}ca_file = \"{}\"", ca.display());
        let (c, _) = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.extra_roots.len(), 1);
        assert_eq!(c.extra_roots[0], cert.cert.der().to_vec());
        for junk in [
            "no certificate here\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        ] {
            std::fs::write(&ca, junk).unwrap_or_else(|e| panic!("{e}"));
            let e = err_key(&text);
            assert!(e.starts_with("email.ca_file: "), "{junk}: {e}");
        }
    }

    #[test]
    fn templates_dir_errors_name_the_file_and_the_placeholder() {
        let dir = temp("tpl");
        std::fs::write(
            dir.join("nl.toml"),
            "[sms]\ntext = \"Beste {nmae}, {phone}\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = err_key(&format!("{MIN}templates_dir = \"{}\"", dir.display()));
        assert!(e.starts_with("email.templates_dir: "), "{e}");
        assert!(
            e.contains("nl.toml") && e.contains("{nmae}") && e.contains("[sms] text"),
            "{e}"
        );
        std::fs::write(dir.join("nl.toml"), "[sms]\ntext = \"Beste {name}\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("de.toml"), "").unwrap_or_else(|e| panic!("{e}"));
        let (_, w) = parse(&format!("{MIN}templates_dir = \"{}\"", dir.display()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(w.len() == 1 && w[0].contains("de.toml"), "{w:?}");
    }
}
