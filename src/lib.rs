//! mxscan: a high-throughput bulk DNS scanner for mail configuration.
//!
//! The modules follow the data flow:
//! input → pipeline → engine ⇄ io, then analysis → output; `sim` is the simulated resolver
//! farm that tests, demos and benchmarks run against, and `cli` the command line.

pub mod analysis;
pub mod bench;
pub mod cli;
pub mod engine;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod input;
pub mod io;
pub mod output;
pub mod pipeline;
pub mod resolve;
pub mod scan;
pub mod sim;
pub mod slots;
pub mod wire;
