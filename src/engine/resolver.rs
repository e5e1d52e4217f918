//! One resolver as the engine sees it: RTT estimate, in-flight cap, token bucket, health and
//! counters.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Limits and health thresholds shared by every resolver.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolverLimits {
    /// Queries in flight at once per resolver.
    pub max_in_flight: usize,
    /// Queries per second per resolver (token bucket with a 20 ms burst); `None` = unlimited.
    pub qps: Option<u32>,
    /// A resolver whose failure rate exceeds `bench_ratio` × the best peer's (and 50 %) after
    /// `bench_min_samples` outcomes is benched.
    pub bench_ratio: f64,
    pub bench_min_samples: u32,
    /// First bench period, doubled each time a probe fails, up to `max_bench`.
    pub bench_time: Duration,
    pub max_bench: Duration,
    /// A resolver with this many timeouts in a row and no reply for `dead_after` is dropped.
    pub dead_timeouts: u32,
    pub dead_after: Duration,
}

impl Default for ResolverLimits {
    fn default() -> Self {
        ResolverLimits {
            max_in_flight: 2048,
            qps: None,
            bench_ratio: 4.0,
            bench_min_samples: 32,
            bench_time: Duration::from_secs(1),
            max_bench: Duration::from_secs(30),
            dead_timeouts: 64,
            dead_after: Duration::from_secs(2),
        }
    }
}

/// Whether a resolver takes queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Active,
    /// Failing far more than its peers: no queries until `until`, then one probe.
    Benched {
        until: Instant,
        period: Duration,
    },
    /// Bench period over: one probe query at a time decides.
    Probing {
        period: Duration,
    },
    /// Stopped answering: never used again in this run.
    Dead,
}

/// Counters per resolver, reported by `mxscan bench` and the scan summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ResolverStats {
    pub sent: u64,
    pub answered: u64,
    pub timeouts: u64,
    pub truncated: u64,
    pub rcodes: [u64; 16],
    pub benched: u64,
}

/// EWMA weight of one outcome in the failure rate (about the last 20 outcomes).
const EWMA_ALPHA: f64 = 0.05;

#[derive(Debug, Clone)]
pub struct Resolver {
    pub addr: SocketAddr,
    pub health: Health,
    pub in_flight: usize,
    pub stats: ResolverStats,
    srtt: Option<f64>,
    rttvar: f64,
    tokens: f64,
    refilled: Option<Instant>,
    /// Exponentially weighted failure rate (timeouts, SERVFAIL, REFUSED) and sample count.
    pub failure_rate: f64,
    pub samples: u32,
    consecutive_timeouts: u32,
    last_reply: Option<Instant>,
}

impl Resolver {
    pub fn new(addr: SocketAddr) -> Self {
        Resolver {
            addr,
            health: Health::Active,
            in_flight: 0,
            stats: ResolverStats::default(),
            srtt: None,
            rttvar: 0.0,
            tokens: 0.0,
            refilled: None,
            failure_rate: 0.0,
            samples: 0,
            consecutive_timeouts: 0,
            last_reply: None,
        }
    }

    /// Retransmission timeout from the RTT estimate (RFC 6298: SRTT + 4·RTTVAR), if any.
    pub fn rto(&self) -> Option<Duration> {
        self.srtt
            .map(|s| Duration::from_secs_f64(s + 4.0 * self.rttvar))
    }

    /// Whether it may take one more query at `now` (health, in-flight cap, token bucket).
    /// Moves a benched resolver whose period is over to probing.
    pub fn can_send(&mut self, now: Instant, limits: &ResolverLimits) -> bool {
        if let Health::Benched { until, period } = self.health
            && now >= until
        {
            self.health = Health::Probing { period };
        }
        let capacity = match self.health {
            Health::Active => limits.max_in_flight,
            Health::Probing { .. } => 1,
            Health::Benched { .. } | Health::Dead => return false,
        };
        if self.in_flight >= capacity {
            return false;
        }
        match limits.qps {
            None => true,
            Some(qps) => {
                let burst = (qps as f64 / 50.0).max(1.0);
                let elapsed = self.refilled.map_or(burst / qps as f64, |t| {
                    now.saturating_duration_since(t).as_secs_f64()
                });
                self.tokens = (self.tokens + elapsed * qps as f64).min(burst);
                self.refilled = Some(now);
                self.tokens >= 1.0
            }
        }
    }

    /// Records a send (after [`Resolver::can_send`] said yes).
    pub fn on_send(&mut self, limits: &ResolverLimits) {
        self.in_flight += 1;
        self.stats.sent += 1;
        if limits.qps.is_some() {
            self.tokens -= 1.0;
        }
    }

