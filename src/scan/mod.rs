//! The scan as a library: a [`ScanJob`] (resolved settings, no flag types) run to the end or to
//! a stop signal, with its tables, journal and summary in the job's `out` directory.
//!
//! One domain's path: `input::list` reads it, the [`workload`] starts it in the `pipeline`,
//! whose questions the `engine` asks (driven by `io::driver`) and whose answers finish it; the
//! [`writer`] thread assembles and analyses it (`analysis`, on the rayon pool) and writes its
//! rows (`tables`), journalled by `outdir::checkpoint`. [`start`] decides how a run starts in
//! `out`: anew, resuming, or as a retry pass.

pub mod start;
mod summarize;
mod workload;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::analysis::Analysis;
use crate::analysis::addr::AddrTable;
use crate::analysis::provider::Providers;
use crate::analysis::score::Weights;
use crate::bitset::Bitset;
use crate::engine::EngineConfig;
use crate::input::list::{self, DomainList, RejectRow};
use crate::input::senders::Senders;
use crate::input::shard::{Partition, Shard};
use crate::io::driver;
use crate::metrics::latency::LatencyRecorder;
use crate::metrics::progress::{Progress, ScanCounters};
use crate::metrics::summary::Summary;
use crate::metrics::timeline::Sampler;
use crate::outdir::checkpoint::{self, Opened};
use crate::outdir::manifest::{self, FileId, Manifest};
use crate::outdir::retry;
use crate::outdir::tracked::create_table;
use crate::pipeline::Pipeline;
use crate::pipeline::auth::Checks;
use crate::pipeline::cache::CacheSize;
use crate::tables::Format;
use crate::tables::questions::QuestionsLog;
use crate::tables::scan::table_path;
use start::{Start, decide_start, remove_leftovers};

/// Seconds between syncs of the tables and journal, by default.
pub const DEFAULT_SYNC_INTERVAL: f64 = 2.0;

/// Why a scan did not run to its end, told apart where the caller must decide differently
/// (the CLI: its exit status and what it advises).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// `--resume` of a scan that is complete: nothing to do.
    #[error("the scan is already complete ({0} domains)")]
    AlreadyComplete(u64),
    /// A start refused (a resume with another input, a new scan over an interrupted one, …):
    /// nothing was changed in the output directory.
    #[error("{0}")]
    Refused(String),
    /// `--retry-indeterminate` over a scan without anything unmeasured.
    #[error(
        "no domain has anything unmeasured (INDETERMINATE or provisional): nothing to ask again"
    )]
    NothingToRetry,
    /// A retry pass stopped before every retried domain was written: it was dropped, the scan
    /// is as it was.
    #[error("the retry pass stopped before it finished")]
    RetryStopped,
    /// An input, output or setup error stopped the run; what it wrote is journalled.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<std::io::Error> for ScanError {
    fn from(e: std::io::Error) -> Self {
        ScanError::Failed(e.into())
    }
}

impl From<list::ListError> for ScanError {
    fn from(e: list::ListError) -> Self {
        ScanError::Failed(e.into())
    }
}

/// How a run starts in `--out`: one of these, so that no two contradict each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// A new scan; `replace`: over an interrupted or completed one (`--force`).
    New { replace: bool },
    /// Continue the interrupted scan (`--resume`); `force`: despite a grown input, other
    /// settings or another version.
    Resume { force: bool },
    /// Ask again what was not measured (`--retry-indeterminate`); `force`: as for a resume.
    Retry { force: bool },
}

impl StartMode {
    pub fn resume(self) -> bool {
        matches!(self, StartMode::Resume { .. })
    }

    pub fn retry(self) -> bool {
        matches!(self, StartMode::Retry { .. })
    }

    /// `--force`, in whichever mode.
    pub fn force(self) -> bool {
        match self {
            StartMode::New { replace } => replace,
            StartMode::Resume { force } | StartMode::Retry { force } => force,
        }
    }
}

