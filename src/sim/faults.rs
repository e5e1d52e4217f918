//! Fault profiles of simulated resolvers and the per-query decisions they make.
//!
//! A profile is written as `key=value` pairs separated by commas, for example
//! `loss=5,latency=2ms,jitter=1ms,servfail=1`. Rates are percentages of UDP queries. Every
//! decision comes from one seeded RNG per resolver, so a run is reproducible under `--seed`
//! for a given arrival order of queries.

use std::str::FromStr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// What a resolver does to queries above its QPS limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OverLimit {
    /// Answer REFUSED, as Unbound's `ratelimit` and many public resolvers do.
    #[default]
    Refuse,
    /// Drop silently, as a policer on the path would.
    Drop,
}

/// How the resolver serves TCP (`tcp=on|silent|refuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TcpMode {
    #[default]
    On,
    /// Connections are accepted and held, and nothing is ever read or answered.
    Silent,
    /// Connections are accepted and closed at once.
    Refuse,
}

/// The faults one simulated resolver injects. All rates are fractions in `0.0..=1.0`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct FaultProfile {
    /// `loss=PCT`: queries dropped without an answer.
    pub loss: f64,
    /// `latency=DUR`: fixed delay before every UDP answer.
    pub latency: Duration,
    /// `jitter=DUR`: extra delay drawn uniformly from `0..jitter`.
    pub jitter: Duration,
    /// `servfail=PCT`: answered SERVFAIL instead of the data.
    pub servfail: f64,
    /// `refused=PCT`: answered REFUSED instead of the data.
    pub refused: f64,
    /// `qps=N`: token-bucket limit on UDP queries per second.
    pub qps_limit: Option<u32>,
    /// `over-qps=refuse|drop`: what happens above the limit.
    pub over_limit: OverLimit,
    /// `truncate=PCT`: answered with TC=1 and no records, whatever the size.
    pub truncate: f64,
    /// `garbage-id=PCT`: a copy of the answer with a wrong id is sent before the answer.
    pub garbage_id: f64,
    /// `garbage-question=PCT`: a copy with a different question name is sent first.
    pub garbage_question: f64,
    /// `garbage-random=PCT`: random bytes (carrying the query's id) are sent first.
    pub garbage_random: f64,
    /// `wrong-port=PCT`: a copy of the answer is sent first from another source port.
    pub wrong_port: f64,
    /// `die-after-queries=N`: after N queries the resolver stops answering.
    pub die_after_queries: Option<u64>,
    /// `die-after=DUR`: after this long the resolver stops answering.
    pub die_after: Option<Duration>,
    /// `revive-after=DUR`: a resolver that died answers again this long after dying (once).
    pub revive_after: Option<Duration>,
    /// `start-after=DUR`: answers nothing for this long after it starts (a late resolver).
    pub start_after: Option<Duration>,
    /// `case=PCT`: the echoed question name gets random 0x20 case changes.
    pub case_change: f64,
    /// `compression-loop=PCT`: the answer section is one record whose owner name is a label
    /// followed by a compression pointer back to that label (a name without end).
    pub compression_loop: f64,
    /// `tcp=on|silent|refuse`: with `truncate=100`, a resolver that sets TC and never
    /// answers over TCP.
    pub tcp: TcpMode,
}

/// A profile string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad fault profile `{spec}`: {reason}. Write key=value pairs separated by commas, e.g. \
         `loss=5,latency=2ms,jitter=1ms`; keys: loss, latency, jitter, servfail, refused, qps, \
         over-qps, truncate, garbage-id, garbage-question, garbage-random, wrong-port, \
         die-after-queries, die-after, revive-after, start-after, case, compression-loop, tcp"
)]
pub struct FaultParseError {
    spec: String,
    reason: String,
}

