//! The LDAP front-end in front of the real Samba AD DC, driven by real clients: OpenLDAP's
//! `ldapwhoami`/`ldapsearch` and python `ldap3` (`tests/py/ldap_client.py`), plus raw TCP for
//! hostile bytes. Accounts: `lara.ldap`, `leo.ldap`, `lily.ldap` and the application account
//! `svc-wiki` (exempt through the `ldap-apps` group; its password contains the delimiter) are
//! seeded for these tests only, so the AD tests' bad-password counts are not disturbed.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::ad_env as env;
use crate::harness::*;

const SVC_WIKI_DN: &str = "CN=svc-wiki,CN=Users,DC=test,DC=local";
const SVC_WIKI_PW: &str = "Svc-Wiki-Password-456,!";
const SVC_MFA_DN: &str = "CN=svc-mfa,CN=Users,DC=test,DC=local";
const LARA_DN: &str = "CN=Lara Lind,OU=Staff,DC=test,DC=local";

fn pw(sam: &str) -> String {
    format!("Passw0rd-{sam}!")
}

fn ca() -> String {
    certs().join("ca.pem").display().to_string()
}

/// Listeners in order: LDAPS, StartTLS, cleartext (loopback test only).
async fn start_ldap(ldap_extra: &str) -> Gateway {
    let primary = ad_primary(&[env("AD_LDAPS_URL")], false, &env("AD_CA_PEM"));
    let (cert, key) = (certs().join("server.pem"), certs().join("server.key"));
    let tail = format!(
        r#"
[ldap]
idle_timeout_secs = 2
{ldap_extra}
[ldap.exempt]
dns = ["{SVC_MFA_DN}"]
groups = ["CN=ldap-apps,CN=Users,DC=test,DC=local"]

[[ldap.listeners]]
name = "ldaps"
address = "127.0.0.1:0"
tls = "ldaps"
cert_file = "{cert}"
key_file = "{key}"

[[ldap.listeners]]
name = "starttls"
address = "127.0.0.1:0"
tls = "starttls"
cert_file = "{cert}"
key_file = "{key}"

[[ldap.listeners]]
name = "plain"
address = "127.0.0.1:0"
tls = "none"
allow_cleartext_bind = true
"#,
        cert = cert.display(),
        key = key.display()
    );
    start_config("", "", &primary, &tail).await
}

fn ldaps_url(gw: &Gateway) -> String {
    format!("ldaps://127.0.0.1:{}", gw.ldap_addrs[0].port())
}

fn starttls_url(gw: &Gateway) -> String {
    format!("ldap://127.0.0.1:{}", gw.ldap_addrs[1].port())
}

fn plain_url(gw: &Gateway) -> String {
    format!("ldap://127.0.0.1:{}", gw.ldap_addrs[2].port())
}

/// Runs `tests/py/ldap_client.py` (python ldap3) with `steps` on one connection.
async fn py(url: &str, starttls: bool, steps: Value) -> Vec<Value> {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/ldap_client.py"))
        .args(["--url", url, "--timeout", "10"]);
    if url.starts_with("ldaps://") || starttls {
        cmd.args(["--ca", &ca()]);
    }
    if starttls {
        cmd.arg("--starttls");
    }
    cmd.arg(steps.to_string());
    let (_, out, err) = run(cmd).await;
    let v: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("ldap_client.py: bad JSON {out:?}: {e}; {err}"));
    v.as_array()
        .unwrap_or_else(|| panic!("ldap_client.py failed: {v}; {err}"))
        .clone()
}

fn bind(dn: &str, password: &str) -> Value {
    json!({"op": "bind", "dn": dn, "password": password})
}