/// Everything a scan needs, resolved from the flags (or built by `demo`).
#[derive(Debug, Clone)]
pub struct ScanJob {
    /// The results directory.
    pub out: PathBuf,
    /// The domain list; `None` or `-`: stdin.
    pub input: Option<PathBuf>,
    /// CSV rows `domain,ip` of sender IPs to check.
    pub senders: Option<PathBuf>,
    pub format: Format,
    /// The engine's and the driver's settings.
    pub asking: driver::Settings,
    /// The resolvers as given (`-r`), for the manifest.
    pub resolver_spec: String,
    /// Memory for answers kept for sharing between domains.
    pub cache: CacheSize,
    /// Domains in progress at most (0: the window).
    pub domains_in_flight: usize,
    /// The mail-authentication families checked besides MX.
    pub checks: Checks,
    /// Accept exchanges under .test and .example.
    pub allow_special_use: bool,
    /// Ranges treated as public although special-purpose.
    pub public_ranges: Vec<ipnet::IpNet>,
    /// Provider suffix table (`None`: the bundled one).
    pub providers: Option<PathBuf>,
    /// Score weights overriding the defaults.
    pub weights: Option<PathBuf>,
    /// Anew, resuming, or a retry pass.
    pub mode: StartMode,
    /// `None`: no journal (`--no-journal`).
    pub sync_interval: Option<Duration>,
    /// Write `report.html` at the end (complete or interrupted).
    pub report: bool,
    /// Scan only this part of the input (`--shard I/N`).
    pub shard: Option<Shard>,
    /// Write every question sent here (`--questions-log`).
    pub questions_log: Option<PathBuf>,
    /// Draw the progress bar on stderr (when it is a terminal).
    pub progress: bool,
}

impl ScanJob {
    /// A new scan of `input` into `out` with every other setting at its default.
    pub fn new(out: PathBuf, input: Option<PathBuf>, engine: EngineConfig) -> ScanJob {
        let resolver_spec = (engine.resolvers)
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(",");
        ScanJob {
            out,
            input,
            senders: None,
            format: Format::Csv,
            asking: driver::Settings::new(engine),
            resolver_spec,
            cache: CacheSize::DEFAULT,
            domains_in_flight: 0,
            checks: Checks::DEFAULT,
            allow_special_use: false,
            public_ranges: Vec::new(),
            providers: None,
            weights: None,
            mode: StartMode::New { replace: false },
            sync_interval: Some(Duration::from_secs_f64(DEFAULT_SYNC_INTERVAL)),
            report: true,
            progress: true,
            shard: None,
            questions_log: None,
        }
    }

    pub(crate) fn reads_stdin(&self) -> bool {
        self.input.as_ref().is_none_or(|p| p.as_os_str() == "-")
    }

    /// The analysis settings, with the tables they name loaded.
    fn analysis(&self) -> anyhow::Result<Analysis> {
        Ok(Analysis {
            allow_special_use: self.allow_special_use,
            addresses: AddrTable::new(self.public_ranges.clone()),
            providers: match &self.providers {
                Some(p) => Providers::load(p)?,
                None => Providers::bundled(),
            },
            weights: match &self.weights {
                Some(p) => Weights::load(p)?,
                None => Weights::default(),
            },
        })
    }

    /// What the manifest records: the settings that shape the rows (a resume must give the
    /// same) and those that shape only how resolvers are asked, by flag name.
    pub(crate) fn manifest(&self, input: FileId) -> anyhow::Result<Manifest> {
        let file = |path: &Option<PathBuf>, default: &str| -> anyhow::Result<String> {
            Ok(match path {
                Some(p) => FileId::setting(p)?,
                None => default.to_string(),
            })
        };
        let mut ranges: Vec<String> = self.public_ranges.iter().map(|r| r.to_string()).collect();
        ranges.sort();
        let settings = [
            ("--senders", file(&self.senders, "(none)")?),
            ("--providers", file(&self.providers, "bundled")?),
            ("--weights", file(&self.weights, "default")?),
            ("--public-range", ranges.join(",")),
            ("--allow-special-use", self.allow_special_use.to_string()),
            ("--checks", self.checks.to_string()),
        ];
        let e = &self.asking.engine;
        let tuning = [
            ("--resolvers", self.resolver_spec.clone()),
            ("--sockets", e.sockets.to_string()),
            ("--window", self.asking.window.to_string()),
            ("--per-resolver", e.limits.max_in_flight.to_string()),
            ("--qps", e.limits.qps.map_or(0, |q| q as u32).to_string()),
            ("--attempts", e.retry.max_attempts.to_string()),
            ("--timeout", e.retry.initial_timeout.as_millis().to_string()),
            ("--deadline", e.retry.deadline.as_secs_f64().to_string()),
            ("--no-0x20", (!e.randomize_case).to_string()),
            ("--cache", self.cache.to_string()),
            ("--domains-in-flight", self.domains_in_flight.to_string()),
        ];
        let map = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let settings = map(&settings);
        Ok(Manifest {
            mxscan: env!("CARGO_PKG_VERSION").to_string(),
            format: self.format.name().to_string(),
            input,
            settings_digest: manifest::settings_digest(self.format.name(), &settings),
            settings,
            tuning: map(&tuning),
            shard: self.shard,
            counts: None,
            merged_shards: None,
        })
    }
}

