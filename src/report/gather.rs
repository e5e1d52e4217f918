//! The figures the report takes from the tables rather than from `summary.json`: those the
//! summary does not keep (score histograms, MX counts, IPv6 exchanges, example domains), and
//! the findings, so that a scan cut off before its summary still reports. One streaming pass
//! per table; memory is bounded by the number of finding codes, not of domains.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use crate::tables::Format;
use crate::tables::read::read_rows;
use crate::tables::scan::table_path;

/// Example domains kept per finding code.
pub const EXAMPLES: usize = 5;
/// Score histogram bins: 0–9, 10–19, …, 90–99, and 100 alone.
pub const SCORE_BINS: usize = 11;
/// MX counts 0 to 5 and "6 or more".
pub const MX_BINS: usize = 7;

/// Scores of domains or of sender IPs.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scores {
    pub rows: u64,
    pub histogram: [u64; SCORE_BINS],
    /// Rows without a score (nothing measured).
    pub unscored: u64,
    /// Rows whose score rests on a lookup that failed (`provisional`).
    pub provisional: u64,
}

impl Scores {
    fn add(&mut self, score: &str, provisional: &str) {
        self.rows += 1;
        match score.parse::<u8>() {
            Ok(s) => self.histogram[usize::from(s.min(100) / 10)] += 1,
            Err(_) => self.unscored += 1,
        }
        if provisional == "true" {
            self.provisional += 1;
        }
    }
}

/// What the report reads from a scan's tables.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TableFigures {
    pub domains: Scores,
    pub senders: Scores,
    /// Sender IPs per verdict.
    pub verdicts: BTreeMap<String, u64>,
    /// Domains by the number of MX records (`MX_BINS - 1`: that many or more).
    pub mx_counts: [u64; MX_BINS],
    /// Domains with a mail route (HAS_MX, IMPLICIT_MX) and, of those, self-hosted
    /// (`provider_source` `self`).
    pub routed: u64,
    pub self_hosted: u64,
    /// Exchanges as domains use them (a domain's exchange with addresses), and of those with
    /// an IPv6 address.
    pub exchanges: u64,
    pub exchanges_ipv6: u64,
    /// Findings per code and severity.
    pub findings: BTreeMap<String, BTreeMap<String, u64>>,
    /// Up to [`EXAMPLES`] domains per code, the first by name (independent of the order the
    /// rows were written in).
    pub examples: BTreeMap<String, BTreeSet<String>>,
}

/// Reads the tables of the scan in `dir`, each on a thread of its own (a scan's tables are
/// gigabytes; each reader fills its own fields).
pub fn tables(dir: &Path, format: Format) -> io::Result<TableFigures> {
    type Reader = fn(&Path, Format) -> io::Result<TableFigures>;
    let readers: [(&str, Reader); 4] = [
        ("domains", domains),
        ("senders", senders),
        ("findings", findings),
        ("records", records),
    ];
    let parts: Vec<io::Result<TableFigures>> = std::thread::scope(|s| {
        let running: Vec<_> = readers
            .iter()
            .map(|(stem, read)| {
                let path = table_path(dir, stem, format);
                s.spawn(move || read(&path, format))
            })
            .collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut parts = parts.into_iter();
    let mut next = || parts.next().expect("one part per reader");
    let (d, s, f, r) = (next()?, next()?, next()?, next()?);
    Ok(TableFigures {
        domains: d.domains,
        mx_counts: d.mx_counts,
        routed: d.routed,
        self_hosted: d.self_hosted,
        senders: s.senders,
        verdicts: s.verdicts,
        findings: f.findings,
        examples: f.examples,
        exchanges: r.exchanges,
        exchanges_ipv6: r.exchanges_ipv6,
    })
}

fn domains(path: &Path, format: Format) -> io::Result<TableFigures> {
    let mut f = TableFigures::default();
    read_rows(
        path,
        format,
        &[
            "route",
            "mx_count",
            "provider_source",
            "score",
            "provisional",
        ],
        &mut |_, row| {
            f.domains.add(&row[3], &row[4]);
            let mx: usize = row[1].parse().unwrap_or(0);
            f.mx_counts[mx.min(MX_BINS - 1)] += 1;
            if row[0] == "HAS_MX" || row[0] == "IMPLICIT_MX" {
                f.routed += 1;
                if row[2] == "self" {
                    f.self_hosted += 1;
                }
            }
        },
    )?;
    Ok(f)
}

fn senders(path: &Path, format: Format) -> io::Result<TableFigures> {
    let mut f = TableFigures::default();
    read_rows(
        path,
        format,
        &["verdict", "score", "provisional"],
        &mut |_, row| {
            f.senders.add(&row[1], &row[2]);
            *f.verdicts.entry(row[0].clone()).or_default() += 1;
        },
    )?;
    Ok(f)
}

fn findings(path: &Path, format: Format) -> io::Result<TableFigures> {
    let mut f = TableFigures::default();
    read_rows(path, format, &["code", "severity"], &mut |domain, row| {
        let by_severity = match f.findings.get_mut(&row[0]) {
            Some(s) => s,
            None => f.findings.entry(row[0].clone()).or_default(),
        };
        match by_severity.get_mut(&row[1]) {
            Some(n) => *n += 1,
            None => {
                by_severity.insert(row[1].clone(), 1);
            }
        }
        let examples = match f.examples.get_mut(&row[0]) {
            Some(e) => e,
            None => f.examples.entry(row[0].clone()).or_default(),
        };
        let wanted =
            examples.len() < EXAMPLES || examples.last().is_some_and(|last| domain < last.as_str());
        if wanted && !examples.contains(domain) {
            examples.insert(domain.to_string());
            if examples.len() > EXAMPLES {
                examples.pop_last();
            }
        }
    })?;
    Ok(f)
}

/// Exchanges with and without IPv6: a domain's rows are written together, so its exchanges are
/// consecutive rows.
fn records(path: &Path, format: Format) -> io::Result<TableFigures> {
    let mut f = TableFigures::default();
    let mut current: Option<(String, String, bool)> = None;
    let close = |f: &mut TableFigures, done: Option<(String, String, bool)>| {
        if let Some((_, _, ipv6)) = done {
            f.exchanges += 1;
            f.exchanges_ipv6 += u64::from(ipv6);
        }
    };
    read_rows(
        path,
        format,
        &["role", "exchange", "address"],
        &mut |domain, row| {
            if row[0] != "mx" || row[2].is_empty() {
                return;
            }
            let ipv6 = row[2].contains(':');
            match &mut current {
                Some((d, x, v6)) if d == domain && *x == row[1] => *v6 |= ipv6,
                _ => {
                    let done = current.replace((domain.to_string(), row[1].clone(), ipv6));
                    close(&mut f, done);
                }
            }
        },
    )?;
    close(&mut f, current.take());
    Ok(f)
}
