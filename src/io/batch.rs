//! Batched datagram receive and send: `recvmmsg`/`sendmmsg` on Linux, one `recv_from`/`send_to`
//! per datagram elsewhere.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::Socket;

/// Largest datagram a batch slot holds. DNS over UDP with EDNS0 rarely exceeds 1232 bytes, but
/// a hostile or misconfigured peer may send up to 64 KiB; longer datagrams are cut (and then
/// fail validation), never overflow.
pub const SLOT_BYTES: usize = 4096;

/// A fixed set of datagram slots, allocated once and reused for every receive or send.
pub struct DatagramBatch {
    data: Vec<u8>,
    lens: Vec<usize>,
    peers: Vec<SocketAddr>,
    count: usize,
    /// The kernel's view of the slots, allocated once; its pointers are set on each call.
    #[cfg(target_os = "linux")]
    headers: linux::Headers,
}

impl DatagramBatch {
    /// A batch of `capacity` slots.
    pub fn new(capacity: usize) -> Self {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        DatagramBatch {
            data: vec![0; capacity * SLOT_BYTES],
            lens: vec![0; capacity],
            peers: vec![unspecified; capacity],
            count: 0,
            #[cfg(target_os = "linux")]
            headers: linux::Headers::new(capacity),
        }
    }

    pub fn capacity(&self) -> usize {
        self.lens.len()
    }
    pub fn len(&self) -> usize {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    pub fn is_full(&self) -> bool {
        self.count == self.capacity()
    }
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// The `i`-th datagram and its peer.
    pub fn get(&self, i: usize) -> (&[u8], SocketAddr) {
        let start = i * SLOT_BYTES;
        (&self.data[start..start + self.lens[i]], self.peers[i])
    }

    /// Appends a datagram for `peer`; returns false (and appends nothing) when the batch is full.
    /// Datagrams longer than a slot are cut to the slot.
    pub fn push(&mut self, payload: &[u8], peer: SocketAddr) -> bool {
        if self.is_full() {
            return false;
        }
        let len = payload.len().min(SLOT_BYTES);
        let start = self.count * SLOT_BYTES;
        self.data[start..start + len].copy_from_slice(&payload[..len]);
        self.lens[self.count] = len;
        self.peers[self.count] = peer;
        self.count += 1;
        true
    }
}

/// Waits until `socket` is readable or `timeout` passes; `Ok(false)` on timeout or signal.
pub fn wait_readable(socket: &Socket, timeout: Duration) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `pfd` and `ts` are valid for the duration of the call and `nfds` is 1.
        let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(err)
            };
        }
        Ok(rc > 0)
    }
    #[cfg(not(unix))]
    {
        socket.set_read_timeout(Some(timeout.max(Duration::from_micros(100))))?;
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        match socket.peek_from(&mut probe) {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// Waits until any of `sockets` is readable or `timeout` passes; `readable[i]` tells which.
pub fn wait_readable_any(
    sockets: &[Socket],
    timeout: Duration,
    readable: &mut [bool],
) -> io::Result<()> {
    readable.iter_mut().for_each(|r| *r = false);
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let mut fds: Vec<libc::pollfd> = sockets
            .iter()
            .map(|s| libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ts = libc::timespec {
            tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `fds` holds `fds.len()` valid pollfd entries and `ts` lives through the call.
        let rc = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &ts,
                std::ptr::null(),
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(err)
            };
        }
        for (r, fd) in readable.iter_mut().zip(&fds) {
            *r = fd.revents & libc::POLLIN != 0;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::thread::sleep(timeout.min(Duration::from_millis(1)));
        readable.iter_mut().for_each(|r| *r = true);
        let _ = sockets;
        Ok(())
    }
}

/// Receives the datagrams already queued on `socket` (up to the batch's capacity) without
/// blocking, replacing the batch's contents. Returns how many were received.
pub fn recv_batch(socket: &Socket, batch: &mut DatagramBatch) -> io::Result<usize> {
    batch.clear();
    #[cfg(target_os = "linux")]
    {
        linux::recv_batch(socket, batch)
    }
    #[cfg(not(target_os = "linux"))]
    {
        portable::recv_batch(socket, batch)
    }
}

/// Sends every datagram of `batch`, then clears it. Datagrams the kernel refuses one by one (for
/// example an unreachable destination) are skipped; the count of skipped ones is returned.
pub fn send_batch(socket: &Socket, batch: &mut DatagramBatch) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    let skipped = linux::send_batch(socket, batch);
    #[cfg(not(target_os = "linux"))]
    let skipped = portable::send_batch(socket, batch);
    batch.clear();
    skipped
}

/// A datagram longer than its slot (a resolver that ignored our EDNS size) was cut by the
/// kernel: its DNS header gets the TC bit, so the engine asks for the whole answer over TCP
/// instead of reading what the cut left.
fn mark_truncated(datagram: &mut [u8]) {
    if datagram.len() > 2 {
        datagram[2] |= 0x02;
    }
}

/// One syscall per datagram: the path off Linux, also compiled in tests so it stays correct.
#[cfg(any(test, not(target_os = "linux")))]
mod portable {
    use super::*;
    use std::mem::MaybeUninit;

    pub fn recv_batch(socket: &Socket, batch: &mut DatagramBatch) -> io::Result<usize> {
        socket.set_nonblocking(true)?;
        let mut buf = [MaybeUninit::<u8>::uninit(); SLOT_BYTES];
        while !batch.is_full() {
            match socket.recv_from(&mut buf) {
                Ok((len, addr)) => {
                    // SAFETY: `recv_from` initialised the first `len` bytes of `buf`.
                    let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), len) };
                    let peer = addr
                        .as_socket()
                        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
                    batch.push(bytes, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        socket.set_nonblocking(false)?;
        Ok(batch.len())
    }

    pub fn send_batch(socket: &Socket, batch: &mut DatagramBatch) -> io::Result<usize> {
        let mut skipped = 0;
        for i in 0..batch.len() {
            let (bytes, peer) = batch.get(i);
            if socket.send_to(bytes, &peer.into()).is_err() {
                skipped += 1;
            }
        }
        Ok(skipped)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::mem;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;

    /// The kernel's view of a batch: address slots, iovecs and message headers. Allocated once
    /// per batch; the pointers are written at the start of every call (never kept across
    /// calls), so nothing dangles when the batch moves.
    pub(super) struct Headers {
        names: Vec<libc::sockaddr_storage>,
        iovs: Vec<libc::iovec>,
        msgs: Vec<libc::mmsghdr>,
    }

    impl Headers {
        pub(super) fn new(n: usize) -> Self {
            // SAFETY: `sockaddr_storage`, `iovec` and `mmsghdr` are plain C structs for which
            // all-zero bytes are valid (null pointers, zero lengths); `link` sets every field
            // the kernel reads before a call.
            unsafe {
                Headers {
                    names: (0..n).map(|_| zeroed()).collect(),
                    iovs: (0..n).map(|_| zeroed()).collect(),
                    msgs: (0..n).map(|_| zeroed()).collect(),
                }
            }
        }

        /// Points message `i` at its iovec and address slot (the Vecs never reallocate).
        fn link(&mut self, i: usize, base: *mut u8, len: usize, name_len: libc::socklen_t) {
            self.iovs[i] = libc::iovec {
                iov_base: base.cast(),
                iov_len: len,
            };
            let hdr = &mut self.msgs[i].msg_hdr;
            hdr.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            hdr.msg_namelen = name_len;
            hdr.msg_iov = &mut self.iovs[i];
            hdr.msg_iovlen = 1;
        }
    }

    /// A zeroed value.
    ///
    /// # Safety
    /// All-zero bytes must be a valid `T` (true of the plain C structs used here).
    unsafe fn zeroed<T: Copy>() -> T {
        // SAFETY: the caller guarantees all-zero bytes are a valid `T`.
        unsafe { mem::zeroed() }
    }

    pub fn recv_batch(socket: &Socket, batch: &mut DatagramBatch) -> io::Result<usize> {
        let n = batch.capacity();
        let headers = &mut batch.headers;
        let storage_len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        for i in 0..n {
            let base = batch.data[i * SLOT_BYTES..].as_mut_ptr();
            headers.link(i, base, SLOT_BYTES, storage_len);
        }
        // SAFETY: every mmsghdr points at a live iovec over a SLOT_BYTES slot of `batch.data`
        // and at a live sockaddr_storage of `headers`; all outlive the call, and `n` matches
        // the array length.
        let rc = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.msgs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(err),
            };
        }
        let received = rc as usize;
        for i in 0..received {
            batch.lens[i] = (headers.msgs[i].msg_len as usize).min(SLOT_BYTES);
            if headers.msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                mark_truncated(&mut batch.data[i * SLOT_BYTES..][..batch.lens[i]]);
            }
            batch.peers[i] =
                from_storage(&headers.names[i]).unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        }
        batch.count = received;
        Ok(received)
    }

    pub fn send_batch(socket: &Socket, batch: &mut DatagramBatch) -> io::Result<usize> {
        let n = batch.len();
        let headers = &mut batch.headers;
        for i in 0..n {
            let name_len = to_storage(batch.peers[i], &mut headers.names[i]);
            let base = batch.data[i * SLOT_BYTES..].as_mut_ptr();
            headers.link(i, base, batch.lens[i], name_len);
        }
        let mut sent = 0;
        let mut skipped = 0;
        // Bounded: each turn either sends at least one datagram or skips one.
        while sent < n {
            // SAFETY: messages `sent..n` point at live iovecs over `batch.data` and at live
            // addresses in `headers`; the count passed matches the remaining slice.
            let rc = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    headers.msgs[sent..].as_mut_ptr(),
                    (n - sent) as libc::c_uint,
                    0,
                )
            };
            if rc < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // The first remaining datagram was refused: skip it and go on with the rest.
                sent += 1;
                skipped += 1;
            } else {
                sent += rc as usize;
            }
        }
        Ok(skipped)
    }

    fn from_storage(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match storage.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in, which it can contain.
                let sin = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6, which it can contain.
                let sin6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    fn to_storage(addr: SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
        match addr {
            SocketAddr::V4(v4) => {
                // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
                let sin = unsafe { &mut *(storage as *mut _ as *mut libc::sockaddr_in) };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = v4.port().to_be();
                sin.sin_addr = libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                };
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(v6) => {
                // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in6.
                let sin6 = unsafe { &mut *(storage as *mut _ as *mut libc::sockaddr_in6) };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = v6.port().to_be();
                sin6.sin6_addr = libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                };
                sin6.sin6_flowinfo = v6.flowinfo();
                sin6.sin6_scope_id = v6.scope_id();
                mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::bind_udp;

    #[test]
    fn batch_round_trip_on_loopback() {
        let a = bind_udp("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let b = bind_udp("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let b_addr = b.local_addr().unwrap().as_socket().unwrap();
        let a_addr = a.local_addr().unwrap().as_socket().unwrap();
        let mut out = DatagramBatch::new(8);
        for i in 0..5u8 {
            assert!(out.push(&[i; 3], b_addr));
        }
        assert_eq!(send_batch(&a, &mut out).unwrap(), 0);
        assert!(out.is_empty());
        let mut got = DatagramBatch::new(8);
        let mut total = Vec::new();
        for _ in 0..100 {
            if total.len() == 5 {
                break;
            }
            wait_readable(&b, Duration::from_millis(50)).unwrap();
            recv_batch(&b, &mut got).unwrap();
            for i in 0..got.len() {
                let (bytes, peer) = got.get(i);
                assert_eq!(peer, a_addr);
                total.push(bytes.to_vec());
            }
        }
        assert_eq!(total, (0..5u8).map(|i| vec![i; 3]).collect::<Vec<_>>());
    }

    /// A reply longer than a slot is cut by the kernel: it is marked TC, never read as whole.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_datagram_cut_by_its_slot_is_marked_truncated() {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = bind_udp("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let b_addr = b.local_addr().unwrap().as_socket().unwrap();
        a.send_to(&vec![0u8; SLOT_BYTES + 100], b_addr).unwrap();
        a.send_to(&[0u8; 12], b_addr).unwrap();
        let mut got = DatagramBatch::new(8);
        let mut seen = Vec::new();
        for _ in 0..100 {
            wait_readable(&b, Duration::from_millis(50)).unwrap();
            recv_batch(&b, &mut got).unwrap();
            seen.extend((0..got.len()).map(|i| got.get(i).0.to_vec()));
            if seen.len() == 2 {
                break;
            }
        }
        assert_eq!(seen[0].len(), SLOT_BYTES);
        assert_eq!(seen[0][2] & 0x02, 0x02, "TC");
        assert_eq!(seen[1][2], 0, "a whole datagram is left as it came");
    }

    /// The portable path moves the same datagrams as the batched one.
    #[test]
    fn portable_round_trip_on_loopback() {
        let a = bind_udp("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let b = bind_udp("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let b_addr = b.local_addr().unwrap().as_socket().unwrap();
        let mut out = DatagramBatch::new(4);
        for i in 0..3u8 {
            out.push(&[i; 5], b_addr);
        }
        assert_eq!(portable::send_batch(&a, &mut out).unwrap(), 0);
        let mut got = DatagramBatch::new(4);
        let mut total = 0;
        for _ in 0..100 {
            wait_readable(&b, Duration::from_millis(20)).unwrap();
            got.clear();
            total += portable::recv_batch(&b, &mut got).unwrap();
            if total == 3 {
                break;
            }
        }
        assert_eq!(total, 3);
        assert_eq!(got.get(got.len() - 1).0, &[2u8; 5]);
    }

    #[test]
    fn full_batch_refuses_more() {
        let mut b = DatagramBatch::new(1);
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        assert!(b.push(&[1], peer));
        assert!(!b.push(&[2], peer));
        let long = vec![7u8; SLOT_BYTES + 10];
        b.clear();
        b.push(&long, peer);
        assert_eq!(b.get(0).0.len(), SLOT_BYTES);
    }
}
