//! The sans-IO query engine: in-flight table, one timer heap, the retry policy and resolver
//! health. It never touches a socket or the clock; the driver (`io::driver`) feeds it.
//!
//! Call order, repeated until [`Engine::is_idle`] and the input is exhausted:
//! 1. [`Engine::submit`] new questions (the driver keeps the number in flight bounded);
//! 2. [`Engine::poll_transmit`] until `None`, sending each datagram;
//!    [`Engine::poll_tcp`] until `None`, handing each request to the TCP pool;
//! 3. wait for a datagram, a TCP reply or [`Engine::poll_timeout`];
//! 4. [`Engine::handle_datagram`] / [`Engine::handle_tcp`] for what arrived, then
//!    [`Engine::handle_timeout`] with the current time;
//! 5. [`Engine::poll_outcome`] until `None`.
//!
//! Why one file of ~1000 lines: every event (a datagram, a TCP reply, a timer) changes the
//! in-flight table, the timer heap, the resolvers and the outage clock together, and the rules
//! read best beside each other. What stands alone is apart: the retry rules (`policy`), one
//! resolver's health and latency (`resolver`), the wire view (`crate::wire`).

pub mod policy;
pub mod resolver;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::{SmallRng, StdRng};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use smallvec::SmallVec;

pub use policy::{Failure, Next, RetryPolicy, loss_odds};
pub use resolver::{Health, Resolver, ResolverLimits, ResolverStats, TokenBucket};

use hickory_proto::rr::RecordType;

use crate::wire::{HEADER_LEN, MessageView, Rcode, build_query};

/// Everything the engine needs to know, fixed for a run.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub resolvers: Vec<SocketAddr>,
    /// UDP sockets the driver opened; ids are allocated per socket.
    pub sockets: usize,
    pub retry: RetryPolicy,
    pub limits: ResolverLimits,
    /// EDNS0 UDP payload size advertised in every query (DNS Flag Day 2020: 1232).
    pub edns_udp_size: u16,
    /// Randomise the case of each attempt's question name (0x20, draft-vixie-dnsext-dns0x20)
    /// and take only replies that echo it exactly.
    pub randomize_case: bool,
    /// Seed of id allocation and case randomisation, for tests that replay a run; `None`
    /// (the default): from the operating system, so that nobody off-path can predict a query.
    pub seed: Option<u64>,
}

/// UDP sockets to spread queries over, by default: each is a source port an off-path forger
/// must guess along with the id (and, rotating, the ports change). 64 cost 15 % more wall
/// time than 4 against the sim (docs/BENCHMARKS.md, issue #24); 16 cost 9 %.
pub const DEFAULT_SOCKETS: usize = 16;
/// How often one socket is retired and bound again to a fresh port (with 16 sockets, each
/// port lives about 16 s).
pub const ROTATE_EVERY: Duration = Duration::from_secs(1);

/// The rotation of source ports: one socket at a time stops taking new queries, and once its
/// last attempt has ended the driver binds it again to a new random port.
#[derive(Debug, Default)]
struct PortRotation {
    /// Attempts in flight per socket.
    load: Vec<u32>,
    /// The socket that takes no new queries until the driver has bound it again.
    draining: Option<usize>,
    /// The socket retired next.
    cursor: usize,
    /// When the next socket is retired.
    next: Option<Instant>,
}

impl EngineConfig {
    pub fn new(resolvers: Vec<SocketAddr>, sockets: usize) -> Self {
        EngineConfig {
            resolvers,
            sockets,
            retry: RetryPolicy::default(),
            limits: ResolverLimits::default(),
            edns_udp_size: 1232,
            randomize_case: true,
            seed: None,
        }
    }
}

/// How a lookup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    /// NOERROR with records in the answer section.
    NoError,
    /// NOERROR with an empty answer section.
    NoData,
    NxDomain,
    /// SERVFAIL after retries on other resolvers.
    ServFail,
    /// REFUSED from every resolver tried.
    Refused,
    /// No answer within the query's overall deadline.
    Timeout,
    /// Another rcode (FORMERR, NOTIMP, …), as received.
    Rcode(Rcode),
    /// The question could not be encoded (a label over 63 octets, a name over 255).
    BadName,
    /// A reply matched the question but could not be decoded (a compression loop, a record
    /// cut short): nothing was measured. Set by the decoder, never by the engine.
    Malformed,
}

impl Status {
    /// The name tables and the summary use.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::NoError => "NOERROR",
            Status::NoData => "NODATA",
            Status::NxDomain => "NXDOMAIN",
            Status::ServFail => "SERVFAIL",
            Status::Refused => "REFUSED",
            Status::Timeout => "TIMEOUT",
            Status::Rcode(r) => r.name(),
            Status::BadName => "BADNAME",
            Status::Malformed => "MALFORMED",
        }
    }

    fn of_failure(f: Option<Failure>) -> Status {
        match f {
            Some(Failure::ServFail) => Status::ServFail,
            Some(Failure::Refused) => Status::Refused,
            _ => Status::Timeout,
        }
    }
}

/// Lookups in flight by what they wait on ([`Engine::waiting`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// No attempt has failed yet.
    pub first_answer: u64,
    /// Asked again after timeouts, or waiting for a late answer after the last one.
    pub after_timeouts: u64,
    /// Asked again after a SERVFAIL or REFUSED.
    pub after_servfail: u64,
}

/// A question to look up, with the caller's tag for its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: RecordType,
    pub tag: u64,
}

impl Question {
    pub fn new(name: impl Into<String>, qtype: RecordType, tag: u64) -> Question {
        Question {
            name: name.into(),
            qtype,
            tag,
        }
    }
}

/// A finished lookup.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The caller's tag from [`Engine::submit`].
    pub tag: u64,
    pub name: String,
    pub qtype: RecordType,
    pub status: Status,
    /// The accepted reply, for the caller to decode.
    pub reply: Option<Vec<u8>>,
    /// The resolver whose reply was accepted.
    pub resolver: Option<SocketAddr>,
    pub attempts: u32,
    /// Time from the accepted attempt's send to its reply.
    pub rtt: Option<Duration>,
    /// The UDP answer was truncated and the lookup completed over TCP.
    pub truncated: bool,
}

