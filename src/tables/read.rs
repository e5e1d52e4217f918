//! Reading the scan's tables back, CSV or JSON Lines alike: for the retry pass (which domains
//! to ask again) and the report.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::tables::Format;

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
            let mut domain = String::new();
            while reader.read_line(&mut line).map_err(|e| err(&e))? > 0 {
                let mut de = serde_json::Deserializer::from_str(&line);
                Wanted {
                    wanted,
                    row: &mut row,
                    domain: &mut domain,
                }
                .deserialize(&mut de)
                .map_err(|e| err(&e))?;
                line.clear();
                each(&domain, &row);
            }
        }
    }
    Ok(())
}

/// One JSON Lines row read into the cells of the wanted keys (and the domain), every other value
/// skipped unread: no tree is built for a row.
struct Wanted<'a> {
    wanted: &'a [&'a str],
    row: &'a mut [String],
    domain: &'a mut String,
}

impl<'de> DeserializeSeed<'de> for Wanted<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Wanted<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object per line")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        for cell in self.row.iter_mut() {
            cell.clear();
        }
        self.domain.clear();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "domain" {
                map.next_value_seed(Text(self.domain))?;
            } else if let Some(i) = self.wanted.iter().position(|w| *w == key) {
                map.next_value_seed(Text(&mut self.row[i]))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A JSON value as the CSV writes it: a string as is, `null` empty, anything else its JSON.
struct Text<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.clear();
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        self.visit_str(&serde_json::Value::from(v).to_string())
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.visit_str(if v { "true" } else { "false" })
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        use serde::Deserialize;
        let list =
            serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        self.visit_str(&list.to_string())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        use serde::Deserialize;
        let object =
            serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.visit_str(&object.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_jsonl_rows_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        let jsonl = dir.path().join("t.jsonl");
        std::fs::write(
            &csv,
            "domain,score,route,list\na.test,60,HAS_MX,x;y\nb.test,,NXDOMAIN,\n",
        )
        .unwrap();
        std::fs::write(
            &jsonl,
            "{\"domain\":\"a.test\",\"score\":60,\"skip\":{\"n\":[1]},\"route\":\"HAS_MX\"}\n\
             {\"route\":\"NXDOMAIN\",\"domain\":\"b.test\",\"score\":null}\n",
        )
        .unwrap();
        let read = |path: &Path, format| {
            let mut rows = Vec::new();
            read_rows(
                path,
                format,
                &["score", "route", "absent"],
                &mut |d, row| rows.push((d.to_string(), row.to_vec())),
            )
            .unwrap();
            rows
        };
        let from_csv = read(&csv, Format::Csv);
        assert_eq!(from_csv, read(&jsonl, Format::Jsonl));
        assert_eq!(
            from_csv[0],
            (
                "a.test".into(),
                vec!["60".into(), "HAS_MX".into(), "".into()]
            )
        );
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, "{\"domain\": 1\n").unwrap();
        let e = read_rows(&bad, Format::Jsonl, &[], &mut |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("bad.jsonl"), "{e}");
    }
}
