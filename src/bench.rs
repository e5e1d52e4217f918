//! A resolver-farm benchmark (`mxscan bench`): the input's questions asked once or cycled for
//! a duration; per resolver and overall: queries sent and answered, loss, achieved QPS,
//! latency percentiles (HDR histogram) and rcodes.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hickory_proto::rr::RecordType;

use crate::engine::{Question, Status};
use crate::input::names;
use crate::io::driver;
use crate::metrics::latency::{Latency, LatencyRecorder, ResolverReport, pct};
use crate::metrics::progress::ScanCounters;
use crate::metrics::timeline::{Sampler, Timeline};

/// A benchmark, resolved from the flags.
#[derive(Debug, Clone)]
pub struct BenchJob {
    pub asking: driver::Settings,
    /// Types asked for each name.
    pub types: Vec<RecordType>,
    /// Cycle through the input this long; `None`: one pass.
    pub duration: Option<Duration>,
    /// Names, one per line (`None` or `-`: stdin).
    pub input: Option<PathBuf>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub run_time_s: f64,
    pub lookups: u64,
    pub answered: u64,
    pub lost: u64,
    pub loss_pct: f64,
    pub lookups_per_s: f64,
    pub attempts: u64,
    pub statuses: BTreeMap<&'static str, u64>,
    pub latency_ms: Option<Latency>,
    pub resolvers: Vec<ResolverReport>,
    /// The command line, as given.
    pub command: Vec<String>,
    /// The run over time (its `domains` are the lookups done).
    pub timeline: Timeline,
}

/// Runs the benchmark and reports it.
pub fn run(job: &BenchJob) -> anyhow::Result<BenchReport> {
    let mut queries = Vec::new();
    for line in names::open(job.input.as_deref())?.lines() {
        let line = line.context("cannot read the input")?;
        for &t in &job.types {
            if let Some(name) = names::query_name(&line, t) {
                queries.push((name, t));
            }
        }
    }
    if queries.is_empty() {
        bail!("the input has no names: give a file with one name per line");
    }
    let deadline = job.duration.map(|d| Instant::now() + d);
    let passes = if deadline.is_some() { usize::MAX } else { 1 };
    let (mut engine, mut sockets, driver_config) = job.asking.open(deadline)?;
    let mut input = queries
        .iter()
        .cycle()
        .take(queries.len().saturating_mul(passes))
        .enumerate()
        .map(|(i, (n, t))| Question::new(n.clone(), *t, i as u64));

    let mut latency = LatencyRecorder::new(&job.asking.engine.resolvers);
    let mut statuses: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut lookups, mut lost) = (0u64, 0u64);
    let resolvers = &job.asking.engine.resolvers;
    let counters = Arc::new(ScanCounters::new(resolvers.len()));
    let sampler = Sampler::start(counters.clone());
    let started = Instant::now();
    driver::run(
        &mut engine,
        &mut sockets,
        &driver_config,
        &mut input,
        &mut |o| {
            lookups += 1;
            *statuses.entry(o.status.as_str()).or_default() += 1;
            if o.status == Status::Timeout {
                lost += 1;
            }
            latency.record(&o);
            let count = |c: &AtomicU64| c.fetch_add(1, Ordering::Relaxed);
            count(&counters.domains_done);
            count(&counters.lookups);
            if o.status == Status::Timeout {
                count(&counters.timeouts);
            }
            if let (Some(_), Some(i)) = (
                o.rtt,
                o.resolver
                    .and_then(|r| resolvers.iter().position(|x| *x == r)),
            ) {
                count(&counters.answered[i]);
            }
            Ok(())
        },
    )?;
    let run_time = started.elapsed().as_secs_f64();
    let timeline = sampler.finish();
    Ok(BenchReport {
        run_time_s: run_time,
        lookups,
        answered: lookups - lost,
        lost,
        loss_pct: pct(lost, lookups),
        lookups_per_s: (lookups - lost) as f64 / run_time,
        attempts: engine.stats.attempts,
        statuses,
        latency_ms: latency.overall(),
        resolvers: latency.reports(&engine, run_time),
        command: std::env::args().collect(),
        timeline,
    })
}

/// The report in the shape dnsperf users know.
pub fn text(r: &BenchReport) -> String {
    let mut s = String::new();
    let lat = |l: &Option<Latency>| {
        l.as_ref().map_or("-".into(), |l| {
            format!(
                "min {:.3}  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  (mean {:.3}) ms",
                l.min, l.p50, l.p90, l.p99, l.max, l.mean
            )
        })
    };
    s += "Statistics:\n\n";
    s += &format!("  Lookups sent:         {}\n", r.lookups);
    s += &format!(
        "  Lookups completed:    {} ({:.2}%)\n",
        r.answered,
        100.0 - r.loss_pct
    );
    s += &format!("  Lookups lost:         {} ({:.2}%)\n", r.lost, r.loss_pct);
    s += &format!("  Datagrams sent:       {}\n\n", r.attempts);
    let codes: Vec<String> = r
        .statuses
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {v} ({:.2}%)",
                100.0 * *v as f64 / r.lookups.max(1) as f64
            )
        })
        .collect();
    s += &format!("  Response codes:       {}\n", codes.join(", "));
    s += &format!("  Run time (s):         {:.6}\n", r.run_time_s);
    s += &format!("  Queries per second:   {:.6}\n\n", r.lookups_per_s);
    s += &format!("  Latency:              {}\n\n", lat(&r.latency_ms));
    s += "Per resolver:\n";
    for x in &r.resolvers {
        let rc: Vec<String> = x.rcodes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        s += &format!(
            "  {}  sent {}  answered {}  loss {:.2}%  {:.0} q/s  timeouts {}  {}\n    rcodes: {}\n    latency: {}\n",
            x.resolver,
            x.sent,
            x.answered,
            x.loss_pct,
            x.qps,
            x.timeouts,
            x.health,
            rc.join(", "),
            lat(&x.latency_ms)
        );
    }
    s
}
