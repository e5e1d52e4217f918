//! The resolvers checked before a run starts: one question each on a connected socket, so that
//! a port where nothing listens is known at once (the kernel's "port unreachable" becomes
//! ECONNREFUSED) and a resolver that never answers is known within seconds, not after a
//! scan's worth of timeouts.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use crate::wire;

/// What one resolver did with the check's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// It answered (any rcode but REFUSED: a SERVFAIL is a working resolver's answer).
    Answers,
    /// It answered REFUSED: it does not recurse for this host.
    Refused,
    /// Nothing listens there (ICMP port unreachable), or the socket could not be used.
    Unreachable(String),
    /// No reply within the wait.
    Silent,
}

impl Health {
    /// Why the resolver cannot be used, for a message naming it; `None` when it can.
    pub fn problem(&self) -> Option<String> {
        match self {
            Health::Answers => None,
            Health::Refused => {
                Some("answered REFUSED: does it allow recursion for this host?".into())
            }
            Health::Unreachable(why) => Some(format!("nothing answers there ({why})")),
            Health::Silent => Some("no reply to a question within the wait".into()),
        }
    }
}

/// Asks each resolver `name` (type NS, recursion desired) and waits up to `wait` in all,
/// sending again every second; the resolvers are checked in parallel. Returns one
/// [`Health`] per resolver, in order.
pub fn check(resolvers: &[SocketAddr], name: &str, wait: Duration) -> Vec<Health> {
    std::thread::scope(|scope| {
        let checks: Vec<_> = resolvers
            .iter()
            .map(|&r| scope.spawn(move || check_one(r, name, wait)))
            .collect();
        checks
            .into_iter()
            .map(|c| {
                c.join()
                    .unwrap_or_else(|_| Health::Unreachable("the check panicked".into()))
            })
            .collect()
    })
}

fn check_one(resolver: SocketAddr, name: &str, wait: Duration) -> Health {
    match ask(resolver, name, wait) {
        Ok(health) => health,
        Err(e) => Health::Unreachable(e.to_string()),
    }
}

fn ask(resolver: SocketAddr, name: &str, wait: Duration) -> io::Result<Health> {
    let any: SocketAddr = if resolver.is_ipv6() {
        "[::]:0".parse().expect("valid")
    } else {
        "0.0.0.0:0".parse().expect("valid")
    };
    let socket = UdpSocket::bind(any)?;
    socket.connect(resolver)?;
    let id: u16 = rand::random();
    let query = wire::build_query(id, name, u16::from(RecordType::NS), None)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e}")))?;
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(Health::Silent);
        }
        socket.send(&query)?;
        let resend = (now + Duration::from_secs(1)).min(deadline);
        loop {
            let left = resend.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            socket.set_read_timeout(Some(left))?;
            match socket.recv(&mut buf) {
                Ok(n) if n >= 12 && u16::from_be_bytes([buf[0], buf[1]]) == id => {
                    let rcode = buf[3] & 0x0F;
                    return Ok(if rcode == 5 {
                        Health::Refused
                    } else {
                        Health::Answers
                    });
                }
                // Not our reply: keep waiting.
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_port_is_unreachable_at_once_and_a_silent_one_silent() {
        // A port just freed: on loopback the kernel answers "port unreachable".
        let closed = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // A socket that never reads.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let started = Instant::now();
        let health = check(
            &[closed, silent.local_addr().unwrap()],
            ".",
            Duration::from_millis(1500),
        );
        assert!(
            matches!(health[0], Health::Unreachable(_)),
            "{:?}",
            health[0]
        );
        assert_eq!(health[1], Health::Silent);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
