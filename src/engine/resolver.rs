//! One resolver as the engine sees it: latency estimate, in-flight cap, token bucket, health
//! and counters.
//!
//! Health fits recursive resolvers, which are slow, cold and bursty before they are dead:
//! - *Silence* is time since the resolver was asked while it owed answers (or since its last
//!   answer), never "has not answered yet". Only `down_after` of silence makes it
//!   [`Health::Down`]; it then gets one probe at a time with growing gaps and is back
//!   [`Health::Active`] at the first answer to a probe.
//! - The retransmission timeout follows the resolver's own latency: the larger of RFC 6298's
//!   SRTT + 4·RTTVAR and 1.25 × a high quantile of recent RTTs ([`RttHistogram`]), as
//!   Unbound's infra cache widens its timeouts with RTT variance.
//! - *Queries in flight* follow what the resolver can hold: a congestion window that grows by
//!   one per answer in slow start, then by one per window of answers, never below 256. A
//!   recursive resolver over its capacity drops queries (Unbound beyond
//!   `num-queries-per-thread`), so the window halves when the loss of a round of first attempts
//!   rises clearly above the loss the resolver shows at lower load ([`LossRounds`]): loss that
//!   rises with load is congestion, independent random drops (any real network, a policer,
//!   dnsdist) are not, and halving for them would pin the window to its floor. One that queues
//!   instead (a deep socket buffer, or the scanner's own unread replies) never drops, so the
//!   window also stops growing while a queue stands ([`QueueDetector`], RFC 9406's
//!   round-minimum test): more in flight would only add latency, and a latency that doubles
//!   within one round outruns the retransmission timeout.
//! - *Sick resolvers* are [`Health::Benched`] for a period, then probed with one real query:
//!   those whose failures (charged timeouts, and SERVFAIL or REFUSED that a peer contradicted by
//!   answering the same question) run far above the best peer's. A SERVFAIL that a peer
//!   confirms is the zone's fault, not the resolver's, and costs it nothing.
//!
//! (Over 700 lines only with its tests, which drive these rules with a fake clock.)

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::wire::Rcode;

/// Limits and health thresholds shared by every resolver.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolverLimits {
    /// Queries in flight at once per resolver.
    pub max_in_flight: usize,
    /// Queries per second over all resolvers together (one token bucket with a 20 ms burst,
    /// the engine's); `None` = unlimited.
    pub qps: Option<f64>,
    /// A resolver whose failure rate exceeds `bench_ratio` × the best peer's (and 50 %) after
    /// `bench_min_samples` outcomes is benched.
    pub bench_ratio: f64,
    pub bench_min_samples: u32,
    /// First bench period, doubled each time a probe fails, up to `max_bench`.
    pub bench_time: Duration,
    pub max_bench: Duration,
    /// Silence that makes a resolver [`Health::Down`]: no answer for this long while it owed
    /// some.
    pub down_after: Duration,
    /// First gap between probes of a resolver that is down, doubled per unanswered probe up to
    /// `max_probe_gap`.
    pub probe_gap: Duration,
    pub max_probe_gap: Duration,
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
            down_after: Duration::from_secs(3),
            probe_gap: Duration::from_millis(250),
            max_probe_gap: Duration::from_secs(4),
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
    /// Silent for `down_after`: no queries; the engine sends a probe at `next_probe` and
    /// takes it back at the first answer.
    Down {
        since: Instant,
        next_probe: Instant,
        gap: Duration,
    },
}

impl Health {
    /// The name reports use.
    pub fn name(&self) -> &'static str {
        match self {
            Health::Active => "active",
            Health::Benched { .. } => "benched",
            Health::Probing { .. } => "probing",
            Health::Down { .. } => "down",
        }
    }
}

/// Counters per resolver, reported by `mxscan bench` and the scan summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ResolverStats {
    pub sent: u64,
    pub answered: u64,
    /// Attempts that timed out while the resolver answered others: counted as lost.
    pub timeouts: u64,
    /// Attempts whose timeout passed while the resolver answered nothing: kept waiting, not
    /// resent.
    pub silent_waits: u64,
    pub truncated: u64,
    pub rcodes: [u64; 16],
    pub benched: u64,
    /// Rounds whose loss rose above the resolver's usual loss: the window halved.
    pub congested_rounds: u64,
    /// Times it went down, and probes sent while down.
    pub downs: u64,
    pub probes: u64,
}

/// A token bucket: `rate` per second with a burst of 20 ms worth (at least one).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    refilled: Option<Instant>,
}

impl TokenBucket {
    pub fn new(rate: f64) -> Self {
        TokenBucket {
            rate,
            tokens: 0.0,
            refilled: None,
        }
    }

    fn burst(&self) -> f64 {
        (self.rate / 50.0).max(1.0)
    }

    /// Whether a token is there at `now` (refilling first); the first call finds a full burst.
    pub fn ready(&mut self, now: Instant) -> bool {
        let elapsed = self.refilled.map_or(self.burst() / self.rate, |t| {
            now.saturating_duration_since(t).as_secs_f64()
        });
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst());
        self.refilled = Some(now);
        self.tokens >= 1.0
    }

    /// Spends a token (after [`TokenBucket::ready`] said yes).
    pub fn take(&mut self) {
        self.tokens -= 1.0;
    }
}

/// EWMA weight of one outcome in the failure rate (about the last 20 outcomes).
const EWMA_ALPHA: f64 = 0.05;