impl FromStr for FaultProfile {
    type Err = FaultParseError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| FaultParseError {
            spec: spec.to_string(),
            reason,
        };
        let mut p = FaultProfile::default();
        for pair in spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "none")
        {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| err(format!("`{pair}` has no `=`")))?;
            let pct = || parse_percent(value).map_err(&err);
            let dur = || parse_duration(value).map_err(&err);
            let count = || value.parse::<u64>().map_err(|e| err(format!("{key}: {e}")));
            match key {
                "loss" => p.loss = pct()?,
                "latency" => p.latency = dur()?,
                "jitter" => p.jitter = dur()?,
                "servfail" => p.servfail = pct()?,
                "refused" => p.refused = pct()?,
                "qps" => {
                    let n = count()?;
                    if n == 0 || n > u32::MAX as u64 {
                        return Err(err("qps must be between 1 and 2^32-1".into()));
                    }
                    p.qps_limit = Some(n as u32);
                }
                "over-qps" => {
                    p.over_limit = match value {
                        "refuse" => OverLimit::Refuse,
                        "drop" => OverLimit::Drop,
                        other => {
                            return Err(err(format!(
                                "over-qps must be refuse or drop, not `{other}`"
                            )));
                        }
                    }
                }
                "truncate" => p.truncate = pct()?,
                "garbage-id" => p.garbage_id = pct()?,
                "garbage-question" => p.garbage_question = pct()?,
                "garbage-random" => p.garbage_random = pct()?,
                "wrong-port" => p.wrong_port = pct()?,
                "die-after-queries" => p.die_after_queries = Some(count()?),
                "die-after" => p.die_after = Some(dur()?),
                "revive-after" => p.revive_after = Some(dur()?),
                "start-after" => p.start_after = Some(dur()?),
                "case" => p.case_change = pct()?,
                "compression-loop" => p.compression_loop = pct()?,
                "tcp" => {
                    p.tcp = match value {
                        "on" => TcpMode::On,
                        "silent" => TcpMode::Silent,
                        "refuse" => TcpMode::Refuse,
                        other => {
                            return Err(err(format!(
                                "tcp must be on, silent or refuse, not `{other}`"
                            )));
                        }
                    }
                }
                other => return Err(err(format!("unknown key `{other}`"))),
            }
        }
        if p.servfail + p.refused > 1.0 {
            return Err(err("servfail + refused exceed 100 %".into()));
        }
        Ok(p)
    }
}

fn parse_percent(value: &str) -> Result<f64, String> {
    let v: f64 = value
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{value}` is not a percentage"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("`{value}` is not between 0 and 100"));
    }
    Ok(v / 100.0)
}

/// Parses `250us`, `2ms`, `1.5s` (a bare number is milliseconds).
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let (num, unit) = match value.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => value.split_at(at),
        None => (value, "ms"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{value}` is not a duration like 2ms"))?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        _ => return Err(format!("`{value}`: unit must be us, ms or s")),
    };
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("`{value}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The fate of one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Answered; the flags say how.
    Answer(AnswerFaults),
    /// Dropped because of `loss`.
    Lost,
    /// Dropped because the resolver is dead.
    Dead,
    /// Dropped because of the QPS limit with `over-qps=drop`.
    OverLimitDropped,
}

/// How an answered query is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnswerFaults {
    /// Replaces the data with this rcode (SERVFAIL, REFUSED, or REFUSED for the QPS limit).
    pub rcode_override: Option<Override>,
    pub force_truncation: bool,
    pub garbage_id: bool,
    pub garbage_question: bool,
    pub garbage_random: bool,
    pub wrong_port: bool,
    pub case_change: bool,
    pub compression_loop: bool,
    pub delay: Duration,
}

/// Why the data was replaced by an error rcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    ServFail,
    Refused,
    OverLimitRefused,
}

/// A profile in action: its RNG, its token bucket and its death clock.
pub struct FaultState {
    profile: FaultProfile,
    rng: SmallRng,
    started: Instant,
    queries: u64,
    tokens: f64,
    refilled: Instant,
    /// When it died (the first query or instant found dead), for `revive-after`.
    died_at: Option<Instant>,
}

