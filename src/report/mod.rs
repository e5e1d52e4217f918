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

fn status(page: &mut Page, summary: Option<&Value>, tables: &TableFigures) {
    let Some(s) = summary else {
        page.banner(
            "status",
            "banner interrupted",
            &format!(
                "INTERRUPTED: this scan stopped before writing summary.json (it was killed). \
                 {} domains are in its tables; the figures below come from them alone. \
                 Continue it with mxscan scan --resume.",
                tables.domains.rows
            ),
        );
        return;
    };
    let scanned = s["domains_scanned"].as_u64().unwrap_or(0);
    let listed = s["input"]["domains"].as_u64().unwrap_or(0);
    let mxscan = s["version"].as_str().unwrap_or("?");
    if s["interrupted"].as_bool().unwrap_or(false) {
        let why = if s["gave_up"].as_bool().unwrap_or(false) {
            "every resolver was down for too long (--give-up)"
        } else {
            "it was stopped"
        };
        page.banner(
            "status",
            "banner interrupted",
            &format!(
                "INTERRUPTED: {why}. {scanned} of {listed} domains were scanned; every figure \
                 covers those. Continue it with mxscan scan --resume. (mxscan {mxscan})"
            ),
        );
    } else if let Some(shards) = s["shards"].as_array().filter(|x| !x.is_empty()) {
        page.banner(
            "status",
            "banner complete",
            &format!(
                "Complete: {scanned} domains, merged from {} shards (mxscan merge). Counts are \
                 the shards' sums; times are summed over the shards. (mxscan {mxscan})",
                shards.len()
            ),
        );
    } else {
        page.banner(
            "status",
            "banner complete",
            &format!(
                "Complete: {scanned} domains scanned in {} run(s). (mxscan {mxscan})",
                s["runs"].as_u64().unwrap_or(1)
            ),
        );
    }
}

/// The figures a reader wants first, each the summary's own number.
fn key_results(page: &mut Page, s: &Value) {
    page.section("key", "Key results");
    let s = Some(s);
    let mut table = Table::new(&["figure", "value"]);
    table.row(vec![
        Cell::text("domains scanned"),
        count_at(s, "/domains_scanned"),
    ]);
    for (route, what) in [
        ("HAS_MX", "% with MX records"),
        ("IMPLICIT_MX", "% with no MX but an address (implicit MX)"),
        ("NULL_MX", "% that accept no mail (null MX)"),
        ("NXDOMAIN", "% that do not exist"),
        ("NO_MAIL_ROUTE", "% without a mail route"),
        ("INDETERMINATE", "% not measured (a lookup failed)"),
    ] {
        if at(s, &format!("/route_pct/{route}")).is_number() {
            table.row(vec![
                Cell::text(what),
                number_at(s, &format!("/route_pct/{route}"), 2),
            ]);
        }
    }
    table.row(vec![
        Cell::text("% self-hosted"),
        number_at(s, "/self_hosted_pct", 2),
    ]);
    let providers = at(s, "/providers_pct")
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some((top, _)) = providers.iter().max_by(|a, b| {
        (a.1.as_f64())
            .partial_cmp(&b.1.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)
    }) {
        table.row(vec![
            Cell::text(format!("% at the largest provider, {top}")),
            number_at(s, &format!("/providers_pct/{}", escape_pointer(top)), 2),
        ]);
    }
    for verdict in ["ok", "at_risk", "fail", "indeterminate"] {
        if at(s, &format!("/senders/{verdict}")).is_number() {
            table.row(vec![
                Cell::text(format!("sender IPs {verdict}")),
                count_at(s, &format!("/senders/{verdict}")),
            ]);
        }
    }
    page.table(&table);
}

