//! The chart components. CONTRACT ONLY: the signatures are fixed, the drawing is being
//! written (plotters-canvas, high-DPI, redraw on resize, hover readout, axes with units).

use super::series::{ChartPoint, ChartSeries, HistogramBar, Unit};
use leptos::prelude::*;

/// Time series on shared axes: one or more series, optional previous-period overlay.
#[component]
pub fn LineChart(
    #[prop(into)] series: Signal<Vec<ChartSeries>>,
    unit: Unit,
    /// Accessible name, e.g. "LCP p75 over the last 24 hours".
    #[prop(into)]
    label: String,
    #[prop(default = 240)] height: u32,
) -> impl IntoView {
    let _ = (series, unit);
    view! {
        <figure class="chart" style:height=format!("{height}px")>
            <canvas aria-label=label role="img"></canvas>
        </figure>
    }
}

/// A small trend line without axes, for cards and table rows.
#[component]
pub fn Sparkline(
    #[prop(into)] points: Signal<Vec<ChartPoint>>,
    #[prop(into)] label: String,
    #[prop(default = 32)] height: u32,
) -> impl IntoView {
    let _ = points;
    view! {
        <canvas class="sparkline" style:height=format!("{height}px") aria-label=label role="img"></canvas>
    }
}

/// A value distribution as bars.
#[component]
pub fn Histogram(
    #[prop(into)] bars: Signal<Vec<HistogramBar>>,
    unit: Unit,
    #[prop(into)] label: String,
    #[prop(default = 200)] height: u32,
) -> impl IntoView {
    let _ = (bars, unit);
    view! {
        <figure class="chart" style:height=format!("{height}px")>
            <canvas aria-label=label role="img"></canvas>
        </figure>
    }
}
