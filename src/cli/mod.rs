//! The command line: flags are parsed and checked here without I/O, then each subcommand
//! builds its real objects (files, sockets) in its own module.

pub mod bench;
pub mod demo;
pub mod engine_args;
pub mod exit;
pub mod merge;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod sim;
pub mod spf;

use clap::{Parser, Subcommand};

/// mxscan: who receives each domain's mail, and would a careful receiver trust it?
///
/// Resolvers are always given explicitly; mxscan never reads /etc/resolv.conf.
#[derive(Debug, Parser)]
#[command(name = "mxscan", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job on the bundled sample world against an in-process simulated farm.
    Demo(demo::DemoArgs),
    /// Scan domains: MX → A/AAAA → PTR → forward-confirmed reverse DNS, results in --out DIR.
    #[command(after_long_help = scan::AFTER_HELP)]
    Scan(scan::ScanArgs),
    /// Resolve names in bulk: one row per name and type (CSV: per record; or JSON Lines).
    #[command(after_long_help = resolve::AFTER_HELP)]
    Resolve(resolve::ResolveArgs),
    /// Benchmark a resolver farm: QPS, loss, latency percentiles and rcodes per resolver.
    #[command(after_long_help = bench::AFTER_HELP)]
    Bench(bench::BenchArgs),
    /// Run a simulated resolver farm on loopback (zone files or a synthetic world, with faults).
    Sim(sim::SimArgs),
    /// Evaluate SPF (RFC 7208 check_host) for one client IP and sender through the resolvers.
    #[command(after_long_help = spf::AFTER_HELP)]
    Spf(spf::SpfArgs),
    /// Join the shards of a scan (`scan --shard I/N`, each in its own --out) into one results
    /// directory, after checking they are one complete scan.
    #[command(after_long_help = merge::AFTER_HELP)]
    Merge(merge::MergeArgs),
    /// Write a scan's report: one self-contained HTML page with charts (DIR/report.html).
    Report(report::ReportArgs),
    /// Print a shell completion script.
    Completions(report::CompletionsArgs),
    /// Print the man page (roff), or write every page into a directory.
    Man(report::ManArgs),
}

/// Runs the parsed command line; the returned code is the process exit status.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Resolve(args) => resolve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Spf(args) => spf::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Report(args) => report::run(args),
        Command::Completions(args) => report::completions(args),
        Command::Man(args) => report::man(args),
    }
}
