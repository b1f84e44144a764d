//! The real `perfscope serve` binary as a child process on an ephemeral port, killed
//! when the test drops it.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct CollectorProcess {
    pub process: Child,
    /// `http://ADDR`, as the collector announces it on its first stdout line.
    pub base_url: String,
}

/// The admin password every collector these tests start is configured with.
pub const ADMIN_PASSWORD: &str = "process-admin-password";

/// `perfscope serve --listen 127.0.0.1:0` with quiet logs and a known admin password;
/// the caller adds its storage and configuration before [`CollectorProcess::start`].
pub fn serve_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_perfscope"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .env("PERFSCOPE_AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD);
    command
}

impl CollectorProcess {
    pub fn start(mut command: Command) -> CollectorProcess {
        let mut process = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting perfscope");
        let mut stdout = BufReader::new(process.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base_url = line
            .trim()
            .strip_prefix("perfscope listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        // Keep draining so the collector never writes into a closed pipe.
        std::thread::spawn(move || for _ in stdout.lines() {});
        CollectorProcess { process, base_url }
    }

    /// Signs in as the admin; returns the `perfscope_session=…` pair for a `Cookie`
    /// header.
    pub async fn login(&self, http: &reqwest::Client) -> String {
        let response = http
            .post(format!("{}{}", self.base_url, perfscope_model::LOGIN_PATH))
            .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login");
        let cookie = response
            .headers()
            .get("set-cookie")
            .expect("login sets the session cookie")
            .to_str()
            .unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// `GET {base_url}{path}` signed in as the admin, answered as JSON.
    pub async fn get_json(&self, http: &reqwest::Client, path: &str) -> Value {
        let cookie = self.login(http).await;
        http.get(format!("{}{path}", self.base_url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for CollectorProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
