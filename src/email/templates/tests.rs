use super::*;

fn shipped() -> Templates {
    let mut w = Vec::new();
    let t = Templates::load(None, &mut w).unwrap_or_else(|e| panic!("{e}"));
    assert!(w.is_empty(), "{w:?}");
    t
}

const FULL: Values<'static> = Values {
    name: "Sam Smith",
    user: "sam",
    phone: Some("***-**12"),
    link: Some("https://mfa.corp.example/enrol?t=abc123"),
    expires: Some("2026-11-24 12:00 UTC"),
};

fn pieces(src: &str) -> Result<Vec<Piece>, String> {
    parse_pieces(src)
}

#[test]
fn placeholders_good_unknown_unclosed_and_literal_braces() {
    let p = pieces("Hi {name}, {user}{phone} {link} {expires}.").unwrap_or_else(|e| panic!("{e}"));
    let vars: Vec<Var> = p
        .iter()
        .filter_map(|p| match p {
            Piece::Var(v) => Some(*v),
            Piece::Text(_) => None,
        })
        .collect();
    assert_eq!(
        vars,
        [Var::Name, Var::User, Var::Phone, Var::Link, Var::Expires]
    );
    let e = pieces("Hi {nmae}").err().unwrap_or_default();
    assert!(e.contains("unknown placeholder {nmae}"), "{e}");
    let e = pieces("Hi { name }").err().unwrap_or_default();
    assert!(e.contains("unknown placeholder { name }"), "{e}");
    let e = pieces("Hi {name").err().unwrap_or_default();
    assert!(e.contains("unclosed"), "{e}");
    let e = pieces("a } b").err().unwrap_or_default();
    assert!(e.contains("lone"), "{e}");
    let p = pieces("a{{b}}c {{name}}").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(p.as_slice(), [Piece::Text(t)] if t == "a{b}c {name}"),
        "{p:?}"
    );
    // Non-ASCII before and after a placeholder (byte offsets vs characters).
    let p =
        pieces("Hej {name}! Länken gäller till {expires}. Åäö").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.len(), 5, "{p:?}");
    assert!(matches!(&p[4], Piece::Text(t) if t == ". Åäö"), "{p:?}");
    // An unclosed brace in one paragraph is not closed by the next one's.
    let e = parse_part("a {name\n\nb}", "text", "f.toml", Method::Totp)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.starts_with("f.toml: [totp] text: unclosed"), "{e}");
    let e = parse_part("two\nlines", "subject", "f.toml", Method::Sms)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("[sms] subject: must be one line"), "{e}");
}

#[test]
fn html_values_are_escaped_and_text_values_are_not() {
    let t = shipped();
    let v = Values {
        name: "<script>alert(\"x\")</script> & 'co'",
        link: Some("https://mfa.corp.example/e?a=1&b=\"2\"><script>"),
        ..FULL
    };
    let r = t.render(Language::En, Method::Totp, &v);
    assert!(!r.html.contains("<script>"), "{}", r.html);
    assert!(
        r.html
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;"),
        "{}",
        r.html
    );
    assert!(
        r.html.contains(
            "href=\"https://mfa.corp.example/e?a=1&amp;b=&quot;2&quot;&gt;&lt;script&gt;\""
        ),
        "{}",
        r.html
    );
    assert!(r
        .text
        .contains("Hello <script>alert(\"x\")</script> & 'co',"));
    assert_eq!(
        escape_html("a<b>&\"'"),
        "a&lt;b&gt;&amp;&quot;&#39;".to_owned()
    );
}

