//! Helpers shared by the integration tests: a small DNS client, a windowed UDP load
//! generator, and a guard that runs the real NSD + Unbound farm from `scripts/farm.sh`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use mxscan::wire::{MessageView, build_query};

/// The scan flags of a test world: the synthetic and sample worlds live under .test in
/// reserved address space.
pub const WORLD_FLAGS: [&str; 5] = [
    "--allow-special-use",
    "--public-range",
    "198.18.0.0/15",
    "--public-range",
    "2001:db8::/32",
];

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A free UDP and TCP port on 127.0.0.1 (racy by nature, good enough for tests).
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Asks one question over UDP (EDNS0 1232) and, when the reply is truncated, again over TCP.
/// Returns `None` when nothing valid came back within `timeout`.
pub fn ask(server: SocketAddr, name: &str, qtype: u16, timeout: Duration) -> Option<Message> {
    let id = rand_id();
    let query = build_query(id, name, qtype, Some(1232)).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(timeout)).unwrap();
    sock.send_to(&query, server).unwrap();
    let mut buf = [0u8; 65535];
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let Ok((len, from)) = sock.recv_from(&mut buf) else {
            return None;
        };
        let reply = &buf[..len];
        let Ok(view) = MessageView::parse(reply) else {
            continue;
        };
        if from != server || view.id != id || !view.flags.is_response() {
            continue;
        }
        if view.flags.truncated() {
            return ask_tcp(server, &query, timeout);
        }
        return Message::from_vec(reply).ok();
    }
    None
}

/// Sends one query over TCP and reads one length-prefixed reply.
pub fn ask_tcp(server: SocketAddr, query: &[u8], timeout: Duration) -> Option<Message> {
    let mut stream = TcpStream::connect_timeout(&server, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).ok()?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).ok()?;
    let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut reply).ok()?;
    Message::from_vec(&reply).ok()
}

fn rand_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0x1234);
    NEXT.fetch_add(7919, Ordering::Relaxed)
}

/// One datagram received by [`blast`].
#[derive(Debug, Clone)]
pub struct Received {
    pub bytes: Vec<u8>,
    pub from: SocketAddr,
    /// Time since the query with the same index (taken from the reply's id) was sent.
    pub rtt: Option<Duration>,
}

/// Sends `queries` (query `i` must carry id `i`) keeping at most `window` unanswered, waits
/// `settle` after the last send, and returns every datagram received. `pace` spaces the sends
/// out (`None` = as fast as the window allows).
pub fn blast(
    server: SocketAddr,
    queries: &[Vec<u8>],
    window: usize,
    pace: Option<Duration>,
    settle: Duration,
) -> (Vec<Received>, Duration) {
    assert!(queries.len() <= 65_536);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sock2 = socket2::SockRef::from(&sock);
    sock2.set_recv_buffer_size(8 << 20).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(1)))
        .unwrap();
    let mut sent_at: Vec<Option<Instant>> = vec![None; queries.len()];
    let mut answered = vec![false; queries.len()];
    let mut received = Vec::new();
    let mut buf = [0u8; 65535];
    let started = Instant::now();
    let mut next = 0;
    let mut in_flight = 0usize;
    let mut last_send = started;
    // Bounded: the send loop ends when every query is out; the drain ends after `settle`.
    let mut receive = |received: &mut Vec<Received>,
                       in_flight: &mut usize,
                       answered: &mut Vec<bool>,
                       sent_at: &Vec<Option<Instant>>| {
        while let Ok((len, from)) = sock.recv_from(&mut buf) {
            let bytes = buf[..len].to_vec();
            let index = (len >= 2).then(|| u16::from_be_bytes([bytes[0], bytes[1]]) as usize);
            let rtt = index
                .and_then(|i| sent_at.get(i).copied().flatten())
                .map(|t| t.elapsed());
            if let Some(i) = index.filter(|i| *i < answered.len() && sent_at[*i].is_some())
                && from == server
                && !answered[i]
                && MessageView::parse(&bytes).is_ok_and(|v| {
                    v.question
                        .same_name(MessageView::parse(&queries[i]).unwrap().question.name_wire)
                })
            {
                answered[i] = true;
                *in_flight = in_flight.saturating_sub(1);
            }
            received.push(Received { bytes, from, rtt });
        }
    };
    let mut stalled_since = Instant::now();
    while next < queries.len() {
        if in_flight < window {
            if let Some(p) = pace {
                while last_send.elapsed() < p {
                    std::hint::spin_loop();
                }
            }
            last_send = Instant::now();
            sock.send_to(&queries[next], server).unwrap();
            sent_at[next] = Some(last_send);
            next += 1;
            in_flight += 1;
            stalled_since = Instant::now();
            if next % 64 != 0 {
                continue;
            }
        }
        receive(&mut received, &mut in_flight, &mut answered, &sent_at);
        // Lost queries never come back: after 200 ms without progress, stop counting them.
        if stalled_since.elapsed() > Duration::from_millis(200) {
            in_flight = 0;
        }
    }
    let send_time = started.elapsed();
    let end = Instant::now() + settle;
    while Instant::now() < end {
        receive(&mut received, &mut in_flight, &mut answered, &sent_at);
    }
    (received, send_time)
}

