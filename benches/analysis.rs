//! The analysis stage's throughput: finished domains of the synthetic world (its realistic mix
//! of providers, self-hosting and broken routes) turned into typed results and then into route,
//! findings, provider and score, on one core. Compare with the scan's domains/s
//! (docs/BENCHMARKS.md): the analysis must never limit a scan.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mxscan::analysis::Analysis;
use mxscan::analysis::addr::AddrTable;
use mxscan::fuzzing::sim_outcome as outcome;
use mxscan::pipeline::result::DomainResult;
use mxscan::pipeline::{DomainInput, Finished, Pipeline};
use mxscan::sim::SyntheticWorld;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DOMAINS: u64 = 20_000;

/// Runs the pipeline over the first `DOMAINS` synthetic domains against the in-memory sim.
fn finished() -> Vec<Finished> {
    let world = Arc::new(SyntheticWorld::new(DOMAINS, 1));
    let mut p = Pipeline::new(
        1000,
        mxscan::pipeline::cache::CacheSize::DEFAULT,
        mxscan::pipeline::auth::Checks::default(),
    );
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        while p.can_start() && next < DOMAINS {
            p.start(DomainInput {
                ordinal: next,
                line: next + 1,
                domain: SyntheticWorld::domain(next),
                extra: vec![],
                senders: vec![],
            });
            next += 1;
        }
        let batch: Vec<_> = std::iter::from_fn(|| p.poll_query()).collect();
        for q in &batch {
            p.handle_outcome(&outcome(world.as_ref(), q));
        }
        out.extend(std::iter::from_fn(|| p.poll_finished()));
        if batch.is_empty() && next == DOMAINS && p.active() == 0 {
            return out;
        }
    }
}

fn bench(c: &mut Criterion) {
    let finished = finished();
    assert_eq!(finished.len() as u64, DOMAINS);
    let analysis = Analysis {
        allow_special_use: true,
        addresses: AddrTable::new(vec![
            "198.18.0.0/15".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ]),
        ..Analysis::default()
    };
    let results: Vec<DomainResult> = finished.iter().map(DomainResult::assemble).collect();
    let mut group = c.benchmark_group("analysis");
    group.throughput(Throughput::Elements(DOMAINS));
    group.sample_size(20);
    group.bench_function("assemble", |b| {
        b.iter(|| {
            for f in &finished {
                std::hint::black_box(DomainResult::assemble(f));
            }
        })
    });
    group.bench_function("analyze", |b| {
        b.iter(|| {
            for r in &results {
                std::hint::black_box(analysis.analyze(r.clone()));
            }
        })
    });
    group.bench_function("assemble_and_analyze", |b| {
        b.iter(|| {
            for f in &finished {
                std::hint::black_box(analysis.analyze(DomainResult::assemble(f)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