#[test]
fn subject_values_lose_control_characters() {
    let dir = std::env::temp_dir().join(format!("mfagate-tpl-subj-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("en.toml"),
        "[totp]\nsubject = \"Welcome {name}\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t = Templates::load(Some(&dir), &mut Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    let v = Values {
        name: "Eve\r\nBcc: evil@example.com\u{7}\u{2028}\t!",
        ..FULL
    };
    let r = t.render(Language::En, Method::Totp, &v);
    assert_eq!(r.subject, "Welcome EveBcc: evil@example.com!");
    assert!(!r.text.contains('\r') && !r.html.contains('\r'));
    assert_eq!(strip_controls("a\u{0}b\u{85}c\u{7f}d"), "abcd");
}

#[test]
fn every_shipped_language_and_method_resolves_every_placeholder() {
    let t = shipped();
    for lang in Language::ALL {
        for m in METHODS {
            let r = t.render(lang, m, &FULL);
            let what = format!("{} {}", lang.as_str(), m.as_str());
            for (part, s) in [
                ("subject", &r.subject),
                ("text", &r.text),
                ("html", &r.html),
            ] {
                assert!(!s.contains('{') && !s.contains('}'), "{what} {part}: {s}");
                assert!(!s.trim().is_empty(), "{what} {part} empty");
            }
            assert!(!r.subject.contains('\n'), "{what}");
            for s in [&r.text, &r.html] {
                assert!(s.contains("Sam Smith") && s.contains("sam"), "{what}: {s}");
                assert!(s.contains(FULL.link.unwrap_or_default()), "{what}: {s}");
                assert!(s.contains("2026-11-24 12:00 UTC"), "{what}: {s}");
                // TOTP and privacyIDEA say nothing about a phone number.
                let wants_phone = matches!(m, Method::Sms | Method::Push | Method::Phone);
                assert_eq!(s.contains("***-**12"), wants_phone, "{what}: {s}");
            }
            assert!(
                r.html
                    .contains(&format!("<html lang=\"{}\">", lang.as_str())),
                "{what}"
            );
            assert!(
                r.html
                    .contains("<a href=\"https://mfa.corp.example/enrol?t=abc123\">"),
                "{what}"
            );
        }
    }
}

#[test]
fn without_a_link_its_paragraphs_are_left_out() {
    let t = shipped();
    let v = Values {
        link: None,
        phone: None,
        ..FULL
    };
    for lang in Language::ALL {
        for m in METHODS {
            let r = t.render(lang, m, &v);
            let what = format!("{} {}", lang.as_str(), m.as_str());
            for s in [&r.text, &r.html] {
                assert!(!s.contains('{'), "{what}: {s}");
                assert!(!s.contains("https://"), "{what}: {s}");
                // The expiry belongs to the link: no dangling date.
                assert!(!s.contains("2026-11-24"), "{what}: {s}");
                assert!(!s.contains("***"), "{what}: {s}");
                assert!(!s.contains("\n\n\n"), "{what}: blank lines pile up: {s}");
                assert!(s.contains("Sam Smith"), "{what}: {s}");
            }
            assert!(!r.html.contains("<a href"), "{what}");
            assert!(r.html.trim_end().ends_with("</html>"), "{what}");
        }
    }
    // English SMS without the phone: the sentence with the number goes, the rest stays.
    let r = t.render(
        Language::En,
        Method::Sms,
        &Values {
            phone: None,
            ..FULL
        },
    );
    assert!(!r.text.contains("at ***"), "{}", r.text);
    assert!(r.text.contains("one-time code"), "{}", r.text);
    assert!(r.text.contains(FULL.link.unwrap_or_default()));
}

#[test]
fn sample_swedish_text_reads_as_written() {
    let r = shipped().render(Language::Sv, Method::Totp, &FULL);
    assert_eq!(r.subject, "Åtgärd krävs: aktivera tvåstegsverifiering");
    assert!(
        r.text
            .starts_with("Hej Sam Smith!\n\nDitt konto sam kräver nu tvåstegsverifiering"),
        "{}",
        r.text
    );
    assert!(r.text.contains(
        "Slutför registreringen i portalen:\nhttps://mfa.corp.example/enrol?t=abc123\n\n\
         Länken gäller till 2026-11-24 12:00 UTC."
    ));
    assert!(r.text.ends_with("meddelande.\n"));
}

#[test]
fn an_override_replaces_only_the_parts_it_gives() {
    let dir = std::env::temp_dir().join(format!("mfagate-tpl-over-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("sv.toml"),
        "[totp]\nsubject = \"Välkommen {name}\"\n\n[push]\nhtml = '''<p>{{egen}} {link}</p>'''\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("notes.txt"), "not a template").unwrap_or_else(|e| panic!("{e}"));
    let mut w = Vec::new();
    let t = Templates::load(Some(&dir), &mut w).unwrap_or_else(|e| panic!("{e}"));
    assert!(w.is_empty(), "{w:?}");
    let base = shipped();
    let r = t.render(Language::Sv, Method::Totp, &FULL);
    let b = base.render(Language::Sv, Method::Totp, &FULL);
    assert_eq!(r.subject, "Välkommen Sam Smith");
    assert_eq!(
        (&r.text, &r.html),
        (&b.text, &b.html),
        "text and html shipped"
    );
    let r = t.render(Language::Sv, Method::Push, &FULL);
    let b = base.render(Language::Sv, Method::Push, &FULL);
    assert_eq!(
        r.html,
        "<p>{egen} https://mfa.corp.example/enrol?t=abc123</p>\n"
    );
    assert_eq!((&r.subject, &r.text), (&b.subject, &b.text));
    for (lang, m) in [(Language::Sv, Method::Sms), (Language::En, Method::Totp)] {
        assert_eq!(t.render(lang, m, &FULL), base.render(lang, m, &FULL));
    }
}

#[test]
fn an_override_with_a_bad_placeholder_or_key_is_refused_naming_it() {
    let dir = std::env::temp_dir().join(format!("mfagate-tpl-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("en.toml");
    let load = |text: &str| {
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
        Templates::load(Some(&dir), &mut Vec::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let e = load("[phone]\nhtml = \"<p>{nmae}</p>\"\n");
    assert_eq!(
        e,
        format!(
            "{}: [phone] html: unknown placeholder {{nmae}} (known: {KNOWN})",
            file.display()
        )
    );
    let e = load("[sms]\ntext = \"Your number {phone\"\n");
    assert!(e.contains("[sms] text: unclosed"), "{e}");
    let e = load("[sms]\nbody = \"x\"\n");
    assert!(
        e.starts_with(&file.display().to_string()) && e.contains("body"),
        "{e}"
    );
    let e = load("[fax]\ntext = \"x\"\n");
    assert!(e.contains("fax"), "{e}");
    let e = load("[totp]\nsubject = \"\"\n");
    assert!(e.contains("[totp] subject: empty"), "{e}");
}

#[test]
fn languages() {
    assert_eq!(Language::parse("sv"), Some(Language::Sv));
    assert_eq!(Language::parse("sv-SE"), Some(Language::Sv));
    assert_eq!(Language::parse("NL_be"), Some(Language::Nl));
    assert_eq!(Language::parse("en"), Some(Language::En));
    assert_eq!(Language::parse("de"), None);
    assert_eq!(Language::parse(""), None);
}
