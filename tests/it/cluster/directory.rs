//! The replicated directory: membership, failover, fencing, refusals, backup and restore.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_one_directory_and_survive_the_leader() {
    let root = temp_dir("cluster3");
    let ca = make_ca(&root).await;
    let mut n1 = Node::new(&root, "n1", &ca).await;
    let mut n2 = Node::new(&root, "n2", &ca).await;
    let mut n3 = Node::new(&root, "n3", &ca).await;

    // The first node has users before it becomes a cluster: 10,000 of them, written straight
    // into its store, so joining nodes must receive them by snapshot.
    {
        let store = mfagate::store::Store::open(&n1.dir.join("data")).unwrap();
        for chunk in (0..10_000).collect::<Vec<u32>>().chunks(2000) {
            let chunk = chunk.to_vec();
            store
                .write(move |tx| {
                    for i in chunk {
                        let name = format!("seeded{i:05}");
                        let u = mfagate::store::model::UserRecord {
                            name: name.clone(),
                            enabled: true,
                            version: 1,
                            ..Default::default()
                        };
                        tx.put_user(&name, &u)?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
        }
    }
    let (pre_seed, _) = {
        // An enrolled user from before the cluster, through the offline CLI.
        add_enrolled(&n1, "pre", "pre-password").await
    };
    let out = n1.ok(&["cluster", "init"]).await;
    assert!(out.contains("one-node cluster"), "{out}");
    // Twice is refused: the node is in a cluster now.
    let (ok, _, err) = run(n1.cli(&["cluster", "init"])).await;
    assert!(!ok && err.contains("already in cluster"), "{err}");
    // With the daemon stopped, directory changes are refused rather than made behind
    // the cluster's back.
    let (ok, _, err) = run_with_stdin(
        n1.cli(&["user", "add", "offline", "--password-stdin"]),
        Some("x\n"),
    )
    .await;
    assert!(
        !ok && err.contains("directory changes go through the running daemon"),
        "{err}"
    );
    n1.start();
    n1.wait_status("leader", Duration::from_secs(15), |v| v["role"] == "leader")
        .await;

    for n in [&mut n2, &mut n3] {
        let out = n.ok(&["cluster", "join", &n1.cluster.clone()]).await;
        assert!(out.contains("joined cluster"), "{out}");
        n.start();
    }
    let st = n1
        .wait_status("three voters", Duration::from_secs(30), |v| voters(v) == 3)
        .await;
    let applied = st["last_applied"].as_u64().unwrap();
    for (i, n) in [&n2, &n3].into_iter().enumerate() {
        n.wait_status("caught up", Duration::from_secs(30), |v| {
            v["last_applied"].as_u64() >= Some(applied)
        })
        .await;
        let show = n.ok(&["user", "show", "seeded09999"]).await;
        assert!(show.contains("seeded09999"), "{show}");
        // The pre-cluster user's seed opens with the cluster key on every node.
        assert_eq!(
            n.login_at("pre", "pre-password", &pre_seed, i as u64).await,
            "Access-Accept",
            "{}",
            n.name
        );
    }

    let text = n3.ok(&["cluster", "status"]).await;
    assert!(text.starts_with("node n3 (follower), epoch 1"), "{text}");
    for m in ["n1 ", "n2 ", "n3 "] {
        assert!(text.lines().any(|l| l.starts_with(m)), "{m} in\n{text}");
    }
    assert_eq!(text.matches("yes (").count(), 2, "{text}");

    // Added on the leader: logs in on each follower within 1 s.
    let (seed, by) = add_enrolled(&n1, "alice", "alice-pw").await;
    assert_eq!(by, "n1");
    for (i, n) in [&n2, &n3].into_iter().enumerate() {
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            let (ok, out, _) = run(n.cli(&["user", "show", "alice"])).await;
            if ok && out.contains("totp_enrolled  true") {
                break;
            }
            assert!(
                Instant::now() < until,
                "{}: alice not there within 1 s: {out}",
                n.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            n.login_at("alice", "alice-pw", &seed, i as u64).await,
            "Access-Accept",
            "{}",
            n.name
        );
    }
    // Added on a follower: forwarded to the leader, and there on the follower when the CLI
    // returns.
    let (seed, by) = add_enrolled(&n2, "bob", "bob-pw").await;
    assert_eq!(by, "n1", "user add on a follower is applied by the leader");
    assert_eq!(n2.login("bob", "bob-pw", &seed).await, "Access-Accept");
    assert_eq!(
        n3.login_at("bob", "bob-pw", &seed, 1).await,
        "Access-Accept"
    );
    // A wrong password is still wrong everywhere.
    assert_eq!(n1.login("bob", "not-bobs", &seed).await, "Access-Reject");

    // max_failures (5) wrong codes spread over the three nodes lock the factor on all three;
    // an unlock on one node ends it on all.
    let (ulf, _) = add_enrolled(&n1, "ulf", "ulf-pw").await;
    wait_user(&n3, "ulf", Duration::from_secs(5)).await;
    let wrong = |n: &Node| {
        let (radius, c) = (n.radius.clone(), n.name.clone());
        async move {
            let r = pyrad(
                &radius,
                SECRET,
                &[
                    "--enforce-ma",
                    "--user",
                    "ulf",
                    "--password",
                    "ulf-pw,000000",
                ],
            )
            .await;
            assert_eq!(r["code"], "Access-Reject", "{c}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    for n in [&n1, &n1, &n2, &n2, &n3] {
        wrong(n).await;
    }
    for (i, n) in [&n1, &n2, &n3].into_iter().enumerate() {
        assert_eq!(
            n.login_at("ulf", "ulf-pw", &ulf, i as u64).await,
            "Access-Reject",
            "{}: locked after 5 wrong codes across the cluster",
            n.name
        );
        let show = n.ok(&["user", "show", "ulf"]).await;
        assert!(show.contains("failed_codes   5"), "{}: {show}", n.name);
    }
    n2.ok(&["user", "unlock", "ulf"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(n3.login_at("ulf", "ulf-pw", &ulf, 1).await, "Access-Accept");
    let show = n1.ok(&["user", "show", "ulf"]).await;
    assert!(show.contains("failed_codes   0"), "{show}");

    // SIGKILL the leader in the middle of a loop of adds through a follower.
    let mut acknowledged = Vec::new();
    let mut killed_at = None;
    let mut first_after_kill = None;
    let mut elected = None;
    for i in 0..40 {
        if i == 10 {
            n1.kill();
            let k = Instant::now();
            killed_at = Some(k);
            // Meanwhile, when does a follower see a new leader?
            let cfg = n3.config.clone();
            elected = Some(tokio::spawn(async move {
                loop {
                    let mut c = mfagate();
                    c.args(["cluster", "status", "--format", "json", "-c"])
                        .arg(&cfg);
                    let (_, out, _) = run(c).await;
                    let v: Value = serde_json::from_str(out.trim()).unwrap_or(Value::Null);
                    if v["leader"] == "n2" || v["leader"] == "n3" {
                        return k.elapsed();
                    }
                    if k.elapsed() > Duration::from_secs(30) {
                        return k.elapsed();
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }));
        }
        let name = format!("loop{i:02}");
        let (ok, out, err) = run(n2.cli(&["user", "add", &name])).await;
        if ok {
            assert!(out.contains(&name), "{out}");
            acknowledged.push(name);
            if killed_at.is_some() && first_after_kill.is_none() {
                first_after_kill = killed_at.map(|k| k.elapsed());
            }
        } else {
            assert!(
                err.contains("leader") || err.contains("already exists"),
                "a failed add says why: {err}"
            );
            if err.contains("already exists") {
                acknowledged.push(name);
            }
        }
    }
    let failover = first_after_kill.expect("no add succeeded after the leader died");
    let election = elected.unwrap().await.unwrap();
    assert!(
        election < Duration::from_secs(5),
        "a new leader {election:?} after the leader died"
    );
    eprintln!("failover: a follower saw a new leader {election:?} after SIGKILL");
    assert!(
        failover < Duration::from_secs(8),
        "writes resumed {failover:?} after the leader died"
    );
    let st = n2
        .wait_status("a new leader", Duration::from_secs(5), |v| {
            v["leader"] == "n2" || v["leader"] == "n3"
        })
        .await;
    eprintln!(
        "failover: writes resumed {failover:?} after SIGKILL; new leader {}",
        st["leader"]
    );
    let text = n2.ok(&["cluster", "status"]).await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("n1 ") && l.contains("unreachable") && l.ends_with("NO")),
        "the dead leader is shown unreachable:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("n3 ") && l.contains("yes (")),
        "{text}"
    );
    // The old leader comes back as a follower and catches up.
    n1.start();
    let leader_applied = st["last_applied"].as_u64().unwrap_or(0);
    n1.wait_status("old leader caught up", Duration::from_secs(30), |v| {
        v["role"] == "follower" && v["last_applied"].as_u64() >= Some(leader_applied)
    })
    .await;
    for n in [&n1, &n2, &n3] {
        let list = n.ok(&["user", "list", "--format", "json"]).await;
        let names: Vec<String> = list
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .filter(|n| n.starts_with("loop"))
            .collect();
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(names.len(), unique.len(), "{}: a user twice", n.name);
        for a in &acknowledged {
            assert!(
                unique.contains(a),
                "{}: acknowledged {a} is missing",
                n.name
            );
        }
    }

    // Remove a follower, then join it again from an empty data directory: it gets everything.
    let leader_name = st["leader"].as_str().unwrap_or("").to_owned();
    let (leader, victim) = if leader_name == "n2" {
        (&n2, &mut n3)
    } else {
        (&n3, &mut n2)
    };
    let out = n1.ok(&["cluster", "remove", &victim.name.clone()]).await;
    assert!(out.contains("removed"), "{out}");
    let gone = victim.name.clone();
    leader
        .wait_status("member gone", Duration::from_secs(10), |v| {
            v["members"]
                .as_array()
                .is_some_and(|m| m.iter().all(|x| x["name"] != gone.as_str()))
        })
        .await;
    victim.kill();
    std::fs::remove_dir_all(victim.dir.join("data")).unwrap();
    let started = Instant::now();
    let out = victim
        .ok(&["cluster", "join", &leader.cluster.clone()])
        .await;
    assert!(out.contains("joined cluster"), "{out}");
    victim.start();
    let target = leader.status().await.unwrap()["last_applied"]
        .as_u64()
        .unwrap();
    victim
        .wait_status("re-joined node caught up", Duration::from_secs(60), |v| {
            v["last_applied"].as_u64() >= Some(target)
        })
        .await;
    eprintln!(
        "re-join with 10,000+ users caught up in {:?}",
        started.elapsed()
    );
    let show = victim.ok(&["user", "show", "seeded00042"]).await;
    assert!(show.contains("seeded00042"), "{show}");
    // A user added (and enrolled) through another node after the re-join logs in there.
    let (zed, _) = add_enrolled(&n1, "zed", "zed-pw").await;
    wait_user(victim, "zed", Duration::from_secs(5)).await;
    assert_eq!(victim.login("zed", "zed-pw", &zed).await, "Access-Accept");

    // A lost majority: two of three gone. The survivor (the re-joined node) still logs users
    // in, and a directory change fails within 5 s, naming the last leader and who answers.
    let survivor_name = victim.name.clone();
    n1.kill();
    let (survivor, other) = if survivor_name == "n2" {
        (&n2, &mut n3)
    } else {
        (&n3, &mut n2)
    };
    other.kill();
    let started = Instant::now();
    let (ok, _, err) = run(survivor.cli(&["user", "add", "nobody"])).await;
    let took = started.elapsed();
    assert!(!ok, "a write without a majority");
    assert!(
        err.contains("last known leader:") && err.contains("nodes that answer:"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "refused after {took:?}");
    eprintln!(
        "without a majority, a write is refused after {took:?}: {}",
        err.trim()
    );
    assert_eq!(
        survivor.login_at("zed", "zed-pw", &zed, 1).await,
        "Access-Accept"
    );
    // No peer could acknowledge that code: decided alone, and counted.
    let st = survivor.status().await.unwrap();
    assert!(st["decided_without_peer_ack"].as_u64() >= Some(1), "{st}");
    let report = survivor.ok(&["report", "auth", "--since", "1h"]).await;
    assert!(report.contains("(no peer acknowledged)"), "{report}");
    let _ = std::fs::remove_dir_all(&root);
}

/// A TLS client for `node`'s cluster port trusting `ca`, presenting `cert`/`key` (or nothing).
fn foreign_client(ca: &Path, cert_key: Option<(&Path, &Path)>) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match cert_key {
        Some((c, k)) => b
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(c)
                    .unwrap()
                    .map(|x| x.unwrap())
                    .collect(),
                PrivateKeyDer::from_pem_file(k).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
}

/// Connects with `tls`, sends one well-formed Vote frame, and returns what came back (None:
/// the connection was refused or closed without an answer).
async fn try_vote(addr: &str, tls: tokio_rustls::TlsConnector) -> Option<String> {
    use mfagate::cluster::rpc::{read_frame, write_frame, Envelope, Request};
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = mfagate::cluster::tls::server_name("n1").unwrap();
    let mut s = tls.connect(name, tcp).await.ok()?;
    let env = Envelope {
        epoch: 1,
        from: 42,
        request: Request::Vote(openraft::raft::VoteRequest::new(
            openraft::Vote::new(99, 42),
            None,
        )),
    };
    write_frame(&mut s, &env, &[]).await.ok()?;
    match tokio::time::timeout(Duration::from_secs(3), read_frame(&mut s)).await {
        Ok(Ok(Some((h, _)))) => Some(String::from_utf8_lossy(&h).into_owned()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_port_refuses_strangers_and_stays_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let root = temp_dir("cluster-refuse");
    let ca = make_ca(&root).await;
    let mut n1 = Node::new(&root, "n1", &ca).await;
    n1.ok(&["cluster", "init"]).await;
    n1.start();
    let before = n1
        .wait_status("leader", Duration::from_secs(15), |v| v["role"] == "leader")
        .await;

    // A certificate from another cluster's CA, for a node of the same name.
    let other_ca = make_ca(&root.join("other-cluster")).await;
    issue_cert(&other_ca, "n1", &root.join("other")).await;
    let other = root.join("other");
    let ours = ca.join("ca.pem");
    assert_eq!(
        try_vote(
            &n1.cluster,
            foreign_client(&ours, Some((&other.join("n1.pem"), &other.join("n1.key"))))
        )
        .await,
        None,
        "a certificate from another CA"
    );
    // No client certificate at all.
    assert_eq!(
        try_vote(&n1.cluster, foreign_client(&ours, None)).await,
        None
    );
    // Plain TCP and garbage.
    let mut tcp = tokio::net::TcpStream::connect(&n1.cluster).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.0\r\n\r\n\x00\xff\x16\x03\x01garbage")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(6), tcp.read(&mut buf))
        .await
        .expect("the garbage connection is closed, not left hanging")
        .unwrap_or(0);
    assert!(n < 64, "no protocol answer to garbage");
    // A valid certificate of our CA whose name is no member: refused before Raft sees it.
    issue_cert(&ca, "intruder", &root.join("intruder")).await;
    let i = root.join("intruder");
    let answer = try_vote(
        &n1.cluster,
        foreign_client(
            &ours,
            Some((&i.join("intruder.pem"), &i.join("intruder.key"))),
        ),
    )
    .await
    .expect("a member-less certificate gets a refusal");
    assert!(
        answer.contains("Refused") && answer.contains("not a member"),
        "{answer}"
    );

    // Still the same leader in the same term: the vote for term 99 never reached Raft.
    let after = n1.status().await.expect("the node is still up");
    assert_eq!(after["role"], "leader");
    assert_eq!(after["term"], before["term"]);
    let log = n1.log();
    assert!(
        log.matches("cluster: refused a connection").count() >= 3,
        "each refusal is logged: {log}"
    );
    assert!(log.contains("names no member"), "{log}");
    n1.kill();
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_voter_and_learner_forced_promotion_and_fencing() {
    let (root, mut n1, mut n2) = first_of_two("cluster2").await;
    n2.ok(&["cluster", "join", &n1.cluster.clone()]).await;
    n2.start();
    let (carol, _) = add_enrolled(&n1, "carol", "carol-pw").await;
    let (dave, _) = add_enrolled(&n1, "dave", "dave-pw").await;
    // Two nodes: the first votes, the second is a learner (and stays one).
    let st = n1
        .wait_status("n2 a caught-up learner", Duration::from_secs(20), |v| {
            v["members"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|x| x["name"] == "n2" && x["role"] == "learner" && x["lag_entries"] == 0)
            })
        })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let st2 = n1.status().await.unwrap();
    assert_eq!(voters(&st2), 1, "two nodes keep one voter: {st2}");
    assert_eq!(n2.login("carol", "carol-pw", &carol).await, "Access-Accept");
    let _ = st;

    // The voter dies: the learner keeps logging users in, and refuses writes at once, naming
    // the voter.
    n1.kill();
    assert_eq!(n2.login("dave", "dave-pw", &dave).await, "Access-Accept");
    let started = Instant::now();
    let (ok, _, err) = run(n2.cli(&["user", "add", "erin"])).await;
    assert!(!ok, "a write without a voter");
    assert!(
        err.contains("last known leader: n1") && err.contains("nodes that answer: n2"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Disaster recovery on the learner.
    n2.kill();
    let (ok, _, err) = run(n2.cli(&["cluster", "promote"])).await;
    assert!(!ok && err.contains("--force"), "{err}");
    let out = n2.ok(&["cluster", "promote", "--force"]).await;
    assert!(out.contains("epoch 2") && out.contains("n1"), "{out}");
    n2.start();
    n2.wait_status("promoted leader", Duration::from_secs(15), |v| {
        v["role"] == "leader" && v["epoch"] == 2
    })
    .await;
    let (erin, by) = add_enrolled(&n2, "erin", "erin-pw").await;
    assert_eq!(by, "n2");
    // The directory from before the promotion is all there.
    n2.ok(&["user", "show", "carol"]).await;

    // The old voter comes back in the old epoch: fenced, refuses writes, still logs users in.
    n1.start();
    n1.wait_status("fenced", Duration::from_secs(15), |v| v["role"] == "fenced")
        .await;
    let (ok, _, err) = run(n1.cli(&["user", "add", "frank"])).await;
    assert!(!ok && err.contains("fenced"), "{err}");
    assert_eq!(
        n1.login_at("carol", "carol-pw", &carol, 1).await,
        "Access-Accept"
    );
    assert!(n1.log().contains("this node is fenced"), "{}", n1.log());
    // Still fenced after a restart.
    n1.kill();
    let (ok, out, _) = run(n1.cli(&["cluster", "status", "--format", "json"])).await;
    assert!(ok && out.contains("\"fenced\""), "{out}");

    // Re-joining brings it back into the new epoch with the new directory.
    let (ok, _, err) = run(n1.cli(&["cluster", "join", &n2.cluster.clone()])).await;
    assert!(!ok && err.contains("--force"), "{err}");
    n1.ok(&["cluster", "join", &n2.cluster.clone(), "--force"])
        .await;
    n1.start();
    n1.wait_status("re-joined", Duration::from_secs(20), |v| {
        v["epoch"] == 2 && v["role"] == "learner" && v["leader"] == "n2"
    })
    .await;
    wait_user(&n1, "erin", Duration::from_secs(5)).await;
    assert_eq!(n1.login("erin", "erin-pw", &erin).await, "Access-Accept");
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_restores_every_acknowledged_user() {
    use std::os::unix::fs::PermissionsExt;
    let gw = std::sync::Arc::new(start("").await);
    let seed = gw.add_user("alice", "alice-pw").await;
    let file = gw.dir.join("backup.json");
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writer = {
        let (gw, acked) = (gw.clone(), acked.clone());
        tokio::spawn(async move {
            for i in 0..400 {
                let name = format!("w{i:03}");
                let r = gw
                    .admin(mfagate::admin::Request::UserAdd {
                        name: name.clone(),
                        password: None,
                        method: None,
                        phone: None,
                        provider: None,
                    })
                    .await;
                if r.is_ok() {
                    acked.lock().unwrap().push(name);
                }
            }
        })
    };
    while acked.lock().unwrap().len() < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let mut cmd = mfagate();
    cmd.arg("backup").arg(&file).arg("-c").arg(&gw.config_path);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("users") && out.contains("keep it as safe"),
        "{out}"
    );
    writer.await.unwrap();
    let during = acked.lock().unwrap().len();
    assert!(
        during > before.len(),
        "the backup ran while users were being added"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("alice-pw"), "no password in a backup");

    // Into a fresh data directory.
    let fresh = temp_dir("restore");
    let cfg_text = std::fs::read_to_string(&gw.config_path).unwrap();
    let old_dir = gw.cfg.data_dir.display().to_string();
    let new_dir = fresh.join("data").display().to_string();
    let cfg2 = fresh.join("mfagate.toml");
    std::fs::write(&cfg2, cfg_text.replace(&old_dir, &new_dir)).unwrap();
    let restore = |force: bool| {
        let mut c = mfagate();
        c.arg("restore").arg(&file).arg("-c").arg(&cfg2);
        if force {
            c.arg("--force");
        }
        c
    };
    let (ok, out, err) = run(restore(false)).await;
    assert!(ok, "{err}");
    assert!(out.contains("restored"), "{out}");
    let mut list = mfagate();
    list.args(["user", "list", "--format", "json", "-c"])
        .arg(&cfg2);
    let (ok, out, err) = run(list).await;
    assert!(ok, "{err}");
    let restored: std::collections::BTreeSet<String> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect();
    for u in &before {
        assert!(
            restored.contains(u),
            "{u}, acknowledged before the backup, is missing"
        );
    }
    assert!(restored.contains("alice"));
    // The seed opens with the restored key.
    {
        let store = mfagate::store::Store::open(&fresh.join("data")).unwrap();
        let u = store.read(|r| r.user("alice")).unwrap().unwrap();
        let opened = store
            .sealer()
            .open(u.totp.as_ref().unwrap(), "alice")
            .unwrap();
        assert_eq!(opened, seed);
    }
    // Over a store that is not empty: refused, unless forced.
    let (ok, _, err) = run(restore(false)).await;
    assert!(
        !ok && err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    let (ok, _, err) = run(restore(true)).await;
    assert!(ok, "{err}");
    let _ = std::fs::remove_dir_all(&fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_is_restored_on_one_node_promoted_and_rejoined() {
    let (root, mut n1, mut n2) = first_of_two("cluster-restore").await;
    let (gus, _) = add_enrolled(&n1, "gus", "gus-pw").await;
    let file = root.join("n1.backup");
    let out = n1.ok(&["backup", file.to_str().unwrap()]).await;
    assert!(out.contains("cluster identity"), "{out}");
    // The disk is lost.
    n1.kill();
    std::fs::remove_dir_all(n1.dir.join("data")).unwrap();
    let out = n1.ok(&["restore", file.to_str().unwrap()]).await;
    assert!(out.contains("cluster promote --force"), "{out}");
    let out = n1.ok(&["cluster", "promote", "--force"]).await;
    assert!(out.contains("epoch 2"), "{out}");
    n1.start();
    n1.wait_status("restored leader", Duration::from_secs(15), |v| {
        v["role"] == "leader" && v["epoch"] == 2
    })
    .await;
    assert_eq!(n1.login("gus", "gus-pw", &gus).await, "Access-Accept");
    n2.ok(&["cluster", "join", &n1.cluster.clone()]).await;
    n2.start();
    wait_user(&n2, "gus", Duration::from_secs(20)).await;
    assert_eq!(n2.login_at("gus", "gus-pw", &gus, 1).await, "Access-Accept");
    let _ = std::fs::remove_dir_all(&root);
}
