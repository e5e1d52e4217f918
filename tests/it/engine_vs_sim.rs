//! The engine and its driver against `mxscan sim` with faults, on loopback: nothing is lost,
//! nothing forged is accepted, and the health and rate rules hold.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use mxscan::engine::{Engine, EngineConfig, Health, Outcome, Question, Status};
use mxscan::io::driver::{self, DriverConfig};
use mxscan::sim::world::resolve;
use mxscan::sim::{self, Event, ResolverConfig, ResolverReport, SyntheticWorld};

const MX: RecordType = RecordType::MX;

/// Starts one sim resolver per fault profile, all serving a synthetic world of `n` domains.
fn farm(n: u64, profiles: &[&str]) -> (sim::SimHandle, Vec<SocketAddr>) {
    let configs: Vec<ResolverConfig> = profiles
        .iter()
        .map(|p| ResolverConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            faults: p.parse().unwrap(),
        })
        .collect();
    let handle = sim::start(Arc::new(SyntheticWorld::new(n, 1)), &configs, 11).unwrap();
    let addrs = handle.addrs();
    (handle, addrs)
}

/// Resolves the MX of `syn0.test` … `syn{n-1}.test` and returns the outcomes by index.
fn scan(
    resolvers: Vec<SocketAddr>,
    n: u64,
    tweak: impl FnOnce(&mut EngineConfig),
) -> (HashMap<u64, Outcome>, Engine, Duration) {
    let mut config = EngineConfig::new(resolvers.clone(), 4);
    config.retry.initial_timeout = Duration::from_millis(300);
    tweak(&mut config);
    let mut sockets = driver::bind_sockets(config.sockets, &resolvers).unwrap();
    let driver_config = DriverConfig {
        sockets: config.sockets,
        window: 2_000,
        stop: None,
        input_deadline: None,
        give_up: Some(Duration::from_secs(60)),
    };
    let mut engine = Engine::new(config);
    let mut input = (0..n).map(|i| Question::new(format!("syn{i}.test"), MX, i));
    let mut outcomes = HashMap::new();
    let started = Instant::now();
    driver::run(
        &mut engine,
        &mut sockets,
        &driver_config,
        &mut input,
        &mut |o| {
            assert!(
                outcomes.insert(o.tag, o).is_none(),
                "one outcome per lookup"
            );
            Ok(())
        },
    )
    .unwrap();
    (outcomes, engine, started.elapsed())
}