/// Recent round-trip times on a log scale (4 buckets per doubling, from 0.1 ms), halved every
/// `HALF_LIFE` samples so that it follows the resolver as its cache warms.
#[derive(Debug, Clone)]
pub struct RttHistogram {
    buckets: [f32; RTT_BUCKETS],
    total: f32,
    since_decay: u32,
}

const RTT_BUCKETS: usize = 96;
const HALF_LIFE: u32 = 2048;
/// The quantile of recent RTTs a timeout must cover.
const RTT_QUANTILE: f32 = 0.995;

impl RttHistogram {
    fn new() -> Self {
        RttHistogram {
            buckets: [0.0; RTT_BUCKETS],
            total: 0.0,
            since_decay: 0,
        }
    }

    fn bucket(rtt: Duration) -> usize {
        let tenths_ms = (rtt.as_secs_f64() * 10_000.0).max(1.0);
        ((tenths_ms.log2() * 4.0) as usize).min(RTT_BUCKETS - 1)
    }

    /// The upper bound of bucket `i`.
    fn upper(i: usize) -> Duration {
        Duration::from_secs_f64(2f64.powf((i + 1) as f64 / 4.0) / 10_000.0)
    }

    fn record(&mut self, rtt: Duration) {
        self.buckets[Self::bucket(rtt)] += 1.0;
        self.total += 1.0;
        self.since_decay += 1;
        if self.since_decay >= HALF_LIFE {
            self.since_decay = 0;
            self.buckets.iter_mut().for_each(|b| *b *= 0.5);
            self.total *= 0.5;
        }
    }

    /// The RTT below which a fraction `q` of recent samples fell (an upper bound).
    pub fn quantile(&self, q: f32) -> Option<Duration> {
        if self.total <= 0.0 {
            return None;
        }
        let mut above = (1.0 - q) * self.total;
        for i in (0..RTT_BUCKETS).rev() {
            above -= self.buckets[i];
            if above < 0.0 {
                return Some(Self::upper(i));
            }
        }
        Some(Self::upper(0))
    }
}

#[derive(Debug, Clone)]
pub struct Resolver {
    pub addr: SocketAddr,
    pub health: Health,
    /// The longest bench ([`ResolverLimits::max_bench`]), which a failed probe's doubling
    /// never passes.
    pub max_bench: Duration,
    pub in_flight: usize,
    pub stats: ResolverStats,
    srtt: Option<f64>,
    rttvar: f64,
    rtts: RttHistogram,
    rtt_samples: u64,
    /// The retransmission timeout, recomputed every few samples.
    rto: Option<Duration>,
    /// Exponentially weighted failure rate (charged timeouts, contradicted SERVFAIL and
    /// REFUSED) and sample count.
    pub failure_rate: f64,
    pub samples: u32,
    /// The last answer of any kind.
    pub last_reply: Option<Instant>,
    /// The send time of the most recently sent attempt it has answered.
    answered_sent_at: Option<Instant>,
    /// Since when the resolver owes an answer without having given one: its first send after
    /// its last answer (or its last answer, if attempts were still out then).
    owing_since: Option<Instant>,
    /// With 0x20: whether to randomise the case sent to it (off once it has shown that it
    /// never echoes the case), and the echoes seen so far.
    pub case_echoed: bool,
    case_echoes: u32,
    case_mangled: u32,
    /// Congestion window and slow-start threshold, in queries.
    cwnd: f64,
    ssthresh: f64,
    loss: LossRounds,
    /// Loss by chance: of the first attempts of questions that were answered, the share that
    /// timed out (exponentially weighted over about 256). A question nobody answers (a dead
    /// zone) is not a loss of the path, and counting it would make every other dead question
    /// wait for more timeouts before it is given up.
    chance_loss: f64,
    /// The same for the retries of questions that were answered: a retry usually finds the
    /// answer cached (its first attempt waited on the recursion), so it is lost far less often.
    retry_loss: f64,
    queue: QueueDetector,
    /// Its SERVFAIL and REFUSED answers that another resolver confirmed (answered the same way)
    /// or contradicted (answered with data), decayed: whether they are the zone's answer or
    /// the resolver's own trouble.
    servfail_confirmed: f32,
    servfail_contradicted: f32,
    /// A liveness probe is due at this instant (while active), and one was asked for since
    /// the last answer.
    check_at: Option<Instant>,
    liveness_checked: bool,
}

/// The loss of first attempts, per round and overall.
///
/// Only first attempts count: a question that was lost once is more likely one the resolver
/// cannot answer (a dead authority), so its retries say little about the path. A round is one
/// window of outcomes, and at least one timeout long (TCP's round, RFC 9002 §7's congestion
/// period): its loss is compared with the usual loss of earlier rounds, with room for binomial
/// noise (three standard deviations) and one percent. The usual loss is first measured at the
/// first window, the floor, where load drives no loss: random loss keeps that rate at any
/// load and never trips the test; a resolver over its capacity drops a growing share of what
/// it is sent.
#[derive(Debug, Clone)]
struct LossRounds {
    /// Loss of first attempts, exponentially weighted over about 256 of them, from a
    /// cautious prior (a lossy path) until measured.
    rate: f64,
    round_outcomes: u32,
    round_lost: u32,
    round_started: Option<Instant>,
    rounds: u64,
    /// The loss of the last round, and when it last ended above the usual.
    last_rate: f64,
    congested_at: Option<Instant>,
    /// The usual loss of a round (a moving average over rounds that were not congested).
    base: Option<f64>,
}

