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
            })
            .collect()
    }
}
