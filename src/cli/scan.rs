//! `mxscan scan`: the mail lookup pipeline over a domain list, with results in `--out DIR`.
//!
//! Threads: the I/O thread runs the engine and the pipeline (decoding replies it needs to go
//! on); finished domains go in batches over a bounded channel to the output thread, which
//! analyses each batch on the rayon pool and writes the rows; a progress thread draws the bar.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;

use super::engine_args::EngineArgs;
use super::exit;
use super::start::{
    AlreadyComplete, Refused, Start, decide_start, remove_leftovers, resume_command, retry_command,
};
use crate::analysis::addr::AddrTable;
use crate::analysis::provider::Providers;
use crate::analysis::score::Weights;
use crate::analysis::{Analysis, Route};
use crate::engine::{Engine, Outcome};
use crate::input::list::{self, Bitset, DomainList, Domains, ListError};
use crate::input::senders::Senders;
use crate::io::driver::{self, Workload};
use crate::output::checkpoint::{self, Opened};
use crate::output::latency::LatencyRecorder;
use crate::output::manifest::{self, FileId, Manifest};
use crate::output::progress::{Progress, ScanCounters};
use crate::output::retry;
use crate::output::scan::{REJECT_COLUMNS, create_table, table_path, write_reject};
use crate::output::summary::{InputSummary, QuerySummary, Summary, Timing};
use crate::output::tally::Tally;
use crate::output::{self, Format};
use crate::pipeline::result::DomainResult;
use crate::pipeline::{Finished, Pipeline};

/// `--retry-indeterminate` over a scan without INDETERMINATE domains.
#[derive(Debug, thiserror::Error)]
#[error("no domain has anything unmeasured (INDETERMINATE or provisional): nothing to ask again")]
struct NothingToRetry;

/// A retry pass stopped before every retried domain was written: it was dropped.
#[derive(Debug, thiserror::Error)]
#[error("the retry pass stopped before it finished")]
struct RetryStopped;

/// Finished domains per batch handed to the output thread.
const BATCH: usize = 256;
/// Batches queued between the I/O and the output thread at most.
const QUEUED_BATCHES: usize = 16;

#[derive(Debug, Args, Clone)]
pub struct ScanArgs {
    #[command(flatten)]
    pub engine: EngineArgs,

    /// Directory for the results (created if missing): domains, records, rejects and
    /// summary.json.
    #[arg(short = 'o', long, value_name = "DIR", default_value = "mxscan-out")]
    pub out: PathBuf,

    /// Sender IPs to check, as CSV rows `domain,ip` (header optional): each gets the same PTR
    /// and forward-confirmation lookups as the MX addresses.
    #[arg(long, value_name = "FILE")]
    pub senders: Option<PathBuf>,

    /// Table format: CSV with a header, or JSON Lines.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,

    /// Answers kept for sharing between domains (a bounded LRU; in-flight questions are
    /// always shared).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub cache: usize,

    /// Domains in progress at most (0: the lookup window).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub domains_in_flight: usize,

    /// Treat this range as public, not special-purpose (repeatable): for test worlds built on
    /// reserved space such as 198.18.0.0/15 or 2001:db8::/32.
    #[arg(long = "public-range", value_name = "CIDR")]
    pub public_ranges: Vec<ipnet::IpNet>,

    /// Accept exchanges under .test and .example (a test world); .invalid is always reported.
    #[arg(long)]
    pub allow_special_use: bool,

    /// Provider suffix table, CSV `suffix,provider,mx|ptr` (default: the bundled
    /// data/providers.csv).
    #[arg(long, value_name = "FILE")]
    pub providers: Option<PathBuf>,

    /// Score weights, CSV `code,weight` rows overriding the defaults (docs/findings.md).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,

    /// Continue the interrupted scan in --out (after a stop, a crash or a full disk): the
    /// same command with --resume. Domains already written are skipped, none is written twice.
    #[arg(long)]
    pub resume: bool,

