//! HTTP handlers, one file per area of the API.

pub mod alerts;
pub mod auth;
pub mod demo;
pub mod export;
pub mod ingest;
pub mod json_body;
pub mod monitor;
pub mod query;
pub mod query_params;
pub mod static_files;