const LOSS_PRIOR: f64 = 0.2;
/// The shortest time a loss takes to show: the floor of the attempt timeout.
const LOSS_DELAY: Duration = Duration::from_millis(250);
const LOSS_ALPHA: f64 = 1.0 / 256.0;
/// Retries are few (a few percent of lookups): a shorter memory.
const RETRY_LOSS_ALPHA: f64 = 1.0 / 64.0;
/// How long a round that lost more than usual keeps the resolver in trouble: a few rounds of a
/// loopback farm (a round lasts at least the attempt timeout), long enough to bridge a stall.
const TROUBLE_HOLD: Duration = Duration::from_secs(2);

/// Moves `share`, an exponentially weighted share of events, towards one more event (`hit`)
/// or non-event by `alpha`.
fn moving_share(share: &mut f64, alpha: f64, hit: bool) {
    *share += alpha * (f64::from(u8::from(hit)) - *share);
}

impl LossRounds {
    fn new() -> Self {
        LossRounds {
            rate: LOSS_PRIOR,
            round_outcomes: 0,
            round_lost: 0,
            round_started: None,
            rounds: 0,
            last_rate: 0.0,
            congested_at: None,
            base: None,
        }
    }

    /// Records a first attempt's outcome at `now`. A round lasts `window` outcomes and at
    /// least `rto`, the time a loss takes to show: the first round is only the loss catching
    /// up with the answers, and sets nothing; the second, at the first window, sets the usual
    /// loss. Returns whether a round ended with loss above it.
    fn record(&mut self, lost: bool, window: f64, now: Instant, rto: Duration) -> bool {
        moving_share(&mut self.rate, LOSS_ALPHA, lost);
        self.round_outcomes += 1;
        self.round_lost += u32::from(lost);
        let started = *self.round_started.get_or_insert(now);
        if f64::from(self.round_outcomes) < window || now < started + rto {
            return false;
        }
        let (n, lost) = (f64::from(self.round_outcomes), f64::from(self.round_lost));
        (self.round_outcomes, self.round_lost) = (0, 0);
        self.last_rate = lost / n;
        self.round_started = Some(now);
        self.rounds += 1;
        if self.rounds == 1 {
            return false;
        }
        let Some(base) = self.base else {
            self.base = Some(lost / n);
            return false;
        };
        let expected = n * base;
        let congested = lost > expected + 3.0 * (expected * (1.0 - base)).sqrt() + 0.01 * n + 1.0;
        if congested {
            self.congested_at = Some(now);
        } else {
            self.congested_at = None;
            self.base = Some(base + (lost / n - base) / 4.0);
        }
        congested
    }
}

/// Whether a queue stands in front of the resolver: the fastest answer of the current round
/// (about one window of answers) is clearly slower than the fastest answer ever seen.
///
/// A recursive resolver's latencies spread over three orders of magnitude (cache hits against
/// recursion), so the mean or a quantile says nothing about queueing; but every round of a
/// few hundred answers holds a cache hit, and a queue delays even that one. The threshold is
/// RFC 9406's: an eighth of the base, between 4 and 16 ms.
#[derive(Debug, Clone, Default)]
struct QueueDetector {
    /// The fastest answer ever seen.
    base: Option<Duration>,
    /// The current round: its fastest answer, its answers so far, and the answer count at
    /// which it ends.
    round_min: Option<Duration>,
    round_samples: u32,
    round_ends_at: u64,
    /// The verdict of the last test, kept until the new round has enough samples.
    standing: bool,
}

/// Answers a round needs before its minimum is trusted (RFC 9406's `N_RTT_SAMPLE` is 8; a
/// resolver's spread asks for more).
const ROUND_SAMPLES: u32 = 16;

impl QueueDetector {
    /// Records an answer's `rtt`; `answered` counts the resolver's answers so far and `window`
    /// is the congestion window (the length of the next round). Returns whether a queue stands.
    fn sample(&mut self, rtt: Duration, answered: u64, window: f64) -> bool {
        if answered >= self.round_ends_at {
            self.round_min = None;
            self.round_samples = 0;
            self.round_ends_at = answered + window as u64;
        }
        self.base = Some(self.base.map_or(rtt, |b| b.min(rtt)));
        self.round_min = Some(self.round_min.map_or(rtt, |m| m.min(rtt)));
        self.round_samples += 1;
        if self.round_samples >= ROUND_SAMPLES
            && let (Some(base), Some(min)) = (self.base, self.round_min)
        {
            let threshold = (base / 8).clamp(Duration::from_millis(4), Duration::from_millis(16));
            self.standing = min >= base + threshold;
        }
        self.standing
    }
}

/// First congestion window, which is also the smallest it may shrink to: random loss (which a
/// smaller window does not cure) must not starve a lossy path, and 256 in flight is below what
/// common recursive resolvers hold (Unbound 1 024 per thread, BIND 1 000 clients).
const INITIAL_WINDOW: f64 = 256.0;
const MIN_WINDOW: f64 = INITIAL_WINDOW;
const MAX_WINDOW: f64 = 1_048_576.0;

impl Resolver {
    pub fn new(addr: SocketAddr) -> Self {
        Resolver {
            addr,
            health: Health::Active,
            max_bench: ResolverLimits::default().max_bench,
            in_flight: 0,
            stats: ResolverStats::default(),
            srtt: None,
            rttvar: 0.0,
            rtts: RttHistogram::new(),
            rtt_samples: 0,
            rto: None,
            failure_rate: 0.0,
            samples: 0,
            last_reply: None,
            answered_sent_at: None,
            owing_since: None,
            case_echoed: true,
            case_echoes: 0,
            case_mangled: 0,
            cwnd: INITIAL_WINDOW,
            ssthresh: MAX_WINDOW,
            loss: LossRounds::new(),
            chance_loss: LOSS_PRIOR,
            retry_loss: LOSS_PRIOR,
            queue: QueueDetector::default(),
            servfail_confirmed: 0.0,
            servfail_contradicted: 0.0,
            check_at: None,
            liveness_checked: false,
        }
    }