/// The genuine replies among `received`: from the server, for a query we sent, with the
/// matching question; keyed by query index (the first one wins).
pub fn genuine(
    server: SocketAddr,
    queries: &[Vec<u8>],
    received: &[Received],
) -> HashMap<usize, Received> {
    genuine_positions(server, queries, received)
        .into_iter()
        .map(|(i, k)| (i, received[k].clone()))
        .collect()
}

/// Where in `received` each query's first genuine reply arrived (query index → position).
pub fn genuine_positions(
    server: SocketAddr,
    queries: &[Vec<u8>],
    received: &[Received],
) -> HashMap<usize, usize> {
    let mut out = HashMap::new();
    for (k, r) in received.iter().enumerate() {
        let Ok(view) = MessageView::parse(&r.bytes) else {
            continue;
        };
        let i = view.id as usize;
        let Some(q) = queries.get(i) else { continue };
        let qv = MessageView::parse(q).unwrap();
        if r.from == server
            && view.flags.is_response()
            && view.question.same_name(qv.question.name_wire)
            && view.question.qtype == qv.question.qtype
        {
            out.entry(i).or_insert(k);
        }
    }
    out
}

/// The real farm (NSD + Unbound) on private ports, stopped when dropped.
pub struct Farm {
    dir: tempfile::TempDir,
    pub resolvers: Vec<SocketAddr>,
}

impl Farm {
    /// Starts `n` Unbound resolvers in front of NSD serving `data/zones`. Panics (failing the
    /// test) when the servers cannot be installed or started: a farm test never passes without
    /// its farm.
    pub fn start(n: usize) -> Farm {
        let dir = tempfile::tempdir().unwrap();
        let (nsd_port, port) = (free_port(), free_port());
        let out = Command::new("bash")
            .arg(repo_path("scripts/farm.sh"))
            .args(["start", &n.to_string()])
            .env("FARM_DIR", dir.path())
            .env("FARM_PORT", port.to_string())
            .env("FARM_NSD", format!("127.0.0.1@{nsd_port}"))
            .output()
            .expect("run scripts/farm.sh");
        assert!(
            out.status.success(),
            "scripts/farm.sh start failed (install nsd and unbound, see README):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let resolvers = (0..n)
            .map(|i| SocketAddr::from(([127, 0, 0, 2 + i as u8], port)))
            .collect();
        Farm { dir, resolvers }
    }

    /// The resolvers as `-r` takes them.
    pub fn list(&self) -> String {
        self.resolvers
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_path("scripts/farm.sh"))
            .arg("stop")
            .env("FARM_DIR", self.dir.path())
            .output();
    }
}

