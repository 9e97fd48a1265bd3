//! Duo's Auth API v2. No Duo service can run here: request signatures are cross-checked
//! against Duo's reference client (PyPI `duo-client`, in the test venv) for the same inputs,
//! and the flows run against `tests/py/duo_fake.py`, which implements the published API and
//! verifies every signature with that same reference code.

use mfagate::factor::duo::{canon_json, sign_v5, Request};
use serde_json::{json, Value};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_signatures_match_the_reference_client() {
    let cases = [
        (
            "POST",
            "/auth/v2/preauth",
            json!({"username": "alice"}),
            true,
        ),
        (
            "POST",
            "/auth/v2/auth",
            json!({"username": "jürgen ö", "factor": "push", "device": "auto", "async": "1"}),
            true,
        ),
        (
            "GET",
            "/auth/v2/auth_status",
            json!({"txid": "45f7c92b-f45f/4862 8545~e0f"}),
            false,
        ),
        ("GET", "/auth/v2/check", json!({}), false),
    ];
    let (ikey, skey, host) = (
        "DIWJ8X6AEYOR5OMC6TQ1",
        "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep",
        "API-xxxxxxxx.duosecurity.com",
    );
    let date = "Tue, 21 Aug 2012 17:29:18 -0000";
    for (method, path, params, in_body) in cases {
        let pairs: Vec<(String, String)> = params
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = if in_body {
            canon_json(&refs)
        } else {
            String::new()
        };
        let request = Request {
            date,
            method,
            host,
            path,
            query: if in_body { &[] } else { &refs },
            body: &body,
        };
        let ours = sign_v5(ikey, skey, &request);
        let script = r#"
import json, sys
from duo_client.client import sign, normalize_params, Client
a = json.loads(sys.argv[1])
if a["in_body"]:
    body, params = Client.canon_json(a["params"]), {}
else:
    body, params = "", normalize_params(a["params"])
print(sign(a["ikey"], a["skey"], a["method"], a["host"], a["path"], a["date"], 5, params, body=body))
"#;
        let arg = json!({"ikey": ikey, "skey": skey, "method": method, "host": host, "path": path,
                         "date": date, "params": params, "in_body": in_body});
        let mut cmd = std::process::Command::new(python());
        cmd.args(["-c", script, &arg.to_string()]);
        let (ok, out, err) = run(cmd).await;
        assert!(ok, "duo_client: {err}");
        assert_eq!(ours, out.trim(), "{method} {path} {params}");
    }
}

/// `tests/py/duo_fake.py` on a free port, killed when dropped. `script` is its users and
/// fault (re-read on every request, so a test may change it).
pub struct DuoFake {
    child: std::process::Child,
    pub port: u16,
    script: std::path::PathBuf,
    log: std::path::PathBuf,
}

pub const API_HOST: &str = "api-fake1234.duosecurity.com";
pub const IKEY: &str = "DIWJ8X6AEYOR5OMC6TQ1";
pub const SKEY: &str = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep";

impl DuoFake {
    pub fn start(script: &serde_json::Value) -> DuoFake {
        use std::io::BufRead;
        let dir = temp_dir("duo");
        let (script_path, log) = (dir.join("script.json"), dir.join("calls.jsonl"));
        std::fs::write(&script_path, script.to_string()).unwrap();
        let mut child = std::process::Command::new(python())
            .arg(repo().join("tests/py/duo_fake.py"))
            .args([
                "--port", "0", "--ikey", IKEY, "--skey", SKEY, "--host", API_HOST,
            ])
            .arg("--script")
            .arg(&script_path)
            .arg("--log")
            .arg(&log)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
        DuoFake {
            child,
            port,
            script: script_path,
            log,
        }
    }

    pub fn set_script(&self, script: &serde_json::Value) {
        let tmp = self.script.with_extension("tmp");
        std::fs::write(&tmp, script.to_string()).unwrap();
        std::fs::rename(tmp, &self.script).unwrap();
    }