/// A datagram to send: the payload is in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    pub socket: usize,
    pub destination: SocketAddr,
}

/// A query to send over TCP after a truncated UDP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRequest {
    /// Hand back with [`Engine::handle_tcp`].
    pub token: u64,
    pub resolver: SocketAddr,
    /// The query (its id is the TCP pool's to set).
    pub query: Vec<u8>,
    /// When the engine stops waiting for it (its own timer fails the request then): the pool
    /// gives up on it at the same moment, sent or not.
    pub deadline: Instant,
}

/// Engine-wide counters: what was rejected and why, and how hard the engine worked.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EngineStats {
    pub submitted: u64,
    pub completed: u64,
    pub attempts: u64,
    pub retries: u64,
    pub tcp_fallbacks: u64,
    /// Replies rejected by validation.
    pub rejected: Rejected,
    /// Accepted replies whose question came back in another letter case.
    pub case_changed: u64,
    /// With 0x20: replies rejected because their question did not echo the sent case.
    pub case_mismatch: u64,
    /// Sockets bound again to a fresh source port.
    pub ports_rotated: u64,
    /// Times a ready query waited because no resolver could take it (costs no attempt).
    pub backpressure: u64,
    /// Answers taken from an earlier attempt after the query had been re-sent: a timeout fired
    /// too early.
    pub stale_answers: u64,
    /// Queries moved off a resolver that went down (not charged as attempts).
    pub moved: u64,
}

/// Replies the engine rejected, by reason (summary.json's `queries` has them by these names).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejected {
    /// Replies from another address or port than the attempt was sent to.
    pub spoofed: u64,
    /// Replies whose question (name, type or class) differs from the query's.
    pub wrong_question: u64,
    /// Replies for an id the engine does not know (never sent, or long done).
    pub late: u64,
    /// Second replies for an attempt already answered.
    pub duplicates: u64,
    /// Datagrams that are not a DNS response at all.
    pub malformed: u64,
}

impl std::ops::AddAssign for Rejected {
    fn add_assign(&mut self, other: Rejected) {
        self.spoofed += other.spoofed;
        self.wrong_question += other.wrong_question;
        self.late += other.late;
        self.duplicates += other.duplicates;
        self.malformed += other.malformed;
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} spoofed, {} wrong question, {} late, {} duplicate, {} malformed",
            self.spoofed, self.wrong_question, self.late, self.duplicates, self.malformed
        )
    }
}

/// One attempt of a query, known by its (socket, id) key.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    /// The query's slot; for a probe, the resolver's index.
    slot: usize,
    probe: bool,
    resolver: usize,
    sent_at: Instant,
    /// Still counted in the resolver's in-flight number.
    counted: bool,
    /// With 0x20, the seed of this attempt's case pattern (0: sent as submitted).
    case_seed: u64,
    /// Its query's first charged attempt: its loss measures the path.
    first: bool,
}

/// What tells one attempt from every other in flight: the socket it was sent from and its
/// message id. A reply is matched by the socket it arrived on and the id it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AttemptKey {
    socket: u16,
    id: u16,
}

/// Index of a key in the direct tables.
fn key_index(key: &AttemptKey) -> usize {
    ((key.socket as usize) << 16) | key.id as usize
}

/// Attempts in flight, found directly by (socket, id): a lookup per reply without hashing
/// (SipHash of the key was 2 % of `mxscan resolve`'s profile). The direct table holds a 4-byte
/// index per possible key (65 536 per socket, 1 MiB for four sockets) into a slab as big as the
/// window: the attempts themselves in the direct table took 12.6 MB (docs/BENCHMARKS.md).
struct AttemptTable {
    /// Slot + 1 in `slab` for each (socket, id); 0 when no attempt waits on it.
    index: Vec<u32>,
    slab: Vec<Option<Attempt>>,
    free: Vec<usize>,
}

impl AttemptTable {
    fn new(sockets: usize) -> Self {
        AttemptTable {
            index: vec![0; sockets << 16],
            slab: Vec::new(),
            free: Vec::new(),
        }
    }
    fn slot(&self, key: &AttemptKey) -> Option<usize> {
        let at = *self.index.get(key_index(key))?;
        (at > 0).then(|| at as usize - 1)
    }
    fn get(&self, key: &AttemptKey) -> Option<&Attempt> {
        self.slab[self.slot(key)?].as_ref()
    }
    fn get_mut(&mut self, key: &AttemptKey) -> Option<&mut Attempt> {
        let slot = self.slot(key)?;
        self.slab[slot].as_mut()
    }
    fn insert(&mut self, key: AttemptKey, attempt: Attempt) {
        match self.slot(&key) {
            Some(slot) => self.slab[slot] = Some(attempt),
            None => {
                let slot = crate::slots::occupy(&mut self.slab, &mut self.free, attempt);
                self.index[key_index(&key)] =
                    u32::try_from(slot + 1).expect("fewer attempts in flight than 2^32");
            }
        }
    }
    fn remove(&mut self, key: &AttemptKey) -> Option<Attempt> {
        let slot = self.slot(key)?;
        self.index[key_index(key)] = 0;
        self.free.push(slot);
        self.slab[slot].take()
    }
}

/// A set of (socket, id) keys, one bit of memory per possible key.
struct KeySet(Vec<bool>);

impl KeySet {
    fn new(sockets: usize) -> Self {
        KeySet(vec![false; sockets << 16])
    }
    fn contains(&self, key: &AttemptKey) -> bool {
        self.0.get(key_index(key)).copied().unwrap_or(false)
    }
    fn insert(&mut self, key: AttemptKey) {
        self.0[key_index(&key)] = true;
    }
    fn remove(&mut self, key: &AttemptKey) {
        self.0[key_index(key)] = false;
    }
}

impl Query {
    /// Attempts that count against `--attempts` and the timeout growth: moves off a resolver
    /// that went down do not.
    fn charged(&self) -> u32 {
        self.attempts - self.uncharged
    }
}

