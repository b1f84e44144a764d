//! The real `perfscope` binary on a free loopback port with its own database.

use super::{env_path, free_port};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The dashboard's admin user and password every test collector is started with.
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "e2e-admin-password";

pub struct Collector {
    process: Child,
    pub base_url: String,
    _data: tempfile::TempDir,
}

impl Collector {
    /// With the built-in sites only: `demo` and `perfscope-dashboard`.
    pub fn start() -> Collector {
        Collector::start_with_sites(r#"[{key="demo"}, {key="perfscope-dashboard"}]"#)
    }

    /// `sites` is the `[[sites]]` list as an inline TOML array, e.g.
    /// `[{key="shop", origins=["http://127.0.0.1:4000"]}]`; it replaces the built-in ones.
    pub fn start_with_sites(sites: &str) -> Collector {
        let data = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut process = Command::new(env_path("E2E_COLLECTOR_BIN"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--db")
            .arg(data.path().join("perfscope.db"))
            .arg("--dashboard-dir")
            .arg(env_path("E2E_DASHBOARD_DIR"))
            .arg("--tracker-dir")
            .arg(env_path("E2E_TRACKER_DIR"))
            .env("PERFSCOPE_SITES", sites)
            .env("PERFSCOPE_AUTH__ADMIN_USER", ADMIN_USER)
            .env("PERFSCOPE_AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the perfscope binary");
        // The first stdout line is printed once the socket is bound.
        let stdout = process.stdout.take().expect("piped stdout");
        let mut stdout = BufReader::new(stdout);
        let mut first_line = String::new();
        stdout
            .read_line(&mut first_line)
            .expect("reading the collector's stdout");
        // Keep the pipe open and drained: a closed pipe would make its next print fail.
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                eprintln!("perfscope: {line}");
            }
        });
        let base_url = first_line
            .trim()
            .strip_prefix("perfscope listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from perfscope: {first_line:?}"))
            .to_string();
        Collector {
            process,
            base_url,
            _data: data,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Signs in as the admin, as the dashboard's login page does. Returns the
    /// `perfscope_session=…` pair to send as the `Cookie` header of read API calls,
    /// which answer 401 without it.
    pub async fn login(&self, http: &reqwest::Client) -> String {
        let response = http
            .post(self.url(perfscope_model::LOGIN_PATH))
            .json(&perfscope_model::LoginRequest {
                username: ADMIN_USER.to_string(),
                password: ADMIN_PASSWORD.to_string(),
            })
            .send()
            .await
            .expect("signing in to the collector");
        assert_eq!(response.status(), 200, "signing in as the admin");
        let set_cookie = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .expect("the login answer sets the session cookie")
            .to_str()
            .expect("an ASCII cookie");
        set_cookie
            .split(';')
            .next()
            .expect("a name=value pair")
            .to_string()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.process.try_wait(), Ok(None))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
