//! Logins per second through mfagate against the Samba AD DC, next to direct simple binds to
//! the same DC with the same users and the same concurrency. The ratio is the figure.
//!
//! - direct: `BENCH_PARALLEL` (8) LDAPS connections, each binding as the users in turn (what
//!   an application that binds to AD itself does; DESIGN.md's anchor is ~350 binds/s);
//! - mfagate: the real `mfagate serve` binary in append mode (password + TOTP code), loaded by
//!   `radclient -p BENCH_PARALLEL`; each login is a service-account search, a user bind, a TOTP
//!   check and a durable store write.
//!
//! Each user may use each TOTP time step once, so every user logs in three times, with the
//! codes of the previous, current and next step. Run as root: `cargo bench --bench ad_login`
//! (it reuses a running test DC in `MFAGATE_SAMBA_DIR`, default /tmp/mfagate-samba, or starts
//! one). `BENCH_AD_USERS` (300) bench users are created in a private OU and removed after.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use mfagate::clock::{Clock, SystemClock};
use mfagate::config::Config;
use mfagate::factor::totp;
use mfagate::store::model::{user_key, UserRecord};
use mfagate::store::Store;

const SECRET: &str = "bench-secret-0123456789abcdef";
const PORT: u16 = 18_713;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let n: usize = common::env_num("BENCH_AD_USERS", 300);
    let parallel: usize = common::env_num("BENCH_PARALLEL", 8);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let samba = std::env::var("MFAGATE_SAMBA_DIR").unwrap_or_else(|_| "/tmp/mfagate-samba".into());
    let started = !Path::new(&format!("{samba}/env")).exists()
        || !Command::new(repo.join("scripts/verify-samba-ad.sh"))
            .arg(&samba)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success();
    if started {
        anyhow::ensure!(
            Command::new(repo.join("scripts/start-samba-ad.sh"))
                .arg(&samba)
                .stdout(Stdio::null())
                .status()?
                .success(),
            "start-samba-ad.sh failed (it needs root)"
        );
    }
    let env = common::peer_env(Path::new(&samba), "AD_")?;
    let e = |k: &str| env.get(k).cloned().unwrap_or_default();
    let ou = format!("OU=Bench{},{}", std::process::id(), e("AD_BASE_DN"));
    let pw = |i: usize| format!("Bench-Passw0rd-{i}!");
    let sam = |i: usize| format!("bench{i:04}");
    let t = Instant::now();
    let mut ldif = format!("dn: {ou}\nobjectClass: organizationalUnit\n\n");
    for i in 0..n {
        let quoted: Vec<u8> = format!("\"{}\"", pw(i))
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        ldif.push_str(&format!(
            "dn: CN={s},{ou}\nobjectClass: user\nsAMAccountName: {s}\nuserPrincipalName: {s}@{realm}\nunicodePwd:: {p}\nuserAccountControl: 512\n\n",
            s = sam(i),
            realm = e("AD_REALM"),
            p = base64(&quoted)
        ));
    }
    ldap_modify(&e, &["-a"], &ldif)?;
    println!(
        "# {n} bench users created in Samba in {:.1}s; {parallel} in parallel",
        t.elapsed().as_secs_f64()
    );

    let result = (|| -> anyhow::Result<()> {
        let direct = direct_binds(&e, n, parallel, &sam, &pw)?;
        println!(
            "direct binds to Samba      {:>7.0} logins/s  ({} binds)",
            direct.0, direct.1
        );
        let via = through_mfagate(&e, n, parallel, &sam, &pw)?;
        println!(
            "mfagate (AD + TOTP)        {:>7.0} logins/s  (accepted {}, rejected {}, lost {})",
            via.0, via.1, via.2, via.3
        );
        println!("ratio mfagate/direct: {:.2}", via.0 / direct.0);
        Ok(())
    })();
    let mut del = String::new();
    for i in 0..n {
        del.push_str(&format!("dn: CN={},{ou}\nchangetype: delete\n\n", sam(i)));
    }
    del.push_str(&format!("dn: {ou}\nchangetype: delete\n"));
    let _ = ldap_modify(&e, &[], &del);
    if started {
        let _ = Command::new(repo.join("scripts/stop-samba-ad.sh"))
            .arg(&samba)
            .status();
    }
    result
}

