//! `mxscan sim`: a simulated resolver farm on loopback.
//!
//! Each listening address is one recursive resolver of the farm with its own fault profile.
//! It answers from zone files ([`ZoneFiles`], the very files NSD serves) or from the synthetic
//! world ([`SyntheticWorld`]), like Unbound would: RA set, CNAME chains followed, NXDOMAIN and
//! NODATA with the SOA, EDNS0 echoed, TC over UDP when the answer does not fit and the full
//! answer over TCP.

pub mod counters;
pub mod export;
pub mod faults;
pub mod hostile;
pub mod responder;
pub mod sample;
mod server;
pub mod synthetic;
pub mod world;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// The address ranges the sample and synthetic worlds use (RFC 2544's benchmarking range and
/// RFC 3849's documentation prefix), which a scan of them must treat as public
/// (`--public-range`), with `--allow-special-use` for their `.test` names.
pub const WORLD_RANGES: [&str; 2] = ["198.18.0.0/15", "2001:db8::/32"];
/// The hostile world's range (`sim::hostile`).
pub const HOSTILE_RANGES: [&str; 1] = ["10.0.0.0/8"];

/// The flags a scan of a simulated world needs, for a command line.
pub fn world_flags(ranges: &[&str]) -> String {
    let mut flags = String::from("--allow-special-use");
    for r in ranges {
        flags.push_str(" --public-range ");
        flags.push_str(r);
    }
    flags
}

pub use counters::{CounterReport, Counters, Event};
pub use faults::FaultProfile;
pub use synthetic::SyntheticWorld;
pub use world::{ZoneFiles, Zones};

/// One resolver of the farm.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Where it listens, UDP and TCP on the same port. Port 0 picks a free port.
    pub addr: SocketAddr,
    pub faults: FaultProfile,
}

/// A running farm. Dropping it stops it; [`SimHandle::stop`] also returns its counters.
pub struct SimHandle {
    resolvers: Vec<Running>,
    stop: Arc<AtomicBool>,
}

struct Running {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    udp: Option<JoinHandle<io::Result<Counters>>>,
    tcp: Option<JoinHandle<io::Result<()>>>,
}

/// Counters of one resolver after the farm stopped.
#[derive(Debug, Clone)]
pub struct ResolverReport {
    pub addr: SocketAddr,
    pub counters: Counters,
}

/// Starts one resolver per config, all answering from `zones`. Resolver `i` seeds its fault
/// decisions with `seed + i`.
pub fn start(
    zones: Arc<dyn Zones>,
    resolvers: &[ResolverConfig],
    seed: u64,
) -> io::Result<SimHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handle = SimHandle {
        resolvers: Vec::new(),
        stop: stop.clone(),
    };
    let now = Instant::now();
    for (i, config) in resolvers.iter().enumerate() {
        let (udp, wrong_port, tcp) = server::bind(config.addr).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.addr))
        })?;
        let addr = udp.local_addr()?.as_socket().unwrap_or(config.addr);
        let shared = Arc::new(server::Shared {
            zones: zones.clone(),
            faults: Mutex::new(faults::FaultState::new(
                config.faults.clone(),
                seed.wrapping_add(i as u64),
                now,
            )),
            counters: Mutex::new(Counters::default()),
            stop: stop.clone(),
        });
        let (s1, s2) = (shared.clone(), shared.clone());
        let udp = std::thread::Builder::new()
            .name(format!("sim-udp-{addr}"))
            .spawn(move || server::run_udp(s1, udp, wrong_port))?;
        let tcp = std::thread::Builder::new()
            .name(format!("sim-tcp-{addr}"))
            .spawn(move || server::run_tcp(s2, tcp))?;
        handle.resolvers.push(Running {
            addr,
            shared,
            udp: Some(udp),
            tcp: Some(tcp),
        });
    }
    Ok(handle)
}

impl SimHandle {
    /// The bound addresses, in the order of the configs (port 0 resolved).
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.resolvers.iter().map(|r| r.addr).collect()
    }

    /// Stops every resolver and returns their counters.
    pub fn stop(mut self) -> io::Result<Vec<ResolverReport>> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<Vec<ResolverReport>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut reports = Vec::new();
        for r in &mut self.resolvers {
            let mut counters = Counters::default();
            if let Some(udp) = r.udp.take() {
                let udp_counters = udp
                    .join()
                    .map_err(|_| io::Error::other("sim UDP thread panicked"))??;
                counters.merge(&udp_counters);
            }
            if let Some(tcp) = r.tcp.take() {
                tcp.join()
                    .map_err(|_| io::Error::other("sim TCP thread panicked"))??;
            }
            counters.merge(&r.shared.counters.lock().unwrap_or_else(|e| e.into_inner()));
            reports.push(ResolverReport {
                addr: r.addr,
                counters,
            });
        }
        Ok(reports)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