    /// The `factor` of each answered `/auth/v2/auth` call for `user`, in order.
    pub fn factors(&self, user: &str) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|c| {
                c["path"] == "/auth/v2/auth"
                    && c["params"]["username"] == user
                    && c["sig_ok"] == true
            })
            .map(|c| c["params"]["factor"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Answered calls to `path` for `user`, as the fake logged them.
    pub fn calls(&self, path: &str, user: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|c| c["path"] == path && c["params"]["username"] == user && c["sig_ok"] == true)
            .count()
    }
}

impl Drop for DuoFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `[factor]` keys and `[[factor.provider]]` of a Duo push through `fake`, for a
/// configuration's tail.
pub fn duo_factor_tail(fake: &DuoFake, push_timeout_secs: u64) -> String {
    let dir = temp_dir("duo-skey");
    std::fs::write(dir.join("skey"), SKEY).unwrap();
    format!(
        "push_provider = \"duo\"\npush_timeout_secs = {push_timeout_secs}\n\n\
         [[factor.provider]]\nname = \"duo\"\nkind = \"duo\"\napi_host = \"{API_HOST}\"\n\
         ikey = \"{IKEY}\"\nsecret_file = \"{}\"\nurl = \"http://127.0.0.1:{}\"\ntimeout_secs = 2\n",
        dir.join("skey").display(),
        fake.port
    )
}

fn users() -> serde_json::Value {
    json!({"users": {
        "alice": {"preauth": "auth", "push": "allow", "delay_ms": 400},
        "bob": {"preauth": "deny"},
        "carol": {"preauth": "auth", "push": "fraud", "delay_ms": 200},
        "dave": {"preauth": "allow"},
        "erin": {"preauth": "enroll"},
        "frank": {"preauth": "auth", "push": "timeout", "delay_ms": 60000},
        "hal": {"preauth": "auth", "push": "deny", "delay_ms": 200},
        "ivy": {"preauth": "auth", "push": "allow", "delay_ms": 2500},
        "gina": {"preauth": "auth", "passcode": "123456"},
        "kim": {"preauth": "auth", "push": "allow", "delay_ms": 3000, "passcode": "246810"}
    }, "fault": null})
}

async fn start_push(fake: &DuoFake, client_extra: &str) -> Gateway {
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let dir = temp_dir("duo-skey");
    std::fs::write(dir.join("skey"), SKEY).unwrap();
    let tail = format!(
        "push_provider = \"duo\"\npush_timeout_secs = 5\npush_max_per_window = 3\n\n\
         [[factor.provider]]\nname = \"duo\"\nkind = \"duo\"\napi_host = \"{API_HOST}\"\n\
         ikey = \"{IKEY}\"\nsecret_file = \"{}\"\nurl = \"http://127.0.0.1:{}\"\ntimeout_secs = 2\n",
        dir.join("skey").display(),
        fake.port
    );
    let gw = start_config(client_extra, "", primary, &tail).await;
    for u in [
        "alice", "bob", "carol", "dave", "erin", "frank", "hal", "ivy", "zed", "gina", "kim",
    ] {
        gw.admin(mfagate::admin::Request::UserAdd {
            name: u.into(),
            password: Some(format!("pw-{u}")),
            method: Some(mfagate::config::Method::Push),
            phone: None,
            provider: None,
        })
        .await
        .unwrap();
    }
    gw
}

/// A password-only Access-Request, the NAS waiting up to `timeout` s per try.
async fn login(gw: &Gateway, user: &str, timeout: &str, retries: &str) -> String {
    let pw = format!("pw-{user}");
    let r = pyrad(
        &gw.server(),
        SECRET,
        &[
            "--enforce-ma",
            "--user",
            user,
            "--password",
            &pw,
            "--timeout",
            timeout,
            "--retries",
            retries,
        ],
    )
    .await;
    r["code"].as_str().unwrap_or("?").to_owned()
}

