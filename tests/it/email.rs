//! Enrolment e-mails (`mfagate::email`) through a real SMTP server: aiosmtpd
//! (`tests/py/smtp_sink.py`) with STARTTLS or implicit TLS on a certificate of the test CA
//! and AUTH, and what arrives read back from its JSON lines (decoded by Python's `email`).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mfagate::config::{Config, Method};
use mfagate::email::{EmailError, Invitation, Mailer};
use serde_json::Value;

use crate::harness::*;

const SMTP_USER: &str = "mfa-relay";
const SMTP_PASS: &str = "Smtp-Relay-Pa55word";
const LINK: &str = "https://mfa.corp.example/enrol?token=Zx81-kq_0";
const PHONE: &str = "+46701234567";

fn pydir() -> PathBuf {
    std::env::var_os("MFAGATE_TEST_PYDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tests/py"))
}

/// A second, unrelated test CA with its own 127.0.0.1 certificate.
fn other_ca() -> &'static PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mfagate-it-certs2-{}", std::process::id()));
        let st = std::process::Command::new("bash")
            .arg(repo().join("scripts/make-test-cert.sh"))
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "make-test-cert.sh failed");
        dir
    })
}

/// `smtp_sink.py` with `args` before PORT OUTFILE, killed when dropped.
pub struct SmtpSink {
    child: std::process::Child,
    pub port: u16,
    out: PathBuf,
}

impl SmtpSink {
    fn start(args: &[&str]) -> SmtpSink {
        Self::start_on(args, 0)
    }

    /// On `port` (0: a free one).
    fn start_on(args: &[&str], port: u16) -> SmtpSink {
        let out = temp_dir("smtp").join("mail.jsonl");
        let mut child = std::process::Command::new(python())
            .arg(pydir().join("smtp_sink.py"))
            .args(args)
            .arg(port.to_string())
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("smtp_sink.py said {line:?}: {e}"));
        let port = v["listening"].as_u64().unwrap() as u16;
        SmtpSink { child, port, out }
    }

    pub fn starttls(dir: &Path, extra: &[&str]) -> SmtpSink {
        Self::starttls_on(dir, extra, 0)
    }

    pub fn starttls_on(dir: &Path, extra: &[&str], port: u16) -> SmtpSink {
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        let mut args = vec!["--starttls", cert.to_str().unwrap(), key.to_str().unwrap()];
        args.extend_from_slice(extra);
        SmtpSink::start_on(&args, port)
    }

    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The `n`th message, waiting briefly: the sink writes it before its 250, so it is
    /// there once `send` returned; the wait only covers a slow file system.
    fn message(&self, n: usize) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let m = self.messages();
            if m.len() > n {
                return m[n].clone();
            }
            assert!(Instant::now() < deadline, "message {n} never arrived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `[email]` section's config, loaded as `check-config` loads it.
fn load(email: &str) -> Result<Config, String> {
    let dir = temp_dir("email-cfg");
    let path = dir.join("mfagate.toml");
    let text = format!(
        "node_name = \"it\"\ndata_dir = \"{}\"\n[primary]\nbackend = \"local\"\n\n[email]\n{email}",
        dir.join("data").display()
    );
    std::fs::write(&path, text).unwrap();
    Config::load(&path).map_err(|e| e.to_string())
}

fn mailer(email: &str) -> Mailer {
    let cfg = load(email).unwrap_or_else(|e| panic!("{e}"));
    Mailer::new(cfg.email.as_ref().unwrap()).unwrap()
}

fn secret_file(password: &str) -> PathBuf {
    let p = temp_dir("smtp-pw").join("password");
    std::fs::write(&p, format!("{password}\n")).unwrap();
    p
}

/// STARTTLS to `port` on 127.0.0.1, the test CA trusted, logging in with `password`.
fn relay(port: u16, password: &str) -> String {
    format!(
        "host = \"127.0.0.1\"\nport = {port}\ntls = \"starttls\"\nca_file = \"{}\"\n\
         username = \"{SMTP_USER}\"\nsecret_file = \"{}\"\n\
         from = \"MFA Gateway <mfa@corp.example>\"\nreply_to = \"helpdesk@corp.example\"\n\
         timeout_secs = 5\n",
        certs().join("ca.pem").display(),
        secret_file(password).display()
    )
}

fn invitation(method: Method) -> Invitation<'static> {
    Invitation {
        user: "sam",
        display_name: Some("Sam Smith"),
        to: "sam@corp.example",
        method,
        phone: Some(PHONE),
        link: Some(LINK),
        expires: Some("2026-11-24 12:00"),
        language: Some("sv"),
    }
}

