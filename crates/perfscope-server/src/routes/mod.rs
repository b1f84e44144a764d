//! HTTP handlers, one file per area of the API.

pub mod demo;
pub mod ingest;
pub mod query;
pub mod static_files;
