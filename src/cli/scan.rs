//! `mxscan scan`: its flags, their conversion into a [`ScanJob`], and the exit status of the
//! scan that ran (the scan itself is [`crate::scan`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::engine_args::EngineArgs;
use super::exit;
use crate::input::shard::ShardSpec;
use crate::metrics::summary::Summary;
use crate::outdir::manifest;
use crate::pipeline::auth::Checks;
use crate::pipeline::cache::CacheSize;
use crate::scan::start::{resume_command, retry_command};
use crate::scan::{DEFAULT_SYNC_INTERVAL, ScanError, ScanJob, StartMode};
use crate::tables::Format;

/// Examples and exit statuses, at the end of `scan --help` and its man page.
pub const AFTER_HELP: &str = "\
Examples:
  mxscan scan -r 127.0.0.2,127.0.0.3 -o results domains.txt
  mxscan scan -r resolvers.txt --senders senders.csv --checks all -o results ranked.csv
  zcat domains.gz | mxscan scan -r 127.0.0.2 -q --format jsonl -o results
  mxscan scan -r 127.0.0.2 -o results --resume domains.txt
  mxscan scan -r 127.0.0.2 -o results --retry-indeterminate domains.txt

Exit statuses:
  0    the scan completed
  2    a usage error, or an error that stopped the run (the message says whether to --resume)
  3    completed, but more than --max-unanswered % of the domains got no answer
  4    nothing could be scanned: no domain in the input, every line rejected, or no
       resolver usable
  5    every resolver was down for --give-up seconds: stopped, resumable
  130  interrupted by SIGINT or SIGTERM, resumable";