/// A decoded part (`body`: text, `html`) with the wire's CRLF line ends as LF.
fn part(m: &Value, which: &str) -> String {
    m[which].as_str().unwrap().replace("\r\n", "\n")
}

/// Every header named `name` (case-insensitive), in order.
fn headers(m: &Value, name: &str) -> Vec<String> {
    m["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap().to_owned())
        .collect()
}

fn auth_sink() -> SmtpSink {
    SmtpSink::starttls(certs(), &["--auth", &format!("{SMTP_USER}:{SMTP_PASS}")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swedish_totp_invitation_arrives_over_starttls_with_login() {
    let sink = auth_sink();
    let mailer = mailer(&relay(sink.port, SMTP_PASS));
    mailer.send(&invitation(Method::Totp)).await.unwrap();
    let m = sink.message(0);
    assert_eq!(m["tls"], true, "STARTTLS before the mail");
    assert_eq!(m["auth"], SMTP_USER);
    assert_eq!(m["mail_from"], "mfa@corp.example");
    assert_eq!(m["to"], serde_json::json!(["sam@corp.example"]));
    assert_eq!(headers(&m, "From"), ["MFA Gateway <mfa@corp.example>"]);
    assert_eq!(headers(&m, "To"), ["Sam Smith <sam@corp.example>"]);
    assert_eq!(headers(&m, "Reply-To"), ["helpdesk@corp.example"]);
    assert_eq!(
        headers(&m, "Subject"),
        ["Åtgärd krävs: aktivera tvåstegsverifiering"]
    );
    assert_eq!(headers(&m, "Auto-Submitted"), ["auto-generated"]);
    assert_eq!(headers(&m, "Date").len(), 1);
    let id = headers(&m, "Message-ID");
    assert!(id.len() == 1 && id[0].ends_with("@corp.example>"), "{id:?}");
    assert!(headers(&m, "Bcc").is_empty() && headers(&m, "Cc").is_empty());

    let text = part(&m, "body");
    assert!(text.starts_with("Hej Sam Smith!"), "{text}");
    assert!(
        text.contains("Ditt konto sam kräver nu tvåstegsverifiering"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Slutför registreringen i portalen:\n{LINK}\n")),
        "{text}"
    );
    assert!(
        text.contains("Länken gäller till 2026-11-24 12:00."),
        "{text}"
    );
    let html = part(&m, "html");
    assert!(html.contains("<html lang=\"sv\">"), "{html}");
    assert!(html.contains("<p>Hej Sam Smith!</p>"), "{html}");
    assert!(
        html.contains(&format!("<a href=\"{LINK}\">{LINK}</a>")),
        "{html}"
    );
    for part in ["raw", "body", "html"] {
        let s = m[part].as_str().unwrap();
        assert!(!s.contains(SMTP_PASS), "the SMTP password is in {part}");
        assert!(!s.contains('{'), "a placeholder is left in {part}: {s}");
    }
    assert!(!m["headers"].to_string().contains(SMTP_PASS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_invitation_shows_only_the_masked_phone() {
    let sink = auth_sink();
    let mailer = mailer(&relay(sink.port, SMTP_PASS));
    let inv = Invitation {
        language: Some("en"),
        ..invitation(Method::Sms)
    };
    mailer.send(&inv).await.unwrap();
    let m = sink.message(0);
    let (text, html) = (part(&m, "body"), part(&m, "html"));
    assert!(
        text.contains("You will get your codes by text message at ***-**67."),
        "{text}"
    );
    assert!(html.contains("<strong>***-**67</strong>"), "{html}");
    assert!(text.contains(LINK) && html.contains(LINK));
    let everything = m.to_string();
    for digits in [PHONE, "701234567", "46701234567", "1234567"] {
        assert!(!everything.contains(digits), "{digits} is in the mail");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_portal_the_link_paragraphs_are_left_out() {
    let sink = auth_sink();
    let mailer = mailer(&relay(sink.port, SMTP_PASS));
    let inv = Invitation {
        link: None,
        language: Some("nl"),
        ..invitation(Method::Push)
    };
    mailer.send(&inv).await.unwrap();
    let m = sink.message(0);
    let text = part(&m, "body");
    assert!(text.starts_with("Beste Sam Smith,"), "{text}");
    assert!(
        text.contains("De verzoeken gaan naar uw telefoon ***-**67."),
        "{text}"
    );
    assert!(
        !text.contains("portaal") && !text.contains("geldig tot"),
        "{text}"
    );
    assert!(!m["html"].as_str().unwrap().contains("<a "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_escapes_a_hostile_display_name() {
    let sink = auth_sink();
    let mailer = mailer(&relay(sink.port, SMTP_PASS));
    let inv = Invitation {
        display_name: Some("<script>alert('x')</script> & Co"),
        language: Some("en"),
        ..invitation(Method::Totp)
    };
    mailer.send(&inv).await.unwrap();
    let m = sink.message(0);
    let html = part(&m, "html");
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("<p>Hello &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co,</p>"),
        "{html}"
    );
    // The plain part is plain text: shown as written, nothing to execute.
    assert!(m["body"]
        .as_str()
        .unwrap()
        .starts_with("Hello <script>alert('x')</script> & Co,"));
    assert_eq!(
        headers(&m, "To"),
        ["\"<script>alert('x')</script> & Co\" <sam@corp.example>"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bcc_cannot_be_smuggled_in() {
    let sink = auth_sink();
    let mailer = mailer(&relay(sink.port, SMTP_PASS));
    for (to, name) in [
        ("sam@corp.example", Some("Sam\r\nBcc: evil@example.com")),
        ("sam@corp.example\r\nBcc: evil@example.com", Some("Sam")),
        ("sam@corp.example,evil@example.com", None),
    ] {
        let inv = Invitation {
            to,
            display_name: name,
            ..invitation(Method::Totp)
        };
        match mailer.send(&inv).await {
            Err(EmailError::Address(_)) => {}
            other => panic!("{to:?} {name:?}: {other:?}"),
        }
    }
    // Nothing reached the server; a clean invitation still goes to its one recipient.
    mailer.send(&invitation(Method::Totp)).await.unwrap();
    let all = sink.messages();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["to"], serde_json::json!(["sam@corp.example"]));
    assert!(!all[0]["raw"].as_str().unwrap().contains("evil@"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_ca_is_refused_as_transient() {
    let sink = SmtpSink::starttls(other_ca(), &[]);
    let mailer = mailer(&format!(
        "host = \"127.0.0.1\"\nport = {}\nca_file = \"{}\"\nfrom = \"mfa@corp.example\"\n\
         timeout_secs = 5\n",
        sink.port,
        certs().join("ca.pem").display()
    ));
    match mailer.send(&invitation(Method::Totp)).await {
        Err(e @ EmailError::Transient(_)) => {
            assert!(e.is_transient());
            assert!(e.to_string().contains("certificate"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_name_is_refused() {
    // The test certificate names 127.0.0.1 and localhost, not 127.0.0.2.
    let sink = SmtpSink::starttls(certs(), &["--host", "127.0.0.2"]);
    let mailer = mailer(&format!(
        "host = \"127.0.0.2\"\nport = {}\nca_file = \"{}\"\nfrom = \"mfa@corp.example\"\n\
         timeout_secs = 5\n",
        sink.port,
        certs().join("ca.pem").display()
    ));
    match mailer.send(&invitation(Method::Totp)).await {
        Err(EmailError::Transient(m)) => assert!(m.contains("certificate"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_is_required_not_opportunistic() {
    // A server (or a man in the middle) that offers no STARTTLS gets no mail in clear.
    let sink = SmtpSink::start(&[]);
    let mailer = mailer(&format!(
        "host = \"127.0.0.1\"\nport = {}\nfrom = \"mfa@corp.example\"\ntimeout_secs = 5\n",
        sink.port
    ));
    match mailer.send(&invitation(Method::Totp)).await {
        Err(EmailError::Transient(m)) => assert!(m.contains("STARTTLS"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_on_its_own_port() {
    let (cert, key) = (certs().join("server.pem"), certs().join("server.key"));
    let sink = SmtpSink::start(&[
        "--tls",
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        "--auth",
        &format!("{SMTP_USER}:{SMTP_PASS}"),
    ]);
    let cfg = relay(sink.port, SMTP_PASS).replace("tls = \"starttls\"", "tls = \"tls\"");
    mailer(&cfg).send(&invitation(Method::Phone)).await.unwrap();
    let m = sink.message(0);
    assert_eq!(
        (m["tls"].clone(), m["auth"].clone()),
        (true.into(), SMTP_USER.into())
    );
    assert!(m["body"]
        .as_str()
        .unwrap()
        .contains("Vi ringer till din telefon ***-**67."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_login_error_not_the_users() {
    let sink = auth_sink();
    let mailer = mailer(&relay(sink.port, "Not-The-Pa55word"));
    match mailer.send(&invitation(Method::Totp)).await {
        Err(e @ EmailError::Auth(_)) => {
            assert!(!e.is_transient());
            assert!(e.to_string().contains("535"), "{e}");
            assert!(!e.to_string().contains("Not-The-Pa55word"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_is_rejected_and_an_absent_server_is_transient() {
    let sink = SmtpSink::starttls(certs(), &["--reject-rcpt", "gone@corp.example"]);
    let cfg = format!(
        "host = \"127.0.0.1\"\nport = {}\nca_file = \"{}\"\nfrom = \"mfa@corp.example\"\n\
         timeout_secs = 5\n",
        sink.port,
        certs().join("ca.pem").display()
    );
    let inv = Invitation {
        to: "gone@corp.example",
        ..invitation(Method::Totp)
    };
    match mailer(&cfg).send(&inv).await {
        Err(EmailError::Rejected(m)) => assert!(m.contains("550"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(sink.messages().is_empty());
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = cfg.replace(&format!("port = {}", sink.port), &format!("port = {port}"));
    match mailer(&cfg).send(&invitation(Method::Totp)).await {
        Err(EmailError::Transient(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tls_only_to_a_local_relay() {
    let sink = SmtpSink::start(&[]);
    let cfg = load(&format!(
        "host = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"mfa@corp.example\"\n",
        sink.port
    ))
    .unwrap();
    assert!(
        cfg.warnings.iter().any(|w| w.starts_with("email.tls")),
        "{:?}",
        cfg.warnings
    );
    let mailer = Mailer::new(cfg.email.as_ref().unwrap()).unwrap();
    mailer.send(&invitation(Method::Totp)).await.unwrap();
    assert_eq!(sink.message(0)["tls"], false);

    let e = load("host = \"smtp.corp.example\"\ntls = \"none\"\nfrom = \"mfa@corp.example\"\n")
        .err()
        .unwrap_or_default();
    assert!(e.starts_with("email.tls: "), "{e}");
    let e = load("host = \"10.1.2.3\"\ntls = \"none\"\nfrom = \"mfa@corp.example\"\n")
        .err()
        .unwrap_or_default();
    assert!(e.starts_with("email.tls: "), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_names_an_unknown_placeholder_and_its_file() {
    let dir = temp_dir("email-tpl");
    let tpl = dir.join("templates");
    std::fs::create_dir_all(&tpl).unwrap();
    std::fs::write(
        tpl.join("sv.toml"),
        "[totp]\nsubject = \"Hej {name}\"\ntext = \"Hej {nmae}, se {link}\"\n",
    )
    .unwrap();
    let path = dir.join("mfagate.toml");
    std::fs::write(
        &path,
        format!(
            "node_name = \"it\"\ndata_dir = \"{}\"\n[primary]\nbackend = \"local\"\n[email]\n\
             host = \"smtp.corp.example\"\nfrom = \"mfa@corp.example\"\ntemplates_dir = \"{}\"\n",
            dir.join("data").display(),
            tpl.display()
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    cmd.arg("check-config").arg("-c").arg(&path);
    let (ok, _, err) = run(cmd).await;
    assert!(!ok, "accepted");
    let file = tpl.join("sv.toml").display().to_string();
    assert!(
        err.contains(&format!(
            "email.templates_dir: {file}: [totp] text: unknown placeholder {{nmae}}"
        )),
        "{err}"
    );
    // Corrected, the same file is taken, and its subject is used.
    std::fs::write(tpl.join("sv.toml"), "[totp]\nsubject = \"Hej {name}\"\n").unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    cmd.arg("check-config").arg("-c").arg(&path);
    let (ok, out, err) = run(cmd).await;
    assert!(ok && out.contains(": OK"), "{out} {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commented_example_in_full_toml_is_valid() {
    let full = std::fs::read_to_string(repo().join("config/full.toml")).unwrap();
    let mut block = String::new();
    let mut inside = false;
    for line in full.lines() {
        if line == "# [email]" {
            inside = true;
        } else if inside && !line.starts_with('#') {
            break;
        }
        if inside {
            block.push_str(
                line.strip_prefix("# ")
                    .unwrap_or(line.trim_start_matches('#')),
            );
            block.push('\n');
        }
    }
    assert!(
        block.starts_with("[email]\n"),
        "no commented [email] block: {block}"
    );
    // The example's files, made real here.
    let pw = secret_file(SMTP_PASS);
    let mut email = String::new();
    for line in block.lines().skip(1) {
        let key = line.split('=').next().unwrap_or_default().trim();
        let line = match key {
            "ca_file" => format!("ca_file = \"{}\"", certs().join("ca.pem").display()),
            "secret_file" => format!("secret_file = \"{}\"", pw.display()),
            "templates_dir" => format!(
                "templates_dir = \"{}\"",
                repo().join("src/email/templates").display()
            ),
            _ => line.to_owned(),
        };
        email.push_str(&line);
        email.push('\n');
    }
    for key in [
        "host",
        "tls",
        "ca_file",
        "username",
        "secret_file",
        "from",
        "language",
    ] {
        assert!(
            email.lines().any(|l| l.starts_with(&format!("{key} ="))),
            "{key} is not in the example: {email}"
        );
    }
    let cfg = load(&email).unwrap_or_else(|e| panic!("{e}\n{email}"));
    assert!(cfg.email.is_some());
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

/// `mfagate doctor` logs in to the SMTP server as a send would, and loads the portal's
/// certificate; a wrong SMTP password is a failed check with its fix, never printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_smtp_login_and_the_portal_certificate() {
    let auth = format!("{SMTP_USER}:{SMTP_PASS}");
    let sink = SmtpSink::starttls(certs(), &["--auth", &auth]);
    let dir = temp_dir("doctor-email");
    let portal_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let write = |password: &str| {
        let path = dir.join(format!("doctor-{}.toml", password.len()));
        let c = certs();
        let text = format!(
            "node_name = \"doc\"\ndata_dir = \"{data}\"\n[primary]\nbackend = \"local\"\n\n\
             [email]\n{relay}\n[portal]\nlisten = \"127.0.0.1:{portal_port}\"\n\
             public_url = \"https://127.0.0.1:{portal_port}\"\ncert_file = \"{cert}\"\n\
             key_file = \"{key}\"\n",
            data = dir.join("data").display(),
            relay = relay(sink.port, password),
            cert = c.join("server.pem").display(),
            key = c.join("server.key").display(),
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let doctor = |cfg: PathBuf| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
        cmd.arg("doctor").arg("-c").arg(cfg);
        cmd
    };
    let (ok, out, err) = run(doctor(write(SMTP_PASS))).await;
    assert!(ok, "{out}{err}");
    for line in [
        format!(
            "[ ok ] email 127.0.0.1:{}: connected, certificate verified, login accepted",
            sink.port
        ),
        format!("[ ok ] portal 127.0.0.1:{portal_port} certificate: certificate and key load"),
        "all checks passed".into(),
    ] {
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
    let wrong = "Not-the-relay-password-1";
    let (ok, out, _) = run(doctor(write(wrong))).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("[FAIL] email 127.0.0.1:{}", sink.port)),
        "{out}"
    );
    assert!(out.contains("fix: check email.username"), "{out}");
    assert!(
        !out.contains(wrong) && !out.contains(SMTP_PASS),
        "no password in the report"
    );
    assert!(sink.messages().is_empty(), "a check sends nothing");
}
