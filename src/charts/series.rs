//! The data a chart draws, independent of how it is drawn.

use perfscope_model::Rating;

/// One sample of a time series: `t_ms` is Unix epoch milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartPoint {
    pub t_ms: f64,
    pub value: f64,
}

/// How a series is drawn relative to the others on the same axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesRole {
    /// The series the reader is looking at.
    Primary,
    /// The same metric over the previous period, shifted onto the current time axis.
    PreviousPeriod,
    /// Another series on the same axes (p95 beside p75, tx beside rx, one CPU core …).
    Secondary,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    /// Shown in the legend, the hover readout and the text alternative.
    pub label: String,
    pub role: SeriesRole,
    pub points: Vec<ChartPoint>,
}

/// What the values of an axis measure; decides tick labels and the hover readout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    /// Unitless (CLS, the 0–100 score).
    Score,
    /// Values in `0..=1`, shown as percentages.
    Ratio,
    Bytes,
    BytesPerSecond,
    PerMinute,
    Count,
}

/// One bar of a value distribution: values in `lower..upper`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramBar {
    pub lower: f64,
    pub upper: f64,
    pub count: u64,
    /// Colours the bar by the web.dev rating of its values, where the metric has one.
    pub rating: Option<Rating>,
}
