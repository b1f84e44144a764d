//! Building blocks of the dashboard's pages, one per file.

mod empty_state;
mod endpoint_table;
mod filter_bar;
mod loaded;
mod rating_bar;
mod score_gauge;
mod search_box;
mod vital_card;

pub use empty_state::EmptyState;
pub use endpoint_table::EndpointTable;
pub use filter_bar::FilterBar;
pub use loaded::{loaded, loaded_or, panel_skeleton};
pub use rating_bar::RatingBar;
pub use score_gauge::ScoreGauge;
pub use search_box::SearchBox;
pub use vital_card::VitalCard;
