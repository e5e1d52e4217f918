//! The engine under a fake clock and a fake network: every retry, timeout, backoff, deadline,
//! rotation, validation and health rule.

use super::*;

const A: RecordType = RecordType::A;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 53))
}

/// A datagram the engine sent.
#[derive(Debug, Clone)]
struct Sent {
    bytes: Vec<u8>,
    to: SocketAddr,
    socket: usize,
}

struct Net {
    engine: Engine,
    t0: Instant,
}

impl Net {
    fn new(resolvers: usize, tweak: impl FnOnce(&mut EngineConfig)) -> Net {
        let mut config = EngineConfig::new((0..resolvers).map(|i| addr(2 + i as u8)).collect(), 1);
        // Names as submitted, so a test can read them; the tests of 0x20 turn it on.
        config.randomize_case = false;
        config.seed = Some(1);
        tweak(&mut config);
        Net {
            engine: Engine::new(config),
            t0: Instant::now(),
        }
    }

    fn at(&self, millis: u64) -> Instant {
        self.t0 + ms(millis)
    }

    fn send_all(&mut self, millis: u64) -> Vec<Sent> {
        let now = self.at(millis);
        self.engine.handle_timeout(now);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(t) = self.engine.poll_transmit(now, &mut buf) {
            out.push(Sent {
                bytes: buf.clone(),
                to: t.destination,
                socket: t.socket,
            });
        }
        out
    }

    fn deliver(&mut self, millis: u64, sent: &Sent, reply: Vec<u8>) {
        self.engine
            .handle_datagram(self.at(millis), sent.socket, sent.to, &reply);
    }

    fn outcomes(&mut self) -> Vec<Outcome> {
        std::iter::from_fn(|| self.engine.poll_outcome()).collect()
    }
}

/// A reply to `query`: header and question, `rcode`, `answers` A records, TC when asked.
fn reply(query: &[u8], rcode: u8, answers: u16, tc: bool) -> Vec<u8> {
    let view = MessageView::parse(query).unwrap();
    let mut r = query[..view.question_end].to_vec();
    r[2] = 0x81 | if tc { 0x02 } else { 0 };
    r[3] = 0x80 | rcode;
    r[6..12].copy_from_slice(&[0, answers as u8, 0, 0, 0, 0]);
    for _ in 0..answers {
        r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    }
    r
}

#[test]
fn answered_on_the_first_attempt() {
    let mut net = Net::new(2, |_| {});
    net.engine
        .submit(net.at(0), Question::new("example.test", A, 7));
    let sent = net.send_all(0);
    assert_eq!(sent.len(), 1);
    net.deliver(12, &sent[0], reply(&sent[0].bytes, 0, 1, false));
    let out = net.outcomes();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].tag, out[0].status, out[0].attempts),
        (7, Status::NoError, 1)
    );
    assert_eq!(out[0].rtt, Some(ms(12)));
    assert_eq!(out[0].resolver, Some(sent[0].to));
    assert!(net.engine.is_idle());
    assert_eq!(net.engine.resolvers()[0].in_flight, 0);
}

#[test]
fn nxdomain_and_nodata_are_answers_never_retried() {
    let mut net = Net::new(2, |_| {});
    net.engine.submit(net.at(0), Question::new("nx.test", A, 1));
    net.engine
        .submit(net.at(0), Question::new("nodata.test", A, 2));
    let sent = net.send_all(0);
    net.deliver(1, &sent[0], reply(&sent[0].bytes, 3, 0, false));
    net.deliver(1, &sent[1], reply(&sent[1].bytes, 0, 0, false));
    let out = net.outcomes();
    assert_eq!(
        out.iter()
            .map(|o| (o.status, o.attempts))
            .collect::<Vec<_>>(),
        [(Status::NxDomain, 1), (Status::NoData, 1)]
    );
    assert!(net.send_all(5_000).is_empty(), "nothing is sent again");
}

#[test]
fn a_timeout_retries_on_another_resolver_when_it_expires() {
    let mut net = Net::new(2, |_| {});
    net.engine
        .submit(net.at(0), Question::new("slow.test", A, 1));
    net.engine
        .submit(net.at(0), Question::new("other.test", A, 2));
    net.engine
        .submit(net.at(0), Question::new("third.test", A, 3));
    let first = net.send_all(0);
    assert_eq!(
        first[0].to, first[2].to,
        "round robin: 1 and 3 on one resolver"
    );
    // The resolver of the first query answers a later one: the first was lost.
    net.deliver(10, &first[2], reply(&first[2].bytes, 0, 1, false));
    net.deliver(10, &first[1], reply(&first[1].bytes, 0, 1, false));
    assert_eq!(
        net.engine.poll_timeout(),
        Some(net.at(800)),
        "initial timeout without an RTT estimate"
    );
    assert!(net.send_all(799).is_empty());
    let second = net.send_all(800);
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].to, first[0].to, "a different resolver");
    assert_ne!(second[0].bytes[0..2], first[0].bytes[0..2], "a fresh id");
    net.deliver(810, &second[0], reply(&second[0].bytes, 0, 1, false));
    let out = net.outcomes();
    assert_eq!((out[2].status, out[2].attempts), (Status::NoError, 2));
    assert_eq!(net.engine.stats.retries, 1);
}

