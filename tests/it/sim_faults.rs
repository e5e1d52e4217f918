//! Each fault knob of `mxscan sim` does what it says, measured over 10 000 queries on loopback
//! and checked against the sim's own counters.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Received, ask, ask_tcp, blast, genuine, repo_path};
use mxscan::sim::{
    self, Counters, Event, ResolverConfig, SimHandle, SyntheticWorld, ZoneFiles, Zones,
};
use mxscan::wire::{MessageView, build_query};

const N: usize = 10_000;

/// Tests that measure time take this lock for writing, every other test of this module for
/// reading, so this module's own 10 000-query loads never skew a latency or rate measurement;
/// other modules' tests may run beside them, which the bounds allow for.
static TIMING: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn timing() -> std::sync::RwLockWriteGuard<'static, ()> {
    TIMING.write().unwrap_or_else(|e| e.into_inner())
}

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    TIMING.read().unwrap_or_else(|e| e.into_inner())
}
const MX: u16 = 15;

fn start(zones: Arc<dyn Zones>, faults: &str) -> (SimHandle, SocketAddr) {
    let config = ResolverConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        faults: faults.parse().unwrap(),
    };
    let sim = sim::start(zones, &[config], 42).unwrap();
    let addr = sim.addrs()[0];
    (sim, addr)
}

fn synthetic(faults: &str) -> (SimHandle, SocketAddr) {
    start(Arc::new(SyntheticWorld::new(N as u64, 1)), faults)
}

/// Query `i` asks for the MX of `syn{i}.test` with id `i`.
fn queries(edns: bool) -> Vec<Vec<u8>> {
    (0..N)
        .map(|i| build_query(i as u16, &format!("syn{i}.test"), MX, edns.then_some(1232)).unwrap())
        .collect()
}

fn run(
    sim: SimHandle,
    addr: SocketAddr,
    queries: &[Vec<u8>],
) -> (Vec<Received>, HashMap<usize, Received>, Counters) {
    let (received, _) = blast(addr, queries, 256, None, Duration::from_millis(300));
    let good = genuine(addr, queries, &received);
    let counters = sim.stop().unwrap().remove(0).counters;
    (received, good, counters)
}

/// The query a datagram answers by its question (`synI.test`), and the id it claims.
fn claims(r: &Received) -> Option<(Option<usize>, usize)> {
    let v = MessageView::parse(&r.bytes).ok()?;
    let name = v.question.name_lowercase();
    let asked = name
        .strip_prefix("syn")
        .and_then(|s| s.strip_suffix(".test."))
        .and_then(|s| s.parse().ok());
    Some((asked, v.id as usize))
}

fn rcode(r: &Received) -> u8 {
    MessageView::parse(&r.bytes).unwrap().flags.rcode().value()
}

fn pct(n: usize) -> f64 {
    100.0 * n as f64 / N as f64
}

fn assert_near(measured: f64, setting: f64, what: &str) {
    assert!(
        (measured - setting).abs() <= 1.0,
        "{what}: measured {measured:.2} % for a setting of {setting} %"
    );
}

#[test]
fn no_faults_answers_everything_once() {
    let _shared = shared();
    let (sim, addr) = synthetic("");
    let (received, good, c) = run(sim, addr, &queries(true));
    assert_eq!(good.len(), N);
    assert_eq!(received.len(), N, "one datagram per query");
    assert_eq!(c.get(Event::UdpQuery), N as u64);
}

#[test]
fn loss_drops_its_share_of_queries() {
    let _shared = shared();
    let (sim, addr) = synthetic("loss=5");
    let (_, good, c) = run(sim, addr, &queries(true));
    let lost = N - good.len();
    assert_near(pct(lost), 5.0, "loss");
    assert_eq!(lost as u64, c.get(Event::Lost));
}

