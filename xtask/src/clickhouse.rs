//! A private ClickHouse server for the storage tests: Debian's package installed when
//! missing, started as the current user with its own configuration, data directory and
//! ports under `target/clickhouse`, and stopped when the tests are done.

use crate::toolchain::{apt_install, which};
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; dropping it stops the server.
pub struct ClickHouse {
    child: Child,
    /// Its HTTP interface, `http://127.0.0.1:<port>`, without a database.
    pub url: String,
    pub server_bin: PathBuf,
}

/// Installs `clickhouse-server` and `clickhouse-client` from Debian unless both exist.
pub fn ensure_installed() -> Result<PathBuf> {
    if server_bin().is_none() || which("clickhouse-client").is_none() {
        apt_install(&["clickhouse-server", "clickhouse-client"])?;
    }
    server_bin().context("clickhouse-server is not on PATH or in /usr/sbin after installing it")
}

fn server_bin() -> Option<PathBuf> {
    which("clickhouse-server").or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/clickhouse-server");
        sbin.is_file().then_some(sbin)
    })
}

/// Starts a fresh server (previous test data is wiped) and waits until it answers.
pub fn start(root: &Path) -> Result<ClickHouse> {
    start_in(&root.join("target/clickhouse"))
}

/// Starts a fresh server with its data in `dir` (wiped first), so a benchmark's server
/// never shares data or ports with the tests'.
pub fn start_in(dir: &Path) -> Result<ClickHouse> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("wiping {}", dir.display()))?;
    }
    start_on(dir, Logging::Off)
}

/// Whether the server records every statement in `system.query_log`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    Off,
    Queries,
}

/// Starts a server on the data an earlier one left in `dir` (or on an empty one), so a
/// benchmark can query a database it generated before.
pub fn start_on(dir: &Path, logging: Logging) -> Result<ClickHouse> {
    let server_bin = ensure_installed()?;
    let dir = dir.to_path_buf();
    for sub in ["data", "tmp", "user_files", "log"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let http_port = free_port()?;
    let tcp_port = free_port()?;
    let config = dir.join("config.xml");
    std::fs::write(&config, server_config(&dir, http_port, tcp_port))?;
    std::fs::write(dir.join("users.xml"), users(logging))?;
    eprintln!(
        "$ {} --config-file={}",
        server_bin.display(),
        config.display()
    );
    let log = std::fs::File::create(dir.join("log/stdout.log"))?;
    let child = Command::new(&server_bin)
        .arg(format!("--config-file={}", config.display()))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", server_bin.display()))?;
    let mut server = ClickHouse {
        child,
        url: format!("http://127.0.0.1:{http_port}"),
        server_bin,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answers_ping(http_port) {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "clickhouse-server exited with {status} before answering; see {}",
                dir.join("log").display()
            );
        }
        if Instant::now() > deadline {
            bail!("clickhouse-server did not answer on port {http_port} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("ClickHouse for the tests at {}", server.url);
    Ok(server)
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.0 200")
}

fn server_config(dir: &Path, http_port: u16, tcp_port: u16) -> String {
    let dir = dir.display();
    format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{dir}/log/server.log</log>
        <errorlog>{dir}/log/server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/tmp/</tmp_path>
    <user_files_path>{dir}/user_files/</user_files_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
"#
    )
}

fn users(logging: Logging) -> String {
    let log_queries = u8::from(logging == Logging::Queries);
    format!(
        r#"<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <log_queries>{log_queries}</log_queries>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"#
    )
}
