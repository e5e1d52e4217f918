//! mxscan: a high-throughput bulk DNS scanner for mail configuration.
//!
//! The modules follow the data flow (docs/design.md draws it):
//! input → pipeline → engine ⇄ io, then analysis → tables (kept crash-safe by `outdir`,
//! measured by `metrics`) → report (one HTML page of a scan's output). `scan`, `resolve` and `bench` are
//! the runs that wire those stages together; `cli` only turns flags into their jobs. `sim` is
//! the simulated resolver farm that tests, demos and benchmarks run against.

/// `eprintln!` that never panics: with stderr closed (`mxscan … 2>&1 | head -2`) a message is
/// lost, never the run. Every message of the crate goes through it.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `println!` without the panic on a closed stdout (`mxscan … | head`).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub mod analysis;
pub mod bench;
pub mod bitset;
pub mod cli;
pub mod engine;
pub mod evaluate;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod input;
pub mod io;
pub mod mailauth;
pub mod merge;
pub mod metrics;
pub mod outdir;
pub mod pipeline;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod sim;
pub mod slots;
pub mod tables;
pub mod wire;
