//! Rows of `mxscan resolve`: one per name and type.
//!
//! Columns (stable): `name,type,status,answers,resolver,attempts,rtt_ms`. `answers` holds the
//! answer-section records: the RDATA alone for records of the asked type, prefixed by the type
//! for others (a CNAME chain: `CNAME target.`, `192.0.2.1`). CSV writes one row per record
//! (a TXT record may hold `;`); JSON Lines one row per lookup, `answers` a list.

use hickory_proto::op::Message;

use crate::engine::{Outcome, Status};
use crate::input::names::display_name;

crate::row! {
    /// One decoded row.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ResolveRow {
        pub name: String,
        pub r#type: String,
        pub status: &'static str,
        pub answers: Vec<String>,
        pub resolver: String,
        pub attempts: u32,
        pub rtt_ms: Option<f64>,
    }
}

impl ResolveRow {
    /// Decodes an outcome's reply (full decoding happens here, off the I/O thread). A reply
    /// hickory cannot decode is `MALFORMED`, with no answers: its rcode would pass for a
    /// measurement.
    pub fn from_outcome(o: &Outcome) -> Self {
        let qtype = o.qtype;
        let decoded = o.reply.as_deref().map(Message::from_vec);
        let status = match decoded {
            Some(Err(_)) => Status::Malformed,
            _ => o.status,
        };
        let answers = decoded
            .and_then(Result::ok)
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
            r#type: qtype.to_string(),
            status: status.as_str(),
            answers,
            resolver: o.resolver.map(|r| r.to_string()).unwrap_or_default(),
            attempts: o.attempts,
            rtt_ms: o.rtt.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::Format;
    use crate::tables::table::Table;
    use hickory_proto::rr::RecordType;

    fn written(row: &ResolveRow, format: Format) -> Vec<u8> {
        let mut w = Table::<ResolveRow, Vec<u8>>::new(Vec::new(), format, &[]).unwrap();
        w.write(row).unwrap();
        w.flush().unwrap();
        w.file().clone()
    }

    fn outcome() -> Outcome {
        Outcome {
            tag: 0,
            name: "7.100.51.198.in-addr.arpa.".into(),
            qtype: RecordType::PTR,
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
        let text = String::from_utf8(written(&row, Format::Csv)).unwrap();
        assert_eq!(
            text,
            "name,type,status,answers,resolver,attempts,rtt_ms\n198.51.100.7,PTR,NXDOMAIN,,127.0.0.2:53,2,1.500\n"
        );
        let v: serde_json::Value = serde_json::from_slice(&written(&row, Format::Jsonl)).unwrap();
        assert_eq!(v["status"], "NXDOMAIN");
        assert_eq!(v["rtt_ms"], 1.5);
    }

    #[test]
    fn undecodable_replies_are_malformed() {
        let mut o = outcome();
        o.reply = Some(vec![0xFF; 20]);
        let row = ResolveRow::from_outcome(&o);
        assert!(row.answers.is_empty());
        assert_eq!(row.status, "MALFORMED");
    }
}
