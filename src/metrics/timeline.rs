//! The scan over time for `summary.json` and the report: the [`ScanCounters`] sampled once a
//! second by a thread of its own, at most [`MAX_SAMPLES`] kept. A longer scan keeps every other
//! sample and samples half as often, so a week-long scan has as many samples as a ten-minute
//! one, evenly spaced. The counters are cumulative (except `in_flight`), so a rate between any
//! two samples is exact whatever was dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::metrics::progress::ScanCounters;

/// Samples kept at most (and one more: the end of the run).
pub const MAX_SAMPLES: usize = 600;

/// One reading of the counters, `t_s` seconds into the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub t_s: f64,
    /// Domains written, this run's and earlier runs' (a resume starts where it was).
    pub domains: u64,
    pub lookups: u64,
    pub queries: u64,
    pub in_flight: u64,
    pub retries: u64,
    pub timeouts: u64,
    /// Replies from each resolver, in the order of `resolvers`.
    pub answered: Vec<u64>,
}

/// The samples of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Seconds between samples (doubles each time the samples are thinned).
    pub interval_s: f64,
    pub samples: Vec<Sample>,
}

impl Timeline {
    fn new() -> Timeline {
        Timeline {
            interval_s: 1.0,
            samples: Vec::new(),
        }
    }

    /// Adds a sample due at `t_s`; thins the samples when they are too many.
    fn push(&mut self, sample: Sample) {
        self.samples.push(sample);
        if self.samples.len() > MAX_SAMPLES {
            // Keep the samples at even multiples of the new interval (the first is at 1×).
            let mut i = 0;
            self.samples.retain(|_| {
                i += 1;
                i % 2 == 0
            });
            self.interval_s *= 2.0;
        }
    }

    /// The next sample is due at this time into the run.
    fn next_due(&self) -> f64 {
        self.samples.last().map_or(0.0, |s| s.t_s) + self.interval_s
    }
}

fn read(counters: &ScanCounters, t_s: f64) -> Sample {
    let get = ScanCounters::get;
    Sample {
        t_s,
        domains: get(&counters.domains_done),
        lookups: get(&counters.lookups),
        queries: get(&counters.queries),
        in_flight: get(&counters.in_flight),
        retries: get(&counters.retries),
        timeouts: get(&counters.timeouts),
        answered: counters.answered.iter().map(get).collect(),
    }
}

/// A running sampler.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    timeline: Arc<Mutex<Timeline>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<ScanCounters>,
    started: Instant,
}

/// How often the thread wakes to see whether it should stop.
const TICK: Duration = Duration::from_millis(100);

impl Sampler {
    pub fn start(counters: Arc<ScanCounters>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        // A sample at the start, so that the first second has a rate too.
        let mut first = Timeline::new();
        first.samples.push(read(&counters, 0.0));
        let timeline = Arc::new(Mutex::new(first));
        let thread = {
            let (stop, timeline, counters) = (stop.clone(), timeline.clone(), counters.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    let now = started.elapsed().as_secs_f64();
                    let mut t = timeline.lock().unwrap_or_else(|e| e.into_inner());
                    let due = t.next_due();
                    if now >= due {
                        t.push(read(&counters, due));
                    }
                }
            })
        };
        Sampler {
            stop,
            timeline,
            thread: Some(thread),
            counters,
            started,
        }
    }

    /// Stops sampling; the timeline ends with a sample of the end.
    pub fn finish(mut self) -> Timeline {
        self.stop_thread();
        let mut t = std::mem::take(&mut *self.timeline.lock().unwrap_or_else(|e| e.into_inner()));
        let end = self.started.elapsed().as_secs_f64();
        // A sample just before the end would make a rate over a sliver of time: the end
        // replaces it.
        if t.samples
            .last()
            .is_some_and(|s| end - s.t_s < t.interval_s / 2.0)
        {
            t.samples.pop();
        }
        t.samples.push(read(&self.counters, end));
        t
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t_s: f64) -> Sample {
        Sample {
            t_s,
            domains: t_s as u64,
            lookups: 0,
            queries: 0,
            in_flight: 0,
            retries: 0,
            timeouts: 0,
            answered: vec![],
        }
    }

    #[test]
    fn a_long_run_keeps_evenly_spaced_samples_within_the_bound() {
        // A run of 10 × MAX_SAMPLES seconds: the interval doubles at 600, 1200, 2400, 4800 s.
        let mut t = Timeline::new();
        while t.next_due() <= (10 * MAX_SAMPLES) as f64 {
            let due = t.next_due();
            t.push(at(due));
        }
        assert!(t.samples.len() <= MAX_SAMPLES, "{}", t.samples.len());
        assert!(t.samples.len() > MAX_SAMPLES / 2);
        let gaps: Vec<f64> = t.samples.windows(2).map(|w| w[1].t_s - w[0].t_s).collect();
        assert!(gaps.iter().all(|g| *g == t.interval_s), "{gaps:?}");
        assert_eq!(t.samples[0].t_s, t.interval_s);
        assert_eq!(t.interval_s, 16.0);
    }
}
