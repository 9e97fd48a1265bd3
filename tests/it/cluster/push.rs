//! Retransmits and pushes across a three-node cluster behind no sticky load balancer: the
//! NAS's retransmit of one datagram reaches another node. Pushes go to the Duo stand-in
//! (`tests/py/duo_fake.py`), which logs every push it sends, so "no second push" is counted
//! where the phone would see it.

use std::net::SocketAddr;

use mfagate::radius::codec::*;
use mfagate::store::model::hex;
use tokio::net::UdpSocket;

use super::*;
use crate::duo::{DuoFake, API_HOST, IKEY, SKEY};

/// One Access-Request datagram, to be sent as is to one node and then, as the NAS's
/// retransmit, to another.
fn datagram(user: &str, password: &str, identifier: u8) -> Vec<u8> {
    pap_request(user, password, SECRET, identifier, None).0
}

/// Sends `bytes` from `s` to `node` and waits up to `wait` for a reply.
async fn send(s: &UdpSocket, node: &Node, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let to: SocketAddr = node.radius.parse().unwrap();
    raw_on(s, to, bytes, wait).await
}

fn code_of(reply: &[u8]) -> u8 {
    Packet::parse(reply).unwrap().code
}

/// Decisions for `user` in `node`'s report, one line each.
async fn decisions(node: &Node, user: &str) -> Vec<String> {
    node.ok(&["report", "auth", "--since", "1h"])
        .await
        .lines()
        .filter(|l| l.contains(&format!(",{user},")))
        .map(str::to_owned)
        .collect()
}

