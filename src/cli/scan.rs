//! `mxscan scan`: the mail lookup pipeline over a domain list, with results in `--out DIR`.
//!
//! Threads: the I/O thread runs the engine and the pipeline (decoding replies it needs to go
//! on); finished domains go in batches over a bounded channel to the output thread, which
//! analyses each batch on the rayon pool and writes the rows; a progress thread draws the bar.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;

use super::engine_args::EngineArgs;
use crate::analysis::addr::AddrTable;
use crate::analysis::provider::Providers;
use crate::analysis::score::Weights;
use crate::analysis::{Analysis, DomainReport, Route};
use crate::engine::{Engine, Outcome};
use crate::input::list::{self, DomainList, Domains, ListError};
use crate::input::senders::Senders;
use crate::io::driver::{self, Workload};
use crate::output::progress::{Progress, ScanCounters};
use crate::output::resolvers::LatencyRecorder;
use crate::output::scan::{REJECT_COLUMNS, ScanTables, create_table, write_reject};
use crate::output::summary::{InputSummary, QuerySummary, Summary, Timing};
use crate::output::{self, Format};
use crate::pipeline::result::DomainResult;
use crate::pipeline::{Finished, Pipeline};

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

    /// Domains, one per line, or a CSV with a `domain` column (`-` or none: stdin).
    pub input: Option<PathBuf>,
}

/// What the I/O thread runs: domains from the list into the pipeline, finished domains out
/// to the output thread.
struct ScanWorkload<'a> {
    pipeline: Pipeline,
    domains: Domains<'a>,
    senders: Senders,
    input_done: bool,
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
                    self.pipeline.start(d);
                }
                Some(Err(e)) => {
                    self.read_error = Some(e);
                    self.input_done = true;
                }
                None => self.input_done = true,
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
    }

    fn stop(&mut self) {
        self.input_done = true;
    }
}

/// Counts the output thread keeps for the summary.
#[derive(Default)]
struct Tally {
    routes: BTreeMap<Route, u64>,
    findings: BTreeMap<String, BTreeMap<&'static str, u64>>,
    providers: BTreeMap<String, f64>,
    senders: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn add(&mut self, r: &DomainReport) {
        *self.routes.entry(r.route).or_default() += 1;
        for f in &r.findings {
            *self
                .findings
                .entry(f.code.to_string())
                .or_default()
                .entry(f.severity.as_str())
                .or_default() += 1;
        }
        for (p, share) in &r.providers {
            *self.providers.entry(p.clone()).or_default() += share;
        }
        for s in &r.senders {
            *self.senders.entry(s.verdict).or_default() += 1;
        }
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
}

impl ScanJob {
    /// Checks the flags and loads the tables they name.
    pub fn from_args(a: ScanArgs) -> anyhow::Result<Self> {
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
        })
    }
}

pub fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let summary = scan(ScanJob::from_args(args)?)?;
    eprintln!("{}", summary.line());
    Ok(if summary.interrupted { 130 } else { 0 })
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
    let started = Instant::now();

    // Rejects are written during the first pass, before anything is looked up.
    let mut rejects = create_table(&job.out, "rejects", job.format, &REJECT_COLUMNS)?;
    let senders = match &job.senders {
        Some(path) => Senders::load(path, &mut |r| write_reject(&mut rejects, &r))?,
        None => Senders::default(),
    };
    let sender_rows = senders.rows;
    let list: DomainList = list::prepare(job.input.as_deref(), &job.out, &mut |r| {
        write_reject(&mut rejects, &r)
    })?;
    rejects.flush()?;
    drop(rejects);
    let prepare_s = started.elapsed().as_secs_f64();

    let counters = Arc::new(ScanCounters::default());
    counters.total.store(list.stats.domains, Ordering::Relaxed);
    let mut tables = ScanTables::create(&job.out, job.format, list.extra_columns())?;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Finished>>(QUEUED_BATCHES);
    let out_counters = counters.clone();
    let analysis = job.analysis.clone();
    let writer = std::thread::Builder::new()
        .name("mxscan-output".into())
        .spawn(move || -> std::io::Result<Tally> {
            let mut tally = Tally::default();
            for batch in rx {
                let reports: Vec<_> = batch
                    .par_iter()
                    .map(|f| analysis.analyze(DomainResult::assemble(f)))
                    .collect();
                for report in &reports {
                    tables.write(report)?;
                    tally.add(report);
                }
                tables.flush()?;
                out_counters
                    .domains_done
                    .fetch_add(reports.len() as u64, Ordering::Relaxed);
            }
            Ok(tally)
        })?;

    let progress = Progress::start(counters.clone());
    let (sockets, driver_config) = job.engine.driver(&config, None)?;
    let stop_flag = driver_config.stop.clone();
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
        senders,
        input_done: false,
        read_error: None,
        batch: Vec::with_capacity(BATCH),
        tx,
        counters: counters.clone(),
        latency: LatencyRecorder::new(&resolvers),
        statuses: BTreeMap::new(),
    };
    let result = driver::run_workload(&mut engine, &sockets, &driver_config, &mut workload);
    let sent = workload.send_batch();
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
    let tally = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the output thread panicked"))?;
    progress.finish();
    result.context("the scan's network I/O failed")?;
    sent?;
    let tally = tally?;
    let routes = &tally.routes;
    if let Some(e) = read_error {
        return Err(e.into());
    }
    let scan_s = scan_started.elapsed().as_secs_f64();
    let interrupted = stop_flag.is_some_and(|s| s.load(Ordering::Relaxed));
    if list.path().ends_with(list::STDIN_SPOOL) && !interrupted {
        let _ = std::fs::remove_file(list.path());
    }
    let done = pipeline.stats.finished;
    let per_domain = |n: u64| {
        if done == 0 {
            0.0
        } else {
            n as f64 / done as f64
        }
    };
    let s = &engine.stats;
    let summary = Summary {
        version: env!("CARGO_PKG_VERSION"),
        interrupted,
        input: InputSummary {
            path: job
                .input
                .as_ref()
                .map_or("-".into(), |p| p.display().to_string()),
            list: list.stats,
            sender_rows,
            sender_domains_not_scanned: senders.remaining(),
        },
        domains_scanned: done,
        route_pct: Route::ALL
            .iter()
            .map(|r| {
                let n = routes.get(r).copied().unwrap_or(0);
                (r.as_str(), output::resolvers::pct(n, done))
            })
            .collect(),
        routes: Route::ALL
            .iter()
            .map(|r| (r.as_str(), routes.get(r).copied().unwrap_or(0)))
            .collect(),
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
        },
        timing: Timing {
            prepare_s,
            scan_s,
            domains_per_s: done as f64 / scan_s.max(1e-9),
            lookups_per_s: s.completed as f64 / scan_s.max(1e-9),
        },
        findings: tally.findings,
        providers_pct: tally
            .providers
            .iter()
            .map(|(p, n)| (p.clone(), 100.0 * n / done.max(1) as f64))
            .collect(),
        senders: tally.senders,
        resolvers: latency.reports(&engine, scan_s),
    };
    summary.write(&job.out)?;
    Ok(summary)
}
