//! The storage conformance suite: every case is written once against the `Store` trait
//! and instantiated per backend with `conformance_suite!`.
//!
//! The ClickHouse instantiation needs `E2E_CLICKHOUSE_URL` (set by `cargo xtask test`,
//! which installs and starts a private server); without it each case says loudly that it
//! was skipped.

mod support_store;

use perfscope_model::{
    ConnectionType, DeviceClass, Dimension, Filter, NavigationType, Rating, VitalName,
};
use perfscope_server::store::{
    AcceptedBatch, InsertOutcome, RetentionPolicy, Scope, SeriesMetric, Store, TimeRange,
};
use std::sync::Arc;
use support_store::*;

/// Opens a store on a test's storage; `None` when the backend is not available here.
type Factory = fn(&Setup) -> Option<Arc<dyn Store>>;

fn scope(site: &str, from: i64, to: i64) -> Scope {
    Scope {
        site: site.into(),
        range: TimeRange { from, to },
        filter: Filter::default(),
    }
}

fn all_time(site: &str) -> Scope {
    scope(site, 0, T0 + 10_000 * DAY)
}

fn insert(store: &dyn Store, batches: &[AcceptedBatch]) -> Vec<InsertOutcome> {
    store.insert_batches(batches).expect("insert")
}

fn count_of(store: &dyn Store, scope: &Scope, name: VitalName) -> u64 {
    let vitals = store.vitals(scope).expect("vitals");
    vitals
        .iter()
        .find(|v| v.name == name)
        .expect("every vital")
        .count
}

const DEVICES: [DeviceClass; 3] = [
    DeviceClass::Mobile,
    DeviceClass::Desktop,
    DeviceClass::Tablet,
];
const CONNECTIONS: [ConnectionType; 2] = [ConnectionType::Cellular4g, ConnectionType::Cellular3g];
const NAVIGATIONS: [NavigationType; 2] = [NavigationType::Navigate, NavigationType::Reload];
const BROWSERS: [&str; 2] = ["chrome", "firefox"];
const ROUTES: [&str; 3] = ["/", "/users/:id", "/checkout"];

/// 240 page views over one hour from T0, each with one LCP, INP and CLS, spread over
/// every dimension so that each (dimension, value) has a known count.
fn varied_page_views(site: &str) -> Vec<AcceptedBatch> {
    let lcp = long_tail(240, 1, 2200.0);
    let inp = long_tail(240, 2, 180.0);
    let cls = long_tail(240, 3, 0.08);
    (0..240)
        .map(|i| {
            let ts = T0 + (i as i64) * 15_000;
            page_view(site, &format!("pv{i}"), ROUTES[i % 3])
                .context(DEVICES[i % 3], CONNECTIONS[i % 2], NAVIGATIONS[(i / 2) % 2])
                .browser(BROWSERS[(i / 3) % 2])
                .vital(&format!("lcp{i}"), VitalName::Lcp, lcp[i], ts)
                .vital(&format!("inp{i}"), VitalName::Inp, inp[i], ts + 1)
                .vital(&format!("cls{i}"), VitalName::Cls, cls[i], ts + 2)
                .build()
        })
        .collect()
}

fn dimension_value(batch: &AcceptedBatch, by: Dimension) -> String {
    let b = &batch.batch;
    match by {
        Dimension::Route => b.page.clone(),
        Dimension::Device => b.context.device.as_str().into(),
        Dimension::Browser => batch.browser.clone(),
        Dimension::Connection => b.context.connection.as_str().into(),
        Dimension::NavigationType => b.context.navigation_type.as_str().into(),
    }
}

fn filter_on(by: Dimension, value: &str) -> Filter {
    let mut filter = Filter::default();
    match by {
        Dimension::Route => filter.route = Some(value.into()),
        Dimension::Device => filter.device = DeviceClass::parse(value),
        Dimension::Browser => filter.browser = Some(value.into()),
        Dimension::Connection => filter.connection = ConnectionType::parse(value),
        Dimension::NavigationType => filter.navigation_type = NavigationType::parse(value),
    }
    filter
}

mod cases {
    use super::*;

