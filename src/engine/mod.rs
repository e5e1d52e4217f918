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

pub mod policy;
pub mod resolver;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

pub use policy::{Failure, Next, RetryPolicy};
pub use resolver::{Health, Resolver, ResolverLimits, ResolverStats};

use crate::wire::{HEADER_LEN, MessageView, build_query};

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
    /// Randomise the case of each attempt's question name (0x20, draft-vixie-dnsext-dns0x20).
    pub randomize_case: bool,
    /// Seed of id allocation and case randomisation.
    pub seed: u64,
}

impl EngineConfig {
    pub fn new(resolvers: Vec<SocketAddr>, sockets: usize) -> Self {
        EngineConfig {
            resolvers,
            sockets,
            retry: RetryPolicy::default(),
            limits: ResolverLimits::default(),
            edns_udp_size: 1232,
            randomize_case: false,
            seed: 0x6D78_7363_616E,
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
    Rcode(u8),
    /// The question could not be encoded (a label over 63 octets, a name over 255).
    BadName,
}

impl Status {
    pub fn as_str(&self) -> String {
        match self {
            Status::NoError => "NOERROR".into(),
            Status::NoData => "NODATA".into(),
            Status::NxDomain => "NXDOMAIN".into(),
            Status::ServFail => "SERVFAIL".into(),
            Status::Refused => "REFUSED".into(),
            Status::Timeout => "TIMEOUT".into(),
            Status::Rcode(r) => crate::wire::rcode_name(*r),
            Status::BadName => "BADNAME".into(),
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

/// A finished lookup.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The caller's tag from [`Engine::submit`].
    pub tag: u64,
    pub name: String,
    pub qtype: u16,
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
}

/// Engine-wide counters: what was rejected and why, and how hard the engine worked.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EngineStats {
    pub submitted: u64,
    pub completed: u64,
    pub attempts: u64,
    pub retries: u64,
    pub tcp_fallbacks: u64,
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
    /// Accepted replies whose question came back in another letter case.
    pub case_changed: u64,
    /// Times a ready query waited because no resolver could take it (costs no attempt).
    pub backpressure: u64,
}

/// One attempt of a query, known by its (socket, id) key.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    slot: usize,
    resolver: usize,
    sent_at: Instant,
    /// Still counted in the resolver's in-flight number.
    counted: bool,
}

/// Index of a (socket, id) key in the direct tables.
fn key_index(key: &(u16, u16)) -> usize {
    ((key.0 as usize) << 16) | key.1 as usize
}

/// Attempts in flight, indexed directly by (socket, id): a lookup per reply without hashing
/// (SipHash of the key was 2 % of `mxscan resolve`'s profile). 65 536 entries per socket.
struct AttemptTable(Vec<Option<Attempt>>);

impl AttemptTable {
    fn new(sockets: usize) -> Self {
        AttemptTable(vec![None; sockets << 16])
    }
    fn get(&self, key: &(u16, u16)) -> Option<&Attempt> {
        self.0.get(key_index(key))?.as_ref()
    }
    fn get_mut(&mut self, key: &(u16, u16)) -> Option<&mut Attempt> {
        self.0.get_mut(key_index(key))?.as_mut()
    }
    fn insert(&mut self, key: (u16, u16), attempt: Attempt) {
        self.0[key_index(&key)] = Some(attempt);
    }
    fn remove(&mut self, key: &(u16, u16)) -> Option<Attempt> {
        self.0.get_mut(key_index(key))?.take()
    }
    fn values(&self) -> impl Iterator<Item = &Attempt> {
        self.0.iter().flatten()
    }
}

/// A set of (socket, id) keys, one bit of memory per possible key.
struct KeySet(Vec<bool>);

impl KeySet {
    fn new(sockets: usize) -> Self {
        KeySet(vec![false; sockets << 16])
    }
    fn contains(&self, key: &(u16, u16)) -> bool {
        self.0.get(key_index(key)).copied().unwrap_or(false)
    }
    fn insert(&mut self, key: (u16, u16)) {
        self.0[key_index(&key)] = true;
    }
    fn remove(&mut self, key: &(u16, u16)) {
        self.0[key_index(key)] = false;
    }
}

#[derive(Debug)]
struct Query {
    name: String,
    qtype: u16,
    tag: u64,
    /// Encoded once with id 0; each attempt patches id (and case).
    wire: Vec<u8>,
    started: Instant,
    attempts: u32,
    tried: Vec<usize>,
    keys: Vec<(u16, u16)>,
    /// The attempt whose timeout is armed.
    current: Option<(u16, u16)>,
    /// Timer generation: a popped timer with another generation is stale.
    generation: u32,
    waiting_retry: bool,
    tcp_resolver: Option<usize>,
    last_failure: Option<Failure>,
    truncated: bool,
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
    next_resolver: usize,
    ready: VecDeque<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    outcomes: VecDeque<Outcome>,
    tcp: VecDeque<TcpRequest>,
    rng: SmallRng,
    /// Source of timer generations, unique across the engine: a slot is reused by later
    /// queries, and a stale timer of an earlier one must never match.
    generations: u32,
    pub stats: EngineStats,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        assert!(
            !config.resolvers.is_empty(),
            "the engine needs at least one resolver"
        );
        assert!(config.sockets > 0 && config.sockets <= u16::MAX as usize);
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let free_ids = (0..config.sockets)
            .map(|_| {
                let mut ids: Vec<u16> = (0..=u16::MAX).collect();
                ids.shuffle(&mut rng);
                ids.into()
            })
            .collect();
        Engine {
            retry: config.retry,
            limits: config.limits,
            edns_udp_size: config.edns_udp_size,
            randomize_case: config.randomize_case,
            resolvers: config.resolvers.into_iter().map(Resolver::new).collect(),
            queries: Vec::new(),
            free_slots: Vec::new(),
            live: 0,
            attempts: AttemptTable::new(config.sockets),
            free_ids,
            answered: KeySet::new(config.sockets),
            next_socket: 0,
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

    /// Queues a lookup of `name`/`qtype` at `now`; its outcome carries `tag`.
    pub fn submit(&mut self, now: Instant, name: &str, qtype: u16, tag: u64) {
        self.stats.submitted += 1;
        let Ok(wire) = build_query(0, name, qtype, Some(self.edns_udp_size)) else {
            self.stats.completed += 1;
            self.outcomes.push_back(Outcome {
                tag,
                name: name.to_string(),
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
            name: name.to_string(),
            qtype,
            tag,
            wire,
            started: now,
            attempts: 0,
            tried: Vec::new(),
            keys: Vec::new(),
            current: None,
            generation: 0,
            waiting_retry: false,
            tcp_resolver: None,
            last_failure: None,
            truncated: false,
        };
        let slot = match self.free_slots.pop() {
            Some(s) => {
                self.queries[s] = Some(query);
                s
            }
            None => {
                self.queries.push(Some(query));
                self.queries.len() - 1
            }
        };
        self.live += 1;
        self.ready.push_back(slot);
    }

    /// Lookups submitted and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.live
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
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        while let Some(slot) = self.ready.pop_front() {
            let Some(q) = self.queries[slot].as_ref() else {
                continue;
            };
            if now >= q.started + self.retry.deadline {
                let status = Status::of_failure(q.last_failure);
                self.complete(slot, status, None, None, None);
                continue;
            }
            if self.resolvers.iter().all(|r| r.health == Health::Dead) {
                let status = Status::of_failure(q.last_failure);
                self.complete(slot, status, None, None, None);
                continue;
            }
            let tried = q.tried.clone();
            let Some(r) = self.pick_resolver(now, &tried) else {
                self.ready.push_front(slot);
                self.stats.backpressure += 1;
                return None;
            };
            let Some((socket, id)) = self.allocate_id() else {
                self.ready.push_front(slot);
                self.stats.backpressure += 1;
                return None;
            };
            let key = (socket, id);
            let q = self.queries[slot].as_mut().expect("checked above");
            buf.clear();
            buf.extend_from_slice(&q.wire);
            buf[0..2].copy_from_slice(&id.to_be_bytes());
            if self.randomize_case {
                randomize_case(&mut buf[HEADER_LEN..], &mut self.rng);
            }
            q.attempts += 1;
            q.tried.push(r);
            q.keys.push(key);
            q.current = Some(key);
            q.waiting_retry = false;
            q.generation = next_generation(&mut self.generations);
            let timeout =
                self.retry
                    .attempt_timeout(self.resolvers[r].rto(), q.attempts, q.started, now);
            self.timers
                .push(Reverse((now + timeout, slot, q.generation)));
            self.attempts.insert(
                key,
                Attempt {
                    slot,
                    resolver: r,
                    sent_at: now,
                    counted: true,
                },
            );
            self.answered.remove(&key);
            self.resolvers[r].on_send(&self.limits);
            self.stats.attempts += 1;
            return Some(Transmit {
                socket: socket as usize,
                destination: self.resolvers[r].addr,
            });
        }
        None
    }

    /// The next query to send over TCP.
    pub fn poll_tcp(&mut self) -> Option<TcpRequest> {
        self.tcp.pop_front()
    }

    /// When [`Engine::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, slot, generation))) = self.timers.peek().copied() {
            if self.queries[slot]
                .as_ref()
                .is_some_and(|q| q.generation == generation)
            {
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
                return Some(bench_end.map_or(at, |b| b.min(at)));
            }
            self.timers.pop();
        }
        None
    }

    /// Processes every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
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
            if q.waiting_retry {
                q.waiting_retry = false;
                self.ready.push_back(slot);
            } else if q.tcp_resolver.take().is_some() {
                self.failure(slot, Failure::Transport, now);
            } else if let Some(key) = q.current.take() {
                if let Some(a) = self.attempts.get_mut(&key)
                    && a.counted
                {
                    a.counted = false;
                    let r = a.resolver;
                    let was_alive = self.resolvers[r].health != Health::Dead;
                    self.resolvers[r].on_timeout(now, &self.limits);
                    self.check_bench(r, now);
                    if was_alive && self.resolvers[r].health == Health::Dead {
                        self.move_queries_off(r, now);
                    }
                }
                self.failure(slot, Failure::Timeout, now);
            }
        }
    }