    /// Ask again the domains of the scan in --out that ended INDETERMINATE or with a lookup
    /// that failed further down (`provisional`), in a completed or interrupted scan (other -r
    /// or a lower --qps allowed), and replace their rows in every table at once: a crash
    /// mid-way changes nothing, and the pass can be run again.
    #[arg(long, conflicts_with = "resume")]
    pub retry_indeterminate: bool,

    /// With --resume: continue even though the input grew, the settings or the mxscan version
    /// changed. Without: start over in an --out that holds an interrupted scan.
    #[arg(long)]
    pub force: bool,

    /// Seconds between putting the tables and journal on stable storage (fsync); a power loss
    /// costs at most this much work. Every batch is journalled either way.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub sync_interval: f64,

    /// Exit with status 3 when more than this percentage of the domains got no answer from any
    /// resolver (timeouts; SERVFAIL is an answer about broken DNS and does not count).
    #[arg(long, value_name = "PCT", default_value_t = 1.0)]
    pub max_unanswered: f64,

    /// No journal and no fsync: the scan cannot be resumed. Only for measuring what the journal
    /// costs (scripts/bench-journal.sh).
    #[arg(long, hide = true)]
    pub no_journal: bool,

    /// Domains, one per line, or a CSV with a `domain` column (`-` or none: stdin; a resumed
    /// scan reads its spool of the first run's stdin instead).
    pub input: Option<PathBuf>,
}

/// What the I/O thread runs: domains from the list into the pipeline, finished domains out
/// to the output thread.
struct ScanWorkload<'a> {
    pipeline: Pipeline,
    domains: Domains<'a>,
    /// Input positions an earlier run wrote (skipped).
    done: Bitset,
    senders: Senders,
    input_done: bool,
    /// The whole input was read (not stopped early).
    input_exhausted: bool,
    read_error: Option<ListError>,
    batch: Vec<Finished>,
    tx: crossbeam_channel::Sender<Vec<Finished>>,
    counters: Arc<ScanCounters>,
    latency: LatencyRecorder,
    statuses: BTreeMap<String, u64>,
}

impl ScanWorkload<'_> {
    fn send_batch(&mut self) -> std::io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx
            .send(batch)
            .map_err(|_| std::io::Error::other("the output thread stopped"))
    }
}

impl Workload for ScanWorkload<'_> {
    fn next_query(&mut self) -> Option<(String, u16, u64)> {
        loop {
            if let Some(q) = self.pipeline.poll_query() {
                return Some(q);
            }
            if self.input_done || !self.pipeline.can_start() {
                return None;
            }
            match self.domains.next() {
                Some(Ok(mut d)) => {
                    d.senders = self.senders.take(&d.domain);
                    if !self.done.contains(d.ordinal) {
                        self.pipeline.start(d);
                    }
                }
                Some(Err(e)) => {
                    self.read_error = Some(e);
                    self.input_done = true;
                }
                None => {
                    self.input_done = true;
                    self.input_exhausted = true;
                }
            }
        }
    }

    fn is_finished(&self) -> bool {
        self.input_done && self.pipeline.active() == 0 && self.pipeline.queued() == 0
    }

    fn on_outcome(&mut self, outcome: Outcome) -> std::io::Result<()> {
        self.latency.record(&outcome);
        *self.statuses.entry(outcome.status.as_str()).or_default() += 1;
        self.pipeline.handle_outcome(&outcome);
        while let Some(f) = self.pipeline.poll_finished() {
            self.batch.push(f);
            if self.batch.len() == BATCH {
                self.send_batch()?;
            }
        }
        Ok(())
    }

    fn on_turn(&mut self, engine: &Engine) {
        let c = &self.counters;
        c.queries.store(engine.stats.attempts, Ordering::Relaxed);
        c.in_flight
            .store(engine.in_flight() as u64, Ordering::Relaxed);
        c.retries.store(engine.stats.retries, Ordering::Relaxed);
        let timeouts = engine.resolvers().iter().map(|r| r.stats.timeouts).sum();
        c.timeouts.store(timeouts, Ordering::Relaxed);
        let outage = engine
            .outage_since()
            .map_or(0, |t| t.elapsed().as_millis().max(1) as u64);
        c.outage_ms.store(outage, Ordering::Relaxed);
    }

    fn stop(&mut self) {
        self.input_done = true;
    }
}

