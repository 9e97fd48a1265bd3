//! A real browser for the portal tests: headless Chromium through Selenium
//! (`tests/py/browser.py`), trusting exactly the test certificate's key. Screenshots go to
//! `target/portal-screenshots/`, kept by CI as artefacts.

use std::path::PathBuf;
use std::process::Stdio;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout};

use serde_json::{json, Value};

use crate::harness::*;

pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: std::io::Lines<BufReader<ChildStdout>>,
    /// `https://127.0.0.1:PORT`
    pub origin: String,
}

/// base64 SHA-256 of the test certificate's public key, for Chromium's SPKI allow-list.
pub fn spki_hash() -> String {
    let cert = certs().join("server.pem");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | base64",
            cert.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let d = target.join("portal-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Browser {
    /// A fresh browser (no cookies) whose Accept-Language is `lang`, if given.
    pub async fn start(origin: &str, lang: Option<&str>) -> Browser {
        assert!(
            std::path::Path::new("/usr/bin/chromedriver").exists(),
            "chromium-driver missing: run scripts/install-test-deps.sh"
        );
        let mut cmd = std::process::Command::new(python());
        cmd.arg(repo().join("tests/py/browser.py"))
            .args(["--spki-hash", &spki_hash()])
            .env("SE_OFFLINE", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(l) = lang {
            cmd.args(["--lang", l]);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut b = Browser {
            child,
            stdin,
            stdout,
            origin: origin.to_owned(),
        };
        let ready = b.read().await;
        assert_eq!(ready["ready"], true, "{ready}");
        b
    }

    /// One answer; the wait blocks this worker only (the gateway runs on the other).
    async fn read(&mut self) -> Value {
        let line = tokio::task::block_in_place(|| self.stdout.next())
            .expect("the browser is running")
            .unwrap();
        serde_json::from_str(&line).unwrap()
    }

    pub async fn cmd(&mut self, c: Value) -> Value {
        let mut line = c.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
        let v = self.read().await;
        assert_eq!(v["ok"], true, "{c} -> {v}");
        v
    }

    /// Opens a path on the portal (or a full URL).
    pub async fn open(&mut self, path: &str) -> Value {
        let url = if path.starts_with('/') {
            format!("{}{path}", self.origin)
        } else {
            path.to_owned()
        };
        self.cmd(json!({"op": "get", "url": url})).await
    }

    pub async fn fill(&mut self, id: &str, value: &str) {
        self.cmd(json!({"op": "fill", "id": id, "value": value}))
            .await;
    }

    pub async fn click(&mut self, id: &str) -> Value {
        self.cmd(json!({"op": "click", "id": id})).await
    }

    pub async fn text(&mut self, id: &str) -> String {
        let v = self.cmd(json!({"op": "text", "id": id})).await;
        v["text"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn exists(&mut self, id: &str) -> bool {
        self.cmd(json!({"op": "exists", "id": id})).await["exists"] == true
    }

    pub async fn html(&mut self) -> String {
        let v = self.cmd(json!({"op": "page"})).await;
        v["html"].as_str().unwrap_or_default().to_owned()
    }

    /// The value of cookie `name` (HttpOnly ones too: WebDriver sees them).
    pub async fn cookie(&mut self, name: &str) -> Option<Value> {
        let v = self.cmd(json!({"op": "cookies"})).await;
        v["cookies"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
    }

    pub async fn screenshot(&mut self, name: &str) {
        let path = screenshot_dir().join(format!("{name}.png"));
        self.cmd(json!({"op": "screenshot", "path": path.display().to_string()}))
            .await;
    }

    pub async fn sign_in(&mut self, user: &str, password: &str) -> Value {
        self.fill("user", user).await;
        self.fill("password", password).await;
        self.click("signin").await
    }

    pub async fn quit(mut self) {
        let _ = self.stdin.write_all(b"{\"op\":\"quit\"}\n");
        let _ = self.stdin.flush();
        let _ = tokio::task::block_in_place(|| self.child.wait());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test must not leave Chromium behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
