//! Engine hot paths: query encoding, reply header/question matching, and one full engine step
//! (submit → poll_transmit → handle_datagram → poll_outcome) without I/O.

use std::net::SocketAddr;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::rr::RecordType;
use mxscan::engine::{Engine, EngineConfig, Question};
use mxscan::wire::{MessageView, build_query};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A NOERROR reply with one A record for `query`.
fn reply_to(query: &[u8]) -> Vec<u8> {
    let end = MessageView::parse(query).unwrap().question_end;
    let mut r = query[..end].to_vec();
    r[2] = 0x81;
    r[3] = 0x80;
    r[6..12].copy_from_slice(&[0, 1, 0, 0, 0, 0]);
    r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    r
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_query", |b| {
        b.iter(|| {
            build_query(
                7,
                std::hint::black_box("mail.example-domain.test"),
                15,
                Some(1232),
            )
            .unwrap()
        })
    });

    let query = build_query(7, "mail.example-domain.test", 15, Some(1232)).unwrap();
    let reply = reply_to(&query);
    let asked = MessageView::parse(&query).unwrap().question;
    group.bench_function("match_reply", |b| {
        b.iter(|| {
            let v = MessageView::parse(std::hint::black_box(&reply)).unwrap();
            v.id == 7 && v.question.same_name(asked.name_wire) && v.question.qtype == asked.qtype
        })
    });

    let resolver: SocketAddr = "127.0.0.2:53".parse().unwrap();
    let mut engine = Engine::new(EngineConfig::new(vec![resolver], 4));
    let mut buf = Vec::new();
    let now = Instant::now();
    let names: Vec<String> = (0..1024).map(|i| format!("syn{i}.test")).collect();
    let mut i = 0;
    group.bench_function("step", |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            engine.submit(
                now,
                Question::new(names[i].clone(), RecordType::MX, i as u64),
            );
            let t = engine.poll_transmit(now, &mut buf).unwrap();
            let r = reply_to(&buf);
            engine.handle_datagram(now, t.socket, t.destination, &r);
            engine.poll_outcome().unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