/// OpenLDAP's `tool` (ldapwhoami, ldapsearch) trusting the test CA.
async fn openldap(tool: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(tool);
    cmd.env("LDAPTLS_CACERT", ca())
        .env("LDAPTLS_REQCERT", "demand")
        .args(["-x", "-o", "nettimeout=10"])
        .args(args);
    run(cmd).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_bind_with_code_over_ldaps_and_starttls() {
    let gw = start_ldap("").await;
    let seed = enrol(&gw, "lara.ldap").await;
    let lara = pw("lara.ldap");

    // LDAPS, UPN, password,code: ldapwhoami reports the AD entry.
    let cred = format!("{lara},{}", gw.code(&seed, 0));
    let (ok, out, err) = openldap(
        "ldapwhoami",
        &[
            "-H",
            &ldaps_url(&gw),
            "-D",
            "lara.ldap@test.local",
            "-w",
            &cred,
        ],
    )
    .await;
    assert!(ok, "ldapwhoami over LDAPS failed: {err}");
    assert_eq!(out.trim(), format!("dn:{LARA_DN}"));

    // StartTLS (-ZZ: TLS is required), DOMAIN\sam, the next code.
    let cred = format!("{lara},{}", gw.code(&seed, 1));
    let (ok, out, err) = openldap(
        "ldapwhoami",
        &[
            "-ZZ",
            "-H",
            &starttls_url(&gw),
            "-D",
            "TEST\\lara.ldap",
            "-w",
            &cred,
        ],
    )
    .await;
    assert!(ok, "ldapwhoami with StartTLS failed: {err}");
    assert_eq!(out.trim(), format!("dn:{LARA_DN}"));

    // The DN as bind name, python ldap3 over StartTLS; steps 0 and 1 were used: step 2.
    gw.clock.advance_ms(30_000);
    let cred = format!("{lara},{}", gw.code(&seed, 1));
    let r = py(
        &starttls_url(&gw),
        true,
        json!([bind(LARA_DN, &cred), {"op": "whoami"}]),
    )
    .await;
    assert_eq!(r[0]["result"], 0, "{r:?}");
    assert_eq!(r[1]["whoami"], format!("dn:{LARA_DN}"));

    // Without TLS on the StartTLS listener, a bind is refused before anything is checked.
    let r = py(&starttls_url(&gw), false, json!([bind(LARA_DN, &cred)])).await;
    assert_eq!(r[0]["result"], 13, "{r:?}");
    assert_eq!(r[0]["description"], "confidentialityRequired");

    let log = gw.auth_log();
    let accepted: Vec<_> = log
        .iter()
        .filter(|a| a.result.as_str() == "accept")
        .map(|a| (a.user.as_str(), a.client_name.as_str()))
        .collect();
    assert_eq!(
        accepted,
        [
            ("lara.ldap", "ldaps"),
            ("lara.ldap", "starttls"),
            ("lara.ldap", "starttls")
        ]
    );
    // The refused cleartext bind never reached the pipeline.
    assert_eq!(log.len(), 3, "{log:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_refusals_are_indistinguishable() {
    let gw = start_ldap("").await;
    let seed = enrol(&gw, "lily.ldap").await;
    enrol(&gw, "dave.disabled").await;
    let lily = pw("lily.ldap");
    let url = ldaps_url(&gw);
    let code = gw.code(&seed, 0);
    let cases = [
        (
            "wrong code",
            "lily.ldap@test.local".to_owned(),
            format!("{lily},000000"),
        ),
        ("no code", "lily.ldap@test.local".to_owned(), lily.clone()),
        (
            "wrong password",
            "lily.ldap@test.local".to_owned(),
            format!("Wrong-Passw0rd!,{code}"),
        ),
        (
            "unknown user",
            "nobody.here@test.local".to_owned(),
            format!("{lily},{code}"),
        ),
        (
            "disabled in AD",
            "dave.disabled@test.local".to_owned(),
            format!("{},{code}", pw("dave.disabled")),
        ),
        (
            "empty password",
            "lily.ldap@test.local".to_owned(),
            String::new(),
        ),
        ("anonymous", String::new(), String::new()),
    ];
    let mut answers = Vec::new();
    let mut timings = Vec::new();
    for (what, dn, password) in &cases {
        let t = Instant::now();
        let r = py(&url, false, json!([bind(dn, password)])).await;
        timings.push((what, t.elapsed()));
        answers.push((
            r[0]["result"].clone(),
            r[0]["description"].clone(),
            r[0]["message"].clone(),
        ));
        assert_eq!(r[0]["result"], 49, "{what}: {r:?}");
    }
    // The same result code and the same text, whatever the reason.
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0].2, "invalid credentials");
    // The reasons are in the log, not on the wire; empty passwords never reached AD.
    let reasons: Vec<String> = gw.auth_log().iter().map(|a| a.reason.clone()).collect();
    assert!(reasons.iter().any(|r| r.contains("52e")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("533")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r == "unknown user"), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("no code appended")),
        "{reasons:?}"
    );
    assert_eq!(reasons.iter().filter(|r| *r == "empty password").count(), 2);
    // Comparable timing: every case that reaches AD pays a search and a bind. (Loose bound:
    // python start-up dominates; this catches a missing bind, not microseconds.)
    let slowest = timings.iter().map(|t| t.1).max().unwrap();
    let fastest = timings[..5].iter().map(|t| t.1).min().unwrap();
    assert!(
        slowest < fastest * 4,
        "timings differ too much: {timings:?}"
    );
    // A good login still works afterwards (and resets AD's bad-password count).
    let r = py(
        &url,
        false,
        json!([bind(
            "lily.ldap@test.local",
            &format!("{lily},{}", gw.code(&seed, 1))
        )]),
    )
    .await;
    assert_eq!(r[0]["result"], 0, "{r:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_application_sequence_and_search_equals_samba() {
    let gw = start_ldap("").await;
    let seed = enrol(&gw, "lara.ldap").await;
    let base = env("AD_BASE_DN");
    let search = json!({
        "op": "search", "base": base, "scope": "sub",
        "filter": "(&(objectClass=user)(|(sAMAccountName=lara.ldap)(sAMAccountName=alice)(mail=car*)))",
        "attrs": ["cn", "mail", "memberOf", "objectSid", "objectGUID", "sAMAccountName", "userPrincipalName"]
    });
    let code = gw.code(&seed, 0);
    // What a wiki does: bind as its service account (exempt by group; its password contains
    // the delimiter and is not split), search for the user, bind as the user.
    let r = py(
        &ldaps_url(&gw),
        false,
        json!([
            bind(SVC_WIKI_DN, SVC_WIKI_PW),
            search,
            {"op": "search", "base": base, "scope": "sub", "filter": "(objectClass=user)", "attrs": ["1.1"]},
            {"op": "compare", "dn": LARA_DN, "attribute": "mail", "value": "lara.ldap@test.local"},
            {"op": "compare", "dn": LARA_DN, "attribute": "mail", "value": "someone@else"},
            {"op": "add", "dn": "CN=x,OU=Staff,DC=test,DC=local", "attributes": {"objectClass": ["user"]}},
            {"op": "modify", "dn": LARA_DN, "changes": {"description": [["MODIFY_REPLACE", ["x"]]]}},
            {"op": "delete", "dn": LARA_DN},
            {"op": "modify_dn", "dn": LARA_DN, "new_rdn": "CN=Lara Moved"},
            bind(LARA_DN, &format!("{},{code}", pw("lara.ldap"))),
            {"op": "whoami"},
            {"op": "search", "base": "", "scope": "base", "filter": "(objectClass=*)", "attrs": ["defaultNamingContext"]},
            {"op": "search", "base": base, "scope": "sub", "filter": "(objectClass=user)", "attrs": ["cn"], "size_limit": 2},
        ]),
    )
    .await;
    assert_eq!(r.len(), 13, "{r:?}");
    // The client's size limit reaches AD, and AD's sizeLimitExceeded reaches the client.
    assert_eq!(r[12]["description"], "sizeLimitExceeded", "{:?}", r[12]);
    assert_eq!(r[12]["entries"].as_array().unwrap().len(), 2, "{:?}", r[12]);
    assert_eq!(r[0]["result"], 0, "service account: {:?}", r[0]);
    assert_eq!(r[1]["result"], 0, "{:?}", r[1]);
    // Samba answers subtree searches from the domain root with continuation references
    // (DomainDnsZones, …); none reach the client.
    assert_eq!(r[2]["result"], 0, "{:?}", r[2]);
    assert_eq!(r[2]["references"], 0, "{:?}", r[2]);
    assert!(r[2]["entries"].as_array().unwrap().len() >= 10);
    assert_eq!(r[3]["description"], "compareTrue");
    assert_eq!(r[4]["description"], "compareFalse");
    for w in &r[5..9] {
        assert_eq!(w["result"], 53, "writes are refused: {w:?}");
    }
    assert_eq!(r[9]["result"], 0, "user bind: {:?}", r[9]);
    assert_eq!(r[10]["whoami"], format!("dn:{LARA_DN}"));
    assert_eq!(r[11]["entries"][0]["dn"], "");

    // The same search made directly against Samba, as the service account.
    let direct = py_with_ca(
        &env("AD_LDAPS_URL"),
        &env("AD_CA_PEM"),
        json!([bind(SVC_WIKI_DN, SVC_WIKI_PW), search]),
    )
    .await;
    assert_eq!(direct[1]["result"], 0, "{direct:?}");
    let sorted = |v: &Value| {
        let mut e = v["entries"].as_array().unwrap().clone();
        e.sort_by_key(|x| x["dn"].as_str().unwrap().to_owned());
        e
    };
    let through = sorted(&r[1]);
    assert_eq!(through.len(), 3, "{through:?}");
    assert_eq!(through, sorted(&direct[1]));
    // Samba sent continuation references with the entries; mfagate dropped them.
    assert!(direct[1]["references"].as_u64().unwrap() >= 1, "{direct:?}");
    assert_eq!(r[1]["references"], 0);
    gw.stop().await;
}

