//! DNS over TCP for truncated answers (RFC 7766): per resolver a worker thread with a small pool
//! of pipelined connections, fed through a bounded channel that never blocks the I/O thread.
//!
//! What a resolver that sets TC and never answers over TCP may cost is bounded: a full queue
//! fails the request at once (the engine asks elsewhere or times out), every request is given
//! up at the engine's own deadline for it, a connection that cannot be opened fails what waits
//! and keeps the resolver's TCP "down" for a backoff during which requests fail without a
//! connection attempt, and dropping the pool abandons whatever is queued.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded, unbounded};
use rand::RngExt;

use crate::engine::TcpRequest;

/// Requests waiting per resolver for its worker; past this they fail at once.
const QUEUE: usize = 1024;
/// Connections per resolver, at most; another is opened while every one has
/// [`PIPELINE`] queries waiting.
const CONNECTIONS: usize = 2;
const PIPELINE: usize = 32;
/// How long a worker waits for replies on one connection before checking for new requests.
const READ_SLICE: Duration = Duration::from_millis(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_millis(200);
/// After a failed connection, requests fail without trying for this long, doubled per failure
/// in a row up to [`MAX_DOWN`].
const DOWN: Duration = Duration::from_millis(500);
const MAX_DOWN: Duration = Duration::from_secs(30);

type Reply = (u64, Option<Vec<u8>>);

/// The pool: send requests with [`TcpPool::send`], collect `(token, reply)` with
/// [`TcpPool::try_reply`] (`None` = the request failed). Dropping it stops the workers.
pub struct TcpPool {
    workers: HashMap<SocketAddr, (Sender<TcpRequest>, JoinHandle<()>)>,
    replies_tx: Sender<Reply>,
    replies: Receiver<Reply>,
    pending: usize,
    stop: Arc<AtomicBool>,
}

impl Default for TcpPool {
    fn default() -> Self {
        let (replies_tx, replies) = unbounded();
        TcpPool {
            workers: HashMap::new(),
            replies_tx,
            replies,
            pending: 0,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl TcpPool {
    /// Hands `request` to its resolver's worker without waiting: a full queue fails it.
    pub fn send(&mut self, request: TcpRequest) {
        let (replies, stop) = (self.replies_tx.clone(), self.stop.clone());
        let (tx, _) = self.workers.entry(request.resolver).or_insert_with(|| {
            let (tx, rx) = bounded(QUEUE);
            let addr = request.resolver;
            let handle = std::thread::spawn(move || Worker::new(addr, replies, stop).run(rx));
            (tx, handle)
        });
        self.pending += 1;
        match tx.try_send(request) {
            Ok(()) => {}
            Err(TrySendError::Full(r) | TrySendError::Disconnected(r)) => {
                let _ = self.replies_tx.send((r.token, None));
            }
        }
    }

    /// Requests sent and not yet answered.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The next reply, if one is waiting.
    pub fn try_reply(&mut self) -> Option<Reply> {
        let r = self.replies.try_recv().ok()?;
        self.pending = self.pending.saturating_sub(1);
        Some(r)
    }
}

impl Drop for TcpPool {
    /// Abandons what is queued: each worker stops within a read slice (or a connection
    /// attempt, at most [`CONNECT_TIMEOUT`]).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for (_, (tx, handle)) in self.workers.drain() {
            drop(tx);
            let _ = handle.join();
        }
    }
}

struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Our id on this connection → (the engine's token, when it is given up).
    waiting: HashMap<u16, (u64, Instant)>,
}

impl Connection {
    fn open(addr: SocketAddr, deadline: Instant) -> Option<Connection> {
        let timeout = CONNECT_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
        if timeout.is_zero() {
            return None;
        }
        let stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
        stream.set_nodelay(true).ok()?;
        stream.set_read_timeout(Some(READ_SLICE)).ok()?;
        // A server that stops reading fills our send buffer: the write fails instead of
        // blocking the worker.
        stream.set_write_timeout(Some(WRITE_TIMEOUT)).ok()?;
        Some(Connection {
            stream,
            buf: Vec::new(),
            waiting: HashMap::new(),
        })
    }

    /// Writes `request` under a random id that no query waiting here has.
    fn write(&mut self, request: &TcpRequest) -> io::Result<()> {
        let mut rng = rand::rng();
        let id = loop {
            let id: u16 = rng.random();
            if !self.waiting.contains_key(&id) {
                break id;
            }
        };
        let mut framed = Vec::with_capacity(request.query.len() + 2);
        framed.extend_from_slice(&(request.query.len() as u16).to_be_bytes());
        framed.extend_from_slice(&request.query);
        framed[2..4].copy_from_slice(&id.to_be_bytes());
        self.waiting.insert(id, (request.token, request.deadline));
        self.stream.write_all(&framed)
    }

    /// Reads what has arrived and hands complete replies back; gives up on requests past
    /// their deadline.
    fn read(&mut self, replies: &Sender<Reply>) -> io::Result<()> {
        if self.waiting.is_empty() {
            return Ok(());
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
        let mut at = 0;
        while self.buf.len() - at >= 2 {
            let len = u16::from_be_bytes([self.buf[at], self.buf[at + 1]]) as usize;
            if self.buf.len() - at - 2 < len {
                break;
            }
            let msg = &self.buf[at + 2..at + 2 + len];
            at += 2 + len;
            if msg.len() >= 2
                && let Some((token, _)) = self.waiting.remove(&u16::from_be_bytes([msg[0], msg[1]]))
            {
                let _ = replies.send((token, Some(msg.to_vec())));
            }
        }
        self.buf.drain(..at);
        let now = Instant::now();
        self.waiting.retain(|_, (token, deadline)| {
            let alive = now < *deadline;
            if !alive {
                let _ = replies.send((*token, None));
            }
            alive
        });
        Ok(())
    }

    fn fail(self, replies: &Sender<Reply>) {
        for (_, (token, _)) in self.waiting {
            let _ = replies.send((token, None));
        }
    }
}

/// One resolver's connections and its TCP health.
struct Worker {
    addr: SocketAddr,
    replies: Sender<Reply>,
    stop: Arc<AtomicBool>,
    connections: Vec<Connection>,
    /// Until when connections are not tried after a failure, and the failures in a row.
    down_until: Option<Instant>,
    failures: u32,
}

impl Worker {
    fn new(addr: SocketAddr, replies: Sender<Reply>, stop: Arc<AtomicBool>) -> Worker {
        Worker {
            addr,
            replies,
            stop,
            connections: Vec::new(),
            down_until: None,
            failures: 0,
        }
    }

    fn run(mut self, requests: Receiver<TcpRequest>) {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let busy = self.connections.iter().any(|c| !c.waiting.is_empty());
            let wait = if busy {
                Duration::ZERO
            } else {
                Duration::from_millis(50)
            };
            let first = match requests.recv_timeout(wait) {
                Ok(r) => Some(r),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            for request in first.into_iter().chain(requests.try_iter()) {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                self.send(request);
            }
            let mut i = 0;
            while i < self.connections.len() {
                if self.connections[i].read(&self.replies).is_err() {
                    self.connections.swap_remove(i).fail(&self.replies);
                } else {
                    i += 1;
                }
            }
        }
    }

    /// Writes `request` on the least loaded connection, opening one when there is none or
    /// every one is full; fails it at once when past its deadline or while TCP is down.
    fn send(&mut self, request: TcpRequest) {
        let now = Instant::now();
        if now >= request.deadline || self.down_until.is_some_and(|t| now < t) {
            let _ = self.replies.send((request.token, None));
            return;
        }
        let least = (0..self.connections.len()).min_by_key(|&i| self.connections[i].waiting.len());
        let full = least.is_none_or(|i| self.connections[i].waiting.len() >= PIPELINE);
        let i = match least {
            Some(i) if !full || self.connections.len() >= CONNECTIONS => i,
            _ => match Connection::open(self.addr, request.deadline) {
                Some(c) => {
                    self.failures = 0;
                    self.down_until = None;
                    self.connections.push(c);
                    self.connections.len() - 1
                }
                None => {
                    self.failures += 1;
                    let backoff = DOWN.saturating_mul(1 << self.failures.min(8)) / 2;
                    self.down_until = Some(Instant::now() + backoff.min(MAX_DOWN));
                    match least {
                        Some(i) => i,
                        None => {
                            let _ = self.replies.send((request.token, None));
                            return;
                        }
                    }
                }
            },
        };
        if self.connections[i].write(&request).is_err() {
            self.connections.swap_remove(i).fail(&self.replies);
        }
    }
}
