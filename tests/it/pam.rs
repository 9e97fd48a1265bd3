//! SSH and sudo logins through PAM: Debian's `pam_radius_auth` (libpam-radius-auth 2.0.0)
//! driven by `pamtester`, against a gateway in this process. The PAM service and the module's
//! server file are written here and removed afterwards (it needs root: /etc/pam.d).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::harness::*;

static N: AtomicU32 = AtomicU32::new(0);

/// A PAM service `mfagate-it-PID-N` whose only auth module is pam_radius_auth pointing at
/// `server` with `secret`.
struct PamService {
    name: String,
    file: PathBuf,
    conf: PathBuf,
}

impl PamService {
    fn new(server: &str, secret: &str) -> PamService {
        let name = format!(
            "mfagate-it-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let conf = std::env::temp_dir().join(format!("{name}.server"));
        // One try, 1 s: a dropped request fails the login in about a second.
        std::fs::write(&conf, format!("{server} {secret} 1\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = PathBuf::from("/etc/pam.d").join(&name);
        std::fs::write(
            &file,
            format!(
                "auth required pam_radius_auth.so conf={} retry=1\naccount required pam_permit.so\n",
                conf.display()
            ),
        )
        .unwrap_or_else(|e| panic!("cannot write {} (the PAM tests need root): {e}", file.display()));
        PamService { name, file, conf }
    }

    /// `pamtester SERVICE USER authenticate` with `answers` typed at its prompts, one a
    /// line; (exit code, everything it printed).
    async fn login(&self, user: &str, answers: &[&str]) -> (i32, String) {
        let mut cmd = std::process::Command::new("pamtester");
        cmd.args(["-v", &self.name, user, "authenticate"]);
        let input: String = answers.iter().map(|a| format!("{a}\n")).collect();
        let out = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("pamtester not found: run scripts/test.sh, which installs it");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_file(&self.conf);
    }
}

const CODE_PROMPT: &str = "Enter the code from your authenticator app: ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pam_radius_challenge_flow_with_a_totp_code() {
    let gw = start("require_message_authenticator = \"auto\"").await;
    let seed = gw.add_user("alice", "alice-password").await;
    let pam = PamService::new(&gw.server(), SECRET);

    // Password, then the code at mfagate's prompt: success (pamtester exits 0).
    let code = gw.code(&seed, 0);
    let (rc, out) = pam.login("alice", &["alice-password", &code]).await;
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Password: "), "{out}");
    assert!(
        out.contains(CODE_PROMPT),
        "the prompt ends in \": \": {out}"
    );
    assert!(out.contains("successfully authenticated"), "{out}");

    // The same code again: a replay, refused.
    let (rc, out) = pam.login("alice", &["alice-password", &code]).await;
    assert_ne!(rc, 0, "{out}");
    assert!(
        out.contains(CODE_PROMPT) && out.contains("Authentication failure"),
        "{out}"
    );

    // A wrong code.
    gw.clock.advance_ms(30_000);
    let wrong = if gw.code(&seed, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (rc, out) = pam.login("alice", &["alice-password", wrong]).await;
    assert_ne!(rc, 0, "{out}");
    assert!(out.contains("Authentication failure"), "{out}");

    // A wrong password: refused before any code is asked for.
    let (rc, out) = pam.login("alice", &["not-alices", "123456"]).await;
    assert_ne!(rc, 0, "{out}");
    assert!(!out.contains(CODE_PROMPT), "{out}");

    // And a fresh code still works afterwards.
    let (rc, out) = pam
        .login("alice", &["alice-password", &gw.code(&seed, 0)])
        .await;
    assert_eq!(rc, 0, "{out}");
    let reasons: Vec<String> = gw.auth_log().into_iter().map(|r| r.reason).collect();
    assert!(reasons.iter().any(|r| r.contains("replay")), "{reasons:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pam_radius_append_mode() {
    let gw = start("require_message_authenticator = \"auto\"\notp_mode = \"append\"").await;
    let seed = gw.add_user("bob", "bob-password").await;
    let pam = PamService::new(&gw.server(), SECRET);
    let code = gw.code(&seed, 0);
    let (rc, out) = pam.login("bob", &[&format!("bob-password,{code}")]).await;
    assert_eq!(rc, 0, "{out}");
    assert!(
        !out.contains(CODE_PROMPT),
        "one prompt only in append mode: {out}"
    );
    // Replayed, wrong code, wrong password, missing code: all refused.
    for (answer, what) in [
        (format!("bob-password,{code}"), "replay"),
        ("bob-password,000001".to_owned(), "wrong code"),
        (format!("not-bobs,{}", gw.code(&seed, 1)), "wrong password"),
        ("bob-password".to_owned(), "no code"),
    ] {
        let (rc, out) = pam.login("bob", &[&answer]).await;
        assert_ne!(rc, 0, "{what}: {out}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pam_radius_is_dropped_once_the_client_signs_and_after_a_restart() {
    let gw = start("require_message_authenticator = \"auto\"").await;
    let seed = gw.add_user("carol", "carol-password").await;
    let pam = PamService::new(&gw.server(), SECRET);
    let (rc, out) = pam
        .login("carol", &["carol-password", &gw.code(&seed, 0)])
        .await;
    assert_eq!(
        rc, 0,
        "unsigned requests pass before the client signs: {out}"
    );
    // The same client (127.0.0.1) sends one signed request: from now on it must sign.
    let r = pap(&gw, "carol", "carol-password", None).await;
    assert_eq!(r["code"], "Access-Challenge", "{r}");
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while !gw
        .store
        .read(|r| r.signing_clients())
        .unwrap()
        .contains(&"vpn".to_owned())
    {
        assert!(
            std::time::Instant::now() < until,
            "the learned requirement is not stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gw.clock.advance_ms(30_000);
    let dropped = |gw: &Gateway| {
        gw.radius
            .stats
            .missing_authenticator
            .load(Ordering::Relaxed)
    };
    let before = dropped(&gw);
    let (rc, out) = pam
        .login("carol", &["carol-password", &gw.code(&seed, 0)])
        .await;
    assert_ne!(
        rc, 0,
        "unsigned requests are dropped once the client signs: {out}"
    );
    assert!(!out.contains(CODE_PROMPT), "{out}");
    assert!(
        dropped(&gw) > before,
        "dropped for lack of Message-Authenticator"
    );
    // A restart remembers it (the restarted gateway listens on a new port).
    let gw = gw.restart().await;
    let pam = PamService::new(&gw.server(), SECRET);
    let (rc, out) = pam
        .login("carol", &["carol-password", &gw.code(&seed, 1)])
        .await;
    assert_ne!(rc, 0, "still dropped after a restart: {out}");
    assert!(dropped(&gw) >= 1, "dropped by the restarted gateway");
    let r = pap(&gw, "carol", "carol-password", None).await;
    assert_eq!(
        r["code"], "Access-Challenge",
        "signed requests still pass: {r}"
    );
    gw.stop().await;
}