async fn three_nodes_with_duo(tag: &str, fake: &DuoFake) -> (PathBuf, Vec<Node>) {
    let root = temp_dir(tag);
    let ca = make_ca(&root).await;
    std::fs::write(root.join("skey"), SKEY).unwrap();
    let tail = format!(
        "[factor]\npush_provider = \"duo\"\npush_timeout_secs = 20\npush_max_per_window = 5\n\
         [[factor.provider]]\nname = \"duo\"\nkind = \"duo\"\napi_host = \"{API_HOST}\"\n\
         ikey = \"{IKEY}\"\nsecret_file = \"{}\"\nurl = \"http://127.0.0.1:{}\"\ntimeout_secs = 2\n",
        root.join("skey").display(),
        fake.port
    );
    let nodes = three_nodes(&root, &ca, "otp_mode = \"challenge\"", &tail).await;
    (root, nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmits_reaching_another_node_get_the_first_answer_and_never_a_second_push() {
    let fake = DuoFake::start(&serde_json::json!({"users": {
        "ann": {"preauth": "auth", "push": "allow", "delay_ms": 300},
        "ivy": {"preauth": "auth", "push": "allow", "delay_ms": 3000},
        "kim": {"preauth": "auth", "push": "allow", "delay_ms": 6000}
    }, "fault": null}));
    let (root, mut nodes) = three_nodes_with_duo("cluster-push", &fake).await;
    for u in ["ann", "ivy", "kim"] {
        let (ok, _, err) = run_with_stdin(
            nodes[0].cli(&["user", "add", u, "--password-stdin", "--method", "push"]),
            Some(&format!("pw-{u}\n")),
        )
        .await;
        assert!(ok, "{err}");
    }
    let (tia, _) = add_enrolled(&nodes[0], "tia", "tia-pw").await;
    for n in &nodes[1..] {
        wait_user(n, "tia", Duration::from_secs(10)).await;
    }
    let nas = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (n1, n2, n3) = (&nodes[0], &nodes[1], &nodes[2]);

    // An Access-Challenge carries a random State: a retransmit to n2 gets n1's very bytes.
    let d = datagram("tia", "tia-pw", 1);
    let first = send(&nas, n1, &d, Duration::from_secs(3)).await.unwrap();
    assert_eq!(code_of(&first), ACCESS_CHALLENGE);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = send(&nas, n2, &d, Duration::from_secs(3)).await.unwrap();
    assert_eq!(again, first, "n2 answered n1's request with n1's bytes");
    let state = Packet::parse(&first)
        .unwrap()
        .attr(ATTR_STATE)
        .unwrap()
        .to_vec();
    let cfg = Config::load(&n1.config).unwrap();
    let code = totp::code_at(
        &tia,
        totp::step_at(SystemClock.now_ms(), &cfg.factor.totp),
        &cfg.factor.totp,
    );
    let r = ask(n3, "tia", &code, Some(&hex(&state))).await;
    assert_eq!(r["code"], "Access-Accept", "n1's State answered on n3: {r}");

    // A push answered on n1; the retransmit to n3 gets n1's Accept, and no second push.
    let d = datagram("ann", "pw-ann", 2);
    let first = send(&nas, n1, &d, Duration::from_secs(10)).await.unwrap();
    assert_eq!(code_of(&first), ACCESS_ACCEPT);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = send(&nas, n3, &d, Duration::from_secs(3)).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(fake.factors("ann"), ["push"], "one push for one login");
    for n in [n1, n2, n3] {
        let lines = decisions(n, "ann").await;
        assert_eq!(lines.len(), 1, "{}: one decision: {lines:?}", n.name);
        assert!(lines[0].contains(",n1,"), "{lines:?}");
    }

    // While n1 waits on ivy's phone, the retransmit to n2 is dropped (n1 answers it), and a
    // new login for ivy on n3 is refused: one outstanding push per user, cluster-wide.
    let d = datagram("ivy", "pw-ivy", 3);
    nas.send_to(&d, n1.radius.parse::<SocketAddr>().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let other = ask(n3, "ivy", "pw-ivy", None).await;
    assert_eq!(other["code"], "Access-Reject", "{other}");
    let mut buf = vec![0u8; 4096];
    nas.send_to(&d, n2.radius.parse::<SocketAddr>().unwrap())
        .await
        .unwrap();
    let (n, from) = tokio::time::timeout(Duration::from_secs(8), nas.recv_from(&mut buf))
        .await
        .expect("n1 answers once the phone approves")
        .unwrap();
    assert_eq!(
        from.to_string(),
        n1.radius,
        "only n1 answers; n2 dropped it"
    );
    assert_eq!(code_of(&buf[..n]), ACCESS_ACCEPT);
    let late = tokio::time::timeout(Duration::from_millis(700), nas.recv_from(&mut buf)).await;
    assert!(late.is_err(), "a second answer came: {late:?}");
    assert_eq!(fake.factors("ivy"), ["push"], "no second push for ivy");
    let reasons = decisions(n3, "ivy").await.join("\n");
    assert!(reasons.contains("already outstanding"), "{reasons}");

    // n2 dies while kim's push waits on her phone; the NAS's retransmit to n3 is accepted
    // once she approves, by polling n2's push: still one push.
    let d = datagram("kim", "pw-kim", 4);
    nas.send_to(&d, n2.radius.parse::<SocketAddr>().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    nodes[1].kill();
    let (n1, n2, n3) = (&nodes[0], &nodes[1], &nodes[2]);
    let started = Instant::now();
    let mut accepted = None;
    while started.elapsed() < Duration::from_secs(15) {
        // The NAS retransmits every 2 s.
        if let Some(r) = send(&nas, n3, &d, Duration::from_secs(2)).await {
            accepted = Some(r);
            break;
        }
    }
    let accepted = accepted.unwrap_or_else(|| panic!("no answer from n3\n{}", n3.log()));
    assert_eq!(code_of(&accepted), ACCESS_ACCEPT);
    assert_eq!(fake.factors("kim"), ["push"], "no second push for kim");
    assert!(
        n3.log().contains("polling that push"),
        "n3 says it took the push over"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = send(&nas, n1, &d, Duration::from_secs(3)).await.unwrap();
    assert_eq!(again, accepted, "n1 answers the retransmit with n3's bytes");
    let lines = decisions(n1, "kim").await;
    assert_eq!(lines.len(), 1, "one decision: {lines:?}");
    assert!(
        lines[0].contains(",n3,") && lines[0].contains("accept"),
        "{lines:?}"
    );
    let _ = n2;
    drop(nodes);
    let _ = std::fs::remove_dir_all(&root);
}
