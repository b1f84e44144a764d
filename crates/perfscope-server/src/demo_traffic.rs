//! `perfscope demo`'s traffic: a plausible week of page views for one site, made up
//! deterministically from a seed so every dashboard panel has something to show.
//!
//! Each hour of the range is generated from its own random stream, seeded by the seed
//! and the hour's absolute start, and every event id names that hour: running the
//! command again (or later) produces the same events for the hours already stored, which
//! the store keeps once, so only hours not yet filled add data.

use crate::store::{AcceptedBatch, Store, HOUR_MS};
use indicatif::{ProgressBar, ProgressStyle};
use perfscope_model::{
    ApiCallEvent, ApiOutcome, Attribution, Batch, ConnectionType, CustomMetricEvent, DeviceClass,
    InteractionType, LongFrameEvent, NavigationType, NetworkTiming, PageContext, VitalEvent,
    VitalName,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use std::collections::BTreeMap;

/// What to generate: `days` of traffic for `site`, ending at the start of the hour that
/// contains `now_ms`.
#[derive(Clone, Debug)]
pub struct DemoPlan {
    pub site: String,
    pub days: u32,
    pub seed: u64,
    pub now_ms: i64,
}

impl DemoPlan {
    /// Absolute hour numbers (ms / HOUR_MS) of the range, oldest first.
    pub fn hours(&self) -> std::ops::Range<i64> {
        let end = self.now_ms.div_euclid(HOUR_MS);
        end - i64::from(self.days) * 24..end
    }

    /// The page views of one hour, one batch each.
    pub fn hour(&self, hour: i64) -> Vec<AcceptedBatch> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (hour as u64).wrapping_mul(GOLDEN));
        let hour_start = hour * HOUR_MS;
        let hours_before_end = self.hours().end - hour;
        let views = page_views_in_hour(hour, &mut rng);
        (0..views)
            .map(|index| {
                let start = hour_start + rng.random_range(0..HOUR_MS - 60_000);
                let view = PageView {
                    hour,
                    index,
                    start,
                    regression: regression_factor(hours_before_end),
                };
                view.batch(&self.site, &mut rng)
            })
            .collect()
    }
}

/// What a fill stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillReport {
    pub page_views: u64,
    /// Events new to the store.
    pub stored: u64,
    /// Events already there from an earlier run.
    pub duplicates: u64,
}

/// Hours inserted per store call: a day, so commits are few and progress still moves.
const HOURS_PER_INSERT: usize = 24;