#[derive(Debug)]
struct Query {
    name: String,
    qtype: RecordType,
    tag: u64,
    /// Encoded once with id 0; each attempt patches id (and case).
    wire: Vec<u8>,
    started: Instant,
    /// The engine's outage clock at submission: time every resolver was down does not count
    /// against the deadline.
    outage_mark: Duration,
    attempts: u32,
    /// Attempts moved off a resolver that went down: sent, but not charged to the query.
    uncharged: u32,
    tried: SmallVec<[usize; 2]>,
    keys: SmallVec<[AttemptKey; 2]>,
    /// The attempt whose timeout is armed.
    current: Option<AttemptKey>,
    /// Timer generation: a popped timer with another generation is stale.
    generation: u32,
    waiting_retry: bool,
    tcp_resolver: Option<usize>,
    last_failure: Option<Failure>,
    truncated: bool,
    /// Resolvers that answered SERVFAIL or REFUSED, each once, and those that lost an attempt.
    refusals: SmallVec<[usize; 2]>,
    lost_by: SmallVec<[usize; 2]>,
    /// The odds that every charged timeout so far was a datagram lost by chance.
    lost_odds: f64,
    /// The resolver whose first attempt timed out: a loss by chance once the question is
    /// answered ([`Resolver::note_chance_loss`]).
    first_lost: Option<usize>,
    /// The resolver whose silence the current attempt waits on, past its timeout.
    silent_on: Option<usize>,
    /// No more attempts: a late answer is taken until the armed timer ends the query.
    last_call: bool,
}