    /// A reply arrived `rtt` after its attempt was sent; `failed` for SERVFAIL/REFUSED.
    pub fn on_reply(
        &mut self,
        now: Instant,
        rtt: Duration,
        rcode: u8,
        failed: bool,
        still_counted: bool,
    ) {
        if still_counted {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        self.stats.answered += 1;
        self.stats.rcodes[(rcode & 0xF) as usize] += 1;
        self.last_reply = Some(now);
        self.consecutive_timeouts = 0;
        let r = rtt.as_secs_f64();
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2.0;
            }
            Some(s) => {
                self.rttvar = 0.75 * self.rttvar + 0.25 * (s - r).abs();
                self.srtt = Some(0.875 * s + 0.125 * r);
            }
        }
        self.record_outcome(failed);
        if let Health::Probing { period } = self.health {
            self.health = if failed {
                Health::Benched {
                    until: now + period * 2,
                    period: period * 2,
                }
            } else {
                Health::Active
            };
            if !failed {
                self.failure_rate = 0.0;
                self.samples = 0;
            }
        }
    }

    /// An attempt timed out.
    pub fn on_timeout(&mut self, now: Instant, limits: &ResolverLimits) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.stats.timeouts += 1;
        self.consecutive_timeouts += 1;
        self.record_outcome(true);
        if let Health::Probing { period } = self.health {
            let period = (period * 2).min(limits.max_bench);
            self.health = Health::Benched {
                until: now + period,
                period,
            };
        }
        let silent_for = self
            .last_reply
            .map_or(Duration::MAX, |t| now.saturating_duration_since(t));
        if self.consecutive_timeouts >= limits.dead_timeouts && silent_for >= limits.dead_after {
            self.health = Health::Dead;
        }
    }

    fn record_outcome(&mut self, failed: bool) {
        self.samples = self.samples.saturating_add(1);
        self.failure_rate =
            (1.0 - EWMA_ALPHA) * self.failure_rate + EWMA_ALPHA * f64::from(u8::from(failed));
    }

    /// Benches this resolver if it fails far more than `best_peer_rate` (the lowest failure rate
    /// among the other usable resolvers). Returns whether it was benched.
    pub fn maybe_bench(
        &mut self,
        now: Instant,
        best_peer_rate: f64,
        limits: &ResolverLimits,
    ) -> bool {
        if self.health != Health::Active || self.samples < limits.bench_min_samples {
            return false;
        }
        if self.failure_rate > 0.5 && self.failure_rate > limits.bench_ratio * best_peer_rate {
            self.health = Health::Benched {
                until: now + limits.bench_time,
                period: limits.bench_time,
            };
            self.stats.benched += 1;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    fn addr() -> SocketAddr {
        "127.0.0.2:53".parse().unwrap()
    }

    #[test]
    fn rtt_estimate_follows_rfc_6298() {
        let mut r = Resolver::new(addr());
        assert_eq!(r.rto(), None);
        let now = Instant::now();
        r.on_send(&ResolverLimits::default());
        r.on_reply(now, ms(100), 0, false, true);
        assert_eq!(r.rto(), Some(ms(300)), "SRTT 100 + 4 × 50");
        r.on_send(&ResolverLimits::default());
        r.on_reply(now, ms(100), 0, false, true);
        assert_eq!(r.rto().unwrap().as_millis(), 250, "RTTVAR decays to 37.5");
        assert_eq!(r.in_flight, 0);
    }

    #[test]
    fn in_flight_cap_and_token_bucket() {
        let limits = ResolverLimits {
            max_in_flight: 2,
            qps: Some(100),
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        assert!(r.can_send(t0, &limits));
        r.on_send(&limits);
        // Burst of 2 tokens (20 ms of 100 QPS), the first used.
        assert!(r.can_send(t0, &limits));
        r.on_send(&limits);
        assert!(!r.can_send(t0, &limits), "in-flight cap");
        r.on_reply(t0, ms(1), 0, false, true);
        r.on_reply(t0, ms(1), 0, false, true);
        assert!(!r.can_send(t0, &limits), "no token left");
        assert!(
            r.can_send(t0 + ms(10), &limits),
            "10 ms at 100 QPS brings one token"
        );
    }

    #[test]
    fn failing_resolver_is_benched_then_probed_back() {
        let limits = ResolverLimits::default();
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        for _ in 0..40 {
            r.on_send(&limits);
            r.on_reply(t0, ms(1), 2, true, true);
        }
        assert!(
            !r.maybe_bench(t0, 0.9, &limits),
            "peers fail as much: not an outlier"
        );
        assert!(r.maybe_bench(t0, 0.01, &limits));
        assert!(!r.can_send(t0 + ms(999), &limits));
        assert!(
            r.can_send(t0 + ms(1000), &limits),
            "probe after the bench period"
        );
        assert_eq!(r.health, Health::Probing { period: ms(1000) });
        r.on_send(&limits);
        assert!(!r.can_send(t0 + ms(1000), &limits), "one probe at a time");
        r.on_reply(t0 + ms(1001), ms(1), 2, true, true);
        assert_eq!(
            r.health,
            Health::Benched {
                until: t0 + ms(3001),
                period: ms(2000)
            },
            "failed probe doubles"
        );
        assert!(r.can_send(t0 + ms(3001), &limits));
        r.on_send(&limits);
        r.on_reply(t0 + ms(3002), ms(1), 0, false, true);
        assert_eq!(r.health, Health::Active);
    }

    #[test]
    fn silent_resolver_is_dropped() {
        let limits = ResolverLimits {
            dead_timeouts: 3,
            dead_after: ms(500),
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        r.on_send(&limits);
        r.on_reply(t0, ms(1), 0, false, true);
        for i in 1..=3 {
            r.on_send(&limits);
            r.on_timeout(t0 + ms(100 * i), &limits);
        }
        assert_eq!(
            r.health,
            Health::Active,
            "three timeouts but a reply 300 ms ago"
        );
        r.on_send(&limits);
        r.on_timeout(t0 + ms(600), &limits);
        assert_eq!(r.health, Health::Dead);
        assert!(!r.can_send(t0 + ms(10_000), &limits));
    }
}
