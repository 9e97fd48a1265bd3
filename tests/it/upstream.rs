//! An upstream RADIUS server as the primary: a real FreeRADIUS 3.2 standing in for NPS
//! (`scripts/start-radius-upstream.sh`, started once per run by `scripts/test.sh`, with
//! its own secret), real clients (`tests/py/mschap_client.py`, which checks RFC 2759/3079
//! itself) and, for the second factor, the Duo fake. The upstream's hostile or silent
//! variants are sockets in the test, since no RADIUS server misbehaves on request.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::UdpSocket;

use crate::accounting::silent_server;
use crate::duo::{duo_factor_tail, DuoFake};
use crate::harness::*;
use mfagate::radius::codec::*;

/// The FreeRADIUS upstream of this run (`scripts/test.sh` exports where it is).
fn upstream() -> (String, String) {
    let addr = std::env::var("MFAGATE_UPSTREAM_ADDR").expect(
        "MFAGATE_UPSTREAM_ADDR is not set: run the tests through scripts/test.sh, which \
         starts the FreeRADIUS upstream (scripts/start-radius-upstream.sh)",
    );
    let secret = std::env::var("MFAGATE_UPSTREAM_SECRET")
        .unwrap_or_else(|_| "upstream-secret-0123456789".into());
    (addr, secret)
}

/// An `[[upstream]]` named "nps" over `servers` (address, secret).
fn upstream_section(servers: &[(String, String)], extra: &str) -> String {
    let mut s = format!("\n[[upstream]]\nname = \"nps\"\n{extra}\n");
    for (addr, secret) in servers {
        s += &format!("[[upstream.servers]]\naddress = \"{addr}\"\nsecret = \"{secret}\"\n");
    }
    s
}

const RADIUS_PRIMARY: &str = "[primary]\nbackend = \"radius\"\nupstream = \"nps\"\n";

/// One login by `method` (pap, chap, mschapv2) from the "vpn" client, with `extra` options
/// for `tests/py/mschap_client.py`; its JSON line.
async fn login(gw: &Gateway, method: &str, user: &str, password: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--method", method, "--user", user, "--password", password];
    args.extend_from_slice(extra);
    client(gw, &args).await
}

/// One request through `tests/py/mschap_client.py` from the "vpn" client; its JSON line.
async fn client(gw: &Gateway, args: &[&str]) -> Value {
    client_to(&gw.server(), SECRET, args).await
}

async fn client_to(server: &str, secret: &str, args: &[&str]) -> Value {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/mschap_client.py"))
        .args(["--server", server, "--secret", secret, "--enforce-ma"])
        .args(args);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "mschap_client.py failed: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bad JSON {out:?}: {e}; {err}"))
}

fn text_hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn has_attr(v: &Value, name: &str, want: &str) -> bool {
    v["attrs"].as_array().unwrap().iter().any(|a| {
        a[0] == name
            && (a[1] == want
                || a[1]
                    .as_array()
                    .is_some_and(|x| x.last() == Some(&json!(want))))
    })
}

fn reasons(gw: &Gateway) -> Vec<String> {
    gw.auth_log().iter().map(|a| a.reason.clone()).collect()
}

