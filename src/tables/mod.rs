//! The tables a run writes: one writer for CSV and JSON Lines ([`table`]), the scan's row types
//! ([`scan`]), `resolve`'s rows, the questions log, and reading tables back ([`read`]).

pub mod questions;
pub mod read;
pub mod resolve;
pub mod scan;
pub mod table;

use std::io::Write;

/// A CSV cell as spreadsheets may open it: control characters written as `\DDD` (the DNS
/// presentation escape), and a leading `=`, `+`, `-` or `@` (which would start a formula)
/// behind a `'`. Text from DNS or from the input goes through this in every CSV table; JSON
/// Lines keep the exact text, JSON-escaped.
pub fn csv_cell(text: &mut String) {
    if text.bytes().any(|b| b.is_ascii_control()) {
        let mut escaped = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if c.is_ascii_control() {
                escaped.push_str(&format!("\\{:03}", c as u8));
            } else {
                escaped.push(c);
            }
        }
        *text = escaped;
    }
    if text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
}

/// A JSON Lines row with every empty string written as `null`.
pub fn jsonl_row<R: serde::Serialize>(row: &R) -> serde_json::Result<serde_json::Value> {
    let mut value = serde_json::to_value(row)?;
    if let serde_json::Value::Object(fields) = &mut value {
        for v in fields.values_mut() {
            if v.as_str() == Some("") {
                *v = serde_json::Value::Null;
            }
        }
    }
    Ok(value)
}

/// Output format of a row stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// As the flag and the file extension spell it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Where rows go: the named file, or stdout for `-` or none.
pub fn open(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    use anyhow::Context;
    Ok(match path {
        None => Box::new(std::io::stdout()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdout()),
        Some(p) => Box::new(
            std::fs::File::create(p)
                .with_context(|| format!("cannot create output {}", p.display()))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_never_run_as_formulas_and_show_control_characters() {
        let cell = |s: &str| {
            let mut s = s.to_string();
            crate::tables::csv_cell(&mut s);
            s
        };
        assert_eq!(cell("mx.example.com"), "mx.example.com");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(1)"), "'@SUM(1)");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("a\u{1b}[31mb\r\n"), "a\\027[31mb\\013\\010");
        assert_eq!(cell(""), "");
        let row =
            crate::tables::jsonl_row(&serde_json::json!({"a": "", "b": "x", "c": []})).unwrap();
        assert_eq!(row.to_string(), r#"{"a":null,"b":"x","c":[]}"#);
    }
}
