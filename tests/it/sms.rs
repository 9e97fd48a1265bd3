//! One-way SMS codes through an HTTP SMS gateway (`kind = "sms_http"`), over RADIUS with the
//! real pyrad client. The gateway is `http_sink` (an SMS provider is a third-party cloud); the
//! tests read the code from the request it received, as the user reads it from the phone.

use std::time::{Duration, Instant};

use mfagate::admin::Request;
use mfagate::config::Method;
use serde_json::{json, Value};

use crate::harness::*;
use crate::http_sink::{HttpRequest, Sink};

const PHONE: &str = "+15550001012";
const TOKEN: &str = "sms-gateway-token-0123";

/// A gateway with the local directory and the SMS provider `sms` sending to `sink`;
/// `provider` holds the provider's keys beyond name/kind.
async fn start_sms(provider: &str, extra: &str) -> Gateway {
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let dir = temp_dir("sms-secret");
    let token = dir.join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    // The keys land in [factor], the harness's last table.
    let tail = format!(
        "sms_provider = \"sms\"\n\n[[factor.provider]]\nname = \"sms\"\nkind = \"sms_http\"\n\
         secret_file = \"{}\"\n{provider}\n{extra}",
        token.display()
    );
    start_config("otp_mode = \"challenge\"", "", primary, &tail).await
}

fn json_provider(sink: &Sink) -> String {
    format!(
        r#"url = "{}"
method = "POST"
headers = {{ "Content-Type" = "application/json", "Authorization" = "Bearer {{secret}}" }}
body = '{{"to":"{{phone}}","text":"Your code is {{code}}"}}'
timeout_secs = 1
"#,
        sink.url("/sms")
    )
}

async fn add_sms_user(gw: &Gateway, name: &str) {
    gw.admin(Request::UserAdd {
        name: name.into(),
        password: Some(format!("pw-{name}")),
        method: Some(Method::Sms),
        phone: Some(PHONE.into()),
        provider: None,
    })
    .await
    .unwrap();
}