async fn add_user(gw: &Gateway, name: &str, method: mfagate::config::Method) {
    gw.admin(mfagate::admin::Request::UserAdd {
        name: name.into(),
        password: None,
        method: Some(method),
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pap_goes_upstream_and_the_accept_carries_its_attributes() {
    let (addr, secret) = upstream();
    let tail = upstream_section(&[(addr, secret)], "timeout_secs = 3");
    // Append mode: the password goes upstream, the code stays here.
    let gw = start_config("otp_mode = \"append\"", "", RADIUS_PRIMARY, &tail).await;
    let seed = enrol(&gw, "alice").await;
    let code = gw.code(&seed, 0);

    let r = login(&gw, "pap", "alice", &format!("alice-pass-1,{code}"), &[]).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(
        (r["ma_first"].clone(), r["ma_valid"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(r["class"], text_hex("upstream-class-alice"), "{r}");
    assert_eq!(r["filter_id"], "vpn-users");
    assert!(
        r["attrs"]
            .as_array()
            .unwrap()
            .contains(&json!(["Session-Timeout", 3600])),
        "{r}"
    );
    assert!(
        has_attr(&r, "Cisco-AVPair", &text_hex("shell:priv-lvl=15")),
        "vendor attributes pass: {r}"
    );
    // Salt-encrypted upstream with its secret, readable here with the client's.
    assert_eq!(r["tunnel_password"], "tunnel-secret-1", "{r}");

    // The same code again is a replay; a wrong password never reaches the code check.
    let again = login(&gw, "pap", "alice", &format!("alice-pass-1,{code}"), &[]).await;
    assert_eq!(again["code"], "Access-Reject");
    let wrong = login(
        &gw,
        "pap",
        "alice",
        &format!("wrong,{}", gw.code(&seed, 1)),
        &[],
    )
    .await;
    assert_eq!(wrong["code"], "Access-Reject");
    assert_eq!(
        wrong["attrs"].as_array().map(|a| a.len()),
        Some(1),
        "a bare reject: {wrong}"
    );
    let log = reasons(&gw);
    assert!(
        log[0].contains("code accepted") || log[0].contains("accepted"),
        "{log:?}"
    );
    assert!(
        log.last()
            .unwrap()
            .starts_with("rejected by upstream \"nps\""),
        "{log:?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pap_challenge_keeps_the_upstream_attributes_for_the_final_accept() {
    let (addr, secret) = upstream();
    let tail = upstream_section(&[(addr, secret)], "");
    let gw = start_config("", "", RADIUS_PRIMARY, &tail).await;
    let seed = enrol(&gw, "bob").await;
    let r = login(&gw, "pap", "bob", "bob-pass-1", &[]).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert!(
        r["filter_id"].is_null(),
        "nothing granted before the code: {r}"
    );
    let state = r["state"].as_str().unwrap().to_owned();
    let code = gw.code(&seed, 0);
    let r = login(&gw, "pap", "bob", &code, &["--state", &state]).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(r["filter_id"], "staff", "{r}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mschapv2_and_chap_are_relayed_and_a_push_follows() {
    let fake = DuoFake::start(&json!({"users": {
        "alice": {"preauth": "auth", "push": "allow", "delay_ms": 200},
        "bob": {"preauth": "auth", "push": "deny", "delay_ms": 200},
    }, "fault": null}));
    let (addr, secret) = upstream();
    let tail = duo_factor_tail(&fake, 5) + &upstream_section(&[(addr, secret)], "");
    let gw = start_config("", "", RADIUS_PRIMARY, &tail).await;
    add_user(&gw, "alice", mfagate::config::Method::Push).await;
    add_user(&gw, "bob", mfagate::config::Method::Push).await;
    enrol(&gw, "carol").await;

    let r = login(
        &gw,
        "mschapv2",
        "alice",
        "alice-pass-1",
        &["--proxy-state", "cafe01", "beef02"],
    )
    .await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(r["mschap2_success_ok"], true, "{r}");
    // The keys were hidden for the upstream's secret; the client reads them with ours.
    assert_eq!(r["mppe_keys_ok"], true, "{r}");
    assert_eq!(r["proxy_states"], json!(["cafe01", "beef02"]));
    assert_eq!(r["class"], text_hex("upstream-class-alice"), "{r}");
    assert_eq!(r["filter_id"], "vpn-users");
    assert_eq!(fake.factors("alice"), ["push"]);

    // A wrong password: the upstream's own MS-CHAP-Error, and no push.
    let r = login(&gw, "mschapv2", "alice", "nope", &[]).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert!(r["mschap_error"].as_str().unwrap().contains("E=691"), "{r}");
    assert_eq!(fake.factors("alice").len(), 1);

    // Right password, push denied: our reject says E=691 R=0 V=3.
    let r = login(&gw, "mschapv2", "bob", "bob-pass-1", &[]).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert_eq!(r["mschap_error"], "E=691 R=0 V=3", "{r}");
    assert!(r["mppe_send_key"].is_null(), "no keys in a reject: {r}");

    // A TOTP user cannot type a code into MS-CHAPv2: refused, with the reason logged.
    let r = login(&gw, "mschapv2", "carol", "carol-pass-1", &[]).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert!(
        reasons(&gw)
            .last()
            .unwrap()
            .contains("cannot be challenged"),
        "{:?}",
        reasons(&gw)
    );

    // CHAP (the challenge is our request authenticator, named for the upstream leg).
    let r = login(&gw, "chap", "alice", "alice-pass-1", &[]).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(r["filter_id"], "vpn-users");
    assert_eq!(fake.factors("alice").len(), 2);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chap_without_an_upstream_is_refused_with_the_reason_logged() {
    let gw = start("").await;
    gw.add_user("alice", "alice-pass-1").await;
    let r = login(&gw, "chap", "alice", "alice-pass-1", &[]).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert!(
        reasons(&gw).last().unwrap().contains("CHAP"),
        "{:?}",
        reasons(&gw)
    );
    gw.stop().await;
}

/// Every datagram a silent server got so far.
fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    while let Ok(p) = rx.try_recv() {
        v.push(p);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_skipped_then_probed_with_status_server() {
    let (addr, secret) = upstream();
    let (silent, mut heard) = silent_server().await;
    let tail = upstream_section(
        &[(silent, secret.clone()), (addr, secret)],
        "timeout_secs = 1\nretries = 1",
    );
    let gw = start_config("otp_mode = \"append\"", "", RADIUS_PRIMARY, &tail).await;
    let seed = enrol(&gw, "alice").await;
    let login = |code: String| {
        let gw = &gw;
        async move {
            login(
                gw,
                "pap",
                "alice",
                &format!("alice-pass-1,{code}"),
                &["--timeout", "5", "--retries", "1"],
            )
            .await
        }
    };
    let r = login(gw.code(&seed, 0)).await;
    assert_eq!(
        r["code"], "Access-Accept",
        "failed over to the second server: {r}"
    );
    // Sent once and retransmitted once, the same bytes (Identifier and authenticator), then
    // the next server.
    let sent = drain(&mut heard);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!((sent[0][0], &sent[0]), (ACCESS_REQUEST, &sent[1]));
    let r = login(gw.code(&seed, 1)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert!(
        drain(&mut heard).is_empty(),
        "a held-down server gets no request"
    );

    // After its 30 s hold-down, a Status-Server (not a login) asks whether it is back.
    gw.clock.advance_ms(31_000);
    let probe = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await;
    assert_eq!(probe.ok().flatten().map(|p| p[0]), Some(STATUS_SERVER));
    // Unanswered (and its retransmit): the next hold-down is twice as long.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    drain(&mut heard);
    gw.clock.advance_ms(31_000);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(drain(&mut heard).is_empty(), "not probed before 60 s");
    gw.clock.advance_ms(30_000);
    let probe = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await;
    assert_eq!(probe.ok().flatten().map(|p| p[0]), Some(STATUS_SERVER));
    gw.stop().await;
}

/// A server that answers every Access-Request with an Accept whose Response Authenticator
/// is right, but `signed`: with or without Message-Authenticator.
async fn accepting_server(secret: &'static [u8], signed: bool) -> String {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok((n, src)) = sock.recv_from(&mut buf).await {
            let Ok(p) = Packet::parse(&buf[..n]) else {
                continue;
            };
            let mut attrs = Vec::new();
            push_attr(&mut attrs, 11, b"forged-filter");
            let reply = if signed {
                encode_response(
                    ACCESS_ACCEPT,
                    p.identifier,
                    &p.authenticator,
                    &attrs,
                    secret,
                )
                .unwrap()
            } else {
                let mut r = vec![ACCESS_ACCEPT, p.identifier];
                r.extend(((HEADER_LEN + attrs.len()) as u16).to_be_bytes());
                r.extend(p.authenticator);
                r.extend(&attrs);
                use md5::Digest;
                let ra = md5::Md5::new()
                    .chain_update(&r)
                    .chain_update(secret)
                    .finalize();
                r[4..20].copy_from_slice(&ra);
                r
            };
            let _ = sock.send_to(&reply, src).await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_without_message_authenticator_are_refused_unless_opted_out() {
    const UP: &[u8] = b"forging-upstream-secret-01";
    let unsigned = accepting_server(UP, false).await;
    let up = String::from_utf8(UP.to_vec()).unwrap();
    let tail = upstream_section(
        &[(unsigned.clone(), up.clone())],
        "timeout_secs = 1\nretries = 0",
    );
    let gw = start_config("otp_mode = \"append\"", "", RADIUS_PRIMARY, &tail).await;
    let seed = enrol(&gw, "alice").await;
    let r = login(
        &gw,
        "pap",
        "alice",
        &format!("x,{}", gw.code(&seed, 0)),
        &["--timeout", "3", "--retries", "1"],
    )
    .await;
    assert_eq!(
        r["code"], "timeout",
        "an unsigned reply counts as no reply: {r}"
    );
    assert!(gw.auth_log().is_empty(), "nothing decided");
    gw.stop().await;

    // The same server, with the group's opt-out: accepted (and config warns).
    let tail = upstream_section(
        &[(unsigned, up.clone())],
        "timeout_secs = 1\nretries = 0\nrequire_message_authenticator = false",
    );
    let gw = start_config("otp_mode = \"append\"", "", RADIUS_PRIMARY, &tail).await;
    assert!(
        gw.cfg.warnings.iter().any(|w| w.contains("BlastRADIUS")),
        "{:?}",
        gw.cfg.warnings
    );
    let seed = enrol(&gw, "alice").await;
    let r = login(
        &gw,
        "pap",
        "alice",
        &format!("x,{}", gw.code(&seed, 0)),
        &[],
    )
    .await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(r["filter_id"], "forged-filter");
    gw.stop().await;

    // A reply signed with another secret never passes.
    let other = accepting_server(b"another-secret-entirely-1", true).await;
    let tail = upstream_section(&[(other, up)], "timeout_secs = 1\nretries = 0");
    let gw = start_config("otp_mode = \"append\"", "", RADIUS_PRIMARY, &tail).await;
    let seed = enrol(&gw, "alice").await;
    let r = login(
        &gw,
        "pap",
        "alice",
        &format!("x,{}", gw.code(&seed, 0)),
        &["--timeout", "3", "--retries", "1"],
    )
    .await;
    assert_eq!(r["code"], "timeout", "{r}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_rule_by_the_upstreams_class_replaces_its_attributes() {
    let (addr, secret) = upstream();
    let tail = upstream_section(&[(addr, secret)], "")
        + "\n[[reply]]\nname = \"alice's class\"\nupstream_class = [\"upstream-class-alice\"]\n\
           attributes = { Class = \"OU=vpn-admins;\", PaloAlto-User-Group = \"admins\" }\n";
    let gw = start_config("otp_mode = \"append\"", "", RADIUS_PRIMARY, &tail).await;
    let alice = enrol(&gw, "alice").await;
    let bob = enrol(&gw, "bob").await;
    let r = login(
        &gw,
        "pap",
        "alice",
        &format!("alice-pass-1,{}", gw.code(&alice, 0)),
        &[],
    )
    .await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(
        r["class"],
        text_hex("OU=vpn-admins;"),
        "the rule's Class replaces the upstream's: {r}"
    );
    // (the client's dictionary has no Palo Alto names: vendor 25461, PaloAlto-User-Group = 5)
    let palo = json!(["Vendor-Specific", [25461, 5, text_hex("admins")]]);
    assert!(r["attrs"].as_array().unwrap().contains(&palo), "{r}");
    assert_eq!(
        r["filter_id"], "vpn-users",
        "the upstream's other attributes stay: {r}"
    );
    let r = login(
        &gw,
        "pap",
        "bob",
        &format!("bob-pass-1,{}", gw.code(&bob, 0)),
        &[],
    )
    .await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert!(
        r["class"].is_null() && !r.to_string().contains("25461"),
        "{r}"
    );
    gw.stop().await;
}

/// One EAP authentication with `eapol_test` (`tests/eap/run-eapol.sh`) through the gateway;
/// its verdict line.
async fn eapol(gw: &Gateway, conf: &str, user: &str, password: &str) -> String {
    let ca =
        std::path::Path::new(&std::env::var("MFAGATE_UPSTREAM_DIR").expect("MFAGATE_UPSTREAM_DIR"))
            .join("certs/test-ca.pem");
    let mut cmd = std::process::Command::new(repo().join("tests/eap/run-eapol.sh"));
    cmd.args([
        conf,
        "127.0.0.1",
        &gw.addr.port().to_string(),
        SECRET,
        user,
        password,
    ])
    .arg(ca);
    let (_, out, err) = run(cmd).await;
    format!(
        "{}{}",
        out.trim(),
        if out.trim().is_empty() {
            err
        } else {
            String::new()
        }
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eap_peap_and_ttls_are_relayed_round_by_round_then_a_push() {
    let fake = DuoFake::start(&json!({"users": {
        "alice": {"preauth": "auth", "push": "allow", "delay_ms": 200},
        "bob": {"preauth": "auth", "push": "deny", "delay_ms": 200},
    }, "fault": null}));
    let (addr, secret) = upstream();
    let tail = duo_factor_tail(&fake, 5) + &upstream_section(&[(addr, secret)], "");
    let gw = start_config("", "", RADIUS_PRIMARY, &tail).await;
    add_user(&gw, "alice", mfagate::config::Method::Push).await;
    add_user(&gw, "bob", mfagate::config::Method::Push).await;

    // The MPPE keys eapol_test derives itself match the ones mfagate re-hid for its secret.
    let out = eapol(&gw, "peap-mschapv2", "alice", "alice-pass-1").await;
    assert!(
        out.starts_with("eapol_test SUCCESS code=Access-Accept mppe_ok=1 mppe_mismatch=0"),
        "{out}"
    );
    assert_eq!(fake.factors("alice"), ["push"]);
    let out = eapol(&gw, "ttls-pap", "alice", "alice-pass-1").await;
    assert!(
        out.starts_with("eapol_test SUCCESS code=Access-Accept mppe_ok=1"),
        "{out}"
    );
    assert_eq!(fake.factors("alice").len(), 2);
    let accepted: Vec<_> = gw
        .auth_log()
        .into_iter()
        .filter(|r| r.user == "alice")
        .collect();
    assert_eq!(accepted.len(), 2, "one record per login, not per round");

    // Right password, push denied: EAP-Failure in a Reject.
    let out = eapol(&gw, "peap-mschapv2", "bob", "bob-pass-1").await;
    assert!(
        out.starts_with("eapol_test FAILURE code=Access-Reject"),
        "{out}"
    );
    assert_eq!(fake.factors("bob"), ["push"]);
    // Wrong password: the upstream's Reject, no push.
    let out = eapol(&gw, "peap-mschapv2", "alice", "wrong-pass").await;
    assert!(
        out.starts_with("eapol_test FAILURE code=Access-Reject"),
        "{out}"
    );
    assert_eq!(fake.factors("alice").len(), 2);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_reply_list_chooses_what_reaches_the_nas() {
    let (addr, secret) = upstream();
    for (list, want) in [
        (
            "reply_allow = [\"Filter-Id\"]",
            vec!["Message-Authenticator", "Filter-Id"],
        ),
        (
            "reply_deny = [\"Vendor-Specific\", \"Tunnel-Password\", \"Framed-IP-Address\"]",
            vec![
                "Message-Authenticator",
                "Class",
                "Filter-Id",
                "Session-Timeout",
                "Tunnel-Type:1",
                "Tunnel-Medium-Type:1",
            ],
        ),
    ] {
        let tail = upstream_section(&[(addr.clone(), secret.clone())], list);
        let gw = start_config("otp_mode = \"append\"", "", RADIUS_PRIMARY, &tail).await;
        let seed = enrol(&gw, "alice").await;
        let r = login(
            &gw,
            "pap",
            "alice",
            &format!("alice-pass-1,{}", gw.code(&seed, 0)),
            &[],
        )
        .await;
        assert_eq!(r["code"], "Access-Accept", "{r}");
        let names: Vec<&str> = r["attrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a[0].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{list}: {r}");
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_asks_each_upstream_server_with_its_secret() {
    let (addr, secret) = upstream();
    let (silent, _heard) = silent_server().await;
    let dir = temp_dir("doctor-upstream");
    let cfg = dir.join("doctor.toml");
    // Group "fr" probes with Status-Server (the second server never answers); group "nps"
    // (health_check = "none", as NPS) with a login that cannot succeed (nothing listens on
    // its second server's port).
    std::fs::write(
        &cfg,
        format!(
            "node_name = \"doc\"\ndata_dir = \"{data}\"\n[primary]\nbackend = \"radius\"\nupstream = \"fr\"\n\
             [[upstream]]\nname = \"fr\"\ntimeout_secs = 1\nretries = 0\n\
             [[upstream.servers]]\naddress = \"{addr}\"\nsecret = \"{secret}\"\n\
             [[upstream.servers]]\naddress = \"{silent}\"\nsecret = \"{secret}\"\n\
             [[upstream]]\nname = \"nps\"\ntimeout_secs = 1\nretries = 0\nhealth_check = \"none\"\n\
             [[upstream.servers]]\naddress = \"{addr}\"\nsecret = \"{secret}\"\n\
             [[upstream.servers]]\naddress = \"127.0.0.1:9\"\nsecret = \"{secret}\"\n",
            data = dir.join("data").display()
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    cmd.arg("doctor").arg("-c").arg(&cfg);
    let (ok, out, _) = run(cmd).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "[ ok ] upstream fr {addr}: answered Status-Server"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("[FAIL] upstream fr {silent}: no valid answer")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "[ ok ] upstream nps {addr}: rejected a probe login, signed with our secret"
        )),
        "{out}"
    );
    assert!(out.contains("[FAIL] upstream nps 127.0.0.1:9"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ldap_bind_checks_its_password_upstream() {
    let (addr, secret) = upstream();
    let tail = upstream_section(&[(addr, secret)], "")
        + "\n[ldap]\n[[ldap.listeners]]\nname = \"plain\"\naddress = \"127.0.0.1:0\"\ntls = \"none\"\nallow_cleartext_bind = true\n";
    let gw = start_config("", "", RADIUS_PRIMARY, &tail).await;
    let seed = enrol(&gw, "alice").await;
    let port = gw.ldap_addrs[0].port();
    assert_eq!(
        ldap_bind(
            port,
            "alice",
            &format!("alice-pass-1,{}", gw.code(&seed, 0))
        )
        .await,
        0
    );
    assert_eq!(
        ldap_bind(port, "alice", &format!("wrong-pass,{}", gw.code(&seed, 1))).await,
        49
    );
    assert!(
        reasons(&gw)
            .last()
            .unwrap()
            .starts_with("rejected by upstream"),
        "{:?}",
        reasons(&gw)
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mschapv2_test_client_checks_the_rfc_vectors() {
    // The client the MS-CHAPv2 tests trust: RFC 2759 §9.2 and RFC 3079 §3.5 test vectors.
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/mschap_client.py"))
        .arg("--self-test");
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "{out}{err}");
}
