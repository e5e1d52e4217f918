//! Rows of `mxscan resolve`: one per name and type.
//!
//! Columns (stable): `name,type,status,answers,resolver,attempts,rtt_ms`. `answers` holds the
//! answer-section records separated by `;`: the RDATA alone for records of the asked type,
//! prefixed by the type for others (a CNAME chain: `CNAME target.;192.0.2.1`).

use std::io::{self, Write};

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

use super::Format;
use crate::engine::Outcome;
use crate::input::names::display_name;

pub const COLUMNS: [&str; 7] = [
    "name", "type", "status", "answers", "resolver", "attempts", "rtt_ms",
];

/// One decoded row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResolveRow {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: String,
    pub status: String,
    pub answers: Vec<String>,
    pub resolver: String,
    pub attempts: u32,
    pub rtt_ms: Option<f64>,
}

impl ResolveRow {
    /// Decodes an outcome's reply (full decoding happens here, off the I/O thread). A reply
    /// hickory cannot decode keeps its status and gets no answers.
    pub fn from_outcome(o: &Outcome) -> Self {
        let qtype = RecordType::from(o.qtype);
        let answers = o
            .reply
            .as_deref()
            .and_then(|bytes| Message::from_vec(bytes).ok())
            .map(|msg| {
                msg.answers
                    .iter()
                    .map(|r| {
                        if r.record_type() == qtype {
                            r.data.to_string()
                        } else {
                            format!("{} {}", r.record_type(), r.data)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        ResolveRow {
            name: display_name(&o.name, o.qtype),
            qtype: qtype.to_string(),
            status: o.status.as_str(),
            answers,
            resolver: o.resolver.map(|r| r.to_string()).unwrap_or_default(),
            attempts: o.attempts,
            rtt_ms: o.rtt.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3),
        }
    }
}

/// Writes rows as CSV (with a header) or JSON Lines.
pub struct RowWriter {
    format: Format,
    csv: Option<csv::Writer<Box<dyn Write + Send>>>,
    jsonl: Option<io::BufWriter<Box<dyn Write + Send>>>,
}

impl RowWriter {
    pub fn new(out: Box<dyn Write + Send>, format: Format) -> io::Result<Self> {
        Ok(match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(COLUMNS)?;
                RowWriter {
                    format,
                    csv: Some(w),
                    jsonl: None,
                }
            }
            Format::Jsonl => RowWriter {
                format,
                csv: None,
                jsonl: Some(io::BufWriter::new(out)),
            },
        })
    }

    pub fn write(&mut self, row: &ResolveRow) -> io::Result<()> {
        match (self.format, &mut self.csv, &mut self.jsonl) {
            (Format::Csv, Some(w), _) => {
                let rtt = row.rtt_ms.map(|r| format!("{r:.3}")).unwrap_or_default();
                let mut fields = [
                    row.name.clone(),
                    row.qtype.clone(),
                    row.status.clone(),
                    row.answers.join(";"),
                    row.resolver.clone(),
                    row.attempts.to_string(),
                    rtt,
                ];
                fields.iter_mut().for_each(super::csv_cell);
                w.write_record(fields)?;
                Ok(())
            }
            (Format::Jsonl, _, Some(w)) => {
                serde_json::to_writer(&mut *w, &super::jsonl_row(row)?)?;
                w.write_all(b"\n")
            }
            _ => unreachable!("constructed with the writer of its format"),
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        if let Some(w) = self.csv.as_mut() {
            w.flush()?;
        }
        if let Some(w) = self.jsonl.as_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn outcome() -> Outcome {
        Outcome {
            tag: 0,
            name: "7.100.51.198.in-addr.arpa.".into(),
            qtype: 12,
            status: Status::NxDomain,
            reply: None,
            resolver: Some("127.0.0.2:53".parse().unwrap()),
            attempts: 2,
            rtt: Some(std::time::Duration::from_micros(1500)),
            truncated: false,
        }
    }

    #[test]
    fn csv_and_jsonl_rows() {
        let row = ResolveRow::from_outcome(&outcome());
        assert_eq!(row.name, "198.51.100.7");
        let buf = Shared::default();
        let mut w = RowWriter::new(Box::new(buf.clone()), Format::Csv).unwrap();
        w.write(&row).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "name,type,status,answers,resolver,attempts,rtt_ms\n198.51.100.7,PTR,NXDOMAIN,,127.0.0.2:53,2,1.500\n"
        );
        let buf = Shared::default();
        let mut w = RowWriter::new(Box::new(buf.clone()), Format::Jsonl).unwrap();
        w.write(&row).unwrap();
        w.finish().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf.0.lock().unwrap()).unwrap();
        assert_eq!(v["status"], "NXDOMAIN");
        assert_eq!(v["rtt_ms"], 1.5);
    }

    #[test]
    fn undecodable_replies_keep_their_status() {
        let mut o = outcome();
        o.reply = Some(vec![0xFF; 20]);
        assert!(ResolveRow::from_outcome(&o).answers.is_empty());
    }
}