impl FaultState {
    pub fn new(profile: FaultProfile, seed: u64, now: Instant) -> Self {
        let tokens = profile.qps_limit.map_or(0.0, burst_of);
        FaultState {
            profile,
            rng: SmallRng::seed_from_u64(seed),
            started: now,
            queries: 0,
            tokens,
            refilled: now,
            died_at: None,
        }
    }

    pub fn profile(&self) -> &FaultProfile {
        &self.profile
    }

    /// Whether the resolver is dead at `now` (it then answers nothing, over UDP or TCP).
    pub fn is_dead(&mut self, now: Instant) -> bool {
        let p = &self.profile;
        if p.start_after
            .is_some_and(|d| now.saturating_duration_since(self.started) < d)
        {
            return true;
        }
        let died = p.die_after_queries.is_some_and(|n| self.queries >= n)
            || p.die_after
                .is_some_and(|d| now.saturating_duration_since(self.started) >= d);
        if !died {
            return false;
        }
        let died_at = *self.died_at.get_or_insert(now);
        p.revive_after
            .is_none_or(|r| now.saturating_duration_since(died_at) < r)
    }

    /// Decides the fate of the next UDP query arriving at `now`.
    pub fn decide_udp(&mut self, now: Instant) -> Fate {
        if self.is_dead(now) {
            return Fate::Dead;
        }
        self.queries += 1;
        let mut faults = AnswerFaults::default();
        if let Some(limit) = self.profile.qps_limit
            && !self.take_token(limit, now)
        {
            match self.profile.over_limit {
                OverLimit::Drop => return Fate::OverLimitDropped,
                OverLimit::Refuse => {
                    faults.rcode_override = Some(Override::OverLimitRefused);
                    return Fate::Answer(faults);
                }
            }
        }
        let p = self.profile.clone();
        if self.chance(p.loss) {
            return Fate::Lost;
        }
        // One draw splits SERVFAIL and REFUSED so their rates add up exactly.
        let r: f64 = self.rng.random();
        if r < p.servfail {
            faults.rcode_override = Some(Override::ServFail);
        } else if r < p.servfail + p.refused {
            faults.rcode_override = Some(Override::Refused);
        }
        faults.force_truncation = self.chance(p.truncate);
        faults.garbage_id = self.chance(p.garbage_id);
        faults.garbage_question = self.chance(p.garbage_question);
        faults.garbage_random = self.chance(p.garbage_random);
        faults.wrong_port = self.chance(p.wrong_port);
        faults.case_change = self.chance(p.case_change);
        faults.compression_loop = self.chance(p.compression_loop);
        faults.delay = p.latency;
        if !p.jitter.is_zero() {
            faults.delay += p.jitter.mul_f64(self.rng.random::<f64>());
        }
        Fate::Answer(faults)
    }

    /// Counts a TCP query towards `die-after-queries`; TCP gets no other fault.
    pub fn note_tcp_query(&mut self) {
        self.queries += 1;
    }

    /// A random 64-bit value from the profile's stream (for garbage bytes and case changes).
    pub fn random_u64(&mut self) -> u64 {
        self.rng.random()
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random::<f64>() < p
    }

