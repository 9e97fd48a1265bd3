//! Logins end to end through pyrad and radclient: challenge and append modes, replay, lockout,
//! uniform rejects, and the authentication log.

use mfagate::admin::Request;
use mfagate::store::model::AuthResult;

use crate::harness::*;

fn code(v: &serde_json::Value) -> &str {
    v["code"].as_str().unwrap_or("?")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_flow_accepts_password_then_code_once() {
    let gw = start("").await;
    let seed = gw.add_user("alice", "correct horse").await;

    let r = pap(&gw, "alice", "correct horse", None).await;
    assert_eq!(code(&r), "Access-Challenge", "{r}");
    assert_eq!(r["ma_first"], true);
    assert_eq!(
        r["reply_message"],
        "Enter the code from your authenticator app: "
    );
    let state = r["state"].as_str().unwrap().to_owned();
    assert_eq!(state.len(), 48, "node id + 128 random bits");

    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&state)).await;
    assert_eq!(code(&r), "Access-Accept", "{r}");
    assert_eq!(r["ma_first"], true);

    // The same code again, in a fresh login: refused (RFC 6238 §5.2).
    let r = pap(&gw, "alice", "correct horse", None).await;
    let state2 = r["state"].as_str().unwrap().to_owned();
    assert_ne!(state, state2);
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&state2)).await;
    assert_eq!(code(&r), "Access-Reject", "replayed code");
    // An older step after a newer one is refused too.
    let r = pap(&gw, "alice", &gw.code(&seed, -1), Some(&state2)).await;
    assert_eq!(code(&r), "Access-Reject", "older step");
    // The next step is fine, on the same challenge (attempt 3 of 3).
    let r = pap(&gw, "alice", &gw.code(&seed, 1), Some(&state2)).await;
    assert_eq!(code(&r), "Access-Accept", "{r}");
    // The first challenge was used up by its success.
    gw.clock.advance_ms(60_000);
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&state)).await;
    assert_eq!(code(&r), "Access-Reject", "a used challenge is dead");

    let log = gw.auth_log();
    let results: Vec<_> = log.iter().map(|r| (r.result, r.reason.as_str())).collect();
    assert_eq!(
        results[0],
        (AuthResult::Challenge, "password accepted, code requested")
    );
    assert_eq!(
        results[1],
        (AuthResult::Accept, "password and code accepted")
    );
    assert_eq!(
        results[3],
        (AuthResult::Reject, "code already used (replay)")
    );
    assert!(log
        .iter()
        .all(|r| r.node == "it-node" && r.client_name == "vpn" && r.client_ip == "127.0.0.1"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_is_bound_to_user_client_expiry_and_attempts() {
    let gw = start("").await;
    let seed = gw.add_user("alice", "pw-alice-1").await;
    let bob_seed = gw.add_user("bob", "pw-bob-1").await;

    let st = |v: serde_json::Value| v["state"].as_str().unwrap().to_owned();
    // Another user's name with alice's State.
    let s = st(pap(&gw, "alice", "pw-alice-1", None).await);
    let r = pap(&gw, "bob", &gw.code(&bob_seed, 0), Some(&s)).await;
    assert_eq!(code(&r), "Access-Reject");
    // Another client (127.0.0.2, its own secret) presenting alice's State.
    let c = raw_pap(
        gw.addr,
        "127.0.0.2:0",
        OTHER_SECRET,
        "alice",
        &gw.code(&seed, 0),
        Some(&unhex(&s)),
    )
    .await;
    assert_eq!(
        c,
        Some(mfagate::radius::codec::ACCESS_REJECT),
        "State from another client"
    );
    // A forged State.
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&"00".repeat(24))).await;
    assert_eq!(code(&r), "Access-Reject");

    // Expiry: 300 s by default.
    let s = st(pap(&gw, "alice", "pw-alice-1", None).await);
    gw.clock.advance_ms(301_000);
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&s)).await;
    assert_eq!(code(&r), "Access-Reject", "expired challenge");

    // At most 3 code attempts per challenge: the right code on the 4th is refused.
    gw.clock.advance_ms(60_000);
    let s = st(pap(&gw, "alice", "pw-alice-1", None).await);
    for _ in 0..3 {
        let r = pap(&gw, "alice", "000000", Some(&s)).await;
        assert_eq!(code(&r), "Access-Reject");
    }
    let r = pap(&gw, "alice", &gw.code(&seed, 0), Some(&s)).await;
    assert_eq!(
        code(&r),
        "Access-Reject",
        "challenge spent after 3 attempts"
    );
    let last = gw.auth_log().pop().unwrap();
    assert_eq!(last.reason, "unknown, expired or used challenge state");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_mode_with_radclient_and_delimiter_in_password() {
    let gw = start("otp_mode = \"append\"\notp_delimiter = \",\"").await;
    let seed = gw.add_user("carol", "pa,ss,word").await;
    let login = |pw: String| {
        let server = gw.server();
        async move {
            let attrs = format!(
                "User-Name = \"carol\", User-Password = \"{pw}\", Message-Authenticator = 0x00\n"
            );
            let (_, out) = radclient(&server, SECRET, "auth", &attrs).await;
            for code in ["Access-Accept", "Access-Reject"] {
                if out.contains(&format!("Received {code}")) {
                    return code;
                }
            }
            panic!("no answer: {out}");
        }
    };
    let c0 = gw.code(&seed, 0);
    let c1 = gw.code(&seed, 1);
    assert_eq!(login(format!("pa,ss,word,{c0}")).await, "Access-Accept");
    assert_eq!(
        login(format!("pa,ss,word,{c0}")).await,
        "Access-Reject",
        "replay"
    );
    // No code at all: split at the last comma, "word" is taken as the code and "pa,ss" as the
    // password, so this is a wrong password. Then a wrong password with a right code.
    assert_eq!(login("pa,ss,word".into()).await, "Access-Reject");
    assert_eq!(login(format!("pa,ss,wrd,{c1}")).await, "Access-Reject");
    // The right password and the next step's code (inside the ±1 window) still work.
    assert_eq!(login(format!("pa,ss,word,{c1}")).await, "Access-Accept");
    let reasons: Vec<String> = gw.auth_log().into_iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            "password and code accepted",
            "code already used (replay)",
            "wrong password",
            "wrong password",
            "password and code accepted"
        ]
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_lock_the_factor_until_unlocked() {
    let gw = start("otp_mode = \"append\"").await;
    let seed = gw.add_user("dave", "dave-password").await;
    for i in 0..5 {
        let r = pap(&gw, "dave", &format!("dave-password,00000{i}"), None).await;
        assert_eq!(code(&r), "Access-Reject");
    }
    let r = pap(
        &gw,
        "dave",
        &format!("dave-password,{}", gw.code(&seed, 0)),
        None,
    )
    .await;
    assert_eq!(
        code(&r),
        "Access-Reject",
        "locked: even the right code is refused"
    );
    assert_eq!(
        gw.auth_log().pop().unwrap().reason,
        "second factor locked after repeated wrong codes"
    );
    let shown = gw
        .admin(Request::UserShow {
            name: "dave".into(),
        })
        .await
        .unwrap();
    assert_eq!(shown["failed_codes"], 5);
    assert!(shown["locked_until"].is_string());

    gw.admin(Request::UserUnlock {
        name: "dave".into(),
    })
    .await
    .unwrap();
    let r = pap(
        &gw,
        "dave",
        &format!("dave-password,{}", gw.code(&seed, 0)),
        None,
    )
    .await;
    assert_eq!(code(&r), "Access-Accept", "{r}");

    // A lock also ends by itself after lockout_secs (600 here).
    for i in 0..5 {
        pap(&gw, "dave", &format!("dave-password,00000{i}"), None).await;
    }
    gw.clock.advance_ms(601_000);
    let r = pap(
        &gw,
        "dave",
        &format!("dave-password,{}", gw.code(&seed, 0)),
        None,
    )
    .await;
    assert_eq!(code(&r), "Access-Accept", "{r}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_is_the_same_reply() {
    let gw = start("otp_mode = \"append\"").await;
    let seed = gw.add_user("erin", "erin-password").await;
    gw.add_user("frank", "frank-password").await;
    gw.admin(Request::UserSetEnabled {
        name: "frank".into(),
        enabled: false,
    })
    .await
    .unwrap();
    gw.add_user("gina", "gina-password").await;
    gw.admin(Request::UserAdd {
        name: "hank".into(),
        password: Some("hank-password".into()),
        method: None,
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
    // Lock gina's factor.
    for _ in 0..5 {
        pap(&gw, "gina", "gina-password,111111", None).await;
    }
    let c = gw.code(&seed, 0);
    let cases = [
        ("nobody", format!("whatever,{c}"), "unknown user"),
        ("erin", format!("wrong-password,{c}"), "wrong password"),
        ("erin", "erin-password,999999".to_string(), "wrong code"),
        ("frank", format!("frank-password,{c}"), "user disabled"),
        (
            "gina",
            format!("gina-password,{c}"),
            "second factor locked after repeated wrong codes",
        ),
        (
            "hank",
            format!("hank-password,{c}"),
            "no TOTP authenticator enrolled",
        ),
    ];
    for (user, pw, reason) in cases {
        let r = pap(&gw, user, &pw, None).await;
        // Same code, no Reply-Message, no State, nothing else to tell them apart.
        assert_eq!(r["code"], "Access-Reject", "{user}");
        assert_eq!(r["reply_message"], serde_json::Value::Null, "{user}");
        assert_eq!(r["state"], serde_json::Value::Null, "{user}");
        assert_eq!(gw.auth_log().pop().unwrap().reason, reason);
    }
    // User names are case-insensitive.
    let r = pap(&gw, "ERIN", &format!("erin-password,{c}"), None).await;
    assert_eq!(r["code"], "Access-Accept");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_survives_restart_and_logs_feed_the_changelog() {
    let gw = start("otp_mode = \"append\"").await;
    let seed = gw.add_user("ivan", "ivan-password").await;
    let r = pap(
        &gw,
        "ivan",
        &format!("ivan-password,{}", gw.code(&seed, 0)),
        None,
    )
    .await;
    assert_eq!(r["code"], "Access-Accept");
    let changes = gw.store.read(|r| r.changes()).unwrap();
    let ops: Vec<String> = changes
        .iter()
        .map(|(_, c)| {
            serde_json::to_value(c).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ops, ["put_user", "put_user", "totp_step", "auth_log"]);
    // Sequences are dense per node.
    assert!(changes
        .iter()
        .enumerate()
        .all(|(i, ((n, s), _))| *n == gw.store.node_id() && *s == i as u64 + 1));
    // The seed is sealed: the database file does not contain it.
    let db = std::fs::read(gw.cfg.data_dir.join("mfagate.redb")).unwrap();
    let b32 = {
        let v = gw
            .admin(Request::UserShow {
                name: "ivan".into(),
            })
            .await
            .unwrap();
        assert_eq!(v["totp_enrolled"], true);
        seed.clone()
    };
    assert!(!db.windows(b32.len()).any(|w| w == b32.as_slice()));
    let key_mode = std::fs::metadata(gw.cfg.data_dir.join("seed.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key_mode.permissions().mode() & 0o777, 0o600);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_take_the_same_time() {
    // With a real argon2id cost the verification dominates; an unknown user must pay it too.
    let gw = start_with("otp_mode = \"append\"", "").await;
    gw.add_user("judy", "judy-password").await;
    let mut cfg = (*gw.cfg).clone();
    let l = mfagate::config::LocalPrimaryConfig {
        hash_memory_kib: 8192,
        hash_iterations: 2,
        hash_parallelism: 1,
    };
    cfg.primary = mfagate::config::PrimaryConfig::Local(l);
    let clock: mfagate::clock::SharedClock = gw.clock.clone();
    let p = mfagate::auth::Pipeline::new(std::sync::Arc::new(cfg.clone()), gw.store.clone(), clock)
        .unwrap();
    // Re-hash judy's password with the same cost as the dummy hash.
    let h = mfagate::primary::local::hash_password(&l, "judy-password").unwrap();
    gw.store
        .write(move |tx| {
            let mut u = tx.user("judy")?.unwrap();
            u.password_hash = Some(h);
            tx.put_user("judy", &u)
        })
        .await
        .unwrap();
    let unknown = median_reject_time(&p, "nobody-here").await;
    let wrong = median_reject_time(&p, "judy").await;
    let ratio = unknown / wrong;
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown {unknown:.4}s vs wrong password {wrong:.4}s"
    );
    gw.stop().await;
}

async fn median_reject_time(p: &mfagate::auth::Pipeline, user: &str) -> f64 {
    let mut v = Vec::new();
    for _ in 0..9 {
        let t = std::time::Instant::now();
        let d = p
            .authenticate(mfagate::auth::AuthRequest {
                user_name: user.into(),
                client_name: "vpn".into(),
                client_ip: "127.0.0.1".parse().unwrap(),
                credential: mfagate::auth::Credential::PasswordAndCode {
                    password: mfagate::config::Secret::new("not-the-password".into()),
                    code: mfagate::config::Secret::new("123456".into()),
                },
                failmode: Default::default(),
                push_mode: Default::default(),
                retransmit_key: None,
                forward: Vec::new(),
            })
            .await
            .unwrap();
        assert_eq!(d, mfagate::auth::Decision::Reject(Vec::new()));
        v.push(t.elapsed().as_secs_f64());
    }
    v.sort_by(f64::total_cmp);
    v[4]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openvpn_static_challenge_is_understood_in_append_mode() {
    use mfagate::store::model::base64;
    let gw = start("otp_mode = \"append\"").await;
    // A password with the delimiter in it: SCRV1 needs none.
    let seed = gw.add_user("olga", "pass,word:1").await;
    let scrv1 = |pw: &str, code: &str| {
        format!(
            "SCRV1:{}:{}",
            base64(pw.as_bytes()),
            base64(code.as_bytes())
        )
    };
    let r = pap(&gw, "olga", &scrv1("pass,word:1", &gw.code(&seed, 0)), None).await;
    assert_eq!(r["code"], "Access-Accept", "{r}");
    let r = pap(&gw, "olga", &scrv1("pass,word:1", "000000"), None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    let r = pap(&gw, "olga", &scrv1("wrong", &gw.code(&seed, 1)), None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    // Not valid base64: an ordinary password (which is wrong), never a crash.
    let r = pap(&gw, "olga", "SCRV1:!!:??", None).await;
    assert_eq!(r["code"], "Access-Reject", "{r}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_bypass_lets_one_login_through_without_the_code() {
    let gw = start("").await;
    gw.add_user("lena", "lena-pass-1").await;
    let bypass = |for_: &'static str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
        c.args(["user", "bypass", "lena", "--for", for_, "-c"])
            .arg(&gw.config_path);
        c
    };
    let (ok, out, err) = run(bypass("15m")).await;
    assert!(ok && out.contains("bypass_until"), "{out}{err}");
    let (ok, out, _) = run({
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
        c.args(["user", "show", "lena", "-c"]).arg(&gw.config_path);
        c
    })
    .await;
    assert!(ok && out.contains("bypass_until"), "{out}");
    // A wrong password does not use it.
    assert_eq!(
        pap(&gw, "lena", "wrong", None).await["code"],
        "Access-Reject"
    );
    // The right one does, once: no challenge.
    assert_eq!(
        pap(&gw, "lena", "lena-pass-1", None).await["code"],
        "Access-Accept"
    );
    assert_eq!(
        pap(&gw, "lena", "lena-pass-1", None).await["code"],
        "Access-Challenge"
    );
    // Unused, it expires.
    let (ok, _, err) = run(bypass("1m")).await;
    assert!(ok, "{err}");
    gw.clock.advance_ms(61_000);
    assert_eq!(
        pap(&gw, "lena", "lena-pass-1", None).await["code"],
        "Access-Challenge"
    );
    let (ok, _, err) = run(bypass("25h")).await;
    assert!(!ok && err.contains("24 h"), "{err}");
    let log = gw.auth_log();
    let granted: Vec<_> = log
        .iter()
        .filter(|r| r.result == mfagate::store::model::AuthResult::Granted)
        .collect();
    assert_eq!(granted.len(), 2, "{log:?}");
    assert!(granted[0]
        .reason
        .starts_with("one-time bypass of the second factor granted until"));
    let used: Vec<_> = log
        .iter()
        .filter(|r| {
            r.reason
                .contains("one-time bypass granted by an administrator, now used")
        })
        .collect();
    assert_eq!(used.len(), 1, "{log:?}");
    assert_eq!(used[0].result, mfagate::store::model::AuthResult::Accept);
    gw.stop().await;
}