    /// Queries in flight it is trusted with now (before the `--per-resolver` cap).
    pub fn window(&self) -> usize {
        self.cwnd as usize
    }

    /// Retransmission timeout from the resolver's own latency (see the module documentation),
    /// if it has answered yet. Timeouts never raise it: a timeout backs off only its own
    /// query's next attempt (`RetryPolicy::attempt_timeout`), as Unbound's infra cache backs
    /// off a server but RFC 6298's per-connection backoff would, on a resolver shared by
    /// thousands of unrelated questions, slow every one of them for one lost datagram.
    pub fn rto(&self) -> Option<Duration> {
        self.rto
    }

    /// Loss of its first attempts (a cautious 20 % until measured).
    pub fn loss_rate(&self) -> f64 {
        self.loss.rate
    }

    /// Loss by chance: how often the first attempt of a question it then answered (or a
    /// peer did) timed out; a cautious 20 % until measured. The odds that a timeout was chance.
    pub fn chance_loss(&self) -> f64 {
        self.chance_loss
    }

    /// The question whose first attempt it lost was answered after all: a loss by chance.
    pub fn note_chance_loss(&mut self) {
        self.record_chance(true);
    }

    /// Loss by chance of retries, at most that of first attempts: a retry finds the recursion
    /// its first attempt waited on done or under way.
    pub fn retry_loss(&self) -> f64 {
        self.retry_loss.min(self.chance_loss)
    }

    /// A retry of a question that was answered was answered (`lost` false) or timed out.
    pub fn note_retry_outcome(&mut self, lost: bool) {
        moving_share(&mut self.retry_loss, RETRY_LOSS_ALPHA, lost);
    }

    fn record_chance(&mut self, lost: bool) {
        moving_share(&mut self.chance_loss, LOSS_ALPHA, lost);
    }

    /// Whether a round that lost more than usual ended within the last [`TROUBLE_HOLD`]: a
    /// resolver in trouble (a stall, a full request list), whose timeouts and SERVFAILs say
    /// nothing about the questions. The verdict lapses: at a scan's tail too few first attempts
    /// go out to end another round, and the last one, full of questions for dead zones, would
    /// otherwise leave every SERVFAIL of the tail untrusted until its deadline.
    pub fn in_trouble(&self, now: Instant) -> bool {
        self.loss
            .congested_at
            .is_some_and(|at| now < at + TROUBLE_HOLD)
    }

    /// Whether its SERVFAIL and REFUSED answers are the zone's (final once enough resolvers
    /// agree) rather than its own trouble: with `peers`, once other resolvers have confirmed
    /// four of them and contradicted at most a quarter, and while its last round lost no more
    /// than usual (a resolver in trouble, its request list full of questions for dead zones,
    /// SERVFAILs what it would otherwise answer); without peers there is nobody to ask
    /// instead, so they are.
    pub fn servfail_trusted(&self, peers: bool, now: Instant) -> bool {
        let (yes, no) = (self.servfail_confirmed, self.servfail_contradicted);
        !peers || (yes >= 4.0 && no <= (yes + no) / 4.0 && !self.in_trouble(now))
    }

    /// Another resolver answered SERVFAIL or REFUSED to a question it answered so too.
    pub fn servfail_confirmed(&mut self) {
        self.servfail_confirmed += 1.0;
        self.decay_servfail_record();
    }

    /// Another resolver answered, with data, a question it answered SERVFAIL or REFUSED: a
    /// failure of this resolver.
    pub fn servfail_contradicted(&mut self) {
        self.servfail_contradicted += 1.0;
        self.decay_servfail_record();
        self.record_outcome(true);
    }

    /// Another resolver answered a question whose attempt to this one was lost: a failure of
    /// this resolver. (A question every resolver leaves unanswered is the zone's.)
    pub fn loss_contradicted(&mut self) {
        self.record_outcome(true);
    }

    /// Halves the record past 64 verdicts, so that it follows the resolver.
    fn decay_servfail_record(&mut self) {
        if self.servfail_confirmed + self.servfail_contradicted > 64.0 {
            self.servfail_confirmed /= 2.0;
            self.servfail_contradicted /= 2.0;
        }
    }

    fn update_rto(&mut self) {
        let Some(srtt) = self.srtt else { return };
        let classic = Duration::from_secs_f64(srtt + 4.0 * self.rttvar);
        let tail = self
            .rtts
            .quantile(RTT_QUANTILE)
            .map_or(Duration::ZERO, |q| q.mul_f64(1.25));
        self.rto = Some(classic.max(tail));
    }

    /// Whether the resolver has lost an attempt sent at `sent_at` that timed out: it has
    /// answered an attempt sent as late or later. Otherwise the timeout only says the resolver
    /// is slow or silent (a resolver that died answers the attempts sent before it died), and
    /// resending would only add load.
    pub fn answered_since(&self, sent_at: Instant) -> bool {
        self.answered_sent_at.is_some_and(|t| t >= sent_at)
    }

    /// How long the resolver has owed an answer without giving any.
    pub fn silent_for(&self, now: Instant) -> Duration {
        self.owing_since
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
    }