#[test]
fn a_slow_resolver_gets_no_wave_of_retries() {
    let mut net = Net::new(1, |_| {});
    let sent: Vec<Sent> = (0..100)
        .map(|i| {
            net.engine
                .submit(net.at(0), Question::new(format!("q{i}.test"), A, i));
            net.send_all(0).remove(0)
        })
        .collect();
    // Its first answers take 900 ms, past the 800 ms first timeout: nothing is resent (a
    // liveness probe, the root's NS, asks whether it is alive).
    for t in 1..900 {
        for s in net.send_all(t) {
            let question = MessageView::parse(&s.bytes).unwrap().question;
            assert_eq!(question.name_wire, [0], "resent at {t} ms");
        }
    }
    for s in &sent {
        net.deliver(900, s, reply(&s.bytes, 0, 1, false));
    }
    let out = net.outcomes();
    assert_eq!(out.len(), 100);
    assert!(
        out.iter()
            .all(|o| o.status == Status::NoError && o.attempts == 1)
    );
    assert_eq!(net.engine.stats.attempts, 100);
    assert_eq!(net.engine.resolvers()[0].health, Health::Active);
    assert!(net.engine.resolvers()[0].rto().unwrap() >= ms(900));
}

#[test]
fn backoff_grows_and_the_deadline_ends_the_query() {
    let mut net = Net::new(3, |_| {});
    net.engine
        .submit(net.at(0), Question::new("black.hole.test", A, 0));
    // Other questions keep every resolver answering, so each timeout of the black hole is a
    // loss: 800 ms without an RTT, then the 250 ms floor grown by half per attempt up to the
    // 4 s ceiling.
    let mut send_times = Vec::new();
    for t in 0..=16_000 {
        if t % 50 == 0 {
            net.engine
                .submit(net.at(t), Question::new(format!("hb{t}.test"), A, t + 1));
        }
        for s in net.send_all(t) {
            if s.bytes[13..18] == *b"black" {
                send_times.push(t);
            } else {
                net.deliver(t, &s, reply(&s.bytes, 0, 1, false));
            }
        }
    }
    assert_eq!(
        send_times,
        [0, 800, 1175, 1738, 2582, 3848, 5747, 8595, 12595]
    );
    let out: Vec<Outcome> = net.outcomes().into_iter().filter(|o| o.tag == 0).collect();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].status, out[0].attempts),
        (Status::Timeout, 9),
        "the 9th attempt gets only the 2.4 s left of 15 s"
    );
}

#[test]
fn learned_rtt_sets_the_timeout() {
    let mut net = Net::new(1, |_| {});
    for i in 0..20 {
        net.engine
            .submit(net.at(0), Question::new(format!("q{i}.test"), A, i));
        let s = net.send_all(0);
        net.deliver(20, &s[0], reply(&s[0].bytes, 0, 1, false));
    }
    let rto = net.engine.resolvers()[0].rto().unwrap();
    assert!(rto >= ms(20) && rto < ms(40), "{rto:?}");
    net.engine
        .submit(net.at(100), Question::new("next.test", A, 99));
    net.send_all(100);
    assert_eq!(
        net.engine.poll_timeout(),
        Some(net.at(100) + ms(250)),
        "the 250 ms floor"
    );
}

#[test]
fn servfail_and_refused_retry_elsewhere_at_once_then_after_a_growing_delay() {
    let mut net = Net::new(2, |_| {});
    net.engine
        .submit(net.at(0), Question::new("flaky.test", A, 1));
    let first = net.send_all(0);
    net.deliver(5, &first[0], reply(&first[0].bytes, 2, 0, false));
    let second = net.send_all(5);
    assert_eq!(second.len(), 1, "at once to the resolver not yet asked");
    assert_ne!(second[0].to, first[0].to);
    net.deliver(6, &second[0], reply(&second[0].bytes, 5, 0, false));
    // Both asked (and their SERVFAILs not yet known to be the zone's): the same resolvers
    // again only after a backoff, never at once, so a rate-limited one is not hammered.
    assert!(net.send_all(105).is_empty());
    let third = net.send_all(106);
    assert_eq!(third.len(), 1, "100 ms later (doubled)");
    net.deliver(107, &third[0], reply(&third[0].bytes, 0, 1, false));
    assert_eq!(net.outcomes()[0].attempts, 3);
}

#[test]
fn servfail_everywhere_ends_as_servfail_after_max_attempts() {
    let mut net = Net::new(3, |_| {});
    net.engine
        .submit(net.at(0), Question::new("broken.test", A, 1));
    let mut tried = Vec::new();
    for t in 0..16_000 {
        for s in net.send_all(t) {
            tried.push(s.to);
            net.deliver(t, &s, reply(&s.bytes, 2, 0, false));
        }
    }
    let out = net.outcomes();
    assert_eq!((out[0].status, out[0].attempts), (Status::ServFail, 10));
    assert_eq!(
        &tried[..3],
        &[addr(2), addr(3), addr(4)],
        "each resolver once before any twice"
    );
}