#[derive(Debug, Args, Clone)]
pub struct ScanArgs {
    /// Directory for the results (created if missing).
    ///
    /// It receives the domains, records, findings, senders and rejects tables, summary.json
    /// and report.html (docs/output.md), and the journal a --resume reads.
    #[arg(
        help_heading = "Output",
        short = 'o',
        long,
        value_name = "DIR",
        default_value = "mxscan-out"
    )]
    pub out: PathBuf,

    /// Sender IPs to check, as CSV rows `domain,ip`.
    ///
    /// The header is optional. Each sender IP gets the same PTR and forward-confirmation
    /// lookups as the MX addresses, SPF is evaluated for it, and senders.csv gives its verdict.
    #[arg(help_heading = "Input", long, value_name = "FILE")]
    pub senders: Option<PathBuf>,

    /// Print nothing but warnings and errors.
    ///
    /// No progress bar and no end-of-scan overview: the exit status and summary.json tell how
    /// it went.
    #[arg(help_heading = "Output", short = 'q', long)]
    pub quiet: bool,

    /// The same as --format jsonl (as dnsx and zdns users type it).
    #[arg(help_heading = "Output", long, conflicts_with = "format")]
    pub json: bool,

    /// Table format: CSV with a header, or JSON Lines.
    #[arg(help_heading = "Output", long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,

    /// Memory for answers shared between domains, e.g. 64MiB or 0.
    ///
    /// Names outside the asking domain are kept in a frequency-aware cache; questions in
    /// flight are always shared. summary.json's `lookups_per_distinct_question` shows whether
    /// it is big enough.
    #[arg(help_heading = "Resolvers and pace", long, value_name = "SIZE", default_value_t = CacheSize::DEFAULT)]
    pub cache: CacheSize,

    /// Domains in progress at most (0: the lookup window).
    #[arg(
        help_heading = "Resolvers and pace",
        long,
        value_name = "N",
        default_value_t = 0
    )]
    pub domains_in_flight: usize,

    /// Check families, comma-separated: mx, spf, dmarc, mta-sts, tls-rpt, tlsa, or all.
    ///
    /// mx is always on: `--checks mx` asks only the MX, address and reverse questions.
    /// docs/output.md lists what each family adds.
    #[arg(help_heading = "Checks", long, value_name = "LIST", default_value_t = Checks::DEFAULT, value_parser = Checks::parse)]
    pub checks: Checks,

    /// Treat this range as public, not special-purpose (repeatable).
    ///
    /// For test worlds built on reserved space such as 198.18.0.0/15 or 2001:db8::/32.
    #[arg(help_heading = "Checks", long = "public-range", value_name = "CIDR")]
    pub public_ranges: Vec<ipnet::IpNet>,

    /// Accept exchanges under .test and .example (a test world).
    ///
    /// .invalid is always reported.
    #[arg(help_heading = "Checks", long)]
    pub allow_special_use: bool,

    /// Provider suffix table, CSV `suffix,provider,mx|ptr`.
    ///
    /// The default is the bundled data/providers.csv. An exchange in no table row gets its
    /// registrable domain as provider (`provider_source` mx-domain).
    #[arg(help_heading = "Checks", long, value_name = "FILE")]
    pub providers: Option<PathBuf>,

    /// Score weights, CSV `code,weight` rows overriding the defaults.
    ///
    /// docs/findings.md gives every code's default weight.
    #[arg(help_heading = "Checks", long, value_name = "FILE")]
    pub weights: Option<PathBuf>,

    /// Continue the interrupted scan in --out.
    ///
    /// After a stop, a crash or a full disk: the same command with --resume. Domains already
    /// written are skipped, none is written twice.
    #[arg(help_heading = "Resume and retry", long)]
    pub resume: bool,

    /// Ask again the domains in --out whose lookups failed, and replace their rows.
    ///
    /// The domains that ended INDETERMINATE or with a lookup that failed further down
    /// (`provisional`), in a completed or interrupted scan (other -r or a lower --qps
    /// allowed). Their rows are replaced in every table at once: a crash mid-way changes
    /// nothing, and the pass can be run again.
    #[arg(help_heading = "Resume and retry", long, conflicts_with = "resume")]
    pub retry_indeterminate: bool,

    /// Resume despite changes, or start over an interrupted scan.
    ///
    /// With --resume: continue even though the input grew, the settings or the mxscan version
    /// changed. Without: start over in an --out that holds an interrupted scan.
    #[arg(help_heading = "Resume and retry", long)]
    pub force: bool,

    /// Seconds between putting the tables and journal on stable storage (fsync).
    ///
    /// A power loss costs at most this much work. Every batch is journalled either way.
    #[arg(help_heading = "Resume and retry", long, value_name = "SECS", default_value_t = DEFAULT_SYNC_INTERVAL)]
    pub sync_interval: f64,

    /// Exit with status 3 when more than this % of the domains got no answer.
    ///
    /// No answer from any resolver: timeouts. A SERVFAIL is an answer about broken DNS and
    /// does not count.
    #[arg(
        help_heading = "Resume and retry",
        long,
        value_name = "PCT",
        default_value_t = 1.0
    )]
    pub max_unanswered: f64,

    /// Do not write report.html at the end.
    ///
    /// `mxscan report DIR` writes it at any time.
    #[arg(help_heading = "Output", long)]
    pub no_report: bool,

    /// Scan only part I of N of the input (1-based), for a cluster.
    ///
    /// Every shard reads the same whole list and keeps the domains whose registrable name
    /// hashes into its part, so one organisation's domains stay together. `auto` takes the part from a Slurm array job
    /// (SLURM_ARRAY_TASK_ID and _COUNT); `auto/N` from a Kubernetes Indexed Job
    /// (JOB_COMPLETION_INDEX, N completions). Give each shard its own --out; `mxscan merge`
    /// joins them.
    #[arg(
        help_heading = "Cluster",
        long,
        value_name = "I/N|auto|auto/N",
        env = "MXSCAN_SHARD"
    )]
    pub shard: Option<ShardSpec>,

    /// Write every question sent to the resolvers to FILE, as dnsperf reads them.
    ///
    /// One `name TYPE` line per question after sharing: an archive of what was asked, and
    /// with `sort -u` the floor of distinct questions (a resumed run appends).
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    pub questions_log: Option<PathBuf>,

    /// The seed of the shard hash: every shard of one scan must be given the same.
    #[arg(
        help_heading = "Cluster",
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "shard"
    )]
    pub shard_seed: u64,

    /// No journal and no fsync: the scan cannot be resumed. Only for measuring what the journal
    /// costs (scripts/bench-journal.sh).
    #[arg(long, hide = true)]
    pub no_journal: bool,

    #[command(flatten, next_help_heading = "Resolvers and pace")]
    pub engine: EngineArgs,

    /// Domains, one per line, or a CSV with a `domain` column (`-` or none: stdin).
    ///
    /// A resumed scan reads its spool of the first run's stdin instead.
    #[arg(help_heading = "Input")]
    pub input: Option<PathBuf>,
}