    pub fn ingest_then_query(open: Factory) {
        let setup = Setup::new("ingest", 500);
        let Some(store) = open(&setup) else { return };
        let lcp = long_tail(3000, 11, 2400.0);
        let ttfb = long_tail(3000, 12, 600.0);
        let fast = long_tail(400, 13, 80.0);
        let slow = long_tail(100, 14, 900.0);
        // 30 page views share the events round-robin.
        let mut views: Vec<_> = (0..30)
            .map(|c| page_view("shop", &format!("pv{c}"), "/"))
            .collect();
        for (i, (l, t)) in lcp.iter().zip(&ttfb).enumerate() {
            let ts = T0 + i as i64 * 1000;
            views[i % 30] = views[i % 30]
                .clone()
                .vital(&format!("l{i}"), VitalName::Lcp, *l, ts)
                .vital(&format!("t{i}"), VitalName::Ttfb, *t, ts);
        }
        for (i, duration) in fast.iter().enumerate() {
            let status = if i % 10 == 0 { 500 } else { 200 };
            let id = format!("f{i}");
            views[i % 30] = views[i % 30].clone().call(
                &id,
                "GET",
                "/api/items",
                status,
                *duration,
                T0 + i as i64,
            );
        }
        for (i, duration) in slow.iter().enumerate() {
            let id = format!("s{i}");
            views[i % 30] = views[i % 30].clone().call(
                &id,
                "POST",
                "/api/order",
                201,
                *duration,
                T0 + i as i64,
            );
        }
        let batches: Vec<AcceptedBatch> = views.into_iter().map(|v| v.build()).collect();
        let outcomes = insert(store.as_ref(), &batches);
        let stored: u64 = outcomes.iter().map(|o| o.stored).sum();
        assert_eq!(stored, 6000 + 400 + 100);
        assert!(outcomes.iter().all(|o| o.duplicates == 0));

        let range = scope("shop", T0, T0 + DAY);
        let vitals = store.vitals(&range).unwrap();
        assert_eq!(
            vitals.iter().map(|v| v.name).collect::<Vec<_>>(),
            VitalName::ALL.to_vec(),
            "one entry per vital, in VitalName::ALL order"
        );
        for (name, values) in [(VitalName::Lcp, &lcp), (VitalName::Ttfb, &ttfb)] {
            let v = vitals.iter().find(|v| v.name == name).unwrap();
            assert_eq!(v.count, values.len() as u64);
            for (p, got) in [
                (0.5, v.p50),
                (0.75, v.p75),
                (0.9, v.p90),
                (0.95, v.p95),
                (0.99, v.p99),
            ] {
                assert_close(&format!("{name} p{p}"), got, exact(values, p));
            }
            let rated = |r| values.iter().filter(|x| name.rate(**x) == r).count() as u64;
            assert_eq!(
                (v.good, v.needs_improvement, v.poor),
                (
                    rated(Rating::Good),
                    rated(Rating::NeedsImprovement),
                    rated(Rating::Poor)
                ),
                "{name} rating counts are exact"
            );
        }
        let cls = vitals.iter().find(|v| v.name == VitalName::Cls).unwrap();
        assert_eq!((cls.count, cls.p50, cls.p75, cls.good), (0, None, None, 0));

        let endpoints = store.endpoints(&range).unwrap();
        assert_eq!(endpoints.len(), 2);
        assert_eq!(
            (endpoints[0].method.as_str(), endpoints[0].path.as_str()),
            ("POST", "/api/order"),
            "slowest p95 first"
        );
        let items = &endpoints[1];
        assert_eq!((items.path.as_str(), items.count), ("/api/items", 400));
        assert_close("items p50", Some(items.p50), exact(&fast, 0.5));
        assert_close("items p95", Some(items.p95), exact(&fast, 0.95));
        assert_close("items p99", Some(items.p99), exact(&fast, 0.99));
        assert!(
            (items.error_rate - 0.1).abs() < 1e-12,
            "{}",
            items.error_rate
        );
        assert!((items.throughput_per_min - 400.0 / (24.0 * 60.0)).abs() < 1e-9);
        assert_close("order p99", Some(endpoints[0].p99), exact(&slow, 0.99));
        assert_eq!(endpoints[0].error_rate, 0.0);
    }

    pub fn dedup_same_batch_twice(open: Factory) {
        let setup = Setup::new("dedup_twice", 500);
        let Some(store) = open(&setup) else { return };
        let batch = page_view("s", "pv", "/")
            .vital("a", VitalName::Lcp, 1000.0, T0)
            .vital("b", VitalName::Lcp, 3000.0, T0 + 1)
            .call("c", "GET", "/api", 200, 20.0, T0 + 2)
            .build();
        let first = insert(store.as_ref(), std::slice::from_ref(&batch));
        assert_eq!(
            first,
            vec![InsertOutcome {
                stored: 3,
                duplicates: 0
            }]
        );
        let again = insert(store.as_ref(), std::slice::from_ref(&batch));
        assert_eq!(
            again,
            vec![InsertOutcome {
                stored: 0,
                duplicates: 3
            }]
        );
        // Twice within one call, too.
        let both = insert(store.as_ref(), &[batch.clone(), batch]);
        assert_eq!(
            both,
            vec![
                InsertOutcome {
                    stored: 0,
                    duplicates: 3
                };
                2
            ]
        );
        let range = all_time("s");
        let lcp = store.vitals(&range).unwrap()[0].clone();
        assert_eq!(
            (lcp.name, lcp.count, lcp.good, lcp.needs_improvement),
            (VitalName::Lcp, 2, 1, 1)
        );
        assert_eq!(store.endpoints(&range).unwrap()[0].count, 1);
        assert_eq!(store.samples(&range, VitalName::Lcp, 10).unwrap().len(), 2);
        assert_eq!(store.sites().unwrap()[0].events, 3);
    }

    pub fn dedup_same_id_in_two_batches(open: Factory) {
        let setup = Setup::new("dedup_two", 500);
        let Some(store) = open(&setup) else { return };
        let first = page_view("s", "pv", "/")
            .vital("x", VitalName::Lcp, 150.0, T0)
            .vital("y", VitalName::Lcp, 250.0, T0)
            .build();
        let mut second = page_view("s", "pv", "/")
            .vital("y", VitalName::Lcp, 250.0, T0)
            .vital("z", VitalName::Lcp, 600.0, T0)
            .build();
        second.batch.seq = 1;
        let outcomes = insert(store.as_ref(), &[first, second]);
        assert_eq!(
            outcomes,
            vec![
                InsertOutcome {
                    stored: 2,
                    duplicates: 0
                },
                InsertOutcome {
                    stored: 1,
                    duplicates: 1
                }
            ]
        );
        let lcp = count_of(store.as_ref(), &all_time("s"), VitalName::Lcp);
        assert_eq!(lcp, 3);
        // The same id on another site is another event.
        let other_site = page_view("t", "pv", "/")
            .vital("y", VitalName::Lcp, 250.0, T0)
            .build();
        assert_eq!(insert(store.as_ref(), &[other_site])[0].stored, 1);
        assert_eq!(count_of(store.as_ref(), &all_time("t"), VitalName::Lcp), 1);
    }

