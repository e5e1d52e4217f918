//! The sockets of one simulated resolver: a UDP thread with batched receive and send and a
//! delay queue for latency faults, and a TCP acceptor with one thread per connection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::Socket;

use super::counters::{Counters, Event};
use super::faults::{FaultState, TcpMode};
use super::responder::{Packet, Responder, Transport};
use super::world::Zones;
use crate::io::{DatagramBatch, bind_udp, recv_batch, send_batch, wait_readable};

/// Datagrams per `recvmmsg`/`sendmmsg` call; 64 amortises the syscall well past the point
/// where the answer encoding dominates (see `scripts/bench-sim.sh`).
const BATCH: usize = 64;
/// Longest sleep between checks of the stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);
/// Concurrent TCP connections per resolver; more are closed at once (as a busy server would).
const MAX_TCP_CONNECTIONS: usize = 256;
/// A TCP connection idle this long is closed (Unbound's `tcp-idle-timeout` is 30 s).
const TCP_IDLE: Duration = Duration::from_secs(10);

/// State shared by the UDP and TCP halves of one resolver.
pub struct Shared {
    pub zones: Arc<dyn Zones>,
    pub faults: Mutex<FaultState>,
    pub counters: Mutex<Counters>,
    pub stop: Arc<AtomicBool>,
}

/// Binds the UDP socket, the wrong-port socket and the TCP listener of one resolver.
pub fn bind(addr: SocketAddr) -> io::Result<(Socket, Socket, TcpListener)> {
    // With port 0 the kernel picks the UDP port and TCP takes the same one; retry if another
    // process holds that TCP port.
    let mut last_err = None;
    for _ in 0..16 {
        let udp = bind_udp(addr, false)?;
        let local = udp
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))?;
        match TcpListener::bind(local) {
            Ok(tcp) => {
                let wrong_port = bind_udp(SocketAddr::new(local.ip(), 0), false)?;
                return Ok((udp, wrong_port, tcp));
            }
            Err(e) if addr.port() == 0 => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free port")))
}

/// A reply waiting for its latency to pass.
struct Delayed {
    due: Instant,
    seq: u64,
    peer: SocketAddr,
    packet: Packet,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// Outgoing batches for the genuine socket and the wrong-port socket.
struct Outbox<'a> {
    socket: &'a Socket,
    wrong_port: &'a Socket,
    main: DatagramBatch,
    alt: DatagramBatch,
    send_errors: u64,
}

impl Outbox<'_> {
    fn push(&mut self, packet: &Packet, peer: SocketAddr) {
        let (batch, socket) = if packet.from_wrong_port {
            (&mut self.alt, self.wrong_port)
        } else {
            (&mut self.main, self.socket)
        };
        if batch.is_full() {
            self.send_errors += send_batch(socket, batch).unwrap_or(batch.len()) as u64;
        }
        batch.push(&packet.bytes, peer);
    }

    fn flush(&mut self) {
        // Forged wrong-port copies go first so that they reach the client before the answer.
        for (batch, socket) in [
            (&mut self.alt, self.wrong_port),
            (&mut self.main, self.socket),
        ] {
            if !batch.is_empty() {
                self.send_errors += send_batch(socket, batch).unwrap_or(batch.len()) as u64;
            }
        }
    }
}

