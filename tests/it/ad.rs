//! Active Directory as the primary, against the real Samba AD DC that `scripts/test.sh`
//! starts once per run (`scripts/start-samba-ad.sh`; the accounts are seeded there).
//!
//! The DC is shared by tests running in parallel and locks an account after 3 bad passwords,
//! so each test uses its own accounts and at most one bad password per account before a
//! successful login resets the count.

use std::time::Duration;

use mfagate::radius::codec::*;

use crate::harness::*;

use crate::harness::ad_env as env;

fn pw(sam: &str) -> String {
    format!("Passw0rd-{sam}!")
}

async fn start_ad(urls: &[String], starttls: bool) -> Gateway {
    let primary = ad_primary(urls, starttls, &env("AD_CA_PEM"));
    start_with_primary("otp_mode = \"append\"", "", &primary).await
}

async fn login(gw: &Gateway, name: &str, password: &str, seed: &[u8], step: i64) -> String {
    let r = pap(
        gw,
        name,
        &format!("{password},{}", gw.code(seed, step)),
        None,
    )
    .await;
    r["code"].as_str().unwrap_or("?").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_name_forms_and_account_states() {
    let gw = start_ad(&[env("AD_LDAPS_URL")], false).await;
    let alice = enrol(&gw, "alice").await;
    let bob = enrol(&gw, "bob.smith").await;
    // One wrong password first (a later success resets AD's count).
    assert_eq!(
        login(&gw, "alice", "not-her-password", &alice, 0).await,
        "Access-Reject"
    );
    assert_eq!(
        gw.auth_log().pop().unwrap().reason,
        "wrong password (AD 52e)"
    );
    // Each name form, each with a fresh code (a code is good once).
    let realm = env("AD_REALM");
    let nb = env("AD_NETBIOS");
    let forms = [
        ("alice".to_string(), -1),
        (format!("{nb}\\alice"), 0),
        (format!("alice@{realm}"), 1),
    ];
    for (name, step) in forms {
        assert_eq!(
            login(&gw, &name, &pw("alice"), &alice, step).await,
            "Access-Accept",
            "{name}"
        );
        let rec = gw.auth_log().pop().unwrap();
        assert_eq!(rec.user, "alice", "{name} maps to the same user");
    }
    // A non-ASCII account name, typed in another case.
    let jurgen = enrol(&gw, "jürgen").await;
    assert_eq!(
        login(&gw, &format!("{nb}\\JÜRGEN"), &pw("jürgen"), &jurgen, 0).await,
        "Access-Accept"
    );
    assert_eq!(gw.auth_log().pop().unwrap().user, "jürgen");
    // An empty password is refused before anything reaches AD (Samba, unlike AD, would say
    // 52e; AD would treat it as an anonymous bind that "succeeds").
    let r = pap(&gw, "alice", &format!(",{}", gw.code(&alice, 1)), None).await;
    assert_eq!(r["code"], "Access-Reject");
    assert_eq!(gw.auth_log().pop().unwrap().reason, "empty password");
    // UPN differing from sAMAccountName.
    assert_eq!(
        login(&gw, &format!("robert@{realm}"), &pw("bob.smith"), &bob, 0).await,
        "Access-Accept"
    );

    // Every AD refusal is the same bare Access-Reject; the log has the sub-code.
    let states = [
        ("dave.disabled", "account disabled in AD (533)"),
        ("erin.expired", "account expired in AD (701)"),
        ("frank.mustchange", "password must be changed in AD (773)"),
        ("gina.locked", "account locked out in AD (775)"),
    ];
    for (sam, reason) in states {
        let seed = enrol(&gw, sam).await;
        let r = pap(
            &gw,
            sam,
            &format!("{},{}", pw(sam), gw.code(&seed, 0)),
            None,
        )
        .await;
        assert_eq!(r["code"], "Access-Reject", "{sam}");
        assert_eq!(r["reply_message"], serde_json::Value::Null);
        assert_eq!(gw.auth_log().pop().unwrap().reason, reason, "{sam}");
    }
    let others = [
        ("nobody-at-all", "unknown user"),
        ("OTHER\\alice", "login name outside the configured domains"),
        (
            "alice@elsewhere.example",
            "login name outside the configured domains",
        ),
        // In AD with the right password, but no mfagate record (unknown_users = reject).
        ("carol", "password accepted, but the user is not in mfagate"),
    ];
    for (name, reason) in others {
        let password = if name == "carol" {
            pw("carol")
        } else {
            "x-password".into()
        };
        let r = pap(&gw, name, &format!("{password},123456"), None).await;
        assert_eq!(r["code"], "Access-Reject", "{name}");
        assert_eq!(gw.auth_log().pop().unwrap().reason, reason, "{name}");
    }
    gw.stop().await;
}

/// badPwdCount of an account, read with OpenLDAP's ldapsearch as the service account.
async fn bad_pwd_count(sam: &str) -> u32 {
    let mut cmd = std::process::Command::new("ldapsearch");
    cmd.env("LDAPTLS_CACERT", env("AD_CA_PEM"))
        .args([
            "-LLL",
            "-x",
            "-H",
            &env("AD_LDAPS_URL"),
            "-D",
            &env("AD_BIND_DN"),
            "-w",
            &env("AD_BIND_PASSWORD"),
        ])
        .args([
            "-b",
            &env("AD_BASE_DN"),
            &format!("(sAMAccountName={sam})"),
            "badPwdCount",
        ]);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "ldapsearch: {err}");
    out.lines()
        .find_map(|l| l.strip_prefix("badPwdCount: "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_retransmit_burst_causes_one_bind() {
    let gw = start_ad(&[env("AD_LDAPS_URL")], false).await;
    let seed = enrol(&gw, "carol").await;
    let before = bad_pwd_count("carol").await;
    let mut ra = [0u8; 16];
    getrandom_fill(&mut ra);
    let mut attrs = Vec::new();
    push_attr(&mut attrs, ATTR_USER_NAME, b"carol");
    push_attr(
        &mut attrs,
        ATTR_USER_PASSWORD,
        &hide_user_password(b"wrong-password,123456", SECRET.as_bytes(), &ra),
    );
    let pkt = encode_request(ACCESS_REQUEST, 77, &ra, &attrs, SECRET.as_bytes(), true).unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A NAS retransmitting impatiently: 8 copies, some while AD is still answering.
    let mut replies = Vec::new();
    for _ in 0..8 {
        sock.send_to(&pkt, gw.addr).await.unwrap();
        let mut buf = [0u8; 4096];
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(100), sock.recv_from(&mut buf)).await
        {
            replies.push(buf[..n].to_vec());
        }
    }
    assert!(!replies.is_empty());
    assert!(
        replies.windows(2).all(|w| w[0] == w[1]),
        "every answer is the same cached reply"
    );
    assert_eq!(
        bad_pwd_count("carol").await,
        before + 1,
        "one bind for one login"
    );
    assert_eq!(gw.auth_log().len(), 1);
    // A good login resets AD's count for the next run.
    assert_eq!(
        login(&gw, "carol", &pw("carol"), &seed, 0).await,
        "Access-Accept"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_failover_starttls_and_unreachable() {
    // First DC dead (closed port): the login still succeeds through the second.
    let gw = start_ad(&["ldaps://127.0.0.1:1".into(), env("AD_LDAPS_URL")], false).await;
    let seed = enrol(&gw, "henry.svc").await;
    let t = std::time::Instant::now();
    assert_eq!(
        login(&gw, "henry.svc", &pw("henry.svc"), &seed, 0).await,
        "Access-Accept"
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "failover within the timeout"
    );
    gw.stop().await;

    // Plain LDAP upgraded with StartTLS.
    let gw = start_ad(&[env("AD_LDAP_URL")], true).await;
    let seed = enrol(&gw, "ivan.denied").await;
    assert_eq!(
        login(&gw, "ivan.denied", &pw("ivan.denied"), &seed, 0).await,
        "Access-Accept"
    );
    gw.stop().await;

    // No DC reachable: no answer at all, so the NAS fails over; nothing decided.
    let gw = start_ad(&["ldaps://127.0.0.1:1".into()], false).await;
    let seed = enrol(&gw, "henry.svc").await;
    let r = pap(
        &gw,
        "henry.svc",
        &format!("{},{}", pw("henry.svc"), gw.code(&seed, 1)),
        None,
    )
    .await;
    assert_eq!(r["code"], "timeout");
    assert!(gw.auth_log().is_empty());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_certificate_is_verified() {
    // A CA that did not issue the DC's certificate: TLS fails, nothing is sent, no answer.
    let dir = temp_dir("ca");
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=not-the-test-ca",
    ])
    .arg("-keyout")
    .arg(dir.join("key.pem"))
    .arg("-out")
    .arg(dir.join("ca.pem"));
    let (ok, _, err) = run(cmd).await;
    assert!(ok, "openssl: {err}");
    let primary = ad_primary(
        &[env("AD_LDAPS_URL")],
        false,
        &dir.join("ca.pem").display().to_string(),
    );
    let gw = start_with_primary("otp_mode = \"append\"", "", &primary).await;
    let seed = enrol(&gw, "kate.other").await;
    let r = pap(
        &gw,
        "kate.other",
        &format!("{},{}", pw("kate.other"), gw.code(&seed, 0)),
        None,
    )
    .await;
    assert_eq!(r["code"], "timeout");
    assert_eq!(
        gw.radius
            .stats
            .unanswered_errors
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    gw.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_group_policy_first_match_wins() {
    let primary = ad_primary(&[env("AD_LDAPS_URL")], false, &env("AD_CA_PEM"));
    let policy = format!(
        r#"{primary}
[auth]
unknown_users = "bypass"

[[policy]]
name = "other client is closed"
clients = ["other"]
action = "deny"

[[policy]]
name = "service accounts"
groups = ["{bypass}"]
action = "bypass"

[[policy]]
name = "blocked"
groups = ["{deny}"]
action = "deny"

[[policy]]
name = "mfa users"
groups = ["{mfa}"]
action = "mfa"

[[policy]]
name = "everyone else"
action = "deny"
"#,
        bypass = env("AD_GROUP_VPN_BYPASS"),
        deny = env("AD_GROUP_VPN_DENY"),
        mfa = env("AD_GROUP_MFA_USERS"),
    );
    // Challenge mode: a bypass must answer the password alone with Access-Accept.
    let gw = start_with_primary("", "", &policy).await;
    let last = |gw: &Gateway| gw.auth_log().pop().unwrap();

    // Bypass by group: password only, no mfagate record needed.
    let r = pap(&gw, "henry.svc", &pw("henry.svc"), None).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let rec = last(&gw);
    assert_eq!(
        (rec.reason.as_str(), rec.policy.as_deref()),
        ("password only: bypass by policy", Some("service accounts"))
    );
    // Deny by group, even with the right password.
    let r = pap(&gw, "ivan.denied", &pw("ivan.denied"), None).await;
    assert_eq!(r["code"], "Access-Reject");
    assert_eq!(last(&gw).policy.as_deref(), Some("blocked"));
    // Nested member of mfa-users (through mfa-nested): password, then the code.
    let seed = enrol(&gw, "kate.other").await;
    let r = pap(&gw, "kate.other", &pw("kate.other"), None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let r = pap(&gw, "kate.other", &gw.code(&seed, 0), r["state"].as_str()).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(last(&gw).policy.as_deref(), Some("mfa users"));
    // In mfa-users but not in mfagate: unknown_users = bypass lets the password alone in.
    let r = pap(&gw, "carol", &pw("carol"), None).await;
    assert_eq!(r["code"], "Access-Accept");
    assert_eq!(
        last(&gw).reason,
        "password only: not in mfagate (unknown_users = bypass)"
    );
    // In no listed group: the catch-all denies.
    let r = pap(&gw, "robert@test.local", &pw("bob.smith"), None).await;
    assert_eq!(r["code"], "Access-Reject");
    assert_eq!(last(&gw).policy.as_deref(), Some("everyone else"));
    // The client rule comes first: even the bypass account is refused from 127.0.0.2.
    let c = raw_pap(
        gw.addr,
        "127.0.0.2:0",
        OTHER_SECRET,
        "henry.svc",
        &pw("henry.svc"),
        None,
    )
    .await;
    assert_eq!(c, Some(ACCESS_REJECT));
    assert_eq!(last(&gw).policy.as_deref(), Some("other client is closed"));
    // A wrong password never reaches the rules.
    let r = pap(&gw, "henry.svc", "not-the-password", None).await;
    assert_eq!(r["code"], "Access-Reject");
    let rec = last(&gw);
    assert_eq!(
        (rec.reason.as_str(), rec.policy),
        ("wrong password (AD 52e)", None)
    );
    // henry.svc had one bad password; a good login resets AD's count.
    let r = pap(&gw, "henry.svc", &pw("henry.svc"), None).await;
    assert_eq!(r["code"], "Access-Accept");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_each_dc_check_with_a_fix() {
    let mfagate = || std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    // A healthy configuration, with the daemon running.
    let gw = start_ad(&[env("AD_LDAPS_URL")], false).await;
    let mut cmd = mfagate();
    cmd.arg("doctor").arg("-c").arg(&gw.config_path);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "{out}{err}");
    let url = env("AD_LDAPS_URL");
    for line in [
        "[ ok ] daemon: running".to_string(),
        format!("[ ok ] AD {url} TLS: connected, certificate verified"),
        format!("[ ok ] AD {url} bind: service account"),
        format!("[ ok ] AD {url} search: base_dn"),
        "all checks passed".to_string(),
    ] {
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
    gw.stop().await;

    // A dead DC, and a wrong service-account password on the live one.
    let dir = temp_dir("doctor");
    let primary = ad_primary(
        &["ldaps://127.0.0.1:1".into(), url.clone()],
        false,
        &env("AD_CA_PEM"),
    )
    .replace("AD_BIND_PASSWORD", "MFAGATE_TEST_WRONG_BIND_PW");
    let cfg = dir.join("doctor.toml");
    std::fs::write(
        &cfg,
        format!(
            "node_name = \"doc\"\ndata_dir = \"{}\"\n{primary}",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let mut cmd = mfagate();
    cmd.env("MFAGATE_TEST_WRONG_BIND_PW", "definitely-wrong")
        .arg("doctor")
        .arg("-c")
        .arg(&cfg);
    let (ok, out, _) = run(cmd).await;
    assert!(!ok);
    assert!(out.contains("[FAIL] AD ldaps://127.0.0.1:1 TLS:"), "{out}");
    assert!(out.contains("fix: nothing listens there"), "{out}");
    assert!(out.contains(&format!("[ ok ] AD {url} TLS")), "{out}");
    assert!(out.contains(&format!("[FAIL] AD {url} bind:")), "{out}");
    assert!(out.contains("fix: check primary.ad.bind_dn"), "{out}");
    assert!(out.contains("2 check(s) failed"), "{out}");
    assert!(!out.contains("definitely-wrong"), "no secret in the report");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_attributes_by_ad_group_reach_the_nas() {
    let primary = format!(
        r#"{}
[[reply]]
name = "asa admins"
groups = ["{}"]
attributes = {{ Class = "OU=vpn-admins;", Cisco-AVPair = ["ip:inacl#1=permit ip any any", "shell:priv-lvl=15"], Session-Timeout = 28800 }}

[[reply]]
name = "everyone"
attributes = {{ Fortinet-Group-Name = "vpn-staff", PaloAlto-User-Group = "staff", Filter-Id = "staff" }}
"#,
        ad_primary(&[env("AD_LDAPS_URL")], false, &env("AD_CA_PEM")),
        env("AD_GROUP_MFA_USERS"),
    );
    let gw = start_with_primary("otp_mode = \"append\"", "", &primary).await;
    let alice = enrol(&gw, "alice").await;
    let kate = enrol(&gw, "kate.other").await;
    let lily = enrol(&gw, "lily.ldap").await;
    let ask = |name: &str, seed: &[u8], step: i64| {
        format!(
            "User-Name = \"{name}\"\nUser-Password = \"{},{}\"\nMessage-Authenticator = 0x00\n",
            pw(name),
            gw.code(seed, step)
        )
    };
    // alice is in mfa-users; kate.other only through a nested group.
    for (name, seed) in [("alice", &alice), ("kate.other", &kate)] {
        let (ok, out) = radclient(&gw.server(), SECRET, "auth", &ask(name, seed, 0)).await;
        assert!(ok && out.contains("Access-Accept"), "{name}: {out}");
        assert!(
            out.contains("Class = 0x4f553d76706e2d61646d696e733b"),
            "{out}"
        );
        assert!(
            out.contains("Cisco-AVPair = \"ip:inacl#1=permit ip any any\""),
            "{out}"
        );
        assert!(
            out.contains("Cisco-AVPair = \"shell:priv-lvl=15\""),
            "{out}"
        );
        assert!(out.contains("Session-Timeout = 28800"), "{out}");
        assert!(
            !out.contains("Fortinet-Group-Name"),
            "first rule only: {out}"
        );
    }
    let (ok, out) = radclient(&gw.server(), SECRET, "auth", &ask("lily.ldap", &lily, 0)).await;
    assert!(ok && out.contains("Access-Accept"), "{out}");
    assert!(out.contains("Fortinet-Group-Name = \"vpn-staff\""), "{out}");
    assert!(out.contains("PaloAlto-User-Group = \"staff\""), "{out}");
    assert!(out.contains("Filter-Id = \"staff\""), "{out}");
    // A wrong code: a bare reject, no attributes of any rule.
    let (_, out) = radclient(&gw.server(), SECRET, "auth", &ask("lily.ldap", &lily, 5)).await;
    assert!(
        out.contains("Access-Reject") && !out.contains("Filter-Id"),
        "{out}"
    );
    gw.stop().await;
}