    /// CLS and INP are reported again each time the page is hidden with a changed value:
    /// a page view counts once per metric, with its latest report (greatest `ts`),
    /// whatever order the reports arrive in and whichever minute they fall in.
    pub fn latest_cls_and_inp_per_page_view(open: Factory) {
        let setup = Setup::new("latest", 500);
        let Some(store) = open(&setup) else { return };
        let mut a0 = page_view("s", "a", "/")
            .vital_with_target("a-cls-0", VitalName::Cls, 0.05, T0 + 1000, "div.ad")
            .vital("a-inp-0", VitalName::Inp, 100.0, T0 + 1000)
            .vital("a-lcp", VitalName::Lcp, 2000.0, T0 + 900)
            .build();
        a0.batch.seq = 0;
        let mut a1 = page_view("s", "a", "/")
            .vital_with_target("a-cls-1", VitalName::Cls, 0.30, T0 + 2 * MINUTE, "img.hero")
            .vital("a-inp-1", VitalName::Inp, 350.0, T0 + 2 * MINUTE)
            .build();
        a1.batch.seq = 1;
        // Page view b's later report arrives first (replayed from the browser's queue).
        let mut b1 = page_view("s", "b", "/cart")
            .vital_with_target("b-cls-1", VitalName::Cls, 0.2, T0 + 3 * MINUTE, "img.hero")
            .build();
        b1.batch.seq = 1;
        let mut b0 = page_view("s", "b", "/cart")
            .vital_with_target("b-cls-0", VitalName::Cls, 0.01, T0 + 10_000, "div.ad")
            .build();
        b0.batch.seq = 0;
        let c = page_view("s", "c", "/")
            .vital_with_target("c-cls", VitalName::Cls, 0.1, T0 + 4 * MINUTE, "p.note")
            .build();
        // In three separate commits too, so no backend can rely on seeing all at once.
        insert(store.as_ref(), &[a0]);
        insert(store.as_ref(), &[b1, a1.clone()]);
        insert(store.as_ref(), &[b0, c]);
        // A retried report is a duplicate, not a new value.
        let again = insert(store.as_ref(), &[a1]);
        assert_eq!(again[0].stored, 0);
        assert_eq!(again[0].duplicates, 2);

        for range in [all_time("s"), scope("s", T0, T0 + HOUR)] {
            let vitals = store.vitals(&range).unwrap();
            let of = |name| vitals.iter().find(|v| v.name == name).unwrap().clone();
            let cls = of(VitalName::Cls);
            assert_eq!(cls.count, 3, "one CLS per page view");
            assert_eq!(
                (cls.good, cls.needs_improvement, cls.poor),
                (1, 1, 1),
                "rated on the latest values 0.1, 0.2 and 0.30"
            );
            assert_close("CLS p50", cls.p50, 0.2);
            let inp = of(VitalName::Inp);
            assert_eq!((inp.count, inp.needs_improvement), (1, 1));
            assert_close("INP p50", inp.p50, 350.0);
            assert_eq!(of(VitalName::Lcp).count, 1);
        }

        let mut samples: Vec<(String, f64)> = store
            .samples(&all_time("s"), VitalName::Cls, 10)
            .unwrap()
            .into_iter()
            .map(|s| (s.page_view, s.value))
            .collect();
        samples.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            samples,
            vec![("a".into(), 0.30), ("b".into(), 0.2), ("c".into(), 0.1)]
        );

        let minutes: Vec<(i64, u64)> = store
            .series(
                &scope("s", T0, T0 + HOUR),
                &SeriesMetric::Vital(VitalName::Cls),
                MINUTE,
            )
            .unwrap()
            .iter()
            .map(|p| ((p.ts - T0) / MINUTE, p.count))
            .collect();
        assert_eq!(
            minutes,
            vec![(2, 1), (3, 1), (4, 1)],
            "a replaced report leaves no trace in its minute"
        );
        let hours = store
            .series(&all_time("s"), &SeriesMetric::Vital(VitalName::Cls), HOUR)
            .unwrap();
        assert_eq!(hours.iter().map(|p| p.count).sum::<u64>(), 3);

        let by_route: Vec<(String, u64)> = store
            .breakdown(&all_time("s"), VitalName::Cls, Dimension::Route, 10)
            .unwrap()
            .into_iter()
            .map(|row| (row.key, row.summary.count))
            .collect();
        assert_eq!(by_route, vec![("/".into(), 2), ("/cart".into(), 1)]);

