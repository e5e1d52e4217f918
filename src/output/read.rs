//! Reading the scan's tables back, CSV or JSON Lines alike: for the retry pass (which domains
//! to ask again) and the report.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::Format;

/// An error reading `path`, naming it.
pub fn read_error(path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot read {}: {e}", path.display()))
}

/// A reader of a CSV table as mxscan writes it.
pub fn csv_reader(path: &Path) -> io::Result<csv::Reader<File>> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| read_error(path, e))
}

/// One table's rows, as `(domain, row)` where `row` holds the columns `wanted` as the CSV
/// writes them (a JSON `null` is empty, a number its digits), read from CSV or JSON Lines.
/// A column the table lacks reads as empty.
pub fn read_rows(
    path: &Path,
    format: Format,
    wanted: &[&str],
    each: &mut dyn FnMut(&str, &[String]),
) -> io::Result<()> {
    let err = |e: &dyn std::fmt::Display| read_error(path, e);
    let mut row = vec![String::new(); wanted.len()];
    match format {
        Format::Csv => {
            let mut r = csv_reader(path)?;
            let headers = r.headers().map_err(|e| err(&e))?.clone();
            let at: Vec<Option<usize>> = wanted
                .iter()
                .map(|w| headers.iter().position(|h| h == *w))
                .collect();
            let mut rec = csv::StringRecord::new();
            while r.read_record(&mut rec).map_err(|e| err(&e))? {
                for (cell, i) in row.iter_mut().zip(&at) {
                    cell.clear();
                    cell.push_str(i.and_then(|i| rec.get(i)).unwrap_or(""));
                }
                each(rec.get(0).unwrap_or(""), &row);
            }
        }
        Format::Jsonl => {
            let mut reader = BufReader::new(File::open(path).map_err(|e| err(&e))?);
            let mut line = String::new();
            while reader.read_line(&mut line).map_err(|e| err(&e))? > 0 {
                let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| err(&e))?;
                line.clear();
                let text = |key: &str, cell: &mut String| {
                    cell.clear();
                    match &value[key] {
                        serde_json::Value::String(s) => cell.push_str(s),
                        serde_json::Value::Null => {}
                        other => cell.push_str(&other.to_string()),
                    }
                };
                for (cell, w) in row.iter_mut().zip(wanted) {
                    text(w, cell);
                }
                let mut domain = String::new();
                text("domain", &mut domain);
                each(&domain, &row);
            }
        }
    }
    Ok(())
}
