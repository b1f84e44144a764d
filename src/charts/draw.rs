//! Drawing with plotters onto a chart's canvas; returns where the data landed so the
//! hover readout can map the pointer back to a point.

use super::geometry::{downsample, value_extent, Framed, Scale};
use super::palette::Rgb;
use super::series::{ChartSeries, HistogramBar, SeriesRole, Unit};
use super::surface::{Colours, Surface};
use super::ticks::{format_time, time_axis, value_axis};
use super::units::format_value;
use perfscope_model::Rating;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

/// Data-to-CSS-pixel mapping of the plot area after a draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotLayout {
    pub x: Scale,
    pub y: Scale,
}

/// Whether a line chart draws its axes (LineChart) or only the lines (Sparkline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoration {
    Axes,
    Bare,
}

const FONT: &str = "system-ui, sans-serif";

/// The tick label font. Named directly: plotters' `From<&str>` lower-cases the name to
/// look for its generic families, which links Unicode's case tables (about 24 KB).
fn label_font(size: i32) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), f64::from(size), FontStyle::Normal)
}

/// A linear f64 axis whose ticks are the ones `ticks.rs` chose (plotters' own f64 axis
/// picks its own, and its key-point decorator cannot take a label formatter).
struct TickedAxis {
    scale: Scale,
    ticks: Vec<f64>,
}

impl TickedAxis {
    fn new(from: f64, to: f64, ticks: Vec<f64>) -> TickedAxis {
        TickedAxis {
            scale: Scale {
                domain: (from, to),
                range: (0.0, 1.0),
            },
            ticks,
        }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (start, end): (i32, i32)) -> i32 {
        let scale = Scale {
            range: (f64::from(start), f64::from(end)),
            ..self.scale
        };
        scale.to_pixel(*value).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.scale.domain.0..self.scale.domain.1
    }
}

fn colour(rgb: Rgb) -> RGBColor {
    RGBColor(rgb.0, rgb.1, rgb.2)
}

/// Which colour slot each series gets: the primary the first, the previous period the
/// primary's (faded and dashed), the others the next ones in turn.
pub fn series_colour_slots(series: &[ChartSeries]) -> Vec<usize> {
    let mut next_secondary = 1;
    series
        .iter()
        .map(|s| match s.role {
            SeriesRole::Primary | SeriesRole::PreviousPeriod => 0,
            SeriesRole::Secondary => {
                let slot = next_secondary;
                next_secondary = next_secondary % 3 + 1;
                slot
            }
        })
        .collect()
}

pub fn draw_lines(
    canvas: &HtmlCanvasElement,
    surface: Surface,
    framed: &Framed,
    unit: Unit,
    colours: &Colours,
    decoration: Decoration,
) -> Option<PlotLayout> {
    surface.apply_to(canvas);
    let series = &framed.series[..];
    let (t0, t1) = framed.domain;
    let (v0, v1) = value_extent(series)?;
    let values = value_axis(v0, v1, ((surface.css_height / 48.0) as usize).clamp(2, 8));
    let offset = super::surface::utc_offset_ms();
    let times = time_axis(
        t0,
        t1,
        ((surface.css_width / 110.0) as usize).clamp(2, 12),
        offset,
    );
    let px = |css: f64| surface.px(css);

    let root = CanvasBackend::with_canvas_object(canvas.clone())?.into_drawing_area();
    let mut builder = ChartBuilder::on(&root);
    match decoration {
        Decoration::Axes => builder
            .margin_top(px(10.0))
            .margin_right(px(18.0))
            .x_label_area_size(px(24.0))
            .y_label_area_size(px(64.0)),
        Decoration::Bare => builder.margin(px(2.0)),
    };
    let (y_min, y_max) = match decoration {
        Decoration::Axes => (values.min, values.max),
        // A sparkline shows the shape; anchoring it at zero would flatten it.
        Decoration::Bare if v1 > v0 => (v0, v1),
        Decoration::Bare => (v0 - 1.0, v1 + 1.0),
    };
    let mut chart = builder
        .build_cartesian_2d(
            TickedAxis::new(t0, t1, times.ticks.clone()),
            TickedAxis::new(y_min, y_max, values.ticks.clone()),
        )
        .ok()?;
    if decoration == Decoration::Axes {
        let label_style = label_font(px(12.0)).color(&colour(colours.text));
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(colour(colours.grid).stroke_width(px(1.0) as u32))
            .light_line_style(TRANSPARENT)
            .axis_style(colour(colours.axis).stroke_width(px(1.0) as u32))
            .set_all_tick_mark_size(px(4.0))
            .x_labels(times.ticks.len())
            .y_labels(values.ticks.len())
            .label_style(label_style)
            .x_label_formatter(&|t| format_time(*t, times.label, offset))
            .y_label_formatter(&|v| format_value(*v, unit))
            .draw()
            .ok()?;
    }

    let buckets = surface.css_width.max(1.0) as usize;
    let slots = series_colour_slots(series);
    // The previous period first so the current lines are drawn over it.
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|&i| match series[i].role {
        SeriesRole::PreviousPeriod => 0,
        SeriesRole::Secondary => 1,
        SeriesRole::Primary => 2,
    });
    for index in order {
        let s = &series[index];
        let points: Vec<(f64, f64)> = downsample(&s.points, buckets)
            .into_iter()
            .filter(|p| p.t_ms.is_finite() && p.value.is_finite())
            .map(|p| (p.t_ms, p.value))
            .collect();
        let rgb = colour(colours.series[slots[index]]);
        // A line needs two points: a lone one (the first minute of data, one bucket in
        // range) would otherwise leave the chart looking empty.
        if let [lone] = points[..] {
            chart
                .draw_series(std::iter::once(Circle::new(lone, px(3.0), rgb.filled())))
                .ok()?;
        }
        let drawn = match s.role {
            SeriesRole::PreviousPeriod => chart.draw_series(DashedLineSeries::new(
                points,
                px(6.0),
                px(4.0),
                rgb.mix(0.55).stroke_width(px(1.5) as u32),
            )),
            SeriesRole::Primary => {
                chart.draw_series(LineSeries::new(points, rgb.stroke_width(px(2.0) as u32)))
            }
            SeriesRole::Secondary => {
                chart.draw_series(LineSeries::new(points, rgb.stroke_width(px(1.5) as u32)))
            }
        };
        drawn.ok()?;
    }
    let layout = layout_of(
        chart.plotting_area().get_pixel_range(),
        surface,
        (t0, t1),
        (y_min, y_max),
    );
    root.present().ok()?;
    Some(layout)
}

