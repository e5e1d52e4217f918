//! The top of the page (its status and key results) and the scan section: input, run, routes and
//! the run over time.

use crate::report::*;

pub(in crate::report) fn status(page: &mut Page, summary: Option<&Value>, tables: &TableFigures) {
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
pub(in crate::report) fn key_results(page: &mut Page, s: &Value) {
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

pub(in crate::report) fn scan_section(page: &mut Page, s: Option<&Value>) {
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
pub(in crate::report) fn timeline(
    page: &mut Page,
    timeline: &Value,
    resolvers: &Value,
    unit: &str,
) {
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
