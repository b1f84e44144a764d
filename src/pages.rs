//! The dashboard's routed pages, one per file.

mod alerts;
mod api_calls;
mod cache;
mod endpoint_detail;
mod login;
mod monitor_chart;
mod not_found;
mod overview;
mod page_detail;
mod pages_list;
mod system;
mod trends;

pub use alerts::Alerts;
pub use api_calls::ApiCalls;
pub use cache::Cache;
pub use endpoint_detail::EndpointDetail;
pub use login::{return_path, Login};
pub use not_found::NotFound;
pub use overview::Overview;
pub use page_detail::PageDetail;
pub use pages_list::PagesList;
pub use system::System;
pub use trends::Trends;
