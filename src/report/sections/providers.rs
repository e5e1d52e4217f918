//! Mail providers' shares and the MX-record counts.

use crate::report::*;

pub(in crate::report) fn providers_section(
    page: &mut Page,
    s: Option<&Value>,
    tables: &TableFigures,
) {
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
