//! Building blocks of the dashboard's pages, one per file.

mod empty_state;
mod endpoint_table;
mod error_panel;
mod site_picker;
mod skeleton;
mod vital_card;

pub use empty_state::EmptyState;
pub use endpoint_table::EndpointTable;
pub use error_panel::ErrorPanel;
pub use site_picker::SitePicker;
pub use skeleton::{SitePickerSkeleton, SummarySkeleton};
pub use vital_card::VitalCard;
