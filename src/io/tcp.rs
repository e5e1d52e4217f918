//! DNS over TCP for truncated answers: one pipelined connection per resolver, owned by a worker
//! thread, fed through a bounded channel.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use crate::engine::TcpRequest;

/// Queries waiting per resolver connection; the engine never has more than its window out.
const QUEUE: usize = 4096;
/// How long a worker waits for replies before checking for new requests.
const READ_SLICE: Duration = Duration::from_millis(2);
/// A request without a reply after this long fails (the engine has its own timer too).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The pool: send requests with [`TcpPool::send`], collect `(token, reply)` from
/// [`TcpPool::replies`] (`None` = the connection failed). Dropping it stops the workers.
pub struct TcpPool {
    workers: HashMap<SocketAddr, (Sender<TcpRequest>, JoinHandle<()>)>,
    replies_tx: Sender<(u64, Option<Vec<u8>>)>,
    replies: Receiver<(u64, Option<Vec<u8>>)>,
    pending: usize,
}

impl Default for TcpPool {
    fn default() -> Self {
        let (replies_tx, replies) = unbounded();
        TcpPool {
            workers: HashMap::new(),
            replies_tx,
            replies,
            pending: 0,
        }
    }
}

impl TcpPool {
    pub fn send(&mut self, request: TcpRequest) {
        let replies = self.replies_tx.clone();
        let (tx, _) = self.workers.entry(request.resolver).or_insert_with(|| {
            let (tx, rx) = bounded(QUEUE);
            let addr = request.resolver;
            let handle = std::thread::spawn(move || worker(addr, rx, replies));
            (tx, handle)
        });
        self.pending += 1;
        if let Err(e) = tx.send(request) {
            let _ = self.replies_tx.send((e.0.token, None));
        }
    }

    /// Requests sent and not yet answered.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The next reply, if one is waiting.
    pub fn try_reply(&mut self) -> Option<(u64, Option<Vec<u8>>)> {
        let r = self.replies.try_recv().ok()?;
        self.pending = self.pending.saturating_sub(1);
        Some(r)
    }
}

impl Drop for TcpPool {
    fn drop(&mut self) {
        for (_, (tx, handle)) in self.workers.drain() {
            drop(tx);
            let _ = handle.join();
        }
    }
}

struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Our id on this connection → (the engine's token, when sent).
    waiting: HashMap<u16, (u64, Instant)>,
    next_id: u16,
}

fn worker(
    addr: SocketAddr,
    requests: Receiver<TcpRequest>,
    replies: Sender<(u64, Option<Vec<u8>>)>,
) {
    let mut conn: Option<Connection> = None;
    loop {
        let timeout = if conn.as_ref().is_some_and(|c| !c.waiting.is_empty()) {
            Duration::ZERO
        } else {
            Duration::from_millis(50)
        };
        let first = match requests.recv_timeout(timeout) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        for request in first.into_iter().chain(requests.try_iter()) {
            if conn.is_none() {
                conn = connect(addr);
            }
            let Some(c) = conn.as_mut() else {
                let _ = replies.send((request.token, None));
                continue;
            };
            let id = c.next_id;
            c.next_id = c.next_id.wrapping_add(1);
            let mut framed = Vec::with_capacity(request.query.len() + 2);
            framed.extend_from_slice(&(request.query.len() as u16).to_be_bytes());
            framed.extend_from_slice(&request.query);
            framed[2..4].copy_from_slice(&id.to_be_bytes());
            c.waiting.insert(id, (request.token, Instant::now()));
            if c.stream.write_all(&framed).is_err() {
                fail_all(&mut conn, &replies);
            }
        }
        if let Some(c) = conn.as_mut()
            && read_replies(c, &replies).is_err()
        {
            fail_all(&mut conn, &replies);
        }
    }
}

fn connect(addr: SocketAddr) -> Option<Connection> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).ok()?;
    stream.set_nodelay(true).ok()?;
    stream.set_read_timeout(Some(READ_SLICE)).ok()?;
    Some(Connection {
        stream,
        buf: Vec::new(),
        waiting: HashMap::new(),
        next_id: 1,
    })
}

fn fail_all(conn: &mut Option<Connection>, replies: &Sender<(u64, Option<Vec<u8>>)>) {
    if let Some(c) = conn.take() {
        for (_, (token, _)) in c.waiting {
            let _ = replies.send((token, None));
        }
    }
}

/// Reads what has arrived and hands complete replies back; expires old requests.
fn read_replies(c: &mut Connection, replies: &Sender<(u64, Option<Vec<u8>>)>) -> io::Result<()> {
    if c.waiting.is_empty() {
        return Ok(());
    }
    let mut chunk = [0u8; 16 * 1024];
    match c.stream.read(&mut chunk) {
        Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
        Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) => {}
        Err(e) => return Err(e),
    }
    let mut at = 0;
    while c.buf.len() - at >= 2 {
        let len = u16::from_be_bytes([c.buf[at], c.buf[at + 1]]) as usize;
        if c.buf.len() - at - 2 < len {
            break;
        }
        let msg = &c.buf[at + 2..at + 2 + len];
        at += 2 + len;
        if msg.len() >= 2
            && let Some((token, _)) = c.waiting.remove(&u16::from_be_bytes([msg[0], msg[1]]))
        {
            let _ = replies.send((token, Some(msg.to_vec())));
        }
    }
    c.buf.drain(..at);
    let now = Instant::now();
    c.waiting.retain(|_, (token, sent)| {
        let alive = now.duration_since(*sent) < REPLY_TIMEOUT;
        if !alive {
            let _ = replies.send((*token, None));
        }
        alive
    });
    Ok(())
}
