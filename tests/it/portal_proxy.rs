//! The portal behind a real reverse proxy: nginx terminates TLS with the test certificate and
//! forwards to the portal's `tls = "none"` listener on loopback, appending the client's
//! address to `X-Forwarded-For` as nginx is usually set up. Clients connect to nginx from
//! distinct loopback addresses (127.0.0.2, .3, ...), so "which client" is observable: the
//! authentication log and the sign-in rate limit must see that address, never nginx's own and
//! never what a client wrote into the header itself.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mfagate::store::model::AuthResult;

use crate::harness::*;
use crate::portal::PASSWORD;
use crate::portal_http::{form_page, value_of};

const PRIMARY: &str =
    "[primary]\nbackend = \"local\"\n[primary.local]\nhash_memory_kib = 64\nhash_iterations = 1\n";

/// nginx as a TLS-terminating reverse proxy in front of `upstream`, run in the foreground
/// with everything (config, pid, logs, temp files) in its own directory.
struct Nginx {
    child: Child,
    dir: PathBuf,
    origin: String,
}

impl Nginx {
    /// The port is found by binding port 0 and letting go, so another test may take it
    /// before nginx does: then nginx is started again on another.
    async fn start(upstream: SocketAddr) -> Nginx {
        for attempt in 0..3 {
            match Self::try_start(upstream).await {
                Ok(n) => return n,
                Err(e) if attempt < 2 && e.contains("Address already in use") => continue,
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!()
    }

    async fn try_start(upstream: SocketAddr) -> Result<Nginx, String> {
        let bin = "/usr/sbin/nginx";
        assert!(
            std::path::Path::new(bin).exists(),
            "nginx missing: run scripts/install-test-deps.sh (nginx-light)"
        );
        let dir = temp_dir("nginx");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = certs();
        // As root nginx would run its worker as nobody, which could not use the temp paths
        // below; this is a test peer, not a deployment.
        let user = if running_as_root() { "user root;" } else { "" };
        let d = dir.display();
        let conf = format!(
            r#"{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"#,
            cert = c.join("server.pem").display(),
            key = c.join("server.key").display(),
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut n = Nginx {
            child,
            dir,
            origin: format!("https://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if let Ok(Some(st)) = n.child.try_wait() {
                return Err(format!("nginx exited: {st}: {}", n.error_log()));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(n);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("nginx did not listen on {port}: {}", n.error_log()))
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A browser-like client whose connections come from `127.0.0.{last}`.
fn client_from(last: u8) -> reqwest::Client {
    let ca = std::fs::read(certs().join("ca.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .unwrap()
}

/// The first step of a sign-in through `origin`, with `spoof` (if any) as the client's own
/// `X-Forwarded-For`: the status, the page, and the form cookie.
async fn first_step(
    c: &reqwest::Client,
    origin: &str,
    user: &str,
    password: &str,
    spoof: Option<&str>,
) -> (u16, String, String) {
    let (status, cookie, html) = form_page(c.get(format!("{origin}/"))).await;
    assert_eq!(status, 200, "the sign-in page through nginx");
    let mut post = c
        .post(format!("{origin}/signin"))
        .header("Cookie", &cookie)
        .form(&[
            ("csrf", value_of(&html, "csrf")),
            ("user", user.into()),
            ("password", password.into()),
        ]);
    if let Some(s) = spoof {
        post = post.header("X-Forwarded-For", s);
    }
    let r = post.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap(), cookie)
}

fn records_of(gw: &Gateway, user: &str) -> Vec<(String, AuthResult)> {
    gw.auth_log()
        .into_iter()
        .filter(|r| r.client_name == "portal" && r.user == user)
        .map(|r| (r.client_ip, r.result))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_the_client_is_the_address_nginx_saw_not_one_it_was_told() {
    let portal = "[portal]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://mfa.example.test\"\n\
                  tls = \"none\"\n";
    let gw = start_config("otp_mode = \"challenge\"", "", PRIMARY, portal).await;
    let nginx = Nginx::start(gw.portal_addr.unwrap()).await;
    let o = nginx.origin.clone();
    let seed = gw.add_user("pia", PASSWORD).await;
    gw.add_user("pat", PASSWORD).await;

    // A whole sign-in through nginx from 127.0.0.2: password, code, then the session works
    // (its __Host- cookie is Secure, which holds because the browser's side is HTTPS).
    let c = client_from(2);
    let (status, page, form_cookie) = first_step(&c, &o, "pia", PASSWORD, None).await;
    assert_eq!(status, 200);
    let r = c
        .post(format!("{o}/signin/code"))
        .header("Cookie", &form_cookie)
        .form(&[
            ("csrf", value_of(&page, "csrf")),
            ("user", value_of(&page, "user")),
            ("state", value_of(&page, "state")),
            ("code", gw.code(&seed, 0)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed in through nginx");
    let session = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(session.contains("Secure") && session.starts_with("__Host-"));
    let home = c
        .get(format!("{o}/"))
        .header("Cookie", session.split(';').next().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("id=\"who\""), "the session works: {home}");
    let pia = records_of(&gw, "pia");
    assert!(
        pia.contains(&("127.0.0.2".to_owned(), AuthResult::Accept)),
        "the sign-in is logged from the client's address, not nginx's: {pia:?}"
    );

    // What a client writes into X-Forwarded-For itself is not believed: nginx appends the
    // address it saw, and only that last hop counts.
    let (status, _, _) = first_step(
        &client_from(3),
        &o,
        "pat",
        "wrong",
        Some("203.0.113.7, 198.51.100.9"),
    )
    .await;
    assert_eq!(status, 200);
    let pat = records_of(&gw, "pat");
    assert_eq!(
        pat,
        [("127.0.0.3".to_owned(), AuthResult::Reject)],
        "logged from 127.0.0.3, not a spoofed address"
    );

    // The rate limit is per client behind the proxy: 127.0.0.4 is held however it varies the
    // header, and 127.0.0.5 is not held with it (it would be if nginx's address counted).
    let c4 = client_from(4);
    let mut limited = None;
    for i in 0..25u8 {
        let spoof = format!("192.0.2.{i}");
        let (status, _, _) = first_step(&c4, &o, "nobody", "x", Some(&spoof)).await;
        if status == 429 {
            limited = Some(i);
            break;
        }
    }
    assert!(limited.is_some(), "127.0.0.4 is held by the rate limit");
    let (status, _, _) = first_step(&client_from(5), &o, "nobody", "x", None).await;
    assert_eq!(status, 200, "another client behind the same proxy is not");
    drop(nginx);
    gw.stop().await;
}
