//! `mxscan merge`: the shards of a scan joined into one results directory.

use std::path::PathBuf;

use clap::Args;

use crate::merge::MergeJob;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Directory for the merged results (created if missing): the tables, summary.json,
    /// manifest.json and report.html, as one scan of the whole input would have written.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: PathBuf,

    /// Replace a scan or merge already in --out.
    #[arg(long)]
    pub force: bool,

    /// Do not write report.html (`mxscan report DIR` writes it at any time).
    #[arg(long)]
    pub no_report: bool,

    /// The --out directory of every shard (`mxscan scan --shard I/N`), each complete, in any
    /// order.
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
