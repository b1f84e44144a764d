//! Charts drawn on `<canvas>` with plotters-canvas; the views pass data, never pixels.
//!
//! Every chart reserves its height before data arrives, so nothing below it shifts, and
//! carries a text alternative for screen readers. The arithmetic (ticks, scales, units,
//! nearest point, downsampling, summaries) is plain Rust, tested natively; the modules
//! that touch the DOM are `surface`, `draw`, `readout` and the components.

// Until the views mount these components (dash-views builds them in parallel) only the
// component tests reach them; this goes when the pages use the charts.

#[cfg(all(test, target_arch = "wasm32"))]
mod component_tests;
mod draw;
mod geometry;
mod histogram;
mod line_chart;
mod palette;
mod readout;
mod series;
mod summary;
mod surface;
mod ticks;
mod units;

pub use histogram::Histogram;
pub use line_chart::{LineChart, Sparkline};
pub use series::{ChartPoint, ChartSeries, HistogramBar, SeriesRole, Unit};