/// Starts one sim resolver per fault profile on 127.0.0.1 (random ports), all serving `zones`;
/// returns the handle and the resolver list as `-r` takes it.
pub fn start_sim(
    zones: std::sync::Arc<dyn mxscan::sim::Zones>,
    faults: &[&str],
) -> (mxscan::sim::SimHandle, String) {
    let configs: Vec<mxscan::sim::ResolverConfig> = faults
        .iter()
        .map(|f| mxscan::sim::ResolverConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            faults: f.parse().unwrap(),
        })
        .collect();
    let handle = mxscan::sim::start(zones, &configs, 3).unwrap();
    let list = handle
        .addrs()
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",");
    (handle, list)
}

/// The sample world (`data/zones`) served by one sim resolver per fault profile.
pub fn sample_sim(faults: &[&str]) -> (mxscan::sim::SimHandle, String) {
    let world = mxscan::sim::ZoneFiles::load_dir(&repo_path("data/zones")).unwrap();
    start_sim(std::sync::Arc::new(world), faults)
}

/// Runs the mxscan binary with `stdin`; returns (exit code, stdout, stderr).
pub fn mxscan(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    mxscan_in(Path::new("."), args, stdin)
}

/// [`mxscan`] in the working directory `cwd`.
pub fn mxscan_in(cwd: &Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The rows of a CSV file (header first, the rest sorted), as records.
pub fn sorted_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let mut rows: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    rows.sort();
    (header, rows)
}

/// A UDP socket on loopback that never answers, and its address: a resolver that is down.
pub fn silent_resolver() -> (std::net::UdpSocket, String) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    (socket, addr)
}

/// A scan's `summary.json`.
pub fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// One finding row: its code, severity and subject.
pub type FindingCell = (String, String, String);

/// A scan's findings.csv by domain, after checking what holds of every row whatever the
/// world: no (domain, code, subject) twice, a code the catalogue knows, and a severity its
/// grade allows (a fixed one exactly; ERROR or WARN over the hosts; a role's).
pub fn finding_rows(path: &Path) -> std::collections::BTreeMap<String, Vec<FindingCell>> {
    use mxscan::analysis::Severity;
    use mxscan::analysis::code::{Code, Grade};
    let mut by_domain: std::collections::BTreeMap<String, Vec<FindingCell>> = Default::default();
    let mut seen = std::collections::HashSet::new();
    let mut r = csv::Reader::from_path(path).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let (domain, code, severity, subject) = (&rec[0], &rec[1], &rec[2], &rec[3]);
        assert!(
            seen.insert((domain.to_string(), code.to_string(), subject.to_string())),
            "{domain}: {code} {subject:?} written twice"
        );
        let known = Code::from_name(code).unwrap_or_else(|| panic!("{domain}: unknown {code}"));
        let allowed: Vec<Severity> = match known.grade() {
            Grade::Fixed(s) => vec![s],
            Grade::EveryHost | Grade::EveryHostOrSender => vec![Severity::Error, Severity::Warn],
            Grade::ByRole { send, receive } => vec![send, receive],
        };
        assert!(
            allowed.iter().any(|s| s.as_str() == severity),
            "{domain}: {code} graded {severity}, its grade allows {allowed:?}"
        );
        by_domain.entry(domain.to_string()).or_default().push((
            code.to_string(),
            severity.to_string(),
            subject.to_string(),
        ));
    }
    by_domain
}

/// Waits until `path` exists with something in it (a scan's journal, a retry pass's table).
pub fn wait_for_bytes(path: &Path) {
    wait_until(
        &format!("{} is still empty", path.display()),
        Duration::from_secs(30),
        || std::fs::metadata(path).is_ok_and(|m| m.len() > 0),
    );
}

/// Waits until `ready()` holds, checking every 20 ms, and fails the test naming `what` after
/// `limit`: a test waits on the condition it needs, not on a guess at how long it takes.
pub fn wait_until(what: &str, limit: Duration, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
