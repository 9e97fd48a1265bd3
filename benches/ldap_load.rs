//! LDAP front-end throughput next to the same load sent straight to an OpenLDAP slapd on the
//! same machine (`scripts/start-slapd.sh`, AD-like schema), in one run:
//! - simple binds/s as an exempt service account (named by DN in `[ldap.exempt] dns`, so no
//!   second factor and no lookup: one bind upstream per bind, plus an audit record);
//! - search round trips/s (subtree search for one user by sAMAccountName, bound as the service
//!   account), proxied on mfagate's service-account pool.
//!
//! The client is the `ldap3` crate, `BENCH_LDAP_CONNS` connections (default 16) each sending
//! one request at a time, for `BENCH_LDAP_SECS` seconds (default 5) per phase; phases run
//! direct/mfagate/direct/mfagate and the better of each pair is reported, with the ratio.
//! Everything is LDAPS, as in production (a simple bind carries a password): the client to
//! slapd, the client to mfagate (its own process, the release binary), mfagate to slapd.
//! The client sessions are long-lived, so the handshakes are outside the measurement.
//!
//! `cargo bench --bench ldap_load` (any user; `scripts/install-test-deps.sh` installs slapd).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings, Scope};

const USERS: usize = 2000;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let conns: usize = common::env_num("BENCH_LDAP_CONNS", 16);
    let secs: u64 = common::env_num("BENCH_LDAP_SECS", 5);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("mfagate-ldapload-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let slapd_dir = work.join("slapd");
    let env = common::start_slapd(repo, &slapd_dir, USERS)?;
    let get = |k: &str| env.get(k).cloned().unwrap_or_default();
    let port = free_port()?;
    let certs = work.join("certs");
    let ok = Command::new("bash")
        .arg(repo.join("scripts/make-test-cert.sh"))
        .arg(&certs)
        .status()?
        .success();
    anyhow::ensure!(ok, "make-test-cert.sh failed");
    let cfg = work.join("ldap.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"node_name = "bench"
data_dir = "{data}"
[log]
level = "warn"
{primary}pool_size = 16
[auth]
unknown_users = "reject"
[ldap]
[ldap.exempt]
dns = ["{bind}"]
[[ldap.listeners]]
name = "bench"
address = "127.0.0.1:{port}"
tls = "ldaps"
cert_file = "{cert}"
key_file = "{key}"
"#,
            cert = certs.join("server.pem").display(),
            key = certs.join("server.key").display(),
            data = work.join("data").display(),
            primary = common::slapd_primary(&env),
            bind = get("SLAPD_BIND_DN"),
        ),
    )?;
    let mut gw = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["serve", "-c"])
        .arg(&cfg)
        .env("SLAPD_BIND_PASSWORD", get("SLAPD_BIND_PASSWORD"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let direct = get("SLAPD_LDAPS_URL");
        let via = format!("ldaps://127.0.0.1:{port}");
        let tls = client_tls(&[Path::new(&get("SLAPD_CA_PEM")), &certs.join("ca.pem")])?;
        wait_for(&via, &tls).await?;
        let dn = get("SLAPD_BIND_DN");
        let pw = get("SLAPD_BIND_PASSWORD");
        let base = get("SLAPD_PEOPLE_OU");
        println!("# {conns} connections, {secs}s per phase, slapd with {USERS} users");
        let slapd_pid: u32 = std::fs::read_to_string(slapd_dir.join("slapd.pid"))?
            .trim()
            .parse()?;
        let pids = [slapd_pid, gw.id()];
        for (what, search) in [("simple binds/s (exempt service account)", false), ("search round trips/s", true)] {
            let mut best = [0f64; 2];
            for round in 0..2 {
                for (i, url) in [&direct, &via].into_iter().enumerate() {
                    let before = pids.map(cpu_ms);
                    let (rate, ops) = load(url, &tls, &dn, &pw, &base, search, conns, secs).await?;
                    let after = pids.map(cpu_ms);
                    let per_op = |k: usize| (after[k] - before[k]) as f64 * 1000.0 / ops as f64;
                    println!(
                        "  {what:42} round {round} {:8} {rate:9.0}/s   CPU per request: slapd {:5.1} µs, mfagate {:5.1} µs",
                        ["slapd", "mfagate"][i],
                        per_op(0),
                        per_op(1)
                    );
                    best[i] = best[i].max(rate);
                }
            }
            println!(
                "{what}: slapd {:.0}, mfagate {:.0}, ratio {:.2}",
                best[0],
                best[1],
                best[1] / best[0]
            );
        }
        anyhow::Ok(())
    });
    let _ = gw.kill();
    let _ = gw.wait();
    common::stop_slapd(repo, &slapd_dir);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A rustls client configuration trusting `cas` (slapd's and the gateway's test CAs).
fn client_tls(cas: &[&Path]) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        for c in rustls::pki_types::CertificateDer::pem_file_iter(ca)? {
            roots.add(c?)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

fn settings(tls: &Arc<rustls::ClientConfig>) -> LdapConnSettings {
    LdapConnSettings::new().set_config(tls.clone())
}

async fn wait_for(url: &str, tls: &Arc<rustls::ClientConfig>) -> anyhow::Result<()> {
    for _ in 0..100 {
        if LdapConnAsync::with_settings(settings(tls), url)
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{url} did not come up")
}

/// Requests per second over `conns` connections for `secs` seconds; every request must
/// succeed.
#[allow(clippy::too_many_arguments)]
async fn load(
    url: &str,
    tls: &Arc<rustls::ClientConfig>,
    dn: &str,
    pw: &str,
    base: &str,
    search: bool,
    conns: usize,
    secs: u64,
) -> anyhow::Result<(f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let tls = tls.clone();
        let (url, dn, pw, base, done) = (
            url.to_owned(),
            dn.to_owned(),
            pw.to_owned(),
            base.to_owned(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (conn, mut ldap) = LdapConnAsync::with_settings(settings(&tls), &url).await?;
            tokio::spawn(conn.drive());
            ldap.simple_bind(&dn, &pw).await?.success()?;
            let mut n = c * 7919;
            while Instant::now() < end {
                if search {
                    n = (n + 1) % USERS;
                    let filter = format!("(sAMAccountName=user{:06})", n + 1);
                    let (entries, _) = ldap
                        .search(&base, Scope::Subtree, &filter, vec!["cn", "mail"])
                        .await?
                        .success()?;
                    anyhow::ensure!(entries.len() == 1, "{filter}: {} entries", entries.len());
                } else {
                    ldap.simple_bind(&dn, &pw).await?.success()?;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            let _ = ldap.unbind().await;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let ops = done.load(Ordering::Relaxed);
    Ok((ops as f64 / start.elapsed().as_secs_f64(), ops))
}

/// User + system CPU time of a process so far, in milliseconds (/proc/PID/stat, 100 Hz ticks).
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    (ticks(11) + ticks(12)) * 10
}
