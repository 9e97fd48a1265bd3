//! The portal across a cluster of real processes: signed in at one node's portal, the
//! session cookie works at the other's once login state has replicated, and signing out at
//! either ends it at both; an invitation link signs in once in the whole cluster.

use std::time::{Duration, Instant};

use mfagate::clock::{Clock, SystemClock};
use mfagate::config::Config;
use mfagate::factor::totp;

use super::*;
use crate::email::SmtpSink;
use crate::portal::{link_path, wait_mail};
use crate::portal_http::{client, form_page, sign_in_to, value_of};

/// The `[email]` and `[portal]` sections of a node whose portal is on `port` (the test
/// certificate for 127.0.0.1); mail goes to aiosmtpd on `smtp`.
fn portal_tail(port: u16, smtp: u16) -> String {
    let c = certs();
    format!(
        "[email]\nhost = \"127.0.0.1\"\nport = {smtp}\nca_file = \"{ca}\"\n\
         from = \"MFA <mfa@example.test>\"\n\
         [portal]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{}\"\n\
         cert_file = \"{}\"\nkey_file = \"{}\"\n",
        crate::portal::PUBLIC_URL,
        c.join("server.pem").display(),
        c.join("server.key").display(),
        ca = c.join("ca.pem").display(),
    )
}

/// Whether `cookie` is a signed-in session at the portal on `port`: its home page names the
/// user. Returns that page.
async fn home(port: u16, cookie: &str) -> Option<String> {
    let r = client()
        .get(format!("https://127.0.0.1:{port}/"))
        .header("Cookie", cookie)
        .send()
        .await
        .ok()?;
    let html = r.text().await.ok()?;
    html.contains("id=\"who\"").then_some(html)
}

/// Waits up to 5 s for `want` signed-in state at `port`.
async fn wait_home(port: u16, cookie: &str, want: bool) -> Option<String> {
    let start = Instant::now();
    loop {
        let h = home(port, cookie).await;
        if h.is_some() == want || start.elapsed() > Duration::from_secs(5) {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_session_from_one_node_is_served_and_ended_by_the_other() {
    let root = temp_dir("cluster-portal");
    let ca = make_ca(&root).await;
    let ports = [free_port(), free_port()];
    let smtp = SmtpSink::starttls(certs(), &[]);
    let mut nodes = Vec::new();
    for (name, port) in ["n1", "n2"].into_iter().zip(ports) {
        let tail = portal_tail(port, smtp.port);
        nodes.push(Node::with(&root, name, &ca, "otp_mode = \"challenge\"", &tail).await);
    }
    // Two nodes: the second is a learner, which serves logins (and the portal) all the same.
    nodes[0].ok(&["cluster", "init"]).await;
    nodes[0].start();
    nodes[0]
        .wait_status("leader", Duration::from_secs(15), |v| v["role"] == "leader")
        .await;
    let leader = nodes[0].cluster.clone();
    nodes[1].ok(&["cluster", "join", &leader]).await;
    nodes[1].start();
    nodes[0]
        .wait_status("two members", Duration::from_secs(30), |v| {
            v["members"].as_array().is_some_and(|m| m.len() == 2)
        })
        .await;
    let (seed, _) = add_enrolled(&nodes[0], "cara", "Cara-pass-1").await;
    wait_user(&nodes[1], "cara", Duration::from_secs(5)).await;

    // Sign in at n1: password, then the TOTP code.
    let c = client();
    let p1 = ports[0];
    let (_, form_cookie, page) = form_page(c.get(format!("https://127.0.0.1:{p1}/"))).await;
    let csrf = value_of(&page, "csrf");
    let r = c
        .post(format!("https://127.0.0.1:{p1}/signin"))
        .header("Cookie", &form_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("user", "cara"),
            ("password", "Cara-pass-1"),
        ])
        .send()
        .await
        .unwrap();
    let asked = r.text().await.unwrap();
    let state = value_of(&asked, "state");
    let cfg = Config::load(&nodes[0].config).unwrap();
    let code = totp::code_at(
        &seed,
        totp::step_at(SystemClock.now_ms(), &cfg.factor.totp),
        &cfg.factor.totp,
    );
    let r = c
        .post(format!("https://127.0.0.1:{p1}/signin/code"))
        .header("Cookie", &form_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("user", "cara"),
            ("state", &state),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed in at n1");
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-mfagate-session="))
        .unwrap();
    assert!(home(p1, &session).await.is_some());

    // n2 serves the same session, and signing out there ends it at n1 too.
    let at_n2 = wait_home(ports[1], &session, true).await;
    let at_n2 = at_n2.expect("n2 serves the session signed in at n1");
    let csrf2 = value_of(&at_n2, "csrf");
    let r = c
        .post(format!("https://127.0.0.1:{}/signout", ports[1]))
        .header("Cookie", &session)
        .form(&[("csrf", csrf2.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(home(ports[1], &session).await.is_none(), "signed out at n2");
    assert!(
        wait_home(p1, &session, false).await.is_none(),
        "and the cookie no longer works at n1"
    );
    // Neither node logged the cookie, the form token or the password.
    let token = session.split('=').nth(1).unwrap();
    for n in &nodes {
        let log = n.log();
        assert!(log.contains("portal: listening"), "{}", n.name);
        for secret in [token, csrf.as_str(), "Cara-pass-1"] {
            assert!(!log.contains(secret), "{} logged a secret", n.name);
        }
    }

    // An invitation made at the learner: its link signs in once, whichever node is asked.
    let (ok, _, err) = run_with_stdin(
        nodes[1].cli(&["user", "add", "dora", "--password-stdin"]),
        Some("Dora-pass-1\n"),
    )
    .await;
    assert!(ok, "{err}");
    nodes[1]
        .ok(&[
            "user",
            "set-contact",
            "dora",
            "--email",
            "dora@example.test",
        ])
        .await;
    wait_user(&nodes[0], "dora", Duration::from_secs(5)).await;
    let out = nodes[1].ok(&["user", "invite", "dora"]).await;
    assert!(out.contains("dora: sent to dora@example.test"), "{out}");
    let link = link_path(&wait_mail(&smtp, 1).await);
    let origins: Vec<String> = ports
        .iter()
        .map(|p| format!("https://127.0.0.1:{p}"))
        .collect();
    // The learner holds the link a moment after the leader committed it: then both race.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (a, b) = tokio::join!(
        sign_in_to(&origins[0], "dora", "Dora-pass-1", Some(&link)),
        sign_in_to(&origins[1], "dora", "Dora-pass-1", Some(&link)),
    );
    let signed_in = [a.0, b.0].iter().filter(|s| **s == 303).count();
    assert_eq!(
        signed_in, 1,
        "the same link at both nodes at once: one sign-in ({}, {})",
        a.0, b.0
    );
    for o in &origins {
        let (status, page) = sign_in_to(o, "dora", "Dora-pass-1", Some(&link)).await;
        assert!(
            status == 200 && page.contains("id=\"error\""),
            "spent at {o}"
        );
    }
}
