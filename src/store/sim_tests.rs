//! Seeded model test of login state across members with crashes and partitions: three real
//! stores take random logins (accepted and wrong codes, SMS challenges and their answers,
//! pushes, audit records written without fsync), ship their durable entries to each other over links that
//! random partitions cut and heals restore, and crash. A crash is a power cut: the node goes
//! on from a copy of its file taken at its last durable commit, so whatever it committed
//! without fsync since is lost (and its sequence numbers are used again). After a final heal
//! every node must show the state the merge rules give for the union of what each node's own
//! log finally holds; the same seed replays the same run.
//!
//! CI runs `MFAGATE_SIM_SEEDS` seeds (default 12); `MFAGATE_SIM_SEEDS=500 cargo test --lib
//! sim_` runs more.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::model::*;
use super::tables::AUTH_LOG;
use super::testing::{auth_record, Rng};
use super::{Store, StoreError};
use redb::ReadableTable;

const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];
const NODES: usize = 3;

struct SimNode {
    store: Store,
    dir: PathBuf,
    name: String,
    lives: u32,
    /// The file as of the last durable commit, and that commit's sequence.
    image: PathBuf,
    image_seq: u64,
}

fn ok<T>(r: Result<T, StoreError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

impl SimNode {
    fn open(root: &Path, i: usize, lives: u32) -> SimNode {
        let dir = root.join(format!("n{i}-{lives}"));
        let mut n = SimNode {
            store: ok(Store::open(&dir)),
            image: root.join(format!("n{i}-{lives}-image")),
            dir,
            name: format!("n{i}"),
            lives,
            image_seq: 0,
        };
        n.take_image();
        n
    }

    /// Copies the file as it is now (the caller knows nothing non-durable is in it, or
    /// accepts that it survives).
    fn take_image(&mut self) {
        std::fs::create_dir_all(&self.image).unwrap_or_else(|e| panic!("{e}"));
        for f in ["mfagate.redb", "seed.key"] {
            std::fs::copy(self.dir.join(f), self.image.join(f)).unwrap_or_else(|e| panic!("{e}"));
        }
        self.image_seq = self.store.durable_seq();
    }

    /// Before this node ships: its image must hold everything it may ship (the writer's own
    /// timer may have made more durable than the image holds).
    fn cover_shipped(&mut self) {
        if self.store.durable_seq() > self.image_seq {
            ok(self.store.wait_for_writes());
            self.take_image();
        }
    }

    /// A power cut: the node restarts from its file as of its last durable commit.
    fn crash(self, root: &Path, i: usize) -> SimNode {
        let next = root.join(format!("n{i}-{}", self.lives + 1));
        std::fs::create_dir_all(&next).unwrap_or_else(|e| panic!("{e}"));
        for f in ["mfagate.redb", "seed.key"] {
            std::fs::copy(self.image.join(f), next.join(f)).unwrap_or_else(|e| panic!("{e}"));
        }
        let lives = self.lives + 1;
        drop(self.store);
        SimNode::open(root, i, lives)
    }
}

/// One random login on `n` at `now`; `challenges`: every challenge id created so far.
async fn login(n: &mut SimNode, rng: &mut Rng, now: u64, challenges: &mut Vec<Vec<u8>>) {
    let user = USERS[rng.below(USERS.len() as u64) as usize].to_owned();
    let name = n.name.clone();
    let detached = rng.below(2) == 0;
    match rng.below(7) {
        6 => {
            // An accept that spent nothing (a bypass rule): its record only, without fsync.
            let record = auth_record(&name, &user, now, AuthResult::Accept);
            ok(n.store.write_detached(move |tx| tx.append_auth(&record)));
            ok(n.store.wait_for_writes());
            return;
        }
        0 => ok(n
            .store
            .write(move |tx| {
                let step = tx.totp_step(&user)?.unwrap_or(1000) + 1;
                tx.set_totp_step(&user, step)?;
                tx.set_failures(&user, &FactorFailures::cleared(now))?;
                tx.append_auth(&auth_record(&name, &user, now, AuthResult::Accept))
            })
            .await),
        1 => ok(n
            .store
            .write(move |tx| {
                let f = tx.failures(&user)?;
                let count = f.count + 1;
                let next = FactorFailures {
                    count,
                    locked_until_ms: if count >= 5 { now + 500 } else { 0 },
                    last_ms: now,
                    reset_ms: f.reset_ms,
                };
                tx.set_failures(&user, &next)?;
                tx.append_auth(&auth_record(&name, &user, now, AuthResult::Reject))
            })
            .await),
        2 => {
            let mut id = n.store.node_id().to_be_bytes().to_vec();
            id.extend((challenges.len() as u64).to_be_bytes());
            challenges.push(id.clone());
            let c = ChallengeRecord {
                user_key: user.clone(),
                client: "vpn".into(),
                created_ms: now,
                expires_ms: u64::MAX,
                attempts_left: 3,
                consumed: false,
                policy: None,
                sms: None,
                factor: None,
                consumed_by: None,
                granted: Vec::new(),
            };
            ok(n.store
                .write(move |tx| {
                    tx.put_challenge(&id, &c)?;
                    tx.set_sms_latest(&user, &id)
                })
                .await)
        }
        3 if !challenges.is_empty() => {
            let id = challenges[rng.below(challenges.len() as u64) as usize].clone();
            let right = rng.below(2) == 0;
            ok(n.store
                .write(move |tx| {
                    if let Some(mut c) = tx.challenge(&id)? {
                        if !c.consumed && c.attempts_left > 0 {
                            c.attempts_left -= 1;
                            c.consumed = right || c.attempts_left == 0;
                            tx.put_challenge(&id, &c)?;
                        }
                    }
                    Ok(())
                })
                .await)
        }
        4 => {
            let pending = rng.below(2) == 0;
            ok(n.store
                .write(move |tx| {
                    let mut st = tx.push_state(&user)?;
                    st.recent_ms.push(now);
                    st.pending = pending.then(|| (format!("{now:x}"), now + 100));
                    tx.set_push_state(&user, &st)
                })
                .await)
        }
        _ => {
            // A record that a peer's verdict replaced (written without fsync, as an accept
            // decided alone is) or a reject (with fsync).
            let record = auth_record(&name, &user, now, AuthResult::Challenge);
            let job = move |tx: &mut super::Tx<'_>| tx.append_auth(&record);
            if detached {
                // Committed (without fsync) before the next step, as it soon is in service.
                ok(n.store.write_detached(job));
                ok(n.store.wait_for_writes());
                return;
            }
            ok(n.store.write(job).await);
        }
    }
    // A durable write made everything before it durable too.
    n.take_image();
}

/// Ships one batch from `from` to `to`, as the shipper does: only durable entries, after what
/// `to` says it merged, in order.
async fn ship(from: &SimNode, to: &SimNode, size: usize) -> bool {
    let origin = from.store.node_id();
    let after = ok(to.store.read(|r| r.peer_applied(origin)));
    let durable = from.store.durable_seq();
    let batch = ok(from
        .store
        .read(|r| r.own_changes_after(origin, after, durable, size)));
    let Some(upto) = batch.last().map(|(s, _)| *s) else {
        return false;
    };
    ok(to
        .store
        .write(move |tx| {
            for (seq, c) in &batch {
                tx.merge_peer_change(origin, *seq, c)?;
            }
            tx.set_peer_applied(origin, upto)
        })
        .await);
    true
}

/// What every node must show: the merge rules over the union of each node's final own log.
#[derive(Debug, PartialEq, Default)]
struct View {
    steps: BTreeMap<String, u64>,
    failures: BTreeMap<String, FactorFailures>,
    challenges: BTreeMap<Vec<u8>, (bool, u32, Option<u64>)>,
    sms: BTreeMap<String, Vec<u8>>,
    auth: BTreeSet<(u64, u64, u64)>,
    pushes: BTreeMap<(String, u64), PushState>,
}

fn model(nodes: &[SimNode]) -> View {
    let mut v = View::default();
    let mut shares: BTreeMap<(String, u64), FactorFailures> = BTreeMap::new();
    let mut created: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut markers = Vec::new();
    for n in nodes {
        let o = n.store.node_id();
        for (seq, c) in ok(n
            .store
            .read(|r| r.own_changes_after(o, 0, u64::MAX, usize::MAX)))
        {
            match c {
                Change::TotpStep { key, step } => {
                    let e = v.steps.entry(key).or_default();
                    *e = (*e).max(step);
                }
                Change::FactorFailures { key, failures } => {
                    shares.insert((key, o), failures);
                }
                Change::PutChallenge { id, challenge: c } => {
                    let id = unhex(&id).unwrap_or_default();
                    created.entry(id.clone()).or_insert(c.created_ms);
                    let e = v.challenges.entry(id).or_insert((false, u32::MAX, None));
                    e.0 |= c.consumed;
                    e.1 = e.1.min(c.attempts_left);
                    e.2 = match (e.2, c.consumed_by) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                Change::SmsLatest { key, id } => {
                    markers.push((key, unhex(&id).unwrap_or_default()))
                }
                Change::AuthLog {
                    time_ms, seq: s, ..
                } => {
                    v.auth.insert((time_ms, o, s));
                }
                Change::PushState { key, state } => {
                    v.pushes.insert((key, o), state);
                }
                _ => {}
            }
            let _ = seq;
        }
    }
    for (user, id) in markers {
        let newer = match v.sms.get(&user) {
            None => true,
            Some(cur) => (created[&id], &id) > (created[cur], cur),
        };
        if newer {
            v.sms.insert(user, id);
        }
    }
    for u in USERS {
        let all: Vec<_> = shares
            .iter()
            .filter(|((k, _), _)| k == u)
            .map(|(_, f)| f.clone())
            .collect();
        if !all.is_empty() {
            v.failures
                .insert(u.to_owned(), FactorFailures::combine(all));
        }
    }
    v
}

async fn observe(n: &SimNode, want: &View) -> View {
    let mut v = View::default();
    let ids: Vec<Vec<u8>> = want.challenges.keys().cloned().collect();
    ok(n.store.read(|r| {
        for u in USERS {
            if let Some(s) = r.totp_step(u)? {
                v.steps.insert(u.to_owned(), s);
            }
            let f = r.failures(u)?;
            if f != FactorFailures::default() {
                v.failures.insert(u.to_owned(), f);
            }
            if let Some(id) = r.sms_latest(u)? {
                v.sms.insert(u.to_owned(), id);
            }
        }
        for id in &ids {
            if let Some(c) = r.challenge(id)? {
                v.challenges
                    .insert(id.clone(), (c.consumed, c.attempts_left, c.consumed_by));
            }
        }
        for row in r.txn.open_table(AUTH_LOG)?.iter()? {
            v.auth.insert(row?.0.value());
        }
        Ok(())
    }));
    let pushes = ok(n
        .store
        .write(|tx| {
            let mut all = Vec::new();
            for u in USERS {
                for (o, st) in tx.cluster_pushes(u)?.0 {
                    all.push(((u.to_owned(), o), st));
                }
            }
            Ok(all)
        })
        .await);
    v.pushes = pushes
        .into_iter()
        .filter(|(_, st)| *st != PushState::default())
        .collect();
    v
}

#[tokio::test]
async fn sim_login_state_converges_through_crashes_and_partitions() {
    let seeds: u64 = std::env::var("MFAGATE_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let (mut crashes, mut partitions) = (0, 0);
    for seed in 1..=seeds {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let root = std::env::temp_dir().join(format!("mfagate-sim-{}-{seed}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut nodes: Vec<SimNode> = (0..NODES).map(|i| SimNode::open(&root, i, 0)).collect();
        // side[i]: which side of the partition node i is on (all 0: healed).
        let mut side = [0u8; NODES];
        let mut challenges = Vec::new();
        for step in 0..300u64 {
            let now = 1_000 + step * 10;
            match rng.below(20) {
                0..=9 => {
                    let i = rng.below(NODES as u64) as usize;
                    login(&mut nodes[i], &mut rng, now, &mut challenges).await;
                }
                10..=15 => {
                    let (a, b) = (
                        rng.below(NODES as u64) as usize,
                        rng.below(NODES as u64) as usize,
                    );
                    if a != b && side[a] == side[b] {
                        nodes[a].cover_shipped();
                        ship(&nodes[a], &nodes[b], 1 + rng.below(8) as usize).await;
                    }
                }
                16 => {
                    let cut = rng.below(NODES as u64) as usize;
                    side = [0; NODES];
                    side[cut] = 1;
                    partitions += 1;
                }
                17 => side = [0; NODES],
                _ => {
                    let i = rng.below(NODES as u64) as usize;
                    let n = nodes.remove(i);
                    nodes.insert(i, n.crash(&root, i));
                    crashes += 1;
                }
            }
        }
        // Heal, let every detached write become durable, and ship until nothing moves.
        for n in &nodes {
            ok(n.store.write(|_| Ok(())).await);
        }
        loop {
            let mut moved = false;
            for a in 0..NODES {
                for b in 0..NODES {
                    if a != b {
                        moved |= ship(&nodes[a], &nodes[b], 50).await;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let want = model(&nodes);
        for n in &nodes {
            let got = observe(n, &want).await;
            assert_eq!(got, want, "seed {seed}: {} differs from the model", n.name);
        }
        drop(nodes);
        let _ = std::fs::remove_dir_all(&root);
    }
    eprintln!("{seeds} seeds: {crashes} crashes, {partitions} partitions");
}
