//! Hot paths of the simulated farm: parsing a query's header and question, and answering it
//! (template cache hit on the zone world, fresh encoding on the synthetic world).

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mxscan::sim::faults::FaultState;
use mxscan::sim::responder::{Responder, Transport};
use mxscan::sim::{Counters, SyntheticWorld, ZoneFiles};
use mxscan::wire::{MessageView, build_query};

// The same allocator as the binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let query = build_query(1, "shop17.test", 15, Some(1232)).unwrap();
    let mut group = c.benchmark_group("sim");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_query", |b| {
        b.iter(|| MessageView::parse(std::hint::black_box(&query)).unwrap())
    });

    let zones = ZoneFiles::load_dir(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/zones"
    )))
    .unwrap();
    let mut responder = Responder::new(Arc::new(zones));
    let now = Instant::now();
    let mut faults = FaultState::new(Default::default(), 1, now);
    let mut counters = Counters::default();
    group.bench_function("respond_zone_cached", |b| {
        b.iter(|| responder.respond(&query, Transport::Udp, &mut faults, now, &mut counters))
    });

    let mut synthetic = Responder::new(Arc::new(SyntheticWorld::new(100_000_000, 1)));
    let queries: Vec<Vec<u8>> = (0..1_000_000u64)
        .map(|i| {
            build_query(
                1,
                &format!("syn{}.test", i * 7919 % 100_000_000),
                15,
                Some(1232),
            )
            .unwrap()
        })
        .collect();
    let mut next = 0;
    group.bench_function("respond_synthetic_uncached", |b| {
        b.iter(|| {
            next = (next + 1) % queries.len();
            synthetic.respond(
                &queries[next],
                Transport::Udp,
                &mut faults,
                now,
                &mut counters,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
