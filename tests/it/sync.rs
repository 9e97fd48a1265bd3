//! Import and sync from the real Samba AD DC: OU and group items, attribute mapping, disabling
//! (never deleting), the `max_disable` guard with `sync approve`, administrator overrides, and
//! dry runs.

use mfagate::admin::Request;
use serde_json::Value;

use crate::harness::*;

use crate::harness::ad_env as env;

/// The test DC as the primary, followed by `sync` (the `[[sync]]` items).
fn primary(sync: &str) -> String {
    let ad = ad_primary(&[env("AD_LDAPS_URL")], false, &env("AD_CA_PEM"));
    format!("{ad}{sync}")
}

/// Runs LDIF through ldapmodify (-a adds) as the domain administrator.
pub async fn ldif(args: &[&str], text: &str) {
    let mut cmd = std::process::Command::new("ldapmodify");
    cmd.env("LDAPTLS_CACERT", env("AD_CA_PEM"))
        .args([
            "-x",
            "-H",
            &env("AD_LDAPS_URL"),
            "-D",
            &env("AD_ADMIN_DN"),
            "-w",
            &env("AD_ADMIN_PASSWORD"),
        ])
        .args(args);
    let (ok, out, err) = run_with_stdin(cmd, Some(text)).await;
    assert!(ok, "ldapmodify failed: {out}{err}\n{text}");
}

async fn set_uac(dn: &str, uac: u32) {
    ldif(&[], &format!("dn: {dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {uac}\n")).await;
}

async fn delete(dn: &str) {
    ldif(&[], &format!("dn: {dn}\nchangetype: delete\n")).await;
}

async fn sync(gw: &Gateway, dry_run: bool) -> Value {
    gw.admin(Request::SyncRun {
        item: None,
        dry_run,
    })
    .await
    .unwrap()
}

