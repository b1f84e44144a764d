//! The time-series components: LineChart (axes, legend, previous-period overlay) and
//! Sparkline (the line alone, for cards and table rows).

use super::draw::{draw_lines, series_colour_slots, Decoration, PlotLayout};
use super::geometry::{frame, nearest_point};
use super::readout::{HoverReadout, Readout};
use super::series::{ChartPoint, ChartSeries, SeriesRole, Unit};
use super::summary::{points_summary, series_summary};
use super::surface::{use_surface, use_theme_changes, utc_offset_ms, Colours};
use super::ticks::{format_time, readout_label};
use super::units::format_value;
use leptos::prelude::*;
use web_sys::PointerEvent;

/// Time series on shared axes: one or more series, optional previous-period overlay.
#[component]
pub fn LineChart(
    #[prop(into)] series: Signal<Vec<ChartSeries>>,
    unit: Unit,
    /// Accessible name, e.g. "LCP p75 over the last 24 hours".
    #[prop(into)]
    label: String,
    #[prop(default = 240)] height: u32,
    /// While true, an empty series means "not yet" rather than "nothing to show".
    #[prop(optional, into)]
    loading: MaybeProp<bool>,
    /// The time axis, epoch ms from → to (the chosen range); the data's extent if unset.
    #[prop(optional, into)]
    time_range: MaybeProp<(f64, f64)>,
) -> impl IntoView {
    let legend = move || {
        series.with(|all| {
            let slots = series_colour_slots(all);
            all.iter()
                .zip(slots)
                .map(|(s, slot)| {
                    let swatch = format!("chart-swatch chart-colour-{slot}");
                    let previous = s.role == SeriesRole::PreviousPeriod;
                    let name = if previous {
                        format!("{} (previous period)", s.label)
                    } else {
                        s.label.clone()
                    };
                    view! {
                        <li class="chart-legend-item">
                            <span class=swatch class:chart-swatch-previous=previous></span>
                            {name}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let summary = move || series.with(|all| series_summary(all, unit));
    view! {
        <figure class="chart" style:height=format!("{height}px")>
            <ul class="chart-legend">{legend}</ul>
            <TimeSeriesPlot series unit label=label.clone() decoration=Decoration::Axes loading time_range />
            <figcaption class="chart-summary">{label}". "{summary}</figcaption>
        </figure>
    }
}

/// A small trend line without axes, for cards and table rows.
#[component]
pub fn Sparkline(
    #[prop(into)] points: Signal<Vec<ChartPoint>>,
    #[prop(into)] label: String,
    #[prop(default = 32)] height: u32,
    /// How the hover readout and the text alternative show values; plain numbers if unset.
    #[prop(optional)]
    unit: Option<Unit>,
    #[prop(optional, into)] loading: MaybeProp<bool>,
    /// The time axis, epoch ms from → to (the chosen range); the data's extent if unset.
    #[prop(optional, into)]
    time_range: MaybeProp<(f64, f64)>,
) -> impl IntoView {
    let unit = unit.unwrap_or(Unit::Score);
    let series_label = label.clone();
    let series = Signal::derive(move || {
        vec![ChartSeries {
            label: series_label.clone(),
            role: SeriesRole::Primary,
            points: points.get(),
        }]
    });
    let summary = move || points.with(|p| points_summary(p, unit));
    view! {
        <span class="sparkline" style:height=format!("{height}px")>
            <TimeSeriesPlot series unit label=label.clone() decoration=Decoration::Bare loading time_range />
            <span class="chart-summary">{label}". "{summary}</span>
        </span>
    }
}

/// The canvas, its hover readout and its empty state, shared by both components.
#[component]
fn TimeSeriesPlot(
    series: Signal<Vec<ChartSeries>>,
    unit: Unit,
    label: String,
    decoration: Decoration,
    loading: MaybeProp<bool>,
    time_range: MaybeProp<(f64, f64)>,
) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let surface = use_surface(canvas);
    let theme = use_theme_changes();
    let layout = StoredValue::new(None::<PlotLayout>);
    let (readout, set_readout) = signal(None::<Readout>);
    let framed = Memo::new(move |_| series.with(|all| frame(all, time_range.get())));

    Effect::new(move |_| {
        theme.track();
        let (Some(surface), Some(element)) = (surface.get(), canvas.get()) else {
            return;
        };
        let colours = Colours::of(&element);
        let drawn = framed.with(|framed| {
            framed
                .as_ref()
                .and_then(|f| draw_lines(&element, surface, f, unit, &colours, decoration))
        });
        if drawn.is_none() {
            // Nothing to draw: clear what the previous data left.
            surface.apply_to(&element);
        }
        layout.set_value(drawn);
        set_readout.set(None);
    });

    let on_pointer_move = move |event: PointerEvent| {
        let Some(plot) = layout.get_value() else {
            return;
        };
        let t_ms = plot.x.to_value(f64::from(event.offset_x()));
        let found = framed.with_untracked(|framed| {
            let framed = framed.as_ref()?;
            let all = &framed.series;
            let (index, point) = nearest_point(all, t_ms)?;
            let (from, to) = framed.domain;
            let name = match all[index].role {
                SeriesRole::PreviousPeriod => format!("{} (previous period)", all[index].label),
                SeriesRole::Primary | SeriesRole::Secondary => all[index].label.clone(),
            };
            let when = format_time(point.t_ms, readout_label(from, to), utc_offset_ms());
            Some((
                format!("{name}: {} · {when}", format_value(point.value, unit)),
                point,
            ))
        });
        set_readout.set(found.map(|(text, point)| {
            let left = plot.x.to_pixel(point.t_ms);
            let (start, end) = plot.x.range;
            Readout {
                text,
                left,
                top: plot.y.to_pixel(point.value),
                flip: left > start + (end - start) * 0.6,
            }
        }));
    };

    let empty = move || framed.with(Option::is_none) && !loading.get().unwrap_or(false);
    view! {
        <div class="chart-plot">
            <canvas node_ref=canvas role="img" aria-label=label
                on:pointermove=on_pointer_move on:pointerleave=move |_| set_readout.set(None)></canvas>
            <HoverReadout readout />
            <Show when=empty>
                <p class="chart-empty">"No data for this range"</p>
            </Show>
        </div>
    }
}