#[test]
fn rotation_spreads_first_attempts_round_robin() {
    let mut net = Net::new(3, |_| {});
    for i in 0..6 {
        net.engine
            .submit(net.at(0), Question::new(format!("n{i}.test"), A, i));
    }
    let to: Vec<SocketAddr> = net.send_all(0).iter().map(|s| s.to).collect();
    assert_eq!(to, [addr(2), addr(3), addr(4), addr(2), addr(3), addr(4)]);
}

#[test]
fn replies_are_validated_and_rejections_counted() {
    let mut net = Net::new(1, |_| {});
    net.engine
        .submit(net.at(0), Question::new("victim.test", A, 1));
    let s = net.send_all(0).remove(0);
    let good = reply(&s.bytes, 0, 1, false);
    // Wrong source port.
    net.engine.handle_datagram(
        net.at(1),
        s.socket,
        SocketAddr::from(([127, 0, 0, 2], 5353)),
        &good,
    );
    // Wrong id.
    let mut wrong_id = good.clone();
    wrong_id[0] ^= 0xFF;
    net.deliver(1, &s, wrong_id);
    // Wrong question name, then wrong type.
    let mut wrong_name = good.clone();
    wrong_name[13] = b'x';
    net.deliver(1, &s, wrong_name);
    let mut wrong_type = good.clone();
    let qtype_at = MessageView::parse(&good).unwrap().question_end - 3;
    wrong_type[qtype_at] = 28;
    net.deliver(1, &s, wrong_type);
    // Not a response; garbage.
    net.deliver(1, &s, s.bytes.clone());
    net.deliver(1, &s, vec![1, 2, 3]);
    assert!(net.outcomes().is_empty(), "nothing forged was accepted");
    let st = &net.engine.stats;
    assert_eq!(
        (
            st.rejected.spoofed,
            st.rejected.late,
            st.rejected.wrong_question,
            st.rejected.malformed
        ),
        (1, 1, 2, 2)
    );
    net.deliver(2, &s, good.clone());
    assert_eq!(net.outcomes().len(), 1);
    net.deliver(3, &s, good);
    assert_eq!(
        net.engine.stats.rejected.duplicates, 1,
        "a second copy of an answer is a duplicate"
    );
}

#[test]
fn a_late_answer_to_an_earlier_attempt_is_taken() {
    let mut net = Net::new(2, |_| {});
    net.engine
        .submit(net.at(0), Question::new("late.test", A, 1));
    net.engine
        .submit(net.at(0), Question::new("other.test", A, 2));
    net.engine
        .submit(net.at(0), Question::new("third.test", A, 3));
    let sent = net.send_all(0);
    let first = sent[0].clone();
    // Its resolver answers a later question, so the first attempt counts as lost at 800 ms.
    net.deliver(10, &sent[2], reply(&sent[2].bytes, 0, 1, false));
    net.deliver(10, &sent[1], reply(&sent[1].bytes, 0, 1, false));
    assert_eq!(net.outcomes().len(), 2);
    let _second = net.send_all(800).remove(0);
    net.deliver(850, &first, reply(&first.bytes, 0, 1, false));
    assert_eq!(net.engine.stats.stale_answers, 1);
    let out = net.outcomes();
    assert_eq!(
        (out[0].status, out[0].resolver),
        (Status::NoError, Some(first.to))
    );
    assert_eq!(
        net.engine
            .resolvers()
            .iter()
            .map(|r| r.in_flight)
            .sum::<usize>(),
        0,
        "abandoned attempt released"
    );
}

#[test]
fn case_randomisation_takes_only_an_exact_echo() {
    let mut net = Net::new(1, |c| c.randomize_case = true);
    let name = "abcdefghijklmnopqrstuvwxyz.example.test";
    net.engine.submit(net.at(0), Question::new(name, A, 1));
    let s = net.send_all(0).remove(0);
    let sent_name = MessageView::parse(&s.bytes)
        .unwrap()
        .question
        .name_wire
        .to_vec();
    assert_ne!(
        sent_name,
        build_query(0, name, u16::from(A), None).unwrap()[12..12 + sent_name.len()].to_vec()
    );
    let mut mangled = reply(&s.bytes, 0, 1, false);
    mangled[13..18].make_ascii_uppercase();
    if mangled[13..18] != s.bytes[13..18] {
        net.deliver(1, &s, mangled);
        assert!(
            net.outcomes().is_empty(),
            "a reply in another case is refused"
        );
        assert_eq!(net.engine.stats.case_mismatch, 1);
    }
    net.deliver(2, &s, reply(&s.bytes, 0, 1, false));
    assert_eq!(net.outcomes()[0].status, Status::NoError);
}