fn names(v: &Value, item: usize, k: &str) -> Vec<String> {
    v[item][k]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

fn user(gw: &Gateway, name: &str) -> mfagate::store::model::UserRecord {
    gw.store
        .read(|r| r.user(name))
        .unwrap()
        .unwrap_or_else(|| panic!("{name} not in the store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ou_and_group_items_import_the_right_users_and_phones() {
    let cfg = primary(&format!(
        r#"
[[sync]]
name = "people"
base_dn = "{people}"
interval = "24h"
max_disable = 100

[[sync]]
name = "mfa-group"
group = "{group}"
interval = "24h"
"#,
        people = env("AD_PEOPLE_OU"),
        group = env("AD_GROUP_MFA_USERS"),
    ));
    let gw = start_with_primary("", "", &cfg).await;
    // The daemon runs every item at start-up; wait for that, then run again by hand.
    for _ in 0..100 {
        if gw.store.read(|r| r.user("kate.other")).unwrap().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let v = sync(&gw, false).await;
    assert_eq!(v[0]["seen"], 10, "{v}");
    assert_eq!(v[1]["seen"], 3, "nested members of mfa-users: {v}");
    let alice = user(&gw, "alice");
    assert_eq!(
        (alice.phone.as_deref(), alice.email.as_deref()),
        (Some("+15550001001"), Some("alice@test.local"))
    );
    assert_eq!(alice.display_name.as_deref(), Some("Alice Anders"));
    assert_eq!(
        user(&gw, "bob.smith").phone.as_deref(),
        Some("+15550001002"),
        "telephoneNumber"
    );
    assert_eq!(
        user(&gw, "carol").phone.as_deref(),
        Some("+15550001003"),
        "otherTelephone"
    );
    assert_eq!(
        user(&gw, "jürgen").display_name.as_deref(),
        Some("Jürgen Groß")
    );
    assert!(
        !user(&gw, "dave.disabled").enabled,
        "disabled in AD, imported disabled"
    );
    // kate.other is outside OU=People, imported through the group item (nested membership).
    let kate = user(&gw, "kate.other");
    assert_eq!(kate.source.as_deref(), Some("mfa-group"));
    assert!(
        gw.store.read(|r| r.user("svc-mfa")).unwrap().is_none(),
        "CN=Users is out of scope"
    );

    // The CLI against the running daemon: a dry run with nothing left to do.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    cmd.args(["sync", "run", "--dry-run", "-c"])
        .arg(&gw.config_path);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("people: 10 seen, 0 to add, 0 updated, 0 disabled, 0 enabled"),
        "{out}"
    );
    assert!(out.contains("(dry run: nothing changed)"), "{out}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_never_delete_max_disable_guard_overrides_and_dry_run() {
    // A private OU with users the test may disable and delete without disturbing other tests.
    let ou = format!("OU=SyncTest{},{}", std::process::id(), env("AD_BASE_DN"));
    ldif(
        &["-a"],
        &format!("dn: {ou}\nobjectClass: organizationalUnit\n"),
    )
    .await;
    let dn = |i: u32| format!("CN=st{i},{ou}");
    for i in 1..=7 {
        // 544 = enabled, no password required (so the account can exist without one).
        ldif(&["-a"], &format!(
            "dn: {}\nobjectClass: user\nsAMAccountName: st{i}-{pid}\nuserAccountControl: 544\nmobile: +1555000{i:04}\nmail: st{i}@test.local\n",
            dn(i), pid = std::process::id()
        ))
        .await;
    }
    let sam = |i: u32| format!("st{i}-{}", std::process::id());
    let cfg = primary(&format!(
        "\n[[sync]]\nname = \"st\"\nbase_dn = \"{ou}\"\ninterval = \"24h\"\nmax_disable = 2\n"
    ));
    let gw = start_with_primary("", "", &cfg).await;
    // Wait for the start-up run, so the runs below are ours alone.
    for _ in 0..100 {
        if gw.store.read(|r| r.user(&sam(7))).unwrap().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(gw.store.read(|r| r.users()).unwrap().len(), 7);

    // An administrator's phone survives the sync; their disable too.
    gw.admin(Request::UserSetPhone {
        name: sam(7),
        phone: "+19990000007".into(),
    })
    .await
    .unwrap();
    gw.admin(Request::UserSetEnabled {
        name: sam(6),
        enabled: false,
    })
    .await
    .unwrap();
    let seed = {
        let v = gw
            .admin(Request::UserEnrollTotp { name: sam(2) })
            .await
            .unwrap();
        v["uri"].as_str().unwrap().to_owned()
    };

    // Disabled in AD, and removed from AD: both disabled here, neither deleted.
    set_uac(&dn(1), 546).await;
    delete(&dn(2)).await;
    let dry = sync(&gw, true).await;
    assert_eq!(names(&dry, 0, "disabled"), [sam(1), sam(2)]);
    assert!(user(&gw, &sam(1)).enabled, "a dry run changes nothing");
    let v = sync(&gw, false).await;
    assert_eq!(names(&v, 0, "disabled"), [sam(1), sam(2)], "{v}");
    assert!(!user(&gw, &sam(1)).enabled);
    let gone = user(&gw, &sam(2));
    assert!(
        !gone.enabled && gone.totp.is_some(),
        "kept with its authenticator: {seed}"
    );
    assert_eq!(
        user(&gw, &sam(7)).phone.as_deref(),
        Some("+19990000007"),
        "the administrator's value wins"
    );
    assert!(
        !user(&gw, &sam(6)).enabled,
        "an administrator's disable stands"
    );

    // Three more leave AD: over max_disable = 2, so nothing happens until approved.
    for i in 3..=5 {
        delete(&dn(i)).await;
    }
    let v = sync(&gw, false).await;
    assert_eq!(v[0]["applied"], false, "{v}");
    assert!(
        v[0]["blocked"]
            .as_str()
            .unwrap()
            .contains("sync approve st"),
        "{v}"
    );
    assert!(user(&gw, &sam(3)).enabled, "blocked: nothing changed");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"));
    cmd.args(["sync", "run", "-c"]).arg(&gw.config_path);
    let (ok, out, _) = run(cmd).await;
    assert!(
        !ok && out.contains("BLOCKED: would disable 3 users"),
        "{out}"
    );
    gw.admin(Request::SyncApprove { item: "st".into() })
        .await
        .unwrap();
    let v = sync(&gw, false).await;
    assert_eq!(names(&v, 0, "disabled"), [sam(3), sam(4), sam(5)], "{v}");
    // The approval was for one run.
    assert!(gw
        .admin(Request::SyncApprove { item: "st".into() })
        .await
        .is_err());

    // Enabled again in AD: the sync enables what it disabled.
    set_uac(&dn(1), 544).await;
    let v = sync(&gw, false).await;
    assert_eq!(names(&v, 0, "enabled"), [sam(1)], "{v}");
    assert!(user(&gw, &sam(1)).enabled);
    assert!(
        !user(&gw, &sam(6)).enabled,
        "still the administrator's decision"
    );
    gw.stop().await;

    // With directory_wins the directory's phone replaces the administrator's.
    let cfg = primary(&format!("\n[[sync]]\nname = \"st\"\nbase_dn = \"{ou}\"\ninterval = \"24h\"\ndirectory_wins = true\n"));
    let gw2 = start_with_primary("", "", &cfg).await;
    gw2.admin(Request::UserAdd {
        name: sam(7),
        password: None,
        method: None,
        phone: None,
        provider: None,
    })
    .await
    .unwrap();
    gw2.admin(Request::UserSetPhone {
        name: sam(7),
        phone: "+19990000007".into(),
    })
    .await
    .unwrap();
    sync(&gw2, false).await;
    assert_eq!(user(&gw2, &sam(7)).phone.as_deref(), Some("+15550000007"));
    gw2.stop().await;

    for i in [1, 6, 7] {
        delete(&dn(i)).await;
    }
    delete(&ou).await;
}