/// Everything a scan needs, checked and built from the flags (or by `demo`).
pub struct ScanJob {
    pub engine: EngineArgs,
    pub out: PathBuf,
    pub senders: Option<PathBuf>,
    pub format: Format,
    pub cache: usize,
    pub domains_in_flight: usize,
    pub input: Option<PathBuf>,
    pub analysis: Analysis,
    pub resume: bool,
    /// A second pass over the INDETERMINATE domains.
    pub retry: bool,
    pub force: bool,
    /// Percentage of unanswered domains above which the exit status is 3.
    pub max_unanswered: f64,
    /// `None`: no journal (`--no-journal`).
    pub sync_interval: Option<Duration>,
    /// Flags that shape the rows, as the manifest records them.
    pub settings: BTreeMap<String, String>,
    /// Flags that shape only how resolvers are asked.
    pub tuning: BTreeMap<String, String>,
}

/// How the manifest names a file given by a flag, or its default.
fn file_setting(path: Option<&Path>, default: &str) -> anyhow::Result<String> {
    Ok(match path {
        Some(p) => FileId::setting(p)?,
        None => default.to_string(),
    })
}

impl ScanJob {
    /// Checks the flags and loads the tables they name.
    pub fn from_args(a: ScanArgs) -> anyhow::Result<Self> {
        if a.no_journal && (a.resume || a.retry_indeterminate) {
            anyhow::bail!("--resume and --retry-indeterminate need the journal: drop --no-journal");
        }
        if !(0.0..=3600.0).contains(&a.sync_interval) {
            anyhow::bail!("--sync-interval must be between 0 and 3600 seconds");
        }
        if !(0.0..=100.0).contains(&a.max_unanswered) {
            anyhow::bail!("--max-unanswered must be a percentage between 0 and 100");
        }
        let mut ranges: Vec<String> = a.public_ranges.iter().map(|r| r.to_string()).collect();
        ranges.sort();
        let settings: BTreeMap<String, String> = [
            ("--senders", file_setting(a.senders.as_deref(), "(none)")?),
            (
                "--providers",
                file_setting(a.providers.as_deref(), "bundled")?,
            ),
            ("--weights", file_setting(a.weights.as_deref(), "default")?),
            ("--public-range", ranges.join(",")),
            ("--allow-special-use", a.allow_special_use.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let e = &a.engine;
        let tuning: BTreeMap<String, String> = [
            ("--resolvers", e.resolvers.clone().unwrap_or_default()),
            ("--sockets", e.sockets.to_string()),
            ("--window", e.window.to_string()),
            ("--per-resolver", e.per_resolver.to_string()),
            ("--qps", e.qps.to_string()),
            ("--attempts", e.attempts.to_string()),
            ("--timeout", e.timeout.to_string()),
            ("--deadline", e.deadline.to_string()),
            ("--0x20", e.randomize_case.to_string()),
            ("--cache", a.cache.to_string()),
            ("--domains-in-flight", a.domains_in_flight.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let analysis = Analysis {
            allow_special_use: a.allow_special_use,
            addresses: AddrTable::new(a.public_ranges),
            providers: match &a.providers {
                Some(p) => Providers::load(p)?,
                None => Providers::bundled(),
            },
            weights: match &a.weights {
                Some(p) => Weights::load(p)?,
                None => Weights::default(),
            },
        };
        Ok(ScanJob {
            analysis,
            engine: a.engine,
            out: a.out,
            senders: a.senders,
            format: a.format,
            cache: a.cache,
            domains_in_flight: a.domains_in_flight,
            input: a.input,
            resume: a.resume,
            retry: a.retry_indeterminate,
            force: a.force,
            max_unanswered: a.max_unanswered,
            sync_interval: (!a.no_journal).then(|| Duration::from_secs_f64(a.sync_interval)),
            settings,
            tuning,
        })
    }

    pub(super) fn reads_stdin(&self) -> bool {
        self.input.as_ref().is_none_or(|p| p.as_os_str() == "-")
    }

    pub(super) fn manifest(&self, input: FileId) -> Manifest {
        Manifest {
            mxscan: env!("CARGO_PKG_VERSION").to_string(),
            format: self.format.name().to_string(),
            input,
            settings: self.settings.clone(),
            tuning: self.tuning.clone(),
        }
    }
}

pub fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let job = ScanJob::from_args(args)?;
    let out = job.out.clone();
    let max_unanswered = job.max_unanswered;
    let summary = match scan(job) {
        Ok(s) => s,
        Err(e) if e.is::<AlreadyComplete>() => {
            eprintln!("mxscan: {}: {e}; nothing to resume", out.display());
            return Ok(exit::OK);
        }
        Err(e) if e.is::<NothingToRetry>() => {
            eprintln!("mxscan: {}: {e}", out.display());
            return Ok(exit::OK);
        }
        Err(e) if e.is::<RetryStopped>() => {
            eprintln!(
                "mxscan: {e}; the scan in {} is as it was before the pass. Run it again with:\n  {}",
                out.display(),
                retry_command()
            );
            return Ok(exit::INTERRUPTED);
        }
        Err(e) => {
            // An output or input error part-way leaves a journal that vouches for every
            // complete batch: say how to go on once the cause is fixed.
            let resumable = !e.is::<Refused>() && out.join(manifest::MANIFEST).is_file();
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
    eprintln!("{}", summary.line());
    Ok(exit_status(&summary, max_unanswered))
}

/// The exit status of a scan that ran (README "Exit statuses"), with what it means on stderr.
fn exit_status(summary: &Summary, max_unanswered: f64) -> i32 {
    let list = &summary.input.list;
    if summary.input.sender_domains_not_scanned > 0 {
        eprintln!(
            "mxscan: warning: {} domains of --senders are not in the domain list; their sender \
             IPs were not checked",
            summary.input.sender_domains_not_scanned
        );
    }
    let never_answered = summary.resolvers.iter().all(|r| r.answered == 0);
    if summary.interrupted {
        eprintln!(
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
    if list.domains == 0 && list.rejected > 0 {
        eprintln!(
            "mxscan: nothing to scan: every one of the {} records was rejected (see rejects); \
             the input should hold one domain per line or a CSV with a `domain` column",
            list.rejected
        );
        return exit::NOTHING_SCANNED;
    }
    let unanswered_pct = 100.0 * summary.unanswered as f64 / summary.domains_scanned.max(1) as f64;
    if summary.unanswered > 0 && never_answered && summary.unanswered == summary.domains_scanned {
        eprintln!("mxscan: no resolver answered any query: check -r");
        return exit::NOTHING_SCANNED;
    }
    if unanswered_pct > max_unanswered {
        eprintln!(
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

fn create_out_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the output directory {}: give a writable --out DIR",
            dir.display()
        )
    })
}

/// Runs a scan to the end (or to a stop signal) and writes its summary.
pub fn scan(job: ScanJob) -> anyhow::Result<Summary> {
    let resolvers = job.engine.resolver_addrs()?;
    let config = job.engine.engine_config(resolvers.clone())?;
    create_out_dir(&job.out)?;
    remove_leftovers(&job.out);
    retry::recover(&job.out).with_context(|| {
        format!(
            "cannot finish or remove the retry pass in {}",
            job.out.join(retry::RETRY_DIR).display()
        )
    })?;
    let started = Instant::now();
    let (start, input_path) = decide_start(&job)?;

    // Rejects are written during the first pass (again on a resume: the same input gives the
    // same rows), to a temporary file renamed when complete.
    let rejects_path = table_path(&job.out, "rejects", job.format);
    let rejects_tmp = rejects_path.with_extension("tmp");
    let mut rejects = create_table(rejects_tmp.clone(), job.format, &REJECT_COLUMNS)?;
    let mut sender_rejects = 0;
    let senders = match &job.senders {
        Some(path) => Senders::load(path, &mut |r| {
            sender_rejects += 1;
            write_reject(&mut rejects, &r)
        })?,
        None => Senders::default(),
    };
    let sender_rows = senders.rows;
    let list: DomainList = list::prepare(&input_path, &job.out, &mut |r| {
        write_reject(&mut rejects, &r)
    })?;
    rejects.flush()?;
    drop(rejects);
    std::fs::rename(&rejects_tmp, &rejects_path)
        .with_context(|| format!("cannot write {}", rejects_path.display()))?;
    let prepare_s = started.elapsed().as_secs_f64();

    // A retry pass scans only the unmeasured domains; the rest of the input (done, or left
    // for a --resume) is skipped.
    let mut retry_skip = None;
    let mut retried = 0;
    let mut was_complete = false;
    let opened = match start {
        Start::Retry { recovered, forced } => {
            let found = retry::unmeasured(&job.out, job.format)?;
            if found.domains.is_empty() {
                return Err(NothingToRetry.into());
            }
            for note in forced {
                eprintln!("mxscan: retrying with a change: {note}");
            }
            let (mut skip, mut kept) = (Bitset::default(), Vec::new());
            for d in list.domains()? {
                let d = d?;
                if found.domains.contains(&d.domain) {
                    retried += 1;
                } else {
                    skip.insert(d.ordinal);
                    if recovered.done.contains(d.ordinal) {
                        kept.push(d.ordinal);
                    }
                }
            }
            eprintln!(
                "mxscan: asking {retried} domains again (INDETERMINATE, or with a lookup that \
                 failed further down)"
            );
            retry_skip = Some(skip);
            was_complete = recovered.complete;
            checkpoint::open_retry(
                &job.out,
                job.format,
                list.extra_columns(),
                *recovered,
                &found,
                kept,
                job.sync_interval.unwrap_or_default(),
            )?
        }
        Start::Resume {
            recovered: Some(recovered),
            forced,
        } => checkpoint::reopen(
            &job.out,
            job.format,
            list.extra_columns(),
            *recovered,
            forced,
            job.sync_interval.unwrap_or_default(),
        )?,
        _ => checkpoint::create(
            &job.out,
            job.format,
            list.extra_columns(),
            job.sync_interval,
        )?,
    };
    let Opened {
        mut tables,
        mut checkpoint,
        done,
        done_count,
        tally: earlier,
        run,
    } = opened;
    let is_retry = retry_skip.is_some();
    let done = retry_skip.unwrap_or(done);

    let counters = Arc::new(ScanCounters::default());
    if is_retry {
        counters.total.store(retried, Ordering::Relaxed);
    } else {
        counters.total.store(list.stats.domains, Ordering::Relaxed);
        counters.domains_done.store(done_count, Ordering::Relaxed);
    }
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Finished>>(QUEUED_BATCHES);
    let out_counters = counters.clone();
    let analysis = job.analysis.clone();
    let writer = std::thread::Builder::new()
        .name("mxscan-output".into())
        .spawn(move || -> std::io::Result<_> {
            let mut tally = Tally::default();
            for batch in rx {
                let positions: Vec<u64> = batch.iter().map(|f| f.input.ordinal).collect();
                let reports: Vec<_> = batch
                    .par_iter()
                    .map(|f| analysis.analyze(DomainResult::assemble(f)))
                    .collect();
                let mut batch_tally = Tally::default();
                for report in &reports {
                    tables.write(report)?;
                    batch_tally.add(report);
                }
                tally.merge(&batch_tally);
                checkpoint.batch(&mut tables, positions, batch_tally)?;
                out_counters
                    .domains_done
                    .fetch_add(reports.len() as u64, Ordering::Relaxed);
            }
            Ok((tally, tables, checkpoint))
        })?;

    let progress = Progress::start(counters.clone());
    let (sockets, driver_config) = job.engine.driver(&config, None)?;
    let mut engine = Engine::new(config);
    let window = if job.domains_in_flight == 0 {
        driver_config.window
    } else {
        job.domains_in_flight
    };
    let scan_started = Instant::now();
    let mut workload = ScanWorkload {
        pipeline: Pipeline::new(window, job.cache),
        domains: list.domains()?,
        done,
        senders,
        input_done: false,
        input_exhausted: false,
        read_error: None,
        batch: Vec::with_capacity(BATCH),
        tx,
        counters: counters.clone(),
        latency: LatencyRecorder::new(&resolvers),
        statuses: BTreeMap::new(),
    };
    let result = driver::run_workload(&mut engine, &sockets, &driver_config, &mut workload);
    let sent = workload.send_batch();
    let gave_up = matches!(result, Ok(driver::Ended::GaveUp));
    let complete = workload.input_exhausted
        && !gave_up
        && workload.pipeline.active() == 0
        && workload.pipeline.queued() == 0;
    let ScanWorkload {
        pipeline,
        senders,
        read_error,
        tx,
        latency,
        statuses,
        ..
    } = workload;
    drop(tx);
    let written = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the output thread panicked"))?;
    progress.finish();
    // The output thread's error is the cause when there is one (the I/O thread then only
    // saw its channel close).
    let (this_run, mut tables, checkpoint) = written?;
    result.context("the scan's network I/O failed")?;
    sent?;
    if let Some(e) = read_error {
        return Err(e.into());
    }
    // A retry pass changes the scan only as a whole: complete, or not at all.
    let complete = if is_retry {
        if !complete {
            drop(tables);
            let _ = std::fs::remove_dir_all(job.out.join(retry::RETRY_DIR));
            return Err(RetryStopped.into());
        }
        checkpoint.finish(&mut tables, was_complete)?;
        drop(tables);
        retry::commit(&job.out)?;
        was_complete
    } else {
        checkpoint.finish(&mut tables, complete)?;
        complete
    };
    let mut tally = earlier;
    tally.merge(&this_run);
    let scan_s = scan_started.elapsed().as_secs_f64();
    if complete && list.path().ends_with(list::STDIN_SPOOL) {
        let _ = std::fs::remove_file(list.path());
    }
    let done_this_run = pipeline.stats.finished;
    let per_domain = |n: u64| {
        if done_this_run == 0 {
            0.0
        } else {
            n as f64 / done_this_run as f64
        }
    };
    let all_done = tally.domains();
    let s = &engine.stats;
    let summary = Summary {
        version: env!("CARGO_PKG_VERSION"),
        interrupted: !complete,
        gave_up,
        runs: run,
        retried_this_run: retried,
        input: InputSummary {
            path: job
                .input
                .as_ref()
                .map_or("-".into(), |p| p.display().to_string()),
            list: list.stats,
            sender_rows,
            sender_rejects,
            sender_domains_not_scanned: senders.remaining(),
        },
        domains_scanned: all_done,
        domains_this_run: done_this_run,
        route_pct: Route::ALL
            .iter()
            .map(|r| {
                let n = tally.routes.get(r).copied().unwrap_or(0);
                (r.as_str(), output::latency::pct(n, all_done))
            })
            .collect(),
        routes: Route::ALL
            .iter()
            .map(|r| (r.as_str(), tally.routes.get(r).copied().unwrap_or(0)))
            .collect(),
        unanswered: tally.unanswered,
        queries: QuerySummary {
            lookups: s.completed,
            attempts: s.attempts,
            retries: s.retries,
            tcp_fallbacks: s.tcp_fallbacks,
            lookups_per_domain: per_domain(s.completed),
            attempts_per_domain: per_domain(s.attempts),
            statuses,
            shared: pipeline.lookups.stats,
            spoofed: s.spoofed,
            wrong_question: s.wrong_question,
            late: s.late,
            duplicates: s.duplicates,
            malformed: s.malformed,
            stale_answers: s.stale_answers,
            moved: s.moved,
            probes: engine.resolvers().iter().map(|r| r.stats.probes).sum(),
            outage_s: engine.outage_total().as_secs_f64(),
        },
        timing: Timing {
            prepare_s,
            scan_s,
            domains_per_s: done_this_run as f64 / scan_s.max(1e-9),
            lookups_per_s: s.completed as f64 / scan_s.max(1e-9),
        },
        providers_pct: tally
            .providers
            .iter()
            .map(|(p, n)| (p.clone(), 100.0 * n / all_done.max(1) as f64))
            .collect(),
        findings: tally.findings,
        senders: tally.senders,
        resolvers: latency.reports(&engine, scan_s),
    };
    summary.write(&job.out)?;
    Ok(summary)
}
