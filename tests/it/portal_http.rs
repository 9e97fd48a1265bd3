//! The portal and the invitations without a browser: refusals that look alike whatever the
//! reason, the sign-in rate limit, what `report auth` shows, an SMTP outage (reported per
//! user, owed, sent by the sweep once the server is back), `--dry-run`, and contact details
//! that could inject mail headers.

use mfagate::admin::Request;
use mfagate::clock::Clock;
use mfagate::config::Method;
use mfagate::store::model::{user_key, FactorFailures};
use serde_json::Value;

use crate::email::SmtpSink;
use crate::harness::*;
use crate::portal::{
    add_unenrolled, invite, link_path, origin, sections, smtp, wait_mail, PASSWORD,
};

const PRIMARY: &str =
    "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";

async fn start(smtp_port: u16) -> Gateway {
    start_config(
        "otp_mode = \"challenge\"",
        "",
        PRIMARY,
        &sections(smtp_port, ""),
    )
    .await
}

pub fn client() -> reqwest::Client {
    let ca = std::fs::read(certs().join("ca.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A sign-in as a browser posts it: the form token from the sign-in page (and its cookie),
/// then the form. Returns the status and the page with its form token blanked out.
async fn sign_in(gw: &Gateway, user: &str, password: &str, link: Option<&str>) -> (u16, String) {
    sign_in_to(&origin(gw), user, password, link).await
}

/// [`sign_in`] at the portal on `o` (`https://127.0.0.1:PORT`).
pub async fn sign_in_to(o: &str, user: &str, password: &str, link: Option<&str>) -> (u16, String) {
    let (status, body, _, csrf) = sign_in_raw(o, user, password, link).await;
    (status, body.replace(&csrf, "TOKEN"))
}

/// The first step of a sign-in: the status, the page, the form cookie and the form token.
pub async fn sign_in_raw(
    o: &str,
    user: &str,
    password: &str,
    link: Option<&str>,
) -> (u16, String, String, String) {
    let c = client();
    let (_, cookie, html) = form_page(c.get(format!("{o}{}", link.unwrap_or("/")))).await;
    let csrf = value_of(&html, "csrf");
    let mut form = vec![
        ("csrf", csrf.clone()),
        ("user", user.into()),
        ("password", password.into()),
    ];
    if link.is_some() {
        form.push(("invitation", value_of(&html, "invitation")));
    }
    let r = c
        .post(format!("{o}/signin"))
        .header("Cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap(), cookie, csrf)
}

/// A page with a form, as a browser gets it: the status, the form cookie (`name=value`, as
/// it goes back in a Cookie header) and the HTML.
pub async fn form_page(get: reqwest::RequestBuilder) -> (u16, String, String) {
    let page = get.send().await.unwrap();
    let status = page.status().as_u16();
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    (status, cookie, page.text().await.unwrap())
}

/// The value of the hidden input `name` in a page.
pub fn value_of(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_look_alike_the_rate_limit_holds_and_report_auth_shows_the_portal() {
    let smtp = smtp();
    let gw = start(smtp.port).await;
    add_unenrolled(&gw, "ann", "Ann").await;
    let seed = gw.add_user("bob", PASSWORD).await;
    assert_eq!(invite(&gw, "ann").await["outcome"], "sent");
    let link = link_path(&wait_mail(&smtp, 1).await);

    // The link signs Ann in once.
    let (status, _) = sign_in(&gw, "ann", PASSWORD, Some(&link)).await;
    assert_eq!(status, 303, "signed in");
    // Bob's factor is locked; his password is right.
    let key = user_key("bob");
    let locked = FactorFailures {
        count: 0,
        locked_until_ms: u64::MAX,
        last_ms: gw.clock.now_ms(),
        reset_ms: 0,
    };
    gw.store
        .write(move |tx| tx.set_failures(&key, &locked))
        .await
        .unwrap();

    let mut pages = Vec::new();
    for (user, pw, l) in [
        ("nobody", PASSWORD, Some(link.as_str())),
        ("ann", "wrong-password", Some(link.as_str())),
        ("ann", PASSWORD, Some(link.as_str())),
        ("bob", PASSWORD, Some(link.as_str())),
    ] {
        let (status, body) = sign_in(&gw, user, pw, l).await;
        assert_eq!(status, 200, "{user}");
        pages.push(body.replace(&format!("value=\"{user}\""), "value=\"USER\""));
    }
    for p in &pages[1..] {
        assert_eq!(
            p, &pages[0],
            "unknown user, wrong password, used link, locked account"
        );
    }
    let _ = seed;

    // At most 20 sign-in steps a minute from one address.
    let mut limited = None;
    for i in 0..25 {
        let (status, _) = sign_in(&gw, "nobody", "x", None).await;
        if status == 429 {
            limited = Some(i);
            break;
        }
    }
    assert!(
        limited.is_some_and(|i| i <= 16),
        "limited after 20 in the minute: {limited:?}"
    );
    gw.clock.advance_ms(60_000);
    assert_eq!(
        sign_in(&gw, "nobody", "x", None).await.0,
        200,
        "a minute later"
    );

    // `report auth` shows the portal's decisions with their reasons.
    let v = gw
        .admin(Request::ReportAuth {
            since_ms: 0,
            limit: 1000,
        })
        .await
        .unwrap();
    let portal: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["client_name"] == "portal")
        .collect();
    let reasons: Vec<&str> = portal
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    for want in [
        "portal: signed in with the password and the invitation link",
        "portal: no valid invitation link (missing, expired or used)",
        "second factor locked",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(want)),
            "{want} in {reasons:?}"
        );
    }
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["client_name"] == "invitation" && r["result"] == "event"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_is_reported_per_user_and_the_sweep_sends_later() {
    // A port with nothing on it yet: the mail server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = start(port).await;
    add_unenrolled(&gw, "uma", "Uma").await;
    add_unenrolled(&gw, "vic", "Vic").await;
    gw.add_user("wes", PASSWORD).await;
    let not_enrolled = |dry_run| Request::UserInvite {
        names: vec![],
        not_enrolled: true,
        dry_run,
    };

    let v = gw.admin(not_enrolled(true)).await.unwrap();
    let mut who: Vec<(String, String)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user"].as_str().unwrap().into(),
                r["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    who.sort();
    assert_eq!(
        who,
        [
            ("uma".into(), "would_send".into()),
            ("vic".into(), "would_send".into())
        ],
        "wes has a factor"
    );
    assert!(gw
        .store
        .read(|r| r.user(&user_key("uma")))
        .unwrap()
        .unwrap()
        .invitation
        .is_none());

    let v = gw.admin(not_enrolled(false)).await.unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["outcome"], "failed", "{r}");
        assert_eq!(r["retry"], true, "{r}");
    }
    for u in ["uma", "vic"] {
        let rec = gw.store.read(|r| r.user(&user_key(u))).unwrap().unwrap();
        assert!(rec.invite_pending, "{u} is owed an invitation");
        assert!(
            rec.invited_ms.is_none(),
            "the interval does not hold up the retry"
        );
    }
    assert!(gw
        .auth_log()
        .iter()
        .any(|r| r.client_name == "invitation" && r.reason.contains("not sent, will retry")));

    // The server is back: the sweep sends both, once.
    let smtp = SmtpSink::starttls_on(certs(), &[], port);
    let inviter = mfagate::invite::Inviter::new(
        gw.cfg.clone(),
        gw.store.clone(),
        mfagate::cluster::Directory::new(gw.store.clone(), None).unwrap(),
        gw.clock.clone(),
    )
    .unwrap();
    let swept = inviter.sweep().await.unwrap();
    assert_eq!(swept.len(), 2, "{swept:?}");
    let a = wait_mail(&smtp, 2).await;
    assert!(a["body"].as_str().unwrap().contains("/invite/"));
    assert!(
        inviter.sweep().await.unwrap().is_empty(),
        "nothing owed any more"
    );
    for u in ["uma", "vic"] {
        let rec = gw.store.read(|r| r.user(&user_key(u))).unwrap().unwrap();
        assert!(!rec.invite_pending && rec.invited_ms.is_some());
    }
    assert_eq!(
        invite(&gw, "uma").await["outcome"],
        "skipped",
        "within the interval"
    );
    gw.clock.advance_ms(24 * 3_600_000);
    assert_eq!(invite(&gw, "uma").await["outcome"], "sent", "after it");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_details_that_would_inject_mail_headers_are_refused() {
    let gw = start(25).await;
    add_unenrolled(&gw, "xan", "Xan").await;
    for (email, display) in [
        (Some("xan@example.test\r\nBcc: evil@example.test"), None),
        (Some("xan@example.test, evil@example.test"), None),
        (None, Some("Xan\r\nBcc: evil@example.test")),
    ] {
        let r = gw
            .admin(Request::UserSetContact {
                name: "xan".into(),
                email: email.map(str::to_owned),
                display_name: display.map(str::to_owned),
                language: None,
            })
            .await;
        assert!(r.is_err(), "{email:?} {display:?} refused");
    }
    let r = gw
        .admin(Request::UserSet {
            name: "xan".into(),
            method: Some(Method::Totp),
            phone: Some("+4670\r\nBcc: evil@example.test".into()),
            provider: None,
        })
        .await;
    assert!(r.is_err(), "a phone number with a line break is refused");
    let language = |l: &str| Request::UserSetContact {
        name: "xan".into(),
        email: None,
        display_name: None,
        language: Some(l.into()),
    };
    assert!(
        gw.admin(language("de")).await.is_err(),
        "mails are in en, sv or nl"
    );
    gw.admin(language("sv-SE")).await.unwrap();
    let rec = gw
        .store
        .read(|r| r.user(&user_key("xan")))
        .unwrap()
        .unwrap();
    assert_eq!(rec.email.as_deref(), Some("xan@example.test"));
    assert_eq!(rec.language.as_deref(), Some("sv"));
    assert_eq!(rec.display_name.as_deref(), Some("Xan"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_lost_their_phone_signs_in_once_with_a_bypass_and_a_new_link() {
    let smtp = smtp();
    let gw = start(smtp.port).await;
    gw.add_user("lia", PASSWORD).await;
    gw.admin(Request::UserSetContact {
        name: "lia".into(),
        email: Some("lia@example.test".into()),
        display_name: None,
        language: None,
    })
    .await
    .unwrap();
    assert_eq!(invite(&gw, "lia").await["outcome"], "sent");
    let link = link_path(&wait_mail(&smtp, 1).await);
    // The link alone does not stand in for her factor: the code is asked.
    let (status, page) = sign_in(&gw, "lia", PASSWORD, Some(&link)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("name=\"state\""),
        "the current factor is asked: {page}"
    );
    // The helpdesk grants a bypass: with the link, it signs her in once, to enrol anew.
    gw.admin(Request::UserBypass {
        name: "lia".into(),
        for_ms: 3_600_000,
    })
    .await
    .unwrap();
    let (status, _) = sign_in(&gw, "lia", PASSWORD, Some(&link)).await;
    assert_eq!(status, 303, "signed in");
    let u = gw
        .store
        .read(|r| r.user(&user_key("lia")))
        .unwrap()
        .unwrap();
    assert!(
        u.bypass_until_ms.is_none() && u.invitation.is_none(),
        "both used up"
    );
    let (status, page) = sign_in(&gw, "lia", PASSWORD, Some(&link)).await;
    assert!(
        status == 200 && page.contains("name=\"state\""),
        "once only"
    );
    gw.stop().await;
}

/// The second step of a sign-in whose first step (`page`) asked for the factor.
pub async fn answer(gw: &Gateway, cookie: &str, page: &str, code: &str) -> (u16, String) {
    let mut form = vec![
        ("csrf", value_of(page, "csrf")),
        ("user", value_of(page, "user")),
        ("state", value_of(page, "state")),
        ("code", code.to_owned()),
    ];
    if page.contains("name=\"invitation\"") {
        form.push(("invitation", value_of(page, "invitation")));
    }
    let r = client()
        .post(format!("{}/signin/code", origin(gw)))
        .header("Cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A push user signs in at the portal by approving on the phone (Duo's Auth API, the fake
/// of `crate::duo`); a denied push refuses the sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_user_signs_in_by_approving_and_a_denied_push_refuses() {
    use crate::duo::{duo_factor_tail, DuoFake};
    let fake = DuoFake::start(&serde_json::json!({"users": {
        "pat": {"preauth": "auth", "push": "allow", "delay_ms": 300},
        "ron": {"preauth": "auth", "push": "deny", "delay_ms": 200}
    }, "fault": null}));
    let tail = format!("{}{}", duo_factor_tail(&fake, 5), sections(25, ""));
    let gw = start_config("otp_mode = \"challenge\"", "", PRIMARY, &tail).await;
    for u in ["pat", "ron"] {
        gw.admin(Request::UserAdd {
            name: u.into(),
            password: Some(PASSWORD.into()),
            method: Some(Method::Push),
            phone: None,
            provider: None,
        })
        .await
        .unwrap();
    }
    for (user, want) in [("pat", 303), ("ron", 200)] {
        let c = client();
        let (_, cookie, html) = form_page(c.get(format!("{}/", origin(&gw)))).await;
        let r = c
            .post(format!("{}/signin", origin(&gw)))
            .header("Cookie", &cookie)
            .form(&[
                ("csrf", value_of(&html, "csrf").as_str()),
                ("user", user),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        let asked = r.text().await.unwrap();
        assert!(
            asked.contains("value=\"push\""),
            "the page waits for the phone: {asked}"
        );
        let (status, page) = answer(&gw, &cookie, &asked, "push").await;
        assert_eq!(status, want, "{user}: {page}");
        if want == 200 {
            assert!(
                page.contains("id=\"error\""),
                "a denied push refuses the sign-in"
            );
        }
    }
    assert_eq!(fake.factors("pat"), ["push"]);
    gw.stop().await;
}

/// `require_invitation = true`: a user who has a factor needs the link too, and the factor
/// still; the link is spent by the sign-in that used it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_invitation_asks_for_the_link_and_the_factor() {
    let smtp = smtp();
    let tail = sections(smtp.port, "require_invitation = true");
    let gw = start_config("otp_mode = \"challenge\"", "", PRIMARY, &tail).await;
    let seed = gw.add_user("max", PASSWORD).await;
    gw.admin(Request::UserSetContact {
        name: "max".into(),
        email: Some("max@example.test".into()),
        display_name: None,
        language: None,
    })
    .await
    .unwrap();
    let (status, page) = sign_in(&gw, "max", PASSWORD, None).await;
    assert!(
        status == 200 && page.contains("id=\"error\""),
        "no link: refused"
    );
    assert_eq!(invite(&gw, "max").await["outcome"], "sent");
    let link = link_path(&wait_mail(&smtp, 1).await);

    // The link and the password: the code is asked; with it, signed in.
    let c = client();
    let o = origin(&gw);
    let (_, cookie, html) = form_page(c.get(format!("{o}{link}"))).await;
    let r = c
        .post(format!("{o}/signin"))
        .header("Cookie", &cookie)
        .form(&[
            ("csrf", value_of(&html, "csrf")),
            ("user", "max".into()),
            ("password", PASSWORD.into()),
            ("invitation", value_of(&html, "invitation")),
        ])
        .send()
        .await
        .unwrap();
    let asked = r.text().await.unwrap();
    assert!(
        asked.contains("name=\"state\""),
        "the factor is still asked: {asked}"
    );
    // The answer without the link (a client dropping the field) is refused, code unspent.
    let i = asked
        .find("<input type=\"hidden\" name=\"invitation\"")
        .unwrap();
    let j = i + asked[i..].find('>').unwrap() + 1;
    let dropped = format!("{}{}", &asked[..i], &asked[j..]);
    let (status, _) = answer(&gw, &cookie, &dropped, &gw.code(&seed, 0)).await;
    assert_eq!(status, 200, "refused without the link");
    let (status, _) = answer(&gw, &cookie, &asked, &gw.code(&seed, 0)).await;
    assert_eq!(status, 303, "signed in");
    let u = gw
        .store
        .read(|r| r.user(&user_key("max")))
        .unwrap()
        .unwrap();
    assert!(u.invitation.is_none(), "the link is spent");
    gw.clock.advance_ms(30_000);
    let (status, page) = sign_in(&gw, "max", PASSWORD, Some(&link)).await;
    assert!(
        status == 200 && page.contains("id=\"error\""),
        "a spent link: refused"
    );
    gw.stop().await;
}

/// A sign-in with the invitation `link` from a browser whose Accept-Language is English and
/// that may already hold a language chosen on the page: the Set-Cookie headers of the answer,
/// and the home page the browser is sent to, with the cookies it now has.
async fn sign_in_in_english(
    gw: &Gateway,
    user: &str,
    link: &str,
    chosen: Option<&str>,
) -> (Vec<String>, String) {
    let o = origin(gw);
    let c = client();
    let get = c
        .get(format!("{o}{link}"))
        .header("Accept-Language", "en-GB,en;q=0.9");
    let (_, form_cookie, html) = form_page(get).await;
    let mut jar = vec![form_cookie];
    if let Some(l) = chosen {
        jar.push(format!("__Host-mfagate-lang={l}"));
    }
    let r = c
        .post(format!("{o}/signin"))
        .header("Accept-Language", "en-GB,en;q=0.9")
        .header("Cookie", jar.join("; "))
        .form(&[
            ("csrf", value_of(&html, "csrf")),
            ("user", user.into()),
            ("password", PASSWORD.into()),
            ("invitation", value_of(&html, "invitation")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{user} signed in");
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    for c in &set {
        let (pair, _) = c.split_once(';').unwrap();
        if !pair.ends_with('=') && !pair.starts_with("__Host-mfagate-form") {
            jar.retain(|old| old.split('=').next() != pair.split('=').next());
            jar.push(pair.to_owned());
        }
    }
    let home = c
        .get(format!("{o}/"))
        .header("Accept-Language", "en-GB,en;q=0.9")
        .header("Cookie", jar.join("; "))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (set, home)
}

/// Once signed in, the portal speaks the user's own language (the one their mails are in),
/// whatever the browser asks for, for that browser session only; a language picked on the
/// page before signing in stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_user_gets_the_portal_in_their_own_language_unless_they_picked_one() {
    let smtp = smtp();
    let gw = start(smtp.port).await;
    for name in ["siv", "sara", "eve"] {
        add_unenrolled(&gw, name, name).await;
    }
    for name in ["siv", "sara"] {
        gw.admin(Request::UserSetContact {
            name: name.into(),
            email: None,
            display_name: None,
            language: Some("sv-SE".into()),
        })
        .await
        .unwrap();
    }
    let mut links = Vec::new();
    for (i, name) in ["siv", "sara", "eve"].iter().enumerate() {
        assert_eq!(invite(&gw, name).await["outcome"], "sent");
        links.push(link_path(&wait_mail(&smtp, i + 1).await));
    }

    let (set, home) = sign_in_in_english(&gw, "siv", &links[0], None).await;
    let lang = set
        .iter()
        .find(|c| c.starts_with("__Host-mfagate-lang="))
        .unwrap_or_else(|| panic!("a language cookie: {set:?}"));
    assert!(lang.starts_with("__Host-mfagate-lang=sv;"), "{lang}");
    assert!(!lang.contains("Max-Age"), "for this session only: {lang}");
    assert!(home.contains("<html lang=\"sv\">"), "{home}");
    assert!(home.contains("id=\"who\""), "signed in: {home}");

    let (set, home) = sign_in_in_english(&gw, "sara", &links[1], Some("nl")).await;
    assert!(
        !set.iter().any(|c| c.starts_with("__Host-mfagate-lang=")),
        "the language she picked is kept: {set:?}"
    );
    assert!(home.contains("<html lang=\"nl\">"), "{home}");

    let (set, home) = sign_in_in_english(&gw, "eve", &links[2], None).await;
    assert!(!set.iter().any(|c| c.starts_with("__Host-mfagate-lang=")));
    assert!(
        home.contains("<html lang=\"en\">"),
        "no language of her own: the browser's"
    );
    gw.stop().await;
}
