//! Streaming writers: `resolve` rows, the scan's tables, its progress bar and summary.

pub mod checkpoint;
pub mod distinct;
pub mod journal;
pub mod latency;
pub mod manifest;
pub mod progress;
pub mod questions;
pub mod read;
pub mod resolve;
pub mod retry;
pub mod scan;
pub mod summary;
pub mod table;
pub mod tally;
pub mod timeline;

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

/// Creates `path` afresh for writing inside an output directory: whatever is there is removed
/// first (a file, or a symbolic link planted to make the scan write elsewhere), and the new
/// file is opened with `O_EXCL`, which never follows a link.
pub fn create_fresh(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
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
    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("report.tmp");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        use std::io::Write;
        super::create_fresh(&link)
            .unwrap()
            .write_all(b"new")
            .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    #[test]
    fn csv_cells_never_run_as_formulas_and_show_control_characters() {
        let cell = |s: &str| {
            let mut s = s.to_string();
            super::csv_cell(&mut s);
            s
        };
        assert_eq!(cell("mx.example.com"), "mx.example.com");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(1)"), "'@SUM(1)");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("a\u{1b}[31mb\r\n"), "a\\027[31mb\\013\\010");
        assert_eq!(cell(""), "");
        let row = super::jsonl_row(&serde_json::json!({"a": "", "b": "x", "c": []})).unwrap();
        assert_eq!(row.to_string(), r#"{"a":null,"b":"x","c":[]}"#);
    }
}
