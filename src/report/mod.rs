//! `mxscan report`: one self-contained HTML page of a scan (or of a benchmark), readable
//! offline and without JavaScript, printable. It reads `summary.json` and `manifest.json` as
//! JSON values (so a section is drawn for whatever families the summary has) and streams the
//! tables for what the summary does not keep ([`gather`]). Every number beside a chart that
//! comes from `summary.json` carries its JSON Pointer in `data-summary`.
//!
//! Sections, by id: `status`, `scan`, `findings`, `scores`, `providers`, `mail-auth` (when
//! checked), `resolvers`, `codes` (the catalogue entries of the codes found), `reproduce`.

pub mod chart;
pub mod gather;
pub mod html;
mod sections;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::analysis::Severity;
use crate::analysis::code::catalogue;
use crate::bench::BenchReport;
use crate::io::fs::write_atomically;
use crate::outdir::manifest::MANIFEST;
use crate::tables::Format;
use chart::{Labels, PALETTE, Series};
use gather::{SCORE_BINS, TableFigures};
use html::{Cell, Page, Table};
use sections::*;

/// The report's file name in a scan's directory.
pub const REPORT: &str = "report.html";

/// Codes in the findings chart at most (the table beside it lists every code).
const CHARTED_CODES: usize = 30;

/// A severity's colour in the charts.
fn severity_color(severity: Severity) -> plotters::style::RGBColor {
    match severity {
        Severity::Error => PALETTE[5],
        Severity::Warn => PALETTE[1],
        Severity::Info => PALETTE[0],
        Severity::Indeterminate => PALETTE[6],
    }
}

fn read_json(path: &Path) -> anyhow::Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not valid JSON: was it written by mxscan?",
                path.display()
            )
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The tables' format: as the manifest says, else by which files are there.
fn format_of(dir: &Path, manifest: Option<&Value>) -> anyhow::Result<Format> {
    match manifest.and_then(|m| m["format"].as_str()) {
        Some("jsonl") => return Ok(Format::Jsonl),
        Some("csv") => return Ok(Format::Csv),
        _ => {}
    }
    for format in [Format::Csv, Format::Jsonl] {
        if dir.join(format!("domains.{}", format.name())).is_file() {
            return Ok(format);
        }
    }
    anyhow::bail!(
        "{} holds no scan (no domains.csv or domains.jsonl): give the --out directory of a scan",
        dir.display()
    )
}

/// Writes the report of the scan in `dir` to `out` (default `dir/report.html`); returns its
/// path.
pub fn write_scan_report(dir: &Path, out: Option<&Path>) -> anyhow::Result<PathBuf> {
    let manifest = read_json(&dir.join(MANIFEST))?;
    let summary = read_json(&dir.join("summary.json"))?;
    let format = format_of(dir, manifest.as_ref())?;
    let tables = gather::tables(dir, format)?;
    let page = scan_page(dir, summary.as_ref(), manifest.as_ref(), &tables);
    let path = out.map_or_else(|| dir.join(REPORT), Path::to_path_buf);
    write_atomically(&path, page.as_bytes())
        .with_context(|| format!("cannot write the report {}", path.display()))?;
    Ok(path)
}

/// Writes `dir/report.html` after a scan or merge whose results (`what`) are written: a report
/// that cannot be written is a warning, since the results stand without it.
pub fn write_after(dir: &Path, what: &str) {
    if let Err(e) = write_scan_report(dir, None) {
        crate::note!(
            "mxscan: warning: {e:#}; the {what} is complete without it, and `mxscan report {}` \
             writes it later",
            dir.display()
        );
    }
}

