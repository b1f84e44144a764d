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

/// `perfscope serve --listen 127.0.0.1:0` with quiet logs; the caller adds its storage
/// and configuration before [`CollectorProcess::start`].
pub fn serve_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_perfscope"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn");
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

    /// `GET {base_url}{path}`, answered as JSON.
    pub async fn get_json(&self, http: &reqwest::Client, path: &str) -> Value {
        http.get(format!("{}{path}", self.base_url))
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