fn ldap_modify(e: &dyn Fn(&str) -> String, args: &[&str], ldif: &str) -> anyhow::Result<()> {
    let mut child = Command::new("ldapmodify")
        .env("LDAPTLS_CACERT", e("AD_CA_PEM"))
        .args([
            "-x",
            "-H",
            &e("AD_LDAPS_URL"),
            "-D",
            &e("AD_ADMIN_DN"),
            "-w",
            &e("AD_ADMIN_PASSWORD"),
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    child.stdin.take().map(|mut s| s.write_all(ldif.as_bytes()));
    anyhow::ensure!(child.wait()?.success(), "ldapmodify failed");
    Ok(())
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// (logins/s, binds) for 3 binds per user over `parallel` reused LDAPS connections.
fn direct_binds(
    e: &dyn Fn(&str) -> String,
    n: usize,
    parallel: usize,
    sam: &dyn Fn(usize) -> String,
    pw: &dyn Fn(usize) -> String,
) -> anyhow::Result<(f64, usize)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let roots = mfagate::primary::ad::load_roots(Path::new(&e("AD_CA_PEM")))?;
    let tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let url = e("AD_LDAPS_URL");
    let realm = e("AD_REALM");
    let jobs: Vec<(String, String)> = (0..3)
        .flat_map(|_| (0..n).map(|i| (format!("{}@{realm}", sam(i)), pw(i))))
        .collect();
    let total = jobs.len();
    let jobs = Arc::new(std::sync::Mutex::new(jobs));
    rt.block_on(async move {
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..parallel {
            let (url, tls, jobs) = (url.clone(), tls.clone(), jobs.clone());
            tasks.push(tokio::spawn(async move {
                let settings = ldap3::LdapConnSettings::new().set_config(tls);
                let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &url).await?;
                tokio::spawn(async move { conn.drive().await });
                loop {
                    let job = jobs.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                    let Some((upn, pw)) = job else { break };
                    ldap.simple_bind(&upn, &pw).await?.success()?;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok((total as f64 / t.elapsed().as_secs_f64(), total))
    })
}

/// (logins/s, accepted, rejected, lost) for 3 logins per user through `mfagate serve`.
fn through_mfagate(
    e: &dyn Fn(&str) -> String,
    n: usize,
    parallel: usize,
    sam: &dyn Fn(usize) -> String,
    pw: &dyn Fn(usize) -> String,
) -> anyhow::Result<(f64, u64, u64, u64)> {
    let dir = std::env::temp_dir().join(format!("mfagate-adbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cfg_path = dir.join("mfagate.toml");
    std::fs::write(
        &cfg_path,
        format!(
            r#"node_name = "bench"
data_dir = "{data}"
[log]
level = "warn"
[radius]
listen = ["127.0.0.1:{PORT}"]
[[radius.clients]]
name = "bench"
address = "127.0.0.1/32"
secret = "{SECRET}"
otp_mode = "append"
[primary]
backend = "ad"
[primary.ad]
urls = ["{url}"]
ca_file = "{ca}"
base_dn = "{base}"
bind_dn = "{bind}"
bind_password_env = "AD_BIND_PASSWORD"
upn_suffixes = ["{realm}"]
pool_size = {parallel}
"#,
            data = dir.join("data").display(),
            url = e("AD_LDAPS_URL"),
            ca = e("AD_CA_PEM"),
            base = e("AD_BASE_DN"),
            bind = e("AD_BIND_DN"),
            realm = e("AD_REALM"),
        ),
    )?;
    std::env::set_var("AD_BIND_PASSWORD", e("AD_BIND_PASSWORD"));
    let cfg = Config::load(&cfg_path)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let store = Store::open(&cfg.data_dir)?;
    let now = SystemClock.now_ms();
    let mut seeds = Vec::new();
    let mut users = Vec::new();
    for i in 0..n {
        let seed = totp::generate_seed()?.to_vec();
        let key = user_key(&sam(i));
        users.push((
            key.clone(),
            UserRecord {
                name: sam(i),
                enabled: true,
                totp: Some(store.sealer().seal(&seed, &key)?),
                created_ms: now,
                updated_ms: now,
                version: 1,
                ..Default::default()
            },
        ));
        seeds.push(seed);
    }
    rt.block_on(store.write(move |tx| {
        for (k, u) in &users {
            tx.put_user(k, u)?;
        }
        Ok(())
    }))?;
    drop(store);
    let mut server = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["serve", "-c"])
        .arg(&cfg_path)
        .stdin(Stdio::null())
        .spawn()?;
    let result = common::wait_ready(PORT, SECRET).and_then(|()| {
        let step = totp::step_at(SystemClock.now_ms(), &cfg.factor.totp);
        let mut files = Vec::new();
        for (r, s) in [step - 1, step, step + 1].into_iter().enumerate() {
            let path = dir.join(format!("round{r}.txt"));
            let mut f = std::fs::File::create(&path)?;
            for (i, seed) in seeds.iter().enumerate() {
                let code = totp::code_at(seed, s, &cfg.factor.totp);
                writeln!(f, "User-Name = \"{}\", User-Password = \"{},{code}\", Message-Authenticator = 0x00\n", sam(i), pw(i))?;
            }
            files.push(path);
        }
        let t = Instant::now();
        let (mut a, mut rj, mut l) = (0, 0, 0);
        for f in &files {
            let c = common::radclient(f, PORT, parallel, SECRET, 5)?;
            a += c.accepted;
            rj += c.rejected;
            l += c.lost;
        }
        Ok((a as f64 / t.elapsed().as_secs_f64(), a, rj, l))
    });
    common::stop(&mut server);
    let _ = std::fs::remove_dir_all(&dir);
    result
}
