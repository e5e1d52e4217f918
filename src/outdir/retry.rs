//! A second pass over a scan's unmeasured domains (`scan --retry-indeterminate`): those that
//! ended INDETERMINATE, and those with a lookup that failed further down (`provisional`, e.g.
//! `MX_TARGET_TEMPERROR`), replacing their rows in every table at once.
//!
//! The pass builds the scan's next tables in `OUT/.retry/`: every row of the other domains
//! copied as it was, the retried domains' new rows appended as they finish, and a fresh journal
//! that vouches for both. Only when that is complete and on stable storage does a `READY` file
//! mark the point of no return; the files are then moved over the old ones. A crash before
//! `READY` leaves the old tables as they were (the next run removes `.retry`); a crash after it
//! is finished by the next run. Either way nothing is lost or written twice.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::analysis::{Code, Route};
use crate::io::fs::sync_dir;
use crate::metrics::tally::{AuthFigures, Tally, is_spf_error};
use crate::outdir::journal::TrackedFile;
use crate::tables::Format;
use crate::tables::read::{csv_reader, read_error, read_rows};
use crate::tables::scan::{SCAN_TABLES, ScanTables, table_path};

/// Where a pass builds the next tables, inside the scan's directory.
pub const RETRY_DIR: &str = ".retry";
/// Written in [`RETRY_DIR`] once its tables and journal are complete and durable.
const READY: &str = "READY";

/// The domains of a scan's tables with something unmeasured (`provisional`), and what the
/// summary counted for them.
#[derive(Debug, Default)]
pub struct Unmeasured {
    pub domains: HashSet<String>,
    /// The tally of their rows, to take away from the scan's.
    pub tally: Tally,
}

/// The `domains` columns [`AuthFigures`] is read back from, in this order.
const AUTH_COLUMNS: [&str; 10] = [
    "spf",
    "spf_lookups",
    "spf_all",
    "spf_mx_pass",
    "dmarc",
    "dmarc_policy",
    "dmarc_rua",
    "mta_sts",
    "tls_rpt",
    "tlsa",
];

/// A domain's mail-authentication figures from its `domains` row (cells of [`AUTH_COLUMNS`],
/// as the CSV writes them; JSON Lines lists as JSON) and its SPF ERROR codes.
fn auth_figures<'a>(cells: &'a [String], spf_errors: Vec<&'a str>) -> AuthFigures<'a> {
    let text = |i: usize| Some(cells[i].as_str()).filter(|c| !c.is_empty());
    AuthFigures {
        spf: text(0),
        spf_lookups: cells[1].parse().unwrap_or(0),
        spf_all: text(2),
        spf_mx_pass: text(3).map(|b| b == "true"),
        spf_errors,
        dmarc: text(4),
        dmarc_policy: text(5),
        dmarc_rua: text(6).is_some_and(|rua| rua != "[]"),
        mta_sts: text(7),
        tls_rpt: text(8),
        tlsa: text(9),
    }
}

/// Reads the unmeasured domains of the tables in `dir` and the tally of their rows.
pub fn unmeasured(dir: &Path, format: Format) -> io::Result<Unmeasured> {
    let mut found = Unmeasured::default();
    let mut providers: Vec<(String, String)> = Vec::new();
    let mut auth: HashMap<String, Vec<String>> = HashMap::new();
    let t = &mut found.tally;
    let wanted: Vec<&str> = ["route", "provider", "provisional", "provider_source"]
        .into_iter()
        .chain(AUTH_COLUMNS)
        .collect();
    read_rows(
        &table_path(dir, "domains", format),
        format,
        &wanted,
        &mut |domain, row| {
            if row[2] == "true" {
                found.domains.insert(domain.to_string());
                providers.push((row[1].clone(), row[3].clone()));
                if let Some(route) = Route::ALL.iter().find(|r| r.as_str() == row[0]) {
                    *t.routes.entry(*route).or_default() += 1;
                }
                auth.insert(domain.to_string(), row[4..].to_vec());
            }
        },
    )?;
    for (label, sources) in &providers {
        for (name, share, source) in crate::analysis::provider::parse_columns(label, sources) {
            t.add_provider(name, share, source);
        }
    }
    let mut unanswered: HashSet<String> = HashSet::new();
    let mut spf_errors: HashMap<String, Vec<String>> = HashMap::new();
    read_rows(
        &table_path(dir, "findings", format),
        format,
        &["code", "severity", "subject"],
        &mut |domain, row| {
            if found.domains.contains(domain) {
                let by_severity: &mut BTreeMap<String, u64> =
                    t.findings.entry(row[0].clone()).or_default();
                *by_severity.entry(row[1].clone()).or_default() += 1;
                if row[0] == Code::DNS_TIMEOUT.name() && row[2].is_empty() {
                    unanswered.insert(domain.to_string());
                }
                if is_spf_error(&row[0], &row[1], &row[2]) {
                    spf_errors
                        .entry(domain.to_string())
                        .or_default()
                        .push(row[0].clone());
                }
            }
        },
    )?;
    t.unanswered = unanswered.len() as u64;
    for (domain, cells) in &auth {
        let errors = spf_errors
            .get(domain)
            .map_or(Vec::new(), |e| e.iter().map(String::as_str).collect());
        for key in auth_figures(cells, errors).keys() {
            *t.mail_auth.entry(key).or_default() += 1;
        }
    }
    read_rows(
        &table_path(dir, "senders", format),
        format,
        &["verdict"],
        &mut |domain, row| {
            if found.domains.contains(domain) {
                *t.senders.entry(row[0].clone()).or_default() += 1;
            }
        },
    )?;
    Ok(found)
}

