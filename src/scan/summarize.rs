//! `summary.json` from what a run did: the input, the tally of every table row so far, the
//! engine's and the lookup cache's counters, and the resolvers' figures.

use std::collections::BTreeMap;

use crate::analysis::Route;
use crate::engine::Engine;
use crate::metrics::latency::pct;
use crate::metrics::summary::{
    FamilySummary, InputSummary, QuerySummary, QuestionFloor, Summary, Timing,
};
use crate::metrics::tally::Tally;
use crate::metrics::timeline::Timeline;

use super::workload::Ran;
use super::{Prepared, ScanJob};

/// Everything the summary is made of.
pub(super) struct Parts<'a> {
    pub job: &'a ScanJob,
    pub input: &'a Prepared,
    pub engine: &'a Engine,
    pub ran: &'a Ran,
    /// Every domain in the tables, earlier runs' included.
    pub tally: &'a Tally,
    pub complete: bool,
    pub gave_up: bool,
    pub runs: u32,
    pub retried: u64,
    pub prepare_s: f64,
    pub scan_s: f64,
    pub timeline: Timeline,
}

impl Parts<'_> {
    pub fn summary(self) -> Summary {
        let Parts {
            job,
            input,
            engine,
            ran,
            tally,
            ..
        } = self;
        let done_this_run = ran.pipeline.stats.finished;
        let per_domain = |n: u64| {
            if done_this_run == 0 {
                0.0
            } else {
                n as f64 / done_this_run as f64
            }
        };
        let all_done = tally.domains();
        let s = &engine.stats;
        let routes: BTreeMap<String, u64> = Route::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str().to_string(),
                    tally.routes.get(r).copied().unwrap_or(0),
                )
            })
            .collect();
        Summary {
            version: env!("CARGO_PKG_VERSION").to_string(),
            command: std::env::args().collect(),
            interrupted: !self.complete,
            gave_up: self.gave_up,
            runs: self.runs,
            retried_this_run: self.retried,
            input: InputSummary {
                path: job
                    .input
                    .as_ref()
                    .map_or("-".into(), |p| p.display().to_string()),
                list: input.list.stats,
                sender_rows: input.sender_rows,
                sender_rejects: input.sender_rejects,
                sender_domains_not_scanned: ran.senders.remaining(),
            },
            domains_scanned: all_done,
            domains_this_run: done_this_run,
            route_pct: routes
                .iter()
                .map(|(r, n)| (r.clone(), pct(*n, all_done)))
                .collect(),
            routes,
            unanswered: tally.unanswered,
            queries: QuerySummary {
                lookups: s.completed,
                attempts: s.attempts,
                retries: s.retries,
                tcp_fallbacks: s.tcp_fallbacks,
                lookups_per_domain: per_domain(s.completed),
                attempts_per_domain: per_domain(s.attempts),
                floor: QuestionFloor::new(s.completed, &ran.distinct),
                statuses: (ran.statuses.iter())
                    .map(|(s, n)| (s.to_string(), *n))
                    .collect(),
                shared: ran.pipeline.lookups.stats,
                shared_mail_auth: ran.pipeline.stats.auth,
                rejected: s.rejected,
                stale_answers: s.stale_answers,
                moved: s.moved,
                probes: engine.resolvers().iter().map(|r| r.stats.probes).sum(),
                outage_s: engine.outage_total().as_secs_f64(),
            },
            timing: Timing {
                prepare_s: self.prepare_s,
                scan_s: self.scan_s,
                domains_per_s: done_this_run as f64 / self.scan_s.max(1e-9),
                lookups_per_s: s.completed as f64 / self.scan_s.max(1e-9),
            },
            providers_pct: tally
                .providers
                .iter()
                .map(|(p, n)| (p.clone(), 100.0 * n / all_done.max(1) as f64))
                .collect(),
            self_hosted_pct: 100.0 * tally.self_hosted / all_done.max(1) as f64,
            findings: tally.findings.clone(),
            senders: tally.senders.clone(),
            mail_auth: FamilySummary::from_counts(&tally.mail_auth),
            resolvers: ran.latency.reports(engine, self.scan_s),
            timeline: self.timeline,
            shard: job.shard,
            shards: Vec::new(),
        }
    }
}
