//! What the I/O thread runs: domains from the list into the pipeline, finished domains out to
//! the output thread in batches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::bitset::Bitset;
use crate::engine::{Engine, Outcome, Question};
use crate::input::list::{Domains, ListError};
use crate::input::senders::Senders;
use crate::io::driver::Workload;
use crate::metrics::distinct::DistinctQuestions;
use crate::metrics::latency::LatencyRecorder;
use crate::metrics::progress::ScanCounters;
use crate::pipeline::{Finished, Pipeline};
use crate::tables::questions::QuestionsLog;

/// Finished domains per batch handed to the output thread.
pub const BATCH: usize = 256;
/// A batch is handed over when full or this old: finished domains reach the tables (and the
/// progress counters) within it even when few finish, e.g. while the last wait on timeouts.
const BATCH_AGE: Duration = Duration::from_millis(250);

pub struct ScanWorkload<'a> {
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
    /// When the first domain of `batch` finished.
    batch_since: Instant,
    tx: crossbeam_channel::Sender<Vec<Finished>>,
    counters: Arc<ScanCounters>,
    latency: LatencyRecorder,
    statuses: BTreeMap<&'static str, u64>,
    questions: Option<QuestionsLog>,
    distinct: DistinctQuestions,
    /// When the engine's lookups were last sorted by what they wait on.
    waiting_read: Instant,
}

/// How often the tail's lookups are sorted by what they wait on (a walk over all of them).
const WAITING_EVERY: Duration = Duration::from_millis(200);

/// What the I/O thread's run left for the summary.
pub struct Ran {
    pub pipeline: Pipeline,
    pub senders: Senders,
    pub read_error: Option<ListError>,
    pub latency: LatencyRecorder,
    pub statuses: BTreeMap<&'static str, u64>,
    /// `--questions-log`, to finish.
    pub questions: Option<QuestionsLog>,
    /// Every question sent.
    pub distinct: DistinctQuestions,
    /// Every input domain was scanned (no stop, no give-up, nothing in flight).
    pub complete: bool,
}

impl<'a> ScanWorkload<'a> {
    pub fn new(
        pipeline: Pipeline,
        domains: Domains<'a>,
        done: Bitset,
        senders: Senders,
        tx: crossbeam_channel::Sender<Vec<Finished>>,
        counters: Arc<ScanCounters>,
        latency: LatencyRecorder,
    ) -> Self {
        ScanWorkload {
            pipeline,
            domains,
            done,
            senders,
            input_done: false,
            input_exhausted: false,
            read_error: None,
            batch: Vec::with_capacity(BATCH),
            batch_since: Instant::now(),
            tx,
            counters,
            latency,
            statuses: BTreeMap::new(),
            questions: None,
            distinct: DistinctQuestions::default(),
            waiting_read: Instant::now(),
        }
    }

    /// Writes every question sent to `log` (`--questions-log`).
    pub fn log_questions(&mut self, log: QuestionsLog) {
        self.questions = Some(log);
    }

    fn send_batch(&mut self) -> std::io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx
            .send(batch)
            .map_err(|_| std::io::Error::other("the output thread stopped"))
    }

    /// Hands over the last batch and closes the channel (the output thread then ends), with
    /// the result of sending that batch.
    pub fn end(mut self, gave_up: bool) -> (Ran, std::io::Result<()>) {
        let sent = self.send_batch();
        let complete = self.input_exhausted
            && !gave_up
            && self.pipeline.active() == 0
            && self.pipeline.queued() == 0;
        let ran = Ran {
            pipeline: self.pipeline,
            senders: self.senders,
            read_error: self.read_error,
            latency: self.latency,
            statuses: self.statuses,
            questions: self.questions,
            distinct: self.distinct,
            complete,
        };
        (ran, sent)
    }
}

impl Workload for ScanWorkload<'_> {
    fn next_query(&mut self) -> Option<Question> {
        loop {
            if let Some(q) = self.pipeline.poll_query() {
                self.distinct.insert(&q.name, q.qtype);
                if let Some(log) = &mut self.questions {
                    log.write(&q);
                }
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
            if self.batch.is_empty() {
                self.batch_since = Instant::now();
            }
            self.batch.push(f);
            if self.batch.len() == BATCH {
                self.send_batch()?;
            }
        }
        Ok(())
    }

    fn on_turn(&mut self, engine: &Engine) {
        // A send that fails here fails again on the next full batch, which reports it.
        if !self.batch.is_empty() && self.batch_since.elapsed() >= BATCH_AGE {
            let _ = self.send_batch();
        }
        let c = &self.counters;
        c.lookups.store(engine.stats.submitted, Ordering::Relaxed);
        c.queries.store(engine.stats.attempts, Ordering::Relaxed);
        for (answered, r) in c.answered.iter().zip(engine.resolvers()) {
            answered.store(r.stats.answered, Ordering::Relaxed);
        }
        c.in_flight
            .store(engine.in_flight() as u64, Ordering::Relaxed);
        c.retries.store(engine.stats.retries, Ordering::Relaxed);
        let timeouts = engine.resolvers().iter().map(|r| r.stats.timeouts).sum();
        c.timeouts.store(timeouts, Ordering::Relaxed);
        if self.input_done && self.waiting_read.elapsed() >= WAITING_EVERY {
            self.waiting_read = Instant::now();
            let w = engine.waiting();
            c.all_started.store(true, Ordering::Relaxed);
            c.waiting_after_timeouts
                .store(w.after_timeouts, Ordering::Relaxed);
            c.waiting_after_servfail
                .store(w.after_servfail, Ordering::Relaxed);
        }
        let outage = engine
            .outage_since()
            .map_or(0, |t| t.elapsed().as_millis().max(1) as u64);
        c.outage_ms.store(outage, Ordering::Relaxed);
    }

    fn stop(&mut self) {
        self.input_done = true;
    }
}