/// See the module documentation for the call order.
pub struct Engine {
    retry: RetryPolicy,
    limits: ResolverLimits,
    edns_udp_size: u16,
    randomize_case: bool,
    resolvers: Vec<Resolver>,
    queries: Vec<Option<Query>>,
    free_slots: Vec<usize>,
    live: usize,
    attempts: AttemptTable,
    /// Per socket, ids not in use, least recently used first (a freed id waits the longest).
    free_ids: Vec<VecDeque<u16>>,
    /// Keys whose answer was taken, until their id is reused: later copies are duplicates.
    answered: KeySet,
    next_socket: usize,
    ports: PortRotation,
    next_resolver: usize,
    ready: VecDeque<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    outcomes: VecDeque<Outcome>,
    tcp: VecDeque<TcpRequest>,
    rng: StdRng,
    /// Source of timer generations, unique across the engine: a slot is reused by later
    /// queries, and a stale timer of an earlier one must never match.
    generations: u32,
    /// A root NS query, sent as a probe to resolvers that are down (any answer revives them).
    probe_wire: Vec<u8>,
    /// The `--qps` limit over all resolvers.
    bucket: Option<TokenBucket>,
    /// Per resolver, the key of its probe in flight.
    probe_keys: Vec<Option<AttemptKey>>,
    /// Things the operator should hear about, for the driver to print.
    warnings: VecDeque<String>,
    /// Since when every resolver is down, and the total of earlier such outages.
    outage_since: Option<Instant>,
    outage_total: Duration,
    pub stats: EngineStats,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        assert!(
            !config.resolvers.is_empty(),
            "the engine needs at least one resolver"
        );
        assert!(config.sockets > 0 && config.sockets <= u16::MAX as usize);
        // A CSPRNG (ChaCha12) seeded by the OS: ids and case patterns are its output.
        let mut rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        let free_ids = (0..config.sockets)
            .map(|_| {
                let mut ids: Vec<u16> = (0..=u16::MAX).collect();
                ids.shuffle(&mut rng);
                ids.into()
            })
            .collect();
        let n = config.resolvers.len();
        let max_bench = config.limits.max_bench;
        Engine {
            probe_wire: build_query(0, ".", 2, Some(config.edns_udp_size))
                .expect("the root encodes"),
            probe_keys: vec![None; n],
            warnings: VecDeque::new(),
            bucket: config.limits.qps.map(TokenBucket::new),
            outage_since: None,
            outage_total: Duration::ZERO,
            retry: config.retry,
            limits: config.limits,
            edns_udp_size: config.edns_udp_size,
            randomize_case: config.randomize_case,
            resolvers: (config.resolvers.into_iter())
                .map(|addr| {
                    let mut resolver = Resolver::new(addr);
                    resolver.max_bench = max_bench;
                    resolver
                })
                .collect(),
            queries: Vec::new(),
            free_slots: Vec::new(),
            live: 0,
            attempts: AttemptTable::new(config.sockets),
            free_ids,
            answered: KeySet::new(config.sockets),
            next_socket: 0,
            ports: PortRotation {
                load: vec![0; config.sockets],
                ..PortRotation::default()
            },
            next_resolver: 0,
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            outcomes: VecDeque::new(),
            tcp: VecDeque::new(),
            rng,
            generations: 0,
            stats: EngineStats::default(),
        }
    }

    /// Queues a lookup of `question` at `now`; its outcome carries the question's tag.
    pub fn submit(&mut self, now: Instant, question: Question) {
        let Question { name, qtype, tag } = question;
        self.stats.submitted += 1;
        let Ok(wire) = build_query(0, &name, u16::from(qtype), Some(self.edns_udp_size)) else {
            self.stats.completed += 1;
            self.outcomes.push_back(Outcome {
                tag,
                name,
                qtype,
                status: Status::BadName,
                reply: None,
                resolver: None,
                attempts: 0,
                rtt: None,
                truncated: false,
            });
            return;
        };
        let query = Query {
            name,
            qtype,
            tag,
            wire,
            started: now,
            outage_mark: self.outage_clock(now),
            attempts: 0,
            uncharged: 0,
            tried: SmallVec::new(),
            keys: SmallVec::new(),
            current: None,
            generation: 0,
            waiting_retry: false,
            tcp_resolver: None,
            last_failure: None,
            truncated: false,
            refusals: SmallVec::new(),
            lost_by: SmallVec::new(),
            lost_odds: 1.0,
            first_lost: None,
            silent_on: None,
            last_call: false,
        };
        let slot = crate::slots::occupy(&mut self.queries, &mut self.free_slots, query);
        self.live += 1;
        self.ready.push_back(slot);
    }

    /// Lookups submitted and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.live
    }

    /// Lookups in flight by what they wait on (the progress line of a scan's tail). Walks
    /// every slot: call it a few times a second, not per event.
    pub fn waiting(&self) -> Waiting {
        let mut w = Waiting::default();
        for q in self.queries.iter().flatten() {
            match q.last_failure {
                None => w.first_answer += 1,
                Some(Failure::Timeout | Failure::Transport) => w.after_timeouts += 1,
                Some(Failure::ServFail | Failure::Refused) => w.after_servfail += 1,
            }
        }
        w
    }

    /// Whether queries wait to be sent because no resolver can take them now.
    pub fn is_backpressured(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Nothing in flight and no outcome waiting.
    pub fn is_idle(&self) -> bool {
        self.live == 0 && self.outcomes.is_empty()
    }

    pub fn resolvers(&self) -> &[Resolver] {
        &self.resolvers
    }

    /// The next datagram to send, written into `buf`; `None` when nothing can go now (nothing
    /// ready, or every resolver at its limit: backpressure, which costs no attempt).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        if let Some(t) = self.poll_probe(now, buf) {
            return Some(t);
        }
        // Questions passed over because only resolvers that refused them could take them.
        let mut skipped = 0;
        while let Some(slot) = self.ready.pop_front() {
            let Some(q) = self.queries[slot].as_ref() else {
                continue;
            };
            if self.outage_since.is_some() {
                // Every resolver is down: the query waits for one to come back, its deadline
                // paused.
                self.ready.push_front(slot);
                return None;
            }
            if now >= self.shifted_start(q, now) + self.retry.deadline {
                let status = Status::of_failure(q.last_failure);
                self.complete(now, slot, status, None, None, None);
                continue;
            }
            let tried = q.tried.clone();
            // Resolvers whose SERVFAIL is the zone's answer are not asked again, unless every
            // other one is benched or down: then the question waits its backoff and asks them.
            let mut excluded: SmallVec<[usize; 2]> = q
                .refusals
                .iter()
                .copied()
                .filter(|&r| self.servfail_trusted(r, now))
                .collect();
            if !self.usable_besides(&excluded) {
                excluded.clear();
            }
            let started = self.shifted_start(q, now);
            if self.bucket.as_mut().is_some_and(|b| !b.ready(now)) {
                self.ready.push_front(slot);
                self.stats.backpressure += 1;
                return None;
            }
            let Some(r) = self.pick_resolver(now, &tried, &excluded) else {
                if !excluded.is_empty() {
                    // Only its resolvers are full: it must not hold up the questions behind
                    // it, which others can take.
                    if skipped < self.ready.len() {
                        skipped += 1;
                        self.ready.push_back(slot);
                        continue;
                    }
                }
                self.ready.push_front(slot);
                self.stats.backpressure += 1;
                return None;
            };
            let Some(key) = self.allocate_id() else {
                self.ready.push_front(slot);
                self.stats.backpressure += 1;
                return None;
            };
            let q = self.queries[slot].as_mut().expect("checked above");
            buf.clear();
            buf.extend_from_slice(&q.wire);
            buf[0..2].copy_from_slice(&key.id.to_be_bytes());
            let case_seed = if self.randomize_case && self.resolvers[r].case_echoed {
                let seed = self.rng.random::<u64>() | 1;
                randomize_case(&mut buf[HEADER_LEN..], seed);
                seed
            } else {
                0
            };
            q.attempts += 1;
            let first = q.charged() == 1;
            q.tried.push(r);
            q.keys.push(key);
            q.current = Some(key);
            q.silent_on = None;
            q.waiting_retry = false;
            q.generation = next_generation(&mut self.generations);
            let timeout =
                self.retry
                    .attempt_timeout(self.resolvers[r].rto(), q.charged(), started, now);
            self.timers
                .push(Reverse((now + timeout, slot, q.generation)));
            self.attempts.insert(
                key,
                Attempt {
                    slot,
                    probe: false,
                    resolver: r,
                    sent_at: now,
                    counted: true,
                    case_seed,
                    first,
                },
            );
            self.answered.remove(&key);
            self.resolvers[r].on_send(now);
            if let Some(b) = &mut self.bucket {
                b.take();
            }
            self.stats.attempts += 1;
            return Some(Transmit {
                socket: key.socket as usize,
                destination: self.resolvers[r].addr,
            });
        }
        None
    }

    /// The next query to send over TCP.
    #[must_use]
    pub fn poll_tcp(&mut self) -> Option<TcpRequest> {
        self.tcp.pop_front()
    }

    /// When [`Engine::handle_timeout`] (or [`Engine::poll_transmit`], for a probe) must next be
    /// called, if ever.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let probe = self.resolvers.iter().filter_map(Resolver::next_probe).min();
        let mut timer = None;
        while let Some(Reverse((at, slot, generation))) = self.timers.peek().copied() {
            if self.queries[slot]
                .as_ref()
                .is_some_and(|q| q.generation == generation)
            {
                timer = Some(at);
                break;
            }
            self.timers.pop();
        }
        let bench_end = if self.ready.is_empty() {
            None
        } else {
            self.resolvers
                .iter()
                .filter_map(|r| match r.health {
                    Health::Benched { until, .. } => Some(until),
                    _ => None,
                })
                .min()
        };
        [probe, timer, bench_end].into_iter().flatten().min()
    }

    /// The next warning for the operator (a resolver that breaks 0x20, …).
    #[must_use]
    pub fn poll_warning(&mut self) -> Option<String> {
        self.warnings.pop_front()
    }

    /// Time every resolver was down at once, in outages that have ended.
    pub fn outage_total(&self) -> Duration {
        self.outage_total
    }

    /// Since when every resolver has been down, if they all are now: the queries wait.
    pub fn outage_since(&self) -> Option<Instant> {
        self.outage_since
    }

    /// Time every resolver was down at once, up to `now`: it does not count against deadlines.
    fn outage_clock(&self, now: Instant) -> Duration {
        self.outage_total
            + self
                .outage_since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }

    /// A query's start, moved later by the outages since it was submitted.
    fn shifted_start(&self, q: &Query, now: Instant) -> Instant {
        q.started + self.outage_clock(now).saturating_sub(q.outage_mark)
    }

    /// The socket whose last attempt has ended since it was retired: the driver binds it again
    /// to a fresh port and calls [`Engine::rebound`].
    #[must_use]
    pub fn poll_rebind(&self) -> Option<usize> {
        self.ports.draining.filter(|&s| self.ports.load[s] == 0)
    }

    /// Socket `socket` has a new port: it takes queries again.
    pub fn rebound(&mut self, socket: usize, now: Instant) {
        if self.ports.draining == Some(socket) {
            self.ports.draining = None;
            self.ports.next = Some(now + ROTATE_EVERY);
            self.stats.ports_rotated += 1;
        }
    }

    /// Retires the next socket when its turn has come (never the only one).
    fn rotate_ports(&mut self, now: Instant) {
        let ports = &mut self.ports;
        let n = ports.load.len();
        if n < 2 || ports.draining.is_some() {
            return;
        }
        match ports.next {
            None => ports.next = Some(now + ROTATE_EVERY),
            Some(at) if at <= now => {
                ports.draining = Some(ports.cursor);
                ports.cursor = (ports.cursor + 1) % n;
            }
            Some(_) => {}
        }
    }

    /// Processes every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.rotate_ports(now);
        while let Some(Reverse((at, slot, generation))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(q) = self.queries[slot].as_mut() else {
                continue;
            };
            if q.generation != generation {
                continue;
            }
            if q.last_call {
                let status = Status::of_failure(q.last_failure);
                self.complete(now, slot, status, None, None, None);
            } else if q.waiting_retry {
                q.waiting_retry = false;
                self.ready.push_back(slot);
            } else if q.tcp_resolver.take().is_some() {
                self.failure(slot, Failure::Transport, now);
            } else if let Some(key) = q.current {
                let attempt = self.attempts.get(&key).copied();
                if let Some(a) = attempt
                    && a.counted
                    && !self.resolvers[a.resolver].answered_since(a.sent_at)
                {
                    let q = self.queries[slot].as_ref().expect("live");
                    let started = self.shifted_start(q, now);
                    if now < started + self.retry.deadline {
                        self.wait_on_silence(slot, a.resolver, started, now);
                        continue;
                    }
                }
                self.queries[slot].as_mut().expect("live").current = None;
                if let Some(a) = attempt
                    && a.counted
                {
                    if let Some(a) = self.attempts.get_mut(&key) {
                        a.counted = false;
                    }
                    let r = &mut self.resolvers[a.resolver];
                    r.on_timeout(now, &self.limits, a.first);
                    // A resolver in trouble times out healthy questions: those timeouts do
                    // not count towards giving a question up.
                    let odds = if r.in_trouble(now) {
                        1.0
                    } else if a.first {
                        loss_odds(r.chance_loss())
                    } else {
                        loss_odds(r.retry_loss())
                    };
                    let q = self.queries[slot].as_mut().expect("live");
                    q.lost_odds *= odds;
                    q.lost_by.push(a.resolver);
                    if a.first {
                        q.first_lost = Some(a.resolver);
                    }
                    self.check_bench(a.resolver, now);
                }
                self.failure(slot, Failure::Timeout, now);
            }
        }
    }

    /// The current attempt of `slot` timed out, but its resolver `r` has answered nothing since
    /// it was sent: the resolver is slow or silent, and a resend would only add load. The
    /// attempt waits on, looking again one first-attempt timeout later (by then the liveness
    /// probe has its answer, and the timeout counts); once the silence lasts `down_after`, the
    /// resolver is down.
    fn wait_on_silence(&mut self, slot: usize, r: usize, started: Instant, now: Instant) {
        let rto = self.resolvers[r].rto();
        let q = self.queries[slot].as_mut().expect("live");
        q.generation = next_generation(&mut self.generations);
        q.silent_on = Some(r);
        let timeout = self.retry.attempt_timeout(rto, 1, started, now);
        self.timers
            .push(Reverse((now + timeout, slot, q.generation)));
        if self.resolvers[r].on_silent_wait(now, &self.limits) {
            self.move_queries_off(r);
            if self
                .resolvers
                .iter()
                .all(|r| matches!(r.health, Health::Down { .. }))
            {
                self.outage_since.get_or_insert(now);
            }
        }
    }

    /// Resolver `r` answered a probe sent after the attempts waiting on its silence: they were
    /// lost, and their timeouts count now rather than at their next look.
    fn end_silent_waits(&mut self, r: usize, now: Instant) {
        for (slot, q) in self.queries.iter_mut().enumerate() {
            if let Some(q) = q
                && q.silent_on == Some(r)
            {
                q.silent_on = None;
                q.generation = next_generation(&mut self.generations);
                self.timers.push(Reverse((now, slot, q.generation)));
            }
        }
    }

    /// Resolver `r` answered something: if it was down, it is back, and so is the scan.
    fn note_alive(&mut self, r: usize, now: Instant) {
        if let Some(key) = self.probe_keys[r].take() {
            self.release(key);
        }
        if let Some(since) = self.outage_since.take() {
            self.outage_total += now.saturating_duration_since(since);
        }
    }

    /// The probe of the first resolver whose probe is due, if an id is free.
    fn poll_probe(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        let r = (0..self.resolvers.len())
            .find(|&r| self.resolvers[r].next_probe().is_some_and(|at| at <= now))?;
        let key = self.allocate_id()?;
        if let Some(old) = self.probe_keys[r].replace(key) {
            self.release(old);
        }
        self.attempts.insert(
            key,
            Attempt {
                slot: r,
                probe: true,
                resolver: r,
                sent_at: now,
                counted: false,
                case_seed: 0,
                first: false,
            },
        );
        self.answered.remove(&key);
        buf.clear();
        buf.extend_from_slice(&self.probe_wire);
        buf[0..2].copy_from_slice(&key.id.to_be_bytes());
        self.resolvers[r].on_probe_sent(now, &self.limits);
        Some(Transmit {
            socket: key.socket as usize,
            destination: self.resolvers[r].addr,
        })
    }

    /// A datagram arrived on `socket` from `from`.
    pub fn handle_datagram(&mut self, now: Instant, socket: usize, from: SocketAddr, bytes: &[u8]) {
        let Ok(view) = MessageView::parse(bytes) else {
            self.stats.rejected.malformed += 1;
            return;
        };
        if !view.flags.is_response() {
            self.stats.rejected.malformed += 1;
            return;
        }
        let key = AttemptKey {
            socket: socket as u16,
            id: view.id,
        };
        let Some(attempt) = self.attempts.get(&key).copied() else {
            if !self.resolvers.iter().any(|r| r.addr == from) {
                self.stats.rejected.spoofed += 1;
            } else if self.answered.contains(&key) {
                self.stats.rejected.duplicates += 1;
            } else {
                self.stats.rejected.late += 1;
            }
            return;
        };
        if from != self.resolvers[attempt.resolver].addr {
            self.stats.rejected.spoofed += 1;
            return;
        }
        if attempt.probe {
            let asked = MessageView::parse(&self.probe_wire)
                .expect("our own probe parses")
                .question;
            if !view.question.same_name(asked.name_wire) || view.question.qtype != asked.qtype {
                self.stats.rejected.wrong_question += 1;
                return;
            }
            let r = attempt.resolver;
            self.answered.insert(key);
            self.resolvers[r].on_probe_answered(now, view.flags.rcode(), attempt.sent_at);
            self.note_alive(r, now);
            self.end_silent_waits(r, now);
            return;
        }
        let slot = attempt.slot;
        let q = self.queries[slot]
            .as_ref()
            .expect("attempts only point at live queries");
        let asked = MessageView::parse(&q.wire)
            .expect("our own query parses")
            .question;
        if !view.question.same_name(asked.name_wire)
            || view.question.qtype != u16::from(q.qtype)
            || view.question.qclass != 1
        {
            self.stats.rejected.wrong_question += 1;
            return;
        }
        let same_case = view.question.name_wire == asked.name_wire;
        if attempt.case_seed != 0 {
            let mut sent = asked.name_wire.to_vec();
            randomize_case(&mut sent, attempt.case_seed);
            let echoed = view.question.name_wire == sent.as_slice();
            if self.resolvers[attempt.resolver].note_case_echo(echoed) {
                self.warnings.push_back(format!(
                    "resolver {} does not preserve the case of questions: 0x20 is off for it",
                    self.resolvers[attempt.resolver].addr
                ));
            }
            if !echoed {
                // A forger guessing the id but not the case, or a resolver that rewrites it.
                self.stats.case_mismatch += 1;
                return;
            }
        }
        let current = q.current == Some(key);
        let rcode = view.flags.rcode();
        let failed = rcode_failure(rcode).is_some();
        let rtt = now.saturating_duration_since(attempt.sent_at);
        if let Some(a) = self.attempts.get_mut(&key) {
            a.counted = false;
        }
        let was_down = matches!(self.resolvers[attempt.resolver].health, Health::Down { .. });
        self.resolvers[attempt.resolver].on_reply(
            now,
            rtt,
            rcode,
            failed,
            attempt.counted,
            attempt.first,
        );
        if was_down {
            self.note_alive(attempt.resolver, now);
        }
        self.check_bench(attempt.resolver, now);
        if view.flags.truncated() {
            self.resolvers[attempt.resolver].stats.truncated += 1;
            let started = self.shifted_start(self.queries[slot].as_ref().expect("live"), now);
            let q = self.queries[slot].as_mut().expect("live");
            if q.tcp_resolver.is_none() {
                self.stats.tcp_fallbacks += 1;
                q.truncated = true;
                q.tcp_resolver = Some(attempt.resolver);
                q.current = None;
                q.generation = next_generation(&mut self.generations);
                // A connection and a query: twice an attempt's timeout, so that a resolver that
                // never answers over TCP costs a retry elsewhere, not the lookup's deadline.
                let attempt_timeout = self.retry.attempt_timeout(
                    self.resolvers[attempt.resolver].rto(),
                    q.charged(),
                    started,
                    now,
                );
                let timeout = (2 * attempt_timeout)
                    .min(self.retry.max_timeout)
                    .min((started + self.retry.deadline).saturating_duration_since(now));
                self.timers
                    .push(Reverse((now + timeout, slot, q.generation)));
                self.tcp.push_back(TcpRequest {
                    token: ((slot as u64) << 32) | u64::from(q.generation),
                    resolver: self.resolvers[attempt.resolver].addr,
                    query: q.wire.clone(),
                    deadline: now + timeout,
                });
            }
            return;
        }
        if let Some(failure) = rcode_failure(rcode) {
            self.refused_by(slot, attempt.resolver, failure, current, now);
            return;
        }
        if !same_case && attempt.case_seed == 0 {
            self.stats.case_changed += 1;
        }
        if !current {
            self.stats.stale_answers += 1;
        }
        let status = status_of(rcode, view.answer_count);
        self.answered.insert(key);
        if !attempt.first {
            self.resolvers[attempt.resolver].note_retry_outcome(false);
        }
        let mut reply = bytes.to_vec();
        if attempt.case_seed != 0 {
            // The question back in the case it was submitted in: names the resolver compressed
            // against it (owner names, an MX's own domain) then read as without 0x20.
            // Echoed exactly, so it is our name's length, right after the header as in ours.
            let end = HEADER_LEN + view.question.name_wire.len();
            let wire = &self.queries[slot].as_ref().expect("live").wire;
            reply[HEADER_LEN..end].copy_from_slice(&wire[HEADER_LEN..end]);
        }
        self.complete(
            now,
            slot,
            status,
            Some(reply),
            Some(attempt.resolver),
            Some(rtt),
        );
    }

    /// The TCP pool's answer to request `token`: the reply, or `None` when the connection failed.
    pub fn handle_tcp(&mut self, now: Instant, token: u64, reply: Option<&[u8]>) {
        let (slot, generation) = ((token >> 32) as usize, token as u32);
        let Some(q) = self.queries.get_mut(slot).and_then(|q| q.as_mut()) else {
            return;
        };
        if q.generation != generation {
            return;
        }
        let Some(r) = q.tcp_resolver.take() else {
            return;
        };
        let view = reply.and_then(|b| MessageView::parse(b).ok());
        let asked = MessageView::parse(&q.wire)
            .expect("our own query parses")
            .question;
        match (reply, view) {
            (Some(bytes), Some(v))
                if v.flags.is_response()
                    && v.question.same_name(asked.name_wire)
                    && v.question.qtype == u16::from(q.qtype) =>
            {
                let rcode = v.flags.rcode();
                if let Some(failure) = rcode_failure(rcode) {
                    self.refused_by(slot, r, failure, true, now);
                } else {
                    self.complete(
                        now,
                        slot,
                        status_of(rcode, v.answer_count),
                        Some(bytes.to_vec()),
                        Some(r),
                        None,
                    );
                }
            }
            _ => self.failure(slot, Failure::Transport, now),
        }
    }

    /// The next finished lookup.
    #[must_use]
    pub fn poll_outcome(&mut self) -> Option<Outcome> {
        self.outcomes.pop_front()
    }

    /// Whether a resolver not in `excluded` is active or being probed.
    fn usable_besides(&self, excluded: &[usize]) -> bool {
        self.resolvers.iter().enumerate().any(|(i, x)| {
            !excluded.contains(&i) && matches!(x.health, Health::Active | Health::Probing { .. })
        })
    }

    /// Whether resolver `r`'s SERVFAIL is the zone's answer (see `Resolver::servfail_trusted`).
    fn servfail_trusted(&self, r: usize, now: Instant) -> bool {
        self.resolvers[r].servfail_trusted(self.resolvers.len() > 1, now)
    }

    /// Resolver `r` answered SERVFAIL or REFUSED to the query in `slot` (to its `current`
    /// attempt or an earlier one). Final once `--servfail-tries` resolvers (or every usable
    /// one) whose SERVFAILs are the zone's have said so; until then the question goes to a
    /// resolver that has not, at once. A resolver whose SERVFAILs its peers contradict is
    /// retried as any failure is.
    fn refused_by(&mut self, slot: usize, r: usize, failure: Failure, current: bool, now: Instant) {
        let q = self.queries[slot].as_mut().expect("live");
        q.last_failure = Some(failure);
        if !q.refusals.contains(&r) {
            q.refusals.push(r);
            // Two resolvers agree: each one's SERVFAIL is confirmed by the other.
            match q.refusals[..] {
                [_] => {}
                [a, b] => {
                    self.resolvers[a].servfail_confirmed();
                    self.resolvers[b].servfail_confirmed();
                }
                _ => self.resolvers[r].servfail_confirmed(),
            }
        }
        let q = self.queries[slot].as_ref().expect("live");
        let said_so = q
            .refusals
            .iter()
            .filter(|&&x| self.servfail_trusted(x, now))
            .count();
        let enough = (self.retry.servfail_tries as usize).min(self.resolvers.len());
        if said_so >= enough {
            self.complete(
                now,
                slot,
                Status::of_failure(Some(failure)),
                None,
                None,
                None,
            );
            return;
        }
        if !current {
            // A late refusal of an earlier attempt: the current one may still be answered.
            return;
        }
        let started = self.shifted_start(q, now);
        let others_usable = self.usable_besides(&q.refusals);
        let q = self.queries[slot].as_mut().expect("live");
        q.current = None;
        if !self.servfail_trusted(r, now) || !others_usable {
            // Its SERVFAILs are its own trouble, or no other resolver can be asked now (a
            // farm in trouble may SERVFAIL what it would answer): ask again after a backoff.
            self.failure(slot, failure, now);
        } else if now >= started + self.retry.deadline {
            self.complete(
                now,
                slot,
                Status::of_failure(Some(failure)),
                None,
                None,
                None,
            );
        } else {
            self.stats.retries += 1;
            self.ready.push_back(slot);
        }
    }

    fn failure(&mut self, slot: usize, failure: Failure, now: Instant) {
        let q = self.queries[slot].as_ref().expect("live");
        let started = self.shifted_start(q, now);
        let next = match failure {
            Failure::Timeout => self
                .retry
                .after_timeout(q.charged(), q.lost_odds, started, now),
            Failure::ServFail | Failure::Refused => {
                let fresh = self.usable_besides(&q.tried);
                self.retry
                    .after_refusal(failure, q.charged(), started, now, fresh)
            }
            Failure::Transport => self.retry.after_failure(failure, q.charged(), started, now),
        };
        let q = self.queries[slot].as_mut().expect("live");
        q.last_failure = Some(failure);
        match next {
            Next::GiveUp => self.complete(
                now,
                slot,
                Status::of_failure(Some(failure)),
                None,
                None,
                None,
            ),
            Next::WaitUntil(at) => {
                q.generation = next_generation(&mut self.generations);
                q.last_call = true;
                self.timers.push(Reverse((at, slot, q.generation)));
            }
            Next::RetryAt(at) => {
                self.stats.retries += 1;
                if at <= now {
                    self.ready.push_back(slot);
                } else {
                    q.generation = next_generation(&mut self.generations);
                    q.waiting_retry = true;
                    self.timers.push(Reverse((at, slot, q.generation)));
                }
            }
        }
    }

    fn complete(
        &mut self,
        now: Instant,
        slot: usize,
        status: Status,
        reply: Option<Vec<u8>>,
        resolver: Option<usize>,
        rtt: Option<Duration>,
    ) {
        let Some(q) = self.queries[slot].take() else {
            return;
        };
        if reply.is_some() {
            // An answer: whoever said SERVFAIL or REFUSED to this question, or lost it, failed.
            // A failure every resolver shares is the question's, and costs none of them.
            for &r in &q.refusals {
                self.resolvers[r].servfail_contradicted();
                self.check_bench(r, now);
            }
            for &r in &q.lost_by {
                self.resolvers[r].loss_contradicted();
                self.check_bench(r, now);
            }
            if let Some(r) = q.first_lost {
                self.resolvers[r].note_chance_loss();
            }
            // The first attempt's timeout, if any, comes first: the rest were retries.
            for &r in q.lost_by.iter().skip(usize::from(q.first_lost.is_some())) {
                self.resolvers[r].note_retry_outcome(true);
            }
        }
        for key in &q.keys {
            if let Some(a) = self.release(*key)
                && a.counted
            {
                let r = &mut self.resolvers[a.resolver];
                r.in_flight = r.in_flight.saturating_sub(1);
            }
        }
        self.free_slots.push(slot);
        self.live -= 1;
        self.stats.completed += 1;
        self.outcomes.push_back(Outcome {
            tag: q.tag,
            name: q.name,
            qtype: q.qtype,
            status,
            reply,
            resolver: resolver.map(|r| self.resolvers[r].addr),
            attempts: q.attempts,
            rtt,
            truncated: q.truncated,
        });
    }

    /// Round robin over resolvers that can take a query, preferring ones this query has not
    /// tried yet, never one in `excluded`.
    fn pick_resolver(
        &mut self,
        now: Instant,
        tried: &[usize],
        excluded: &[usize],
    ) -> Option<usize> {
        let n = self.resolvers.len();
        for fresh_only in [true, false] {
            for k in 0..n {
                let r = (self.next_resolver + k) % n;
                if (fresh_only && tried.contains(&r)) || excluded.contains(&r) {
                    continue;
                }
                if self.resolvers[r].can_send(now, &self.limits) {
                    self.next_resolver = (r + 1) % n;
                    return Some(r);
                }
            }
        }
        None
    }

    /// Ends an attempt: its id goes to the back of the free queue (reused last).
    fn release(&mut self, key: AttemptKey) -> Option<Attempt> {
        let attempt = self.attempts.remove(&key)?;
        self.ports.load[key.socket as usize] -= 1;
        self.free_ids[key.socket as usize].push_back(key.id);
        Some(attempt)
    }

    /// A free id, drawn at random per query from the older half of a socket's free queue: as
    /// unpredictable as the generator, and never one released a moment ago (a late reply to
    /// its last attempt could otherwise match the new one).
    fn allocate_id(&mut self) -> Option<AttemptKey> {
        let n = self.free_ids.len();
        for k in 0..n {
            let socket = (self.next_socket + k) % n;
            let free = &mut self.free_ids[socket];
            if free.is_empty() || self.ports.draining == Some(socket) {
                continue;
            }
            self.ports.load[socket] += 1;
            let pick = self.rng.random_range(0..free.len().div_ceil(2));
            free.swap(0, pick);
            let id = free.pop_front().expect("not empty");
            self.next_socket = (socket + 1) % n;
            return Some(AttemptKey {
                socket: socket as u16,
                id,
            });
        }
        None
    }

    fn check_bench(&mut self, r: usize, now: Instant) {
        let best_peer = self
            .resolvers
            .iter()
            .enumerate()
            .filter(|(i, p)| *i != r && matches!(p.health, Health::Active))
            .map(|(_, p)| p.failure_rate)
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.min(x)))
            });
        // Never bench the last usable resolver: a slow answer beats none.
        if let Some(best) = best_peer {
            self.resolvers[r].maybe_bench(now, best, &self.limits);
        }
    }

    /// Resolver `dead` just went down: its queries in flight go elsewhere (or wait for it)
    /// now, uncharged, rather than at their timeouts. A late answer to their attempts is still
    /// taken.
    fn move_queries_off(&mut self, dead: usize) {
        let keys: Vec<AttemptKey> = self
            .queries
            .iter()
            .flatten()
            .filter_map(|q| q.current)
            .filter(|k| {
                self.attempts
                    .get(k)
                    .is_some_and(|a| a.resolver == dead && a.counted)
            })
            .collect();
        for key in keys {
            let a = self.attempts.get_mut(&key).expect("filtered above");
            a.counted = false;
            let slot = a.slot;
            let q = self.queries[slot].as_mut().expect("live");
            q.current = None;
            q.silent_on = None;
            q.uncharged += 1;
            q.generation = next_generation(&mut self.generations);
            self.stats.moved += 1;
            self.ready.push_back(slot);
        }
        self.resolvers[dead].in_flight = 0;
    }
}

