use super::*;
use crate::config::Config;

fn mailer(email: &str) -> Mailer {
    let text = format!(
        "node_name = \"t\"\ndata_dir = \"/nonexistent\"\n[primary]\nbackend = \"local\"\n[email]\n{email}"
    );
    let cfg =
        Config::from_toml(&text, std::path::Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    let email = cfg.email.unwrap_or_else(|| panic!("no [email]"));
    Mailer::new(&email).unwrap_or_else(|e| panic!("{e}"))
}

fn local() -> Mailer {
    mailer(
        "host = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"MFA Gateway <mfa@corp.example>\"\n\
         reply_to = \"helpdesk@corp.example\"\nlanguage = \"nl\"\n",
    )
}

const INV: Invitation<'static> = Invitation {
    user: "sam",
    display_name: Some("Sam Smith"),
    to: "sam@corp.example",
    method: Method::Totp,
    phone: Some("+46 70 123 45 67"),
    link: Some("https://mfa.corp.example/enrol?t=abc"),
    expires: Some("2026-11-24 12:00"),
    language: Some("en"),
};

fn formatted(m: &Message) -> String {
    String::from_utf8_lossy(&m.formatted()).into_owned()
}

/// The value of the first header `name` (case-insensitive) in the header block.
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(o) = out.as_mut() {
                o.push_str(line);
            }
            continue;
        }
        if out.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                out = Some(v.trim().to_owned());
            }
        }
    }
    out
}

