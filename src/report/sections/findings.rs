//! Findings by code and severity, and the catalogue entries of the codes found.

use crate::report::*;

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

pub(in crate::report) fn findings_section(
    page: &mut Page,
    s: Option<&Value>,
    tables: &TableFigures,
) {
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

pub(in crate::report) fn codes_section(page: &mut Page, tables: &TableFigures) {
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
