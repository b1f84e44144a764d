//! Admin sign-in driven in-process with `oneshot`: every read route refuses without a
//! session, and each branch of login, session, logout, expiry, throttling, the cookie's
//! flags, the metrics token and the dashboard's security headers.

mod common;

use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use common::collector_process::{serve_command, CollectorProcess};
use common::test_app::{session_cookie, Reply, TestApp, ADMIN_PASSWORD};
use perfscope_model::{LOGIN_PATH, LOGOUT_PATH, SESSION_PATH};
use perfscope_server::client_ip::TrustedProxy;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

/// Every route that reads (or steers) what the beacons told us.
const READ_ROUTES: [(&str, &str); 18] = [
    ("GET", "/api/v1/summary?site=demo"),
    ("GET", "/api/v1/sites"),
    ("GET", "/api/v1/endpoints?site=demo"),
    ("GET", "/api/v1/breakdown?site=demo&metric=LCP&by=browser"),
    ("GET", "/api/v1/series?site=demo&metric=LCP"),
    ("GET", "/api/v1/targets?site=demo&metric=LCP"),
    ("GET", "/api/v1/samples?site=demo&metric=LCP"),
    ("GET", "/api/v1/export.csv?site=demo&kind=vitals"),
    ("GET", "/api/v1/stream"),
    ("GET", "/api/v1/cache/stats"),
    ("GET", "/api/v1/monitor/series?name=cache.hit_rate"),
    ("GET", "/api/v1/monitor/names"),
    ("GET", "/api/v1/recommendations?site=demo"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/alerts/history"),
    ("GET", "/api/v1/alerts/rules"),
    ("POST", "/api/v1/alerts/some-rule/acknowledge"),
    ("GET", "/metrics"),
];

fn login_request(username: &str, password: &str) -> Request<Body> {
    Request::post(LOGIN_PATH)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap()
}

/// A request that reached the collector through the proxy at 10.0.0.1 for `client`.
fn via_proxy(mut request: Request<Body>, client: &str) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 443))));
    request
        .headers_mut()
        .insert("x-forwarded-for", client.parse().unwrap());
    request
}

fn behind_proxy() -> TestApp {
    TestApp::with(|config| {
        config.ingest.trusted_proxies =
            vec![TrustedProxy::try_from("10.0.0.1".to_string()).unwrap()];
    })
}

fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

fn error_code(reply: &Reply) -> Value {
    reply.json()["error"]["code"].clone()
}