/// Copies every row of the tables in `from` whose domain is not in `skip` into `tables`, as it
/// was written.
pub fn copy_rows_except(
    from: &Path,
    format: Format,
    skip: &HashSet<String>,
    tables: &mut ScanTables<TrackedFile>,
) -> io::Result<()> {
    for (stem, table) in SCAN_TABLES.iter().zip(tables.each()) {
        let path = table_path(from, stem, format);
        let err = |e: &dyn std::fmt::Display| read_error(&path, e);
        match format {
            Format::Csv => {
                let mut r = csv_reader(&path)?;
                let mut rec = csv::ByteRecord::new();
                while r.read_byte_record(&mut rec).map_err(|e| err(&e))? {
                    let domain = std::str::from_utf8(rec.get(0).unwrap_or_default()).unwrap_or("");
                    if !skip.contains(domain) {
                        table.copy_csv_row(&rec)?;
                    }
                }
            }
            Format::Jsonl => {
                #[derive(serde::Deserialize)]
                struct Domain {
                    domain: String,
                }
                let mut reader = BufReader::new(File::open(&path).map_err(|e| err(&e))?);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).map_err(|e| err(&e))? > 0 {
                    let row: Domain = serde_json::from_slice(&line).map_err(|e| err(&e))?;
                    if !skip.contains(&row.domain) {
                        table.copy_line(&line)?;
                    }
                    line.clear();
                }
            }
        }
    }
    Ok(())
}

/// Makes the pass built in `dir/.retry` the scan's: marks it ready (durably), moves its files
/// over the old ones, removes the directory.
pub fn commit(dir: &Path) -> io::Result<()> {
    let pass = dir.join(RETRY_DIR);
    sync_dir(&pass)?;
    crate::io::fs::create_fresh(&pass.join(READY))?.sync_all()?;
    sync_dir(&pass)?;
    finish(dir)
}

/// Moves every file of the pass (its tables and journal) over the scan's, `READY` last.
fn finish(dir: &Path) -> io::Result<()> {
    let pass = dir.join(RETRY_DIR);
    for entry in std::fs::read_dir(&pass)? {
        let name = entry?.file_name();
        if name == READY {
            continue;
        }
        let from = pass.join(&name);
        std::fs::rename(&from, dir.join(&name)).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot move {}: {e}", from.display()))
        })?;
    }
    sync_dir(dir)?;
    std::fs::remove_dir_all(&pass)
}

/// At the start of any run in `dir`: finishes a pass that was ready when it stopped, removes
/// one that was not (its old tables are untouched).
pub fn recover(dir: &Path) -> io::Result<()> {
    let pass: PathBuf = dir.join(RETRY_DIR);
    if pass.join(READY).exists() {
        crate::note!(
            "mxscan: finishing the retry pass that stopped in {}",
            pass.display()
        );
        finish(dir)
    } else if pass.exists() {
        std::fs::remove_dir_all(&pass)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row's cells give the figures its report gave, as CSV writes them and as JSON Lines do
    /// (where lists are JSON): a retry pass takes away exactly what the domain counted.
    #[test]
    fn a_rows_mail_authentication_figures_are_its_reports() {
        let cells = |rua: &str| -> Vec<String> {
            [
                "valid", "12", "", "true", "valid", "reject", rua, "none", "", "some",
            ]
            .map(String::from)
            .to_vec()
        };
        let want = [
            "spf.state.valid",
            "spf.lookups.11+",
            "spf.all.missing",
            "spf.mx_pass.true",
            "spf.errors.SPF_TOO_MANY_LOOKUPS",
            "dmarc.state.valid",
            "dmarc.policy.reject",
            "dmarc.rua.true",
            "mta_sts.state.none",
            "tlsa.state.some",
        ];
        let errors = vec!["SPF_TOO_MANY_LOOKUPS", "SPF_TOO_MANY_LOOKUPS"];
        for rua in ["mailto:d@example.com", "[\"mailto:d@example.com\"]"] {
            let c = cells(rua);
            assert_eq!(auth_figures(&c, errors.clone()).keys(), want);
        }
        for rua in ["", "[]"] {
            let c = cells(rua);
            assert!(
                auth_figures(&c, vec![])
                    .keys()
                    .contains(&"dmarc.rua.false".to_string())
            );
        }
        // An NXDOMAIN domain's row has none.
        let empty = vec![String::new(); AUTH_COLUMNS.len()];
        assert!(auth_figures(&empty, vec![]).keys().is_empty());
    }
}