impl ScanArgs {
    /// Checks the flags and resolves them into a job.
    pub fn to_job(self) -> anyhow::Result<ScanJob> {
        if self.out.as_os_str() == "-" {
            anyhow::bail!(
                "-o - is not supported: a scan writes several tables, a journal and a report \
                 into a directory. Give -o DIR (with --format jsonl for JSON Lines), or stream \
                 single lookups to stdout with `mxscan resolve`"
            );
        }
        let a = self;
        if a.no_journal && (a.resume || a.retry_indeterminate) {
            anyhow::bail!("--resume and --retry-indeterminate need the journal: drop --no-journal");
        }
        if !(0.0..=3600.0).contains(&a.sync_interval) {
            anyhow::bail!("--sync-interval must be between 0 and 3600 seconds");
        }
        if !(0.0..=100.0).contains(&a.max_unanswered) {
            anyhow::bail!("--max-unanswered must be a percentage between 0 and 100");
        }
        Ok(ScanJob {
            out: a.out,
            input: a.input,
            senders: a.senders,
            format: if a.json { Format::Jsonl } else { a.format },
            asking: a.engine.settings()?,
            resolver_spec: a.engine.resolvers.clone().unwrap_or_default(),
            cache: a.cache,
            domains_in_flight: a.domains_in_flight,
            checks: a.checks,
            allow_special_use: a.allow_special_use,
            public_ranges: a.public_ranges,
            providers: a.providers,
            weights: a.weights,
            mode: match (a.resume, a.retry_indeterminate) {
                (true, _) => StartMode::Resume { force: a.force },
                (_, true) => StartMode::Retry { force: a.force },
                _ => StartMode::New { replace: a.force },
            },
            sync_interval: (!a.no_journal).then(|| Duration::from_secs_f64(a.sync_interval)),
            report: !a.no_report,
            progress: !a.quiet,
            shard: a
                .shard
                .map(|s| s.resolve(a.shard_seed, &|name| std::env::var(name).ok()))
                .transpose()?,
            questions_log: a.questions_log,
        })
    }
}

pub fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let max_unanswered = args.max_unanswered;
    let no_report = args.no_report;
    let quiet = args.quiet;
    let skip_check = args.engine.no_resolver_check;
    let job = args.to_job()?;
    if let Err(status) =
        super::engine_args::check_resolvers(skip_check, &job.asking.engine.resolvers)
    {
        return Ok(status);
    }
    let out = job.out.clone();
    let summary = match crate::scan::run(&job) {
        Ok(s) => s,
        Err(e @ ScanError::AlreadyComplete(_)) => {
            crate::note!("mxscan: {}: {e}; nothing to resume", out.display());
            return Ok(exit::OK);
        }
        Err(e @ ScanError::NothingToRetry) => {
            crate::note!("mxscan: {}: {e}", out.display());
            return Ok(exit::OK);
        }
        Err(e @ ScanError::RetryStopped) => {
            crate::note!(
                "mxscan: {e}; the scan in {} is as it was before the pass. Run it again with:\n  {}",
                out.display(),
                retry_command()
            );
            return Ok(exit::INTERRUPTED);
        }
        Err(e @ ScanError::Refused(_)) => return Err(e.into()),
        Err(ScanError::Failed(e)) => {
            // An output or input error part-way leaves a journal that vouches for every
            // complete batch: say how to go on once the cause is fixed.
            let resumable = out.join(manifest::MANIFEST).is_file();
            return Err(if resumable {
                anyhow::anyhow!(
                    "{e:#}\nWhat the scan in {} wrote is kept. Fix the cause, then continue with:\n  {}",
                    out.display(),
                    resume_command()
                )
            } else {
                e
            });
        }
    };
    if !quiet {
        crate::note!("{}", summary.line());
        crate::note!("{}", summary.overview().trim_end_matches('\n'));
        let report = out.join(crate::report::REPORT);
        if !no_report && report.is_file() {
            crate::note!("report: {}", report.display());
        }
    }
    Ok(exit_status(&summary, max_unanswered))
}