/// Every outcome carries exactly the world's answer (rcode and answer records).
fn assert_all_correct(outcomes: &HashMap<u64, Outcome>, n: u64) {
    assert_eq!(outcomes.len() as u64, n);
    let world = SyntheticWorld::new(n, 1);
    let mut wrong = Vec::new();
    for (i, o) in outcomes {
        let want = resolve(
            &world,
            &Name::from_ascii(format!("syn{i}.test.")).unwrap(),
            RecordType::MX,
        );
        let got = o.reply.as_deref().and_then(|b| Message::from_vec(b).ok());
        let ok = got.is_some_and(|m| {
            m.metadata.response_code == want.rcode
                && m.answers
                    .iter()
                    .map(|r| &r.data)
                    .eq(want.answers.iter().map(|r| &r.data))
        });
        if !ok {
            wrong.push(format!(
                "syn{i}.test: {:?} after {} attempts",
                o.status, o.attempts
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong or missing answers, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

fn stop(handle: sim::SimHandle) -> Vec<ResolverReport> {
    handle.stop().unwrap()
}

#[test]
fn five_percent_loss_loses_nothing() {
    let n = 100_000;
    let (sim, addrs) = farm(n, &["loss=5", "loss=5"]);
    let (outcomes, engine, _) = scan(addrs, n, |_| {});
    let answered = outcomes
        .values()
        .filter(|o| o.status != Status::Timeout)
        .count();
    assert!(
        answered as f64 >= 0.999 * n as f64,
        "{answered} of {n} answered"
    );
    assert_all_correct(&outcomes, n);
    let lost: u64 = stop(sim).iter().map(|r| r.counters.get(Event::Lost)).sum();
    assert!(lost > 4_000, "the sim did lose queries: {lost}");
    // Every lost query was sent again: retried, or moved off a resolver that fell silent at
    // the end of the run (which costs no attempt).
    assert!(engine.stats.retries + engine.stats.moved >= lost);
}

#[test]
fn a_resolver_dying_mid_run_loses_no_name() {
    let n = 60_000;
    let (sim, addrs) = farm(n, &["", "", "die-after-queries=5000", ""]);
    let dying = addrs[2];
    let (outcomes, engine, _) = scan(addrs, n, |c| {
        c.limits.down_after = Duration::from_millis(300);
    });
    assert_all_correct(&outcomes, n);
    let r = engine.resolvers().iter().find(|r| r.addr == dying).unwrap();
    assert!(
        matches!(r.health, Health::Down { .. }),
        "the silent resolver is down: {:?}",
        r.health
    );
    assert!(
        r.stats.sent < 5_000 + 3_000,
        "few queries wasted on it: {}",
        r.stats.sent
    );
    stop(sim);
}

#[test]
fn a_servfail_only_resolver_is_benched() {
    let n = 20_000;
    let (sim, addrs) = farm(n, &["", "servfail=100", ""]);
    let bad = addrs[1];
    let (outcomes, engine, _) = scan(addrs, n, |_| {});
    assert_all_correct(&outcomes, n);
    let r = engine.resolvers().iter().find(|r| r.addr == bad).unwrap();
    assert!(r.stats.benched >= 1, "benched: {:?}", r.health);
    assert!(
        r.stats.sent < n / 10,
        "the bad resolver got {} of {n} queries",
        r.stats.sent
    );
    stop(sim);
}

#[test]
fn the_qps_limit_holds() {
    let n = 20_000;
    let (sim, addrs) = farm(n, &["", ""]);
    let (outcomes, engine, elapsed) = scan(addrs, n, |c| c.limits.qps = Some(8_000.0));
    assert_all_correct(&outcomes, n);
    let rate = engine.stats.attempts as f64 / elapsed.as_secs_f64();
    assert!(
        (rate - 8_000.0).abs() / 8_000.0 < 0.05,
        "{rate:.0} queries/s for a limit of 8000"
    );
    stop(sim);
}

#[test]
fn truncated_answers_complete_over_tcp() {
    let n = 10_000;
    let (sim, addrs) = farm(n, &["truncate=30", "truncate=30"]);
    let (outcomes, engine, _) = scan(addrs, n, |_| {});
    assert_all_correct(&outcomes, n);
    let over_tcp = outcomes.values().filter(|o| o.truncated).count();
    assert!(
        (2_700..3_300).contains(&over_tcp),
        "{over_tcp} of {n} over TCP"
    );
    assert_eq!(engine.stats.tcp_fallbacks as usize, over_tcp);
    let tcp: u64 = stop(sim)
        .iter()
        .map(|r| r.counters.get(Event::TcpQuery))
        .sum();
    assert_eq!(tcp as usize, over_tcp);
}

#[test]
fn a_case_mangling_resolver_loses_nothing() {
    let n = 20_000;
    for randomize in [false, true] {
        let (sim, addrs) = farm(n, &["case=100"]);
        let (outcomes, engine, _) = scan(addrs, n, |c| c.randomize_case = randomize);
        assert_all_correct(&outcomes, n);
        // Mangled replies are accepted, never rejected as another question.
        assert_eq!(
            engine.stats.rejected.wrong_question, 0,
            "{:?}",
            engine.stats
        );
        if !randomize {
            assert!(
                engine.stats.case_changed as f64 > 0.9 * n as f64,
                "{:?}",
                engine.stats
            );
        }
        stop(sim);
    }
}

#[test]
fn forged_replies_are_rejected_and_counted() {
    let n = 20_000;
    let (sim, addrs) = farm(
        n,
        &["garbage-id=5,garbage-question=5,garbage-random=5,wrong-port=5"],
    );
    let (outcomes, engine, _) = scan(addrs, n, |_| {});
    assert_all_correct(&outcomes, n);
    let c = &stop(sim)[0].counters;
    let s = &engine.stats;
    // Every spoofed count is a wrong-port copy; a few copies may still sit unread in the
    // socket when the last lookup ends the run, so "all but a handful" is the exact claim.
    let wrong_port = c.get(Event::WrongPort);
    assert!(
        s.rejected.spoofed <= wrong_port && s.rejected.spoofed as f64 >= 0.95 * wrong_port as f64,
        "{} spoofed for {wrong_port} wrong-port copies",
        s.rejected.spoofed
    );
    let forged =
        c.get(Event::GarbageId) + c.get(Event::GarbageQuestion) + c.get(Event::GarbageRandom);
    // Forged copies from the right address are rejected on their id, question or form.
    let rejected =
        s.rejected.wrong_question + s.rejected.late + s.rejected.malformed + s.rejected.duplicates;
    assert!(
        rejected >= forged,
        "{rejected} rejected for {forged} forged"
    );
    assert!(forged > 2_000);
}