#[test]
fn case_randomisation_turns_off_for_a_resolver_that_never_echoes() {
    let mut net = Net::new(1, |c| c.randomize_case = true);
    let name = "abcdefghijklmnopqrstuvwxyz.example.test";
    for i in 0..40 {
        net.engine.submit(net.at(i), Question::new(name, A, i));
        let s = net.send_all(i).remove(0);
        let mut r = reply(&s.bytes, 0, 1, false);
        r[13..39].make_ascii_lowercase();
        net.deliver(i, &s, r);
    }
    assert!(!net.engine.resolvers()[0].case_echoed);
    assert!(net.engine.poll_warning().unwrap().contains("0x20 is off"));
    net.engine.submit(net.at(100), Question::new(name, A, 99));
    let s = net.send_all(100).remove(0);
    assert_eq!(
        &s.bytes[13..39],
        b"abcdefghijklmnopqrstuvwxyz",
        "sent as submitted"
    );
    net.deliver(101, &s, reply(&s.bytes, 0, 1, false));
    assert!(net.outcomes().iter().any(|o| o.tag == 99));
}

#[test]
fn truncation_moves_to_tcp_and_tcp_failure_retries() {
    let mut net = Net::new(2, |_| {});
    net.engine
        .submit(net.at(0), Question::new("big.test", RecordType::MX, 1));
    let s = net.send_all(0).remove(0);
    net.deliver(1, &s, reply(&s.bytes, 0, 0, true));
    let req = net.engine.poll_tcp().expect("a TCP request");
    assert_eq!(req.resolver, s.to);
    assert!(net.engine.poll_tcp().is_none());
    // The connection broke: the query goes back to UDP on the other resolver.
    net.engine.handle_tcp(net.at(2), req.token, None);
    let again = net.send_all(2);
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].to, s.to);
    net.deliver(3, &again[0], reply(&again[0].bytes, 0, 0, true));
    let req = net.engine.poll_tcp().unwrap();
    let full = reply(&build_query(0, "big.test", 15, None).unwrap(), 0, 3, false);
    net.engine.handle_tcp(net.at(4), req.token, Some(&full));
    let out = net.outcomes();
    assert_eq!(
        (out[0].status, out[0].truncated, out[0].attempts),
        (Status::NoError, true, 2)
    );
    assert_eq!(net.engine.stats.tcp_fallbacks, 2);
}

#[test]
fn a_stuck_tcp_request_times_out() {
    let mut net = Net::new(1, |_| {});
    net.engine
        .submit(net.at(0), Question::new("big.test", RecordType::MX, 1));
    let s = net.send_all(0).remove(0);
    net.deliver(1, &s, reply(&s.bytes, 0, 0, true));
    let req = net.engine.poll_tcp().unwrap();
    assert!(req.deadline <= net.at(1 + 4_000));
    // TCP is given up after twice an attempt's timeout (at least the 250 ms floor each), not
    // the 4 s ceiling: then UDP again.
    let again = (2..4_000)
        .find(|&t| !net.send_all(t).is_empty())
        .expect("UDP again before the ceiling");
    assert!((500..=2_000).contains(&again), "{again} ms");
    assert_eq!(net.at(again), req.deadline.max(net.at(again)));
    net.engine
        .handle_tcp(net.at(again + 1), req.token, Some(&[0; 12]));
    assert!(net.outcomes().is_empty(), "a stale TCP answer is ignored");
}

#[test]
fn backpressure_waits_without_costing_an_attempt() {
    let mut net = Net::new(1, |c| c.limits.max_in_flight = 1);
    net.engine
        .submit(net.at(0), Question::new("one.test", A, 1));
    net.engine
        .submit(net.at(0), Question::new("two.test", A, 2));
    let first = net.send_all(0);
    assert_eq!(first.len(), 1);
    assert!(net.engine.stats.backpressure >= 1);
    net.deliver(1, &first[0], reply(&first[0].bytes, 0, 1, false));
    let second = net.send_all(1);
    assert_eq!(second.len(), 1);
    net.deliver(2, &second[0], reply(&second[0].bytes, 0, 1, false));
    let out = net.outcomes();
    assert_eq!(out.iter().map(|o| o.attempts).collect::<Vec<_>>(), [1, 1]);
}

#[test]
fn qps_limit_paces_sends() {
    let mut net = Net::new(1, |c| c.limits.qps = Some(500.0));
    for i in 0..2000 {
        net.engine
            .submit(net.at(0), Question::new(format!("q{i}.test"), A, i));
    }
    let mut sent_in_first_second = 0;
    for t in 0..1000 {
        for s in net.send_all(t) {
            sent_in_first_second += 1;
            net.deliver(t, &s, reply(&s.bytes, 0, 1, false));
        }
    }
    // 500 per second plus the 10-query burst.
    assert!(
        (500..=511).contains(&sent_in_first_second),
        "{sent_in_first_second}"
    );
    assert!(net.outcomes().iter().all(|o| o.attempts == 1));
}

#[test]
fn a_servfail_only_resolver_is_benched_and_probed_back() {
    let mut net = Net::new(2, |_| {});
    let bad = addr(3);
    let mut t = 0;
    for i in 0..200 {
        net.engine
            .submit(net.at(t), Question::new(format!("q{i}.test"), A, i));
        for _ in 0..200 {
            for s in net.send_all(t) {
                let rcode = if s.to == bad { 2 } else { 0 };
                net.deliver(t, &s, reply(&s.bytes, rcode, 1, false));
            }
            t += 1;
            if net.engine.in_flight() == 0 {
                break;
            }
        }
    }
    let bad_state = &net.engine.resolvers()[1];
    assert!(
        bad_state.stats.benched >= 1,
        "benched: {:?}",
        bad_state.health
    );
    assert!(
        bad_state.stats.sent < 60,
        "few queries went to the bad resolver: {}",
        bad_state.stats.sent
    );
    assert!(
        net.outcomes().iter().all(|o| o.status == Status::NoError),
        "nothing lost"
    );
}

