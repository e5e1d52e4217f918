//! mxscan: a high-throughput bulk DNS scanner for mail configuration.
//!
//! The modules follow the data flow (docs/design.md draws it): input → pipeline → engine ⇄
//! io, then analysis → tables (kept crash-safe by `outdir`, measured by `metrics`) → report
//! (one HTML page of a scan's output). `scan`, `merge`, `resolve`, `bench` and `spf` are the
//! runs, one per command, that wire those stages together; `cli` only turns flags into their
//! jobs. `sim` is the simulated resolver farm that tests, demos and benchmarks run against.
//! Messages for a person go to the sink of `messages`, which the command line prints.

/// A message for a person: to the sink of [`messages`] (stderr from the command line). It
/// never panics: with stderr closed (`mxscan … 2>&1 | head -2`) a message is lost, never the run.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::messages::emit(format_args!($($arg)*))
    };
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
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod input;
pub mod io;
pub mod mailauth;
pub mod merge;
pub mod messages;
pub mod metrics;
pub mod outdir;
pub mod pipeline;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod sim;
pub mod slots;
pub mod spf;
pub mod tables;
pub mod wire;
