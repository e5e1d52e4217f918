//! Progress on stderr: a view of atomic counters, drawn by indicatif a few times a second (never
//! per query), hidden when stderr is not a terminal. The final summary line is printed by the
//! caller whatever happens.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Counters the scan updates and the progress bar and the timeline read.
#[derive(Debug, Default)]
pub struct ScanCounters {
    /// Domains to scan, when known.
    pub total: AtomicU64,
    pub domains_done: AtomicU64,
    /// Questions handed to the engine (after sharing).
    pub lookups: AtomicU64,
    /// Queries sent, retries included.
    pub queries: AtomicU64,
    pub in_flight: AtomicU64,
    pub retries: AtomicU64,
    pub timeouts: AtomicU64,
    /// Every domain of the input has been started: what is left is the tail.
    pub all_started: AtomicBool,
    /// In the tail, lookups waiting after timeouts and after SERVFAIL or REFUSED.
    pub waiting_after_timeouts: AtomicU64,
    pub waiting_after_servfail: AtomicU64,
    /// Milliseconds every resolver has been down (0: some resolver is up).
    pub outage_ms: AtomicU64,
    /// Replies from each resolver, in `-r` order.
    pub answered: Vec<AtomicU64>,
}

impl ScanCounters {
    pub fn new(resolvers: usize) -> ScanCounters {
        ScanCounters {
            answered: (0..resolvers).map(|_| AtomicU64::new(0)).collect(),
            ..ScanCounters::default()
        }
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// The progress message once every domain has been started: what the last lookups wait on.
pub fn tail_message(counters: &ScanCounters) -> String {
    let get = |c: &AtomicU64| ScanCounters::get(c);
    let in_flight = get(&counters.in_flight);
    let (timeouts, servfail) = (
        get(&counters.waiting_after_timeouts),
        get(&counters.waiting_after_servfail),
    );
    format!(
        "all domains started; {in_flight} lookups waiting: {} on a first answer, {timeouts} \
         after timeouts, {servfail} after SERVFAIL/REFUSED",
        in_flight.saturating_sub(timeouts + servfail)
    )
}

/// A running progress bar.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const REDRAW: Duration = Duration::from_millis(200);

impl Progress {
    /// Starts drawing `counters` on stderr (nothing is drawn when stderr is not a terminal).
    /// No bar (`--quiet`).
    pub fn none() -> Progress {
        Progress {
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        }
    }

    pub fn start(counters: Arc<ScanCounters>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let target = ProgressDrawTarget::stderr_with_hz(5);
        if target.is_hidden() {
            return Progress { stop, thread: None };
        }
        let bar = ProgressBar::with_draw_target(Some(ScanCounters::get(&counters.total)), target);
        bar.set_style(
            ProgressStyle::with_template("{bar:20} {pos}/{len} domains {rate} ETA {eta} {msg}")
                .map(|style| {
                    // indicatif's {per_sec} prints four decimals ("9,266.8908/s").
                    style.with_key(
                        "rate",
                        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0}/s", state.per_sec());
                        },
                    )
                })
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        // A resumed scan starts part-way: its rate and ETA count from there.
        bar.set_position(ScanCounters::get(&counters.domains_done));
        bar.reset_eta();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let get = |c: &AtomicU64| ScanCounters::get(c);
                bar.set_length(get(&counters.total));
                bar.set_position(get(&counters.domains_done));
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let outage = get(&counters.outage_ms);
                if outage > 0 {
                    bar.set_message(format!(
                        "EVERY RESOLVER DOWN for {:.0} s: waiting, probing",
                        outage as f64 / 1e3
                    ));
                    std::thread::sleep(REDRAW);
                    continue;
                }
                if counters.all_started.load(Ordering::Relaxed) {
                    bar.set_message(tail_message(&counters));
                    std::thread::sleep(REDRAW);
                    continue;
                }
                bar.set_message(format!(
                    "{:.0} q/s, {} in flight, {} retries, {} timeouts",
                    get(&counters.queries) as f64 / secs,
                    get(&counters.in_flight),
                    get(&counters.retries),
                    get(&counters.timeouts),
                ));
                std::thread::sleep(REDRAW);
            }
            bar.finish_and_clear();
        });
        Progress {
            stop,
            thread: Some(thread),
        }
    }

    /// Clears the bar.
    pub fn finish(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_says_what_its_lookups_wait_on() {
        let c = ScanCounters::new(2);
        c.in_flight.store(978, Ordering::Relaxed);
        c.waiting_after_timeouts.store(900, Ordering::Relaxed);
        c.waiting_after_servfail.store(66, Ordering::Relaxed);
        assert_eq!(
            tail_message(&c),
            "all domains started; 978 lookups waiting: 12 on a first answer, 900 after \
             timeouts, 66 after SERVFAIL/REFUSED"
        );
    }
}