#[test]
fn a_mail_has_its_headers_and_both_parts() {
    let m = local().render(&INV).unwrap_or_else(|e| panic!("{e}"));
    let raw = formatted(&m);
    assert_eq!(
        header(&raw, "From").as_deref(),
        Some("\"MFA Gateway\" <mfa@corp.example>")
    );
    assert_eq!(
        header(&raw, "To").as_deref(),
        Some("\"Sam Smith\" <sam@corp.example>")
    );
    assert_eq!(
        header(&raw, "Reply-To").as_deref(),
        Some("helpdesk@corp.example")
    );
    assert_eq!(
        header(&raw, "Subject").as_deref(),
        Some("Action required: set up two-step verification")
    );
    assert_eq!(
        header(&raw, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(header(&raw, "Date").is_some(), "{raw}");
    let id = header(&raw, "Message-ID").unwrap_or_default();
    assert!(
        id.starts_with('<') && id.ends_with("@corp.example>"),
        "{id}"
    );
    assert!(
        header(&raw, "Content-Type").is_some_and(|c| c.starts_with("multipart/alternative")),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/html; charset=utf-8"),
        "{raw}"
    );
    let env = m.envelope();
    assert_eq!(
        env.from().map(|a| a.to_string()).as_deref(),
        Some("mfa@corp.example")
    );
    let to: Vec<String> = env.to().iter().map(|a| a.to_string()).collect();
    assert_eq!(to, ["sam@corp.example"]);
    // Two distinct IDs for two mails.
    let again = formatted(&local().render(&INV).unwrap_or_else(|e| panic!("{e}")));
    assert_ne!(header(&again, "Message-ID"), Some(id));
}

#[test]
fn no_display_name_means_the_user_name_in_the_greeting_and_a_bare_address() {
    let inv = Invitation {
        display_name: Some("   "),
        ..INV
    };
    let mailer = local();
    let raw = formatted(&mailer.render(&inv).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(header(&raw, "To").as_deref(), Some("sam@corp.example"));
    let r = mailer.preview(&inv).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.text.starts_with("Hello sam,"), "{}", r.text);
}

#[test]
fn header_injection_through_the_recipient_is_refused() {
    let mailer = local();
    for (to, name) in [
        ("sam@corp.example\r\nBcc: evil@example.com", None),
        ("sam@corp.example", Some("Sam\r\nBcc: evil@example.com")),
        ("sam@corp.example", Some("Sam\nBcc: evil@example.com")),
        ("sam@corp.example", Some("Sam\u{0}")),
        ("sam@corp.example", Some("Sam\u{2028}Bcc: evil@example.com")),
        ("sam@corp.example, evil@example.com", None),
        ("Sam <sam@corp.example>", None),
        ("not-an-address", None),
        ("", None),
    ] {
        let inv = Invitation {
            to,
            display_name: name,
            ..INV
        };
        match mailer.render(&inv) {
            Err(EmailError::Address(_)) => {}
            other => panic!("{to:?} {name:?}: {other:?}"),
        }
    }
}

#[test]
fn the_link_must_be_a_web_address() {
    let mailer = local();
    for link in [
        "javascript:alert(1)",
        "https://x.example/a b",
        "https://x.example/\r\n",
    ] {
        let inv = Invitation {
            link: Some(link),
            ..INV
        };
        assert!(
            matches!(mailer.render(&inv), Err(EmailError::Invalid(_))),
            "{link:?}"
        );
    }
}

#[test]
fn the_phone_number_is_masked_everywhere() {
    let mailer = local();
    let inv = Invitation {
        method: Method::Sms,
        ..INV
    };
    let r = mailer.preview(&inv).unwrap_or_else(|e| panic!("{e}"));
    for s in [&r.subject, &r.text, &r.html] {
        assert!(!s.contains("123 45 67") && !s.contains("1234567"), "{s}");
    }
    assert!(
        r.text.contains("by text message at ***-**67."),
        "{}",
        r.text
    );
    assert!(r.html.contains("<strong>***-**67</strong>"), "{}", r.html);
    // A "phone" without a digit is no phone: its paragraph goes.
    let r = mailer
        .preview(&Invitation {
            phone: Some("n/a"),
            ..inv
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!r.text.contains("***"), "{}", r.text);
}

#[test]
fn the_language_is_the_users_else_the_configured_one() {
    let mailer = local();
    let subject = |language| {
        mailer
            .preview(&Invitation { language, ..INV })
            .map(|r| r.subject)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        subject(Some("sv-SE")),
        "Åtgärd krävs: aktivera tvåstegsverifiering"
    );
    assert_eq!(
        subject(None),
        "Actie vereist: stel verificatie in twee stappen in"
    );
    assert_eq!(subject(Some("de")), subject(None));
    // A non-ASCII subject is encoded (RFC 2047), never sent as raw 8-bit header text.
    let raw = formatted(
        &mailer
            .render(&Invitation {
                language: Some("sv"),
                ..INV
            })
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let s = header(&raw, "Subject").unwrap_or_default();
    assert!(s.starts_with("=?utf-8?"), "{s}");
    assert!(raw.is_ascii(), "the whole mail is 7-bit");
}

#[test]
fn the_password_is_in_no_debug_output() {
    let dir = std::env::temp_dir().join(format!("mfagate-mailer-pw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let pw = dir.join("pw");
    std::fs::write(&pw, "hunter2-smtp").unwrap_or_else(|e| panic!("{e}"));
    let m = mailer(&format!(
        "host = \"smtp.corp.example\"\nfrom = \"mfa@corp.example\"\nusername = \"mfa\"\n\
         secret_file = \"{}\"\n",
        pw.display()
    ));
    assert!(!format!("{m:?}").contains("hunter2"));
    assert!(!format!("{:?}", m.config()).contains("hunter2"));
    let raw = formatted(&m.render(&INV).unwrap_or_else(|e| panic!("{e}")));
    assert!(!raw.contains("hunter2"));
}

#[test]
fn only_transient_errors_are_worth_retrying() {
    assert!(EmailError::Transient("x".into()).is_transient());
    for e in [
        EmailError::Address("x".into()),
        EmailError::Rejected("x".into()),
        EmailError::Auth("x".into()),
        EmailError::Invalid("x".into()),
        EmailError::Setup("x".into()),
    ] {
        assert!(!e.is_transient(), "{e}");
    }
}
