//! Charts drawn on `<canvas>` with plotters-canvas; the views pass data, never pixels.
//!
//! Every chart reserves its height before data arrives, so nothing below it shifts, and
//! carries a text alternative for screen readers.

mod line_chart;
mod series;

pub use line_chart::{Histogram, LineChart, Sparkline};
pub use series::{ChartPoint, ChartSeries, HistogramBar, SeriesRole, Unit};
