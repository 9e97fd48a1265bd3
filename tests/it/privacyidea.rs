//! privacyIDEA as the second factor, for real: `scripts/test.sh` starts privacyIDEA 3.14 once
//! per run (`scripts/start-privacyidea.sh`), seeds a TOTP token for alice, HOTP for bob, an
//! SMS token for carol and an e-mail token for dave (`scripts/seed-privacyidea.py`), and
//! points its SMS gateway and SMTP server at local sinks whose files the test reads the codes
//! from. One test function: the tokens are shared state.

use std::time::{SystemTime, UNIX_EPOCH};

use mfagate::admin::Request;
use mfagate::config::{Method, TotpConfig};
use serde_json::Value;

use crate::harness::*;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!("{k} is not set: run the tests with scripts/test.sh, which starts privacyIDEA")
    })
}

/// The seeded tokens and the SMS sink are shared: tests that use them take turns.
static TOKENS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn seed() -> Value {
    serde_json::from_str(&std::fs::read_to_string(env("MFAGATE_PI_SEED")).unwrap()).unwrap()
}

/// The newest code the sink got (a JSON line per message) for which `pick` finds one.
fn newest_code(file: &str, pick: impl Fn(&Value) -> Option<String>) -> Option<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| pick(&v))
        .last()
}