/// `py` with another CA (for talking to Samba directly).
async fn py_with_ca(url: &str, ca_file: &str, steps: Value) -> Vec<Value> {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/ldap_client.py"))
        .args(["--url", url, "--timeout", "10", "--ca", ca_file])
        .arg(steps.to_string());
    let (_, out, err) = run(cmd).await;
    let v: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("ldap_client.py: bad JSON {out:?}: {e}; {err}"));
    v.as_array().unwrap_or_else(|| panic!("{v}; {err}")).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_anonymous_reads_and_search_tools() {
    let gw = start_ldap("").await;
    // Anonymous: the rootDSE only.
    let r = py(
        &ldaps_url(&gw),
        false,
        json!([
            {"op": "search", "base": "", "scope": "base", "filter": "(objectClass=*)", "attrs": ["namingContexts"]},
            {"op": "search", "base": env("AD_BASE_DN"), "scope": "sub", "filter": "(sAMAccountName=alice)", "attrs": ["cn"]},
            {"op": "compare", "dn": LARA_DN, "attribute": "mail", "value": "lara.ldap@test.local"},
        ]),
    )
    .await;
    assert_eq!(r[0]["result"], 0, "{r:?}");
    assert_eq!(r[0]["entries"].as_array().unwrap().len(), 1);
    assert_eq!(r[1]["result"], 1, "anonymous search: {:?}", r[1]);
    assert!(r[1]["entries"].as_array().unwrap().is_empty());
    assert_eq!(r[2]["result"], 1, "anonymous compare: {:?}", r[2]);

    // OpenLDAP's ldapsearch as the exempt service account (by DN), over StartTLS, with the
    // simple paged results control it sends for -E pr=.
    let (ok, out, err) = openldap(
        "ldapsearch",
        &[
            "-ZZ",
            "-H",
            &starttls_url(&gw),
            "-D",
            SVC_MFA_DN,
            "-w",
            &env("AD_BIND_PASSWORD"),
            "-b",
            &env("AD_BASE_DN"),
            "-E",
            "pr=2/noprompt",
            "(sAMAccountName=l*.ldap)",
            "sAMAccountName",
        ],
    )
    .await;
    assert!(ok, "ldapsearch failed: {err}\n{out}");
    let mut names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("sAMAccountName: "))
        .collect();
    names.sort();
    assert_eq!(names, ["lara.ldap", "leo.ldap", "lily.ldap"], "{out}");
    assert!(!out.contains("ref:"), "no referrals: {out}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_bind_cache_on_and_off() {
    // Off (the default): an application's second bind with the same password,code fails,
    // because the code was used.
    let gw = start_ldap("").await;
    let seed = enrol(&gw, "leo.ldap").await;
    let cred = format!("{},{}", pw("leo.ldap"), gw.code(&seed, 0));
    let r = py(
        &ldaps_url(&gw),
        false,
        json!([
            bind("leo.ldap@test.local", &cred),
            bind("leo.ldap@test.local", &cred)
        ]),
    )
    .await;
    assert_eq!(
        (r[0]["result"].clone(), r[1]["result"].clone()),
        (json!(0), json!(49)),
        "{r:?}"
    );
    gw.stop().await;

    // On: repeats within bind_cache_secs pass without a new code; a wrong password clears
    // the entry, and the cache expires.
    let gw = start_ldap("bind_cache_secs = 60").await;
    let seed = enrol(&gw, "leo.ldap").await;
    let leo = pw("leo.ldap");
    let cred = format!("{leo},{}", gw.code(&seed, 0));
    let url = ldaps_url(&gw);
    let r = py(
        &url,
        false,
        json!([
            bind("leo.ldap@test.local", &cred),
            bind("leo.ldap@test.local", &cred),
            bind("TEST\\leo.ldap", &leo),
        ]),
    )
    .await;
    let codes: Vec<_> = r.iter().map(|x| x["result"].clone()).collect();
    assert_eq!(codes, [json!(0), json!(0), json!(0)], "{r:?}");
    // From another listener (another client, as far as the cache goes): the code is asked.
    let r = py(
        &starttls_url(&gw),
        true,
        json!([bind("leo.ldap@test.local", &cred)]),
    )
    .await;
    assert_eq!(r[0]["result"], 49, "{r:?}");
    // A wrong password forgets the entry: the right one alone is no longer enough.
    let r = py(
        &url,
        false,
        json!([
            bind("leo.ldap@test.local", "Wrong-Passw0rd!"),
            bind("leo.ldap@test.local", &cred)
        ]),
    )
    .await;
    assert_eq!(
        (r[0]["result"].clone(), r[1]["result"].clone()),
        (json!(49), json!(49)),
        "{r:?}"
    );
    // A fresh code re-arms it; after bind_cache_secs it is asked again.
    let cred2 = format!("{leo},{}", gw.code(&seed, 1));
    let r = py(
        &url,
        false,
        json!([
            bind("leo.ldap@test.local", &cred2),
            bind("leo.ldap@test.local", &cred2)
        ]),
    )
    .await;
    assert_eq!(
        (r[0]["result"].clone(), r[1]["result"].clone()),
        (json!(0), json!(0)),
        "{r:?}"
    );
    gw.clock.advance_ms(61_000);
    let r = py(&url, false, json!([bind("leo.ldap@test.local", &cred2)])).await;
    assert_eq!(r[0]["result"], 49, "{r:?}");
    let skipped = gw
        .auth_log()
        .iter()
        .filter(|a| a.reason.contains("bind_cache_secs"))
        .count();
    assert_eq!(skipped, 3);
    gw.stop().await;
}