#[test]
fn latency_and_jitter_shape_the_rtt_distribution() {
    let _serial = timing();
    let (sim, addr) = synthetic("latency=20ms,jitter=10ms");
    let (_, good, c) = run(sim, addr, &queries(true));
    assert_eq!(good.len(), N);
    let mut rtts: Vec<f64> = good
        .values()
        .map(|r| r.rtt.unwrap().as_secs_f64() * 1e3)
        .collect();
    rtts.sort_by(f64::total_cmp);
    let q = |p: f64| rtts[((rtts.len() - 1) as f64 * p) as usize];
    // Uniform jitter: quantiles sit at 20 + 10·p ms plus loopback and scheduling time. The
    // sim never answers early, so the lower bounds hold on any machine and fail when latency
    // or jitter is not applied; a loaded machine (other tests beside this one) only adds time,
    // hence the upper bounds' room, still well below a doubled setting.
    assert!(q(0.0) >= 20.0, "min {}", q(0.0));
    for p in [0.1, 0.5, 0.9] {
        let expected = 20.0 + 10.0 * p;
        assert!(
            q(p) >= expected - 1.0 && q(p) < expected + 15.0,
            "p{}: {} ms, expected about {expected}",
            p * 100.0,
            q(p)
        );
    }
    assert!(q(0.9) - q(0.1) >= 5.0, "jitter spreads the RTTs");
    assert!(q(0.99) < 80.0, "p99 {}", q(0.99));
    assert_eq!(c.get(Event::Delayed), N as u64);
}

#[test]
fn servfail_and_refused_rates_hold() {
    let _shared = shared();
    let (sim, addr) = synthetic("servfail=10,refused=5");
    let (_, good, c) = run(sim, addr, &queries(true));
    assert_eq!(good.len(), N);
    let servfail = good.values().filter(|r| rcode(r) == 2).count();
    let refused = good.values().filter(|r| rcode(r) == 5).count();
    assert_near(pct(servfail), 10.0, "servfail");
    assert_near(pct(refused), 5.0, "refused");
    assert_eq!(servfail as u64, c.get(Event::ServFailInjected));
    assert_eq!(refused as u64, c.get(Event::RefusedInjected));
}

/// Offers 4× the limit for about two seconds (still 2× when a loaded machine halves the send
/// loop's speed: an offered rate near the limit leaves gaps that waste tokens); what is admitted
/// must match the rate within 10 % (without the limit all 8 000 would be, 4× the rate).
fn qps_limit(action: &str) -> (usize, usize, f64) {
    let _serial = timing();
    let (sim, addr) = synthetic(&format!("qps=1000,over-qps={action}"));
    let q = queries(true)[..8000].to_vec();
    // No window: dropped queries must not hold the pace back.
    let (received, send_time) = blast(
        addr,
        &q,
        usize::MAX,
        Some(Duration::from_micros(250)),
        Duration::from_millis(300),
    );
    let good = genuine(addr, &q, &received);
    sim.stop().unwrap();
    let admitted = good.values().filter(|r| rcode(r) != 5).count();
    // The bucket starts full with 20 ms of the rate.
    let expected = 1000.0 * send_time.as_secs_f64() + 20.0;
    (admitted, good.len(), expected)
}

#[test]
fn qps_limit_refuses_above_the_rate() {
    let (admitted, answered, expected) = qps_limit("refuse");
    assert_eq!(answered, 8000, "refuse mode answers everything");
    assert!(
        (admitted as f64 - expected).abs() / expected < 0.10,
        "admitted {admitted}, expected {expected:.0}"
    );
}

#[test]
fn qps_limit_drops_above_the_rate() {
    let (admitted, answered, expected) = qps_limit("drop");
    assert_eq!(admitted, answered, "drop mode sends no REFUSED");
    assert!(
        (admitted as f64 - expected).abs() / expected < 0.10,
        "admitted {admitted}, expected {expected:.0}"
    );
}

#[test]
fn forced_truncation_completes_over_tcp() {
    let _shared = shared();
    let (sim, addr) = synthetic("truncate=30");
    let qs = queries(true);
    let (received, _) = blast(addr, &qs, 256, None, Duration::from_millis(300));
    let good = genuine(addr, &qs, &received);
    assert_eq!(good.len(), N);
    let truncated: Vec<usize> = good
        .iter()
        .filter(|(_, r)| MessageView::parse(&r.bytes).unwrap().flags.truncated())
        .map(|(i, _)| *i)
        .collect();
    assert_near(pct(truncated.len()), 30.0, "truncate");
    for r in truncated.iter().map(|i| &good[i]) {
        let v = MessageView::parse(&r.bytes).unwrap();
        assert_eq!(
            (v.answer_count, v.authority_count),
            (0, 0),
            "a truncated reply carries no records"
        );
    }
    // TCP gets the full answer for every truncated one (checked on the first 200).
    for i in truncated.iter().take(200) {
        let msg = ask_tcp(addr, &qs[*i], Duration::from_secs(2)).expect("TCP answer");
        assert!(!msg.metadata.truncation);
        let world = SyntheticWorld::new(N as u64, 1);
        let want = mxscan::sim::world::resolve(
            &world,
            &format!("syn{i}.test.").parse().unwrap(),
            hickory_proto::rr::RecordType::MX,
        );
        assert_eq!(msg.answers.len(), want.answers.len(), "syn{i}.test");
    }
    let c = sim.stop().unwrap().remove(0).counters;
    assert_eq!(c.get(Event::TruncatedForced), truncated.len() as u64);
}

