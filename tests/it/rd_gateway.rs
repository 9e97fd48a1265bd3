//! Remote Desktop Gateway (`credentials = "none"`): the gateway has authenticated the user
//! and its NPS forwards a request with a User-Name only, which cannot be challenged.
//!
//! The chain as it runs in production, with real FreeRADIUS servers standing in for the
//! Microsoft parts: the client (`tests/py/mschap_client.py --method none --nas-type rdg`)
//! plays RD Gateway; a FreeRADIUS proxy (`scripts/start-radius-proxy.sh`, response window
//! 60 s) plays RD Gateway's own NPS and its remote RADIUS server group; mfagate; and the
//! run's FreeRADIUS upstream plays the authorizing NPS (its policy accepts such requests for
//! known users). With Active Directory as the primary instead, the account's state and the
//! `[[policy]]` groups decide, against the run's Samba AD DC.

use serde_json::json;

use crate::duo::{duo_factor_tail, DuoFake};
use crate::harness::*;

async fn add_push_user(gw: &Gateway, name: &str) {
    gw.admin(mfagate::admin::Request::UserAdd {
        name: name.into(),
        password: None,
        method: Some(mfagate::config::Method::Push),
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
}

/// RD Gateway's request: a User-Name and MS-Network-Access-Server-Type only.
async fn rdg_request(server: &str, secret: &str, user: &str) -> serde_json::Value {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/py/mschap_client.py"))
        .args(["--server", server, "--secret", secret, "--enforce-ma"])
        .args(["--method", "none", "--nas-type", "rdg", "--user", user])
        .args(["--timeout", "30", "--retries", "1"]);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "mschap_client.py failed: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bad JSON {out:?}: {e}; {err}"))
}

fn last_reason(gw: &Gateway) -> String {
    gw.auth_log().pop().map(|r| r.reason).unwrap_or_default()
}

/// A FreeRADIUS proxy (RD Gateway's NPS) in front of `home`, stopped when dropped.
struct NpsProxy {
    dir: std::path::PathBuf,
    addr: String,
}

const PROXY_SECRET: &str = "proxy-secret-0123456789";

impl NpsProxy {
    async fn start(home: std::net::SocketAddr, home_secret: &str) -> NpsProxy {
        let dir = temp_dir("rdg-nps");
        for _ in 0..10 {
            // Two free ports in a row (auth, accounting), found by binding.
            let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = probe.local_addr().unwrap().port();
            if port > 65_000 || std::net::UdpSocket::bind(("127.0.0.1", port + 1)).is_err() {
                continue;
            }
            drop(probe);
            let mut cmd = std::process::Command::new(repo().join("scripts/start-radius-proxy.sh"));
            cmd.arg(&dir)
                .arg(port.to_string())
                .arg(home.port().to_string())
                .arg(home_secret)
                .env("RADIUS_SECRET", PROXY_SECRET);
            let (ok, _, err) = run(cmd).await;
            if ok {
                return NpsProxy {
                    dir,
                    addr: format!("127.0.0.1:{port}"),
                };
            }
            eprintln!("start-radius-proxy.sh on {port}: {err}");
        }
        panic!("no FreeRADIUS proxy could start (run as root, through scripts/test.sh)");
    }
}