/// A merge's shards: which directory held which part.
fn shards_table(page: &mut Page, s: Option<&Value>) {
    let shards = at(s, "/shards").as_array().cloned().unwrap_or_default();
    if shards.is_empty() {
        return;
    }
    let mut table = Table::new(&["shard", "directory", "domains", "runs", "scanning (s)"]);
    for (i, shard) in shards.iter().enumerate() {
        let part = format!(
            "{}/{}",
            shard["shard"]["index"].as_u64().unwrap_or(0),
            shard["shard"]["count"].as_u64().unwrap_or(0)
        );
        table.row(vec![
            Cell::text(part),
            Cell::text(shard["out"].as_str().unwrap_or("")),
            count_at(s, &format!("/shards/{i}/domains")),
            count_at(s, &format!("/shards/{i}/runs")),
            number_at(s, &format!("/shards/{i}/scan_s"), 2),
        ]);
    }
    page.table(&table);
}

fn scan_section(page: &mut Page, s: Option<&Value>) {
    page.section("scan", "Scan");
    let mut input = Table::new(&["input", "count"]);
    for (label, key) in [
        ("records read", "records"),
        ("domains", "domains"),
        ("duplicates (scanned once)", "duplicates"),
        ("rejected (rejects table)", "rejected"),
        ("skipped (blank, comments)", "skipped"),
        ("sender rows", "sender_rows"),
    ] {
        input.row(vec![
            Cell::text(label),
            count_at(s, &format!("/input/{key}")),
        ]);
    }
    input.row(vec![
        Cell::text("domains scanned"),
        count_at(s, "/domains_scanned"),
    ]);
    page.table(&input);

    let mut run = Table::new(&["run", "value"]);
    let rows: [(&str, &str, usize); 14] = [
        ("preparing the input (s)", "/timing/prepare_s", 2),
        ("scanning (s)", "/timing/scan_s", 2),
        ("domains/s", "/timing/domains_per_s", 1),
        ("lookups/s", "/timing/lookups_per_s", 1),
        ("lookups", "/queries/lookups", 0),
        ("lookups per domain", "/queries/lookups_per_domain", 3),
        (
            "distinct questions (estimated)",
            "/queries/distinct_questions",
            0,
        ),
        (
            "lookups per distinct question (1: none asked twice)",
            "/queries/lookups_per_distinct_question",
            3,
        ),
        ("queries sent per domain", "/queries/attempts_per_domain", 3),
        ("retries", "/queries/retries", 0),
        (
            "shared lookups: answered from the cache",
            "/queries/shared/hits",
            0,
        ),
        (
            "shared lookups: joined one in flight",
            "/queries/shared/joined",
            0,
        ),
        ("shared lookups: sent", "/queries/shared/sent", 0),
        ("seconds with every resolver down", "/queries/outage_s", 2),
    ];
    for (label, pointer, decimals) in rows {
        run.row(vec![Cell::text(label), number_at(s, pointer, decimals)]);
    }
    page.table(&run);
    shards_table(page, s);

    let routes = at(s, "/routes").as_object().cloned().unwrap_or_default();
    let names: Vec<String> = routes.keys().cloned().collect();
    let mut table = Table::new(&["route", "domains", "%"]);
    for name in &names {
        let key = escape_pointer(name);
        table.row(vec![
            Cell::text(name),
            count_at(s, &format!("/routes/{key}")),
            number_at(s, &format!("/route_pct/{key}"), 2),
        ]);
    }
    let values: Vec<u64> = names
        .iter()
        .map(|n| routes[n].as_u64().unwrap_or(0))
        .collect();
    let svg = chart::single(
        &Labels {
            title: "Route states",
            x: "route",
            y: "domains",
        },
        &names,
        "domains",
        PALETTE[0],
        values,
        false,
    );
    page.figure(
        &svg,
        "Where each domain's mail goes (docs/output.md, route).",
        &table,
    );
    if at(s, "/shards").as_array().is_some_and(|x| !x.is_empty()) {
        page.paragraph(
            "A merge has no timeline: the shards ran apart. Each shard's own report shows its \
             run over time.",
        );
    } else {
        timeline(page, at(s, "/timeline"), at(s, "/resolvers"), "domains");
    }
}

/// Runs with fewer samples than this (a second apart) are charted as running totals: their
/// first second, when the cache is cold and the window fills, would dwarf every rate after it.
const SHORT_RUN_SAMPLES: usize = 30;

