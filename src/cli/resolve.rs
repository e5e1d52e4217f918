//! `mxscan resolve`: its flags and their conversion into a [`ResolveJob`] (the run itself is
//! [`crate::resolve`]).

use std::path::PathBuf;

use clap::Args;
use hickory_proto::rr::RecordType;

use super::engine_args::EngineArgs;
use crate::io::driver::Ended;
use crate::resolve::ResolveJob;
use crate::tables::Format;

/// Examples, at the end of `resolve --help` and its man page.
pub const AFTER_HELP: &str = "\
Examples:
  mxscan resolve -r 127.0.0.2 -t MX -t TXT names.txt
  mxscan resolve -r 127.0.0.2 -t PTR --format jsonl -o ptr.jsonl ips.txt
  printf 'example.com\\n' | mxscan resolve -r 127.0.0.2:5300 -t A

Exit statuses: 0 done, 2 a usage error, 4 no resolver usable, 5 every resolver down for
--give-up (names not asked have no row).";

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Record types to ask for each name (repeatable): A, AAAA, MX, PTR, TXT, NS, …
    ///
    /// With PTR, IP addresses in the input are asked as their reverse names and reported as
    /// the IPs.
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "A")]
    pub types: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,

    /// Write rows here instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten, next_help_heading = "Resolvers and pace")]
    pub engine: EngineArgs,

    /// Names, one per line (`-` or none: stdin).
    #[arg(help_heading = "Arguments")]
    pub input: Option<PathBuf>,
}

pub fn parse_types(types: &[String]) -> anyhow::Result<Vec<RecordType>> {
    types
        .iter()
        .map(|t| {
            let rt: RecordType = t
                .to_ascii_uppercase()
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown record type `{t}`"))?;
            Ok(rt)
        })
        .collect()
}

pub fn run(args: ResolveArgs) -> anyhow::Result<i32> {
    let skip_check = args.engine.no_resolver_check;
    let job = ResolveJob {
        asking: args.engine.settings()?,
        types: parse_types(&args.types)?,
        input: args.input,
        output: args.output,
        format: args.format,
    };
    if let Err(status) =
        super::engine_args::check_resolvers(skip_check, &job.asking.engine.resolvers)
    {
        return Ok(status);
    }
    let done = crate::resolve::run(&job)?;
    let s = &done.stats;
    crate::note!(
        "mxscan resolve: {} lookups, {} attempts, {} retries, {} over TCP; rejected replies: {}",
        s.completed,
        s.attempts,
        s.retries,
        s.tcp_fallbacks,
        s.rejected
    );
    if done.ended == Ended::GaveUp {
        crate::note!(
            "mxscan resolve: every resolver was down for --give-up; names not asked have no row"
        );
        return Ok(super::exit::GAVE_UP);
    }
    Ok(super::exit::OK)
}
