//! Score distributions of domains and sender IPs, and the sender verdicts.

use crate::report::*;

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

pub(in crate::report) fn scores_section(page: &mut Page, s: Option<&Value>, tables: &TableFigures) {
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