/// A counter over the run, at `pointer` in each sample: its running total (`running`), or its
/// per-second rate between consecutive samples.
fn over_time(samples: &[Value], pointer: &str, running: bool) -> Vec<(f64, f64)> {
    let point = |x: &Value| Some((x["t_s"].as_f64()?, x.pointer(pointer)?.as_f64()?));
    if running {
        return samples.iter().filter_map(point).collect();
    }
    samples
        .windows(2)
        .filter_map(|w| {
            let (t0, v0) = point(&w[0])?;
            let (t1, v1) = point(&w[1])?;
            (t1 > t0).then(|| (t1, (v1 - v0) / (t1 - t0)))
        })
        .collect()
}

/// Charts of a run over time; `unit` names what `domains` counts (domains, or a benchmark's
/// lookups).
fn timeline(page: &mut Page, timeline: &Value, resolvers: &Value, unit: &str) {
    let samples = timeline["samples"].as_array().cloned().unwrap_or_default();
    if samples.len() < 2 {
        page.paragraph("The run was too short for a timeline (samples are a second apart).");
        return;
    }
    let interval = timeline["interval_s"].as_f64().unwrap_or(1.0);
    let running = samples.len() < SHORT_RUN_SAMPLES;
    // What a counter's line shows: its total so far in a short run, else its rate.
    let per = |what: &str| {
        if running {
            what.to_string()
        } else {
            format!("{what}/s")
        }
    };
    let series = |what: &str, color: plotters::style::RGBColor, pointer: &str| Series {
        name: per(what),
        color,
        values: over_time(&samples, pointer, running),
    };
    // The counters this run kept (a benchmark counts its lookups as `domains`).
    let kept = |field: &str| samples.iter().any(|x| x[field].as_u64().unwrap_or(0) > 0);
    let mut counts = vec![(unit.to_string(), "/domains".to_string())];
    let mut lines = vec![series(unit, PALETTE[0], "/domains")];
    if unit == "domains" {
        counts.push(("lookups".into(), "/lookups".into()));
        lines.push(series("lookups", PALETTE[1], "/lookups"));
    }
    if kept("queries") {
        counts.push(("queries".into(), "/queries".into()));
    }
    let (title, how) = if running {
        (
            format!("{unit} done over the run"),
            format!(
                "Running totals at samples taken every {interval} s (a short run: its first \
                 second would dwarf every rate after it)."
            ),
        )
    } else {
        (
            format!("{unit} per second over the run"),
            format!(
                "Rates between samples taken every {interval} s (fewer, further apart, for a long \
                 run); the table shows some of the samples."
            ),
        )
    };
    let svg = chart::lines(
        &Labels {
            title: &title,
            x: "seconds",
            y: &per(unit),
        },
        &lines,
        None,
    );
    page.figure(&svg, &how, &sample_table(&samples, &counts));
    let in_flight: Vec<(f64, f64)> = samples
        .iter()
        .map(|x| {
            (
                x["t_s"].as_f64().unwrap_or(0.0),
                x["in_flight"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let y = if running {
        "queries"
    } else {
        "queries, per second for retries and timeouts"
    };
    let svg = chart::lines(
        &Labels {
            title: "Queries in flight, retries and timeouts",
            x: "seconds",
            y,
        },
        &[
            Series {
                name: "in flight".into(),
                color: PALETTE[0],
                values: in_flight,
            },
            series("retries", PALETTE[1], "/retries"),
            series("timeouts", PALETTE[5], "/timeouts"),
        ],
        None,
    );
    if unit == "domains" {
        let columns = [
            ("in flight", "/in_flight"),
            ("retries", "/retries"),
            ("timeouts", "/timeouts"),
        ]
        .map(|(h, p)| (h.to_string(), p.to_string()));
        let how = if running {
            "Queries in flight at each sample; retries and timeouts so far."
        } else {
            "Queries in flight at each sample; retries and timeouts per second between samples \
             (the table: their running totals)."
        };
        page.figure(&svg, how, &sample_table(&samples, &columns));
    }
    // Health over the run: each resolver's answers.
    let names: Vec<String> = resolvers
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["resolver"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return;
    }
    let lines: Vec<Series<(f64, f64)>> = names
        .iter()
        .enumerate()
        .map(|(k, name)| Series {
            name: name.clone(),
            ..series("", PALETTE[k % PALETTE.len()], &format!("/answered/{k}"))
        })
        .collect();
    let (title, how) = if running {
        (
            "Answers from each resolver so far (its health over the run)",
            "A resolver that dies or is benched stops rising here.",
        )
    } else {
        (
            "Answers per second from each resolver (its health over the run)",
            "A resolver that dies or is benched drops to zero here (the table: replies so far).",
        )
    };
    let svg = chart::lines(
        &Labels {
            title,
            x: "seconds",
            y: &per("answers"),
        },
        &lines,
        None,
    );
    let columns: Vec<(String, String)> = names
        .iter()
        .enumerate()
        .map(|(k, name)| (name.clone(), format!("/answered/{k}")))
        .collect();
    page.figure(&svg, how, &sample_table(&samples, &columns));
}

/// About a dozen of the samples (the last always) as a table: the time, then each column's
/// count, found by JSON Pointer within the sample.
fn sample_table(samples: &[Value], columns: &[(String, String)]) -> Table {
    let mut head = vec!["t (s)"];
    head.extend(columns.iter().map(|(h, _)| h.as_str()));
    let mut table = Table::new(&head);
    let step = samples.len().div_ceil(12).max(1);
    for (i, sample) in samples.iter().enumerate() {
        if i % step != 0 && i + 1 != samples.len() {
            continue;
        }
        let mut row = vec![Cell::number(sample["t_s"].as_f64().unwrap_or(0.0), 1)];
        for (_, pointer) in columns {
            let n = sample.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
            row.push(Cell::count(n).from_summary(format!("/timeline/samples/{i}{pointer}")));
        }
        table.row(row);
    }
    table
}

fn severity_series(
    categories: &[String],
    by_code: &BTreeMap<String, BTreeMap<String, u64>>,
) -> Vec<Series<u64>> {
    Severity::ALL
        .iter()
        .map(|severity| Series {
            name: severity.as_str().to_string(),
            color: severity_color(*severity),
            values: categories
                .iter()
                .map(|c| {
                    by_code
                        .get(c)
                        .and_then(|s| s.get(severity.as_str()))
                        .copied()
                        .unwrap_or(0)
                })
                .collect(),
        })
        .collect()
}

fn findings_section(page: &mut Page, s: Option<&Value>, tables: &TableFigures) {
    page.section("findings", "Findings");
    let total = |code: &String| -> u64 { tables.findings[code].values().sum() };
    // By the worst severity a code was found with (Severity::ALL is worst first), then by
    // count: an ERROR that is rare still comes before a common INFO.
    let worst = |code: &String| {
        Severity::ALL
            .iter()
            .position(|s| {
                tables.findings[code]
                    .get(s.as_str())
                    .is_some_and(|n| *n > 0)
            })
            .unwrap_or(Severity::ALL.len())
    };
    let mut codes: Vec<String> = tables.findings.keys().cloned().collect();
    codes.sort_by(|a, b| {
        (worst(a).cmp(&worst(b)))
            .then(total(b).cmp(&total(a)))
            .then(a.cmp(b))
    });
    if codes.is_empty() {
        page.paragraph("No findings.");
        return;
    }
    let charted = &codes[..codes.len().min(CHARTED_CODES)];
    let title = if charted.len() < codes.len() {
        format!("The first {CHARTED_CODES} finding codes (worst severity, then most frequent)")
    } else {
        "Findings per code, by severity".to_string()
    };
    let svg = chart::bars(
        &Labels {
            title: &title,
            x: "findings",
            y: "",
        },
        charted,
        &severity_series(charted, &tables.findings),
        true,
    );
    let mut head = vec!["code"];
    head.extend(Severity::ALL.iter().map(|s| s.as_str()));
    head.push("examples (first by name)");
    let mut table = Table::new(&head);
    for code in &codes {
        let mut row = vec![Cell::text(code).linked(format!("code-{code}"))];
        for severity in Severity::ALL.map(Severity::as_str) {
            let n = tables.findings[code].get(severity).copied().unwrap_or(0);
            row.push(if n > 0 {
                counted(
                    n,
                    s,
                    &format!("/findings/{}/{severity}", escape_pointer(code)),
                )
            } else {
                Cell::text("")
            });
        }
        let examples: Vec<&str> = tables.examples[code].iter().map(String::as_str).collect();
        row.push(Cell::text(examples.join(" ")));
        table.row(row);
    }
    page.figure(
        &svg,
        "Findings counted from the findings table; each code links to its entry (from \
         docs/findings.md) under Finding codes.",
        &table,
    );
}

fn score_labels() -> Vec<String> {
    (0..SCORE_BINS)
        .map(|b| {
            if b == SCORE_BINS - 1 {
                "100".to_string()
            } else {
                format!("{}–{}", b * 10, b * 10 + 9)
            }
        })
        .collect()
}

fn scores_figure(page: &mut Page, what: &str, scores: &gather::Scores) {
    let labels = score_labels();
    let svg = chart::single(
        &Labels {
            title: &format!("Scores of {what}"),
            x: "score",
            y: what,
        },
        &labels,
        what,
        PALETTE[2],
        scores.histogram.to_vec(),
        false,
    );
    let mut table = Table::new(&["score", what]);
    for (label, n) in labels.iter().zip(scores.histogram) {
        table.row(vec![Cell::text(label), Cell::count(n)]);
    }
    table.row(vec![
        Cell::text("no score (nothing measured)"),
        Cell::count(scores.unscored),
    ]);
    table.row(vec![
        Cell::text("provisional (a lookup failed), %"),
        Cell::number(pct(scores.provisional, scores.rows), 2),
    ]);
    page.figure(
        &svg,
        &format!(
            "{} {what}; a provisional score rests on a lookup that failed and may change on \
             a retry (--retry-indeterminate).",
            scores.rows
        ),
        &table,
    );
}

fn scores_section(page: &mut Page, s: Option<&Value>, tables: &TableFigures) {
    page.section("scores", "Scores");
    scores_figure(page, "domains", &tables.domains);
    if tables.senders.rows == 0 {
        page.paragraph("No sender IPs were declared (--senders).");
        return;
    }
    scores_figure(page, "sender IPs", &tables.senders);
    let verdicts: Vec<String> = tables.verdicts.keys().cloned().collect();
    let svg = chart::single(
        &Labels {
            title: "Sender IP verdicts",
            x: "verdict",
            y: "sender IPs",
        },
        &verdicts,
        "sender IPs",
        PALETTE[3],
        verdicts.iter().map(|v| tables.verdicts[v]).collect(),
        false,
    );
    let mut table = Table::new(&["verdict", "sender IPs"]);
    for v in &verdicts {
        table.row(vec![
            Cell::text(v),
            counted(
                tables.verdicts[v],
                s,
                &format!("/senders/{}", escape_pointer(v)),
            ),
        ]);
    }
    page.figure(
        &svg,
        "Verdicts of the declared sender IPs (senders table).",
        &table,
    );
}

fn providers_section(page: &mut Page, s: Option<&Value>, tables: &TableFigures) {
    page.section("providers", "Providers");
    let providers = at(s, "/providers_pct")
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut top: Vec<(String, f64)> = providers
        .iter()
        .map(|(p, v)| (p.clone(), v.as_f64().unwrap_or(0.0)))
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    // The summary's fractional figure when there is one (the same rule as providers_pct);
    // else the rows whose every most-preferred exchange is the domain's own.
    let self_hosted = at(s, "/self_hosted_pct")
        .as_f64()
        .unwrap_or_else(|| pct(tables.self_hosted, tables.domains.rows));
    let mut names: Vec<String> = top.iter().map(|(p, _)| p.clone()).collect();
    names.push("self-hosted".into());
    let mut table = Table::new(&["provider", "% of domains"]);
    for (p, _) in &top {
        table.row(vec![
            Cell::text(p),
            number_at(s, &format!("/providers_pct/{}", escape_pointer(p)), 2),
        ]);
    }
    table.row(vec![
        Cell::text("self-hosted (exchanges under the domain's own registrable domain)"),
        Cell::number(self_hosted, 2),
    ]);
    let mut shares: Vec<f64> = top.iter().map(|(_, v)| *v).collect();
    shares.push(self_hosted);
    let svg = chart::shares(
        &Labels {
            title: "Top providers by share of domains",
            x: "% of the domains",
            y: "",
        },
        &names,
        PALETTE[0],
        &shares,
    );
    page.figure(
        &svg,
        "Shares with fractional credit for domains whose exchanges belong to several providers.",
        &table,
    );

    let labels: Vec<String> = (0..gather::MX_BINS)
        .map(|i| {
            if i == gather::MX_BINS - 1 {
                format!("{i}+")
            } else {
                i.to_string()
            }
        })
        .collect();
    let svg = chart::single(
        &Labels {
            title: "MX records per domain",
            x: "MX records",
            y: "domains",
        },
        &labels,
        "domains",
        PALETTE[4],
        tables.mx_counts.to_vec(),
        false,
    );
    let mut table = Table::new(&["MX records", "domains"]);
    for (label, n) in labels.iter().zip(tables.mx_counts) {
        table.row(vec![Cell::text(label), Cell::count(n)]);
    }
    table.row(vec![
        Cell::text("exchanges with an IPv6 address, %"),
        Cell::number(pct(tables.exchanges_ipv6, tables.exchanges), 2),
    ]);
    page.figure(
        &svg,
        &format!(
            "IPv6: {} of {} exchanges as domains use them (a domain's exchange with addresses) \
             have an IPv6 address.",
            tables.exchanges_ipv6, tables.exchanges
        ),
        &table,
    );
}

/// The mail-authentication families in the order the report shows them (others, from a newer
/// summary, follow by name).
const FAMILIES: [&str; 5] = ["spf", "dmarc", "mta_sts", "tls_rpt", "tlsa"];

/// Count maps drawn as charts besides being tabled: (family, map).
const CHARTED_COUNTS: [(&str, &str); 2] = [("spf", "lookups"), ("dmarc", "policy")];

/// A state's colour: the same meaning, the same colour, in every family.
fn state_color(state: &str, k: usize) -> plotters::style::RGBColor {
    match state {
        "valid" | "all" => PALETTE[2],
        "some" => PALETTE[1],
        "none" => PALETTE[4],
        "invalid" | "permerror" => PALETTE[5],
        "temperror" => PALETTE[6],
        _ => PALETTE[(k + 3) % PALETTE.len()],
    }
}

fn mail_auth_section(page: &mut Page, s: Option<&Value>) {
    page.section("mail-auth", "Mail authentication");
    let families = at(s, "/mail_auth").as_object().cloned().unwrap_or_default();
    let mut names: Vec<String> = families.keys().cloned().collect();
    let rank = |f: &String| {
        FAMILIES
            .iter()
            .position(|x| x == f)
            .unwrap_or(FAMILIES.len())
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    let mut states: Vec<String> = families
        .values()
        .filter_map(|f| f["states"].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    states.sort();
    states.dedup();
    let series: Vec<Series<u64>> = states
        .iter()
        .enumerate()
        .map(|(k, state)| Series {
            name: state.clone(),
            color: state_color(state, k),
            values: names
                .iter()
                .map(|f| families[f]["states"][state].as_u64().unwrap_or(0))
                .collect(),
        })
        .collect();
    let svg = chart::bars(
        &Labels {
            title: "States per family",
            x: "domains",
            y: "",
        },
        &names,
        &series,
        true,
    );
    let mut head = vec!["family", "domains", "with a record, %"];
    head.extend(states.iter().map(String::as_str));
    let mut table = Table::new(&head);
    for family in &names {
        let base = format!("/mail_auth/{}", escape_pointer(family));
        let mut row = vec![
            Cell::text(family),
            count_at(s, &format!("{base}/domains")),
            number_at(s, &format!("{base}/with_record_pct"), 2),
        ];
        for state in &states {
            row.push(if families[family]["states"][state].is_u64() {
                count_at(s, &format!("{base}/states/{}", escape_pointer(state)))
            } else {
                Cell::text("")
            });
        }
        table.row(row);
    }
    page.figure(
        &svg,
        "One state per domain and family, as in the domains table (NXDOMAIN domains left out); \
         with a record: of the domains measured (not temperror), those with a record, valid or \
         not (TLSA: on some mail host).",
        &table,
    );
    // Every other count map of a family: a table, and a chart for the survey's histograms.
    let mut small = Vec::new();
    for family in &names {
        let base = format!("/mail_auth/{}", escape_pointer(family));
        let Some(figures) = families[family].as_object() else {
            continue;
        };
        for (what, counts) in figures {
            let Some(counts) = counts.as_object().filter(|_| what != "states") else {
                continue;
            };
            let mut keys: Vec<String> = counts.keys().cloned().collect();
            if what == "lookups" {
                // A histogram in its numeric order, `11+` last.
                keys.sort_by_key(|k| k.trim_end_matches('+').parse::<u32>().unwrap_or(u32::MAX));
            }
            let mut table = Table::new(&[&format!("{family} {what}"), "domains"]);
            for k in &keys {
                let pointer = format!("{base}/{}/{}", escape_pointer(what), escape_pointer(k));
                table.row(vec![Cell::text(k), count_at(s, &pointer)]);
            }
            if !CHARTED_COUNTS.contains(&(family.as_str(), what.as_str())) {
                small.push(table);
                continue;
            }
            let values: Vec<u64> = keys
                .iter()
                .map(|k| counts[k].as_u64().unwrap_or(0))
                .collect();
            let svg = chart::single(
                &Labels {
                    title: &format!("{family}: {what}"),
                    x: what,
                    y: "domains",
                },
                &keys,
                "domains",
                PALETTE[2],
                values,
                false,
            );
            page.figure(
                &svg,
                &format!("{family} {what} (summary.json {base}/{what})."),
                &table,
            );
        }
    }
    page.tables(&small);
}

/// The resolvers' figures of `summary.json` or of a benchmark report, under `base` (a JSON
/// Pointer prefix: "" for both).
fn resolvers_section(page: &mut Page, s: Option<&Value>, base: &str) {
    page.section("resolvers", "Resolvers");
    let resolvers = at(s, &format!("{base}/resolvers"))
        .as_array()
        .cloned()
        .unwrap_or_default();
    if resolvers.is_empty() {
        page.paragraph("No resolver figures (summary.json is missing).");
        return;
    }
    let mut table = Table::new(&[
        "resolver", "sent", "answered", "loss %", "q/s", "timeouts", "p50 ms", "p90 ms", "p99 ms",
        "max ms", "downs", "health",
    ]);
    for (i, r) in resolvers.iter().enumerate() {
        let p = format!("{base}/resolvers/{i}");
        table.row(vec![
            Cell::text(r["resolver"].as_str().unwrap_or("?")),
            count_at(s, &format!("{p}/sent")),
            count_at(s, &format!("{p}/answered")),
            number_at(s, &format!("{p}/loss_pct"), 2),
            number_at(s, &format!("{p}/qps"), 1),
            count_at(s, &format!("{p}/timeouts")),
            number_at(s, &format!("{p}/latency_ms/p50"), 3),
            number_at(s, &format!("{p}/latency_ms/p90"), 3),
            number_at(s, &format!("{p}/latency_ms/p99"), 3),
            number_at(s, &format!("{p}/latency_ms/max"), 3),
            count_at(s, &format!("{p}/downs")),
            Cell::text(r["health"].as_str().unwrap_or("?")),
        ]);
    }
    page.table(&table);

    // The latency distribution: one line per resolver over the buckets.
    let bounds: Vec<String> = resolvers
        .iter()
        .find_map(|r| r["latency_buckets"].as_array().filter(|b| !b.is_empty()))
        .map(|b| {
            b.iter()
                .map(|x| match x["le_ms"].as_f64() {
                    Some(le) => format!("≤{le}"),
                    None => "more".into(),
                })
                .collect()
        })
        .unwrap_or_default();
    if !bounds.is_empty() {
        let series: Vec<Series<(f64, f64)>> = resolvers
            .iter()
            .enumerate()
            .map(|(k, r)| Series {
                name: r["resolver"].as_str().unwrap_or("?").to_string(),
                color: PALETTE[k % PALETTE.len()],
                values: r["latency_buckets"]
                    .as_array()
                    .map(|b| {
                        b.iter()
                            .enumerate()
                            .map(|(i, x)| (i as f64, x["count"].as_f64().unwrap_or(0.0)))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        let name = |x: &f64| bounds.get(x.round() as usize).cloned().unwrap_or_default();
        let svg = chart::lines(
            &Labels {
                title: "Latency distribution per resolver",
                x: "latency bucket (ms, up to)",
                y: "answers",
            },
            &series,
            Some(&name),
        );
        let mut head = vec!["ms, up to".to_string()];
        head.extend(
            resolvers
                .iter()
                .map(|r| r["resolver"].as_str().unwrap_or("?").to_string()),
        );
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        let mut numbers = Table::new(&head);
        for (i, bound) in bounds.iter().enumerate() {
            let mut row = vec![Cell::text(bound)];
            for k in 0..resolvers.len() {
                row.push(count_at(
                    s,
                    &format!("{base}/resolvers/{k}/latency_buckets/{i}/count"),
                ));
            }
            numbers.row(row);
        }
        page.figure(
            &svg,
            "Answers per latency bucket (a 1-2-5 series of bounds).",
            &numbers,
        );
    }

    let mut rcodes: Vec<String> = resolvers
        .iter()
        .filter_map(|r| r["rcodes"].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    rcodes.sort();
    rcodes.dedup();
    let mut head = vec!["resolver".to_string()];
    head.extend(rcodes.iter().cloned());
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut table = Table::new(&head);
    for (i, r) in resolvers.iter().enumerate() {
        let mut row = vec![Cell::text(r["resolver"].as_str().unwrap_or("?"))];
        for rcode in &rcodes {
            row.push(if r["rcodes"][rcode].is_u64() {
                count_at(
                    s,
                    &format!("{base}/resolvers/{i}/rcodes/{}", escape_pointer(rcode)),
                )
            } else {
                Cell::count(0)
            });
        }
        table.row(row);
    }
    page.heading("Response codes per resolver");
    page.table(&table);
}

fn codes_section(page: &mut Page, tables: &TableFigures) {
    page.section("codes", "Finding codes");
    page.paragraph("The entries of docs/findings.md for the codes this scan found.");
    let mut table = Table::new(&[
        "code",
        "severity",
        "detection",
        "source",
        "what the owner should do",
    ]);
    for entry in catalogue().filter(|e| tables.findings.contains_key(e.code)) {
        let text = |md: &str| Cell::text(md.replace('`', ""));
        let cells = vec![
            text(entry.code),
            text(entry.severity),
            text(entry.detection),
            text(entry.source),
            text(entry.fix),
        ];
        table.anchored_row(format!("code-{}", entry.code), cells);
    }
    page.table(&table);
}

/// `arg` as a POSIX shell reads it back.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./,:=@%+-".contains(&b));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

fn reproduce_section(page: &mut Page, s: Option<&Value>, manifest: Option<&Value>) {
    page.section("reproduce", "Reproduce");
    let command: Vec<String> = at(s, "/command")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .map(shell_quote)
                .collect()
        })
        .unwrap_or_default();
    page.paragraph(&format!(
        "mxscan {} ran it with:",
        at(s, "/version")
            .as_str()
            .or_else(|| at(manifest, "/mxscan").as_str())
            .unwrap_or("(version not recorded)")
    ));
    page.preformatted(&if command.is_empty() {
        "(not recorded: summary.json is missing)".to_string()
    } else {
        command.join(" ")
    });
    let mut table = Table::new(&["setting", "value"]);
    for group in ["input", "settings", "tuning"] {
        if let Some(map) = at(manifest, &format!("/{group}")).as_object() {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                table.row(vec![Cell::text(format!("{group} {k}")), Cell::text(text)]);
            }
        }
    }
    if !table.rows.is_empty() {
        page.paragraph(
            "The settings that shape the rows and those of how resolvers were asked \
             (manifest.json):",
        );
        page.table(&table);
    }
}
