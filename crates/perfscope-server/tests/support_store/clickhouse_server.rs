//! A ClickHouse server of the test's own, for tests that stop and start it: the shared
//! one `cargo xtask test` runs must stay up for the others.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct OwnClickHouse {
    bin: PathBuf,
    dir: PathBuf,
    http_port: u16,
    child: Option<Child>,
}

/// `clickhouse-server` as `cargo xtask test` installed it; `None` (after a loud
/// message) under plain `cargo test`.
pub fn server_bin() -> Option<PathBuf> {
    match std::env::var_os("E2E_CLICKHOUSE_SERVER_BIN") {
        Some(bin) if !bin.is_empty() => Some(PathBuf::from(bin)),
        _ => {
            eprintln!(
                "\n!!!!! SKIPPED: E2E_CLICKHOUSE_SERVER_BIN is not set, so the ClickHouse outage \
                 test did not run. `cargo xtask test` installs ClickHouse and sets it. !!!!!\n"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl OwnClickHouse {
    /// Writes a configuration under `dir` and starts the server on fresh ports.
    pub fn start(bin: PathBuf, dir: &Path) -> OwnClickHouse {
        let http_port = free_port();
        let tcp_port = free_port();
        for sub in ["data", "tmp", "log"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let d = dir.display();
        std::fs::write(
            dir.join("config.xml"),
            format!(
                "<?xml version=\"1.0\"?><yandex>\
                 <logger><level>warning</level><log>{d}/log/server.log</log>\
                 <errorlog>{d}/log/server.err.log</errorlog></logger>\
                 <listen_host>127.0.0.1</listen_host><http_port>{http_port}</http_port>\
                 <tcp_port>{tcp_port}</tcp_port><path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path>\
                 <users_config>{d}/users.xml</users_config><default_profile>default</default_profile>\
                 <default_database>default</default_database><timezone>UTC</timezone>\
                 <mark_cache_size>268435456</mark_cache_size></yandex>"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("users.xml"),
            "<?xml version=\"1.0\"?><yandex><profiles><default/></profiles><users><default>\
             <password></password><networks><ip>127.0.0.1</ip></networks>\
             <profile>default</profile><quota>default</quota></default></users>\
             <quotas><default/></quotas></yandex>",
        )
        .unwrap();
        let mut server = OwnClickHouse {
            bin,
            dir: dir.to_path_buf(),
            http_port,
            child: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Starts the server (again) on the same data and waits until it answers.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.join("log/stdout.log")).unwrap();
        let child = Command::new(&self.bin)
            .arg(format!(
                "--config-file={}",
                self.dir.join("config.xml").display()
            ))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting clickhouse-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let agent = ureq::Agent::new_with_defaults();
        loop {
            let ping = agent.get(format!("{}/ping", self.url())).call();
            if ping.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clickhouse-server did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: the harshest way a server goes away.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for OwnClickHouse {
    fn drop(&mut self) {
        self.kill();
    }
}
