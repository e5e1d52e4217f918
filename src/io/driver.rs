//! Runs the sans-IO engine over real sockets: a fixed pool of UDP sockets with batched
//! `sendmmsg`/`recvmmsg`, the TCP pool for truncated answers, and one wait per turn.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use socket2::Socket;

use super::signals::StopFlags;
use super::socket::{UDP_BUFFER_BYTES, bind_udp_buffered};
use super::tcp::TcpPool;
use super::{DatagramBatch, recv_batch, send_batch};
use crate::engine::{Engine, EngineConfig, Outcome, Question};

/// Datagrams per batched syscall (`scripts/bench-resolve.sh` chose it: 64 amortises the
/// syscall; larger batches gained nothing measurable).
const BATCH: usize = 64;
/// Longest wait of one turn, so the stop flag and the input are looked at regularly.
const MAX_WAIT: Duration = Duration::from_millis(20);
/// Wait while the engine holds ready queries back (QPS limit, in-flight caps) or TCP is busy.
const BUSY_WAIT: Duration = Duration::from_millis(1);
/// When no resolver has answered anything yet, give up after this much outage at most: the
/// addresses are more likely wrong than the resolvers slow.
const NEVER_ANSWERED_GIVE_UP: Duration = Duration::from_secs(60);

/// Lookups in flight at most, by default.
pub const DEFAULT_WINDOW: usize = 10_000;
/// How long every resolver may be down before a run gives up, by default.
pub const DEFAULT_GIVE_UP: Duration = Duration::from_secs(300);

/// How the driver runs.
pub struct DriverConfig {
    /// UDP sockets, each bound once to a random port (the engine's `sockets` must match).
    pub sockets: usize,
    /// Lookups in flight at most: bounds memory whatever the input length.
    pub window: usize,
    /// Stop taking input when `stop` is raised (signals); return at once, lookups in flight
    /// abandoned, when `abort` is.
    pub stop: Option<StopFlags>,
    /// Stop taking input at this instant.
    pub input_deadline: Option<Instant>,
    /// When every resolver has been down this long, abandon the lookups in flight and return
    /// [`Ended::GaveUp`]; `None`: wait for ever.
    pub give_up: Option<Duration>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The workload finished (or was stopped by a signal) and every lookup ended.
    Finished,
    /// The second signal: lookups in flight abandoned.
    Aborted,
    /// Every resolver was down for the `give_up` time: lookups in flight abandoned.
    GaveUp,
}

/// Tells the operator when every resolver is down and when one is back, and when to give up.
#[derive(Default)]
struct OutageReport {
    /// The start of the outage already reported.
    reported: Option<Instant>,
}

impl OutageReport {
    /// Reports a change at `now`; true when the outage has lasted `give_up` (at most
    /// [`NEVER_ANSWERED_GIVE_UP`] while no resolver has ever answered).
    fn gives_up(&mut self, engine: &Engine, now: Instant, give_up: Option<Duration>) -> bool {
        let Some(since) = engine.outage_since() else {
            if let Some(since) = self.reported.take() {
                crate::note!(
                    "\nmxscan: a resolver answers again after {:.1} s: going on",
                    now.saturating_duration_since(since).as_secs_f64()
                );
            }
            return false;
        };
        if self.reported.is_none() {
            crate::note!(
                "\nmxscan: every resolver is down: taking no new domains, probing them until one \
                 answers{}",
                give_up.map_or(String::new(), |g| format!(
                    " (giving up after {} s, --give-up)",
                    g.as_secs()
                ))
            );
            self.reported = Some(since);
        }
        let never_answered = engine.resolvers().iter().all(|r| r.last_reply.is_none());
        let limit = give_up.map(|g| {
            if never_answered {
                g.min(NEVER_ANSWERED_GIVE_UP)
            } else {
                g
            }
        });
        if limit.is_none_or(|g| now.saturating_duration_since(since) < g) {
            return false;
        }
        crate::note!(
            "\nmxscan: {}: stopping",
            if never_answered {
                "no resolver has answered at all (check -r)"
            } else {
                "every resolver has been down for --give-up"
            }
        );
        true
    }
}

/// Moves every datagram the engine has ready into the per-socket batches, sending full ones.
fn transmit(
    engine: &mut Engine,
    now: Instant,
    buf: &mut Vec<u8>,
    sockets: &[Socket],
    tx: &mut [DatagramBatch],
) -> io::Result<()> {
    while let Some(t) = engine.poll_transmit(now, buf) {
        let batch = &mut tx[t.socket];
        if batch.is_full() {
            send_batch(&sockets[t.socket], batch)?;
        }
        batch.push(buf, t.destination);
    }
    Ok(())
}