#[tokio::test]
async fn every_read_route_answers_401_json_without_a_valid_session() {
    let app = TestApp::with(|_| {});
    let cookie = app.login().await;
    for (method, uri) in READ_ROUTES {
        for sent in [
            None,
            Some("perfscope_session=not-a-session"),
            // Well-formed, but no session has this token.
            Some("perfscope_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            let mut request = Request::builder().method(method).uri(uri);
            if let Some(sent) = sent {
                request = request.header(header::COOKIE, sent);
            }
            let reply = app.send(request.body(Body::empty()).unwrap()).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {sent:?}"
            );
            assert_eq!(
                error_code(&reply),
                "unauthorized",
                "{method} {uri}: {}",
                reply.text()
            );
            assert!(reply.content_type().starts_with("application/json"));
        }
        if method == "GET" && uri != "/api/v1/stream" {
            let reply = app.send(get(uri, Some(&cookie))).await;
            assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
        }
    }
    // Ingest keeps its site keys: no session needed.
    let batch = json!({"site": "demo", "page_view": "pv", "seq": 0, "page": "/",
        "vitals": [{"id": "v1", "ts": perfscope_server::clock::now_ms(), "name": "LCP", "value": 900.0}]});
    let reply = app
        .send(
            Request::post("/api/v1/ingest")
                .body(Body::from(batch.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_the_session_answers() {
    let app = TestApp::with(|_| {});
    let reply = app.send(login_request("admin", ADMIN_PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let info = reply.json();
    assert_eq!(info["username"], "admin");
    let expires_at = info["expires_at"].as_i64().unwrap();
    let now = perfscope_server::clock::now_ms();
    assert!((now + 12 * 3_600_000 - expires_at).abs() < 60_000, "{info}");
    let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let token = session_cookie(&reply.headers).unwrap();
    assert_eq!(token.len(), "perfscope_session=".len() + 43);

    let reply = app.send(get(SESSION_PATH, Some(&token))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), info);
    // Cookies of other applications on the same host do not confuse it.
    let reply = app
        .send(get(
            "/api/v1/sites",
            Some(&format!("theme=dark; {token}; x=1")),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    let reply = app.send(get(SESSION_PATH, None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&reply), "unauthorized");
}

#[tokio::test]
async fn wrong_credentials_and_bad_bodies_are_refused_with_json() {
    let app = TestApp::with(|_| {});
    for (username, password) in [("admin", "wrong password"), ("root", ADMIN_PASSWORD)] {
        let reply = app.send(login_request(username, password)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{username}");
        assert_eq!(error_code(&reply), "wrong_credentials");
        assert!(reply.headers.get(header::SET_COOKIE).is_none());
    }
    for (body, field) in [
        (json!({"username": "admin"}), "password"),
        (json!({"password": "x"}), "username"),
        (json!({"username": 1, "password": "x"}), "username"),
        (
            json!({"username": "admin", "password": "x", "remember": true}),
            "remember",
        ),
        (json!({"username": "", "password": "x"}), "username"),
        (json!({"username": "admin", "password": ""}), "password"),
        (
            json!({"username": "admin", "password": "p".repeat(2000)}),
            "password",
        ),
        (json!("admin:x"), "body"),
    ] {
        let reply = app
            .send(
                Request::post(LOGIN_PATH)
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            reply.json()["error"]["field"],
            field,
            "{body}: {}",
            reply.text()
        );
    }
    let reply = app
        .send(Request::post(LOGIN_PATH).body(Body::from("{")).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&reply), "malformed_json");
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::with(|_| {});
    let cookie = app.login().await;
    let logout = |cookie: Option<&str>| {
        let mut request = Request::post(LOGOUT_PATH);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.body(Body::empty()).unwrap()
    };
    let reply = app.send(logout(Some(&cookie))).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let cleared = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with("perfscope_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    for uri in [SESSION_PATH, "/api/v1/sites"] {
        let reply = app.send(get(uri, Some(&cookie))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    // Signing out again, or without a session, is not an error.
    assert_eq!(
        app.send(logout(Some(&cookie))).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.send(logout(None)).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = TestApp::with(|config| {
        config.auth.session_ttl_secs = std::num::NonZeroU32::new(1).unwrap();
    });
    let cookie = app.login().await;
    assert_eq!(
        app.send(get("/api/v1/sites", Some(&cookie))).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = app.send(get("/api/v1/sites", Some(&cookie))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        reply.text()
    );
    assert_eq!(
        app.send(get(SESSION_PATH, Some(&cookie))).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn wrong_passwords_are_throttled_per_client_and_per_account() {
    let app = behind_proxy();
    let attacker = "203.0.113.9";
    // Three free attempts, then a fourth that makes the next wait 1 s.
    for _ in 0..4 {
        let reply = app
            .send(via_proxy(login_request("admin", "guess"), attacker))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app
        .send(via_proxy(login_request("admin", "guess"), attacker))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text()
    );
    assert_eq!(error_code(&reply), "login_throttled");
    assert_eq!(reply.headers[header::RETRY_AFTER], "1");
    // Even the right password waits: the throttle answers before checking it.
    let reply = app
        .send(via_proxy(login_request("admin", ADMIN_PASSWORD), attacker))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // The account is held back from every address …
    let reply = app
        .send(via_proxy(
            login_request("admin", ADMIN_PASSWORD),
            "198.51.100.7",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // … and the address for every user name; another address with another name is not.
    let reply = app
        .send(via_proxy(login_request("root", "guess"), attacker))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let reply = app
        .send(via_proxy(login_request("root", "guess"), "198.51.100.7"))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // After the wait the right password gets in, and clears the counts.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let reply = app
        .send(via_proxy(login_request("admin", ADMIN_PASSWORD), attacker))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let reply = app
        .send(via_proxy(login_request("admin", "typo"), attacker))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_cookie_is_secure_only_when_a_trusted_proxy_says_https() {
    let app = behind_proxy();
    let mut through_tls = via_proxy(login_request("admin", ADMIN_PASSWORD), "203.0.113.1");
    through_tls
        .headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let reply = app.send(through_tls).await;
    assert_eq!(reply.status, StatusCode::OK);
    let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");

    // The same header straight from a client proves nothing.
    let mut forged = login_request("admin", ADMIN_PASSWORD);
    forged
        .headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let reply = app.send(forged).await;
    assert_eq!(reply.status, StatusCode::OK);
    let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test]
async fn metrics_accepts_the_bearer_token_or_a_session() {
    let app = TestApp::with(|config| config.metrics.token = Some("scrape-token".into()));
    let bearer = |token: &str| {
        Request::get("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let reply = app.send(bearer("scrape-token")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("perfscope_ingest_batches_total"));
    assert_eq!(
        app.send(bearer("scrape-tokeN")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.send(get("/metrics", None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.login().await;
    assert_eq!(
        app.send(get("/metrics", Some(&cookie))).await.status,
        StatusCode::OK
    );
    // The token opens only /metrics.
    let mut request = bearer("scrape-token");
    *request.uri_mut() = "/api/v1/sites".parse().unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_dashboard_html_carries_a_csp_that_admits_its_inline_loader_by_hash() {
    let app = TestApp::with(|_| {});
    let dashboard = app.dir.path().join("dashboard");
    std::fs::create_dir_all(&dashboard).unwrap();
    let loader = "import init from '/performance/app.js';\ninit('/performance/app_bg.wasm');";
    std::fs::write(
        dashboard.join("index.html"),
        format!("<!doctype html><html><head><script type=\"module\">{loader}</script></head><body></body></html>"),
    )
    .unwrap();
    std::fs::write(
        dashboard.join("app.js"),
        "export default function init() {}",
    )
    .unwrap();

    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(loader));
    for uri in ["/performance/", "/performance/pages/checkout?range=7d"] {
        let reply = app.send(get(uri, None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert_eq!(
            csp,
            format!(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                 base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
                 script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}'"
            ),
            "{uri}"
        );
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(reply.headers[header::REFERRER_POLICY], "no-referrer");
    }
    let reply = app.send(get("/performance/app.js", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get(header::CONTENT_SECURITY_POLICY).is_none());
    assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    // A rebuild changes the loader: the policy follows without a restart.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        dashboard.join("index.html"),
        "<!doctype html><script>init(2)</script>",
    )
    .unwrap();
    let rebuilt = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest("init(2)"));
    let reply = app.send(get("/performance/", None)).await;
    let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains(&rebuilt) && !csp.contains(&hash), "{csp}");
}

/// The real binary with no configured credential: it prints a generated password once,
/// and a restart over the same database reuses it silently.
#[tokio::test]
async fn the_first_start_generates_a_password_and_prints_it_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut command = serve_command();
        command
            .env_remove("PERFSCOPE_AUTH__ADMIN_PASSWORD")
            .arg("--db")
            .arg(dir.path().join("perfscope.db"))
            .stderr(Stdio::piped());
        let mut collector = CollectorProcess::start(command);
        let stderr = collector.process.stderr.take().unwrap();
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        (collector, lines_rx)
    };
    let http = reqwest::Client::new();
    let login = |base: String, password: String| {
        let http = http.clone();
        async move {
            http.post(format!("{base}{LOGIN_PATH}"))
                .json(&json!({"username": "admin", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    let (first, lines) = start();
    // The banner is printed before the listening line, so it is already in the pipe.
    let mut printed = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
        printed.push(line);
    }
    let password = printed
        .iter()
        .find_map(|line| line.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no generated password in {printed:?}"))
        .to_string();
    assert_eq!(password.len(), 24);
    assert_eq!(login(first.base_url.clone(), password.clone()).await, 200);
    assert_eq!(
        login(first.base_url.clone(), "wrong-password".into()).await,
        401
    );
    drop(first);

    let (second, lines) = start();
    let mut printed = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
        printed.push(line);
    }
    assert!(
        printed.iter().all(|line| !line.contains("password")),
        "{printed:?}"
    );
    assert_eq!(login(second.base_url.clone(), password).await, 200);
}
