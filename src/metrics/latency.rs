//! Per-resolver figures for operators: sent, answered, loss, QPS, rcodes, health and latency
//! percentiles (HDR histograms), shared by `mxscan bench` and the scan summary.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hdrhistogram::Histogram;

use crate::engine::{Engine, Outcome};

/// Latency figures in milliseconds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    pub health: String,
    pub rcodes: BTreeMap<String, u64>,
    pub latency_ms: Option<Latency>,
    /// How many answers took how long (the report's latency distribution).
    pub latency_buckets: Vec<Bucket>,
    /// Every answer's latency in microseconds as an HDR histogram (V2, deflated, base64: the
    /// form HdrHistogram's libraries read), so that shards' percentiles can be merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_histogram: Option<String>,
}

/// `h` in the HdrHistogram V2 compressed form, base64 (`None` when empty).
fn encode(h: &Histogram<u64>) -> Option<String> {
    use base64::Engine as _;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    if h.is_empty() {
        return None;
    }
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("a histogram serialises into memory");
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A histogram [`encode`] wrote.
fn decode(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HDR histogram: {e:?}"))
}

/// Which of two end states of a resolver is worse (shown for a merged scan).
fn health_rank(health: &str) -> u8 {
    match health {
        "active" => 0,
        "benched" => 1,
        "probing" => 2,
        _ => 3,
    }
}

impl ResolverReport {
    /// One resolver's figures over several scans (shards) that asked it: counts summed, rates
    /// over `run_time` seconds (their scan times summed), percentiles from the merged
    /// histograms; the end state is the worst one (health), the longest timeout and the
    /// smallest window.
    pub fn combine(parts: &[&ResolverReport], run_time: f64) -> Result<ResolverReport, String> {
        let first = parts.first().ok_or("no figures to combine")?;
        let mut h = histogram();
        let mut out = ResolverReport {
            resolver: first.resolver,
            sent: 0,
            answered: 0,
            loss_pct: 0.0,
            qps: 0.0,
            timeouts: 0,
            truncated: 0,
            benched: 0,
            silent_waits: 0,
            downs: 0,
            probes: 0,
            rto_ms: None,
            window: first.window,
            health: first.health.clone(),
            rcodes: BTreeMap::new(),
            latency_ms: None,
            latency_buckets: Vec::new(),
            latency_histogram: None,
        };
        for p in parts {
            out.sent += p.sent;
            out.answered += p.answered;
            out.timeouts += p.timeouts;
            out.truncated += p.truncated;
            out.benched += p.benched;
            out.silent_waits += p.silent_waits;
            out.downs += p.downs;
            out.probes += p.probes;
            out.rto_ms = match (out.rto_ms, p.rto_ms) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            out.window = out.window.min(p.window);
            if health_rank(&p.health) > health_rank(&out.health) {
                out.health = p.health.clone();
            }
            for (rcode, n) in &p.rcodes {
                *out.rcodes.entry(rcode.clone()).or_default() += n;
            }
            match &p.latency_histogram {
                Some(text) => {
                    let part = decode(text)
                        .map_err(|e| format!("{}'s latency histogram: {e}", p.resolver))?;
                    h.add(&part).map_err(|e| format!("{}: {e:?}", p.resolver))?;
                }
                None if p.answered > 0 => {
                    return Err(format!(
                        "{} answered {} times but has no latency histogram (a summary.json \
                         of an older mxscan)",
                        p.resolver, p.answered
                    ));
                }
                None => {}
            }
        }
        out.loss_pct = pct(out.sent.saturating_sub(out.answered), out.sent);
        out.qps = out.answered as f64 / run_time.max(1e-9);
        out.latency_ms = Latency::of(&h);
        out.latency_buckets = buckets(&h);
        out.latency_histogram = encode(&h);
        Ok(out)
    }
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
                health: r.health.name().to_string(),
                rcodes: r
                    .stats
                    .rcodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(c, n)| (crate::wire::Rcode::new(c as u8).name().to_string(), *n))
                    .collect(),
                latency_ms: Latency::of(h),
                latency_buckets: buckets(h),
                latency_histogram: encode(h),
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

    fn report(resolver: &str, h: &Histogram<u64>, health: &str) -> ResolverReport {
        ResolverReport {
            resolver: resolver.parse().unwrap(),
            sent: h.len() + 10,
            answered: h.len(),
            loss_pct: 0.0,
            qps: 0.0,
            timeouts: 10,
            truncated: 1,
            benched: 0,
            silent_waits: 0,
            downs: 0,
            probes: 0,
            rto_ms: Some(100.0),
            window: 64,
            health: health.into(),
            rcodes: [("NOERROR".to_string(), h.len())].into(),
            latency_ms: Latency::of(h),
            latency_buckets: buckets(h),
            latency_histogram: encode(h),
        }
    }

    /// Shards' percentiles come from their merged histograms: the same as one histogram of the
    /// union of their samples, which averaging the shards' percentiles is not.
    #[test]
    fn merged_percentiles_are_the_unions() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut union = histogram();
        let mut parts = Vec::new();
        // Four shards of different sizes and speeds (one slow: a cold resolver).
        for (n, scale) in [
            (50_000u64, 2_000u64),
            (10_000, 200_000),
            (30_000, 5_000),
            (1, 7),
        ] {
            let mut h = histogram();
            for _ in 0..n {
                let us = 1 + next() % scale;
                h.record(us).unwrap();
                union.record(us).unwrap();
            }
            parts.push(report("127.0.0.1:53", &h, "active"));
        }
        parts[2].health = "down".into();
        let refs: Vec<&ResolverReport> = parts.iter().collect();
        let merged = ResolverReport::combine(&refs, 10.0).unwrap();
        let want = Latency::of(&union).unwrap();
        let got = merged.latency_ms.as_ref().unwrap();
        for (g, w) in [
            (got.p50, want.p50),
            (got.p90, want.p90),
            (got.p99, want.p99),
            (got.min, want.min),
            (got.max, want.max),
            (got.mean, want.mean),
        ] {
            assert_eq!(g, w);
        }
        let averaged = parts
            .iter()
            .map(|p| p.latency_ms.as_ref().unwrap().p50)
            .sum::<f64>()
            / 4.0;
        assert!(
            (averaged - want.p50).abs() > 1.0,
            "the test tells the two apart"
        );
        assert_eq!(merged.latency_buckets, buckets(&union));
        assert_eq!(merged.answered, union.len());
        assert_eq!(merged.sent, union.len() + 40);
        assert_eq!(merged.rcodes["NOERROR"], union.len());
        assert_eq!(merged.health, "down");
        assert_eq!(merged.qps, union.len() as f64 / 10.0);
        // The histogram survives its text form.
        let back = decode(&encode(&union).unwrap()).unwrap();
        assert_eq!(back, union);
        assert!(decode("not base64!").is_err());
    }
}