/// Binds `n` UDP sockets for talking to `resolvers` (all IPv4 or all IPv6).
/// How a run asks its questions: the engine's settings and the driver's.
#[derive(Debug, Clone)]
pub struct Settings {
    pub engine: EngineConfig,
    /// Lookups in flight at most.
    pub window: usize,
    /// Give up when every resolver has been down this long; `None`: wait for ever.
    pub give_up: Option<Duration>,
}

impl Settings {
    /// `engine` with the driver's defaults.
    pub fn new(engine: EngineConfig) -> Settings {
        Settings {
            engine,
            window: DEFAULT_WINDOW,
            give_up: Some(DEFAULT_GIVE_UP),
        }
    }

    /// The engine, its sockets and the driver settings, with SIGINT/SIGTERM stopping the input
    /// (lookups in flight still finish; a second signal abandons them); the input also stops
    /// at `input_deadline`.
    pub fn open(
        &self,
        input_deadline: Option<Instant>,
    ) -> io::Result<(Engine, Vec<Socket>, DriverConfig)> {
        let with = |what: &str, e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"));
        let sockets = bind_sockets(self.engine.sockets, &self.engine.resolvers)
            .map_err(|e| with("cannot open UDP sockets", e))?;
        let stop =
            super::signals::install().map_err(|e| with("cannot handle SIGINT and SIGTERM", e))?;
        let driver_config = DriverConfig {
            sockets: self.engine.sockets,
            window: self.window,
            stop: Some(stop),
            input_deadline,
            give_up: self.give_up,
        };
        Ok((Engine::new(self.engine.clone()), sockets, driver_config))
    }
}

pub fn bind_sockets(n: usize, resolvers: &[SocketAddr]) -> io::Result<Vec<Socket>> {
    let v6 = resolvers.first().is_some_and(|r| r.is_ipv6());
    if resolvers.iter().any(|r| r.is_ipv6() != v6) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "give resolvers of one address family (all IPv4 or all IPv6)",
        ));
    }
    let any: SocketAddr = if v6 {
        "[::]:0".parse().expect("valid")
    } else {
        "0.0.0.0:0".parse().expect("valid")
    };
    (0..n)
        .map(|_| bind_udp_buffered(any, false, buffer_bytes(n)))
        .collect()
}

/// Buffers of one of `n` sockets: together about what one socket was given, at least 1 MiB.
fn buffer_bytes(n: usize) -> usize {
    (4 * UDP_BUFFER_BYTES / n).clamp(1 << 20, UDP_BUFFER_BYTES)
}

/// A new socket of `old`'s family on a fresh port chosen by the kernel (random on Linux), for
/// the engine's port rotation; `old` is closed when the caller drops it.
fn rebind(old: &Socket, n: usize) -> io::Result<Socket> {
    let v6 = old.local_addr()?.is_ipv6();
    let any: SocketAddr = if v6 { "[::]:0" } else { "0.0.0.0:0" }
        .parse()
        .expect("valid");
    bind_udp_buffered(any, false, buffer_bytes(n))
}

/// What the driver runs: a source of queries that also consumes their outcomes. A workload
/// may produce new queries from outcomes (the scan pipeline does), so the driver asks again
/// after every outcome and stops only when the workload is finished and nothing is in flight.
pub trait Workload {
    /// The next query to submit (name, type, tag), or `None` when there is none right now.
    fn next_query(&mut self) -> Option<Question>;
    /// True once `next_query` will never again return a query unless an outcome arrives.
    fn is_finished(&self) -> bool;
    /// Takes a finished lookup.
    fn on_outcome(&mut self, outcome: Outcome) -> io::Result<()>;
    /// Stop taking new work: only queries that finish work already started are asked for.
    fn stop(&mut self) {}
    /// Called once per turn of the loop, to read the engine's counters.
    fn on_turn(&mut self, _engine: &Engine) {}
}

/// A fixed list of queries with a callback: what `resolve` and `bench` run.
struct Stream<'a> {
    input: &'a mut dyn Iterator<Item = Question>,
    on_outcome: &'a mut dyn FnMut(Outcome) -> io::Result<()>,
    done: bool,
}

impl Workload for Stream<'_> {
    fn next_query(&mut self) -> Option<Question> {
        if self.done {
            return None;
        }
        let next = self.input.next();
        self.done = next.is_none();
        next
    }
    fn is_finished(&self) -> bool {
        self.done
    }
    fn on_outcome(&mut self, outcome: Outcome) -> io::Result<()> {
        (self.on_outcome)(outcome)
    }
    fn stop(&mut self) {
        self.done = true;
    }
}