fn reasons(gw: &Gateway) -> Vec<String> {
    gw.auth_log().iter().map(|a| a.reason.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_push_wait_mode_outcomes() {
    let fake = DuoFake::start(&users());
    let gw = start_push(&fake, "").await;
    assert_eq!(login(&gw, "alice", "10", "1").await, "Access-Accept");
    assert_eq!(
        login(&gw, "alice", "10", "1").await.as_str(),
        "Access-Accept"
    );
    assert_eq!(login(&gw, "hal", "10", "1").await, "Access-Reject");
    assert_eq!(login(&gw, "bob", "10", "1").await, "Access-Reject");
    assert_eq!(login(&gw, "dave", "10", "1").await, "Access-Accept");
    assert_eq!(login(&gw, "erin", "10", "1").await, "Access-Reject");
    // The wrong password never reaches Duo.
    let r = pyrad(
        &gw.server(),
        SECRET,
        &[
            "--enforce-ma",
            "--user",
            "alice",
            "--password",
            "nope",
            "--timeout",
            "10",
        ],
    )
    .await;
    assert_eq!(r["code"], "Access-Reject");
    // Fraud locks the second factor: the next login sends no push, until `user unlock`.
    assert_eq!(login(&gw, "carol", "10", "1").await, "Access-Reject");
    assert_eq!(login(&gw, "carol", "10", "1").await, "Access-Reject");
    assert_eq!(fake.calls("/auth/v2/auth", "carol"), 1);
    gw.admin(mfagate::admin::Request::UserUnlock {
        name: "carol".into(),
    })
    .await
    .unwrap();
    assert_eq!(login(&gw, "carol", "10", "1").await, "Access-Reject");
    assert_eq!(fake.calls("/auth/v2/auth", "carol"), 2);
    // Not answered within push_timeout_secs (5).
    let t = std::time::Instant::now();
    assert_eq!(login(&gw, "frank", "10", "1").await, "Access-Reject");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        t.elapsed()
    );

    let r = reasons(&gw);
    let expect = [
        "push approved",
        "push approved",
        "push denied by the user",
        "Duo preauth: deny",
        "Duo preauth: allow",
        "Duo preauth: the user is not enrolled in Duo",
        "wrong password",
        "push reported as fraud",
        "second factor locked",
        "push reported as fraud",
        "push not answered in time",
    ];
    assert_eq!(r.len(), expect.len(), "{r:?}");
    for (got, want) in r.iter().zip(expect) {
        assert!(
            got.contains(want),
            "{got:?} should contain {want:?}; all: {r:?}"
        );
    }
    assert_eq!(fake.calls("/auth/v2/auth", "alice"), 2);
    assert_eq!(
        fake.calls("/auth/v2/auth", "bob"),
        0,
        "preauth deny: no push"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_push_retransmits_limits_and_faults() {
    let fake = DuoFake::start(&users());
    let gw = start_push(&fake, "").await;
    // The NAS gives up after 1 s and retransmits (up to 8 tries) while ivy's phone takes 2.5 s:
    // one push, and the retransmit that arrives after the answer gets it.
    assert_eq!(login(&gw, "ivy", "1", "8").await, "Access-Accept");
    assert_eq!(fake.calls("/auth/v2/auth", "ivy"), 1);

    // One outstanding push per user: a second login while frank's is pending is refused.
    let (a, b) = tokio::join!(login(&gw, "frank", "10", "1"), async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        login(&gw, "frank", "10", "1").await
    });
    assert_eq!((a.as_str(), b.as_str()), ("Access-Reject", "Access-Reject"));
    assert_eq!(fake.calls("/auth/v2/auth", "frank"), 1);
    assert!(reasons(&gw)
        .iter()
        .any(|r| r == "a push is already outstanding for this user"));

    // MFA fatigue: at most 3 pushes per window (frank already had 1).
    assert_eq!(login(&gw, "hal", "10", "1").await, "Access-Reject");
    assert_eq!(login(&gw, "hal", "10", "1").await, "Access-Reject");
    assert_eq!(login(&gw, "hal", "10", "1").await, "Access-Reject");
    assert_eq!(login(&gw, "hal", "10", "1").await, "Access-Reject");
    assert_eq!(fake.calls("/auth/v2/auth", "hal"), 3);
    assert!(
        reasons(&gw).last().unwrap().contains("push limit reached"),
        "{:?}",
        reasons(&gw)
    );

    // Duo failing: failmode secure rejects, with a bounded total time, and sends no push.
    for fault in ["500", "429", "garbage", "close", "hang"] {
        let mut s = users();
        s["fault"] = json!(fault);
        fake.set_script(&s);
        let t = std::time::Instant::now();
        assert_eq!(
            login(&gw, "alice", "10", "1").await,
            "Access-Reject",
            "fault {fault}"
        );
        assert!(
            t.elapsed() < std::time::Duration::from_secs(4),
            "fault {fault}: {:?}",
            t.elapsed()
        );
    }
    assert_eq!(fake.calls("/auth/v2/auth", "alice"), 0);
    gw.stop().await;

    // failmode safe (an explicit per-client opt-in): accepted on the password alone.
    let gw = start_push(&fake, "failmode = \"safe\"").await;
    assert_eq!(login(&gw, "alice", "10", "1").await, "Access-Accept");
    assert!(
        reasons(&gw)[0].contains("failmode safe"),
        "{:?}",
        reasons(&gw)
    );
    gw.stop().await;
}

/// One Access-Request with `password` (and `state`), waiting up to 5 s.
async fn ask(gw: &Gateway, user: &str, password: &str, state: Option<&str>) -> Value {
    let mut args = vec![
        "--enforce-ma",
        "--user",
        user,
        "--password",
        password,
        "--timeout",
        "5",
    ];
    if let Some(s) = state {
        args.extend(["--state", s]);
    }
    pyrad(&gw.server(), SECRET, &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_push_challenge_mode_for_short_nas_timeouts() {
    let fake = DuoFake::start(&users());
    let gw = start_push(&fake, "push_mode = \"challenge\"").await;
    // The Access-Challenge comes at once (no waiting for the phone)…
    let t = std::time::Instant::now();
    let r = ask(&gw, "alice", "pw-alice", None).await;
    assert!(
        t.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(
        r["reply_message"],
        "Approve the request on your phone, then press Enter (or type phone): "
    );
    let state = r["state"].as_str().unwrap().to_owned();
    // …and Enter (any text) collects the approval.
    let r = ask(&gw, "alice", "x", Some(&state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let r = ask(&gw, "alice", "x", Some(&state)).await;
    assert_eq!(r["code"], "Access-Reject", "spent: {r}");

    // ivy takes 2.5 s: the first Enter is too early and is asked again, with the same State.
    let r = ask(&gw, "ivy", "pw-ivy", None).await;
    let state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "ivy", "", Some(&state)).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(r["state"], state.as_str());
    assert!(r["reply_message"]
        .as_str()
        .unwrap()
        .starts_with("Not approved yet"));
    let r = ask(&gw, "ivy", "", Some(&state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");

    // A Duo passcode typed at the push prompt instead of approving: checked as a passcode.
    let r = ask(&gw, "gina", "pw-gina", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let gina_state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "gina", "123456", Some(&gina_state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let r = ask(&gw, "gina", "123456", Some(&gina_state)).await;
    assert_eq!(r["code"], "Access-Reject", "spent: {r}");

    // A denial, and another user's State, are rejected.
    let r = ask(&gw, "hal", "pw-hal", None).await;
    let hal_state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "zed", "x", Some(&hal_state)).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    let r = ask(&gw, "hal", "x", Some(&hal_state)).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert_eq!(fake.calls("/auth/v2/auth", "alice"), 1);
    assert_eq!(fake.calls("/auth/v2/auth", "ivy"), 1);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_phone_call_and_push_inside_an_ldap_bind() {
    let fake = DuoFake::start(&users());
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let dir = temp_dir("duo-skey");
    std::fs::write(dir.join("skey"), SKEY).unwrap();
    let tail = format!(
        "push_provider = \"duo\"\npush_timeout_secs = 5\n\n\
         [[factor.provider]]\nname = \"duo\"\nkind = \"duo\"\napi_host = \"{API_HOST}\"\n\
         ikey = \"{IKEY}\"\nsecret_file = \"{}\"\nurl = \"http://127.0.0.1:{}\"\ntimeout_secs = 2\n\n\
         [ldap]\n[[ldap.listeners]]\nname = \"plain\"\naddress = \"127.0.0.1:0\"\ntls = \"none\"\n\
         allow_cleartext_bind = true\n\n\
         [[ldap.listeners]]\nname = \"safe\"\naddress = \"127.0.0.1:0\"\ntls = \"none\"\n\
         allow_cleartext_bind = true\nfailmode = \"safe\"\n",
        dir.join("skey").display(),
        fake.port
    );
    let gw = start_config("", "", primary, &tail).await;
    for (u, m) in [
        ("alice", mfagate::config::Method::Push),
        ("ivy", mfagate::config::Method::Phone),
    ] {
        gw.admin(mfagate::admin::Request::UserAdd {
            name: u.into(),
            password: Some(format!("pw-{u}")),
            method: Some(m),
            phone: None,
            provider: None,
        })
        .await
        .unwrap();
    }
    // A phone call, over RADIUS (wait mode).
    assert_eq!(login(&gw, "ivy", "10", "1").await, "Access-Accept");
    let calls = std::fs::read_to_string(&fake.log).unwrap();
    assert!(
        calls.contains("\"factor\": \"phone\"") || calls.contains("\"factor\":\"phone\""),
        "{calls}"
    );
    // A push inside an LDAP bind: the bind waits for the phone.
    const ALICE: &str = "uid=alice,ou=people,dc=example";
    assert_eq!(
        ldap_bind(gw.ldap_addrs[0].port(), ALICE, "pw-alice").await,
        0
    );
    assert_eq!(fake.calls("/auth/v2/auth", "alice"), 1);
    let r = reasons(&gw);
    assert_eq!(r, ["phone call approved", "push approved"], "{r:?}");

    // Duo down: the listener's failmode decides (secure by default; "safe" accepts on the
    // password alone, and still not a wrong password).
    let mut faulty = users();
    faulty["fault"] = json!("500");
    fake.set_script(&faulty);
    assert_eq!(
        ldap_bind(gw.ldap_addrs[0].port(), ALICE, "pw-alice").await,
        49
    );
    assert_eq!(
        ldap_bind(gw.ldap_addrs[1].port(), ALICE, "pw-alice").await,
        0
    );
    assert_eq!(ldap_bind(gw.ldap_addrs[1].port(), ALICE, "nope").await, 49);
    let r = reasons(&gw);
    assert!(r[2].ends_with("; rejected"), "{r:?}");
    assert!(
        r[3].contains("failmode safe: accepted on the password alone"),
        "{r:?}"
    );
    assert!(gw
        .cfg
        .warnings
        .iter()
        .any(|w| w.contains("ldap.listeners[1].failmode")));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_passcode_appended_to_the_password() {
    let fake = DuoFake::start(&users());
    let gw = start_push(&fake, "otp_mode = \"append\"").await;
    let ask = |pw: &'static str| {
        let server = gw.server();
        async move {
            let r = pyrad(
                &server,
                SECRET,
                &[
                    "--enforce-ma",
                    "--user",
                    "gina",
                    "--password",
                    pw,
                    "--timeout",
                    "5",
                ],
            )
            .await;
            r["code"].as_str().unwrap_or("?").to_owned()
        }
    };
    assert_eq!(
        ask("pw-gina,123456").await,
        "Access-Accept",
        "{:?}",
        reasons(&gw)
    );
    assert_eq!(ask("pw-gina,654321").await, "Access-Reject");
    assert_eq!(fake.calls("/auth/v2/auth", "gina"), 2);
    let r = reasons(&gw);
    assert_eq!(
        r,
        ["Duo passcode accepted", "Duo passcode rejected"],
        "{r:?}"
    );
    gw.stop().await;
}

/// Duo texting passcodes (`factor=sms`) and a user's own provider: with no
/// `factor.sms_provider`, a user whose provider is Duo gets SMS passcodes from Duo, checked
/// as Duo passcodes; a push user whose provider is Duo may type `sms` at the push prompt.
/// The CLI refuses a provider that does not exist or does not serve the method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duo_sms_passcodes_and_a_users_own_provider() {
    use mfagate::admin::Request as R;
    use mfagate::config::Method;
    let fake = DuoFake::start(&users());
    let gw = start_push(&fake, "push_mode = \"challenge\"").await;
    let set = |name: &str, method: Option<Method>, provider: Option<&str>| R::UserSet {
        name: name.into(),
        method,
        phone: None,
        provider: provider.map(str::to_owned),
    };
    // Without a provider for it, SMS cannot be chosen; a provider must exist and serve it.
    let e = gw.admin(set("gina", Some(Method::Sms), None)).await;
    assert!(
        e.as_ref()
            .is_err_and(|e| e.contains("no provider serves it")),
        "{e:?}"
    );
    let e = gw
        .admin(set("gina", Some(Method::Sms), Some("nexmo")))
        .await;
    assert!(
        e.as_ref()
            .is_err_and(|e| e.contains("no [[factor.provider]]")),
        "{e:?}"
    );
    let e = gw
        .admin(set("gina", Some(Method::Privacyidea), Some("duo")))
        .await;
    assert!(
        e.as_ref().is_err_and(|e| e.contains("does not serve")),
        "{e:?}"
    );
    gw.admin(set("gina", Some(Method::Sms), Some("duo")))
        .await
        .unwrap();
    let shown = gw
        .admin(R::UserShow {
            name: "gina".into(),
        })
        .await
        .unwrap();
    assert_eq!(shown["provider"], "duo", "{shown}");

    // gina: password → Duo texts passcodes → a wrong one is refused (the challenge keeps
    // its other attempts), the right one accepted; the State is then spent.
    let r = ask(&gw, "gina", "pw-gina", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(
        r["reply_message"],
        "Enter a passcode from the text message Duo sent: "
    );
    let state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "gina", "111111", Some(&state)).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    let r = ask(&gw, "gina", "123456", Some(&state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let r = ask(&gw, "gina", "123456", Some(&state)).await;
    assert_eq!(r["code"], "Access-Reject", "spent: {r}");
    assert_eq!(fake.factors("gina"), ["sms", "passcode", "passcode"]);

    // kim (push) with Duo as her own provider may switch to sms at the push prompt: the push
    // is closed in mfagate (a new push may follow at once) and Duo texts passcodes.
    gw.admin(set("kim", None, Some("duo"))).await.unwrap();
    let r = ask(&gw, "kim", "pw-kim", None).await;
    assert_eq!(
        r["reply_message"],
        "Approve the request on your phone, then press Enter (or type sms or phone): "
    );
    let state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "kim", "sms", Some(&state)).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert!(r["reply_message"]
        .as_str()
        .unwrap()
        .starts_with("Enter a passcode from the text message Duo sent"));
    let sms_state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "kim", "246810", Some(&sms_state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let r = ask(&gw, "kim", "x", Some(&state)).await;
    assert_eq!(r["code"], "Access-Reject", "the push's State is spent: {r}");
    assert_eq!(fake.factors("kim"), ["push", "sms", "passcode"]);
    // Back to the configured provider (none for sms): the prompt offers only phone.
    gw.admin(set("kim", None, Some(""))).await.unwrap();
    let r = ask(&gw, "kim", "pw-kim", None).await;
    assert_eq!(
        r["reply_message"],
        "Approve the request on your phone, then press Enter (or type phone): "
    );

    // From the SMS prompt back to the user's own method: a new push, approved.
    gw.admin(set("alice", None, Some("duo"))).await.unwrap();
    let r = ask(&gw, "alice", "pw-alice", None).await;
    let state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "alice", "sms", Some(&state)).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let sms_state = r["state"].as_str().unwrap().to_owned();
    let r = ask(&gw, "alice", "push", Some(&sms_state)).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert!(r["reply_message"]
        .as_str()
        .unwrap()
        .starts_with("Approve the request on your phone"));
    let push_state = r["state"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let r = ask(&gw, "alice", "", Some(&push_state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(fake.factors("alice"), ["push", "sms", "push"]);
    gw.stop().await;
}
