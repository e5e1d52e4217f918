//! The mail-authentication survey: states per family and the families' own figures.

use crate::report::*;

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

pub(in crate::report) fn mail_auth_section(page: &mut Page, s: Option<&Value>) {
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