impl Drop for NpsProxy {
    fn drop(&mut self) {
        let _ = std::process::Command::new(repo().join("scripts/stop-freeradius.sh"))
            .arg(&self.dir)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rd_gateway_through_its_nps_to_mfagate_and_the_authorizing_nps() {
    let fake = DuoFake::start(&json!({"users": {
        "alice": {"preauth": "auth", "push": "allow", "delay_ms": 300},
        "bob": {"preauth": "auth", "push": "deny", "delay_ms": 200},
    }, "fault": null}));
    let up = std::env::var("MFAGATE_UPSTREAM_ADDR")
        .expect("MFAGATE_UPSTREAM_ADDR: run through scripts/test.sh");
    let up_secret = std::env::var("MFAGATE_UPSTREAM_SECRET")
        .unwrap_or_else(|_| "upstream-secret-0123456789".into());
    let tail = format!(
        "{}\n[[upstream]]\nname = \"nps\"\n[[upstream.servers]]\naddress = \"{up}\"\nsecret = \"{up_secret}\"\n",
        duo_factor_tail(&fake, 10)
    );
    let gw = start_config(
        "credentials = \"none\"\nprimary = \"nps\"",
        "",
        "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n",
        &tail,
    )
    .await;
    add_push_user(&gw, "alice").await;
    add_push_user(&gw, "bob").await;
    add_push_user(&gw, "mallory").await;
    let nps = NpsProxy::start(gw.addr, SECRET).await;

    // Authorized upstream, approved on the phone: the authorizing NPS's Class comes back.
    let r = rdg_request(&nps.addr, PROXY_SECRET, "CORP\\alice").await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(
        r["class"], "7264672d617574686f72697a6564",
        "Class rdg-authorized: {r}"
    );
    assert_eq!(fake.factors("alice"), ["push"]);
    let rec = gw.auth_log().pop().unwrap();
    assert_eq!((rec.user.as_str(), rec.method.as_str()), ("alice", "push"));

    // Authorized, push denied: rejected.
    let r = rdg_request(&nps.addr, PROXY_SECRET, "bob@corp.example").await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert_eq!(fake.factors("bob"), ["push"]);

    // Not authorized by the upstream's policy: rejected, and no push.
    let r = rdg_request(&nps.addr, PROXY_SECRET, "CORP\\mallory").await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    assert!(fake.factors("mallory").is_empty());
    assert!(
        last_reason(&gw).starts_with("rejected by upstream"),
        "{}",
        last_reason(&gw)
    );
    drop(nps);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rd_gateway_with_ad_checks_account_state_and_groups_without_a_password() {
    let fake = DuoFake::start(&json!({"users": {
        "alice": {"preauth": "auth", "push": "allow", "delay_ms": 200},
        "dave.disabled": {"preauth": "auth", "push": "allow", "delay_ms": 200},
        "erin.expired": {"preauth": "auth", "push": "allow", "delay_ms": 200},
        "gina.locked": {"preauth": "auth", "push": "allow", "delay_ms": 200},
        "ivan.denied": {"preauth": "auth", "push": "allow", "delay_ms": 200},
    }, "fault": null}));
    let primary = format!(
        "{}\n[[policy]]\nname = \"blocked\"\ngroups = [\"{}\"]\naction = \"deny\"\n",
        ad_primary(&[ad_env("AD_LDAPS_URL")], false, &ad_env("AD_CA_PEM")),
        ad_env("AD_GROUP_VPN_DENY"),
    );
    let gw = start_config(
        "credentials = \"none\"",
        "",
        &primary,
        &duo_factor_tail(&fake, 10),
    )
    .await;
    for u in [
        "alice",
        "dave.disabled",
        "erin.expired",
        "gina.locked",
        "ivan.denied",
    ] {
        add_push_user(&gw, u).await;
    }
    let nb = ad_env("AD_NETBIOS");
    let r = rdg_request(&gw.server(), SECRET, &format!("{nb}\\alice")).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    assert_eq!(fake.factors("alice"), ["push"]);
    let r = rdg_request(
        &gw.server(),
        SECRET,
        &format!("alice@{}", ad_env("AD_REALM")),
    )
    .await;
    assert_eq!(r["code"], "Access-Accept", "UPN form: {r}");

    for (user, why) in [
        ("dave.disabled", "disabled"),
        ("erin.expired", "expired"),
        ("gina.locked", "locked"),
        ("ivan.denied", "denied by policy"),
    ] {
        let r = rdg_request(&gw.server(), SECRET, &format!("{nb}\\{user}")).await;
        assert_eq!(r["code"], "Access-Reject", "{user}: {r}");
        assert!(fake.factors(user).is_empty(), "{user} got no push");
        assert!(
            last_reason(&gw).contains(why),
            "{user}: {}",
            last_reason(&gw)
        );
    }
    let r = rdg_request(&gw.server(), SECRET, &format!("{nb}\\nobody.here")).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    gw.stop().await;
}