fn next_generation(counter: &mut u32) -> u32 {
    *counter = counter.wrapping_add(1);
    *counter
}

/// The rcodes that are failures of the resolver rather than answers: retried elsewhere.
fn rcode_failure(rcode: Rcode) -> Option<Failure> {
    match rcode {
        Rcode::SERVFAIL => Some(Failure::ServFail),
        Rcode::REFUSED => Some(Failure::Refused),
        _ => None,
    }
}

fn status_of(rcode: Rcode, answers: u16) -> Status {
    match (rcode, answers) {
        (Rcode::NOERROR, 0) => Status::NoData,
        (Rcode::NOERROR, _) => Status::NoError,
        (Rcode::NXDOMAIN, _) => Status::NxDomain,
        (r, _) => Status::Rcode(r),
    }
}

/// Flips the case of each letter of a wire name at random (0x20 bits); the same seed gives the
/// same pattern, so a reply's echo can be checked without storing the name sent.
fn randomize_case(name: &mut [u8], seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let rng = &mut rng;
    let mut at = 0;
    while let Some(&len) = name.get(at) {
        if len == 0 || len & 0xC0 != 0 {
            break;
        }
        let end = (at + 1 + len as usize).min(name.len());
        for b in &mut name[at + 1..end] {
            if b.is_ascii_alphabetic() && rng.random::<bool>() {
                *b ^= 0x20;
            }
        }
        at = end;
    }
}

#[cfg(test)]
mod tests;