    /// A datagram arrived on `socket` from `from`.
    pub fn handle_datagram(&mut self, now: Instant, socket: usize, from: SocketAddr, bytes: &[u8]) {
        let Ok(view) = MessageView::parse(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        if !view.flags.is_response() {
            self.stats.malformed += 1;
            return;
        }
        let key = (socket as u16, view.id);
        let Some(attempt) = self.attempts.get(&key).copied() else {
            if !self.resolvers.iter().any(|r| r.addr == from) {
                self.stats.spoofed += 1;
            } else if self.answered.contains(&key) {
                self.stats.duplicates += 1;
            } else {
                self.stats.late += 1;
            }
            return;
        };
        if from != self.resolvers[attempt.resolver].addr {
            self.stats.spoofed += 1;
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
            || view.question.qtype != q.qtype
            || view.question.qclass != 1
        {
            self.stats.wrong_question += 1;
            return;
        }
        let same_case = view.question.name_wire == asked.name_wire;
        let current = q.current == Some(key);
        let rcode = view.flags.rcode();
        let failed = rcode_failure(rcode).is_some();
        let rtt = now.saturating_duration_since(attempt.sent_at);
        if let Some(a) = self.attempts.get_mut(&key) {
            a.counted = false;
        }
        self.resolvers[attempt.resolver].on_reply(now, rtt, rcode, failed, attempt.counted);
        self.check_bench(attempt.resolver, now);
        if view.flags.truncated() {
            self.resolvers[attempt.resolver].stats.truncated += 1;
            let q = self.queries[slot].as_mut().expect("live");
            if q.tcp_resolver.is_none() {
                self.stats.tcp_fallbacks += 1;
                q.truncated = true;
                q.tcp_resolver = Some(attempt.resolver);
                q.current = None;
                q.generation = next_generation(&mut self.generations);
                let timeout = self
                    .retry
                    .max_timeout
                    .min((q.started + self.retry.deadline).saturating_duration_since(now));
                self.timers
                    .push(Reverse((now + timeout, slot, q.generation)));
                self.tcp.push_back(TcpRequest {
                    token: ((slot as u64) << 32) | u64::from(q.generation),
                    resolver: self.resolvers[attempt.resolver].addr,
                    query: q.wire.clone(),
                });
            }
            return;
        }
        if failed {
            // A late SERVFAIL from an earlier attempt changes nothing: the current one may
            // still succeed.
            if current {
                let q = self.queries[slot].as_mut().expect("live");
                q.current = None;
                self.failure(slot, rcode_failure(rcode).expect("failed"), now);
            }
            return;
        }
        if !same_case && !self.randomize_case {
            self.stats.case_changed += 1;
        }
        let status = status_of(rcode, view.answer_count);
        self.answered.insert(key);
        self.complete(
            slot,
            status,
            Some(bytes.to_vec()),
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
                    && v.question.qtype == q.qtype =>
            {
                let rcode = v.flags.rcode();
                if let Some(failure) = rcode_failure(rcode) {
                    self.failure(slot, failure, now);
                } else {
                    self.complete(
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
    pub fn poll_outcome(&mut self) -> Option<Outcome> {
        self.outcomes.pop_front()
    }

    fn failure(&mut self, slot: usize, failure: Failure, now: Instant) {
        let q = self.queries[slot].as_mut().expect("live");
        q.last_failure = Some(failure);
        match self
            .retry
            .after_failure(failure, q.attempts, q.started, now)
        {
            Next::GiveUp => {
                self.complete(slot, Status::of_failure(Some(failure)), None, None, None)
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
        slot: usize,
        status: Status,
        reply: Option<Vec<u8>>,
        resolver: Option<usize>,
        rtt: Option<Duration>,
    ) {
        let Some(q) = self.queries[slot].take() else {
            return;
        };
        for key in &q.keys {
            if let Some(a) = self.attempts.remove(key) {
                if a.counted {
                    let r = &mut self.resolvers[a.resolver];
                    r.in_flight = r.in_flight.saturating_sub(1);
                }
                self.free_ids[key.0 as usize].push_back(key.1);
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
    /// tried yet.
    fn pick_resolver(&mut self, now: Instant, tried: &[usize]) -> Option<usize> {
        let n = self.resolvers.len();
        for fresh_only in [true, false] {
            for k in 0..n {
                let r = (self.next_resolver + k) % n;
                if fresh_only && tried.contains(&r) {
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

    fn allocate_id(&mut self) -> Option<(u16, u16)> {
        let n = self.free_ids.len();
        for k in 0..n {
            let socket = (self.next_socket + k) % n;
            if let Some(id) = self.free_ids[socket].pop_front() {
                self.next_socket = (socket + 1) % n;
                return Some((socket as u16, id));
            }
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

    /// A resolver was just dropped: its queries in flight retry elsewhere now rather than
    /// waiting for their timeouts.
    fn move_queries_off(&mut self, dead: usize, now: Instant) {
        let slots: Vec<usize> = self
            .attempts
            .values()
            .filter(|a| a.resolver == dead && a.counted)
            .map(|a| a.slot)
            .collect();
        for slot in slots {
            let Some(q) = self.queries[slot].as_mut() else {
                continue;
            };
            let Some(key) = q.current else { continue };
            if self.attempts.get(&key).is_some_and(|a| a.resolver == dead) {
                if let Some(a) = self.attempts.get_mut(&key) {
                    a.counted = false;
                }
                q.current = None;
                q.generation = next_generation(&mut self.generations);
                self.resolvers[dead].in_flight = self.resolvers[dead].in_flight.saturating_sub(1);
                self.failure(slot, Failure::Timeout, now);
            }
        }
    }
}

fn next_generation(counter: &mut u32) -> u32 {
    *counter = counter.wrapping_add(1);
    *counter
}

/// The rcodes that are failures of the resolver rather than answers: retried elsewhere.
fn rcode_failure(rcode: u8) -> Option<Failure> {
    match rcode {
        2 => Some(Failure::ServFail),
        5 => Some(Failure::Refused),
        _ => None,
    }
}

fn status_of(rcode: u8, answers: u16) -> Status {
    match (rcode, answers) {
        (0, 0) => Status::NoData,
        (0, _) => Status::NoError,
        (3, _) => Status::NxDomain,
        (r, _) => Status::Rcode(r),
    }
}

/// Flips the case of each letter of a wire name at random (0x20 bits).
fn randomize_case(name: &mut [u8], rng: &mut SmallRng) {
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

/// The reply path driven by arbitrary bytes, shared by the cargo-fuzz target (`fuzz/`) and a
/// proptest, so that stable CI exercises it too.
pub mod fuzz {
    use super::*;
    use std::cell::RefCell;

    struct Harness {
        engine: Engine,
        now: Instant,
    }

    thread_local! {
        /// One engine for every input (building one costs far more than a run); its fake clock
        /// only moves forward, so its timers stay consistent.
        static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
    }

    /// Sends three queries, then delivers `data` from the resolver: as is, with the id of each
    /// in-flight attempt patched in, and as the tail of a reply carrying our own question (so
    /// the record decoders run), then over TCP; finally every lookup times out and every outcome
    /// is decoded as `mxscan resolve` would.
    pub fn reply_path(data: &[u8]) {
        let resolver: SocketAddr = SocketAddr::from(([127, 0, 0, 2], 53));
        HARNESS.with(|h| {
            let mut h = h.borrow_mut();
            let h = h.get_or_insert_with(|| Harness {
                engine: Engine::new(EngineConfig::new(vec![resolver], 1)),
                now: Instant::now(),
            });
            h.now += Duration::from_secs(60);
            let (engine, now) = (&mut h.engine, h.now);
            let mut sent = Vec::new();
            let mut buf = Vec::new();
            for (i, t) in [1u16, 15, 12].into_iter().enumerate() {
                engine.submit(now, &format!("q{i}.example.test"), t, i as u64);
                if let Some(tx) = engine.poll_transmit(now, &mut buf) {
                    sent.push((tx.socket, buf.clone()));
                }
            }
            engine.handle_datagram(now, 0, resolver, data);
            for (socket, query) in &sent {
                let mut patched = data.to_vec();
                if patched.len() >= 2 {
                    patched[..2].copy_from_slice(&query[..2]);
                }
                engine.handle_datagram(now, *socket, resolver, &patched);
                // Our header and question, the fuzzer's counts, flags and sections.
                if let (Ok(view), Some((head, tail))) =
                    (MessageView::parse(query), data.split_first_chunk::<6>())
                {
                    let mut reply = query[..view.question_end].to_vec();
                    reply[2] = 0x80 | (head[0] & 0x7F);
                    reply[3] = head[1];
                    reply[6..10].copy_from_slice(&[0, head[2] & 0x1F, 0, head[3] & 0x1F]);
                    reply[10..12].copy_from_slice(&[0, head[4] & 0x1F]);
                    reply.extend_from_slice(tail);
                    engine.handle_datagram(now, *socket, resolver, &reply);
                }
            }
            while let Some(req) = engine.poll_tcp() {
                engine.handle_tcp(now, req.token, Some(data));
            }
            engine.handle_timeout(now + Duration::from_secs(30));
            while engine
                .poll_transmit(now + Duration::from_secs(30), &mut buf)
                .is_some()
            {}
            engine.handle_timeout(now + Duration::from_secs(59));
            while let Some(o) = engine.poll_outcome() {
                let _ = crate::output::resolve::ResolveRow::from_outcome(&o);
            }
            // Past every deadline, every lookup has ended, whatever came back.
            assert_eq!(engine.in_flight(), 0, "a lookup outlived its deadline");
        });
    }
}

#[cfg(test)]
mod tests;