/// A new scan that failed before its first domain (a missing input, a CSV without a `domain`
/// column): nothing of it stays, so that a rerun once the cause is fixed starts as if it never
/// ran. The directory goes if this run created it; else the manifest, if this run wrote it
/// for a new scan (`started`), so that the directory holds no scan to resume.
fn undo_setup(job: &ScanJob, created: bool, started: bool) {
    if created {
        let _ = std::fs::remove_dir_all(&job.out);
    } else if started {
        let _ = std::fs::remove_file(job.out.join(manifest::MANIFEST));
        let _ = std::fs::remove_file(job.out.join(list::STDIN_SPOOL));
    }
}

fn create_out_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the output directory {}: give a writable --out DIR",
            dir.display()
        )
    })
}

/// The input read once before the scan: the sender table and the prepared domain list, with
/// their rejects written (again on a resume: the same input gives the same rows) to a
/// temporary file renamed when complete.
struct Prepared {
    list: DomainList,
    senders: Senders,
    sender_rows: u64,
    sender_rejects: u64,
}

fn prepare(job: &ScanJob, input_path: &Path) -> anyhow::Result<Prepared> {
    let rejects_path = table_path(&job.out, "rejects", job.format);
    let rejects_tmp = rejects_path.with_extension("tmp");
    let mut rejects = create_table::<RejectRow>(rejects_tmp.clone(), job.format, &[])?;
    let mut sender_rejects = 0;
    let partition = job.shard.map(Partition::new);
    let senders = match &job.senders {
        Some(path) => Senders::load(path, partition.as_ref(), &mut |r| {
            sender_rejects += 1;
            rejects.write(&r)
        })?,
        None => Senders::default(),
    };
    let list = list::prepare(input_path, &job.out, partition.as_ref(), &mut |r| {
        rejects.write(&r)
    })?;
    rejects.flush()?;
    drop(rejects);
    std::fs::rename(&rejects_tmp, &rejects_path)
        .with_context(|| format!("cannot write {}", rejects_path.display()))?;
    // The manifest says what this scan's input holds (merge checks a shard against it).
    if let Some(mut m) = Manifest::load(&job.out)?
        && m.counts != Some(list.stats)
    {
        m.counts = Some(list.stats);
        m.write(&job.out)?;
    }
    Ok(Prepared {
        list,
        sender_rows: senders.rows,
        senders,
        sender_rejects,
    })
}

/// The tables opened for this run (with the input positions it skips), and whether it is a
/// retry pass.
struct Tables {
    opened: Opened,
    retry: Option<RetryPass>,
}

/// A second pass over the unmeasured domains.
#[derive(Clone, Copy)]
struct RetryPass {
    /// Domains asked again.
    retried: u64,
    /// The scan was complete before the pass (and is after it).
    was_complete: bool,
}

/// Opens the tables: new, reopened after what the journal vouches for, or (a retry pass) the
/// copies without the unmeasured domains, which are all the pass scans.
fn open_tables(job: &ScanJob, start: Start, list: &DomainList) -> Result<Tables, ScanError> {
    let sync = job.sync_interval.unwrap_or_default();
    let extra = list.extra_columns();
    Ok(match start {
        Start::Retry { recovered, forced } => {
            let found = retry::unmeasured(&job.out, job.format)?;
            if found.domains.is_empty() {
                return Err(ScanError::NothingToRetry);
            }
            for note in forced {
                crate::note!("mxscan: retrying with a change: {note}");
            }
            let (mut skip, mut kept, mut retried) = (Bitset::default(), Vec::new(), 0);
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
            crate::note!(
                "mxscan: asking {retried} domains again (INDETERMINATE, or with a lookup that \
                 failed further down)"
            );
            let pass = RetryPass {
                retried,
                was_complete: recovered.complete,
            };
            let mut opened = checkpoint::open_retry(
                &job.out, job.format, extra, *recovered, &found, kept, sync,
            )?;
            opened.done = skip;
            Tables {
                opened,
                retry: Some(pass),
            }
        }
        Start::Resume {
            recovered: Some(recovered),
            forced,
        } => Tables {
            opened: checkpoint::reopen(&job.out, job.format, extra, *recovered, forced, sync)?,
            retry: None,
        },
        _ => Tables {
            opened: checkpoint::create(&job.out, job.format, extra, job.sync_interval)?,
            retry: None,
        },
    })
}