    /// Whether it may take one more query at `now` (health, in-flight cap).
    /// Moves a benched resolver whose period is over to probing.
    pub fn can_send(&mut self, now: Instant, limits: &ResolverLimits) -> bool {
        if let Health::Benched { until, period } = self.health
            && now >= until
        {
            self.health = Health::Probing { period };
        }
        let capacity = match self.health {
            Health::Active => limits.max_in_flight.min(self.window()),
            Health::Probing { .. } => 1,
            Health::Benched { .. } | Health::Down { .. } => return false,
        };
        self.in_flight < capacity
    }

    /// Records a send (after [`Resolver::can_send`] said yes).
    pub fn on_send(&mut self, now: Instant) {
        self.in_flight += 1;
        self.stats.sent += 1;
        self.owing_since.get_or_insert(now);
    }

    fn sample_rtt(&mut self, rtt: Duration) {
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
        self.rtts.record(rtt);
        self.rtt_samples += 1;
        // Every answer at first, then every 16th: the quantile walks the histogram.
        if self.rtt_samples < 64 || self.rtt_samples.is_multiple_of(16) {
            self.update_rto();
        }
    }

    /// Any reply arrived with `rcode` (the resolver is alive, and back if it was down), before
    /// it is judged.
    fn heard(&mut self, now: Instant, rcode: Rcode) {
        self.liveness_checked = false;
        self.stats.answered += 1;
        self.stats.rcodes[rcode.value() as usize] += 1;
        self.last_reply = Some(now);
        self.owing_since = (self.in_flight > 0).then_some(now);
        if matches!(self.health, Health::Down { .. }) {
            self.health = Health::Active;
        }
    }

    /// Back to a clean record (after a probe that succeeded).
    fn reinstated(&mut self) {
        self.health = Health::Active;
        self.failure_rate = 0.0;
        self.samples = 0;
    }

    /// A reply arrived `rtt` after its attempt was sent; `failed` for SERVFAIL/REFUSED (no
    /// verdict on the resolver until a peer confirms or contradicts it); `first` when the
    /// attempt was its query's first.
    pub fn on_reply(
        &mut self,
        now: Instant,
        rtt: Duration,
        rcode: Rcode,
        failed: bool,
        still_counted: bool,
        first: bool,
    ) {
        if still_counted {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        self.heard(now, rcode);
        let sent_at = now.checked_sub(rtt).unwrap_or(now);
        if self.answered_sent_at.is_none_or(|t| t < sent_at) {
            self.answered_sent_at = Some(sent_at);
        }
        // The timeout covers how long answers with data take. A SERVFAIL's time is how long
        // the resolver tried dead authorities before giving up: waiting that long for every
        // question would let a few dead zones set the pace of all.
        if !failed {
            self.sample_rtt(rtt);
            self.record_outcome(false);
        }
        if first && still_counted {
            self.note_loss(false, now);
            self.record_chance(false);
        }
        let queueing = self.queue.sample(rtt, self.stats.answered, self.cwnd);
        // Grow only while the window is in use (an idle window proves nothing) and no queue
        // stands; a queue also ends slow start, as a loss would, without halving.
        if queueing {
            self.ssthresh = self.ssthresh.min(self.cwnd);
        } else if !failed && self.in_flight as f64 >= self.cwnd / 2.0 {
            self.cwnd += if self.cwnd < self.ssthresh {
                1.0
            } else {
                1.0 / self.cwnd
            };
            self.cwnd = self.cwnd.min(MAX_WINDOW);
        }
        if let Health::Probing { period } = self.health {
            if failed {
                let period = (period * 2).min(self.max_bench);
                self.health = Health::Benched {
                    until: now + period,
                    period,
                };
            } else {
                self.reinstated();
            }
        }
    }

    /// An attempt timed out after the resolver answered a later one: lost. `first` when it was
    /// its query's first attempt.
    pub fn on_timeout(&mut self, now: Instant, limits: &ResolverLimits, first: bool) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.stats.timeouts += 1;
        if first {
            self.note_loss(true, now);
        }
        if let Health::Probing { period } = self.health {
            let period = (period * 2).min(limits.max_bench);
            self.health = Health::Benched {
                until: now + period,
                period,
            };
        }
    }

    /// An attempt's timeout passed while the resolver answered nothing: the attempt waits on.
    /// Returns whether the silence has now lasted long enough to call the resolver down.
    pub fn on_silent_wait(&mut self, now: Instant, limits: &ResolverLimits) -> bool {
        self.stats.silent_waits += 1;
        if matches!(self.health, Health::Down { .. }) {
            return false;
        }
        let silent = self.silent_for(now);
        if silent >= limits.down_after {
            self.go_down(now, limits);
            return true;
        }
        // Owing only questions nobody answers (dead zones, at a scan's tail) looks like
        // silence too: a root NS probe, at once, tells a live resolver from a dead one before
        // it is called down, and its answer turns the owed questions' timeouts into losses.
        if !self.liveness_checked {
            self.liveness_checked = true;
            self.check_at = Some(now);
        }
        false
    }

    /// Down: no queries until a probe is answered. The caller moves its attempts elsewhere.
    fn go_down(&mut self, now: Instant, limits: &ResolverLimits) {
        self.stats.downs += 1;
        self.owing_since = None;
        self.health = Health::Down {
            since: now,
            next_probe: now,
            gap: limits.probe_gap,
        };
    }

    /// The time of the next probe, if the resolver is down.
    pub fn next_probe(&self) -> Option<Instant> {
        match self.health {
            Health::Down { next_probe, .. } => Some(next_probe),
            _ => self.check_at,
        }
    }