/// Reads until the server closes the connection (or `limit` passes); returns what it sent.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// What the server sent before closing `s`, which must include a Notice of Disconnection.
async fn notice_then_closed(s: &mut TcpStream) -> Vec<u8> {
    let got = read_until_closed(s, Duration::from_secs(1)).await.unwrap();
    assert!(
        got.windows(22).any(|w| w == b"1.3.6.1.4.1.1466.20036"),
        "no notice of disconnection: {got:02x?}"
    );
    got
}

/// BER TLV with a definite length.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend([0x81, n as u8]);
    } else if n < 0x10000 {
        v.extend([0x82, (n >> 8) as u8, n as u8]);
    } else {
        v.extend([0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(body);
    v
}

fn message(id: u8, op: Vec<u8>) -> Vec<u8> {
    let mut body = tlv(0x02, &[id]);
    body.extend(op);
    tlv(0x30, &body)
}

fn search_request(filter: Vec<u8>) -> Vec<u8> {
    let mut b = tlv(0x04, b"");
    b.extend(tlv(0x0a, &[0]));
    b.extend(tlv(0x0a, &[0]));
    b.extend(tlv(0x02, &[0]));
    b.extend(tlv(0x02, &[0]));
    b.extend(tlv(0x01, &[0]));
    b.extend(filter);
    b.extend(tlv(0x30, b""));
    tlv(0x63, &b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_hostile_input() {
    let gw = start_ldap("").await;
    let addr = gw.ldap_addrs[2];
    let connect = || async move { TcpStream::connect(addr).await.unwrap() };

    // A 4 GiB declared length, and an indefinite length: closed at once, no allocation.
    for bytes in [
        vec![0x30u8, 0x84, 0xff, 0xff, 0xff, 0xff],
        vec![0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00],
    ] {
        let mut s = connect().await;
        s.write_all(&bytes).await.unwrap();
        let t = Instant::now();
        assert!(
            read_until_closed(&mut s, Duration::from_secs(1))
                .await
                .is_some(),
            "{bytes:02x?} did not close the connection"
        );
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    // messageID 0 (reserved for unsolicited notifications): Notice of Disconnection, closed.
    let mut s = connect().await;
    s.write_all(&message(0, tlv(0x42, b""))).await.unwrap();
    notice_then_closed(&mut s).await;

    // A negative messageID (02 01 FB, -5): a protocol error, never answered as id 251.
    let mut s = connect().await;
    let mut bind = tlv(0x02, &[0x03]);
    bind.extend(tlv(0x04, b"cn=x"));
    bind.extend(tlv(0x80, b"pw"));
    let mut msg = tlv(0x02, &[0xfb]);
    msg.extend(tlv(0x60, &bind));
    s.write_all(&tlv(0x30, &msg)).await.unwrap();
    let got = notice_then_closed(&mut s).await;
    assert!(
        !got.windows(3).any(|w| w == [0x02, 0x01, 0xfb])
            && !got.windows(4).any(|w| w == [0x02, 0x02, 0x00, 0xfb]),
        "answered under the id: {got:02x?}"
    );

    // A 10,000-deep filter (nested NOTs): refused by the depth limit, not by a stack overflow.
    let mut filter = tlv(0x87, b"objectClass");
    for _ in 0..10_000 {
        filter = tlv(0xa2, &filter);
    }
    let mut s = connect().await;
    s.write_all(&message(5, search_request(filter)))
        .await
        .unwrap();
    assert!(read_until_closed(&mut s, Duration::from_secs(2))
        .await
        .is_some());

    // An unknown operation ([APPLICATION 30]): disconnected.
    let mut s = connect().await;
    s.write_all(&message(6, tlv(0x7e, b""))).await.unwrap();
    assert!(read_until_closed(&mut s, Duration::from_secs(1))
        .await
        .is_some());

    // An unknown extended operation: protocolError, and the connection goes on (a rootDSE
    // read follows on it).
    let r = py(
        &plain_url(&gw),
        false,
        json!([
            {"op": "extended", "name": "1.2.3.4.5.6"},
            {"op": "search", "base": "", "scope": "base", "filter": "(objectClass=*)", "attrs": ["namingContexts"]},
        ]),
    )
    .await;
    assert_eq!(r[0]["result"], 2, "{r:?}");
    assert_eq!(r[1]["result"], 0, "{r:?}");

    // A second StartTLS on a TLS session is an operationsError.
    let r = py(
        &starttls_url(&gw),
        true,
        json!([{"op": "extended", "name": "1.3.6.1.4.1.1466.20037"}]),
    )
    .await;
    assert_eq!(r[0]["result"], 1, "{r:?}");

    // Half a message, then silence: closed after idle_timeout_secs (2).
    let mut s = connect().await;
    s.write_all(&[0x30, 0x0c, 0x02, 0x01]).await.unwrap();
    let t = Instant::now();
    assert!(read_until_closed(&mut s, Duration::from_secs(6))
        .await
        .is_some());
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );

    // The listener still serves.
    let (ok, _, err) = openldap(
        "ldapwhoami",
        &["-H", &ldaps_url(&gw), "-D", SVC_WIKI_DN, "-w", SVC_WIKI_PW],
    )
    .await;
    assert!(ok, "{err}");
    gw.stop().await;

    // Connections per client IP are capped: the third is closed at once, the first two work.
    let gw = start_ldap("max_connections_per_ip = 2").await;
    let addr = gw.ldap_addrs[2];
    let mut first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        read_until_closed(&mut third, Duration::from_secs(1)).await,
        Some(Vec::new()),
        "the third connection from one IP must be closed"
    );
    // An Abandon for nothing has no answer; the connection goes on and answers an extended op.
    let abandon = message(7, tlv(0x50, &[0x63]));
    first.write_all(&abandon).await.unwrap();
    let whoami = message(8, tlv(0x77, &tlv(0x80, b"1.3.6.1.4.1.4203.1.11.3")));
    first.write_all(&whoami).await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(2), first.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    // messageID 8: the WhoAmI response is the first thing the server sent.
    assert_eq!(&buf[2..5], &[0x02, 0x01, 0x08], "{:02x?}", &buf[..n]);

    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_starttls_discards_pipelined_bytes() {
    let gw = start_ldap("").await;
    let mut s = TcpStream::connect(gw.ldap_addrs[1]).await.unwrap();
    // StartTLS and, in the same write, a cleartext bind that must not be processed.
    let starttls = message(1, tlv(0x77, &tlv(0x80, b"1.3.6.1.4.1.1466.20037")));
    let mut bind = tlv(0x02, &[3]);
    bind.extend(tlv(0x04, SVC_WIKI_DN.as_bytes()));
    bind.extend(tlv(0x80, SVC_WIKI_PW.as_bytes()));
    let mut bytes = starttls;
    bytes.extend(message(2, tlv(0x60, &bind)));
    s.write_all(&bytes).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let resp = &buf[..n];
    // One ExtendedResponse (success) and nothing else: the pipelined bind got no answer.
    assert_eq!(resp[0], 0x30);
    assert_eq!(resp.len(), 2 + resp[1] as usize, "{resp:02x?}");
    assert!(
        resp.windows(3).any(|w| w == [0x0a, 0x01, 0x00]),
        "{resp:02x?}"
    );
    // The server now expects a TLS ClientHello; the leftover bind bytes were dropped.
    assert!(gw.auth_log().is_empty());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_search_as_user_applies_the_users_rights() {
    // Password settings objects are readable by administrators only, not by the service
    // account: who ran the search shows in what comes back.
    let pso = json!({
        "op": "search", "scope": "sub", "filter": "(objectClass=msDS-PasswordSettings)",
        "base": format!("CN=Password Settings Container,CN=System,{}", env("AD_BASE_DN")),
        "attrs": ["cn"]
    });
    for (search_as, expected) in [("service", 0), ("user", 1)] {
        let gw = start_ldap(&format!("search_as = \"{search_as}\"")).await;
        let seed = enrol(&gw, "Administrator").await;
        let cred = format!("{},{}", env("AD_ADMIN_PASSWORD"), gw.code(&seed, 0));
        let r = py(
            &ldaps_url(&gw),
            false,
            json!([
                bind(&env("AD_ADMIN_DN"), &cred),
                pso,
                bind(SVC_WIKI_DN, SVC_WIKI_PW),
                pso
            ]),
        )
        .await;
        assert_eq!(r[0]["result"], 0, "{r:?}");
        assert_eq!(r[1]["result"], 0, "{r:?}");
        assert_eq!(
            r[1]["entries"].as_array().unwrap().len(),
            expected,
            "search_as = {search_as}: {r:?}"
        );
        // After a bind as the application's account, its rights apply again.
        assert_eq!(r[2]["result"], 0, "{r:?}");
        assert_eq!(r[3]["entries"].as_array().unwrap().len(), 0, "{r:?}");
        gw.stop().await;
    }
}
