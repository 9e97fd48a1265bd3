//! The enrolment portal with a real browser (headless Chromium, `crate::browser`) and real
//! invitation e-mails (aiosmtpd with STARTTLS and the test CA, `tests/py/smtp_sink.py`): the
//! invitation link, TOTP enrolment, a RADIUS login with the new authenticator, the phone
//! change through the SMS gateway, "this wasn't me", the languages, and what a hostile
//! browser or client can try (forged and replayed requests, oversized forms, HTML and header
//! injection).

use std::time::Duration;

use mfagate::admin::Request;
use mfagate::config::Method;
use mfagate::store::model::{user_key, AuthResult};
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::email::SmtpSink;
use crate::harness::*;
use crate::http_sink::Sink;
use crate::portal_http::client;

pub const PASSWORD: &str = "Portal-pass-1";
const HELPDESK: &str = "IT helpdesk, +46 8 123 45 67";
pub const PUBLIC_URL: &str = "https://mfa.example.test";

/// aiosmtpd with STARTTLS on the test CA's certificate (`crate::email::SmtpSink`).
pub type Smtp = SmtpSink;

pub fn smtp() -> Smtp {
    SmtpSink::starttls(certs(), &[])
}

/// Waits for the `n`th message (1-based): a sweep or a sync sends it in the background.
pub async fn wait_mail(smtp: &Smtp, n: usize) -> Value {
    for _ in 0..600 {
        let m = smtp.messages();
        if m.len() >= n {
            return m[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no message {n} arrived in 30 s");
}

/// The `[email]` and `[portal]` sections for a sink on `smtp_port`.
pub fn sections(smtp_port: u16, extra_portal: &str) -> String {
    let c = certs();
    format!(
        r#"
[email]
host = "127.0.0.1"
port = {smtp_port}
tls = "starttls"
ca_file = "{ca}"
from = "MFA service <mfa@example.test>"

[portal]
listen = "127.0.0.1:0"
public_url = "{PUBLIC_URL}"
cert_file = "{cert}"
key_file = "{key}"
helpdesk = "{HELPDESK}"
{extra_portal}
"#,
        ca = c.join("ca.pem").display(),
        cert = c.join("server.pem").display(),
        key = c.join("server.key").display(),
    )
}

const PRIMARY: &str =
    "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";

/// A gateway with the portal (TOTP and SMS self-enrolment), the SMS gateway `sms` and mail
/// to `smtp`.
async fn start_portal(smtp: &Smtp, sms: &Sink) -> Gateway {
    let tail = format!(
        "sms_provider = \"sms\"\n\n[[factor.provider]]\nname = \"sms\"\nkind = \"sms_http\"\n\
         url = \"{}\"\nmethod = \"POST\"\nheaders = {{ \"Content-Type\" = \"application/json\" }}\n\
         body = '{{\"to\":\"{{phone}}\",\"text\":\"Your code is {{code}}\"}}'\ntimeout_secs = 2\n{}",
        sms.url("/sms"),
        sections(smtp.port, "methods = [\"totp\", \"sms\"]")
    );
    start_config("otp_mode = \"challenge\"", "", PRIMARY, &tail).await
}

pub fn origin(gw: &Gateway) -> String {
    format!("https://127.0.0.1:{}", gw.portal_addr.unwrap().port())
}

/// A user with a password, an address and no second factor yet.
pub async fn add_unenrolled(gw: &Gateway, name: &str, display: &str) {
    gw.admin(Request::UserAdd {
        name: name.into(),
        password: Some(PASSWORD.into()),
        method: Some(Method::Totp),
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
    gw.admin(Request::UserSetContact {
        name: name.into(),
        email: Some(format!("{name}@example.test")),
        display_name: Some(display.into()),
        language: None,
    })
    .await
    .unwrap();
}

/// `user invite NAME` through the admin interface; the outcome of the one user.
pub async fn invite(gw: &Gateway, name: &str) -> Value {
    let v = gw
        .admin(Request::UserInvite {
            names: vec![name.into()],
            not_enrolled: false,
            dry_run: false,
        })
        .await
        .unwrap();
    v["results"][0].clone()
}

/// The portal path of the invitation link in `mail` (its origin is the public URL).
pub fn link_path(mail: &Value) -> String {
    let text = mail["body"].as_str().unwrap();
    let start = text
        .find(&format!("{PUBLIC_URL}/invite/"))
        .unwrap_or_else(|| panic!("no link in {text}"));
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link[PUBLIC_URL.len()..].to_owned()
}

fn user(gw: &Gateway, name: &str) -> mfagate::store::model::UserRecord {
    gw.store.read(|r| r.user(&user_key(name))).unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_then_totp_enrolment_in_the_browser_then_radius_and_this_wasnt_me() {
    let smtp = smtp();
    let sms = Sink::start().await;
    let gw = start_portal(&smtp, &sms).await;
    add_unenrolled(&gw, "erin", "Erin Example").await;

    // The invitation: one mail, with the link; the token is nowhere in the store.
    let o = invite(&gw, "erin").await;
    assert_eq!(o["outcome"], "sent", "{o}");
    let mail = wait_mail(&smtp, 1).await;
    assert_eq!(mail["to"], json!(["erin@example.test"]));
    assert!(
        mail["header_to"].as_str().unwrap().contains("Erin Example"),
        "{mail}"
    );
    let path = link_path(&mail);
    let token = path.trim_start_matches("/invite/");
    assert_eq!(token.len(), 64);
    let u = user(&gw, "erin");
    assert!(u.invitation.is_some() && u.invited_ms.is_some());
    assert!(
        !serde_json::to_string(&u).unwrap().contains(token),
        "the token is stored hashed"
    );
    assert_eq!(
        invite(&gw, "erin").await["outcome"],
        "skipped",
        "no second invitation within the interval"
    );

    let mut b = Browser::start(&origin(&gw), None).await;
    // Without the link, a user with no factor cannot sign in.
    b.open("/").await;
    b.screenshot("01-sign-in").await;
    b.sign_in("erin", PASSWORD).await;
    assert!(b.exists("error").await, "no invitation: refused");
    assert!(!b.exists("who").await);

    b.open(&path).await;
    b.screenshot("02-invitation").await;
    b.sign_in("erin", PASSWORD).await;
    assert_eq!(b.text("who").await, "Erin Example");
    b.screenshot("03-home").await;
    assert!(user(&gw, "erin").invitation.is_none(), "the link is spent");

    // Enrol: the QR code and the secret; a wrong code saves nothing.
    b.click("enrol-app").await;
    let html = b.html().await;
    assert!(html.contains("<svg"), "the QR code is inline SVG");
    let secret = b.text("secret").await;
    b.screenshot("04-enrol-app").await;
    let seed = seed_from_uri(&format!("otpauth://totp/x?secret={secret}"));
    let right = gw.code(&seed, 0);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    b.fill("code", wrong).await;
    b.click("save-app").await;
    assert!(b.exists("error").await, "a wrong code is refused");
    assert!(
        user(&gw, "erin").totp.is_none(),
        "and the seed is not saved"
    );
    b.screenshot("05-enrol-wrong-code").await;
    b.fill("code", &right).await;
    b.click("save-app").await;
    assert!(b.exists("message").await, "saved");
    let u = user(&gw, "erin");
    assert!(u.totp.is_some());
    assert_eq!(u.method, Method::Totp);
    b.screenshot("06-enrolled").await;

    // A RADIUS login with the password and a code from the new authenticator.
    gw.clock.advance_ms(30_000);
    let r = pap(&gw, "erin", PASSWORD, None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let r = pap(&gw, "erin", &gw.code(&seed, 0), r["state"].as_str()).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");

    // My recent sign-ins shows it; "this wasn't me" locks the factor.
    b.open("/activity").await;
    let table = b.text("sign-ins").await;
    assert!(table.contains("vpn"), "{table}");
    b.screenshot("07-recent-sign-ins").await;
    b.click("not-me-0").await;
    assert!(b.text("helpdesk").await.contains(HELPDESK));
    b.screenshot("08-reported").await;
    gw.clock.advance_ms(30_000);
    let r = pap(&gw, "erin", PASSWORD, None).await;
    assert_eq!(r["code"], "Access-Reject", "the factor is locked: {r}");
    let log = gw.auth_log();
    for what in [
        "invitation sent",
        "portal: signed in with the password and the invitation link",
        "portal: authenticator app enrolled",
        "reported the sign-in",
    ] {
        assert!(
            log.iter().any(|r| r.reason.contains(what)),
            "{what} is in the authentication log"
        );
    }
    assert!(log
        .iter()
        .any(|r| r.result == AuthResult::Event && r.reason.contains("wrong code for the new")));

    // The session ends after the idle timeout (15 minutes by default).
    b.open("/").await;
    assert!(b.exists("who").await);
    gw.clock.advance_ms(15 * 60_000);
    b.open("/").await;
    assert!(!b.exists("who").await, "the session expired");
    assert!(b.exists("error").await, "and the page says so");
    b.quit().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_forged_and_replayed_requests_and_a_used_link_are_refused() {
    let smtp = smtp();
    let sms = Sink::start().await;
    let gw = start_portal(&smtp, &sms).await;
    add_unenrolled(&gw, "frank", "<script>alert('frank')</script>").await;
    assert_eq!(invite(&gw, "frank").await["outcome"], "sent");
    let mail = wait_mail(&smtp, 1).await;
    let html = mail["html"].as_str().unwrap_or_default();
    assert!(
        !html.contains("<script>alert") && html.contains("&lt;script&gt;"),
        "the display name is escaped in the mail: {html}"
    );
    let path = link_path(&mail);

    let mut b = Browser::start(&origin(&gw), None).await;
    b.open(&path).await;
    b.sign_in("frank", PASSWORD).await;
    assert_eq!(
        b.text("who").await,
        "<script>alert('frank')</script>",
        "shown as text, not run"
    );
    let session = b.cookie("__Host-mfagate-session").await.unwrap();
    assert_eq!(session["httpOnly"], true);
    assert_eq!(session["secure"], true);
    assert_eq!(session["sameSite"], "Strict");

    // A form on another site posting to the portal: no token, no cookie (SameSite).
    let forged = format!(
        "data:text/html,<form method=post action='{}/totp/new'><button id=go>go</button></form>",
        origin(&gw)
    );
    b.open(&forged).await;
    b.click("go").await;
    assert!(
        b.html().await.contains("id=\"error\""),
        "the forged post is refused"
    );
    assert!(user(&gw, "frank").totp.is_none());

    // Signed out, the old cookie is worthless.
    b.open("/").await;
    b.click("signout").await;
    b.cmd(json!({"op": "set_cookie", "name": "__Host-mfagate-session",
                 "value": session["value"]}))
        .await;
    b.open("/").await;
    assert!(
        !b.exists("who").await,
        "a replayed cookie after sign-out is refused"
    );

    // The link worked once.
    b.open(&path).await;
    b.sign_in("frank", PASSWORD).await;
    assert!(b.exists("error").await, "a used link is refused");
    assert!(!b.exists("who").await);
    b.screenshot("09-used-link").await;
    b.quit().await;

    // Without a browser: no form token, an oversized form, unknown paths and methods.
    let c = client();
    let o = origin(&gw);
    let r = c
        .post(format!("{o}/signin"))
        .form(&[("user", "frank"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a sign-in without the form token");
    let big = "x".repeat(20_000);
    let r = c
        .post(format!("{o}/signin"))
        .form(&[("user", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        c.get(format!("{o}/nothing")).send().await.unwrap().status(),
        404
    );
    let r = c.put(format!("{o}/")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = c.get(format!("{o}/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swedish_pages_and_a_phone_confirmed_by_sms_in_the_browser() {
    let smtp = smtp();
    let sms = Sink::start().await;
    let gw = start_portal(&smtp, &sms).await;
    // A user who has a factor signs in with it: no invitation needed.
    let seed = gw.add_user("greta", PASSWORD).await;

    let mut b = Browser::start(&origin(&gw), Some("sv")).await;
    b.open("/").await;
    let html = b.html().await;
    assert!(
        html.contains("lang=\"sv\"") && html.contains("Logga in"),
        "Swedish by Accept-Language"
    );
    b.screenshot("10-sign-in-sv").await;
    b.sign_in("greta", PASSWORD).await;
    assert!(b.exists("code").await, "the current factor is asked");
    b.fill("code", &gw.code(&seed, 0)).await;
    b.click("submit-code").await;
    assert_eq!(b.text("who").await, "greta");

    b.click("set-phone").await;
    b.fill("phone", "+46 70 123 45 67").await;
    let before = sms.requests().len();
    b.click("send-code").await;
    assert_eq!(
        sms.requests().len(),
        before + 1,
        "one SMS to the new number"
    );
    let sent: Value = serde_json::from_str(&sms.requests()[before].body).unwrap();
    assert_eq!(sent["to"], "+46701234567");
    let code: String = sent["text"]
        .as_str()
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    b.screenshot("11-phone-confirm-sv").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.fill("code", wrong).await;
    b.click("save-phone").await;
    assert!(b.exists("error").await);
    assert_eq!(user(&gw, "greta").phone, None, "a wrong code saves nothing");
    b.fill("code", &code).await;
    b.click("save-phone").await;
    assert!(b.exists("message").await);
    let u = user(&gw, "greta");
    assert_eq!(u.phone.as_deref(), Some("+46701234567"));
    assert_eq!(u.method, Method::Totp, "the authenticator stays the method");
    assert!(
        u.local_overrides.iter().any(|o| o == "phone"),
        "a sync keeps it"
    );

    // Switched on the page: Dutch from now on.
    b.click("lang-nl").await;
    assert!(b.html().await.contains("lang=\"nl\""));
    b.open("/").await;
    assert!(b.html().await.contains("Aangemeld als"));
    b.screenshot("12-home-nl").await;
    b.quit().await;
    gw.stop().await;
}

/// The password as AD's unicodePwd takes it: in double quotes, UTF-16LE, base64.
fn unicode_pwd(pw: &str) -> String {
    let bytes: Vec<u8> = format!("\"{pw}\"")
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let out = std::process::Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// End to end with the Samba AD DC: a user created in AD, imported by `[[sync]]` with
/// `invite_new_users`, receives the invitation and enrols through the portal with the AD
/// password; then a RADIUS login with the AD password and the new authenticator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_user_imported_by_sync_is_invited_and_enrols_with_the_ad_password() {
    use crate::harness::ad_env as env;
    let pid = std::process::id();
    let ou = format!("OU=Portal{pid},{}", env("AD_BASE_DN"));
    crate::sync::ldif(
        &["-a"],
        &format!("dn: {ou}\nobjectClass: organizationalUnit\n"),
    )
    .await;
    let sam = format!("pia{pid}");
    let password = format!("Passw0rd-{sam}!");
    crate::sync::ldif(
        &["-a"],
        &format!(
            "dn: CN=Pia Portal,{ou}\nobjectClass: user\nsAMAccountName: {sam}\n\
             userPrincipalName: {sam}@{realm}\nunicodePwd:: {pw}\nuserAccountControl: 512\n\
             displayName: Pia Portal\nmail: {sam}@test.local\nmobile: +46701112233\n\
             preferredLanguage: sv-SE\n",
            realm = env("AD_REALM").to_lowercase(),
            pw = unicode_pwd(&password),
        ),
    )
    .await;
    let smtp = smtp();
    let ad = ad_primary(&[env("AD_LDAPS_URL")], false, &env("AD_CA_PEM"));
    let primary = format!(
        "{ad}\n[[sync]]\nname = \"portal\"\nbase_dn = \"{ou}\"\ninterval = \"24h\"\n\
         default_method = \"totp\"\ninvite_new_users = true\n\
         language_attribute = \"preferredLanguage\"\n"
    );
    let gw = start_config(
        "otp_mode = \"challenge\"",
        "",
        &primary,
        &sections(smtp.port, ""),
    )
    .await;

    // The start-up sync adds her; the sweep that follows mails her.
    let mail = wait_mail(&smtp, 1).await;
    assert_eq!(mail["to"], json!([format!("{sam}@test.local")]));
    let text = mail["body"].as_str().unwrap();
    assert!(!text.contains(&password), "no password in the mail");
    assert_eq!(
        mail["subject"], "Åtgärd krävs: aktivera tvåstegsverifiering",
        "in her language (preferredLanguage: sv-SE)"
    );
    assert_eq!(user(&gw, &sam).language.as_deref(), Some("sv"));
    let path = link_path(&mail);
    assert!(!user(&gw, &sam).invite_pending, "sent, so no longer owed");

    let mut b = Browser::start(&origin(&gw), None).await;
    b.open(&path).await;
    b.sign_in(&sam, &password).await;
    assert_eq!(b.text("who").await, "Pia Portal");
    b.click("enrol-app").await;
    let secret = b.text("secret").await;
    let seed = seed_from_uri(&format!("otpauth://totp/x?secret={secret}"));
    b.fill("code", &gw.code(&seed, 0)).await;
    b.click("save-app").await;
    assert!(b.exists("message").await, "enrolled");
    b.quit().await;

    gw.clock.advance_ms(30_000);
    let r = pap(&gw, &sam, &password, None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let r = pap(&gw, &sam, &gw.code(&seed, 0), r["state"].as_str()).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    gw.stop().await;
    crate::sync::ldif(
        &[],
        &format!("dn: CN=Pia Portal,{ou}\nchangetype: delete\n"),
    )
    .await;
    crate::sync::ldif(&[], &format!("dn: {ou}\nchangetype: delete\n")).await;
}
