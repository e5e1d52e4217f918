//! Socket creation with the options a bulk DNS tool needs.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// Socket buffer size requested for UDP sockets. Large buffers absorb bursts of thousands of
/// datagrams between two batched receives (chosen with `scripts/bench-sim.sh`); the kernel
/// caps the request at `net.core.rmem_max`/`wmem_max`, which is fine.
pub const UDP_BUFFER_BYTES: usize = 8 << 20;

/// The kernel caps ordinary requests at `net.core.rmem_max` (often 208 KiB: a few hundred
/// datagrams, which a burst of thousands of queries overflows). With CAP_NET_ADMIN the
/// `*BUFFORCE` options go past the cap; without it they fail and the capped size stays.
#[cfg(target_os = "linux")]
fn force_buffers(socket: &Socket, bytes: usize) {
    use std::os::fd::AsRawFd;
    let bytes = bytes as libc::c_int;
    for option in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
        // SAFETY: `bytes` is a live c_int and its exact size is passed; the fd is open.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&bytes as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn force_buffers(_socket: &Socket, _bytes: usize) {}

/// Binds a UDP socket with large buffers. `reuse_port` lets several threads share one address.
pub fn bind_udp(addr: SocketAddr, reuse_port: bool) -> io::Result<Socket> {
    bind_udp_buffered(addr, reuse_port, UDP_BUFFER_BYTES)
}

/// [`bind_udp`] with buffers of `bytes` (one of many sockets that share the load needs less).
pub fn bind_udp_buffered(addr: SocketAddr, reuse_port: bool, bytes: usize) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    // Best effort: a smaller buffer only costs throughput, never correctness.
    let _ = socket.set_recv_buffer_size(bytes);
    let _ = socket.set_send_buffer_size(bytes);
    force_buffers(&socket, bytes);
    socket.bind(&addr.into())?;
    Ok(socket)
}
