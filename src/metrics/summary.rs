//! `summary.json`: what a scan did — input counts, route states, queries, cache, timings and
//! per-resolver figures — and the one-line summary printed at the end.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis::Severity;
use crate::engine::Rejected;
use crate::input::list::ListStats;
use crate::input::shard::Shard;
use crate::metrics::distinct::DistinctQuestions;
use crate::metrics::latency::{ResolverReport, pct};
use crate::metrics::timeline::Timeline;
use crate::pipeline::cache::CacheStats;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputSummary {
    pub path: String,
    #[serde(flatten)]
    pub list: ListStats,
    /// Rows of `--senders` and how many of their domains were not in the domain list.
    pub sender_rows: u64,
    /// Malformed rows of `--senders` (in `rejects`).
    pub sender_rejects: u64,
    pub sender_domains_not_scanned: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuerySummary {
    /// Questions looked up: after sharing, so a question answered from the cache or joined
    /// while in flight is not counted again, but one asked again after it left the cache is.
    pub lookups: u64,
    /// Datagrams and TCP queries sent, retries included.
    pub attempts: u64,
    pub retries: u64,
    pub tcp_fallbacks: u64,
    /// Lookups per scanned domain: what sharing saves shows here.
    pub lookups_per_domain: f64,
    pub attempts_per_domain: f64,
    /// The floor of `lookups`: how many of them were distinct questions.
    #[serde(flatten)]
    pub floor: QuestionFloor,
    pub statuses: BTreeMap<String, u64>,
    pub shared: CacheStats,
    /// The mail-authentication questions among them (`--checks`): `hits` were answered from
    /// the cache or the domain's own earlier answers, `joined` a lookup in flight, `sent` asked.
    pub shared_mail_auth: CacheStats,
    /// Replies rejected by validation.
    #[serde(flatten)]
    pub rejected: Rejected,
    /// Answers taken from an earlier attempt after the query was re-sent (a timeout that
    /// fired too early).
    pub stale_answers: u64,
    /// Queries moved off a resolver that went down, and probes sent to resolvers while down.
    pub moved: u64,
    pub probes: u64,
    /// Seconds every resolver was down at once (the scan waited).
    pub outage_s: f64,
}

/// Distinct questions among a run's lookups: no cache can ask fewer, so
/// `lookups_per_distinct_question` is what repeats cost (1.0: no question asked twice).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuestionFloor {
    /// Estimated from [`DistinctQuestions`] (standard error 0.4 %, exact while few).
    pub distinct_questions: u64,
    pub lookups_per_distinct_question: f64,
    /// The sketch the estimate comes from, so that `mxscan merge` counts the shards' union.
    pub distinct_questions_sketch: String,
}

impl QuestionFloor {
    pub fn new(lookups: u64, distinct: &DistinctQuestions) -> QuestionFloor {
        let estimate = distinct.estimate().round();
        QuestionFloor {
            // A lookup is a question: the estimate's error cannot make them fewer.
            distinct_questions: (estimate as u64).min(lookups),
            lookups_per_distinct_question: if estimate > 0.0 {
                lookups as f64 / estimate.min(lookups as f64)
            } else {
                0.0
            },
            distinct_questions_sketch: distinct.encode(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    pub prepare_s: f64,
    pub scan_s: f64,
    pub domains_per_s: f64,
    pub lookups_per_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub version: String,
    /// The command line of this run, as given.
    pub command: Vec<String>,
    /// The scan was stopped before the end of its input (`--resume` continues it).
    pub interrupted: bool,
    /// It stopped because every resolver was down for `--give-up` seconds.
    pub gave_up: bool,
    /// Runs so far: 1, plus one per `--resume` and per `--retry-indeterminate`.
    pub runs: u32,
    /// Domains this run asked again (`--retry-indeterminate`; 0 otherwise). Their old rows
    /// were replaced, and every count below covers the tables as they are now.
    pub retried_this_run: u64,
    pub input: InputSummary,
    /// Domains in the tables, over every run; the counts below cover the same domains.
    pub domains_scanned: u64,
    /// Domains this run added (queries, timing and resolvers cover this run only).
    pub domains_this_run: u64,
    pub routes: BTreeMap<String, u64>,
    /// Share of scanned domains per route state, in percent.
    pub route_pct: BTreeMap<String, f64>,
    /// INDETERMINATE domains with a lookup no resolver answered (timeouts; a SERVFAIL is a
    /// measurement of broken DNS and does not count): `--retry-indeterminate` asks again.
    pub unanswered: u64,
    /// Findings per code and severity.
    pub findings: BTreeMap<String, BTreeMap<String, u64>>,
    /// Share of scanned domains per mail provider, in percent (fractional credit): providers
    /// of the table and other organisations' registrable domains (`provider_source`
    /// `table`, `mx-domain`).
    pub providers_pct: BTreeMap<String, f64>,
    /// Share of scanned domains whose most-preferred exchanges are their own (`self`).
    #[serde(default)]
    pub self_hosted_pct: f64,
    /// Declared sender IPs per verdict.
    pub senders: BTreeMap<String, u64>,
    /// The mail-authentication survey, per family checked (`spf`, `dmarc`, `mta_sts`,
    /// `tls_rpt`, `tlsa`); NXDOMAIN domains are left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mail_auth: BTreeMap<String, FamilySummary>,
    pub queries: QuerySummary,
    pub timing: Timing,
    pub resolvers: Vec<ResolverReport>,
    /// This run over time (metrics::timeline); empty in a merge of shards.
    pub timeline: Timeline,
    /// The part of the input this scan covered (`--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// In a merge (`mxscan merge`): the shards merged. Counts above are their sums; timings
    /// are summed over shards (shard-seconds) and rates are per shard-second.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardPart>,
}

/// One shard of a merged scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardPart {
    pub shard: Shard,
    /// The shard's --out directory, as given to `mxscan merge`.
    pub out: String,
    pub domains: u64,
    pub runs: u32,
    pub scan_s: f64,
}

/// One mail-authentication family over the scanned domains.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FamilySummary {
    /// Domains checked.
    pub domains: u64,
    /// Domains per state (`none`, `valid`, `invalid` or SPF's `permerror`, `temperror`; TLSA:
    /// `all`, `some`, `none` of the mail hosts, `temperror`).
    pub states: BTreeMap<String, u64>,
    /// Of the domains measured (not `temperror`), the share with a record (valid or not), or
    /// for TLSA with TLSA on at least one mail host, in percent.
    pub with_record_pct: f64,
    /// Further counts: SPF `lookups` (histogram, `11+` over the limit), `all` (the final
    /// qualifier), `errors` (domains per ERROR code), `mx_pass`; DMARC `policy` (as applied)
    /// and `rua` (valid records with a report destination).
    #[serde(flatten)]
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
}

impl FamilySummary {
    /// The families from a tally's `family.what.value` counts.
    pub fn from_counts(counts: &BTreeMap<String, u64>) -> BTreeMap<String, FamilySummary> {
        let mut families: BTreeMap<String, FamilySummary> = BTreeMap::new();
        for (key, n) in counts {
            let mut parts = key.splitn(3, '.');
            let (Some(family), Some(what), Some(value)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let f = families.entry(family.to_string()).or_default();
            if what == "state" {
                f.domains += n;
                f.states.insert(value.to_string(), *n);
            } else {
                let by = f.counts.entry(what.to_string()).or_default();
                by.insert(value.to_string(), *n);
            }
        }
        for f in families.values_mut() {
            let state = |s: &str| f.states.get(s).copied().unwrap_or(0);
            let measured = f.domains - state("temperror");
            let without = state("none");
            f.with_record_pct = pct(measured - without, measured);
        }
        families
    }
}

impl Summary {
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self)?;
        crate::io::fs::write_atomically(&dir.join("summary.json"), &text)
    }

