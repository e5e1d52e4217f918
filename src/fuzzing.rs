//! Harnesses for fuzzing, property tests and benchmarks, outside the public API: built for
//! the crate's own tests and with the `fuzzing` feature (`fuzz/`, the analysis benchmark).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::engine::{Engine, EngineConfig, Outcome, Question, Status};
use crate::sim::world::{Zones, resolve};
use crate::wire::{MessageView, Rcode};

/// The reply path driven by arbitrary bytes, shared by the cargo-fuzz target (`fuzz/`) and a
/// proptest, so that stable CI exercises it too.
struct Harness {
    engine: Engine,
    now: Instant,
}

thread_local! {
    /// One engine for every input (building one costs far more than a run); its fake clock
    /// only moves forward, so its timers stay consistent.
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

/// Sends three queries, then delivers `data` from the resolver: as is, with the id of each
/// in-flight attempt patched in, and as the tail of a reply carrying our own question (so
/// the record decoders run), then over TCP; finally every lookup times out and every outcome
/// is decoded as `mxscan resolve` would.
pub fn reply_path(data: &[u8]) {
    let resolver: SocketAddr = SocketAddr::from(([127, 0, 0, 2], 53));
    HARNESS.with(|h| {
        let mut h = h.borrow_mut();
        let h = h.get_or_insert_with(|| Harness {
            engine: Engine::new(EngineConfig::new(vec![resolver], 1)),
            now: Instant::now(),
        });
        h.now += Duration::from_secs(60);
        let (engine, now) = (&mut h.engine, h.now);
        let mut sent = Vec::new();
        let mut buf = Vec::new();
        for (i, t) in [1u16, 15, 12].into_iter().enumerate() {
            engine.submit(
                now,
                Question::new(format!("q{i}.example.test"), RecordType::from(t), i as u64),
            );
            if let Some(tx) = engine.poll_transmit(now, &mut buf) {
                sent.push((tx.socket, buf.clone()));
            }
        }
        engine.handle_datagram(now, 0, resolver, data);
        for (socket, query) in &sent {
            let mut patched = data.to_vec();
            if patched.len() >= 2 {
                patched[..2].copy_from_slice(&query[..2]);
            }
            engine.handle_datagram(now, *socket, resolver, &patched);
            // Our header and question, the fuzzer's counts, flags and sections.
            if let (Ok(view), Some((head, tail))) =
                (MessageView::parse(query), data.split_first_chunk::<6>())
            {
                let mut reply = query[..view.question_end].to_vec();
                reply[2] = 0x80 | (head[0] & 0x7F);
                reply[3] = head[1];
                reply[6..10].copy_from_slice(&[0, head[2] & 0x1F, 0, head[3] & 0x1F]);
                reply[10..12].copy_from_slice(&[0, head[4] & 0x1F]);
                reply.extend_from_slice(tail);
                engine.handle_datagram(now, *socket, resolver, &reply);
            }
        }
        while let Some(req) = engine.poll_tcp() {
            engine.handle_tcp(now, req.token, Some(data));
        }
        engine.handle_timeout(now + Duration::from_secs(30));
        while engine
            .poll_transmit(now + Duration::from_secs(30), &mut buf)
            .is_some()
        {}
        engine.handle_timeout(now + Duration::from_secs(59));
        while let Some(o) = engine.poll_outcome() {
            let _ = crate::output::resolve::ResolveRow::from_outcome(&o);
        }
        // Past every deadline, every lookup has ended, whatever came back.
        assert_eq!(engine.in_flight(), 0, "a lookup outlived its deadline");
    });
}

/// Answers a query as a resolver of the sim would, as an engine outcome, without sockets: for
/// tests and benchmarks of what comes after the engine.
pub fn sim_outcome(zones: &dyn Zones, question: &Question) -> Outcome {
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    let Question { name, qtype, .. } = question;
    let qname = Name::from_ascii(name).unwrap_or_else(|_| Name::root());
    let a = resolve(zones, &qname.to_lowercase(), *qtype);
    let mut m = Message::new(1, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(qname, *qtype));
    m.metadata.response_code = a.rcode;
    for r in a.answers.iter().cloned() {
        m.add_answer(r);
    }
    let status = match a.rcode {
        ResponseCode::NoError if a.answers.is_empty() => Status::NoData,
        ResponseCode::NoError => Status::NoError,
        ResponseCode::NXDomain => Status::NxDomain,
        ResponseCode::ServFail => Status::ServFail,
        ResponseCode::Refused => Status::Refused,
        other => Status::Rcode(Rcode::new(u16::from(other) as u8)),
    };
    replied(question, status, m.to_vec().ok())
}

/// The outcome of `question` answered at its first attempt with `reply`.
pub fn replied(question: &Question, status: Status, reply: Option<Vec<u8>>) -> Outcome {
    Outcome {
        tag: question.tag,
        name: question.name.clone(),
        qtype: question.qtype,
        status,
        reply,
        resolver: None,
        attempts: 1,
        rtt: None,
        truncated: false,
    }
}
