//! Socket creation with the options a bulk DNS tool needs.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// Socket buffer size requested for UDP sockets. Large buffers absorb bursts of thousands of
/// datagrams between two batched receives (chosen with `scripts/bench-sim.sh`); the kernel
/// caps the request at `net.core.rmem_max`/`wmem_max`, which is fine.
pub const UDP_BUFFER_BYTES: usize = 8 << 20;

/// Binds a UDP socket with large buffers. `reuse_port` lets several threads share one address.
pub fn bind_udp(addr: SocketAddr, reuse_port: bool) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    // Best effort: a smaller buffer only costs throughput, never correctness.
    let _ = socket.set_recv_buffer_size(UDP_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(UDP_BUFFER_BYTES);
    socket.bind(&addr.into())?;
    Ok(socket)
}