#[test]
fn oversized_answers_truncate_by_buffer_size_and_tcp_has_them_whole() {
    let _shared = shared();
    let world = ZoneFiles::load_dir(&repo_path("data/zones")).unwrap();
    let (sim, addr) = start(Arc::new(world), "");
    for edns in [None, Some(512), Some(1232), Some(4096)] {
        let q = build_query(7, "big-mx.test", MX, edns).unwrap();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        sock.send_to(&q, addr).unwrap();
        let mut buf = [0u8; 65535];
        let (len, _) = sock.recv_from(&mut buf).unwrap();
        let v = MessageView::parse(&buf[..len]).unwrap();
        assert!(v.flags.truncated(), "edns {edns:?}");
        assert!(len <= 1232);
        assert_eq!(
            v.additional_count,
            u16::from(edns.is_some()),
            "OPT echoed only when sent"
        );
    }
    let full = ask(addr, "big-mx.test", MX, Duration::from_secs(2)).unwrap();
    assert_eq!(full.answers.len(), 10);
    let small = ask(addr, "shop1.test", MX, Duration::from_secs(2)).unwrap();
    assert_eq!(small.edns.as_ref().map(|e| e.max_payload()), Some(1232));
    let c = sim.stop().unwrap().remove(0).counters;
    assert_eq!(c.get(Event::TruncatedSize), 5);
}

#[test]
fn garbage_comes_before_the_genuine_reply() {
    let _shared = shared();
    let (sim, addr) = synthetic("garbage-id=10,garbage-question=10,garbage-random=10");
    let qs = queries(true);
    let (received, good, c) = run(sim, addr, &qs);
    assert_eq!(good.len(), N, "every query still gets its genuine reply");
    let genuine_at = crate::common::genuine_positions(addr, &qs, &received);
    let mut wrong_id = 0;
    let mut wrong_question = 0;
    let mut unreadable = 0;
    let mut late = Vec::new();
    for (k, r) in received.iter().enumerate() {
        let Some((asked, claimed)) = claims(r) else {
            unreadable += 1;
            continue;
        };
        // The query a forgery was made for: the real question's (a wrong id), or the id's (a
        // question never asked). It must arrive before that query's genuine reply.
        let forged_for = match asked {
            Some(i) if i == claimed => continue, // genuine
            Some(i) => {
                wrong_id += 1;
                i
            }
            None if claimed < N => {
                wrong_question += 1;
                claimed
            }
            None => {
                unreadable += 1;
                continue;
            }
        };
        if genuine_at.get(&forged_for).is_none_or(|g| *g < k) {
            late.push(forged_for);
        }
    }
    assert!(
        late.is_empty(),
        "{} forgeries arrived after their query's genuine reply, e.g. syn{}",
        late.len(),
        late.first().copied().unwrap_or(0)
    );
    let random = c.get(Event::GarbageRandom) as usize;
    assert_near(pct(c.get(Event::GarbageId) as usize), 10.0, "garbage-id");
    assert_near(
        pct(c.get(Event::GarbageQuestion) as usize),
        10.0,
        "garbage-question",
    );
    assert_near(pct(random), 10.0, "garbage-random");
    // Random bytes may happen to parse; everything forged is accounted for either way.
    assert_eq!(
        received.len(),
        N + c.get(Event::GarbageId) as usize + c.get(Event::GarbageQuestion) as usize + random
    );
    assert!(wrong_id as u64 >= c.get(Event::GarbageId));
    assert!(
        wrong_question + unreadable + wrong_id >= random + c.get(Event::GarbageQuestion) as usize
    );
}