#[test]
fn a_silent_resolver_goes_down_and_its_queries_move_uncharged() {
    let mut net = Net::new(2, |c| {
        c.limits.down_after = ms(500);
        c.retry.initial_timeout = ms(100);
    });
    let silent = addr(2);
    let mut t = 0;
    for i in 0..100 {
        net.engine
            .submit(net.at(t), Question::new(format!("q{i}.test"), A, i));
    }
    while net.engine.in_flight() > 0 && t < 10_000 {
        for s in net.send_all(t) {
            if s.to != silent {
                net.deliver(t, &s, reply(&s.bytes, 0, 1, false));
            }
        }
        t += 1;
    }
    let r = &net.engine.resolvers()[0];
    assert!(matches!(r.health, Health::Down { .. }), "{:?}", r.health);
    assert_eq!(r.stats.downs, 1);
    assert!(r.stats.probes >= 1, "probed while down");
    assert_eq!(net.engine.stats.retries, 0, "moves are not retries");
    let out = net.outcomes();
    assert_eq!(out.len(), 100);
    assert!(
        out.iter()
            .all(|o| o.status == Status::NoError && o.resolver == Some(addr(3)))
    );
}

#[test]
fn when_every_resolver_is_down_queries_wait_and_go_on_when_one_answers() {
    let mut net = Net::new(1, |c| {
        c.limits.down_after = ms(1000);
        c.retry.initial_timeout = ms(100);
    });
    for i in 0..3 {
        net.engine
            .submit(net.at(0), Question::new(format!("q{i}.test"), A, i));
    }
    // Silent for 30 s, three deadlines: nothing ends, the resolver is probed with backoff.
    let mut probes = Vec::new();
    for t in 0..30_000 {
        for s in net.send_all(t) {
            if MessageView::parse(&s.bytes).unwrap().question.qtype == 2 {
                probes.push(t);
            }
        }
    }
    assert!(net.outcomes().is_empty(), "the queries wait");
    assert_eq!(net.engine.in_flight(), 3);
    assert!(net.engine.outage_since().is_some());
    // The first probe checks whether the silent resolver is alive before it is called down.
    assert!(probes[0] < 1000, "{probes:?}");
    let gaps: Vec<u64> = probes[1..].windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(&gaps[..5], [250, 500, 1000, 2000, 4000], "{probes:?}");
    assert!(gaps[5..].iter().all(|g| *g == 4000), "capped: {gaps:?}");
    // It comes back: the next probe is answered and the queries go out, uncharged.
    let mut t = 30_000;
    while net.engine.in_flight() > 0 && t < 40_000 {
        for s in net.send_all(t) {
            net.deliver(t, &s, reply(&s.bytes, 0, 1, false));
        }
        t += 1;
    }
    let out = net.outcomes();
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|o| o.status == Status::NoError), "{out:?}");
    assert!(net.engine.outage_since().is_none());
    assert!(net.engine.outage_total().as_secs_f64() > 25.0);
}

#[test]
fn names_that_cannot_be_encoded_end_at_once() {
    let mut net = Net::new(1, |_| {});
    net.engine.submit(
        net.at(0),
        Question::new(format!("{}.test", "x".repeat(64)), A, 1),
    );
    assert_eq!(net.outcomes()[0].status, Status::BadName);
    assert!(net.send_all(0).is_empty());
}

proptest::proptest! {
    #[test]
    fn hostile_replies_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..700)) {
        crate::fuzzing::reply_path(&data);
    }

    /// Valid-looking headers with random counts and sections reach deeper into the decoders.
    #[test]
    fn hostile_replies_with_our_question_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..400), flags in 0u16.., counts in proptest::array::uniform3(0u16..8)) {
        let mut msg = build_query(0, "q0.example.test", 1, None).unwrap();
        msg[2..4].copy_from_slice(&(flags | 0x8000).to_be_bytes());
        for (i, c) in counts.iter().enumerate() {
            msg[6 + 2 * i..8 + 2 * i].copy_from_slice(&c.to_be_bytes());
        }
        msg.extend_from_slice(&tail);
        crate::fuzzing::reply_path(&msg);
    }
}

#[test]
fn a_late_answer_from_a_resolver_that_went_down_brings_it_back() {
    let mut net = Net::new(1, |c| {
        c.limits.down_after = ms(1000);
        c.retry.initial_timeout = ms(100);
    });
    net.engine.submit(net.at(0), Question::new("q0.test", A, 0));
    net.engine.submit(net.at(0), Question::new("q1.test", A, 1));
    let first = net.send_all(0);
    assert_eq!(first.len(), 2);
    for t in 1..2_000 {
        net.send_all(t);
    }
    assert!(
        net.engine.outage_since().is_some(),
        "down, and with it the scan"
    );
    net.deliver(2_000, &first[0], reply(&first[0].bytes, 0, 1, false));
    assert_eq!(net.engine.resolvers()[0].health, Health::Active);
    assert!(net.engine.outage_since().is_none());
    // q1 goes out again at once, uncharged, and is answered.
    let again = net.send_all(2_000);
    let q1 = again
        .iter()
        .find(|s| MessageView::parse(&s.bytes).unwrap().question.qtype == u16::from(A))
        .expect("q1 re-sent");
    net.deliver(2_001, q1, reply(&q1.bytes, 0, 1, false));
    let out = net.outcomes();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|o| o.status == Status::NoError));
    assert_eq!(net.engine.stats.retries, 0);
}

