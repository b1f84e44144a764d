//! `cargo xtask bench cache`: the cache's hit path, and the overview query
//! (`/api/v1/summary`) through the router with the cache off and on, in one run on the
//! same database.

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use perfscope_model::{ApiCallEvent, Batch, Limits, VitalEvent, VitalName, LOGIN_PATH};
use perfscope_server::auth::Auth;
use perfscope_server::cache::{CacheKey, QueryCache};
use perfscope_server::monitoring::Monitoring;
use perfscope_server::rate_limit::IngestRateLimits;
use perfscope_server::store::{AcceptedBatch, Scope, SqliteStore, Store, TimeRange, HOUR_MS};
use perfscope_server::write_queue::WriteQueue;
use perfscope_server::{app, AppState, Config};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const PAGE_VIEWS: usize = 4000;
const ROUTES: [&str; 8] = [
    "/",
    "/cart",
    "/checkout",
    "/search",
    "/p/:id",
    "/c/:id",
    "/help",
    "/account",
];
const ENDPOINTS: [&str; 6] = [
    "/api/cart",
    "/api/search",
    "/api/items",
    "/api/user",
    "/api/pay",
    "/api/stock",
];

fn seed(store: &dyn Store, now: i64) -> usize {
    let mut events = 0;
    let batches: Vec<AcceptedBatch> = (0..PAGE_VIEWS)
        .map(|i| {
            // Spread over the last day; values vary so percentiles have work to do.
            let ts = (now - 24 * HOUR_MS + (i as i64 * 24 * HOUR_MS / PAGE_VIEWS as i64)) as f64;
            let pv = format!("pv{i}");
            let spread = (i * 7919 % 1000) as f64;
            let vitals: Vec<VitalEvent> = VitalName::ALL
                .iter()
                .enumerate()
                .map(|(k, name)| VitalEvent {
                    id: format!("{pv}-v{k}"),
                    ts,
                    name: *name,
                    value: if *name == VitalName::Cls {
                        spread / 5000.0
                    } else {
                        100.0 + spread * 3.0
                    },
                    attribution: None,
                })
                .collect();
            let api_calls: Vec<ApiCallEvent> = (0..5)
                .map(|k| ApiCallEvent {
                    id: format!("{pv}-a{k}"),
                    ts,
                    method: "GET".into(),
                    path: ENDPOINTS[(i + k) % ENDPOINTS.len()].into(),
                    status: if (i + k) % 50 == 0 { 500 } else { 200 },
                    duration: 20.0 + spread / 4.0,
                    outcome: Default::default(),
                    response_size: None,
                    timing: None,
                })
                .collect();
            events += vitals.len() + api_calls.len();
            AcceptedBatch {
                batch: Batch {
                    site: "bench".into(),
                    page_view: pv,
                    page: ROUTES[i % ROUTES.len()].into(),
                    vitals,
                    api_calls,
                    ..Batch::default()
                },
                browser: "chrome".into(),
                received_ms: now,
            }
        })
        .collect();
    for group in batches.chunks(256) {
        store.insert_batches(group).expect("seeding the store");
    }
    events
}

/// The router and a session cookie: the read API answers only signed-in requests, and
/// checking the session is part of what every dashboard request costs.
struct SignedIn {
    router: Router,
    cookie: String,
}

const BENCH_PASSWORD: &str = "bench-admin-password";

fn router(path: &Path, cache: bool, rt: &tokio::runtime::Runtime) -> SignedIn {
    let mut config = Config::default();
    config.storage.path = path.to_path_buf();
    config.cache.enabled = cache;
    config.auth.admin_password = Some(BENCH_PASSWORD.into());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).unwrap());
    let _guard = rt.enter();
    let monitoring = Monitoring::open(&config).unwrap();
    let (queue, _writer) =
        WriteQueue::start_with_listener(Arc::clone(&store), 64, Some(monitoring.commit_listener()));
    let (auth, _) = Auth::open(&config).unwrap();
    let router = app(AppState {
        rate_limits: Arc::new(IngestRateLimits::new(&config.ingest.rate_limit)),
        config: Arc::new(config),
        store,
        queue,
        limits: Arc::new(Limits::default()),
        monitoring,
        auth,
    })
    .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let login = Request::post(LOGIN_PATH)
        .header("content-type", "application/json")
        .body(Body::from(format!(
            r#"{{"username":"admin","password":"{BENCH_PASSWORD}"}}"#
        )))
        .unwrap();
    let response = rt.block_on(router.clone().oneshot(login)).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    SignedIn { router, cookie }
}