#[test]
fn wrong_port_copies_precede_the_genuine_reply() {
    let _shared = shared();
    let (sim, addr) = synthetic("wrong-port=10");
    let qs = queries(true);
    let (received, good, c) = run(sim, addr, &qs);
    assert_eq!(good.len(), N);
    let foreign = received.iter().filter(|r| r.from != addr).count();
    assert!(received.iter().all(|r| r.from.ip() == addr.ip()));
    // Each copy from the wrong port arrived before its query's genuine reply.
    let genuine_at = crate::common::genuine_positions(addr, &qs, &received);
    for (k, r) in received.iter().enumerate().filter(|(_, r)| r.from != addr) {
        let (_, id) = claims(r).expect("a copy of a genuine reply parses");
        assert!(
            genuine_at[&id] > k,
            "the copy for syn{id} came after the reply"
        );
    }
    assert_near(pct(foreign), 10.0, "wrong-port");
    assert_eq!(foreign as u64, c.get(Event::WrongPort));
}

#[test]
fn case_changes_only_the_case_of_the_echoed_question() {
    let _shared = shared();
    let (sim, addr) = synthetic("case=50");
    let qs = queries(true);
    let (_, good, c) = run(sim, addr, &qs);
    assert_eq!(good.len(), N, "0x20 changes still match case-insensitively");
    let changed = good
        .iter()
        .filter(|(i, r)| {
            let sent = MessageView::parse(&qs[**i])
                .unwrap()
                .question
                .name_wire
                .to_vec();
            MessageView::parse(&r.bytes).unwrap().question.name_wire != sent.as_slice()
        })
        .count();
    assert_near(pct(changed), 50.0, "case");
    assert_eq!(changed as u64, c.get(Event::CaseChanged));
}

#[test]
fn dies_after_n_queries_over_udp_and_tcp() {
    let _shared = shared();
    let (sim, addr) = synthetic("die-after-queries=5000");
    let qs = queries(true);
    let (received, _) = blast(addr, &qs, 256, None, Duration::from_millis(300));
    let good = genuine(addr, &qs, &received);
    assert_eq!(good.len(), 5000);
    assert!(
        good.keys().all(|i| *i < 5000),
        "the first 5000 are answered, then nothing"
    );
    assert!(
        ask_tcp(addr, &qs[0], Duration::from_millis(500)).is_none(),
        "a dead resolver answers no TCP either"
    );
    let c = sim.stop().unwrap().remove(0).counters;
    assert_eq!(c.get(Event::Dead), 5000);
}

#[test]
fn dies_after_a_time() {
    let _shared = shared();
    let (sim, addr) = synthetic("die-after=300ms");
    assert!(ask(addr, "syn1.test", MX, Duration::from_secs(1)).is_some());
    std::thread::sleep(Duration::from_millis(400));
    assert!(ask(addr, "syn1.test", MX, Duration::from_millis(300)).is_none());
    sim.stop().unwrap();
}

#[test]
fn classic_queries_get_no_opt_and_malformed_ones_formerr() {
    let _shared = shared();
    let (sim, addr) = synthetic("");
    let qs = queries(false);
    let (_, good, _) = run(sim, addr, &qs[..2000]);
    assert!(
        good.values()
            .all(|r| MessageView::parse(&r.bytes).unwrap().additional_count == 0)
    );
    let (sim, addr) = synthetic("");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut bad = build_query(99, "syn1.test", MX, None).unwrap();
    bad[12] = 0xC0; // a compression pointer in the question
    sock.send_to(&bad, addr).unwrap();
    let mut buf = [0u8; 512];
    let (len, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(len, 12);
    assert_eq!(buf[3] & 0xF, 1, "FORMERR");
    sock.send_to(&[1, 2, 3], addr).unwrap();
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "a runt datagram is ignored"
    );
    let c = sim.stop().unwrap().remove(0).counters;
    assert_eq!((c.get(Event::FormErr), c.get(Event::Ignored)), (1, 1));
}

#[test]
fn decisions_repeat_under_the_same_seed() {
    let _shared = shared();
    let outcome = || {
        let (sim, addr) = synthetic("loss=10,servfail=10");
        let qs = queries(true);
        let (_, good, _) = run(sim, addr, &qs[..3000]);
        let mut v: Vec<(usize, u8)> = good.iter().map(|(i, r)| (*i, rcode(r))).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(outcome(), outcome());
}
