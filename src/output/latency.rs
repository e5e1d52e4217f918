//! Per-resolver figures for operators: sent, answered, loss, QPS, rcodes, health and latency
//! percentiles (HDR histograms), shared by `mxscan bench` and the scan summary.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hdrhistogram::Histogram;

use crate::engine::{Engine, Outcome};

/// Latency figures in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Upper bounds of the latency distribution's buckets in milliseconds (a 1-2-5 series; the
/// last bucket, `le_ms: null`, holds the rest).
const BUCKET_BOUNDS_MS: [f64; 15] = [
    0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

/// Answers with a latency up to `le_ms` (and over the previous bucket's bound).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bucket {
    pub le_ms: Option<f64>,
    pub count: u64,
}

/// The latency distribution of `h` in [`BUCKET_BOUNDS_MS`] (empty when nothing was answered).
fn buckets(h: &Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(BUCKET_BOUNDS_MS.len() + 1);
    let mut below = 0;
    for le in BUCKET_BOUNDS_MS {
        let upto = h.count_between(0, (le * 1e3) as u64);
        out.push(Bucket {
            le_ms: Some(le),
            count: upto - below,
        });
        below = upto;
    }
    out.push(Bucket {
        le_ms: None,
        count: h.len() - below,
    });
    out
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Option<Latency> {
        let ms = |us: u64| us as f64 / 1e3;
        (!h.is_empty()).then(|| Latency {
            min: ms(h.min()),
            mean: h.mean() / 1e3,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        })
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ResolverReport {
    pub resolver: SocketAddr,
    /// Datagrams sent to it (attempts).
    pub sent: u64,
    /// Replies from it.
    pub answered: u64,
    pub loss_pct: f64,
    pub qps: f64,
    pub timeouts: u64,
    pub truncated: u64,
    pub benched: u64,
    /// Timeouts that passed while the resolver answered nothing: waited on, not resent.
    pub silent_waits: u64,
    /// Times it went down (silent for the down threshold), and probes sent while down.
    pub downs: u64,
    pub probes: u64,
    /// Its retransmission timeout at the end, learnt from its latency.
    pub rto_ms: Option<f64>,
    /// Its congestion window at the end: queries in flight it was trusted with.
    pub window: usize,
    /// `active`, `benched`, `probing` or `down` at the end.
    pub health: &'static str,
    pub rcodes: BTreeMap<&'static str, u64>,
    pub latency_ms: Option<Latency>,
    /// How many answers took how long (the report's latency distribution).
    pub latency_buckets: Vec<Bucket>,
}

/// Records the latency of every answered lookup, overall and per resolver.
pub struct LatencyRecorder {
    resolvers: Vec<SocketAddr>,
    all: Histogram<u64>,
    per: Vec<Histogram<u64>>,
}

fn histogram() -> Histogram<u64> {
    // Microseconds from 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl LatencyRecorder {
    pub fn new(resolvers: &[SocketAddr]) -> Self {
        LatencyRecorder {
            resolvers: resolvers.to_vec(),
            all: histogram(),
            per: resolvers.iter().map(|_| histogram()).collect(),
        }
    }

    pub fn record(&mut self, o: &Outcome) {
        if let (Some(rtt), Some(r)) = (o.rtt, o.resolver) {
            let us = (rtt.as_micros() as u64).clamp(1, 60_000_000);
            let _ = self.all.record(us);
            if let Some(i) = self.resolvers.iter().position(|x| *x == r) {
                let _ = self.per[i].record(us);
            }
        }
    }

    pub fn overall(&self) -> Option<Latency> {
        Latency::of(&self.all)
    }

    /// One report per resolver of `engine`, rates over `run_time` seconds.
    pub fn reports(&self, engine: &Engine, run_time: f64) -> Vec<ResolverReport> {
        engine
            .resolvers()
            .iter()
            .zip(&self.per)
            .map(|(r, h)| ResolverReport {
                resolver: r.addr,
                sent: r.stats.sent,
                answered: r.stats.answered,
                loss_pct: pct(r.stats.sent.saturating_sub(r.stats.answered), r.stats.sent),
                qps: r.stats.answered as f64 / run_time.max(1e-9),
                timeouts: r.stats.timeouts,
                truncated: r.stats.truncated,
                benched: r.stats.benched,
                silent_waits: r.stats.silent_waits,
                downs: r.stats.downs,
                probes: r.stats.probes,
                rto_ms: r.rto().map(|d| d.as_secs_f64() * 1e3),
                window: r.window(),
                health: r.health.name(),
                rcodes: r
                    .stats
                    .rcodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(c, n)| (crate::wire::Rcode::new(c as u8).name(), *n))
                    .collect(),
                latency_ms: Latency::of(h),
                latency_buckets: buckets(h),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_every_answer_once() {
        let mut h = histogram();
        for us in [50, 100, 101, 900, 1_000, 30_000, 6_000_000] {
            h.record(us).unwrap();
        }
        let b = buckets(&h);
        let count = |le: Option<f64>| b.iter().find(|x| x.le_ms == le).unwrap().count;
        assert_eq!(b.iter().map(|x| x.count).sum::<u64>(), 7);
        assert_eq!(count(Some(0.1)), 2);
        assert_eq!(count(Some(0.2)), 1);
        assert_eq!(count(Some(1.0)), 2);
        assert_eq!(count(Some(50.0)), 1);
        assert_eq!(count(None), 1);
        assert!(buckets(&histogram()).is_empty());
    }
}