/// Feeds `input` to `engine` and hands every outcome to `on_outcome`, until the
/// input is exhausted (or stopped) and every lookup has finished.
pub fn run(
    engine: &mut Engine,
    sockets: &mut [Socket],
    config: &DriverConfig,
    input: &mut dyn Iterator<Item = Question>,
    on_outcome: &mut dyn FnMut(Outcome) -> io::Result<()>,
) -> io::Result<Ended> {
    let mut stream = Stream {
        input,
        on_outcome,
        done: false,
    };
    run_workload(engine, sockets, config, &mut stream)
}

/// Runs `workload` on `engine` until it is finished and every lookup has ended.
pub fn run_workload(
    engine: &mut Engine,
    sockets: &mut [Socket],
    config: &DriverConfig,
    workload: &mut dyn Workload,
) -> io::Result<Ended> {
    let mut tx: Vec<DatagramBatch> = sockets.iter().map(|_| DatagramBatch::new(BATCH)).collect();
    let mut rx = DatagramBatch::new(BATCH);
    let mut buf = Vec::with_capacity(512);
    let mut tcp = TcpPool::default();
    let mut stopped = false;
    let mut readable = vec![false; sockets.len()];
    let mut outage = OutageReport::default();
    loop {
        let now = Instant::now();
        if config.stop.as_ref().is_some_and(StopFlags::aborted) {
            workload.stop();
            return Ok(Ended::Aborted);
        }
        if outage.gives_up(engine, now, config.give_up) {
            workload.stop();
            return Ok(Ended::GaveUp);
        }
        if !stopped
            && (config.stop.as_ref().is_some_and(StopFlags::stopped)
                || config.input_deadline.is_some_and(|d| now >= d))
        {
            stopped = true;
            workload.stop();
        }
        if stopped && engine.outage_since().is_some() {
            // The lookups in flight wait for a resolver that may never come back: a stop
            // during an outage does not wait for them (they are asked again on --resume).
            return Ok(Ended::Aborted);
        }
        engine.handle_timeout(now);
        while let Some(w) = engine.poll_warning() {
            crate::note!("mxscan: warning: {w}");
        }
        workload.on_turn(engine);
        transmit(engine, now, &mut buf, sockets, &mut tx)?;
        // Feed work only while resolvers can take it: a backlog behind a QPS limit or the
        // in-flight caps would outlive a stop or a `--duration` and only cost memory.
        while engine.in_flight() < config.window && !engine.is_backpressured() {
            let Some(question) = workload.next_query() else {
                break;
            };
            engine.submit(now, question);
            transmit(engine, now, &mut buf, sockets, &mut tx)?;
        }
        for (socket, batch) in sockets.iter().zip(tx.iter_mut()) {
            if !batch.is_empty() {
                send_batch(socket, batch)?;
            }
        }
        while let Some(request) = engine.poll_tcp() {
            tcp.send(request);
        }
        let mut delivered = false;
        while let Some(outcome) = engine.poll_outcome() {
            workload.on_outcome(outcome)?;
            delivered = true;
        }
        if delivered {
            // Outcomes may have produced follow-up queries: submit them before waiting.
            continue;
        }
        if workload.is_finished() && engine.in_flight() == 0 {
            return Ok(Ended::Finished);
        }
        let mut wait = engine
            .poll_timeout()
            .map_or(MAX_WAIT, |t| t.saturating_duration_since(now))
            .min(MAX_WAIT);
        // Queries held back by a limit go out within a millisecond; in an outage they wait for
        // the next probe, which the engine's timeout covers.
        if tcp.pending() > 0 || (engine.is_backpressured() && engine.outage_since().is_none()) {
            wait = wait.min(BUSY_WAIT);
        }
        super::batch::wait_readable_any(sockets, wait, &mut readable)?;
        let now = Instant::now();
        for (i, socket) in sockets.iter().enumerate().filter(|(i, _)| readable[*i]) {
            // Bounded: at most a few batches per socket per turn, then timers and sends again.
            for _ in 0..8 {
                let n = recv_batch(socket, &mut rx)?;
                for k in 0..n {
                    let (bytes, from) = rx.get(k);
                    engine.handle_datagram(now, i, from, bytes);
                }
                if n < rx.capacity() {
                    break;
                }
            }
        }
        while let Some((token, reply)) = tcp.try_reply() {
            engine.handle_tcp(now, token, reply.as_deref());
        }
        while let Some(s) = engine.poll_rebind() {
            sockets[s] = rebind(&sockets[s], sockets.len())?;
            engine.rebound(s, now);
        }
    }
}
