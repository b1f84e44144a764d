//! HTTP handlers, one file per area of the API.

pub mod demo;
pub mod export;
pub mod ingest;
pub mod query;
pub mod query_params;
pub mod static_files;