    /// A probe goes out at `now`: the next one waits twice as long.
    pub fn on_probe_sent(&mut self, now: Instant, limits: &ResolverLimits) {
        self.stats.probes += 1;
        self.stats.sent += 1;
        self.check_at = None;
        if let Health::Down { since, gap, .. } = self.health {
            self.health = Health::Down {
                since,
                next_probe: now + gap,
                gap: (gap * 2).min(limits.max_probe_gap),
            };
        }
    }

    /// A probe sent at `sent_at` was answered (any rcode): the resolver is alive, and back if
    /// it was down.
    pub fn on_probe_answered(&mut self, now: Instant, rcode: Rcode, sent_at: Instant) {
        let was_down = matches!(self.health, Health::Down { .. });
        self.heard(now, rcode);
        if self.answered_sent_at.is_none_or(|t| t < sent_at) {
            self.answered_sent_at = Some(sent_at);
        }
        if was_down {
            self.reinstated();
        }
    }

    /// A 0x20 reply echoed the sent case or not. Returns true when this turns 0x20 off for the
    /// resolver: 16 replies and not one echo, so it rewrites case rather than being forged.
    pub fn note_case_echo(&mut self, echoed: bool) -> bool {
        if echoed {
            self.case_echoes += 1;
        } else {
            self.case_mangled += 1;
        }
        if self.case_echoed && self.case_echoes == 0 && self.case_mangled >= 16 {
            self.case_echoed = false;
            return true;
        }
        false
    }

    /// A first attempt answered or lost: the window halves when a round of them shows loss
    /// rising with load.
    fn note_loss(&mut self, lost: bool, now: Instant) {
        let rto = self.rto.unwrap_or(LOSS_DELAY).max(LOSS_DELAY);
        if !self.loss.record(lost, self.cwnd, now, rto) {
            return;
        }
        if self.cwnd > MIN_WINDOW {
            self.stats.congested_rounds += 1;
            self.ssthresh = (self.cwnd / 2.0).max(MIN_WINDOW);
            self.cwnd = self.ssthresh;
        } else {
            // Loss above the usual at the floor, where the load is least: it is the path's
            // own, not the load's. It becomes the usual loss, and slow start may resume.
            self.loss.base = Some(self.loss.last_rate);
            self.ssthresh = MAX_WINDOW;
        }
    }

    fn record_outcome(&mut self, failed: bool) {
        self.samples = self.samples.saturating_add(1);
        moving_share(&mut self.failure_rate, EWMA_ALPHA, failed);
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
        r.on_send(now);
        r.on_reply(now, ms(100), Rcode::NOERROR, false, true, true);
        assert_eq!(r.rto(), Some(ms(300)), "SRTT 100 + 4 × 50");
        r.on_send(now);
        r.on_reply(now, ms(100), Rcode::NOERROR, false, true, true);
        assert_eq!(r.rto().unwrap().as_millis(), 250, "RTTVAR decays to 37.5");
        assert_eq!(r.in_flight, 0);
    }