/// Generates `plan` and inserts it through `store`, advancing `progress` by hours.
pub fn fill(
    store: &dyn Store,
    plan: &DemoPlan,
    progress: &ProgressBar,
) -> anyhow::Result<FillReport> {
    let hours: Vec<i64> = plan.hours().collect();
    progress.set_length(hours.len() as u64);
    let mut report = FillReport::default();
    for chunk in hours.chunks(HOURS_PER_INSERT) {
        let batches: Vec<AcceptedBatch> = chunk.iter().flat_map(|&hour| plan.hour(hour)).collect();
        report.page_views += batches.len() as u64;
        for outcome in store.insert_batches(&batches)? {
            report.stored += outcome.stored;
            report.duplicates += outcome.duplicates;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    Ok(report)
}

/// The bar `perfscope demo` shows on stderr (hidden when stderr is not a terminal).
pub fn progress_bar() -> ProgressBar {
    ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{spinner} filling demo traffic [{bar:40}] {pos}/{len} hours, {elapsed} (eta {eta})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    )
}

/// Spreads the hour seeds over the whole u64 range.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// About 2,000 page views on a weekday: busy afternoons (UTC), quiet nights, calmer
/// weekends.
fn page_views_in_hour(hour: i64, rng: &mut ChaCha8Rng) -> u32 {
    let hour_of_day = hour.rem_euclid(24) as f64;
    // 1970-01-01 was a Thursday: day 0 of the week is Thursday, 2 and 3 the weekend.
    let weekend = matches!((hour / 24).rem_euclid(7), 2 | 3);
    let daily =
        0.15 + 0.85 * (((hour_of_day - 14.0) / 24.0 * std::f64::consts::TAU).cos() + 1.0) / 2.0;
    let base = if weekend { 85.0 } else { 140.0 };
    (base * daily * rng.random_range(0.85..1.15)).round() as u32
}

/// The regressing route's LCP grows over the last two days (a bad deploy).
fn regression_factor(hours_before_end: i64) -> f64 {
    if hours_before_end > 48 {
        1.0
    } else {
        1.0 + 1.2 * (48 - hours_before_end) as f64 / 48.0
    }
}

struct Route {
    path: &'static str,
    /// Median LCP on a desktop, ms.
    lcp_ms: f64,
    lcp_target: &'static str,
    lcp_image: Option<&'static str>,
    inp_target: &'static str,
    shift_target: &'static str,
    /// Median CLS.
    cls: f64,
    /// Relative share of page views.
    weight: u32,
    endpoints: &'static [usize],
    regressing: bool,
}

const ROUTES: [Route; 20] = [
    route(
        "/",
        1300.0,
        "main > section.hero > img",
        Some("/img/hero-1600.webp"),
        0.03,
        30,
        &[0, 1],
    ),
    route(
        "/products",
        1700.0,
        "ul.grid > li:nth-child(1) img",
        Some("/img/products/thumb.webp"),
        0.06,
        14,
        &[1, 2],
    ),
    route(
        "/products/:id",
        1900.0,
        "div.gallery > img.main",
        Some("/img/products/large.webp"),
        0.05,
        16,
        &[3, 4, 5],
    ),
    route(
        "/search",
        3600.0,
        "div.results > article:nth-child(1) h2",
        None,
        0.18,
        8,
        &[6, 2],
    ),
    route("/cart", 1500.0, "section.cart > h1", None, 0.02, 6, &[7, 8]),
    Route {
        regressing: true,
        ..route(
            "/checkout",
            1800.0,
            "form#checkout > button.pay",
            None,
            0.04,
            4,
            &[7, 9, 10],
        )
    },
    route(
        "/checkout/confirmation",
        1400.0,
        "section.thanks > h1",
        None,
        0.01,
        2,
        &[11],
    ),
    route("/account", 1600.0, "main > h1", None, 0.02, 3, &[12]),
    route(
        "/account/orders",
        2100.0,
        "table.orders",
        None,
        0.03,
        2,
        &[12, 11],
    ),
    route(
        "/account/orders/:id",
        2000.0,
        "section.order > h2",
        None,
        0.02,
        1,
        &[11],
    ),
    route(
        "/blog",
        1200.0,
        "article:nth-child(1) img.cover",
        Some("/img/blog/cover.jpg"),
        0.08,
        4,
        &[13],
    ),
    route(
        "/blog/:slug",
        1500.0,
        "article > img.cover",
        Some("/img/blog/post.jpg"),
        0.12,
        5,
        &[13],
    ),
    route("/help", 1100.0, "main > h1", None, 0.01, 2, &[14]),
    route("/help/:topic", 1300.0, "article > h1", None, 0.02, 1, &[14]),
    route("/stores", 4200.0, "div#map > canvas", None, 0.22, 1, &[14]),
    route("/login", 1000.0, "form.login > h1", None, 0.01, 3, &[12]),
    route("/signup", 1100.0, "form.signup > h1", None, 0.01, 1, &[12]),
    route(
        "/wishlist",
        1800.0,
        "ul.wishlist img",
        Some("/img/products/thumb.webp"),
        0.05,
        2,
        &[1],
    ),
    route("/compare", 3100.0, "table.compare", None, 0.15, 1, &[3]),
    route(
        "/sale",
        2300.0,
        "section.banner > img",
        Some("/img/sale-banner.webp"),
        0.09,
        3,
        &[0, 2],
    ),
];

const fn route(
    path: &'static str,
    lcp_ms: f64,
    lcp_target: &'static str,
    lcp_image: Option<&'static str>,
    cls: f64,
    weight: u32,
    endpoints: &'static [usize],
) -> Route {
    Route {
        path,
        lcp_ms,
        lcp_target,
        lcp_image,
        inp_target: "button.primary",
        shift_target: "div.banner",
        cls,
        weight,
        endpoints,
        regressing: false,
    }
}

struct Endpoint {
    method: &'static str,
    path: &'static str,
    /// Median latency, ms.
    latency_ms: f64,
    /// Share of calls answered 5xx.
    error_rate: f64,
    response_bytes: u64,
}

const ENDPOINTS: [Endpoint; 15] = [
    endpoint("GET", "/api/banners", 60.0, 0.002, 2_400),
    endpoint("GET", "/api/products", 140.0, 0.004, 48_000),
    endpoint("GET", "/api/recommendations", 420.0, 0.02, 12_000),
    endpoint("GET", "/api/products/:id", 90.0, 0.003, 9_000),
    endpoint("GET", "/api/products/:id/reviews", 260.0, 0.01, 22_000),
    endpoint("GET", "/api/inventory/:id", 180.0, 0.015, 600),
    endpoint("GET", "/api/search", 780.0, 0.03, 36_000),
    endpoint("GET", "/api/cart", 70.0, 0.002, 3_000),
    endpoint("PUT", "/api/cart/items/:id", 110.0, 0.006, 1_200),
    endpoint("POST", "/api/payments", 1400.0, 0.05, 800),
    endpoint("POST", "/api/orders", 520.0, 0.02, 1_500),
    endpoint("GET", "/api/orders/:id", 130.0, 0.004, 4_000),
    endpoint("GET", "/api/me", 45.0, 0.001, 700),
    endpoint("GET", "/api/posts", 95.0, 0.003, 16_000),
    endpoint("GET", "/api/help/articles", 85.0, 0.002, 8_000),
];

const fn endpoint(
    method: &'static str,
    path: &'static str,
    latency_ms: f64,
    error_rate: f64,
    response_bytes: u64,
) -> Endpoint {
    Endpoint {
        method,
        path,
        latency_ms,
        error_rate,
        response_bytes,
    }
}

const SCRIPTS: [&str; 4] = [
    "https://cdn.shop.example/js/app.3f9a.js",
    "https://cdn.shop.example/js/vendor.81c2.js",
    "https://tags.analytics.example/tag.js",
    "https://chat.widget.example/loader.js",
];

/// Who the visitor is and on what: device, network and browser, with their effect on
/// loading (`slowdown`) and on interaction (`cpu`).
struct Visitor {
    device: DeviceClass,
    connection: ConnectionType,
    browser: &'static str,
    viewport: (u32, u32),
    slowdown: f64,
    cpu: f64,
}

fn visitor(rng: &mut ChaCha8Rng) -> Visitor {
    let (device, viewport, cpu) = match rng.random_range(0..100) {
        0..55 => (DeviceClass::Desktop, (1440, 900), 1.0),
        55..95 => (DeviceClass::Mobile, (390, 844), 2.2),
        _ => (DeviceClass::Tablet, (820, 1180), 1.5),
    };
    let (connection, network) = match rng.random_range(0..100) {
        0..62 => (ConnectionType::Cellular4g, 1.0),
        62..80 => (ConnectionType::Unknown, 1.05),
        80..95 => (ConnectionType::Cellular3g, 1.9),
        95..99 => (ConnectionType::Cellular2g, 3.2),
        _ => (ConnectionType::Slow2g, 5.0),
    };
    let browser = match rng.random_range(0..100) {
        0..63 => "chrome",
        63..82 => "safari",
        82..90 => "edge",
        90..97 => "firefox",
        _ => "other",
    };
    Visitor {
        device,
        connection,
        browser,
        viewport,
        slowdown: network
            * if device == DeviceClass::Desktop {
                1.0
            } else {
                1.3
            },
        cpu,
    }
}

struct PageView {
    hour: i64,
    index: u32,
    start: i64,
    regression: f64,
}

/// A log-normal sample with the given median; `spread` is sigma of the underlying normal.
fn around(rng: &mut ChaCha8Rng, median: f64, spread: f64) -> f64 {
    LogNormal::new(median.ln(), spread)
        .expect("finite median and spread")
        .sample(rng)
}

impl PageView {
    fn id(&self, kind: &str, n: usize) -> String {
        format!("demo-{:x}-{:x}-{kind}{n}", self.hour, self.index)
    }

    fn batch(&self, site: &str, rng: &mut ChaCha8Rng) -> AcceptedBatch {
        let route = pick_route(rng);
        let who = visitor(rng);
        let navigation_type = match rng.random_range(0..100) {
            0..80 => NavigationType::Navigate,
            80..88 => NavigationType::Reload,
            88..95 => NavigationType::BackForward,
            _ => NavigationType::BackForwardCache,
        };
        let ts = |offset: f64| self.start as f64 + offset;
        let regression = if route.regressing {
            self.regression
        } else {
            1.0
        };

        let ttfb = around(rng, 180.0 * who.slowdown.sqrt(), 0.5);
        let fcp = ttfb + around(rng, 450.0 * who.slowdown, 0.45);
        let lcp = (route.lcp_ms * who.slowdown * regression * around(rng, 1.0, 0.45)).max(fcp);
        let load_delay = (lcp - ttfb) * rng.random_range(0.05..0.25);
        let load_duration = if route.lcp_image.is_some() {
            (lcp - ttfb - load_delay) * rng.random_range(0.3..0.7)
        } else {
            0.0
        };
        let render_delay = lcp - ttfb - load_delay - load_duration;
        let mut vitals = vec![
            self.vital(
                VitalName::Ttfb,
                0,
                ts(ttfb),
                ttfb,
                Some(Attribution::default()),
            ),
            self.vital(VitalName::Fcp, 1, ts(fcp), fcp, None),
            self.vital(
                VitalName::Lcp,
                2,
                ts(lcp),
                lcp,
                Some(Attribution {
                    target: Some(route.lcp_target.to_string()),
                    url: route
                        .lcp_image
                        .map(|path| format!("https://shop.example{path}")),
                    time_to_first_byte: Some(ttfb),
                    resource_load_delay: Some(load_delay),
                    resource_load_duration: Some(load_duration),
                    element_render_delay: Some(render_delay),
                    ..Attribution::default()
                }),
            ),
        ];
        let cls = if rng.random_bool(0.35) {
            0.0
        } else {
            (route.cls * around(rng, 1.0, 0.9)).min(3.0)
        };
        vitals.push(self.vital(
            VitalName::Cls,
            3,
            ts(lcp + 4000.0),
            cls,
            (cls > 0.0).then(|| Attribution {
                target: Some(route.shift_target.to_string()),
                largest_shift_time: Some(lcp * rng.random_range(0.6..1.4)),
                largest_shift_value: Some(cls * rng.random_range(0.5..1.0)),
                ..Attribution::default()
            }),
        ));
        if rng.random_bool(0.7) {
            let inp = around(rng, 90.0 * who.cpu, 0.6).max(8.0);
            let input_delay = inp * rng.random_range(0.05..0.3);
            let presentation = inp * rng.random_range(0.1..0.3);
            let script_count = rng.random_range(0..3);
            vitals.push(
                self.vital(
                    VitalName::Inp,
                    4,
                    ts(lcp + 6000.0),
                    inp,
                    Some(Attribution {
                        target: Some(route.inp_target.to_string()),
                        interaction_type: Some(if rng.random_bool(0.85) {
                            InteractionType::Pointer
                        } else {
                            InteractionType::Keyboard
                        }),
                        input_delay: Some(input_delay),
                        processing_duration: Some(inp - input_delay - presentation),
                        presentation_delay: Some(presentation),
                        scripts: SCRIPTS[..script_count]
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                        ..Attribution::default()
                    }),
                ),
            );
        }

        let api_calls = route
            .endpoints
            .iter()
            .enumerate()
            .map(|(n, &e)| self.api_call(&ENDPOINTS[e], n, ts(fcp + 40.0 * n as f64), &who, rng))
            .collect();
        let long_frames = (0..rng.random_range(0..=(who.cpu * 1.5) as usize))
            .map(|n| {
                let duration = 50.0 + around(rng, 40.0 * who.cpu, 0.7);
                LongFrameEvent {
                    id: self.id("f", n),
                    ts: ts(fcp + 300.0 * n as f64),
                    duration,
                    blocking_duration: duration - 50.0,
                    script: Some(SCRIPTS[rng.random_range(0..SCRIPTS.len())].to_string()),
                }
            })
            .collect();
        let mut custom_metrics = Vec::new();
        if route.path.starts_with("/checkout") || route.path == "/cart" {
            custom_metrics.push(CustomMetricEvent {
                id: self.id("m", 0),
                ts: ts(lcp + 1500.0),
                name: "checkout.step_ms".into(),
                value: around(rng, 2200.0, 0.6),
                meta: BTreeMap::from([("step".to_string(), route.path.to_string())]),
            });
        }
        if route.path == "/search" {
            custom_metrics.push(CustomMetricEvent {
                id: self.id("m", 1),
                ts: ts(lcp + 500.0),
                name: "search.results".into(),
                value: f64::from(rng.random_range(0..120)),
                meta: BTreeMap::new(),
            });
        }
        custom_metrics.push(CustomMetricEvent {
            id: self.id("m", 2),
            ts: ts(fcp),
            name: "app.hydration_ms".into(),
            value: around(rng, 120.0 * who.cpu, 0.5),
            meta: BTreeMap::new(),
        });

        AcceptedBatch {
            batch: Batch {
                site: site.to_string(),
                page_view: format!("demo-{:x}-{:x}", self.hour, self.index),
                seq: 0,
                page: route.path.to_string(),
                context: PageContext {
                    navigation_type,
                    device: who.device,
                    connection: who.connection,
                    viewport_width: who.viewport.0,
                    viewport_height: who.viewport.1,
                },
                lost: 0,
                vitals,
                api_calls,
                long_frames,
                custom_metrics,
                assets: Vec::new(),
                memory: Vec::new(),
            },
            browser: who.browser.to_string(),
            received_ms: self.start + 15_000,
        }
    }

    fn vital(
        &self,
        name: VitalName,
        n: usize,
        ts: f64,
        value: f64,
        attribution: Option<Attribution>,
    ) -> VitalEvent {
        VitalEvent {
            id: self.id("v", n),
            ts,
            name,
            value,
            attribution,
        }
    }

    fn api_call(
        &self,
        endpoint: &Endpoint,
        n: usize,
        ts: f64,
        who: &Visitor,
        rng: &mut ChaCha8Rng,
    ) -> ApiCallEvent {
        let duration = around(rng, endpoint.latency_ms * who.slowdown.sqrt(), 0.55);
        let roll: f64 = rng.random();
        let (status, outcome) = if roll < endpoint.error_rate {
            (
                *[500, 502, 503].get(rng.random_range(0..3)).unwrap_or(&500),
                ApiOutcome::HttpError,
            )
        } else if roll < endpoint.error_rate * 1.4 {
            (
                if rng.random_bool(0.5) { 404 } else { 422 },
                ApiOutcome::HttpError,
            )
        } else if roll < endpoint.error_rate * 1.4 + 0.002 * who.slowdown {
            (0, ApiOutcome::NetworkError)
        } else {
            (200, ApiOutcome::Ok)
        };
        let ttfb = duration * rng.random_range(0.5..0.85);
        ApiCallEvent {
            id: self.id("a", n),
            ts,
            method: endpoint.method.to_string(),
            path: endpoint.path.to_string(),
            status,
            duration,
            outcome,
            response_size: (status != 0)
                .then(|| (endpoint.response_bytes as f64 * rng.random_range(0.7..1.3)) as u64),
            timing: (status != 0).then_some(NetworkTiming {
                dns: 0.0,
                connect: 0.0,
                ttfb,
                download: duration - ttfb,
            }),
        }
    }
}

fn pick_route(rng: &mut ChaCha8Rng) -> &'static Route {
    let total: u32 = ROUTES.iter().map(|r| r.weight).sum();
    let mut roll = rng.random_range(0..total);
    for route in &ROUTES {
        if roll < route.weight {
            return route;
        }
        roll -= route.weight;
    }
    &ROUTES[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::Limits;

    fn plan_with_seed(seed: u64) -> DemoPlan {
        DemoPlan {
            site: "demo".into(),
            days: 2,
            seed,
            now_ms: 1_760_000_000_000,
        }
    }

    #[test]
    fn every_generated_batch_is_valid_and_the_same_for_the_same_seed() {
        let plan = plan_with_seed(7);
        let limits = Limits {
            max_age_ms: 30.0 * 86_400_000.0,
            ..Limits::default()
        };
        let mut views = 0;
        for hour in plan.hours() {
            let batches = plan.hour(hour);
            assert_eq!(batches, plan.hour(hour), "hour {hour} is not deterministic");
            for accepted in &batches {
                accepted
                    .batch
                    .validate(&limits, plan.now_ms as f64)
                    .unwrap_or_else(|err| panic!("{err:?} in {:?}", accepted.batch));
                let ts = accepted.batch.vitals[0].ts as i64;
                assert!(ts >= hour * HOUR_MS && ts < (hour + 1) * HOUR_MS + 60_000);
            }
            views += batches.len();
        }
        // Two weekdays or weekend days: between ~1,300 and ~4,000 page views.
        assert!((1000..5000).contains(&views), "{views} page views");
        let other = plan_with_seed(8);
        assert_ne!(
            plan.hour(plan.hours().start),
            other.hour(other.hours().start)
        );
    }

    #[test]
    fn afternoons_are_busier_than_nights_and_checkout_regresses() {
        let plan = DemoPlan {
            days: 7,
            ..plan_with_seed(1)
        };
        let per_hour_of_day = |h: i64| -> usize {
            plan.hours()
                .filter(|hour| hour.rem_euclid(24) == h)
                .map(|hour| plan.hour(hour).len())
                .sum()
        };
        assert!(per_hour_of_day(14) > 3 * per_hour_of_day(2));

        let checkout_lcp = |hours: std::ops::Range<i64>| {
            let mut lcps: Vec<f64> = hours
                .flat_map(|hour| plan.hour(hour))
                .filter(|b| b.batch.page == "/checkout")
                .flat_map(|b| b.batch.vitals)
                .filter(|v| v.name == VitalName::Lcp)
                .map(|v| v.value)
                .collect();
            lcps.sort_by(f64::total_cmp);
            lcps[lcps.len() / 2]
        };
        let end = plan.hours().end;
        let before = checkout_lcp(end - 7 * 24..end - 3 * 24);
        let last_day = checkout_lcp(end - 24..end);
        assert!(last_day > 1.5 * before, "{before} -> {last_day}");
    }
}
