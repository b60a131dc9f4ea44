//! Sample data: [`demo`] for exploring (GraphiQL, the example client) and [`bench`] for the
//! side-by-side benchmark.

mod bench;
mod demo;

pub use bench::*;
pub use demo::{DEMO_PASSWORD, demo};
