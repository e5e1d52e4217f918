//! The merged `summary.json`: the shards' counts summed, shares recomputed over the sum, and
//! each resolver's figures combined (percentiles from the merged histograms).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::engine::Rejected;
use crate::metrics::distinct::DistinctQuestions;
use crate::metrics::latency::{ResolverReport, pct};
use crate::metrics::summary::{
    FamilySummary, QuerySummary, QuestionFloor, ShardPart, Summary, Timing,
};
use crate::metrics::timeline::Timeline;
use crate::pipeline::cache::CacheStats;

fn add<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}

/// A family's figures as the tally's `family.what.value` counts (FamilySummary's input).
fn family_counts(family: &str, f: &FamilySummary, into: &mut BTreeMap<String, u64>) {
    for (state, n) in &f.states {
        *into.entry(format!("{family}.state.{state}")).or_default() += n;
    }
    for (what, by) in &f.counts {
        for (value, n) in by {
            *into.entry(format!("{family}.{what}.{value}")).or_default() += n;
        }
    }
}

fn per(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// The summary of the shards together. `shards` are complete and belong together (checked
/// by the caller); `parts` says which shard each was.
pub fn combine(
    shards: &[Summary],
    parts: Vec<ShardPart>,
    command: Vec<String>,
) -> Result<Summary, String> {
    let first = shards.first().ok_or("no shards")?;
    let mut input = first.input.clone();
    input.list = Default::default();
    input.sender_rows = 0;
    input.sender_rejects = 0;
    input.sender_domains_not_scanned = 0;
    let mut queries = QuerySummary {
        lookups: 0,
        attempts: 0,
        retries: 0,
        tcp_fallbacks: 0,
        lookups_per_domain: 0.0,
        attempts_per_domain: 0.0,
        floor: QuestionFloor::default(),
        statuses: BTreeMap::new(),
        shared: CacheStats::default(),
        shared_mail_auth: CacheStats::default(),
        rejected: Rejected::default(),
        stale_answers: 0,
        moved: 0,
        probes: 0,
        outage_s: 0.0,
    };
    let mut timing = Timing {
        prepare_s: 0.0,
        scan_s: 0.0,
        domains_per_s: 0.0,
        lookups_per_s: 0.0,
    };
    let (mut routes, mut findings, mut senders) = (
        BTreeMap::new(),
        BTreeMap::<String, BTreeMap<String, u64>>::new(),
        BTreeMap::new(),
    );
    let mut provider_credit: BTreeMap<String, f64> = BTreeMap::new();
    let mut self_hosted = 0.0;
    let mut mail_auth = BTreeMap::new();
    let (mut domains, mut this_run, mut unanswered, mut runs, mut retried) = (0, 0, 0, 0, 0);
    // Each resolver's figures per shard, and the scan seconds of the shards that asked it.
    let mut resolvers: Vec<(SocketAddr, Vec<&ResolverReport>, f64)> = Vec::new();
    // The shards' questions together: a provider's host asked by every shard counts once.
    let mut distinct = DistinctQuestions::default();
    for s in shards {
        let l = &s.input.list;
        let m = &mut input.list;
        m.records += l.records;
        m.domains += l.domains;
        m.duplicates += l.duplicates;
        m.rejected += l.rejected;
        m.skipped += l.skipped;
        input.sender_rows += s.input.sender_rows;
        input.sender_rejects += s.input.sender_rejects;
        input.sender_domains_not_scanned += s.input.sender_domains_not_scanned;
        domains += s.domains_scanned;
        this_run += s.domains_this_run;
        unanswered += s.unanswered;
        runs += s.runs;
        retried += s.retried_this_run;
        add(&mut routes, &s.routes);
        for (code, by) in &s.findings {
            add(findings.entry(code.clone()).or_default(), by);
        }
        add(&mut senders, &s.senders);
        for (p, share) in &s.providers_pct {
            *provider_credit.entry(p.clone()).or_default() +=
                share * s.domains_scanned as f64 / 100.0;
        }
        self_hosted += s.self_hosted_pct * s.domains_scanned as f64 / 100.0;
        for (family, f) in &s.mail_auth {
            family_counts(family, f, &mut mail_auth);
        }
        let q = &s.queries;
        queries.lookups += q.lookups;
        queries.attempts += q.attempts;
        queries.retries += q.retries;
        queries.tcp_fallbacks += q.tcp_fallbacks;
        add(&mut queries.statuses, &q.statuses);
        queries.shared += q.shared;
        queries.shared_mail_auth += q.shared_mail_auth;
        queries.rejected += q.rejected;
        queries.stale_answers += q.stale_answers;
        queries.moved += q.moved;
        queries.probes += q.probes;
        queries.outage_s += q.outage_s;
        let sketch = DistinctQuestions::decode(&q.floor.distinct_questions_sketch)
            .map_err(|e| format!("a shard's distinct_questions_sketch: {e}"))?;
        distinct.merge(&sketch);
        timing.prepare_s += s.timing.prepare_s;
        timing.scan_s += s.timing.scan_s;
        for r in &s.resolvers {
            match resolvers.iter_mut().find(|(a, ..)| *a == r.resolver) {
                Some((_, reports, seconds)) => {
                    reports.push(r);
                    *seconds += s.timing.scan_s;
                }
                None => resolvers.push((r.resolver, vec![r], s.timing.scan_s)),
            }
        }
    }
    queries.lookups_per_domain = per(queries.lookups, this_run);
    queries.attempts_per_domain = per(queries.attempts, this_run);
    queries.floor = QuestionFloor::new(queries.lookups, &distinct);
    timing.domains_per_s = this_run as f64 / timing.scan_s.max(1e-9);
    timing.lookups_per_s = queries.lookups as f64 / timing.scan_s.max(1e-9);
    let resolvers = resolvers
        .iter()
        .map(|(_, reports, seconds)| ResolverReport::combine(reports, *seconds))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Summary {
        version: first.version.clone(),
        command,
        interrupted: false,
        gave_up: false,
        runs,
        retried_this_run: retried,
        input,
        domains_scanned: domains,
        domains_this_run: this_run,
        route_pct: routes
            .iter()
            .map(|(r, n)| (r.clone(), pct(*n, domains)))
            .collect(),
        routes,
        unanswered,
        findings,
        providers_pct: provider_credit
            .into_iter()
            .map(|(p, credit)| (p, 100.0 * credit / domains.max(1) as f64))
            .collect(),
        self_hosted_pct: 100.0 * self_hosted / domains.max(1) as f64,
        senders,
        mail_auth: FamilySummary::from_counts(&mail_auth),
        queries,
        timing,
        resolvers,
        // The shards ran apart (on other machines, at other times): their timelines stay in
        // their own summaries.
        timeline: Timeline::default(),
        shard: None,
        shards: parts,
    })
}