/// Writes the page of a resolver benchmark (`mxscan bench --report FILE`).
pub fn write_bench_report(report: &BenchReport, path: &Path) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(report)?;
    value["version"] = env!("CARGO_PKG_VERSION").into();
    let s = Some(&value);
    let mut page = Page::new("mxscan bench report");
    page.banner(
        "status",
        "banner complete",
        &format!(
            "{} lookups in {:.1} s against {} resolver(s). (mxscan {})",
            report.lookups,
            report.run_time_s,
            report.resolvers.len(),
            env!("CARGO_PKG_VERSION")
        ),
    );
    page.section("bench", "Benchmark");
    let mut table = Table::new(&["figure", "value"]);
    for (label, pointer, decimals) in [
        ("run time (s)", "/run_time_s", 3),
        ("lookups", "/lookups", 0),
        ("answered", "/answered", 0),
        ("lost", "/lost", 0),
        ("loss %", "/loss_pct", 2),
        ("answered lookups/s", "/lookups_per_s", 1),
        ("queries sent (retries included)", "/attempts", 0),
        ("latency p50 ms", "/latency_ms/p50", 3),
        ("latency p99 ms", "/latency_ms/p99", 3),
    ] {
        table.row(vec![Cell::text(label), number_at(s, pointer, decimals)]);
    }
    let mut statuses = Table::new(&["status", "lookups"]);
    for status in report.statuses.keys() {
        statuses.row(vec![
            Cell::text(*status),
            count_at(s, &format!("/statuses/{}", escape_pointer(status))),
        ]);
    }
    page.tables(&[table, statuses]);
    timeline(
        &mut page,
        &value["timeline"],
        &value["resolvers"],
        "lookups",
    );
    resolvers_section(&mut page, s, "");
    reproduce_section(&mut page, s, None);
    let html = page.finish(&[
        ("bench", "Benchmark"),
        ("resolvers", "Resolvers"),
        ("reproduce", "Reproduce"),
    ]);
    write_atomically(path, html.as_bytes())
        .with_context(|| format!("cannot write the report {}", path.display()))
}

/// A value of the summary by JSON Pointer (`Null` when absent).
fn at<'a>(v: Option<&'a Value>, pointer: &str) -> &'a Value {
    v.and_then(|v| v.pointer(pointer)).unwrap_or(&Value::Null)
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A cell for the summary's count at `pointer`; `–` when the summary does not have it (never a
/// 0 that was not measured).
fn count_at(summary: Option<&Value>, pointer: &str) -> Cell {
    match at(summary, pointer).as_u64() {
        Some(n) => Cell::count(n).from_summary(pointer),
        None => Cell::text("–"),
    }
}

/// A count from the tables that `summary.json`, when there is one, holds at `pointer` too:
/// marked so that a reader (and the browser test) can check the two agree.
fn counted(n: u64, summary: Option<&Value>, pointer: &str) -> Cell {
    let cell = Cell::count(n);
    if summary.is_some() {
        cell.from_summary(pointer)
    } else {
        cell
    }
}

/// A cell for the summary's number at `pointer` with `decimals` (0: a count).
fn number_at(summary: Option<&Value>, pointer: &str, decimals: usize) -> Cell {
    match at(summary, pointer).as_f64() {
        _ if decimals == 0 => count_at(summary, pointer),
        Some(x) => Cell::number(x, decimals).from_summary(pointer),
        None => Cell::text("–"),
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    crate::metrics::latency::pct(part, whole)
}

/// The page of a scan.
fn scan_page(
    dir: &Path,
    summary: Option<&Value>,
    manifest: Option<&Value>,
    tables: &TableFigures,
) -> String {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let mut page = Page::new(&format!("mxscan report: {name}"));
    let mut sections = vec![
        ("scan", "Scan"),
        ("findings", "Findings"),
        ("scores", "Scores"),
        ("providers", "Providers"),
    ];
    status(&mut page, summary, tables);
    if let Some(s) = summary {
        sections.insert(0, ("key", "Key results"));
        key_results(&mut page, s);
    }
    scan_section(&mut page, summary);
    findings_section(&mut page, summary, tables);
    scores_section(&mut page, summary, tables);
    providers_section(&mut page, summary, tables);
    if at(summary, "/mail_auth")
        .as_object()
        .is_some_and(|m| !m.is_empty())
    {
        sections.push(("mail-auth", "Mail authentication"));
        mail_auth_section(&mut page, summary);
    }
    sections.push(("resolvers", "Resolvers"));
    resolvers_section(&mut page, summary, "");
    sections.push(("codes", "Finding codes"));
    codes_section(&mut page, tables);
    sections.push(("reproduce", "Reproduce"));
    reproduce_section(&mut page, summary, manifest);
    page.finish(&sections)
}
