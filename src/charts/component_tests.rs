//! The chart components mounted in headless Chromium (wasm-bindgen-test): backing store
//! sized by devicePixelRatio, pixels drawn, hover readout, empty state, text alternative.
//! `cargo xtask test` runs them with src/charts/webdriver.json (pixel ratio 2).

use super::{
    ChartPoint, ChartSeries, Histogram, HistogramBar, LineChart, SeriesRole, Sparkline, Unit,
};
use leptos::prelude::*;
use perfscope_model::Rating;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlElement, PointerEvent, PointerEventInit,
};

wasm_bindgen_test_configure!(run_in_browser);

/// 2026-11-22 00:00 UTC.
const NOV_22: f64 = 1_795_305_600_000.0;

/// A fixed-size host with the charts' stylesheet, as the dashboard page has it.
fn host(width_px: u32) -> HtmlElement {
    let document = document();
    if document.get_element_by_id("charts-css").is_none() {
        let style = document.create_element("style").unwrap();
        style.set_id("charts-css");
        style.set_text_content(Some(include_str!("../../style/charts.css")));
        document.head().unwrap().append_child(&style).unwrap();
    }
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    host.style()
        .set_property("width", &format!("{width_px}px"))
        .unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    host
}

/// Waits until the ResizeObserver has reported and the effect has drawn, or 2 s.
async fn settle(until: impl Fn() -> bool) {
    for _ in 0..100 {
        if until() {
            return;
        }
        sleep_ms(20).await;
    }
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn canvas_in(host: &HtmlElement) -> HtmlCanvasElement {
    host.query_selector("canvas")
        .unwrap()
        .expect("a canvas")
        .unchecked_into()
}

/// Pixels with any opacity: what the drawing left on the canvas.
fn painted_pixels(canvas: &HtmlCanvasElement) -> usize {
    let context: CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let data = context
        .get_image_data(
            0.0,
            0.0,
            f64::from(canvas.width()),
            f64::from(canvas.height()),
        )
        .unwrap()
        .data();
    data.chunks(4).filter(|rgba| rgba[3] > 0).count()
}

fn text_of(host: &HtmlElement, selector: &str) -> Option<String> {
    host.query_selector(selector)
        .unwrap()
        .and_then(|e| e.text_content())
}

fn latency_series() -> Vec<ChartSeries> {
    let points = |scale: f64| {
        (0..288)
            .map(|i| ChartPoint {
                t_ms: NOV_22 + f64::from(i) * 300_000.0,
                value: scale * (800.0 + 400.0 * (f64::from(i) / 20.0).sin()),
            })
            .collect()
    };
    vec![
        ChartSeries {
            label: "LCP p75".into(),
            role: SeriesRole::Primary,
            points: points(1.0),
        },
        ChartSeries {
            label: "LCP p75".into(),
            role: SeriesRole::PreviousPeriod,
            points: points(1.3),
        },
    ]
}

fn hover(canvas: &HtmlCanvasElement, x_fraction: f64) {
    let rect = canvas.get_bounding_client_rect();
    let init = PointerEventInit::new();
    init.set_client_x((rect.left() + rect.width() * x_fraction) as i32);
    init.set_client_y((rect.top() + rect.height() / 2.0) as i32);
    init.set_bubbles(true);
    let event = PointerEvent::new_with_event_init_dict("pointermove", &init).unwrap();
    canvas.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn line_chart_is_sharp_drawn_hoverable_and_described() {
    let host = host(600);
    let series = RwSignal::new(latency_series());
    let mounted = leptos::mount::mount_to(host.clone(), move || {
        view! { <LineChart series unit=Unit::Milliseconds label="LCP p75, last 24 hours" height=240 /> }
    });
    let canvas = canvas_in(&host);
    settle(|| painted_pixels(&canvas) > 0).await;

    let ratio = window().device_pixel_ratio();
    assert!(
        ratio >= 2.0,
        "webdriver.json asks for a pixel ratio of 2, got {ratio}"
    );
    let (css_width, css_height) = (canvas.client_width(), canvas.client_height());
    assert_eq!(
        canvas.width(),
        (f64::from(css_width) * ratio).round() as u32
    );
    assert_eq!(
        canvas.height(),
        (f64::from(css_height) * ratio).round() as u32
    );
    assert_eq!(
        host.get_bounding_client_rect().height(),
        240.0,
        "the height is reserved"
    );

    let painted = painted_pixels(&canvas);
    assert!(painted > 2_000, "only {painted} pixels drawn");
    assert!(text_of(&host, ".chart-empty").is_none());
    assert_eq!(
        canvas.get_attribute("aria-label").as_deref(),
        Some("LCP p75, last 24 hours")
    );
    let summary = text_of(&host, ".chart-summary").unwrap();
    assert!(summary.contains("LCP p75: latest"), "{summary}");
    assert!(summary.contains("(previous period)"), "{summary}");
    let legend = text_of(&host, ".chart-legend").unwrap();
    assert!(legend.contains("LCP p75 (previous period)"), "{legend}");

    hover(&canvas, 0.5);
    settle(|| text_of(&host, ".chart-readout").is_some()).await;
    let readout = text_of(&host, ".chart-readout").expect("a hover readout");
    assert!(readout.starts_with("LCP p75"), "{readout}");
    assert!(
        readout.contains(" ms · ") || readout.contains(" s · "),
        "{readout}"
    );

    // New data redraws; no data clears the canvas and says so.
    series.set(Vec::new());
    settle(|| text_of(&host, ".chart-empty").is_some()).await;
    assert_eq!(
        text_of(&host, ".chart-empty").as_deref(),
        Some("No data for this range")
    );
    assert_eq!(painted_pixels(&canvas), 0);
    drop(mounted);
}

#[wasm_bindgen_test]
async fn line_chart_redraws_when_resized() {
    let host = host(400);
    let mounted = leptos::mount::mount_to(host.clone(), move || {
        view! { <LineChart series=latency_series() unit=Unit::Milliseconds label="LCP" /> }
    });
    let canvas = canvas_in(&host);
    settle(|| painted_pixels(&canvas) > 0).await;
    let before = canvas.width();
    host.style().set_property("width", "700px").unwrap();
    settle(|| canvas.width() != before).await;
    let ratio = window().device_pixel_ratio();
    assert_eq!(
        canvas.width(),
        (f64::from(canvas.client_width()) * ratio).round() as u32
    );
    assert!(canvas.width() > before);
    settle(|| painted_pixels(&canvas) > 0).await;
    assert!(painted_pixels(&canvas) > 2_000);
    drop(mounted);
}

#[wasm_bindgen_test]
async fn empty_line_chart_shows_the_empty_state_unless_loading() {
    let host = host(400);
    let loading = RwSignal::new(true);
    let mounted = leptos::mount::mount_to(host.clone(), move || {
        view! { <LineChart series=Vec::new() unit=Unit::Ratio label="Error rate" height=180 loading /> }
    });
    sleep_ms(100).await;
    assert!(
        text_of(&host, ".chart-empty").is_none(),
        "no empty state while loading"
    );
    assert_eq!(host.get_bounding_client_rect().height(), 180.0);
    loading.set(false);
    settle(|| text_of(&host, ".chart-empty").is_some()).await;
    assert_eq!(
        text_of(&host, ".chart-empty").as_deref(),
        Some("No data for this range")
    );
    assert_eq!(
        host.get_bounding_client_rect().height(),
        180.0,
        "no layout shift"
    );
    assert!(text_of(&host, ".chart-summary")
        .unwrap()
        .contains("No data"));
    drop(mounted);
}

#[wasm_bindgen_test]
async fn sparkline_draws_and_reads_out() {
    let host = host(160);
    let points: Vec<ChartPoint> = (0..60)
        .map(|i| ChartPoint {
            t_ms: NOV_22 + f64::from(i) * 60_000.0,
            value: f64::from(i % 7),
        })
        .collect();
    let mounted = leptos::mount::mount_to(host.clone(), move || {
        view! { <Sparkline points=points.clone() label="Calls per minute" unit=Unit::PerMinute /> }
    });
    let canvas = canvas_in(&host);
    settle(|| painted_pixels(&canvas) > 0).await;
    let ratio = window().device_pixel_ratio();
    assert_eq!(
        canvas.width(),
        (f64::from(canvas.client_width()) * ratio).round() as u32
    );
    assert_eq!(canvas.client_height(), 32);
    assert!(painted_pixels(&canvas) > 100);
    hover(&canvas, 0.9);
    settle(|| text_of(&host, ".chart-readout").is_some()).await;
    let readout = text_of(&host, ".chart-readout").expect("a hover readout");
    assert!(readout.contains("/min"), "{readout}");
    assert!(text_of(&host, ".chart-summary").unwrap().contains("Latest"));
    drop(mounted);
}

#[wasm_bindgen_test]
async fn histogram_draws_bars_and_reads_out_counts() {
    let host = host(500);
    let bars = RwSignal::new(
        (0..10)
            .map(|i| HistogramBar {
                lower: f64::from(i) * 500.0,
                upper: f64::from(i + 1) * 500.0,
                count: [3, 40, 120, 80, 30, 12, 6, 3, 1, 1][i as usize],
                rating: Some(match i {
                    0..=4 => Rating::Good,
                    5..=7 => Rating::NeedsImprovement,
                    _ => Rating::Poor,
                }),
            })
            .collect::<Vec<_>>(),
    );
    let mounted = leptos::mount::mount_to(host.clone(), move || {
        view! { <Histogram bars unit=Unit::Milliseconds label="LCP distribution" /> }
    });
    let canvas = canvas_in(&host);
    settle(|| painted_pixels(&canvas) > 0).await;
    let ratio = window().device_pixel_ratio();
    assert_eq!(
        canvas.height(),
        (f64::from(canvas.client_height()) * ratio).round() as u32
    );
    assert!(painted_pixels(&canvas) > 5_000);
    hover(&canvas, 0.3);
    settle(|| text_of(&host, ".chart-readout").is_some()).await;
    let readout = text_of(&host, ".chart-readout").expect("a hover readout");
    assert!(
        readout.contains(" – ") && readout.contains(": "),
        "{readout}"
    );
    assert!(text_of(&host, ".chart-summary")
        .unwrap()
        .contains("296 values"));

    bars.set(Vec::new());
    settle(|| text_of(&host, ".chart-empty").is_some()).await;
    assert_eq!(painted_pixels(&canvas), 0);
    drop(mounted);
}

/// The rightmost canvas column with any pixel drawn, as a share of the canvas width.
fn rightmost_painted(canvas: &HtmlCanvasElement) -> f64 {
    let context: CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let (width, height) = (canvas.width(), canvas.height());
    let data = context
        .get_image_data(0.0, 0.0, f64::from(width), f64::from(height))
        .unwrap()
        .data();
    let rightmost = data
        .chunks(4)
        .enumerate()
        .filter(|(_, rgba)| rgba[3] > 0)
        .map(|(i, _)| i as u32 % width)
        .max()
        .unwrap_or(0);
    f64::from(rightmost) / f64::from(width)
}

#[wasm_bindgen_test]
async fn the_time_axis_spans_the_chosen_range_not_the_data() {
    const DAY: f64 = 86_400_000.0;
    // Data only for the first half of a 24-hour range: the collector started at noon.
    let first_half: Vec<ChartPoint> = (0..72)
        .map(|i| ChartPoint {
            t_ms: NOV_22 + f64::from(i) * 600_000.0,
            value: 900.0 + 100.0 * f64::from(i % 5),
        })
        .collect();
    let range = (NOV_22, NOV_22 + DAY);

    // A sparkline has no axes or grid: every pixel is the line.
    let spanned = host(400);
    let points = first_half.clone();
    let mounted_spanned = leptos::mount::mount_to(spanned.clone(), move || {
        view! { <Sparkline points=points.clone() label="LCP" time_range=range /> }
    });
    let fitted = host(400);
    let points = first_half.clone();
    let mounted_fitted = leptos::mount::mount_to(fitted.clone(), move || {
        view! { <Sparkline points=points.clone() label="LCP" /> }
    });
    let (spanned_canvas, fitted_canvas) = (canvas_in(&spanned), canvas_in(&fitted));
    settle(|| painted_pixels(&spanned_canvas) > 0 && painted_pixels(&fitted_canvas) > 0).await;
    let spanned_right = rightmost_painted(&spanned_canvas);
    let fitted_right = rightmost_painted(&fitted_canvas);
    assert!(
        (0.4..0.56).contains(&spanned_right),
        "half a day of data ends halfway along a day's axis, not at {spanned_right}"
    );
    assert!(
        fitted_right > 0.95,
        "without a range the data fills the axis: {fitted_right}"
    );

    // Line charts over the same range: the current data stops halfway; the previous
    // day, shifted by a day onto the same axis, reaches its end. (Grid lines cross the
    // whole plot, so the charts are compared with each other.)
    let primary = ChartSeries {
        label: "LCP p75".into(),
        role: SeriesRole::Primary,
        points: first_half,
    };
    let previous = ChartSeries {
        label: "LCP p75".into(),
        role: SeriesRole::PreviousPeriod,
        points: (0..144)
            .map(|i| ChartPoint {
                t_ms: NOV_22 + f64::from(i) * 600_000.0,
                value: 1_000.0,
            })
            .collect(),
    };
    let chart = |series: Vec<ChartSeries>, range: Option<(f64, f64)>| {
        let host = host(600);
        let mounted = leptos::mount::mount_to(host.clone(), move || {
            view! { <LineChart series=series.clone() unit=Unit::Milliseconds label="LCP" time_range=range /> }
        });
        (host, mounted)
    };
    let (alone, mounted_alone) = chart(vec![primary.clone()], Some(range));
    let (overlaid, mounted_overlaid) = chart(vec![primary.clone(), previous], Some(range));
    let (fitted_chart, mounted_fitted_chart) = chart(vec![primary], None);
    let canvases = [&alone, &overlaid, &fitted_chart].map(canvas_in);
    settle(|| canvases.iter().all(|c| painted_pixels(c) > 0)).await;
    let [alone_end, overlaid_end, fitted_end] = canvases
        .each_ref()
        .map(|c| painted_in_columns(c, 0.7, 0.95));
    assert!(
        overlaid_end > alone_end + 100,
        "the previous period reaches the end of the axis: {overlaid_end} vs {alone_end} pixels"
    );
    assert!(
        fitted_end > alone_end + 100,
        "without a range the current data reaches the end: {fitted_end} vs {alone_end} pixels"
    );
    drop((
        mounted_spanned,
        mounted_fitted,
        mounted_alone,
        mounted_overlaid,
        mounted_fitted_chart,
    ));
}

/// Pixels drawn in the canvas columns from `from` to `to` (shares of its width).
fn painted_in_columns(canvas: &HtmlCanvasElement, from: f64, to: f64) -> usize {
    let context: CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let width = f64::from(canvas.width());
    let (x0, x1) = ((width * from).floor(), (width * to).ceil());
    let data = context
        .get_image_data(x0, 0.0, x1 - x0, f64::from(canvas.height()))
        .unwrap()
        .data();
    data.chunks(4).filter(|rgba| rgba[3] > 0).count()
}