/// Answers every query of `net` at `t` with `rcode` from the resolvers `rcode_of` picks, until
/// nothing is in flight or `until` ms; returns each outcome with the resolvers asked.
fn run_until_idle(
    net: &mut Net,
    from: u64,
    until: u64,
    mut rcode_of: impl FnMut(&str, SocketAddr) -> Option<u8>,
) -> (u64, Vec<SocketAddr>) {
    let mut asked = Vec::new();
    for t in from..until {
        for s in net.send_all(t) {
            asked.push(s.to);
            let name = MessageView::parse(&s.bytes).unwrap().question.name_wire[1..]
                .iter()
                .map(|&b| b as char)
                .collect::<String>();
            if let Some(rcode) = rcode_of(&name, s.to) {
                let answers = u16::from(rcode == 0);
                net.deliver(t, &s, reply(&s.bytes, rcode, answers, false));
            }
        }
        if net.engine.in_flight() == 0 {
            return (t, asked);
        }
    }
    (until, asked)
}

/// Asks 3 000 questions one after another, each answered: the resolvers measure their loss
/// (none). Returns the time after the last.
fn measure_a_clean_farm(net: &mut Net) -> u64 {
    let mut t = 0;
    for i in 0..3000 {
        net.engine
            .submit(net.at(t), Question::new(format!("q{i}.test"), A, i));
        let (end, _) = run_until_idle(net, t, t + 20_000, |_, _| Some(0));
        t = end + 1;
    }
    net.outcomes();
    t
}

#[test]
fn a_servfail_that_peers_confirm_is_final_after_each_resolver_once() {
    let mut net = Net::new(3, |_| {});
    let mut t = 0;
    // Broken zones: every resolver says SERVFAIL. The first lookups build the record that
    // their SERVFAILs agree; from then on each broken question is asked of each resolver
    // once (`--servfail-tries` 3), never twice of one, and ends SERVFAIL at once.
    for i in 0..7 {
        net.engine
            .submit(net.at(t), Question::new(format!("dead{i}.test"), A, i));
        let (end, asked) = run_until_idle(&mut net, t, t + 20_000, |_, _| Some(2));
        let out = net.outcomes();
        assert_eq!(out[0].status, Status::ServFail);
        if i >= 4 {
            assert_eq!(out[0].attempts, 3, "lookup {i}: {asked:?}");
            let mut distinct = asked.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), 3, "each resolver once: {asked:?}");
            assert!(end - t < 10, "no backoff between resolvers: {} ms", end - t);
        }
        t = end + 1;
    }
    // `--servfail-tries 1`: the first resolver's SERVFAIL is final.
    net.engine.retry.servfail_tries = 1;
    net.engine
        .submit(net.at(t), Question::new("dead9.test", A, 9));
    run_until_idle(&mut net, t, t + 20_000, |_, _| Some(2));
    assert_eq!(net.outcomes()[0].attempts, 1);
    assert!(net.engine.resolvers().iter().all(|r| r.stats.benched == 0));
}

#[test]
fn a_servfail_that_peers_contradict_is_retried_and_counts_against_the_resolver() {
    // Resolver 127.0.0.3 says SERVFAIL to a tenth of the questions, its peer answers them:
    // its SERVFAILs never become final, and no lookup ends SERVFAIL.
    let mut net = Net::new(2, |_| {});
    let flaky = addr(3);
    let mut t = 0;
    let mut n = 0u64;
    for i in 0..300 {
        net.engine
            .submit(net.at(t), Question::new(format!("q{i}.test"), A, i));
        let (end, _) = run_until_idle(&mut net, t, t + 20_000, |_, to| {
            n += 1;
            Some(if to == flaky && n.is_multiple_of(10) {
                2
            } else {
                0
            })
        });
        t = end + 1;
    }
    let out = net.outcomes();
    assert!(out.iter().all(|o| o.status == Status::NoError));
    let r = &net.engine.resolvers()[1];
    assert!(!r.servfail_trusted(true, net.at(t)));
    assert!(r.failure_rate > 0.0);
}

/// Submits one question `<name>.test` every 10 ms from time 0, sending what is ready each
/// tick and answering at once the attempts `answer` says yes to (given the name's first label).
/// Returns the time after the last.
fn stream_questions(
    net: &mut Net,
    names: impl Iterator<Item = String>,
    mut answer: impl FnMut(&str) -> bool,
) -> u64 {
    let mut t = 0;
    for (i, name) in names.enumerate() {
        net.engine.submit(
            net.at(t),
            Question::new(format!("{name}.test"), A, i as u64),
        );
        for s in net.send_all(t) {
            let wire = MessageView::parse(&s.bytes)
                .unwrap()
                .question
                .name_wire
                .to_vec();
            let label = std::str::from_utf8(&wire[1..=wire[0] as usize]).unwrap();
            if answer(label) {
                net.deliver(t, &s, reply(&s.bytes, 0, 1, false));
            }
        }
        t += 10;
    }
    t
}

