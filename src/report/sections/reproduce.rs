//! How to reproduce the run: its command line and manifest.

use crate::report::*;

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

pub(in crate::report) fn reproduce_section(
    page: &mut Page,
    s: Option<&Value>,
    manifest: Option<&Value>,
) {
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