    /// The line printed at the end of every scan.
    pub fn line(&self) -> String {
        let routes: Vec<String> = self
            .routes
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        format!(
            "mxscan scan: {} domains in {:.1} s ({:.0}/s){}, {} rejected{}, {} duplicates; {:.2} lookups/domain ({}), {} retries; {}{}{}",
            self.domains_this_run,
            self.timing.scan_s,
            self.timing.domains_per_s,
            if self.runs > 1 {
                format!(", {} in all over {} runs", self.domains_scanned, self.runs)
            } else {
                String::new()
            },
            self.input.list.rejected,
            if self.input.sender_rejects > 0 {
                format!(" (and {} sender rows)", self.input.sender_rejects)
            } else {
                String::new()
            },
            self.input.list.duplicates,
            self.queries.lookups_per_domain,
            match self.queries.floor.lookups_per_distinct_question {
                // No question asked (nothing scanned): no ratio to give.
                r if r.is_finite() => format!("{r:.3}× the distinct questions"),
                _ => "no questions".to_string(),
            },
            self.queries.retries,
            routes.join(", "),
            if self.unanswered > 0 {
                format!("; {} unanswered", self.unanswered)
            } else {
                String::new()
            },
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        )
    }

    /// What a scan found, in at most 80 columns: routes, the ten most frequent findings (by
    /// severity, then count) and each resolver's loss and p99 latency.
    pub fn overview(&self) -> String {
        let mut out = String::new();
        let mut line = String::from("routes:");
        for (route, n) in self.routes.iter().filter(|(_, n)| **n > 0) {
            let item = format!(" {route} {n}");
            if line.len() + item.len() > 80 {
                out.push_str(&line);
                out.push('\n');
                line = String::from("       ");
            }
            line.push_str(&item);
        }
        out.push_str(&line);
        out.push('\n');
        let mut top: Vec<(&str, &str, u64)> = self
            .findings
            .iter()
            .flat_map(|(code, by)| {
                by.iter()
                    .map(move |(sev, n)| (code.as_str(), sev.as_str(), *n))
            })
            .collect();
        top.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
        top.truncate(10);
        let rank = |severity: &str| {
            Severity::ALL
                .iter()
                .position(|s| s.as_str() == severity)
                .unwrap_or(Severity::ALL.len())
        };
        top.sort_by(|a, b| rank(a.1).cmp(&rank(b.1)).then(b.2.cmp(&a.2)));
        if !top.is_empty() {
            out.push_str("most frequent findings:\n");
        }
        for (code, severity, n) in top {
            out.push_str(&format!("  {severity:<13} {code:<40} {n:>12}\n"));
        }
        if !self.resolvers.is_empty() {
            out.push_str(&format!(
                "{:<26} {:>12} {:>12} {:>8} {:>10}\n",
                "resolvers:", "sent", "answered", "loss %", "p99 ms"
            ));
        }
        for r in &self.resolvers {
            let mut name = r.resolver.to_string();
            name.truncate(24);
            let p99 = r
                .latency_ms
                .as_ref()
                .map_or("-".to_string(), |l| format!("{:.1}", l.p99));
            out.push_str(&format!(
                "  {name:<24} {:>12} {:>12} {:>8.2} {:>10}\n",
                r.sent, r.answered, r.loss_pct, p99
            ));
        }
        out
    }
}