/// Asks `dead.test` at `t` among a stream of other questions, one every 10 ms, which the
/// resolvers answer at once but for those whose name starts with "dz" (dead zones, like
/// `dead.test`): both resolvers stay silent on them. Returns its outcome's attempts, the
/// attempts sent for it, and the time it took (ms).
fn a_dead_question_among_answered_ones(net: &mut Net, mut t: u64) -> (u32, u32, u64) {
    let start = t;
    net.engine
        .submit(net.at(t), Question::new("dead.test", A, 9999));
    let mut other = 10_000;
    let mut asked = 0;
    while net.engine.in_flight() > 0 && t < start + 20_000 {
        net.engine
            .submit(net.at(t), Question::new(format!("o{other}.test"), A, other));
        other += 1;
        for s in net.send_all(t) {
            let name = MessageView::parse(&s.bytes).unwrap().question.name_wire;
            if name[1..5] == *b"dead" {
                asked += 1;
            } else if name[1..3] != *b"dz" {
                net.deliver(t, &s, reply(&s.bytes, 0, 1, false));
            }
        }
        t += 10;
        if let Some(o) = net.outcomes().into_iter().find(|o| o.tag == 9999) {
            assert_eq!(o.status, Status::Timeout);
            return (o.attempts, asked, t - 10 - start);
        }
    }
    panic!("the dead question did not end");
}

#[test]
fn a_question_no_resolver_answers_ends_after_three_attempts_and_five_seconds() {
    let mut net = Net::new(2, |_| {});
    // A clean farm: 3 000 questions answered, which measures its loss (none).
    let t = measure_a_clean_farm(&mut net);
    let (attempts, asked, took) = a_dead_question_among_answered_ones(&mut net, t);
    assert_eq!(
        (attempts, asked),
        (3, 3),
        "three attempts at under 1 % loss"
    );
    assert!(
        (5_000..5_100).contains(&took),
        "ends 5 s after its start: {took}"
    );
}

#[test]
fn questions_nobody_answers_are_no_loss_of_the_path() {
    let mut net = Net::new(2, |_| {});
    // A farm whose questions are one in twenty for dead zones: their first attempts time out
    // on every resolver, but that is the zones', not loss by chance, and does not make the
    // next dead question wait for more timeouts (counted as loss, 5 % would have it take six).
    let names = (0..3000).map(|i| format!("{}{i}", if i % 20 == 0 { "dz" } else { "q" }));
    let t = stream_questions(&mut net, names, |name| !name.starts_with("dz"));
    net.outcomes();
    let resolvers = net.engine.resolvers();
    assert!(resolvers.iter().all(|r| r.chance_loss() < 0.01));
    // The dead zones' first attempts fall to one resolver (the picks alternate).
    assert!(
        resolvers.iter().any(|r| r.loss_rate() > 0.05),
        "the path's loss counts them"
    );
    let (attempts, asked, took) = a_dead_question_among_answered_ones(&mut net, t);
    assert_eq!((attempts, asked), (3, 3));
    assert!((5_000..5_100).contains(&took), "{took}");
}

#[test]
fn a_retry_is_lost_less_often_than_a_first_attempt_and_a_dead_question_ends_sooner() {
    let mut net = Net::new(2, |_| {});
    // One first attempt in five, on both resolvers, is lost (a cold recursion past its
    // timeout); every retry is answered. The first timeout of a dead question is then chance
    // at 30 % (1.5 × 20 %), its retries' at the 1 % floor: four attempts reach one in a
    // million (at 30 % each, twelve would: past the deadline).
    let mut dropped = std::collections::HashSet::new();
    let names = (0..6000).map(|i| format!("q{i}"));
    let t = stream_questions(&mut net, names, |name| {
        let n: u64 = name[1..].parse().unwrap();
        !(n.is_multiple_of(5) && dropped.insert(n))
    });
    let (end, _) = run_until_idle(&mut net, t, t + 20_000, |_, _| Some(0));
    let t = end + 1;
    assert!(net.outcomes().iter().all(|o| o.status == Status::NoError));
    for r in net.engine.resolvers() {
        assert!(r.chance_loss() > 0.1, "{}", r.chance_loss());
        assert!(r.retry_loss() < 0.01, "{}", r.retry_loss());
    }
    let (attempts, asked, took) = a_dead_question_among_answered_ones(&mut net, t);
    assert_eq!((attempts, asked), (4, 4));
    assert!(took < 6_000, "{took}");
}

