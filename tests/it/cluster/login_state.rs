//! Login state between members: challenges answered on another node, codes spent everywhere,
//! the same code raced on two nodes.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_state_is_shared_sms_answered_elsewhere_and_codes_spent_everywhere() {
    let sink = crate::http_sink::Sink::start().await;
    let root = temp_dir("cluster-login");
    let ca = make_ca(&root).await;
    let tail = sms_tail(&root, &sink);
    let nodes = three_nodes(&root, &ca, "otp_mode = \"challenge\"", &tail).await;
    let (n1, n2, n3) = (&nodes[0], &nodes[1], &nodes[2]);
    add_sms_user(n1, "sam", "sam-pw", "+15550001012").await;
    let (tia, _) = add_enrolled(n1, "tia", "tia-pw").await;
    for n in [n2, n3] {
        wait_user(n, "tia", Duration::from_secs(5)).await;
    }

    // An SMS code sent by n1 is typed into a login that lands on n2.
    let r = ask(n1, "sam", "sam-pw", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let state = r["state"].as_str().unwrap().to_owned();
    let code = sms_code(&sink);
    let r = ask_until(n2, "sam", &code, &state, "Access-Accept").await;
    assert_eq!(
        r["code"], "Access-Accept",
        "n1's SMS challenge answered on n2: {r}"
    );
    // Spent everywhere: the same answer on n3 (once n2's decision reached it) and on n1.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        ask(n3, "sam", &code, Some(&state)).await["code"],
        "Access-Reject"
    );
    assert_eq!(
        ask(n1, "sam", &code, Some(&state)).await["code"],
        "Access-Reject"
    );

    // A TOTP code accepted on n1 is refused on n2 and n3 once n1's step has reached them.
    let cfg = Config::load(&n1.config).unwrap();
    let code = totp::code_at(
        &tia,
        totp::step_at(SystemClock.now_ms(), &cfg.factor.totp),
        &cfg.factor.totp,
    );
    let r = ask(n1, "tia", "tia-pw", None).await;
    let st = r["state"].as_str().unwrap().to_owned();
    assert_eq!(
        ask(n1, "tia", &code, Some(&st)).await["code"],
        "Access-Accept"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in [n2, n3] {
        let r = ask(n, "tia", "tia-pw", None).await;
        let st = r["state"].as_str().unwrap().to_owned();
        assert_eq!(
            ask(n, "tia", &code, Some(&st)).await["code"],
            "Access-Reject",
            "{}: a code n1 accepted",
            n.name
        );
    }

    // Every node's report shows the whole cluster's decisions, with the node that made each.
    let report = n3.ok(&["report", "auth", "--since", "1h"]).await;
    for (node, result) in [
        ("n1", "challenge"),
        ("n2", "accept"),
        ("n1", "accept"),
        ("n3", "reject"),
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.contains(&format!(",{node},")) && l.contains(result)),
            "{node} {result} in\n{report}"
        );
    }
    // Each node reports, per peer, how far that peer has merged its login state.
    let st = n1
        .wait_status(
            "peers caught up on login state",
            Duration::from_secs(5),
            |v| {
                v["login_state"].as_array().is_some_and(|a| {
                    a.len() == 2
                        && a.iter()
                            .all(|p| p["lag_entries"] == 0 && p["answers"] == true)
                })
            },
        )
        .await;
    for p in st["login_state"].as_array().unwrap() {
        assert!(p["ack_delay_samples"].as_u64() > Some(0), "{st}");
        assert!(
            p["ack_delay_p99_ms"].as_f64().is_some_and(|d| d < 1000.0),
            "{st}"
        );
    }
    let text = n1.ok(&["cluster", "status"]).await;
    assert!(text.contains("login state from this node"), "{text}");
    let reasons = n1.ok(&["report", "auth", "--since", "1h"]).await;
    assert!(
        reasons.contains("replay") || reasons.contains("already used"),
        "{reasons}"
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_code_on_two_nodes_at_once_is_accepted_at_most_once() {
    let (root, n1, mut n2) = first_of_two("cluster-race").await;
    n2.ok(&["cluster", "join", &n1.cluster.clone()]).await;
    n2.start();
    const USERS: usize = 50;
    let mut seeds = Vec::new();
    for i in 0..USERS {
        seeds.push(add_enrolled(&n1, &format!("race{i:02}"), "race-pw").await.0);
    }
    wait_user(
        &n2,
        &format!("race{:02}", USERS - 1),
        Duration::from_secs(10),
    )
    .await;
    let (mut once, mut never) = (0, 0);
    for (i, seed) in seeds.iter().enumerate() {
        let user = format!("race{i:02}");
        let (a, b) = tokio::join!(
            n1.login(&user, "race-pw", seed),
            n2.login(&user, "race-pw", seed)
        );
        let accepts = [&a, &b]
            .iter()
            .filter(|r| r.as_str() == "Access-Accept")
            .count();
        assert!(accepts <= 1, "{user}: the same code accepted on both nodes");
        if accepts == 1 {
            once += 1;
        } else {
            never += 1;
        }
    }
    let report = n1.ok(&["report", "auth", "--since", "1h"]).await;
    let conflicts = report.matches("code already used on another node").count();
    let replays = report.matches("replay").count();
    eprintln!(
        "same code on two nodes at once, {USERS} times: accepted once {once}, on neither {never}; \
         refused as a peer's conflict {conflicts}, as a local replay {replays}"
    );
    assert!(
        once > 0,
        "a code is accepted somewhere when nothing races it for long"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_away_longer_than_the_log_keeps_catches_up_from_a_snapshot() {
    let root = temp_dir("cluster-catchup");
    let ca = make_ca(&root).await;
    let mut nodes = three_nodes(&root, &ca, "otp_mode = \"append\"", "login_log_keep = 20").await;
    const USERS: usize = 30;
    let mut seeds = Vec::new();
    for i in 0..USERS {
        seeds.push(
            add_enrolled(&nodes[0], &format!("away{i:02}"), "away-pw")
                .await
                .0,
        );
    }
    wait_user(
        &nodes[2],
        &format!("away{:02}", USERS - 1),
        Duration::from_secs(10),
    )
    .await;

    // n3 is away while n1 decides 30 logins: far more entries than n1 keeps for it.
    nodes[2].kill();
    let mut codes = Vec::new();
    let cfg = Config::load(&nodes[0].config).unwrap();
    for (i, seed) in seeds.iter().enumerate() {
        let user = format!("away{i:02}");
        let step = totp::step_at(SystemClock.now_ms(), &cfg.factor.totp);
        let code = totp::code_at(seed, step, &cfg.factor.totp);
        assert_eq!(
            nodes[0].login_with(&user, "away-pw", &code).await,
            "Access-Accept",
            "{user}"
        );
        codes.push(code);
    }
    let st = nodes[0]
        .wait_status(
            "n1 trimmed past what n3 merged",
            Duration::from_secs(10),
            |v| {
                let n3 = v["login_state"]
                    .as_array()
                    .and_then(|a| a.iter().find(|p| p["peer"] == "n3").cloned());
                let first = v["login_log"]["first_held"].as_u64();
                n3.is_some_and(|p| {
                    p["answers"] == false
                        && first.is_some_and(|f| Some(f) > p["merged_seq"].as_u64().map(|m| m + 1))
                })
            },
        )
        .await;
    eprintln!("n1 before n3 returns: {}", st["login_log"]);

    // Back: n1 (and n2) send it a snapshot, and n3 holds every decision and spent code.
    nodes[2].start();
    nodes[0]
        .wait_status("n3 caught up", Duration::from_secs(20), |v| {
            v["login_state"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|p| p["peer"] == "n3" && p["answers"] == true && p["lag_entries"] == 0)
            })
        })
        .await;
    assert!(
        nodes[0].log().contains("sending it a snapshot"),
        "{}",
        nodes[0].log()
    );
    let (n1, n3) = (&nodes[0], &nodes[2]);
    let report = n3.ok(&["report", "auth", "--since", "1h"]).await;
    for i in 0..USERS {
        let line = format!(",n1,away{i:02},");
        let accepts = report
            .lines()
            .filter(|l| l.contains(&line) && l.contains(",accept,"))
            .count();
        assert_eq!(
            accepts, 1,
            "away{i:02}'s accept on n1, once, in n3's log\n{report}"
        );
    }
    for i in [0, 7, 29] {
        let user = format!("away{i:02}");
        let r = pyrad(
            &n3.radius,
            SECRET,
            &[
                "--enforce-ma",
                "--user",
                &user,
                "--password",
                &format!("away-pw,{}", codes[i]),
            ],
        )
        .await;
        assert_eq!(
            r["code"], "Access-Reject",
            "{user}'s code, spent on n1, replayed on n3"
        );
    }
    let _ = n1;
    drop(nodes);
    let _ = std::fs::remove_dir_all(&root);
}