/// Runs a scan to the end (or to a stop signal) and writes its summary.
pub fn run(job: &ScanJob) -> Result<Summary, ScanError> {
    let analysis = job.analysis()?;
    let created = !job.out.exists();
    create_out_dir(&job.out)?;
    remove_leftovers(&job.out);
    retry::recover(&job.out).with_context(|| {
        format!(
            "cannot finish or remove the retry pass in {}",
            job.out.join(retry::RETRY_DIR).display()
        )
    })?;
    let started = Instant::now();
    let (start, input_path) = decide_start(job).inspect_err(|_| undo_setup(job, created, false))?;
    let fresh = matches!(start, Start::New);
    let mut input = prepare(job, &input_path).inspect_err(|_| undo_setup(job, created, fresh))?;
    let prepare_s = started.elapsed().as_secs_f64();
    let Tables { opened, retry } = open_tables(job, start, &input.list)?;

    let counters = Arc::new(ScanCounters::new(job.asking.engine.resolvers.len()));
    match retry {
        Some(pass) => counters.total.store(pass.retried, Ordering::Relaxed),
        None => {
            counters
                .total
                .store(input.list.stats.domains, Ordering::Relaxed);
            counters
                .domains_done
                .store(opened.done_count, Ordering::Relaxed);
        }
    }
    let Opened {
        tables,
        checkpoint,
        done,
        tally: earlier,
        run: runs,
        ..
    } = opened;
    let (tx, writer) = writer::spawn(tables, checkpoint, analysis, counters.clone())?;

    let progress = if job.progress {
        Progress::start(counters.clone())
    } else {
        Progress::none()
    };
    let sampler = Sampler::start(counters.clone());
    let (mut engine, mut sockets, driver_config) = job.asking.open(None)?;
    let window = match job.domains_in_flight {
        0 => job.asking.window,
        n => n,
    };
    let scan_started = Instant::now();
    let mut workload = workload::ScanWorkload::new(
        Pipeline::new(window, job.cache, job.checks),
        input.list.domains()?,
        done,
        std::mem::take(&mut input.senders),
        tx,
        counters,
        LatencyRecorder::new(&job.asking.engine.resolvers),
    );
    if let Some(path) = &job.questions_log {
        // A resumed run or a retry pass adds to the log of the runs before.
        workload.log_questions(QuestionsLog::open(path, !fresh)?);
    }
    let result = driver::run_workload(&mut engine, &mut sockets, &driver_config, &mut workload);
    let gave_up = matches!(result, Ok(driver::Ended::GaveUp));
    let (mut ran, sent) = workload.end(gave_up);
    if let Some(Err(e)) = ran.questions.take().map(QuestionsLog::finish) {
        crate::note!("mxscan: warning: the questions log is incomplete: {e}");
    }
    let written = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the output thread panicked"))?;
    progress.finish();
    let timeline = sampler.finish();
    // The output thread's error is the cause when there is one (the I/O thread then only
    // saw its channel close).
    let (this_run, mut tables, checkpoint) = written?;
    result.context("the scan's network I/O failed")?;
    sent?;
    if let Some(e) = ran.read_error {
        return Err(e.into());
    }
    // A retry pass changes the scan only as a whole: complete, or not at all.
    let complete = match retry {
        Some(_) if !ran.complete => {
            drop(tables);
            let _ = std::fs::remove_dir_all(job.out.join(retry::RETRY_DIR));
            return Err(ScanError::RetryStopped);
        }
        Some(pass) => {
            checkpoint.finish(&mut tables, pass.was_complete)?;
            drop(tables);
            retry::commit(&job.out)?;
            pass.was_complete
        }
        None => {
            checkpoint.finish(&mut tables, ran.complete)?;
            ran.complete
        }
    };
    let mut tally = earlier;
    tally.merge(&this_run);
    if complete && input.list.path().ends_with(list::STDIN_SPOOL) {
        let _ = std::fs::remove_file(input.list.path());
    }
    let summary = summarize::Parts {
        job,
        input: &input,
        engine: &engine,
        ran: &ran,
        tally: &tally,
        complete,
        gave_up,
        runs,
        retried: retry.map_or(0, |pass| pass.retried),
        prepare_s,
        scan_s: scan_started.elapsed().as_secs_f64(),
        timeline,
    }
    .summary();
    summary.write(&job.out)?;
    if job.report {
        crate::report::write_after(&job.out, "scan");
    }
    Ok(summary)
}
