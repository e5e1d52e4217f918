//! `mxscan merge`: the shards of a scan joined into one results directory.

use std::path::PathBuf;

use clap::Args;

use crate::merge::MergeJob;

/// Examples and exit statuses, at the end of `merge --help` and its man page.
pub const AFTER_HELP: &str = "\
Examples:
  mxscan merge -o results shard-1 shard-2 shard-3 shard-4
  mxscan merge -o results shards/*

Exit statuses: 0 merged; 2 the shards are not one complete scan (the message names what is
missing or differs, and --out is left untouched) or another error stopped the merge.";

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Directory for the merged results (created if missing).
    ///
    /// The tables, summary.json, manifest.json and report.html, as one scan of the whole
    /// input would have written them.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: PathBuf,

    /// Replace a scan or merge already in --out.
    #[arg(long)]
    pub force: bool,

    /// Do not write report.html (`mxscan report DIR` writes it at any time).
    #[arg(long)]
    pub no_report: bool,

    /// The --out directory of every shard (`mxscan scan --shard I/N`).
    ///
    /// Each complete, in any order.
    #[arg(value_name = "SHARD_DIR", required = true)]
    pub shards: Vec<PathBuf>,
}

pub fn run(args: MergeArgs) -> anyhow::Result<i32> {
    let job = MergeJob {
        out: args.out,
        shards: args.shards,
        force: args.force,
        report: !args.no_report,
    };
    let summary = crate::merge::run(&job)?;
    crate::note!(
        "mxscan merge: {} shards, {} domains ({} records read, {} rejected, {} duplicates) \
         into {}",
        summary.shards.len(),
        summary.domains_scanned,
        summary.input.list.records,
        summary.input.list.rejected,
        summary.input.list.duplicates,
        job.out.display()
    );
    crate::note!("{}", summary.overview().trim_end_matches('\n'));
    if job.report {
        crate::note!("report: {}", job.out.join(crate::report::REPORT).display());
    }
    Ok(super::exit::OK)
}