        let targets: Vec<(String, u64)> = store
            .top_targets(&all_time("s"), VitalName::Cls, 10)
            .unwrap()
            .into_iter()
            .map(|t| (t.target, t.count))
            .collect();
        assert_eq!(
            targets,
            vec![("img.hero".into(), 2), ("p.note".into(), 1)],
            "replaced reports' targets are gone"
        );
    }

    pub fn read_your_writes(open: Factory) {
        let setup = Setup::new("ryw", 500);
        let Some(store) = open(&setup) else { return };
        for i in 0..5u64 {
            let batch = page_view("s", &format!("pv{i}"), "/")
                .vital(&format!("v{i}"), VitalName::Fcp, 900.0, T0 + i as i64)
                .build();
            insert(store.as_ref(), &[batch]);
            assert_eq!(
                count_of(store.as_ref(), &all_time("s"), VitalName::Fcp),
                i + 1
            );
        }
    }

    pub fn time_ranges(open: Factory) {
        let setup = Setup::new("ranges", 500);
        let Some(store) = open(&setup) else { return };
        // Edges of a minute, of an hour and of a day, and a spread over three days.
        let mut stamps = vec![
            T0,
            T0 + 1,
            T0 + MINUTE - 1,
            T0 + MINUTE,
            T0 + HOUR - 1,
            T0 + HOUR,
            T0 + DAY - 1,
            T0 + DAY,
        ];
        stamps.extend((0..300).map(|i| T0 + i * 863_017 % (3 * DAY)));
        let mut b = page_view("s", "pv", "/");
        for (i, ts) in stamps.iter().enumerate() {
            b = b.vital(&format!("v{i}"), VitalName::Lcp, 1000.0 + i as f64, *ts);
        }
        insert(store.as_ref(), &[b.build()]);
        let expect =
            |from: i64, to: i64| stamps.iter().filter(|t| **t >= from && **t < to).count() as u64;
        let ranges = [
            (T0, T0 + MINUTE),
            (T0 + 1, T0 + MINUTE),
            (T0, T0 + 1),
            (T0 + MINUTE - 1, T0 + MINUTE + 1),
            (T0 + 7, T0 + HOUR),
            (T0 + 59 * MINUTE + 30_000, T0 + 2 * HOUR + 17),
            (T0 + 3 * HOUR + 123, T0 + DAY + 5 * HOUR + 999),
            (T0, T0 + DAY),
            (T0, T0 + 3 * DAY),
            (T0 - DAY + 12_345, T0 + 2 * DAY + 54_321),
            (
                T0 + 17 * MINUTE + 5,
                T0 + 2 * DAY + 3 * HOUR + 7 * MINUTE + 11,
            ),
        ];
        for (from, to) in ranges {
            assert_eq!(
                count_of(store.as_ref(), &scope("s", from, to), VitalName::Lcp),
                expect(from, to),
                "range [{from}, {to}) relative to T0: [{}, {})",
                from - T0,
                to - T0
            );
        }
        // Empty ranges: nothing, but still one entry per vital.
        for (from, to) in [(T0, T0), (T0 + 5 * DAY, T0 + 6 * DAY)] {
            let vitals = store.vitals(&scope("s", from, to)).unwrap();
            assert_eq!(vitals.len(), VitalName::ALL.len());
            assert!(vitals.iter().all(|v| v.count == 0 && v.p75.is_none()));
            assert!(store.endpoints(&scope("s", from, to)).unwrap().is_empty());
        }
        // Another site's range sees nothing of this one.
        assert_eq!(
            count_of(
                store.as_ref(),
                &scope("nobody", T0, T0 + DAY),
                VitalName::Lcp
            ),
            0
        );
    }

    pub fn filters_on_every_dimension(open: Factory) {
        let setup = Setup::new("filters", 500);
        let Some(store) = open(&setup) else { return };
        let batches = varied_page_views("s");
        insert(store.as_ref(), &batches);
        let lcp: Vec<f64> = batches.iter().map(|b| b.batch.vitals[0].value).collect();
        for by in Dimension::ALL {
            let mut values: Vec<String> = batches.iter().map(|b| dimension_value(b, by)).collect();
            values.sort();
            values.dedup();
            assert!(values.len() >= 2, "{by:?} varies");
            for value in values {
                let mut s = scope("s", T0, T0 + DAY);
                s.filter = filter_on(by, &value);
                let matching: Vec<f64> = batches
                    .iter()
                    .zip(&lcp)
                    .filter(|(b, _)| dimension_value(b, by) == value)
                    .map(|(_, v)| *v)
                    .collect();
                let v = store.vitals(&s).unwrap()[0].clone();
                assert_eq!(v.count, matching.len() as u64, "{by:?} = {value}");
                assert_close(
                    &format!("{by:?}={value} p75"),
                    v.p75,
                    exact(&matching, 0.75),
                );
            }
        }
        // Filters combine.
        let mut s = scope("s", T0, T0 + DAY);
        s.filter.device = Some(DeviceClass::Mobile);
        s.filter.browser = Some("firefox".into());
        let expected = batches
            .iter()
            .filter(|b| b.batch.context.device == DeviceClass::Mobile && b.browser == "firefox")
            .count() as u64;
        assert_eq!(store.vitals(&s).unwrap()[0].count, expected);
        s.filter.browser = Some("opera".into());
        assert_eq!(store.vitals(&s).unwrap()[0].count, 0);
    }

    pub fn breakdowns_on_every_dimension(open: Factory) {
        let setup = Setup::new("breakdowns", 500);
        let Some(store) = open(&setup) else { return };
        let mut batches = varied_page_views("s");
        // Make route counts distinct so the order is fully determined.
        batches.truncate(239);
        insert(store.as_ref(), &batches);
        for by in Dimension::ALL {
            let rows = store
                .breakdown(&scope("s", T0, T0 + DAY), VitalName::Inp, by, 100)
                .unwrap();
            let mut expected: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
            for b in &batches {
                expected
                    .entry(dimension_value(b, by))
                    .or_default()
                    .push(b.batch.vitals[1].value);
            }
            assert_eq!(rows.len(), expected.len(), "{by:?}");
            for pair in rows.windows(2) {
                assert!(
                    pair[0].summary.count >= pair[1].summary.count,
                    "{by:?}: most samples first"
                );
            }
            for row in &rows {
                let values = &expected[&row.key];
                assert_eq!(row.summary.name, VitalName::Inp);
                assert_eq!(row.summary.count, values.len() as u64, "{by:?} {}", row.key);
                assert_close(
                    &format!("{by:?} {} p75", row.key),
                    row.summary.p75,
                    exact(values, 0.75),
                );
                let good = values
                    .iter()
                    .filter(|v| VitalName::Inp.rate(**v) == Rating::Good)
                    .count();
                assert_eq!(row.summary.good, good as u64);
            }
            let limited = store
                .breakdown(&scope("s", T0, T0 + DAY), VitalName::Inp, by, 1)
                .unwrap();
            assert_eq!(limited.len(), 1);
            assert_eq!(limited[0], rows[0]);
        }
    }

    pub fn series_bucketing(open: Factory) {
        let setup = Setup::new("series", 500);
        let Some(store) = open(&setup) else { return };
        // Minutes 0, 1, 2 and 7 of the day hold 1, 2, 3 and 4 LCPs; minute 12 holds
        // API calls, one in four failed.
        let mut b = page_view("s", "pv", "/");
        let mut n = 0;
        for (minute, count) in [(0, 1), (1, 2), (2, 3), (7, 4)] {
            for i in 0..count {
                n += 1;
                b = b.vital(
                    &format!("v{n}"),
                    VitalName::Lcp,
                    1000.0 * f64::from(i + 1),
                    T0 + minute * MINUTE + i64::from(i),
                );
            }
        }
        for i in 0..4 {
            let status = if i == 0 { 503 } else { 200 };
            b = b.call(
                &format!("c{i}"),
                "GET",
                "/api/x",
                status,
                100.0,
                T0 + 12 * MINUTE + i,
            );
        }
        b = b.call("other", "GET", "/api/y", 200, 5.0, T0 + 13 * MINUTE);
        insert(store.as_ref(), &[b.build()]);
        let s = scope("s", T0, T0 + HOUR);
        let points = store
            .series(&s, &SeriesMetric::Vital(VitalName::Lcp), 5 * MINUTE)
            .unwrap();
        let shape: Vec<(i64, u64)> = points.iter().map(|p| (p.ts - T0, p.count)).collect();
        assert_eq!(
            shape,
            vec![(0, 6), (5 * MINUTE, 4)],
            "ascending, empty buckets omitted"
        );
        assert_close("bucket 0 p50", points[0].p50, 1000.0);
        assert_close("bucket 0 p75", points[0].p75, 2000.0);
        assert_close("bucket 5 p95", points[1].p95, 4000.0);
        assert_eq!(points[0].error_rate, None);
        let minute_points = store
            .series(&s, &SeriesMetric::Vital(VitalName::Lcp), MINUTE)
            .unwrap();
        let counts: Vec<(i64, u64)> = minute_points
            .iter()
            .map(|p| ((p.ts - T0) / MINUTE, p.count))
            .collect();
        assert_eq!(counts, vec![(0, 1), (1, 2), (2, 3), (7, 4)]);
        // A range that starts mid-bucket: buckets stay aligned to multiples of their size.
        let mid = scope("s", T0 + MINUTE + 1, T0 + HOUR);
        let points = store
            .series(&mid, &SeriesMetric::Vital(VitalName::Lcp), 5 * MINUTE)
            .unwrap();
        let shape: Vec<(i64, u64)> = points.iter().map(|p| (p.ts - T0, p.count)).collect();
        assert_eq!(shape, vec![(0, 4), (5 * MINUTE, 4)]);
        let hourly = store
            .series(
                &scope("s", T0, T0 + DAY),
                &SeriesMetric::Vital(VitalName::Lcp),
                HOUR,
            )
            .unwrap();
        assert_eq!(
            hourly.iter().map(|p| (p.ts, p.count)).collect::<Vec<_>>(),
            vec![(T0, 10)]
        );

        let api = store
            .series(
                &s,
                &SeriesMetric::Api {
                    endpoint: Some(("GET".into(), "/api/x".into())),
                },
                5 * MINUTE,
            )
            .unwrap();
        assert_eq!(api.len(), 1);
        assert_eq!(
            (api[0].ts, api[0].count, api[0].error_rate),
            (T0 + 10 * MINUTE, 4, Some(0.25))
        );
        let all_api = store
            .series(&s, &SeriesMetric::Api { endpoint: None }, 5 * MINUTE)
            .unwrap();
        assert_eq!(all_api.iter().map(|p| p.count).sum::<u64>(), 5);
        assert!(store
            .series(&s, &SeriesMetric::Vital(VitalName::Lcp), 1000)
            .is_err());
    }

    pub fn top_targets(open: Factory) {
        let setup = Setup::new("targets", 500);
        let Some(store) = open(&setup) else { return };
        let mut b = page_view("s", "pv", "/");
        let hero: Vec<f64> = (1..=8).map(|i| 1000.0 * f64::from(i)).collect();
        for (i, v) in hero.iter().enumerate() {
            b = b.vital_with_target(
                &format!("h{i}"),
                VitalName::Lcp,
                *v,
                T0 + i as i64,
                "img.hero",
            );
        }
        for i in 0..3 {
            b = b.vital_with_target(&format!("p{i}"), VitalName::Lcp, 500.0, T0, "h1.title");
        }
        b = b
            .vital_with_target("c0", VitalName::Cls, 0.3, T0, "div.banner")
            .vital("plain", VitalName::Lcp, 700.0, T0);
        insert(store.as_ref(), &[b.build()]);
        let targets = store
            .top_targets(&all_time("s"), VitalName::Lcp, 10)
            .unwrap();
        let shape: Vec<(&str, u64)> = targets
            .iter()
            .map(|t| (t.target.as_str(), t.count))
            .collect();
        assert_eq!(shape, vec![("img.hero", 8), ("h1.title", 3)]);
        assert_close("hero p75", Some(targets[0].p75), exact(&hero, 0.75));
        assert_close("title p75", Some(targets[1].p75), 500.0);
        assert_eq!(
            store
                .top_targets(&all_time("s"), VitalName::Lcp, 1)
                .unwrap()
                .len(),
            1
        );
        let cls = store
            .top_targets(&all_time("s"), VitalName::Cls, 10)
            .unwrap();
        assert_eq!(cls.len(), 1);
        assert_eq!(cls[0].target, "div.banner");
    }

    pub fn samples_order_and_limit(open: Factory) {
        let setup = Setup::new("samples", 500);
        let Some(store) = open(&setup) else { return };
        let batches: Vec<AcceptedBatch> = (0..6)
            .map(|i| {
                let mut b = page_view("s", &format!("pv{i}"), "/p")
                    .context(
                        DeviceClass::Desktop,
                        ConnectionType::Cellular4g,
                        NavigationType::Reload,
                    )
                    .browser("safari");
                b = if i == 5 {
                    b.vital_with_target("v5", VitalName::Lcp, 1500.0, T0 + 5 * MINUTE, "img")
                } else {
                    b.vital(
                        &format!("v{i}"),
                        VitalName::Lcp,
                        100.0 * f64::from(i),
                        T0 + i64::from(i) * MINUTE,
                    )
                };
                b.vital(&format!("f{i}"), VitalName::Fcp, 50.0, T0).build()
            })
            .collect();
        insert(store.as_ref(), &batches);
        let samples = store.samples(&all_time("s"), VitalName::Lcp, 4).unwrap();
        let ids: Vec<&str> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["v5", "v4", "v3", "v2"], "newest first, limited");
        let newest = &samples[0];
        assert_eq!(
            (
                newest.ts,
                newest.page_view.as_str(),
                newest.route.as_str(),
                newest.name,
                newest.value
            ),
            (T0 + 5 * MINUTE, "pv5", "/p", VitalName::Lcp, 1500.0)
        );
        assert_eq!(
            (
                newest.device,
                newest.browser.as_str(),
                newest.connection,
                newest.navigation_type
            ),
            (
                DeviceClass::Desktop,
                "safari",
                ConnectionType::Cellular4g,
                NavigationType::Reload
            )
        );
        assert_eq!(newest.target.as_deref(), Some("img"));
        assert_eq!(samples[1].target, None);
        let mut on_route = all_time("s");
        on_route.filter = filter_on(Dimension::Route, "/p");
        assert_eq!(
            store.samples(&on_route, VitalName::Lcp, 4).unwrap(),
            samples,
            "a filter on a dimension every sample has keeps them all"
        );
        on_route.filter = filter_on(Dimension::Route, "/elsewhere");
        assert!(store
            .samples(&on_route, VitalName::Lcp, 4)
            .unwrap()
            .is_empty());
        let in_range = store
            .samples(
                &scope("s", T0 + MINUTE, T0 + 3 * MINUTE),
                VitalName::Lcp,
                10,
            )
            .unwrap();
        assert_eq!(
            in_range.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec!["v2", "v1"]
        );
    }

    pub fn api_call_samples_order_filter_and_limit(open: Factory) {
        let setup = Setup::new("api_samples", 500);
        let Some(store) = open(&setup) else { return };
        let batches: Vec<AcceptedBatch> = (0..5)
            .map(|i| {
                let device = if i % 2 == 0 {
                    DeviceClass::Mobile
                } else {
                    DeviceClass::Desktop
                };
                page_view("s", &format!("pv{i}"), "/shop")
                    .context(device, ConnectionType::Cellular3g, NavigationType::Navigate)
                    .browser("firefox")
                    .call(
                        &format!("a{i}"),
                        "POST",
                        "/api/cart",
                        if i == 4 { 503 } else { 201 },
                        10.0 * f64::from(i + 1),
                        T0 + i64::from(i) * MINUTE,
                    )
                    .build()
            })
            .collect();
        insert(store.as_ref(), &batches);
        // A retried batch adds no second row to the export.
        insert(store.as_ref(), &batches[4..]);
        let calls = store.api_call_samples(&all_time("s"), 3).unwrap();
        let ids: Vec<&str> = calls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["a4", "a3", "a2"],
            "newest first, once each, limited"
        );
        let newest = &calls[0];
        assert_eq!(
            (
                newest.ts,
                newest.page_view.as_str(),
                newest.route.as_str(),
                newest.method.as_str(),
                newest.path.as_str(),
                newest.status,
                newest.duration,
                newest.outcome.as_str(),
                newest.response_size,
            ),
            (
                T0 + 4 * MINUTE,
                "pv4",
                "/shop",
                "POST",
                "/api/cart",
                503,
                50.0,
                "http-error",
                Some(512)
            )
        );
        assert_eq!(
            (
                newest.device.as_str(),
                newest.browser.as_str(),
                newest.connection.as_str(),
                newest.navigation_type.as_str()
            ),
            ("mobile", "firefox", "3g", "navigate")
        );
        let mut desktop = scope("s", T0, T0 + 4 * MINUTE);
        desktop.filter = filter_on(Dimension::Device, "desktop");
        let in_range = store.api_call_samples(&desktop, 10).unwrap();
        assert_eq!(
            in_range.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            vec!["a3", "a1"],
            "range and filter apply"
        );
        assert!(store
            .api_call_samples(&scope("t", T0, T0 + DAY), 10)
            .unwrap()
            .is_empty());
    }

    pub fn cardinality_overflow_into_other(open: Factory) {
        let setup = Setup::new("cardinality", 3);
        let Some(store) = open(&setup) else { return };
        let batches: Vec<AcceptedBatch> = (0..6)
            .map(|i| {
                page_view("s", &format!("pv{i}"), &format!("/r{i}"))
                    .vital(&format!("v{i}"), VitalName::Lcp, 1000.0, T0)
                    .call(
                        &format!("c{i}"),
                        "GET",
                        &format!("/api/e{i}"),
                        200,
                        10.0,
                        T0,
                    )
                    .build()
            })
            .collect();
        // One at a time, as they would arrive.
        for b in &batches {
            insert(store.as_ref(), std::slice::from_ref(b));
        }
        let rows = store
            .breakdown(&all_time("s"), VitalName::Lcp, Dimension::Route, 10)
            .unwrap();
        let mut shape: Vec<(String, u64)> = rows
            .iter()
            .map(|r| (r.key.clone(), r.summary.count))
            .collect();
        shape.sort();
        assert_eq!(
            shape,
            vec![
                ("/r0".into(), 1),
                ("/r1".into(), 1),
                ("/r2".into(), 1),
                ("other".into(), 3)
            ]
        );
        let mut s = all_time("s");
        s.filter.route = Some("other".into());
        assert_eq!(store.vitals(&s).unwrap()[0].count, 3);
        // A route admitted earlier keeps its name.
        insert(
            store.as_ref(),
            &[page_view("s", "again", "/r1")
                .vital("late", VitalName::Lcp, 1.0, T0)
                .build()],
        );
        s.filter.route = Some("/r1".into());
        assert_eq!(store.vitals(&s).unwrap()[0].count, 2);
        let endpoints = store.endpoints(&all_time("s")).unwrap();
        let mut paths: Vec<(String, u64)> = endpoints
            .iter()
            .map(|e| (e.path.clone(), e.count))
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            vec![
                ("/api/e0".into(), 1),
                ("/api/e1".into(), 1),
                ("/api/e2".into(), 1),
                ("other".into(), 3)
            ]
        );
        // Another site has its own allowance.
        insert(
            store.as_ref(),
            &[page_view("t", "pv", "/r9")
                .vital("t1", VitalName::Lcp, 1.0, T0)
                .build()],
        );
        let rows = store
            .breakdown(&all_time("t"), VitalName::Lcp, Dimension::Route, 10)
            .unwrap();
        assert_eq!(rows[0].key, "/r9");
    }

    pub fn retention_per_level(open: Factory) {
        let setup = Setup::new("retention", 500);
        let Some(store) = open(&setup) else { return };
        let now = T0 + 200 * DAY;
        // 3 events 150 days old (only the day level keeps them), 2 events 30 days old
        // (hour and day), 1 event 2 hours old (everything).
        let old = T0 + 50 * DAY + 10 * HOUR + 5 * MINUTE;
        let month = now - 30 * DAY + 7 * MINUTE;
        let fresh = now - 2 * HOUR;
        let b = page_view("s", "pv", "/")
            .vital("o1", VitalName::Lcp, 1000.0, old)
            .vital("o2", VitalName::Lcp, 1000.0, old + 1)
            .vital("o3", VitalName::Lcp, 1000.0, old + 2)
            .vital("m1", VitalName::Lcp, 1000.0, month)
            .vital("m2", VitalName::Lcp, 1000.0, month + 1)
            .vital("f1", VitalName::Lcp, 1000.0, fresh)
            .call("oc", "GET", "/api", 200, 10.0, old)
            .build();
        insert(store.as_ref(), &[b]);
        let policy = RetentionPolicy {
            raw_ms: 7 * DAY,
            minute_ms: 7 * DAY,
            ten_minute_ms: 30 * DAY,
            hour_ms: 90 * DAY,
            day_ms: 730 * DAY,
        };
        let report = store.enforce_retention(&policy, now).unwrap();
        assert_eq!(report.raw, 6, "o1-o3, oc, m1, m2 leave the raw level");
        assert!(
            report.minute >= 3,
            "{report:?}: the minute cells of old and month"
        );
        assert!(
            report.ten_minute >= 2,
            "{report:?}: the ten-minute cells of old"
        );
        assert!(report.hour >= 2, "{report:?}: the hour cells of old");
        assert_eq!(report.day, 0, "{report:?}");
        // Raw samples: only the fresh event.
        let samples = store.samples(&all_time("s"), VitalName::Lcp, 10).unwrap();
        assert_eq!(
            samples.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec!["f1"]
        );
        // Whole days still count the old events; an hour inside that day no longer can.
        let old_day = old - old.rem_euclid(DAY);
        assert_eq!(
            count_of(
                store.as_ref(),
                &scope("s", old_day, old_day + DAY),
                VitalName::Lcp
            ),
            3
        );
        let old_hour = old - old.rem_euclid(HOUR);
        assert_eq!(
            count_of(
                store.as_ref(),
                &scope("s", old_hour, old_hour + HOUR),
                VitalName::Lcp
            ),
            0
        );
        let month_hour = month - month.rem_euclid(HOUR);
        assert_eq!(
            count_of(
                store.as_ref(),
                &scope("s", month_hour, month_hour + HOUR),
                VitalName::Lcp
            ),
            2
        );
        // Ten minutes of the month-old events: their minute rows are gone, their
        // ten-minute row is kept.
        let month_ten = month - month.rem_euclid(10 * MINUTE);
        assert_eq!(
            count_of(
                store.as_ref(),
                &scope("s", month_ten, month_ten + 10 * MINUTE),
                VitalName::Lcp
            ),
            2
        );
        assert_eq!(
            count_of(
                store.as_ref(),
                &scope("s", fresh, fresh + 1),
                VitalName::Lcp
            ),
            1
        );
        // A second pass finds nothing more to do.
        assert_eq!(
            store.enforce_retention(&policy, now).unwrap(),
            Default::default()
        );
        // Day retention goes too.
        let short = RetentionPolicy {
            day_ms: 100 * DAY,
            ..policy
        };
        let report = store.enforce_retention(&short, now).unwrap();
        assert!(report.day >= 1, "{report:?}");
        assert_eq!(
            count_of(
                store.as_ref(),
                &scope("s", old_day, old_day + DAY),
                VitalName::Lcp
            ),
            0
        );
    }

    pub fn all_event_kinds_accepted(open: Factory) {
        let setup = Setup::new("kinds", 500);
        let Some(store) = open(&setup) else { return };
        let b = page_view("s", "pv", "/")
            .vital("v", VitalName::Lcp, 1000.0, T0)
            .vital("fid", VitalName::Fid, 10.0, T0)
            .call("c", "GET", "/api", 200, 10.0, T0)
            .other_kinds("k", T0 + 5)
            .build();
        let total = b.batch.event_count() as u64;
        assert_eq!(total, 7);
        assert_eq!(
            insert(store.as_ref(), std::slice::from_ref(&b)),
            vec![InsertOutcome {
                stored: total,
                duplicates: 0
            }]
        );
        assert_eq!(
            insert(store.as_ref(), &[b]),
            vec![InsertOutcome {
                stored: 0,
                duplicates: total
            }]
        );
        let sites = store.sites().unwrap();
        assert_eq!((sites[0].events, sites[0].last_seen), (total, T0 + 5));
        // FID is stored but not part of the summary's list.
        let vitals = store.vitals(&all_time("s")).unwrap();
        assert!(vitals.iter().all(|v| v.name != VitalName::Fid));
        assert_eq!(
            store
                .samples(&all_time("s"), VitalName::Fid, 5)
                .unwrap()
                .len(),
            1
        );
    }

    /// What the trackers say they lost, and the batches that never came, per site.
    pub fn lost_events_and_missing_batches(open: Factory) {
        let setup = Setup::new("lost", 500);
        let Some(store) = open(&setup) else { return };
        let batch = |view: &str, seq: u32, lost: u32| {
            let mut b = page_view("s", view, "/")
                .vital(
                    &format!("{view}-{seq}"),
                    VitalName::Lcp,
                    900.0,
                    T0 + i64::from(seq),
                )
                .build();
            b.batch.seq = seq;
            b.batch.lost = lost;
            b
        };
        let losses = |store: &dyn Store| {
            let sites = store.sites().unwrap();
            let s = sites.iter().find(|s| s.site == "s").unwrap();
            (s.lost_events, s.missing_batches)
        };
        insert(store.as_ref(), &[batch("a", 0, 0), batch("a", 2, 4)]);
        // b's first batch (seq 0) never came.
        insert(store.as_ref(), &[batch("b", 1, 0)]);
        assert_eq!(losses(store.as_ref()), (4, 2));
        // A retried batch is not counted twice.
        insert(store.as_ref(), &[batch("a", 2, 4)]);
        assert_eq!(losses(store.as_ref()), (4, 2));
        // A late batch fills its gap.
        insert(store.as_ref(), &[batch("a", 1, 1)]);
        assert_eq!(losses(store.as_ref()), (5, 1));
        insert(
            store.as_ref(),
            &[page_view("t", "c", "/")
                .vital("t", VitalName::Lcp, 1.0, T0)
                .build()],
        );
        let t = store
            .sites()
            .unwrap()
            .into_iter()
            .find(|s| s.site == "t")
            .unwrap();
        assert_eq!((t.lost_events, t.missing_batches), (0, 0));
    }

    pub fn sites_listing(open: Factory) {
        let setup = Setup::new("sites", 500);
        let Some(store) = open(&setup) else { return };
        assert!(store.sites().unwrap().is_empty());
        insert(
            store.as_ref(),
            &[
                page_view("zeta", "p1", "/")
                    .vital("a", VitalName::Lcp, 1.0, T0 + 10)
                    .build(),
                page_view("alpha", "p2", "/")
                    .vital("b", VitalName::Lcp, 1.0, T0 + 20)
                    .call("c", "GET", "/x", 200, 1.0, T0 + 3 * DAY)
                    .build(),
            ],
        );
        let sites: Vec<(String, u64, i64)> = store
            .sites()
            .unwrap()
            .into_iter()
            .map(|s| (s.site, s.events, s.last_seen))
            .collect();
        assert_eq!(
            sites,
            vec![
                ("alpha".into(), 2, T0 + 3 * DAY),
                ("zeta".into(), 1, T0 + 10)
            ]
        );
    }

    /// Two collectors on one storage answer the same queries once each has flushed its
    /// own writes (which each one's first query does).
    pub fn two_instances_answer_alike(open: Factory) {
        let setup = Setup::new("two", 500);
        let Some(a) = open(&setup) else { return };
        let b = open(&setup).expect("second instance");
        let batches = varied_page_views("s");
        let (first, second) = batches.split_at(100);
        insert(a.as_ref(), first);
        insert(b.as_ref(), second);
        // The same retried batch through the other collector is still one event.
        insert(b.as_ref(), &first[..10]);
        let range = scope("s", T0, T0 + DAY);
        a.vitals(&range).unwrap();
        b.vitals(&range).unwrap();
        let from_a = a.vitals(&range).unwrap();
        assert_eq!(from_a, b.vitals(&range).unwrap());
        assert_eq!(from_a[0].count, 240);
        assert_eq!(
            a.breakdown(&range, VitalName::Cls, Dimension::Device, 10)
                .unwrap(),
            b.breakdown(&range, VitalName::Cls, Dimension::Device, 10)
                .unwrap()
        );
        assert_eq!(a.sites().unwrap(), b.sites().unwrap());
    }
}

/// Instantiates every case for one backend: `conformance_suite!(module, factory)`.
macro_rules! conformance_suite {
    ($backend:ident, $factory:expr) => {
        mod $backend {
            use super::*;
            conformance_suite!(@cases $factory;
                ingest_then_query,
                dedup_same_batch_twice,
                dedup_same_id_in_two_batches,
                latest_cls_and_inp_per_page_view,
                read_your_writes,
                time_ranges,
                filters_on_every_dimension,
                breakdowns_on_every_dimension,
                series_bucketing,
                top_targets,
                samples_order_and_limit,
                api_call_samples_order_filter_and_limit,
                cardinality_overflow_into_other,
                retention_per_level,
                all_event_kinds_accepted,
                sites_listing,
                lost_events_and_missing_batches,
                two_instances_answer_alike
            );
        }
    };
    (@cases $factory:expr; $($case:ident),+) => {
        $(
            #[test]
            fn $case() {
                cases::$case($factory);
            }
        )+
    };
}

conformance_suite!(clickhouse, support_store::clickhouse_store);

conformance_suite!(sqlite, support_store::sqlite_store);