    fn take_token(&mut self, limit: u32, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + elapsed * limit as f64).min(burst_of(limit));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The bucket holds 20 ms of the rate (at least one query), so the limit holds over short
/// windows as well as over a second.
fn burst_of(limit: u32) -> f64 {
    (limit as f64 / 50.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let p: FaultProfile = "loss=5,latency=2ms,jitter=500us,servfail=1,refused=2.5,qps=1000,\
            over-qps=drop,truncate=10,garbage-id=1,garbage-question=2,garbage-random=3,\
            wrong-port=4,die-after-queries=50,die-after=1.5s,case=50,compression-loop=7"
            .parse()
            .unwrap();
        assert_eq!(p.loss, 0.05);
        assert_eq!(p.latency, Duration::from_millis(2));
        assert_eq!(p.jitter, Duration::from_micros(500));
        assert_eq!(p.refused, 0.025);
        assert_eq!((p.qps_limit, p.over_limit), (Some(1000), OverLimit::Drop));
        assert_eq!(p.die_after, Some(Duration::from_millis(1500)));
        assert_eq!(p.die_after_queries, Some(50));
        assert_eq!(p.case_change, 0.5);
        assert_eq!(p.compression_loop, 0.07);
        assert_eq!("".parse::<FaultProfile>().unwrap(), FaultProfile::default());
        assert_eq!(
            "none".parse::<FaultProfile>().unwrap(),
            FaultProfile::default()
        );
    }

    #[test]
    fn rejects_nonsense_with_a_helpful_message() {
        for bad in [
            "loss",
            "loss=101",
            "latency=2h",
            "bogus=1",
            "qps=0",
            "servfail=60,refused=60",
        ] {
            let e = bad.parse::<FaultProfile>().unwrap_err().to_string();
            assert!(e.contains("key=value"), "{bad}: {e}");
        }
    }

    #[test]
    fn same_seed_same_decisions() {
        let p: FaultProfile = "loss=30,servfail=20,jitter=5ms".parse().unwrap();
        let now = Instant::now();
        let mut a = FaultState::new(p.clone(), 7, now);
        let mut b = FaultState::new(p, 7, now);
        for _ in 0..1000 {
            assert_eq!(a.decide_udp(now), b.decide_udp(now));
        }
    }

    #[test]
    fn starts_late_and_revives_after_dying() {
        let now = Instant::now();
        let mut s = FaultState::new("start-after=3s".parse().unwrap(), 1, now);
        assert_eq!(s.decide_udp(now + Duration::from_millis(2999)), Fate::Dead);
        assert!(matches!(
            s.decide_udp(now + Duration::from_secs(3)),
            Fate::Answer(_)
        ));
        let mut r = FaultState::new(
            "die-after-queries=2,revive-after=5s".parse().unwrap(),
            1,
            now,
        );
        assert!(matches!(r.decide_udp(now), Fate::Answer(_)));
        assert!(matches!(r.decide_udp(now), Fate::Answer(_)));
        let t = now + Duration::from_secs(1);
        assert_eq!(r.decide_udp(t), Fate::Dead);
        assert_eq!(r.decide_udp(t + Duration::from_millis(4999)), Fate::Dead);
        assert!(matches!(
            r.decide_udp(t + Duration::from_secs(5)),
            Fate::Answer(_)
        ));
    }

    #[test]
    fn dies_after_n_queries_and_after_time() {
        let now = Instant::now();
        let mut s = FaultState::new("die-after-queries=3".parse().unwrap(), 1, now);
        let fates: Vec<_> = (0..5).map(|_| s.decide_udp(now)).collect();
        assert!(matches!(fates[2], Fate::Answer(_)));
        assert_eq!(&fates[3..], &[Fate::Dead, Fate::Dead]);
        let mut t = FaultState::new("die-after=1s".parse().unwrap(), 1, now);
        assert!(matches!(t.decide_udp(now), Fate::Answer(_)));
        assert_eq!(t.decide_udp(now + Duration::from_secs(1)), Fate::Dead);
    }

    #[test]
    fn token_bucket_admits_the_rate_with_a_fake_clock() {
        let start = Instant::now();
        let mut s = FaultState::new("qps=1000,over-qps=drop".parse().unwrap(), 1, start);
        // 10 000 queries spread evenly over one second at 10 000 QPS.
        let admitted = (0..10_000)
            .filter(|i| {
                let now = start + Duration::from_micros(100 * i);
                matches!(s.decide_udp(now), Fate::Answer(_))
            })
            .count();
        // 1000 per second plus the 20-query initial burst.
        assert!((1000..=1021).contains(&admitted), "{admitted}");
    }
}
