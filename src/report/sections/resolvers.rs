//! Per-resolver figures: loss, latency, rcodes, health.

use crate::report::*;

/// The resolvers' figures of `summary.json` or of a benchmark report, under `base` (a JSON
/// Pointer prefix: "" for both).
pub(in crate::report) fn resolvers_section(page: &mut Page, s: Option<&Value>, base: &str) {
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