/// Waits (up to 5 s) for a code newer than `before`.
async fn next_code(
    file: &str,
    before: Option<String>,
    pick: impl Fn(&Value) -> Option<String>,
) -> String {
    for _ in 0..50 {
        if let Some(c) = newest_code(file, &pick) {
            if Some(&c) != before.as_ref() {
                return c;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no new code in {file}");
}

fn sms_for(phone: &'static str) -> impl Fn(&Value) -> Option<String> {
    move |v| {
        (v["form"]["phone"] == phone).then(|| v["form"]["text"].as_str().unwrap_or("").to_owned())
    }
}

fn mail_for(to: &'static str) -> impl Fn(&Value) -> Option<String> {
    move |v| (v["header_to"] == to).then(|| v["body"].as_str().unwrap_or("").trim().to_owned())
}

fn totp_now(seed_hex: &str, offset_steps: i64) -> String {
    let seed = unhex(seed_hex);
    let cfg = TotpConfig {
        issuer: "x".into(),
        digits: 6,
        period_secs: 30,
        skew_steps: 0,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    mfagate::factor::totp::code_at(&seed, now / 30 + offset_steps as u64, &cfg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacyidea_totp_hotp_sms_and_email_tokens() {
    let _tokens = TOKENS.lock().await;
    let s = seed();
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let tail = format!(
        "privacyidea_provider = \"pi\"\n\n[[factor.provider]]\nname = \"pi\"\nkind = \"privacyidea\"\n\
         url = \"{}\"\nrealm = \"{}\"\nservice_user = \"{}\"\nsecret_env = \"PI_ADMIN_PASSWORD\"\n\
         timeout_secs = 10\n",
        env("PI_URL"),
        env("PI_REALM"),
        env("PI_ADMIN")
    );
    let gw = start_config("otp_mode = \"append\"", "", primary, &tail).await;
    for u in ["alice", "bob", "carol", "dave"] {
        gw.admin(Request::UserAdd {
            name: u.into(),
            password: Some(format!("pw-{u}")),
            method: Some(Method::Privacyidea),
            phone: None,
            provider: None,
        })
        .await
        .unwrap();
    }
    let code = |r: &Value| r["code"].as_str().unwrap_or("?").to_owned();
    let ask = |user: &'static str, pw: String, state: Option<String>| {
        let server = gw.server();
        async move {
            let mut args = vec![
                "--enforce-ma".to_owned(),
                "--user".into(),
                user.into(),
                "--password".into(),
                pw,
                "--timeout".into(),
                "10".into(),
            ];
            if let Some(st) = state {
                args.extend(["--state".into(), st]);
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            pyrad(&server, SECRET, &refs).await
        }
    };

    // alice: TOTP, password,code in one request; privacyIDEA refuses the same code again and a
    // wrong one; the wrong password never reaches it.
    let alice = s["tokens"]["alice"]["seed_hex"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = totp_now(&alice, 0);
    assert_eq!(
        code(&ask("alice", format!("pw-alice,{c}"), None).await),
        "Access-Accept"
    );
    assert_eq!(
        code(&ask("alice", format!("pw-alice,{c}"), None).await),
        "Access-Reject",
        "replay"
    );
    assert_eq!(
        code(&ask("alice", "pw-alice,000000".into(), None).await),
        "Access-Reject"
    );
    assert_eq!(
        code(&ask("alice", format!("nope,{}", totp_now(&alice, 1)), None).await),
        "Access-Reject"
    );

    // bob: HOTP (counter 0 was used by the seed).
    let bob = unhex(s["tokens"]["bob"]["seed_hex"].as_str().unwrap());
    let hotp = format!("{:06}", mfagate::factor::totp::hotp(&bob, 1, 6));
    assert_eq!(
        code(&ask("bob", format!("pw-bob,{hotp}"), None).await),
        "Access-Accept"
    );

    // carol: SMS token. The password alone triggers it (as the service account); the prompt is
    // privacyIDEA's; the code comes from its SMS gateway; a wrong answer keeps the challenge.
    let sms_file = env("MFAGATE_PI_SMS_OUT");
    let before = newest_code(&sms_file, sms_for("+15550001003"));
    let r = ask("carol", "pw-carol".into(), None).await;
    assert_eq!(code(&r), "Access-Challenge", "{r}");
    let state = r["state"].as_str().unwrap().to_owned();
    assert!(!r["reply_message"].as_str().unwrap_or("").is_empty(), "{r}");
    let otp = next_code(&sms_file, before, sms_for("+15550001003")).await;
    assert_eq!(
        code(&ask("carol", "000000".into(), Some(state.clone())).await),
        "Access-Reject"
    );
    assert_eq!(
        code(&ask("carol", otp.clone(), Some(state.clone())).await),
        "Access-Accept"
    );
    assert_eq!(
        code(&ask("carol", otp, Some(state)).await),
        "Access-Reject",
        "spent"
    );

    // dave: e-mail token, same flow through the SMTP sink.
    let mail_file = env("MFAGATE_PI_SMTP_OUT");
    let before = newest_code(&mail_file, mail_for("dave@example.test"));
    let r = ask("dave", "pw-dave".into(), None).await;
    assert_eq!(code(&r), "Access-Challenge", "{r}");
    let state = r["state"].as_str().unwrap().to_owned();
    let otp = next_code(&mail_file, before, mail_for("dave@example.test")).await;
    assert_eq!(code(&ask("dave", otp, Some(state)).await), "Access-Accept");

    // A TOTP user with the password alone: privacyIDEA's triggerchallenge opens a challenge
    // for TOTP tokens too (its prompt is relayed), and the code answers it.
    let r = ask("alice", "pw-alice".into(), None).await;
    assert_eq!(code(&r), "Access-Challenge", "{r}");
    assert_eq!(r["reply_message"], "please enter otp: ");
    let state = r["state"].as_str().unwrap().to_owned();
    let r = ask("alice", totp_now(&alice, 1), Some(state)).await;
    assert_eq!(code(&r), "Access-Accept", "{r}");

    let reasons: Vec<String> = gw.auth_log().iter().map(|a| a.reason.clone()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("privacyIDEA rejected the code")),
        "{reasons:?}"
    );
    assert!(
        gw.auth_log()
            .iter()
            .all(|a| a.method == "privacyidea" || a.reason == "wrong password"),
        "{reasons:?}"
    );
    gw.stop().await;
}

/// privacyIDEA failing, played by an HTTP sink: every answer that is not a decision goes to
/// the client's failmode (secure here: reject), never to an accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacyidea_outages_and_odd_answers_reject() {
    use crate::http_sink::Sink;
    let sink = Sink::start().await;
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let tail = format!(
        "privacyidea_provider = \"pi\"\n\n[[factor.provider]]\nname = \"pi\"\nkind = \"privacyidea\"\n\
         url = \"{}\"\ntimeout_secs = 1\n",
        sink.url("")
    );
    let gw = start_config("otp_mode = \"append\"", "", primary, &tail).await;
    gw.admin(Request::UserAdd {
        name: "pat".into(),
        password: Some("pw-pat".into()),
        method: Some(Method::Privacyidea),
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
    let accept = r#"{"result":{"status":true,"value":true,"authentication":"ACCEPT"},"detail":{}}"#;
    let cases: [(u16, &str, u64); 5] = [
        (500, accept, 0),
        (429, accept, 0),
        (200, "<html>not json</html>", 0),
        (200, accept, 3000),
        (
            403,
            r#"{"result":{"status":false,"error":{"code":4033,"message":"no"}}}"#,
            0,
        ),
    ];
    for (status, body, delay) in cases {
        sink.set_status(status);
        sink.set_body(body);
        sink.set_delay(std::time::Duration::from_millis(delay));
        let r = pat_login(&gw).await;
        assert_eq!(r["code"], "Access-Reject", "HTTP {status} {body}: {r}");
    }
    // The sink's answer works when it is a real decision.
    sink.set_status(200);
    sink.set_body(accept);
    sink.set_delay(std::time::Duration::ZERO);
    let r = pat_login(&gw).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let reasons: Vec<String> = gw.auth_log().iter().map(|a| a.reason.clone()).collect();
    assert!(reasons[0].contains("HTTP status 500"), "{reasons:?}");
    assert!(reasons[2].contains("not JSON"), "{reasons:?}");
    assert!(reasons[3].contains("timed out"), "{reasons:?}");
    assert!(reasons[4].contains("refused"), "{reasons:?}");
    // Each code went to privacyIDEA once: no retry that could count twice.
    assert_eq!(sink.requests().len(), 6);

    // A challenge (no service account: an empty pass triggers it), then an answer about
    // another transaction: not an answer to ours.
    let challenge = r#"{"result":{"status":true,"value":false,"authentication":"CHALLENGE"},
        "detail":{"transaction_id":"T1","message":"enter the code we sent: "}}"#;
    let answer_for = |t: &str| {
        format!(
            r#"{{"result":{{"status":true,"value":true,"authentication":"ACCEPT"}},"detail":{{"transaction_id":"{t}"}}}}"#
        )
    };
    for (txid, expect) in [("T2", "Access-Reject"), ("T1", "Access-Accept")] {
        sink.set_body(challenge);
        let r = pyrad(
            &gw.server(),
            SECRET,
            &[
                "--enforce-ma",
                "--user",
                "pat",
                "--password",
                "pw-pat",
                "--timeout",
                "5",
            ],
        )
        .await;
        assert_eq!(r["code"], "Access-Challenge", "{r}");
        assert_eq!(r["reply_message"], "enter the code we sent: ");
        let state = r["state"].as_str().unwrap().to_owned();
        sink.set_body(&answer_for(txid));
        let r = pap(&gw, "pat", "123456", Some(&state)).await;
        assert_eq!(r["code"], expect, "answer for {txid}: {r}");
    }
    let last = sink.requests().pop().unwrap();
    assert!(last.body.contains("transaction_id=T1"), "{}", last.body);
    assert!(gw
        .auth_log()
        .iter()
        .any(|a| a.reason.contains("answer for another transaction")));
    gw.stop().await;
}

async fn pat_login(gw: &Gateway) -> Value {
    pyrad(
        &gw.server(),
        SECRET,
        &[
            "--enforce-ma",
            "--user",
            "pat",
            "--password",
            "pw-pat,123456",
            "--timeout",
            "5",
        ],
    )
    .await
}

/// `tests/py/pi_phone.py`, the privacyIDEA Authenticator app in poll-only mode for erin's
/// push token: started before the login and ready once it has ignored the challenges that
/// were already open, it answers the next one.
struct Phone(std::process::Child);

impl Phone {
    fn start(action: &str, delay_secs: &str) -> Phone {
        tokio::task::block_in_place(|| Phone::start_blocking(action, delay_secs))
    }

    fn start_blocking(action: &str, delay_secs: &str) -> Phone {
        use std::io::BufRead;
        let mut child = std::process::Command::new(python())
            .arg(repo().join("tests/py/pi_phone.py"))
            .args(["--seed", &env("MFAGATE_PI_SEED"), action])
            .args(["--timeout", "30", "--delay", delay_secs, "--new-only"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("polling for") {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "pi_phone.py ended");
        }
        Phone(child)
    }

    /// What the phone did (its JSON line); it must have answered.
    fn answered(self) -> Value {
        let out = tokio::task::block_in_place(|| self.0.wait_with_output()).unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "pi_phone.py: {text}");
        serde_json::from_str(text.trim()).unwrap()
    }
}

/// A privacyIDEA push token, for real: privacyIDEA 3.14 in poll-only mode and the phone app
/// played by `pi_phone.py`. The password alone triggers the push (as the service account);
/// mfagate polls `/validate/polltransaction` and finishes with `/validate/check` (empty pass,
/// the transaction id). Approve accepts; cancel rejects; "this was not me" (declined) locks
/// the second factor; no answer times out. In challenge mode the challenge comes at once and
/// Enter collects the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacyidea_push_token_answered_on_the_phone() {
    let _tokens = TOKENS.lock().await;
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let tail = format!(
        "privacyidea_provider = \"pi\"\npush_timeout_secs = 6\n\n[[factor.provider]]\n\
         name = \"pi\"\nkind = \"privacyidea\"\nurl = \"{}\"\nrealm = \"{}\"\n\
         service_user = \"{}\"\nsecret_env = \"PI_ADMIN_PASSWORD\"\ntimeout_secs = 10\n\n\
         [ldap]\n[[ldap.listeners]]\nname = \"plain\"\naddress = \"127.0.0.1:0\"\ntls = \"none\"\n\
         allow_cleartext_bind = true\n",
        env("PI_URL"),
        env("PI_REALM"),
        env("PI_ADMIN")
    );
    let mut gws = Vec::new();
    for mode in ["wait", "challenge"] {
        let gw = start_config(&format!("push_mode = \"{mode}\""), "", primary, &tail).await;
        for u in ["erin", "carol"] {
            gw.admin(Request::UserAdd {
                name: u.into(),
                password: Some(format!("pw-{u}")),
                method: Some(Method::Privacyidea),
                phone: None,
                provider: None,
            })
            .await
            .unwrap();
        }
        gws.push(gw);
    }
    let (wait, challenge) = (&gws[0], &gws[1]);
    let login = |gw: &Gateway, pw: &str, state: Option<&str>| {
        let (server, pw, state) = (gw.server(), pw.to_owned(), state.map(str::to_owned));
        async move {
            let mut args = vec!["--enforce-ma", "--user", "erin", "--password", &pw];
            args.extend(["--timeout", "15", "--retries", "1"]);
            if let Some(s) = &state {
                args.extend(["--state", s]);
            }
            pyrad(&server, SECRET, &args).await
        }
    };
    let reasons =
        |gw: &Gateway| -> Vec<String> { gw.auth_log().iter().map(|a| a.reason.clone()).collect() };

    // Wait mode: the Access-Request is held until the phone answers.
    let phone = Phone::start("approve", "1");
    let r = login(wait, "pw-erin", None).await;
    assert_eq!(r["code"], "Access-Accept", "{r} {:?}", reasons(wait));
    assert_eq!(phone.answered()["action"], "approve");
    let phone = Phone::start("cancel", "0.5");
    let r = login(wait, "pw-erin", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    phone.answered();
    // The wrong password triggers nothing.
    let r = login(wait, "nope", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    // No answer within push_timeout_secs.
    let t = std::time::Instant::now();
    let r = login(wait, "pw-erin", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    // "This was not me": the second factor locks until an administrator unlocks it.
    let phone = Phone::start("decline", "0.5");
    let r = login(wait, "pw-erin", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    phone.answered();
    let r = login(wait, "pw-erin", None).await;
    assert_eq!(r["code"], "Access-Reject", "locked: {r}");
    let r = reasons(wait);
    assert_eq!(
        r,
        [
            "push approved",
            "push denied by the user",
            "wrong password",
            "push not answered in time",
            "push reported as fraud: second factor locked until an administrator unlocks it",
            "second factor locked after repeated wrong codes",
        ],
        "{r:?}"
    );
    assert!(wait
        .auth_log()
        .iter()
        .all(|a| a.method == "privacyidea" || a.method == "password"));
    wait.admin(Request::UserUnlock {
        name: "erin".into(),
    })
    .await
    .unwrap();

    // An LDAP bind without a code: only push tokens are triggered (type=push), and the bind
    // waits for the phone. carol's SMS token is not triggered: no text is sent for a bind
    // that could not use it.
    let bind = |gw: &Gateway, user: &str| {
        let (port, dn, pw) = (
            gw.ldap_addrs[0].port(),
            format!("uid={user},ou=people,dc=example"),
            format!("pw-{user}"),
        );
        async move { ldap_bind(port, &dn, &pw).await }
    };
    let phone = Phone::start("approve", "1");
    assert_eq!(bind(wait, "erin").await, 0, "{:?}", reasons(wait));
    phone.answered();
    let sms_file = env("MFAGATE_PI_SMS_OUT");
    let texts = || {
        std::fs::read_to_string(&sms_file)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let before = texts();
    assert_eq!(bind(wait, "carol").await, 49);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(texts(), before, "an SMS was sent for a bind");
    let r = reasons(wait);
    assert_eq!(
        r[r.len() - 2..],
        [
            "push approved",
            "a code is needed, and an LDAP bind cannot ask for one (append it to the password)"
        ],
        "{r:?}"
    );

    // Challenge mode: the challenge at once; Enter before the phone answered asks again.
    let t = std::time::Instant::now();
    let r = login(challenge, "pw-erin", None).await;
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(
        r["reply_message"],
        "Approve the request on your phone, then press Enter: "
    );
    let state = r["state"].as_str().unwrap().to_owned();
    let r = login(challenge, "", Some(&state)).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(r["state"], state.as_str());
    // The phone (started now) answers the challenge that is already open: no --new-only.
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/pi_phone.py")).args([
        "--seed",
        &env("MFAGATE_PI_SEED"),
        "approve",
        "--timeout",
        "10",
    ]);
    let (ok, _, err) = run(cmd).await;
    assert!(ok, "{err}");
    let r = login(challenge, "", Some(&state)).await;
    assert_eq!(r["code"], "Access-Accept", "{r} {:?}", reasons(challenge));
    let r = login(challenge, "", Some(&state)).await;
    assert_eq!(r["code"], "Access-Reject", "spent: {r}");
    for gw in gws {
        gw.stop().await;
    }
}

/// `mfagate doctor` checks every `[[factor.provider]]` without reaching a user: privacyIDEA's
/// service account (`/auth`), Duo's keys (`/auth/v2/check`, signature checked by the fake with
/// Duo's own code), an SMS gateway's reachability (HEAD, no message); each failure says what
/// to fix, and no secret appears in the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_every_second_factor_provider() {
    use crate::duo::{DuoFake, API_HOST, IKEY, SKEY};
    let duo = DuoFake::start(&serde_json::json!({"users": {}}));
    let sink = crate::http_sink::Sink::start().await;
    let dir = temp_dir("doctor-providers");
    std::fs::write(dir.join("skey"), SKEY).unwrap();
    std::fs::write(dir.join("wrong-skey"), "not-the-duo-secret-key-at-all").unwrap();
    let pi = |name: &str, secret_env: &str| {
        format!(
            "[[factor.provider]]\nname = \"{name}\"\nkind = \"privacyidea\"\nurl = \"{}\"\n\
             service_user = \"{}\"\nsecret_env = \"{secret_env}\"\n",
            env("PI_URL"),
            env("PI_ADMIN")
        )
    };
    let duo_provider = |name: &str, skey: &str| {
        format!(
            "[[factor.provider]]\nname = \"{name}\"\nkind = \"duo\"\napi_host = \"{API_HOST}\"\n\
             ikey = \"{IKEY}\"\nsecret_file = \"{}\"\nurl = \"http://127.0.0.1:{}\"\n",
            dir.join(skey).display(),
            duo.port
        )
    };
    let sms = |name: &str, url: &str| {
        format!(
            "[[factor.provider]]\nname = \"{name}\"\nkind = \"sms_http\"\nurl = \"{url}\"\n\
             body = '{{\"to\":\"{{phone}}\",\"text\":\"{{code}}\"}}'\ntimeout_secs = 2\n"
        )
    };
    let cfg = dir.join("doctor.toml");
    std::fs::write(
        &cfg,
        format!(
            "node_name = \"doc\"\ndata_dir = \"{}\"\n[primary]\nbackend = \"local\"\n[factor]\n\
             {}{}{}{}{}{}",
            dir.join("data").display(),
            pi("pi", "PI_ADMIN_PASSWORD"),
            pi("pi-wrong", "MFAGATE_TEST_WRONG_PI_PW"),
            duo_provider("duo", "skey"),
            duo_provider("duo-wrong", "wrong-skey"),
            sms("sms", &sink.url("/send?to={phone}&text={code}")),
            sms("sms-dead", "http://127.0.0.1:1/send"),
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    cmd.env("MFAGATE_TEST_WRONG_PI_PW", "definitely-wrong-pi")
        .arg("doctor")
        .arg("-c")
        .arg(&cfg);
    let (ok, out, err) = run(cmd).await;
    assert!(!ok, "{out}{err}");
    for line in [
        "[ ok ] provider pi (privacyidea): service account accepted (/auth)",
        "[FAIL] provider pi-wrong (privacyidea):",
        "fix: check service_user and its password",
        "[ ok ] provider duo (duo): integration key, secret key and clock accepted",
        "[FAIL] provider duo-wrong (duo):",
        "fix: check ikey, the secret key",
        "[ ok ] provider sms (sms_http): answers (HTTP 200 to HEAD; no message sent)",
        "[FAIL] provider sms-dead (sms_http): SMS gateway sms-dead: cannot connect",
        "3 check(s) failed",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    for secret in [
        "definitely-wrong-pi",
        SKEY,
        "not-the-duo-secret",
        &env("PI_ADMIN_PASSWORD"),
    ] {
        assert!(!out.contains(secret), "a secret in the report:\n{out}");
    }
    // The HEAD went to the gateway's path only (no template filled in), and sent nothing.
    let reqs = sink.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("HEAD", "/send?to=")
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A privacyIDEA user signs in at the portal with the factor privacyIDEA holds for them
/// (carol's SMS token: the code comes from privacyIDEA's SMS gateway), as at a VPN login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privacyidea_user_signs_in_at_the_portal_with_their_token() {
    use crate::portal::{origin, sections};
    use crate::portal_http::{answer, sign_in_raw};
    let _tokens = TOKENS.lock().await;
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let tail = format!(
        "privacyidea_provider = \"pi\"\n\n[[factor.provider]]\nname = \"pi\"\nkind = \"privacyidea\"\n\
         url = \"{}\"\nrealm = \"{}\"\nservice_user = \"{}\"\nsecret_env = \"PI_ADMIN_PASSWORD\"\n\
         timeout_secs = 10\n{}",
        env("PI_URL"),
        env("PI_REALM"),
        env("PI_ADMIN"),
        sections(25, "")
    );
    let gw = start_config("otp_mode = \"challenge\"", "", primary, &tail).await;
    gw.admin(Request::UserAdd {
        name: "carol".into(),
        password: Some("pw-carol".into()),
        method: Some(Method::Privacyidea),
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
    let sms_file = env("MFAGATE_PI_SMS_OUT");
    let before = newest_code(&sms_file, sms_for("+15550001003"));
    let (status, page, cookie, _) = sign_in_raw(&origin(&gw), "carol", "pw-carol", None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("name=\"state\""),
        "privacyIDEA's challenge: {page}"
    );
    let otp = next_code(&sms_file, before, sms_for("+15550001003")).await;
    let (status, _) = answer(&gw, &cookie, &page, "000000").await;
    assert_eq!(status, 200, "a wrong code refuses");
    // A refused answer ends that sign-in; a new one sends a new code.
    let before = Some(otp);
    let (_, page, cookie, _) = sign_in_raw(&origin(&gw), "carol", "pw-carol", None).await;
    let otp = next_code(&sms_file, before, sms_for("+15550001003")).await;
    let (status, _) = answer(&gw, &cookie, &page, &otp).await;
    assert_eq!(status, 303, "signed in with privacyIDEA's code");
    gw.stop().await;
}