    #[test]
    fn in_flight_cap() {
        let limits = ResolverLimits {
            max_in_flight: 2,
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        for _ in 0..2 {
            assert!(r.can_send(t0, &limits));
            r.on_send(t0);
        }
        assert!(!r.can_send(t0, &limits), "in-flight cap");
        r.on_reply(t0, ms(1), Rcode::NOERROR, false, true, true);
        assert!(r.can_send(t0, &limits));
    }

    #[test]
    fn token_bucket_paces_with_a_small_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100.0);
        // Burst of 2 tokens (20 ms of 100 QPS).
        for _ in 0..2 {
            assert!(b.ready(t0));
            b.take();
        }
        assert!(!b.ready(t0), "no token left");
        assert!(b.ready(t0 + ms(10)), "10 ms at 100 QPS brings one token");
        let mut slow = TokenBucket::new(0.1);
        assert!(slow.ready(t0));
        slow.take();
        assert!(!slow.ready(t0 + ms(9_000)));
        assert!(slow.ready(t0 + ms(10_000)), "a rate below one per second");
    }

    #[test]
    fn failing_resolver_is_benched_then_probed_back() {
        let limits = ResolverLimits::default();
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        // SERVFAILs that a peer contradicted by answering the same questions.
        for _ in 0..40 {
            r.on_send(t0);
            r.on_reply(t0, ms(1), Rcode::SERVFAIL, true, true, true);
            r.servfail_contradicted();
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
        r.on_send(t0);
        assert!(!r.can_send(t0 + ms(1000), &limits), "one probe at a time");
        r.on_reply(t0 + ms(1001), ms(1), Rcode::SERVFAIL, true, true, true);
        assert_eq!(
            r.health,
            Health::Benched {
                until: t0 + ms(3001),
                period: ms(2000)
            },
            "failed probe doubles"
        );
        assert!(r.can_send(t0 + ms(3001), &limits));
        r.on_send(t0);
        r.on_reply(t0 + ms(3002), ms(1), Rcode::NOERROR, false, true, true);
        assert_eq!(r.health, Health::Active);
    }

    #[test]
    fn silence_is_time_owed_not_never_answered() {
        let limits = ResolverLimits {
            down_after: ms(3000),
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        assert_eq!(
            r.silent_for(t0 + ms(10_000)),
            ms(0),
            "never asked: not silent"
        );
        r.on_send(t0);
        // A slow resolver: its first answer takes 900 ms; the first timeout is no loss.
        assert!(!r.answered_since(t0));
        assert!(!r.on_silent_wait(t0 + ms(800), &limits));
        r.on_reply(t0 + ms(900), ms(900), Rcode::NOERROR, false, true, true);
        assert_eq!(r.health, Health::Active);
        assert_eq!(r.silent_for(t0 + ms(5000)), ms(0), "owes nothing");
        let rto = r.rto().unwrap();
        assert!(rto >= ms(900), "the timeout covers its latency: {rto:?}");
        // Asked again at 6 s, silent from then on: down 3 s later, not before.
        r.on_send(t0 + ms(6000));
        assert!(!r.on_silent_wait(t0 + ms(8999), &limits));
        assert!(r.on_silent_wait(t0 + ms(9000), &limits));
        assert!(matches!(r.health, Health::Down { .. }));
        assert!(!r.can_send(t0 + ms(10_000), &limits));
        assert_eq!(r.next_probe(), Some(t0 + ms(9000)));
        r.on_probe_sent(t0 + ms(9000), &limits);
        r.on_probe_sent(t0 + ms(9250), &limits);
        assert_eq!(r.next_probe(), Some(t0 + ms(9750)), "probe gaps double");
        r.on_probe_answered(t0 + ms(9800), Rcode::NOERROR, t0 + ms(9250));
        assert_eq!(r.health, Health::Active);
        assert!(r.can_send(t0 + ms(9800), &limits));
        assert_eq!((r.stats.downs, r.stats.probes), (1, 2));
    }

    #[test]
    fn the_window_grows_with_answers_in_slow_start() {
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        assert_eq!(r.window(), 256);
        // Slow start: one more per answer while the window is in use.
        for _ in 0..1_100 {
            r.on_send(t0);
        }
        for _ in 0..800 {
            r.on_reply(t0, ms(10), Rcode::NOERROR, false, true, true);
            r.on_send(t0);
        }
        assert_eq!(r.window(), 1056);
        assert!(
            !r.can_send(t0, &ResolverLimits::default()),
            "1 100 in flight"
        );
    }

    /// What the fake server does with the `n`th query while `in_service` others wait on it.
    enum Fate {
        Answer(Duration),
        Drop,
    }

    /// Drives a resolver for `seconds` of fake time against a server that takes `rate` queries
    /// per millisecond in order and decides each one's fate: the client keeps its window full,
    /// and a dropped query times out after the resolver's timeout (a first attempt: the
    /// question is not asked again).
    fn drive_with(seconds: u64, rate: usize, mut fate: impl FnMut(u64, usize) -> Fate) -> Driven {
        let limits = ResolverLimits {
            max_in_flight: 1 << 20,
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        let (mut queue, mut in_service) = (std::collections::VecDeque::new(), Vec::new());
        let mut lost = Vec::new();
        let (mut worst, mut n) = (Duration::ZERO, 0u64);
        let (mut last_answered, mut last_lost) = (0u64, 0u64);
        for tick in 0..seconds * 1000 {
            let now = t0 + ms(tick);
            let last_second = tick >= (seconds - 1) * 1000;
            while r.can_send(now, &limits) {
                r.on_send(now);
                queue.push_back(now);
            }
            // The server takes `rate` queries off its queue per tick; each is answered after
            // its own latency, or dropped.
            for sent in queue.drain(..rate.min(queue.len())) {
                n += 1;
                match fate(n, in_service.len()) {
                    Fate::Answer(latency) => in_service.push((now + latency, sent)),
                    Fate::Drop => lost.push(sent + r.rto().unwrap_or(ms(800)).max(ms(250))),
                }
            }
            in_service.retain(|&(due, sent)| {
                if due > now {
                    return true;
                }
                let rtt = now - sent;
                if last_second {
                    worst = worst.max(rtt);
                    last_answered += 1;
                }
                r.on_reply(now, rtt, Rcode::NOERROR, false, true, true);
                false
            });
            lost.retain(|&due| {
                if due > now {
                    return true;
                }
                last_lost += u64::from(last_second);
                r.on_timeout(now, &limits, true);
                false
            });
        }
        Driven {
            worst,
            resolver: r,
            last_answered,
            last_lost,
        }
    }

    /// What [`drive_with`] saw: the largest RTT, answers and losses of the last second, and
    /// the resolver at the end.
    struct Driven {
        worst: Duration,
        resolver: Resolver,
        last_answered: u64,
        last_lost: u64,
    }

    /// [`drive_with`] against a server that answers everything after `latency`.
    fn drive(
        seconds: u64,
        rate: usize,
        mut latency: impl FnMut(u64) -> Duration,
    ) -> (Duration, usize) {
        let d = drive_with(seconds, rate, |n, _| Fate::Answer(latency(n)));
        (d.worst, d.resolver.window())
    }

    /// A cheap deterministic "random" draw in `0..100` for the `n`th query.
    fn percent(n: u64) -> u64 {
        (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 100
    }

    #[test]
    fn random_loss_is_not_congestion() {
        // A path that drops 5 % of queries at any load (dnsdist, a policer, a real network),
        // in front of a resolver with room to spare: the window keeps growing. Halving once
        // per loss event, as before, held it at its 256 floor.
        let r = drive_with(5, usize::MAX, |n, _| {
            if percent(n) < 5 {
                Fate::Drop
            } else {
                Fate::Answer(ms(20 + n % 30))
            }
        })
        .resolver;
        assert!(
            r.window() > 2_000,
            "{} {:?} {}",
            r.window(),
            r.stats,
            r.loss_rate()
        );
        assert_eq!(r.stats.congested_rounds, 0);
        let loss = r.loss_rate();
        assert!((0.03..0.08).contains(&loss), "{loss}");
    }

    #[test]
    fn loss_that_rises_with_load_halves_the_window() {
        // A resolver that holds 1 000 queries and drops the rest (Unbound's
        // num-queries-per-thread): the window settles near what it holds, not at the cap.
        let d = drive_with(5, usize::MAX, |_, in_service| {
            if in_service >= 1_000 {
                Fate::Drop
            } else {
                Fate::Answer(ms(20))
            }
        });
        let r = &d.resolver;
        assert!(r.stats.congested_rounds > 0);
        assert!(r.window() < 2_500, "{}", r.window());
        // Its window holds what the resolver holds plus its losses, which wait out their
        // timeout: a tenth of the last second's queries.
        assert!(
            d.last_lost * 10 < d.last_answered,
            "{} lost, {} answered",
            d.last_lost,
            d.last_answered
        );
    }

    #[test]
    fn a_resolver_losing_more_than_usual_has_its_servfails_retried() {
        let limits = ResolverLimits::default();
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        for _ in 0..5 {
            r.servfail_confirmed();
        }
        assert!(r.servfail_trusted(true, t0));
        // Rounds of 300 first attempts, 300 ms each: three clean, then one losing half.
        for round in 0..4u64 {
            for i in 0..300u64 {
                let now = t0 + ms(round * 300 + i);
                r.on_send(now);
                if round == 3 && i % 2 == 0 {
                    r.on_timeout(now, &limits, true);
                } else {
                    r.on_reply(now, ms(5), Rcode::NOERROR, false, true, true);
                }
            }
        }
        let now = t0 + ms(1300);
        r.on_send(now);
        r.on_reply(now, ms(5), Rcode::NOERROR, false, true, true);
        assert!(
            !r.servfail_trusted(true, now),
            "in trouble: its SERVFAILs may be its own"
        );
        assert!(
            r.servfail_trusted(false, now),
            "with no peer to ask, still final"
        );
        // No round ends after it (a scan's tail sends few first attempts): the verdict lapses.
        let later = t0 + ms(1200) + TROUBLE_HOLD;
        assert!(r.servfail_trusted(true, later), "trouble is not for ever");
    }

    #[test]
    fn a_timeout_leaves_the_resolvers_timeout_alone() {
        let limits = ResolverLimits::default();
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        for _ in 0..200 {
            r.on_send(t0);
            r.on_reply(t0, ms(40), Rcode::NOERROR, false, true, true);
        }
        let before = r.rto().unwrap();
        for i in 0..20 {
            r.on_send(t0);
            r.on_timeout(t0 + ms(i * 10), &limits, true);
        }
        assert_eq!(
            r.rto().unwrap(),
            before,
            "only the timed-out query backs off"
        );
    }

    #[test]
    fn the_window_stops_growing_while_a_queue_stands() {
        // 20 000 answers/s in 0.5 ms: without the detector the window would fill the queue
        // with over a million queries (a latency of minutes).
        let (worst, window) = drive(5, 20, |_| Duration::from_micros(500));
        assert!(worst < ms(60), "latency held near the base: {worst:?}");
        assert!(window < 1_200, "{window}");
        assert!(window >= 256);
    }

    #[test]
    fn a_recursive_resolvers_spread_is_no_queue() {
        // Unlimited capacity; every 20th answer a 1 ms cache hit, the rest 20 to 400 ms of
        // recursion: the window keeps growing.
        let (_, window) = drive(5, usize::MAX, |n| {
            if n % 20 == 0 {
                ms(1)
            } else {
                ms(20 + n * 7919 % 380)
            }
        });
        assert!(window > 4_000, "{window}");
    }

    #[test]
    fn a_failed_probe_never_benches_past_the_limit() {
        let mut r = Resolver::new("127.0.0.2:53".parse().unwrap());
        r.max_bench = Duration::from_secs(2);
        let t0 = Instant::now();
        r.health = Health::Probing {
            period: Duration::from_millis(1500),
        };
        r.on_reply(t0, ms(1), Rcode::SERVFAIL, true, true, true);
        assert_eq!(
            r.health,
            Health::Benched {
                until: t0 + Duration::from_secs(2),
                period: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn slow_servfails_do_not_stretch_the_timeout() {
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        // Answers in 1 to 50 ms; 2 % of questions end in a SERVFAIL after the resolver tried
        // dead authorities for 3 s. The timeout stays near the answers' high quantile.
        for i in 0..4000 {
            r.on_send(t0);
            if i % 50 == 0 {
                r.on_reply(t0, ms(3000), Rcode::SERVFAIL, true, true, true);
            } else {
                r.on_reply(t0, ms(1 + i % 50), Rcode::NOERROR, false, true, true);
            }
        }
        let rto = r.rto().unwrap();
        assert!(rto <= ms(100), "{rto:?}");
    }

    #[test]
    fn the_timeout_covers_the_tail_of_recent_latency() {
        let t0 = Instant::now();
        let mut r = Resolver::new(addr());
        // A cold recursive resolver: most answers in 5 ms, 2 % take 1.5 s.
        for i in 0..2000 {
            r.on_send(t0);
            let rtt = if i % 50 == 0 { ms(1500) } else { ms(5) };
            r.on_reply(t0, rtt, Rcode::NOERROR, false, true, true);
        }
        let rto = r.rto().unwrap();
        assert!(rto >= ms(1500), "{rto:?}");
        assert!(rto <= ms(2500), "{rto:?}");
    }
}