/// Password → Access-Challenge; returns the State and the code the gateway received.
async fn login(gw: &Gateway, sink: &Sink, name: &str) -> (String, String) {
    let before = sink.requests().len();
    let r = pap(gw, name, &format!("pw-{name}"), None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(r["reply_message"], "Enter the code sent to ***-**12: ");
    let reqs = sink.requests();
    assert_eq!(reqs.len(), before + 1, "one SMS per login");
    let code = code_in(&reqs[before]);
    (r["state"].as_str().unwrap().to_owned(), code)
}

fn code_in(req: &HttpRequest) -> String {
    let text = match serde_json::from_str::<Value>(&req.body) {
        Ok(v) => v["text"].as_str().unwrap_or_default().to_owned(),
        Err(_) => req.body.clone(),
    };
    // The code ends the text (in a form body after "%20": keep the last six digits).
    let digits: String = text
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(digits.len() >= 6, "no code in {text:?}");
    digits[digits.len() - 6..].to_owned()
}

async fn answer(gw: &Gateway, name: &str, code: &str, state: &str) -> String {
    let r = pap(gw, name, code, Some(state)).await;
    r["code"].as_str().unwrap_or("?").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_code_round_trip_and_request_shape() {
    let sink = Sink::start().await;
    let gw = start_sms(&json_provider(&sink), "").await;
    add_sms_user(&gw, "sam").await;
    // What an AD sync brings (display name, e-mail) reaches the authentication records.
    gw.store
        .write(|tx| {
            let mut u = tx.user("sam")?.expect("sam");
            u.display_name = Some("Sam <b>Smith</b>".into());
            u.email = Some("sam@example.test".into());
            tx.put_user("sam", &u)
        })
        .await
        .unwrap();
    let (state, code) = login(&gw, &sink, "sam").await;
    let req = &sink.requests()[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/sms"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["to"], PHONE);
    assert_eq!(body["text"], format!("Your code is {code}"));

    assert_eq!(answer(&gw, "sam", &code, &state).await, "Access-Accept");
    // Used: the same State and code again are refused.
    assert_eq!(answer(&gw, "sam", &code, &state).await, "Access-Reject");
    let reasons: Vec<String> = gw.auth_log().iter().map(|a| a.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            "password accepted, SMS code sent",
            "password and SMS code accepted",
            "unknown, expired or used challenge state"
        ]
    );
    assert!(gw.auth_log().iter().all(|a| a.method == "sms"));
    let masked = mfagate::factor::sms::mask_phone(PHONE);
    for r in &gw.auth_log()[..2] {
        assert_eq!(r.phone.as_deref(), Some(masked.as_str()), "{r:?}");
        assert_eq!(r.display_name.as_deref(), Some("Sam <b>Smith</b>"));
        assert_eq!(r.email.as_deref(), Some("sam@example.test"));
        assert_eq!(r.node_ip.as_deref(), Some("127.0.0.1"));
    }
    let (ok, csv, err) = {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
        c.args([
            "report",
            "auth",
            "--since",
            "2026-01-01",
            "--format",
            "csv",
            "-c",
        ])
        .arg(&gw.config_path);
        run(c).await
    };
    assert!(ok, "{err}");
    assert!(
        csv.lines().nth(2).unwrap().ends_with(&format!(
            ",127.0.0.1,Sam <b>Smith</b>,sam@example.test,{masked}"
        )),
        "{csv}"
    );
    assert!(
        !csv.contains(PHONE),
        "the full number is in no report: {csv}"
    );
    // Only a keyed hash is stored: the code is in no challenge record.
    let c: Vec<u8> = gw
        .store
        .read(|r| r.challenge(&unhex(&state)))
        .unwrap()
        .map(|c| serde_json::to_vec(&c).unwrap())
        .unwrap();
    assert!(!String::from_utf8_lossy(&c).contains(&code));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_codes_expire_run_out_are_replaced_and_stay_with_their_user() {
    let sink = Sink::start().await;
    let gw = start_sms(&json_provider(&sink), "").await;
    for u in ["tries", "late", "twice", "owner", "thief"] {
        add_sms_user(&gw, u).await;
    }

    // Three attempts per code (sms_max_attempts): the right code on the fourth is refused.
    let (state, code) = login(&gw, &sink, "tries").await;
    for wrong in ["000000", "111111", "222222"] {
        assert_eq!(answer(&gw, "tries", wrong, &state).await, "Access-Reject");
    }
    assert_eq!(answer(&gw, "tries", &code, &state).await, "Access-Reject");

    // Expired after sms_code_ttl_secs (300).
    let (state, code) = login(&gw, &sink, "late").await;
    gw.clock.advance_ms(301_000);
    assert_eq!(answer(&gw, "late", &code, &state).await, "Access-Reject");

    // A second login sends a new code and voids the first.
    let (state1, code1) = login(&gw, &sink, "twice").await;
    let (state2, code2) = login(&gw, &sink, "twice").await;
    assert_eq!(answer(&gw, "twice", &code1, &state1).await, "Access-Reject");
    assert_eq!(answer(&gw, "twice", &code2, &state2).await, "Access-Accept");

    // Another user's State (with its right code) is refused, and spends none of its attempts.
    let (state, code) = login(&gw, &sink, "owner").await;
    assert_eq!(answer(&gw, "thief", &code, &state).await, "Access-Reject");
    assert_eq!(answer(&gw, "owner", &code, &state).await, "Access-Accept");

    let reasons: Vec<String> = gw.auth_log().iter().map(|a| a.reason.clone()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r == "SMS code replaced by a newer one"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| *r == "wrong code").count(),
        3,
        "{reasons:?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_twilio_preset_sends_form_fields_with_basic_auth() {
    let sink = Sink::start().await;
    let provider = format!(
        "preset = \"twilio\"\naccount_sid = \"AC0123\"\nfrom = \"+15550009999\"\nurl = \"{}\"\n",
        sink.url("/2010-04-01/Accounts/AC0123/Messages.json")
    );
    let gw = start_sms(&provider, "").await;
    add_sms_user(&gw, "tess").await;
    let (state, code) = login(&gw, &sink, "tess").await;
    let req = &sink.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/2010-04-01/Accounts/AC0123/Messages.json");
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let basic = format!(
        "Basic {}",
        mfagate::store::model::base64(format!("AC0123:{TOKEN}").as_bytes())
    );
    assert_eq!(req.header("authorization"), Some(basic.as_str()));
    assert_eq!(
        req.body,
        format!("To=%2B15550001012&From=%2B15550009999&Body=Your%20code%20is%20{code}")
    );
    assert_eq!(answer(&gw, "tess", &code, &state).await, "Access-Accept");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_gateway_failures_reject_without_retrying_a_sent_request() {
    let sink = Sink::start().await;
    let gw = start_sms(&json_provider(&sink), "").await;
    add_sms_user(&gw, "una").await;
    for status in [500u16, 429, 400] {
        sink.set_status(status);
        let before = sink.requests().len();
        let r = pap(&gw, "una", "pw-una", None).await;
        assert_eq!(r["code"], "Access-Reject", "HTTP {status}: {r}");
        assert_eq!(sink.requests().len(), before + 1, "HTTP {status}: no retry");
    }
    // A gateway that hangs: rejected after timeout_secs (1), one request.
    sink.set_status(200);
    sink.set_delay(Duration::from_secs(5));
    let before = sink.requests().len();
    let t = Instant::now();
    // (a NAS with a longer timeout than the gateway's 1 s: pyrad waits 5 s)
    let r = pyrad(
        &gw.server(),
        SECRET,
        &[
            "--enforce-ma",
            "--user",
            "una",
            "--password",
            "pw-una",
            "--timeout",
            "5",
        ],
    )
    .await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(sink.requests().len(), before + 1);
    let reasons: Vec<String> = gw.auth_log().iter().map(|a| a.reason.clone()).collect();
    assert!(
        reasons.iter().all(|r| r.starts_with("SMS not delivered")),
        "{reasons:?}"
    );
    assert!(reasons[0].contains("HTTP status 500"), "{reasons:?}");
    assert!(reasons[3].contains("timed out"), "{reasons:?}");
    // Nothing was left pending: no State was handed out.
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_is_not_offered_over_ldap() {
    let sink = Sink::start().await;
    let ldap = "\n[ldap]\n[[ldap.listeners]]\nname = \"plain\"\naddress = \"127.0.0.1:0\"\n\
                tls = \"none\"\nallow_cleartext_bind = true\n";
    let gw = start_sms(&json_provider(&sink), ldap).await;
    add_sms_user(&gw, "lou").await;
    let url = format!("ldap://127.0.0.1:{}", gw.ldap_addrs[0].port());
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/ldap_client.py"))
        .args(["--url", &url])
        .arg(
            json!([{"op": "bind", "dn": "uid=lou,ou=people,dc=example", "password": "pw-lou"}])
                .to_string(),
        );
    let (_, out, err) = run(cmd).await;
    let r: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out} {err}: {e}"));
    assert_eq!(r[0]["result"], 49, "{r}");
    assert!(sink.requests().is_empty(), "no SMS for an LDAP bind");
    let log = gw.auth_log();
    assert_eq!(log.len(), 1);
    assert!(
        log[0].reason.contains("SMS is not offered over LDAP"),
        "{log:?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_failmode_safe_is_an_explicit_per_client_opt_in() {
    let sink = Sink::start().await;
    let primary =
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";
    let tail = format!(
        "sms_provider = \"sms\"\n\n[[factor.provider]]\nname = \"sms\"\nkind = \"sms_http\"\n{}",
        json_provider(&sink)
    );
    // The first client ("vpn", 127.0.0.1) opts in; the second ("other") keeps the default.
    let gw = start_config("failmode = \"safe\"", "", primary, &tail).await;
    assert!(
        gw.cfg.warnings.iter().any(|w| w.contains("failmode")),
        "{:?}",
        gw.cfg.warnings
    );
    add_sms_user(&gw, "vic").await;
    sink.set_status(503);
    let r = pap(&gw, "vic", "pw-vic", None).await;
    assert_eq!(
        r["code"], "Access-Accept",
        "unreachable gateway, failmode safe: {r}"
    );
    // A refusal (4xx other than 429) rejects even with failmode safe.
    sink.set_status(403);
    let r = pap(&gw, "vic", "pw-vic", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    // The wrong password is still wrong.
    sink.set_status(503);
    let r = pap(&gw, "vic", "wrong", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    let reasons: Vec<String> = gw.auth_log().iter().map(|a| a.reason.clone()).collect();
    assert!(
        reasons[0].contains("failmode safe: accepted on the password alone"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("refused the message"), "{reasons:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_several_methods_chooses_at_the_prompt() {
    let sink = Sink::start().await;
    let gw = start_sms(&json_provider(&sink), "").await;
    // A TOTP user who also has a phone number.
    let seed = gw.add_user("cho", "pw-cho").await;
    gw.admin(Request::UserSetPhone {
        name: "cho".into(),
        phone: PHONE.into(),
    })
    .await
    .unwrap();
    let r = pap(&gw, "cho", "pw-cho", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(
        r["reply_message"],
        "Enter the code from your authenticator app (or type sms): "
    );
    let state = r["state"].as_str().unwrap().to_owned();
    // "sms": a text message is sent, and a new challenge asks for its code.
    let r = pap(&gw, "cho", "sms", Some(&state)).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    assert_eq!(
        r["reply_message"],
        "Enter the code sent to ***-**12 (or type totp): "
    );
    let sms_state = r["state"].as_str().unwrap().to_owned();
    let code = code_in(&sink.requests()[0]);
    // The first challenge was spent by the switch.
    assert_eq!(
        answer(&gw, "cho", &gw.code(&seed, 0), &state).await,
        "Access-Reject"
    );
    assert_eq!(answer(&gw, "cho", &code, &sms_state).await, "Access-Accept");
    // A word that is not one of the user's methods is just a wrong code.
    let r = pap(&gw, "cho", "pw-cho", None).await;
    let state = r["state"].as_str().unwrap().to_owned();
    assert_eq!(answer(&gw, "cho", "push", &state).await, "Access-Reject");
    gw.stop().await;
}

/// An HTTPS gateway whose certificate comes from a CA the system does not trust: nothing
/// reaches it (the handshake fails, an outage: failmode secure rejects, 0 requests). The same
/// gateway with that CA in the provider's `ca_file` gets the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_gateway_certificates_are_always_verified() {
    use std::io::BufRead;
    let dir = temp_dir("tls-sink");
    let hits = dir.join("hits");
    let script = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[3], "a") as f:
            f.write(self.path + "\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;
    let mut server = std::process::Command::new(python())
        .args(["-c", script])
        .arg(certs().join("server.pem"))
        .arg(certs().join("server.key"))
        .arg(&hits)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!("https://127.0.0.1:{}/sms", line.trim());
    let provider = |ca: &str| {
        format!(
            "url = \"{url}\"\nheaders = {{ \"Content-Type\" = \"application/json\" }}\n\
             body = '{{\"to\":\"{{phone}}\",\"text\":\"{{code}}\"}}'\ntimeout_secs = 2\n{ca}"
        )
    };
    let count = || {
        std::fs::read_to_string(&hits)
            .unwrap_or_default()
            .lines()
            .count()
    };

    let gw = start_sms(&provider(""), "").await;
    add_sms_user(&gw, "tia").await;
    let r = pap(&gw, "tia", "pw-tia", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert_eq!(count(), 0, "a request crossed an unverified TLS session");
    let log = gw.auth_log();
    assert!(
        log[0].reason.starts_with("SMS not delivered"),
        "{:?}",
        log[0]
    );
    gw.stop().await;

    let ca = format!("ca_file = \"{}\"\n", certs().join("ca.pem").display());
    let gw = start_sms(&provider(&ca), "").await;
    add_sms_user(&gw, "tia").await;
    let r = pap(&gw, "tia", "pw-tia", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r} {:?}", gw.auth_log());
    assert_eq!(count(), 1);
    gw.stop().await;
    let _ = server.kill();
    let _ = server.wait();
}