/// The UDP loop of one resolver; returns its counters when the stop flag is raised.
pub fn run_udp(shared: Arc<Shared>, socket: Socket, wrong_port: Socket) -> io::Result<Counters> {
    let mut responder = Responder::new(shared.zones.clone());
    let mut counters = Counters::default();
    let mut rx = DatagramBatch::new(BATCH);
    let mut out = Outbox {
        socket: &socket,
        wrong_port: &wrong_port,
        main: DatagramBatch::new(BATCH),
        alt: DatagramBatch::new(BATCH),
        send_errors: 0,
    };
    let mut delayed: BinaryHeap<Reverse<Delayed>> = BinaryHeap::new();
    let mut seq = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while delayed.peek().is_some_and(|d| d.0.due <= now) {
            let Some(Reverse(d)) = delayed.pop() else {
                break;
            };
            out.push(&d.packet, d.peer);
        }
        out.flush();
        let timeout = delayed.peek().map_or(STOP_POLL, |d| {
            d.0.due.saturating_duration_since(now).min(STOP_POLL)
        });
        if !wait_readable(&socket, timeout)? {
            continue;
        }
        let received = recv_batch(&socket, &mut rx)?;
        let now = Instant::now();
        let mut faults = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        for i in 0..received {
            let (query, peer) = rx.get(i);
            let response =
                responder.respond(query, Transport::Udp, &mut faults, now, &mut counters);
            if response.delay.is_zero() {
                for packet in &response.packets {
                    out.push(packet, peer);
                }
            } else {
                let due = now + response.delay;
                for packet in response.packets {
                    seq += 1;
                    delayed.push(Reverse(Delayed {
                        due,
                        seq,
                        peer,
                        packet,
                    }));
                }
            }
        }
        drop(faults);
        out.flush();
    }
    for _ in 0..out.send_errors {
        counters.add(Event::SendErrors);
    }
    Ok(counters)
}

/// Accepts TCP connections until the stop flag is raised; each connection gets a thread.
pub fn run_tcp(shared: Arc<Shared>, listener: TcpListener) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let open = Arc::new(AtomicUsize::new(0));
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    // `tcp=silent`: accepted connections held open, never read.
    let mut held: Vec<TcpStream> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (dead, mode) = {
                    let mut faults = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
                    (faults.is_dead(Instant::now()), faults.profile().tcp)
                };
                if mode == TcpMode::Silent && held.len() < MAX_TCP_CONNECTIONS {
                    held.push(stream);
                    continue;
                }
                if dead
                    || mode != TcpMode::On
                    || open.load(Ordering::Relaxed) >= MAX_TCP_CONNECTIONS
                {
                    continue; // dropping the stream closes it
                }
                open.fetch_add(1, Ordering::Relaxed);
                let (shared, open) = (shared.clone(), open.clone());
                connections.push(std::thread::spawn(move || {
                    let _ = serve_tcp(&shared, stream);
                    open.fetch_sub(1, Ordering::Relaxed);
                }));
                connections.retain(|c| !c.is_finished());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(e) => return Err(e),
        }
    }
    for c in connections {
        let _ = c.join();
    }
    Ok(())
}

/// Serves length-prefixed queries (RFC 1035 §4.2.2) on one connection, pipelined in order.
fn serve_tcp(shared: &Shared, mut stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(STOP_POLL))?;
    stream.set_nodelay(true)?;
    let mut responder = Responder::new(shared.zones.clone());
    let mut counters = Counters::default();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut idle_since = Instant::now();
    let result = 'conn: loop {
        if shared.stop.load(Ordering::Relaxed) || idle_since.elapsed() > TCP_IDLE {
            break Ok(());
        }
        match stream.read(&mut chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                idle_since = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => break Err(e),
        }
        let mut consumed = 0;
        let mut out = Vec::new();
        while buf.len() - consumed >= 2 {
            let len = u16::from_be_bytes([buf[consumed], buf[consumed + 1]]) as usize;
            if buf.len() - consumed - 2 < len {
                break;
            }
            let query = &buf[consumed + 2..consumed + 2 + len];
            consumed += 2 + len;
            let now = Instant::now();
            let mut faults = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
            if faults.is_dead(now) {
                break 'conn Ok(());
            }
            let response =
                responder.respond(query, Transport::Tcp, &mut faults, now, &mut counters);
            drop(faults);
            for p in response.packets.iter().filter(|p| !p.from_wrong_port) {
                out.extend_from_slice(&(p.bytes.len() as u16).to_be_bytes());
                out.extend_from_slice(&p.bytes);
            }
        }
        buf.drain(..consumed);
        if !out.is_empty()
            && let Err(e) = stream.write_all(&out)
        {
            break Err(e);
        }
    };
    shared
        .counters
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .merge(&counters);
    result
}
