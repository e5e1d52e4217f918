//! `mxscan bench`: its flags and their conversion into a [`BenchJob`] (the run itself is
//! [`crate::bench`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, ValueEnum};

use super::engine_args::EngineArgs;
use super::resolve::parse_types;
use crate::bench::{BenchJob, text};

/// Examples and exit statuses, at the end of `bench --help` and its man page.
pub const AFTER_HELP: &str = "\
Examples:
  mxscan bench -r 127.0.0.2,127.0.0.3 -t A -t MX names.txt
  mxscan bench -r resolvers.txt --duration 60 --qps 20000 --report bench.html names.txt
  mxscan bench -r 127.0.0.2 --format json names.txt > bench.json

Exit statuses: 0 measured (a resolver that died or lost answers shows in the figures), 2 a
usage error or an error that stopped the run, 4 no resolver usable.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Record types to ask for each name (repeatable).
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "A")]
    pub types: Vec<String>,

    /// Run this many seconds, cycling through the input.
    ///
    /// Without it, one pass over the input.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    pub format: BenchFormat,

    /// Also write the benchmark as one HTML page.
    ///
    /// Latency distribution per resolver, QPS over time, loss and rcodes, like a scan's
    /// report.html.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[command(flatten, next_help_heading = "Resolvers and pace")]
    pub engine: EngineArgs,

    /// Names, one per line (`-` or none: stdin).
    #[arg(help_heading = "Arguments")]
    pub input: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<i32> {
    let duration = match args.duration {
        Some(d) if !(0.01..=86_400.0).contains(&d) => {
            bail!("--duration must be between 0.01 and 86400 seconds")
        }
        d => d.map(Duration::from_secs_f64),
    };
    let job = BenchJob {
        asking: args.engine.settings()?,
        types: parse_types(&args.types)?,
        duration,
        input: args.input,
    };
    let skip_check = args.engine.no_resolver_check;
    if let Err(status) =
        super::engine_args::check_resolvers(skip_check, &job.asking.engine.resolvers)
    {
        return Ok(status);
    }
    let report = crate::bench::run(&job)?;
    if let Some(path) = &args.report {
        crate::report::write_bench_report(&report, path)?;
        crate::note!("report: {}", path.display());
    }
    match args.format {
        BenchFormat::Json => crate::out!("{}", serde_json::to_string_pretty(&report)?),
        BenchFormat::Text => crate::out!("{}", text(&report).trim_end_matches('\n')),
    }
    Ok(super::exit::OK)
}