pub fn draw_histogram(
    canvas: &HtmlCanvasElement,
    surface: Surface,
    bars: &[HistogramBar],
    unit: Unit,
    colours: &Colours,
) -> Option<PlotLayout> {
    surface.apply_to(canvas);
    let lower = bars
        .iter()
        .map(|b| b.lower)
        .filter(|v| v.is_finite())
        .reduce(f64::min)?;
    let upper = bars
        .iter()
        .map(|b| b.upper)
        .filter(|v| v.is_finite())
        .reduce(f64::max)?;
    let highest = bars.iter().map(|b| b.count).max()? as f64;
    let x_axis = value_axis(
        lower,
        upper,
        ((surface.css_width / 90.0) as usize).clamp(2, 10),
    );
    let y_axis = value_axis(
        0.0,
        highest,
        ((surface.css_height / 48.0) as usize).clamp(2, 6),
    );
    let px = |css: f64| surface.px(css);

    let root = CanvasBackend::with_canvas_object(canvas.clone())?.into_drawing_area();
    let mut chart = ChartBuilder::on(&root)
        .margin_top(px(10.0))
        .margin_right(px(18.0))
        .x_label_area_size(px(24.0))
        .y_label_area_size(px(56.0))
        .build_cartesian_2d(
            TickedAxis::new(x_axis.min, x_axis.max, x_axis.ticks.clone()),
            TickedAxis::new(y_axis.min, y_axis.max, y_axis.ticks.clone()),
        )
        .ok()?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(colour(colours.grid).stroke_width(px(1.0) as u32))
        .light_line_style(TRANSPARENT)
        .axis_style(colour(colours.axis).stroke_width(px(1.0) as u32))
        .set_all_tick_mark_size(px(4.0))
        .x_labels(x_axis.ticks.len())
        .y_labels(y_axis.ticks.len())
        .label_style(label_font(px(12.0)).color(&colour(colours.text)))
        .x_label_formatter(&|v| format_value(*v, unit))
        .y_label_formatter(&|v| format_value(*v, Unit::Count))
        .draw()
        .ok()?;
    chart
        .draw_series(bars.iter().filter(|b| b.upper > b.lower).map(|bar| {
            let fill = match bar.rating {
                Some(Rating::Good) => colours.good,
                Some(Rating::NeedsImprovement) => colours.needs_improvement,
                Some(Rating::Poor) => colours.poor,
                None => colours.series[0],
            };
            // A hairline gap keeps neighbouring bars of one colour apart.
            let gap = (bar.upper - bar.lower) * 0.04;
            Rectangle::new(
                [(bar.lower + gap, 0.0), (bar.upper - gap, bar.count as f64)],
                colour(fill).filled(),
            )
        }))
        .ok()?;
    let layout = layout_of(
        chart.plotting_area().get_pixel_range(),
        surface,
        (x_axis.min, x_axis.max),
        (y_axis.min, y_axis.max),
    );
    root.present().ok()?;
    Some(layout)
}

fn layout_of(
    (x_pixels, y_pixels): (std::ops::Range<i32>, std::ops::Range<i32>),
    surface: Surface,
    x_domain: (f64, f64),
    y_domain: (f64, f64),
) -> PlotLayout {
    let css = |device: i32| f64::from(device) / surface.device_pixel_ratio;
    PlotLayout {
        x: Scale {
            domain: x_domain,
            range: (css(x_pixels.start), css(x_pixels.end)),
        },
        y: Scale {
            domain: y_domain,
            range: (css(y_pixels.end), css(y_pixels.start)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(role: SeriesRole) -> ChartSeries {
        ChartSeries {
            label: String::new(),
            role,
            points: vec![],
        }
    }

    #[test]
    fn previous_period_shares_the_primary_colour_and_others_take_turns() {
        let all = [
            series(SeriesRole::Primary),
            series(SeriesRole::PreviousPeriod),
            series(SeriesRole::Secondary),
            series(SeriesRole::Secondary),
            series(SeriesRole::Secondary),
            series(SeriesRole::Secondary),
        ];
        assert_eq!(series_colour_slots(&all), vec![0, 0, 1, 2, 3, 1]);
    }
}
