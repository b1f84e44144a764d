//! What the collector's integration tests share: the real `perfscope` binary as a child
//! process, and the in-process router over a temporary SQLite store.

#![allow(dead_code)] // Each test crate uses its own part of this module.

pub mod collector_process;
pub mod test_app;