/// Warns when most domains with MX have only special-use exchanges or addresses: a test world
/// (`mxscan sim`) scanned without its flags, where every exchange reads as unusable.
fn special_use_warning(summary: &Summary) {
    let count = |code: &str| -> u64 { summary.findings.get(code).map_or(0, |s| s.values().sum()) };
    let with_mx = summary.routes.get("HAS_MX").copied().unwrap_or(0);
    let special = count("MX_TARGET_SPECIAL_USE") + count("ADDR_BOGON");
    if with_mx >= 10 && special > 0 && 2 * count("MX_ALL_UNUSABLE") > with_mx {
        crate::note!(
            "mxscan: warning: {} of {with_mx} domains with MX have no usable exchange, and {special} \
             exchanges or addresses are special-use (.test names, reserved ranges). Is this a \
             test world? A scan of `mxscan sim` needs {}",
            count("MX_ALL_UNUSABLE"),
            crate::sim::world_flags(&crate::sim::WORLD_RANGES)
        );
    }
}

/// The exit status of a scan that ran (README "Exit statuses"), with what it means on stderr.
fn exit_status(summary: &Summary, max_unanswered: f64) -> i32 {
    let list = &summary.input.list;
    if summary.input.sender_domains_not_scanned > 0 {
        crate::note!(
            "mxscan: warning: {} domains of --senders are not in the domain list; their sender \
             IPs were not checked",
            summary.input.sender_domains_not_scanned
        );
    }
    special_use_warning(summary);
    let never_answered = summary.resolvers.iter().all(|r| r.answered == 0);
    if summary.interrupted {
        crate::note!(
            "mxscan: stopped with {} of {} domains written; continue with:\n  {}",
            summary.domains_scanned,
            list.domains,
            resume_command()
        );
        return match (summary.gave_up, never_answered) {
            (false, _) => exit::INTERRUPTED,
            (true, true) => exit::NOTHING_SCANNED,
            (true, false) => exit::GAVE_UP,
        };
    }
    if list.domains == 0 && list.rejected == 0 && summary.domains_scanned == 0 {
        crate::note!("mxscan: nothing to scan: the input holds no domain");
        return exit::NOTHING_SCANNED;
    }
    if list.domains == 0 && list.rejected > 0 {
        crate::note!(
            "mxscan: nothing to scan: every one of the {} records was rejected (see rejects); \
             the input should hold one domain per line or a CSV with a `domain` column",
            list.rejected
        );
        return exit::NOTHING_SCANNED;
    }
    let unanswered_pct = 100.0 * summary.unanswered as f64 / summary.domains_scanned.max(1) as f64;
    if summary.unanswered > 0 && never_answered && summary.unanswered == summary.domains_scanned {
        crate::note!("mxscan: no resolver answered any query: check -r");
        return exit::NOTHING_SCANNED;
    }
    if unanswered_pct > max_unanswered {
        crate::note!(
            "mxscan: {} of {} domains ({unanswered_pct:.2} %, over --max-unanswered \
             {max_unanswered} %) got no answer from any resolver; ask them again with:\n  {}",
            summary.unanswered,
            summary.domains_scanned,
            retry_command()
        );
        return exit::UNANSWERED;
    }
    exit::OK
}
