//! Rust core of cloudai-dynamo-rs.
//!
//! The core is plain Rust (testable with `cargo test`, no Python needed); the `python`
//! feature adds the thin pyo3 layer in [`python`] that maturin builds into
//! `cloudai_dynamo_rs._core`.

pub mod config;
pub mod error;
pub mod job_status;
pub mod plan;
pub mod rehearse;
pub mod render;
pub mod results;
pub mod spreadsheet;
pub mod standalone;
pub mod topology;

#[cfg(test)]
mod test_rng;

pub use error::{Error, Result};

#[cfg(feature = "python")]
mod python;

/// Version of the crate, which is also the Python package's `__version__`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