struct Figures {
    samples: Vec<Duration>,
}

impl Figures {
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }

    fn line(&self, label: &str) -> String {
        format!(
            "{label:<44} p50 {:>10.1?}  p99 {:>10.1?}  (n={})",
            self.quantile(0.5),
            self.quantile(0.99),
            self.samples.len()
        )
    }
}

async fn time_requests(signed_in: &SignedIn, uri: &str, n: usize) -> Figures {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let request = Request::get(uri)
            .header("cookie", &signed_in.cookie)
            .body(Body::empty())
            .unwrap();
        let response = signed_in.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.into_body().collect().await.unwrap();
        samples.push(started.elapsed());
    }
    Figures { samples }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let now = perfscope_server::clock::now_ms();
    let seeding = Instant::now();
    let events = seed(&SqliteStore::open(&path).unwrap(), now);
    println!(
        "cache bench: {events} events in {PAGE_VIEWS} page views over 24 h, seeded in {:.1?}",
        seeding.elapsed()
    );

    // The hit path alone: an L1 hit for a summary-sized answer.
    let hits = rt.block_on(async {
        let cache = QueryCache::new(&Config::default().cache);
        let store = SqliteStore::open(&path).unwrap();
        let scope = Scope {
            site: "bench".into(),
            range: TimeRange {
                from: now - 24 * HOUR_MS,
                to: now,
            },
            filter: Default::default(),
        };
        let answer = (
            store.vitals(&scope).unwrap(),
            store.endpoints(&scope).unwrap(),
        );
        let key = CacheKey::new("summary", &scope, ());
        for _ in 0..3 {
            let answer = answer.clone();
            cache
                .get_or_compute(key.clone(), async move { Ok::<_, Infallible>(answer) })
                .await
                .unwrap();
        }
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let started = Instant::now();
            // Only a miss would poll this; the hit count below proves none did.
            let answer = &answer;
            let hit = cache
                .get_or_compute(
                    key.clone(),
                    async move { Ok::<_, Infallible>(answer.clone()) },
                )
                .await;
            std::hint::black_box(hit.unwrap());
            samples.push(started.elapsed());
        }
        let stats = cache.stats().await;
        assert_eq!(stats.layers[0].hits, 20_000);
        Figures { samples }
    });
    println!("{}", hits.line("hit path (L1, QueryCache::get_or_compute)"));

    let uri = format!(
        "/api/v1/summary?site=bench&from={}&to={}",
        now - 24 * HOUR_MS,
        now
    );
    let uncached_router = router(&path, false, &rt);
    let cached_router = router(&path, true, &rt);
    let (uncached, cached) = rt.block_on(async {
        // Warm SQLite's page cache for both, so the comparison is of the query work.
        time_requests(&uncached_router, &uri, 5).await;
        let uncached = time_requests(&uncached_router, &uri, 100).await;
        let first = time_requests(&cached_router, &uri, 1).await;
        let cached = time_requests(&cached_router, &uri, 2000).await;
        println!("{}", first.line("overview, cache on, first request (miss)"));
        (uncached, cached)
    });
    println!(
        "{}",
        uncached.line("overview GET /api/v1/summary, cache off")
    );
    println!("{}", cached.line("overview GET /api/v1/summary, cache on"));
    println!(
        "speedup at p50: {:.0}x",
        uncached.quantile(0.5).as_secs_f64() / cached.quantile(0.5).as_secs_f64()
    );
}
