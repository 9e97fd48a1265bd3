//! Faults between real processes (issue 11, "any node finishes any login"): three nodes
//! whose every cluster link runs through a relay the test controls (`crate::relay`), killed
//! with SIGKILL, partitioned and healed. What must hold: a login started on one node can be
//! finished on another, each side of a partition keeps authenticating (a code accepted at
//! most once per side), and once links heal every node holds the merge of both sides, with
//! every decision in the authentication log exactly once.
//!
//! The nodes listen on 127.0.0.2-4, not 127.0.0.1: a node that failed to dial from its own
//! address would show up at the relays as 127.0.0.1, which `three` checks never happens.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mfagate::config::TotpConfig;
use mfagate::store::model::AuthResult;

use super::*;
use crate::http_sink::Sink;
use crate::relay::{self, Relay};

const IPS: [&str; 3] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

/// Nodes a, b and c behind their relays: a initialised (and leading), b and c joined through
/// a's relay; returns once every node has reached every other through the relays.
async fn three(root: &Path, client: &str, tail: &str) -> Vec<Node> {
    let ca = make_ca(root).await;
    let mut nodes = Vec::new();
    for (name, ip) in ["a", "b", "c"].into_iter().zip(IPS) {
        nodes.push(Node::relayed(root, name, &ca, ip, client, tail).await);
    }
    form_cluster(&mut nodes).await;
    // Login-state shipping dials every peer at least every 500 ms.
    let until = Instant::now() + Duration::from_secs(10);
    for n in &nodes {
        for m in nodes.iter().filter(|m| m.name != n.name) {
            while n.relay().accepted_from(m.ip()) == 0 {
                assert!(
                    Instant::now() < until,
                    "{} never dialled {} through its relay\n{}",
                    m.name,
                    n.name,
                    m.log()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let stray = n.relay().accepted_from("127.0.0.1".parse().unwrap());
        assert_eq!(stray, 0, "connections to {} not from a node's IP", n.name);
    }
    nodes
}

fn relays(nodes: &[Node]) -> Vec<&Relay> {
    nodes.iter().map(|n| n.relay()).collect()
}

fn totp_cfg(node: &Node) -> TotpConfig {
    Config::load(&node.config).unwrap().factor.totp
}

/// The user's code now, and its step.
fn code_now(cfg: &TotpConfig, seed: &[u8]) -> (String, u64) {
    let step = totp::step_at(SystemClock.now_ms(), cfg);
    (totp::code_at(seed, step, cfg), step)
}

/// A code that matches none of the steps a node accepts now.
fn wrong_code(cfg: &TotpConfig, seed: &[u8]) -> String {
    let step = totp::step_at(SystemClock.now_ms(), cfg);
    let near: Vec<String> = (step.saturating_sub(2)..=step + 2)
        .map(|s| totp::code_at(seed, s, cfg))
        .collect();
    (0..)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// One append-mode login (password,code) to the RADIUS address `radius`; the reply's code.
async fn send(radius: &str, user: &str, password: &str, code: &str) -> String {
    let r = pyrad(
        radius,
        SECRET,
        &[
            "--enforce-ma",
            "--user",
            user,
            "--password",
            &format!("{password},{code}"),
        ],
    )
    .await;
    r["code"].as_str().unwrap_or("none").to_owned()
}

/// A decision as the test counts them: (node, user, result).
type Decided = (String, String, &'static str);

/// Every record of `b`'s authentication log, counted by (node, user, result).
fn decisions(b: &Backup) -> BTreeMap<Decided, usize> {
    let mut out = BTreeMap::new();
    for (_, r) in &b.tables.auth_log {
        *out.entry((r.node.clone(), r.user.clone(), r.result.as_str()))
            .or_default() += 1;
    }
    out
}

/// The same for what the test sent.
fn tally(expected: &[(&str, &str, AuthResult)]) -> BTreeMap<Decided, usize> {
    let mut out = BTreeMap::new();
    for (n, u, r) in expected {
        *out.entry((n.to_string(), u.to_string(), r.as_str()))
            .or_default() += 1;
    }
    out
}

/// Waits until every node names the same leader, counts three voters and reaches its peers.
async fn wait_healthy(nodes: &[&Node], within: Duration) {
    let until = Instant::now() + within;
    loop {
        let mut views = Vec::new();
        for n in nodes {
            views.push(n.status().await);
        }
        let leaders: Vec<_> = views
            .iter()
            .map(|v| v.as_ref().map(|v| v["leader"].clone()))
            .collect();
        let healthy = views.iter().all(|v| {
            v.as_ref().is_some_and(|v| {
                voters(v) == 3
                    && v["leader"].is_string()
                    && v["peers"]
                        .as_array()
                        .is_some_and(|p| p.iter().all(|p| p["reachable"] == true))
            })
        }) && leaders.windows(2).all(|w| w[0] == w[1]);
        if healthy {
            return;
        }
        if Instant::now() > until {
            let logs: Vec<String> = nodes
                .iter()
                .map(|n| format!("--- {} ---\n{}", n.name, n.log()))
                .collect();
            panic!(
                "cluster not healthy within {within:?}: {views:?}\n{}",
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_challenge_survives_its_node_killed_right_after_sending_it() {
    let sink = Sink::start().await;
    let root = temp_dir("faults-sms");
    let tail = sms_tail(&root, &sink);
    let mut nodes = three(&root, "otp_mode = \"challenge\"", &tail).await;
    add_sms_user(&nodes[0], "sam", "sam-pw", "+15550001012").await;
    for n in &nodes[1..] {
        wait_user(n, "sam", Duration::from_secs(5)).await;
    }

    let r = ask(&nodes[0], "sam", "sam-pw", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    // The challenge reached the peers before a answered: killed now, nothing more leaves it.
    nodes[0].kill();
    let state = r["state"].as_str().unwrap().to_owned();
    let code = sms_code(&sink);
    let (b, c) = (&nodes[1], &nodes[2]);
    let r = ask(b, "sam", &code, Some(&state)).await;
    assert_eq!(
        r["code"],
        "Access-Accept",
        "a's SMS challenge answered on b after a died: {r}\n--- b ---\n{}",
        b.log()
    );
    let r = ask(c, "sam", &code, Some(&state)).await;
    assert_eq!(r["code"], "Access-Reject", "the code b accepted, on c: {r}");

    // a comes back, learns what the others did, and refuses the spent code too.
    nodes[0].start();
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let (_, took) = wait_agree(&[a, b, c], Duration::from_secs(30)).await;
    eprintln!("a restarted: login state agrees on all three after {took:?}");
    let r = ask(a, "sam", &code, Some(&state)).await;
    assert_eq!(
        r["code"], "Access-Reject",
        "the spent code on restarted a: {r}"
    );
    let (dumps, _) = wait_agree(&[a, b, c], Duration::from_secs(30)).await;
    use AuthResult::*;
    let want = tally(&[
        ("a", "sam", Challenge),
        ("b", "sam", Accept),
        ("c", "sam", Reject),
        ("a", "sam", Reject),
    ]);
    assert_eq!(decisions(&dumps[0]), want, "every decision exactly once");
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_keeps_both_sides_authenticating_and_heals_to_one_state() {
    let root = temp_dir("faults-partition");
    let nodes = three(&root, "otp_mode = \"append\"", "").await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let cfg = totp_cfg(a);
    let mut seeds = BTreeMap::new();
    for u in ["base", "pa", "pb", "pc", "dup", "fails"] {
        seeds.insert(u, add_enrolled(a, u, "pw").await.0);
    }
    for n in [b, c] {
        wait_user(n, "fails", Duration::from_secs(5)).await;
    }
    use AuthResult::*;
    let mut expected = Vec::new();
    let login = |n: &Node, u: &str| {
        let (code, _) = code_now(&cfg, &seeds[u]);
        let radius = n.radius.clone();
        let u = u.to_owned();
        async move { send(&radius, &u, "pw", &code).await }
    };
    let started = Instant::now();
    assert_eq!(login(a, "base").await, "Access-Accept");
    let connected = started.elapsed();
    expected.push(("a", "base", Accept));

    relay::partition(&relays(&nodes), &[a.ip()], &[b.ip(), c.ip()]);
    let started = Instant::now();
    let r = login(a, "pa").await;
    let alone = started.elapsed();
    assert_eq!(r, "Access-Accept", "a, cut off, decides alone");
    eprintln!("login on a: {connected:?} with its peers, {alone:?} cut off from them");
    expected.push(("a", "pa", Accept));
    assert_eq!(login(b, "pb").await, "Access-Accept");
    expected.push(("b", "pb", Accept));
    assert_eq!(login(c, "pc").await, "Access-Accept");
    expected.push(("c", "pc", Accept));

    // One code, both sides: each side accepts it at most once.
    let (code, _) = code_now(&cfg, &seeds["dup"]);
    let on_a = send(&a.radius, "dup", "pw", &code).await;
    let on_b = send(&b.radius, "dup", "pw", &code).await;
    let on_c = send(&c.radius, "dup", "pw", &code).await;
    assert_eq!(on_a, "Access-Accept", "a's side has not seen the code");
    assert_eq!(on_b, "Access-Accept", "b's side has not seen the code");
    assert_eq!(
        on_c, "Access-Reject",
        "b spent it on c's side (c acknowledged it)"
    );
    expected.extend([
        ("a", "dup", Accept),
        ("b", "dup", Accept),
        ("c", "dup", Reject),
    ]);

    // Wrong codes on both sides, each below max_failures (5), 5 in sum.
    let wrong = wrong_code(&cfg, &seeds["fails"]);
    for (n, times) in [(a, 3), (b, 2)] {
        for _ in 0..times {
            assert_eq!(
                send(&n.radius, "fails", "pw", &wrong).await,
                "Access-Reject"
            );
            expected.push((n.name.as_str(), "fails", Reject));
        }
    }
    assert_eq!(failures(a, "fails").await, (3, false), "a's side");
    assert_eq!(failures(b, "fails").await, (2, false), "b's side");
    assert_eq!(failures(c, "fails").await, (2, false), "c has b's share");

    // a decided alone, and says so; b and c acknowledged each other.
    let st = a.status().await.unwrap();
    assert!(
        st["decided_without_peer_ack"].as_u64() >= Some(2),
        "a's accepts while cut off: {st}"
    );
    assert!(
        st["peers"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["reachable"] == false)),
        "a reaches no peer: {st}"
    );
    for n in [b, c] {
        let st = n.status().await.unwrap();
        assert_eq!(st["decided_without_peer_ack"], 0, "{}: {st}", n.name);
    }
    for u in ["pa", "dup"] {
        assert!(
            decided_alone(a, u).await,
            "a's accept of {u} says it was alone"
        );
    }
    let report = b.ok(&["report", "auth", "--since", "1h"]).await;
    assert!(!report.contains("(no peer acknowledged)"), "{report}");

    relay::heal(&relays(&nodes));
    let (dumps, took) = wait_agree(&[a, b, c], Duration::from_secs(30)).await;
    eprintln!("healed: login state agrees on all three after {took:?}");
    assert_eq!(
        decisions(&dumps[0]),
        tally(&expected),
        "every decision exactly once"
    );
    for n in [a, b, c] {
        let (count, _) = failures(n, "fails").await;
        assert_eq!(count, 5, "{}: both sides' failures add up", n.name);
    }
    wait_healthy(&[a, b, c], Duration::from_secs(30)).await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_on_both_sides_of_a_partition_lock_the_factor_once_healed() {
    let root = temp_dir("faults-lock");
    let nodes = three(&root, "otp_mode = \"append\"", "").await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let cfg = totp_cfg(a);
    let (seed, _) = add_enrolled(a, "fails", "pw").await;
    for n in [b, c] {
        wait_user(n, "fails", Duration::from_secs(5)).await;
    }
    relay::partition(&relays(&nodes), &[a.ip()], &[b.ip(), c.ip()]);
    // max_failures is 5: 3 wrong codes on a's side, 2 on the other; neither side locks.
    let wrong = wrong_code(&cfg, &seed);
    for (n, times) in [(a, 3), (b, 2)] {
        for _ in 0..times {
            assert_eq!(
                send(&n.radius, "fails", "pw", &wrong).await,
                "Access-Reject"
            );
        }
    }
    assert_eq!(failures(a, "fails").await, (3, false));
    assert_eq!(failures(b, "fails").await, (2, false));
    relay::heal(&relays(&nodes));
    wait_agree(&[a, b, c], Duration::from_secs(30)).await;
    let until = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    for n in [a, b, c] {
        while failures(n, "fails").await.0 < 5 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen.push((n.name.as_str(), failures(n, "fails").await));
    }
    // Five wrong codes in a row across the cluster: locked, so even the right code is
    // refused (tried once, on a: an accept would clear the count everywhere).
    let (code, _) = code_now(&cfg, &seed);
    let right = send(&a.radius, "fails", "pw", &code).await;
    assert!(
        seen.iter().all(|(_, f)| *f == (5, true)) && right == "Access-Reject",
        "(failed codes, locked) per node: {seen:?}; the right code on a: {right}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// One login of the loop: who, with which code and step, and what the node answered.
#[derive(Debug, Clone)]
struct Sent {
    user: String,
    code: String,
    step: u64,
    answer: String,
}

/// Logs `users` in on `radius`, four at a time, until they are done or `stop` is set.
async fn login_loop(
    radius: String,
    cfg: TotpConfig,
    users: Vec<(String, Vec<u8>)>,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
) -> Vec<Sent> {
    let next = Arc::new(AtomicUsize::new(0));
    let users = Arc::new(users);
    let out = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (radius, cfg, users, stop, accepted, next, out) = (
                radius.clone(),
                cfg.clone(),
                users.clone(),
                stop.clone(),
                accepted.clone(),
                next.clone(),
                out.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((user, seed)) = users.get(i) else {
                        return;
                    };
                    let (code, step) = code_now(&cfg, seed);
                    let answer = send(&radius, user, "pw", &code).await;
                    if answer == "Access-Accept" {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    out.lock().unwrap().push(Sent {
                        user: user.clone(),
                        code,
                        step,
                        answer,
                    });
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let v = out.lock().unwrap().clone();
    v
}

/// One round: the loop on `victim`, SIGKILL once `kill_after` logins were accepted, restart;
/// then what every node must hold.
async fn kill_round(
    nodes: &mut [Node],
    victim: usize,
    users: &[(String, Vec<u8>)],
    after: &[(String, Vec<u8>)],
    kill_after: usize,
) {
    let cfg = totp_cfg(&nodes[0]);
    let name = nodes[victim].name.clone();
    let (stop, accepted) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let lp = tokio::spawn(login_loop(
        nodes[victim].radius.clone(),
        cfg.clone(),
        users.to_vec(),
        stop.clone(),
        accepted.clone(),
    ));
    let until = Instant::now() + Duration::from_secs(60);
    while accepted.load(Ordering::SeqCst) < kill_after {
        assert!(
            Instant::now() < until && !lp.is_finished(),
            "{name}: {} of {kill_after} logins accepted\n{}",
            accepted.load(Ordering::SeqCst),
            nodes[victim].log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    nodes[victim].kill();
    stop.store(true, Ordering::SeqCst);
    let sent = lp.await.unwrap();
    let count = |a: &str| sent.iter().filter(|s| s.answer == a).count();
    let unanswered: Vec<&Sent> = sent.iter().filter(|s| s.answer == "timeout").collect();
    eprintln!(
        "{name} killed: {} logins sent, {} accepted, {} rejected, {} unanswered",
        sent.len(),
        count("Access-Accept"),
        count("Access-Reject"),
        unanswered.len()
    );
    assert_eq!(
        count("Access-Accept") + unanswered.len(),
        sent.len(),
        "a fresh code is accepted or, the node dying, unanswered: {sent:?}"
    );

    nodes[victim].start();
    let all: Vec<&Node> = nodes.iter().collect();
    wait_healthy(&all, Duration::from_secs(60)).await;
    // The restarted node goes on deciding, and the others hear of it (a node that reused
    // sequence numbers its peers already hold would diverge here for good).
    let mut spent = Vec::new();
    for (user, seed) in after {
        let (code, _) = code_now(&cfg, seed);
        let r = send(&nodes[victim].radius, user, "pw", &code).await;
        assert_eq!(r, "Access-Accept", "{user} on restarted {name}");
        spent.push((user.clone(), code));
    }
    let (dumps, took) = wait_agree(&all, Duration::from_secs(30)).await;
    eprintln!("{name} restarted: login state agrees on all three after {took:?}");
    for (i, (user, code)) in spent.iter().enumerate() {
        let other = &nodes[(victim + 1 + i % 2) % nodes.len()];
        let r = send(&other.radius, user, "pw", code).await;
        assert_eq!(
            r, "Access-Reject",
            "{user}'s code, accepted on restarted {name}, replayed on {}",
            other.name
        );
    }

    // Every acknowledged accept is on every node: its step spent, its record there once.
    let d = decisions(&dumps[0]);
    let accepts = |u: &str| {
        d.get(&(name.clone(), u.to_owned(), AuthResult::Accept.as_str()))
            .copied()
            .unwrap_or(0)
    };
    for s in sent.iter().filter(|s| s.answer == "Access-Accept") {
        for (n, dump) in nodes.iter().zip(&dumps) {
            let step = dump
                .tables
                .totp_steps
                .iter()
                .find(|(k, _)| *k == s.user)
                .map(|(_, v)| *v);
            assert!(
                step >= Some(s.step),
                "{}: {}'s accepted step {} lost (has {step:?})",
                n.name,
                s.user,
                s.step
            );
        }
        assert_eq!(accepts(&s.user), 1, "{}'s accept recorded once", s.user);
    }
    // A login the node died on may have been decided (then recorded once) or not at all.
    let decided = unanswered.iter().filter(|s| accepts(&s.user) == 1).count();
    for s in &unanswered {
        assert!(accepts(&s.user) <= 1, "{} recorded twice", s.user);
    }
    eprintln!(
        "{name}: of {} unanswered logins, {decided} were decided before the kill",
        unanswered.len()
    );
    for ((node, user, result), n) in &d {
        assert_eq!(*n, 1, "{node} {user} {result}: {n} records of one login");
    }

    // A spent code is refused wherever it is tried again.
    for (i, s) in sent
        .iter()
        .filter(|s| s.answer == "Access-Accept")
        .enumerate()
    {
        let n = &nodes[i % nodes.len()];
        let r = send(&n.radius, &s.user, "pw", &s.code).await;
        assert_eq!(r, "Access-Reject", "{}'s spent code on {}", s.user, n.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_login_loop_loses_no_acknowledged_decision() {
    const PER_ROUND: usize = 100;
    let root = temp_dir("faults-kill");
    let mut nodes = three(&root, "otp_mode = \"append\"", "").await;
    let started = Instant::now();
    let mut users = Vec::new();
    for i in 0..2 * PER_ROUND + 10 {
        let u = format!("k{i:03}");
        let seed = add_enrolled(&nodes[0], &u, "pw").await.0;
        users.push((u, seed));
    }
    for n in &nodes[1..] {
        wait_user(n, &users.last().unwrap().0, Duration::from_secs(10)).await;
    }
    eprintln!("{} users enrolled in {:?}", users.len(), started.elapsed());
    let (round1, rest) = users.split_at(PER_ROUND);
    let (round2, rest) = rest.split_at(PER_ROUND);
    let (after1, after2) = rest.split_at(5);

    let leader = |v: &Value| v["leader"].as_str().unwrap_or("").to_owned();
    let st = nodes[0].status().await.unwrap();
    let follower = nodes.iter().position(|n| n.name != leader(&st)).unwrap();
    kill_round(&mut nodes, follower, round1, after1, PER_ROUND / 3).await;

    let st = nodes[0].status().await.unwrap();
    let lead = nodes
        .iter()
        .position(|n| n.name == leader(&st))
        .unwrap_or_else(|| panic!("no leader in {st}"));
    kill_round(&mut nodes, lead, round2, after2, PER_ROUND / 3).await;
    let _ = std::fs::remove_dir_all(&root);
}

/// Whether `node`'s report shows its accept of `user` made without a peer's acknowledgement.
async fn decided_alone(node: &Node, user: &str) -> bool {
    node.ok(&["report", "auth", "--since", "1h"])
        .await
        .lines()
        .any(|l| l.contains(&format!(",{user},")) && l.contains("(no peer acknowledged)"))
}

/// `rule` on every link between any two of `nodes`, both ways.
fn every_link(nodes: &[Node], rule: relay::Rule) {
    for n in nodes {
        for m in nodes.iter().filter(|m| m.name != n.name) {
            n.relay().set(m.ip(), rule);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_or_silent_links_make_a_node_decide_alone_after_the_ack_timeout() {
    use relay::Rule;
    let root = temp_dir("faults-slow");
    let nodes = three(&root, "otp_mode = \"append\"", "").await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let cfg = totp_cfg(a);
    let ack_ms = Config::load(&a.config)
        .unwrap()
        .cluster
        .unwrap()
        .ack_timeout_ms;
    let mut seeds = BTreeMap::new();
    let names = ["fast", "near", "far", "silent1", "silent2", "silent3"];
    for u in names {
        seeds.insert(u, add_enrolled(a, u, "pw").await.0);
    }
    for n in [b, c] {
        wait_user(n, "silent3", Duration::from_secs(5)).await;
    }
    let timed = |n: &Node, u: &str| {
        let (code, _) = code_now(&cfg, &seeds[u]);
        let radius = n.radius.clone();
        let u = u.to_owned();
        async move {
            let started = Instant::now();
            let r = send(&radius, &u, "pw", &code).await;
            (r, started.elapsed())
        }
    };
    use AuthResult::*;
    let mut expected = Vec::new();
    let mut facts = Vec::new();

    let (r, t) = timed(b, "fast").await;
    assert_eq!(r, "Access-Accept");
    assert!(
        !decided_alone(b, "fast").await,
        "acknowledged with every link up"
    );
    expected.push(("b", "fast", Accept));
    facts.push(format!("every link up: {t:?}"));

    // 50 ms each way: a peer's acknowledgement takes about 100 ms, inside the timeout.
    every_link(&nodes, Rule::Delay(Duration::from_millis(50)));
    let (r, t) = timed(b, "near").await;
    assert_eq!(r, "Access-Accept");
    assert!(
        !decided_alone(b, "near").await,
        "acknowledged through 50 ms links"
    );
    expected.push(("b", "near", Accept));
    facts.push(format!("50 ms each way on every link: {t:?}, acknowledged"));

    // 400 ms each way: no acknowledgement within ack_timeout_ms; b accepts alone, and says so.
    every_link(&nodes, Rule::Delay(Duration::from_millis(400)));
    let (r, t) = timed(b, "far").await;
    assert_eq!(r, "Access-Accept");
    assert!(decided_alone(b, "far").await, "alone through 400 ms links");
    assert!(t >= Duration::from_millis(ack_ms), "{t:?}");
    expected.push(("b", "far", Accept));
    facts.push(format!("400 ms each way on every link: {t:?}, alone"));
    relay::heal(&relays(&nodes));
    wait_agree(&[a, b, c], Duration::from_secs(30)).await;

    // Blackholed: a's first logins wait out the timeout while its shipper's calls hang; once
    // they have failed, a decides alone at once.
    relay::between(&relays(&nodes), &[a.ip()], &[b.ip(), c.ip()], Rule::Drop);
    let dropped = Instant::now();
    for u in ["silent1", "silent2", "silent3"] {
        let (r, t) = timed(a, u).await;
        assert_eq!(r, "Access-Accept");
        assert!(decided_alone(a, u).await, "{u}: a blackholed decides alone");
        expected.push(("a", u, Accept));
        facts.push(format!(
            "a blackholed for {:?}: {t:?}, alone",
            dropped.elapsed() - t
        ));
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    relay::heal(&relays(&nodes));
    let (dumps, took) = wait_agree(&[a, b, c], Duration::from_secs(30)).await;
    facts.push(format!(
        "healed after blackholing: states agree after {took:?}"
    ));
    eprintln!(
        "login latency (ack_timeout_ms {ack_ms}):\n  {}",
        facts.join("\n  ")
    );
    assert_eq!(
        decisions(&dumps[0]),
        tally(&expected),
        "every decision exactly once"
    );
    wait_healthy(&[a, b, c], Duration::from_secs(30)).await;
    let _ = std::fs::remove_dir_all(&root);
}
