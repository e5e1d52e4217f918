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
            let _ = crate::tables::resolve::ResolveRow::from_outcome(&o);
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

/// The mail-authentication parsers and evaluators driven by arbitrary text: `data` is parsed
/// as an SPF record, a DMARC record and a macro string (expanded), then served as every TXT
/// record of a world (one record per line) in which the SPF audit and `check_host()` run to
/// the end. Shared by the cargo-fuzz target `mailauth` and a unit test. Nothing may panic,
/// and both walks must end.
pub fn mail_auth(data: &[u8]) {
    use crate::mailauth::spf::macros::{Context, MacroString};
    use crate::mailauth::spf::{self, Request, audit};
    use crate::mailauth::{Answer, Known, Rdata, dmarc};
    let text = String::from_utf8_lossy(data);
    let _ = spf::record::parse(&text);
    let _ = dmarc::parse(&text);
    let cx = Context {
        sender: "postmaster@fuzz.test".into(),
        domain: "fuzz.test".into(),
        ip: "2001:db8::1".parse().expect("valid"),
        helo: "fuzz.test".into(),
        validated: None,
        receiver: "mx.test".into(),
        timestamp: 0,
    };
    for in_explanation in [false, true] {
        if let Ok(spec) = MacroString::parse(&text, in_explanation) {
            let _ = spec.expand(&cx);
        }
    }
    let records: Vec<&str> = text.lines().collect();
    let answer = |need: &crate::mailauth::Need| match need.qtype {
        RecordType::TXT => Answer::txt(&records),
        RecordType::A => Answer::Records(vec![Rdata::A("192.0.2.1".parse().expect("valid"))]),
        RecordType::MX => Answer::Records(vec![Rdata::Mx("mx.fuzz.test".into())]),
        _ => Answer::NxDomain,
    };
    let mut known = Known::default();
    let mut asked = 0;
    while let Err(need) = audit::audit("fuzz.test", &known) {
        asked += 1;
        assert!(asked <= 1000, "the audit never ends");
        let a = answer(&need);
        known.insert(need.name, need.qtype, a);
    }
    let request = Request {
        ip: "192.0.2.9".parse().expect("valid"),
        sender: "postmaster@fuzz.test",
        helo: "fuzz.test",
        domain: "fuzz.test",
        receiver: "mx.test",
        timestamp: 0,
    };
    let mut known = Known::default();
    let mut asked = 0;
    while let Err(need) = spf::check_host(&request, &known) {
        asked += 1;
        assert!(asked <= 1000, "check_host() never ends");
        let a = answer(&need);
        known.insert(need.name, need.qtype, a);
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};

    /// The `mailauth` fuzz target's harness over text built from SPF and DMARC tokens, so that
    /// stable CI walks include graphs, macros and limits too (cargo-fuzz runs it on bytes).
    #[test]
    fn mail_auth_text_never_panics_and_every_walk_ends() {
        const TOKENS: &[&str] = &[
            "v=spf1",
            " include:fuzz.test",
            " include:%{d}",
            " a",
            " a:%{i}.x.test/24",
            " mx//64",
            " ptr",
            " exists:%{ir}.%{l1r+-}.e.test",
            " ip4:192.0.2.0/24",
            " ip6:2001:db8::/32",
            " redirect=fuzz.test",
            " exp=%{d}",
            " -all",
            " ~all",
            " %%",
            " %_",
            " %-",
            " %{",
            "}",
            ":",
            "/",
            "//",
            "\n",
            "v=DMARC1; p=reject",
            "; rua=mailto:a@b.test",
            ",mailto:=x@y.test!10m",
            "; sp=none; pct=50",
            "\u{0}",
            "é",
            " a:foo:bar.test",
            " include:x/y.test/24",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..3_000 {
            let n = rng.random_range(1..12);
            let text: String = (0..n)
                .map(|_| TOKENS[rng.random_range(0..TOKENS.len())])
                .collect();
            super::mail_auth(text.as_bytes());
        }
    }
}