#[test]
fn a_question_only_a_busy_resolver_may_take_does_not_hold_up_the_others() {
    let mut net = Net::new(2, |c| c.limits.max_in_flight = 1);
    let mut t = 0;
    // Build the record that the two resolvers' SERVFAILs agree.
    for i in 0..5 {
        net.engine
            .submit(net.at(t), Question::new(format!("dead{i}.test"), A, i));
        let (end, _) = run_until_idle(&mut net, t, t + 20_000, |_, _| Some(2));
        t = end + 1;
    }
    net.outcomes();
    // 127.0.0.3 is busy with a question it does not answer yet; 127.0.0.2 says SERVFAIL to
    // another, which now may only go to 127.0.0.3. A third question behind it goes to
    // 127.0.0.2 at once.
    net.engine
        .submit(net.at(t), Question::new("slow.test", A, 100));
    net.engine
        .submit(net.at(t), Question::new("broken.test", A, 101));
    let sent = net.send_all(t);
    assert_eq!(sent.len(), 2);
    let broken = sent.iter().find(|s| s.to == addr(2)).unwrap();
    net.deliver(t, broken, reply(&broken.bytes, 2, 0, false));
    net.engine
        .submit(net.at(t), Question::new("fine.test", A, 102));
    let next = net.send_all(t + 1);
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].to, addr(2));
    net.deliver(t + 1, &next[0], reply(&next[0].bytes, 0, 1, false));
    let out = net.outcomes();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].tag, 102);
}

#[test]
fn a_live_resolver_owing_only_dead_questions_is_not_called_down() {
    let mut net = Net::new(2, |_| {});
    // A clean farm measures its loss (none) …
    let mut t = measure_a_clean_farm(&mut net);
    // … then only dead questions are left: nothing else is asked, so nothing else is
    // answered. The resolvers answer the liveness probe (root NS), so they stay up, and the
    // dead questions end after their attempts and 5 s, as TIMEOUT, charging nobody.
    for i in 0..4 {
        net.engine.submit(
            net.at(t),
            Question::new(format!("dead{i}.test"), A, 100 + i),
        );
    }
    let start = t;
    while net.engine.in_flight() > 0 && t < start + 20_000 {
        for s in net.send_all(t) {
            if MessageView::parse(&s.bytes).unwrap().question.qtype == 2 {
                net.deliver(t, &s, reply(&s.bytes, 0, 1, false));
            }
        }
        t += 1;
    }
    let out = net.outcomes();
    assert_eq!(out.len(), 4);
    assert!(
        out.iter()
            .all(|o| o.status == Status::Timeout && o.attempts <= 4),
        "{out:?} {:?}",
        net.engine
            .resolvers()
            .iter()
            .map(|r| &r.stats)
            .collect::<Vec<_>>()
    );
    assert!(t - start < 6_000, "{} ms", t - start);
    for r in net.engine.resolvers() {
        assert_eq!((r.stats.downs, r.stats.benched), (0, 0), "{:?}", r.stats);
        assert_eq!(r.failure_rate, 0.0);
    }
}

/// The ids of the first `n` queries an engine seeded by the OS sends.
fn first_ids(n: usize) -> Vec<u16> {
    let mut net = Net::new(1, |c| c.seed = None);
    for i in 0..n as u64 {
        net.engine
            .submit(net.at(0), Question::new(format!("q{i}.test"), A, i));
    }
    let sent = net.send_all(0);
    sent.iter()
        .map(|s| u16::from_be_bytes([s.bytes[0], s.bytes[1]]))
        .collect()
}

#[test]
fn two_runs_share_no_id_sequence() {
    let (one, two) = (first_ids(64), first_ids(64));
    assert_eq!((one.len(), two.len()), (64, 64));
    // Two random sequences of 64 ids agree in a place with odds of about 1 in 1 000.
    let same = one.iter().zip(&two).filter(|(a, b)| a == b).count();
    assert!(same <= 2, "{same} ids in the same place: {one:?} {two:?}");
    assert_ne!(one[..4], two[..4]);
}

#[test]
fn a_socket_is_retired_and_bound_again_once_its_queries_end() {
    let mut net = Net::new(1, |c| c.sockets = 2);
    // The first call starts the rotation's clock; a second later socket 0 is retired.
    net.send_all(0);
    net.engine
        .submit(net.at(0), Question::new("early.test", A, 1));
    let early = net.send_all(0);
    assert_eq!(net.engine.poll_rebind(), None);
    let t = ROTATE_EVERY.as_millis() as u64;
    net.send_all(t);
    for i in 0..8 {
        net.engine
            .submit(net.at(t), Question::new(format!("late{i}.test"), A, 10 + i));
    }
    let late = net.send_all(t);
    let on_zero = |sent: &[Sent]| sent.iter().filter(|s| s.socket == 0).count();
    assert_eq!(on_zero(&late), 0, "a retired socket takes no new query");
    // The early query may have gone out on socket 0: until it ends, the socket is kept.
    if on_zero(&early) == 1 {
        assert_eq!(net.engine.poll_rebind(), None);
        net.deliver(t, &early[0], reply(&early[0].bytes, 0, 1, false));
    }
    assert_eq!(net.engine.poll_rebind(), Some(0));
    net.engine.rebound(0, net.at(t));
    assert_eq!(net.engine.poll_rebind(), None);
    assert_eq!(net.engine.stats.ports_rotated, 1);
}
