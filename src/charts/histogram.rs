//! The Histogram component: a value distribution as bars coloured by rating.

use super::draw::{draw_histogram, PlotLayout};
use super::geometry::bar_at;
use super::readout::{HoverReadout, Readout};
use super::series::{HistogramBar, Unit};
use super::summary::histogram_summary;
use super::surface::{use_surface, use_theme_changes, Colours};
use super::units::format_value;
use crate::format::format_count;
use leptos::prelude::*;
use web_sys::PointerEvent;

/// A value distribution as bars.
#[component]
pub fn Histogram(
    #[prop(into)] bars: Signal<Vec<HistogramBar>>,
    unit: Unit,
    #[prop(into)] label: String,
    #[prop(default = 200)] height: u32,
    /// While true, no bars means "not yet" rather than "nothing to show".
    #[prop(optional, into)]
    loading: MaybeProp<bool>,
) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let surface = use_surface(canvas);
    let theme = use_theme_changes();
    let layout = StoredValue::new(None::<PlotLayout>);
    let (readout, set_readout) = signal(None::<Readout>);

    Effect::new(move |_| {
        theme.track();
        let (Some(surface), Some(element)) = (surface.get(), canvas.get()) else {
            return;
        };
        let colours = Colours::of(&element);
        let drawn = bars.with(|all| draw_histogram(&element, surface, all, unit, &colours));
        if drawn.is_none() {
            surface.apply_to(&element);
        }
        layout.set_value(drawn);
        set_readout.set(None);
    });

    let on_pointer_move = move |event: PointerEvent| {
        let Some(plot) = layout.get_value() else {
            return;
        };
        let value = plot.x.to_value(f64::from(event.offset_x()));
        let found = bars.with_untracked(|all| bar_at(all, value).copied());
        set_readout.set(found.map(|bar| {
            let left = plot.x.to_pixel((bar.lower + bar.upper) / 2.0);
            let (start, end) = plot.x.range;
            Readout {
                text: format!(
                    "{} – {}: {}",
                    format_value(bar.lower, unit),
                    format_value(bar.upper, unit),
                    format_count(bar.count)
                ),
                left,
                top: plot.y.to_pixel(bar.count as f64),
                flip: left > start + (end - start) * 0.6,
            }
        }));
    };

    let has_data = Memo::new(move |_| bars.with(|all| all.iter().any(|b| b.count > 0)));
    let empty = move || !has_data.get() && !loading.get().unwrap_or(false);
    let summary = move || bars.with(|all| histogram_summary(all, unit));
    view! {
        <figure class="chart" style:height=format!("{height}px")>
            <div class="chart-plot">
                <canvas node_ref=canvas role="img" aria-label=label.clone()
                    on:pointermove=on_pointer_move on:pointerleave=move |_| set_readout.set(None)></canvas>
                <HoverReadout readout />
                <Show when=empty>
                    <p class="chart-empty">"No data for this range"</p>
                </Show>
            </div>
            <figcaption class="chart-summary">{label}". "{summary}</figcaption>
        </figure>
    }
}
