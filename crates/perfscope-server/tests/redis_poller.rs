//! The Redis poller against a real `redis-server` this test starts on a free port
//! (`cargo xtask test` installs it when missing).

use perfscope_server::redis_poller::RedisPoller;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server when the test ends, however it ends.
struct RedisServer(Child);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_redis() -> (RedisServer, String) {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "64mb",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is not installed: `cargo xtask setup --browser` (or apt-get install -y redis-server) installs it");
    let server = RedisServer(child);
    let url = format!("redis://127.0.0.1:{port}/");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (server, url);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start on port {port}");
}

#[tokio::test]
async fn info_is_read_into_series_with_the_hit_rate_over_each_interval() {
    let (_server, url) = start_redis().await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut poller = RedisPoller::new("sessions", &url).unwrap();

    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("ada")
        .query_async(&mut connection)
        .await
        .unwrap();
    for key in ["user:1", "user:1", "user:1", "user:2"] {
        let _: Option<String> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
    let first: HashMap<String, f64> = poller
        .poll(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.series, s.value))
        .collect();
    assert_eq!(first["redis.sessions.keyspace_hits"], 3.0);
    assert_eq!(first["redis.sessions.keyspace_misses"], 1.0);
    assert_eq!(first["redis.sessions.hit_rate"], 0.75);
    assert_eq!(
        first["redis.sessions.maxmemory_bytes"],
        64.0 * 1024.0 * 1024.0
    );
    assert!(first["redis.sessions.used_memory_bytes"] > 0.0);
    assert_eq!(first["redis.sessions.evicted_keys"], 0.0);
    // The test's connection and the poller's.
    assert_eq!(first["redis.sessions.connected_clients"], 2.0);

    for key in ["user:3", "user:1"] {
        let _: Option<String> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
    let second: HashMap<String, f64> = poller
        .poll(2000)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.series, s.value))
        .collect();
    assert_eq!(second["redis.sessions.keyspace_hits"], 4.0);
    assert_eq!(
        second["redis.sessions.hit_rate"], 0.5,
        "1 hit, 1 miss since the last poll"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_panic() {
    let mut poller =
        RedisPoller::new("gone", &format!("redis://127.0.0.1:{}/", free_port())).unwrap();
    assert!(poller.poll(0).await.is_err());
    assert!(RedisPoller::new("bad", "not a url").is_err());
}
