//! The scan's tables in `--out DIR`: `domains`, `records`, `findings`, `senders` and `rejects`,
//! as CSV with a header or JSON Lines (`.csv` / `.jsonl`). Rows are written as domains finish,
//! a domain's rows together, and flushed once per batch when the journal records the batch
//! ([`ScanTables::checkpoint`]); nothing is accumulated. Columns are documented in
//! `docs/output.md`.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::analysis::DomainReport;
use crate::analysis::score::Reason;
use crate::mailauth::dmarc::Disposition;
use crate::mailauth::spf::SpfResult;
use crate::pipeline::budget;
use crate::pipeline::lookup::Answer;
use crate::pipeline::result::{Address, Host};
use crate::tables::Format;
use crate::tables::table::Table;

/// An MX record of `exchanges`: `10 mx1.example` in a CSV cell, `{"preference": 10, "host":
/// "mx1.example"}` in JSON Lines.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeCell {
    pub preference: u16,
    pub host: String,
}

impl serde::Serialize for ExchangeCell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        if crate::tables::table::in_csv_cell() {
            return s.collect_str(&format_args!("{} {}", self.preference, self.host));
        }
        let mut st = s.serialize_struct("Exchange", 2)?;
        st.serialize_field("preference", &self.preference)?;
        st.serialize_field("host", &self.host)?;
        st.end()
    }
}

/// A score reason (`analysis::score::Reason`) in a table.
impl serde::Serialize for Reason {
    /// `{"code": "SENDER_IP_NOT_IN_MX", "points": -20, "gate": false}` in JSON, its
    /// [`Display`](std::fmt::Display) text in a CSV cell.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        if crate::tables::table::in_csv_cell() {
            return s.collect_str(self);
        }
        let mut st = s.serialize_struct("Reason", 3)?;
        st.serialize_field("code", self.code.name())?;
        match self.points {
            // Whole points as integers, as analysts expect them.
            Some(p) if p.fract() == 0.0 => st.serialize_field("points", &(-p as i64))?,
            Some(p) => st.serialize_field("points", &-p)?,
            None => st.serialize_field("points", &None::<i64>)?,
        }
        st.serialize_field("gate", &self.points.is_none())?;
        st.end()
    }
}

crate::row! {
    /// One row of `domains`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct DomainRow {
        pub domain: String,
        pub line: u64,
        pub mx_status: &'static str,
        /// The CNAME chain from the domain: as the resolver followed it for MX, or as walked
        /// one hop at a time after a SERVFAIL.
        pub cname_chain: Vec<String>,
        pub route: &'static str,
        pub mx_count: usize,
        /// Exchanges by preference: `preference name` in a CSV cell, objects in JSON Lines.
        pub exchanges: Vec<ExchangeCell>,
        /// Distinct addresses of all mail hosts.
        pub addresses: usize,
        /// The mail provider of the most-preferred exchanges (`A:0.5;B:0.5` when shared).
        pub provider: String,
        /// Where each provider name comes from: `table`, `mx-domain` or `self`.
        pub provider_source: String,
        pub score: Option<u8>,
        pub provisional: bool,
        pub score_reasons: Vec<Reason>,
        /// Finding codes, sorted, each once.
        pub findings: Vec<&'static str>,
        /// The mail-authentication columns, empty for a family `--checks` left out.
        /// SPF: `none`, `valid`, `permerror` or `temperror`.
        pub spf: Option<&'static str>,
        pub spf_record: Option<String>,
        pub spf_lookups: Option<u32>,
        pub spf_void_lookups: Option<u32>,
        /// What the final `all` gives: `fail` (`-all`), `softfail`, `neutral` or `pass`.
        pub spf_all: Option<&'static str>,
        /// Every checked MX address passes the domain's SPF.
        pub spf_mx_pass: Option<bool>,
        /// DMARC: `none`, `valid`, `invalid` or `temperror`.
        pub dmarc: Option<&'static str>,
        pub dmarc_record: Option<String>,
        pub dmarc_at: Option<String>,
        pub dmarc_policy: Option<Disposition>,
        pub dmarc_pct: Option<u8>,
        pub dmarc_rua: Vec<String>,
        pub mta_sts: Option<&'static str>,
        pub tls_rpt: Option<&'static str>,
        /// Mail hosts with TLSA records: `all`, `some`, `none` (or `temperror`).
        pub tlsa: Option<&'static str>,
    }
}

crate::row! {
    /// One row of `records`: a domain × mail host × address (a host without address gets one
    /// row with the address empty).
    #[derive(Debug, Clone, PartialEq)]
    pub struct RecordRow {
        pub domain: String,
        /// `mx`, or `implicit` for the domain's own addresses when it has no MX.
        pub role: &'static str,
        pub preference: Option<u16>,
        pub exchange: String,
        pub a_status: &'static str,
        pub aaaa_status: &'static str,
        pub cname_chain: Vec<String>,
        pub address: Option<IpAddr>,
        pub ptr_status: &'static str,
        pub ptr_names: Vec<String>,
        pub ptr_count: usize,
        pub iprev: &'static str,
    }
}

crate::row! {
    /// One row of `findings`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct FindingRow<'a> {
        pub domain: &'a str,
        pub code: &'static str,
        pub severity: &'static str,
        pub subject: &'a str,
        pub evidence: &'a str,
    }
}

crate::row! {
    /// One row of `senders`: a declared sender IP and its verdict.
    #[derive(Debug, Clone, PartialEq)]
    pub struct SenderRow<'a> {
        pub domain: &'a str,
        pub ip: IpAddr,
        pub mx_host: Option<&'a str>,
        pub ptr_names: &'a [String],
        pub iprev: &'static str,
        pub generic: bool,
        /// SPF with the domain as MAIL FROM domain (RFC 8601 result names).
        pub spf: Option<SpfResult>,
        pub verdict: &'static str,
        /// The finding that decided the verdict (empty for `ok`).
        pub decided_by: Option<&'static str>,
        pub score: Option<u8>,
        pub provisional: bool,
        pub score_reasons: &'a [Reason],
    }
}

fn status(a: Option<&Answer>) -> &'static str {
    a.map_or("", |a| a.status.as_str())
}

impl DomainRow {
    pub fn new(report: &DomainReport) -> DomainRow {
        let r = &report.result;
        let mut ips: Vec<IpAddr> = r
            .hosts()
            .flat_map(|h| h.addresses.iter().map(|a| a.ip))
            .collect();
        ips.sort_unstable();
        ips.dedup();
        let auth = report.auth.clone().unwrap_or_default();
        let spf = auth.spf.unwrap_or_default();
        let dmarc = auth.dmarc.unwrap_or_default();
        let checked = |state: &'static str| (!state.is_empty()).then_some(state);
        DomainRow {
            domain: r.domain.clone(),
            line: r.line,
            mx_status: r.mx.status.as_str(),
            cname_chain: r.cname_chain().to_vec(),
            route: report.route.as_str(),
            mx_count: r.mx_count,
            exchanges: r
                .exchanges
                .iter()
                .map(|e| ExchangeCell {
                    preference: e.preference,
                    host: e.name.clone(),
                })
                .collect(),
            addresses: ips.len(),
            provider: crate::analysis::provider::label(&report.providers),
            provider_source: crate::analysis::provider::sources(&report.providers),
            score: report.score.score,
            provisional: report.score.provisional,
            score_reasons: report.score.reasons.clone(),
            findings: {
                let mut codes: Vec<&'static str> =
                    report.findings.iter().map(|f| f.code.name()).collect();
                codes.sort_unstable();
                codes.dedup();
                codes
            },
            spf: checked(spf.state),
            spf_record: spf.record.map(|t| budget::text(t).0),
            spf_lookups: checked(spf.state).map(|_| spf.lookups),
            spf_void_lookups: checked(spf.state).map(|_| spf.void_lookups),
            spf_all: spf.all,
            spf_mx_pass: spf.mx_pass,
            dmarc: checked(dmarc.state),
            dmarc_record: dmarc.record.map(|t| budget::text(t).0),
            dmarc_at: dmarc.at,
            dmarc_policy: dmarc.policy,
            dmarc_pct: dmarc.pct,
            dmarc_rua: dmarc.rua.into_iter().take(budget::RUA).collect(),
            mta_sts: auth.mta_sts,
            tls_rpt: auth.tls_rpt,
            tlsa: auth.tlsa,
        }
    }
}

impl RecordRow {
    fn for_host(
        domain: &str,
        role: &'static str,
        preference: Option<u16>,
        host: Option<&Host>,
        exchange: &str,
    ) -> Vec<RecordRow> {
        let base = RecordRow {
            domain: domain.to_string(),
            role,
            preference,
            exchange: exchange.to_string(),
            a_status: status(host.and_then(|h| h.a.as_deref())),
            aaaa_status: status(host.and_then(|h| h.aaaa.as_deref())),
            cname_chain: host.map(|h| h.chain().to_vec()).unwrap_or_default(),
            address: None,
            ptr_status: "",
            ptr_names: Vec::new(),
            ptr_count: 0,
            iprev: "",
        };
        let addresses: &[Address] = host.map_or(&[], |h| &h.addresses);
        if addresses.is_empty() {
            return vec![base];
        }
        addresses
            .iter()
            .map(|a| RecordRow {
                address: Some(a.ip),
                ptr_status: status(a.ptr.as_deref()),
                ptr_names: a.ptr_names.clone(),
                ptr_count: a.ptr_count,
                iprev: a.iprev.as_str(),
                ..base.clone()
            })
            .collect()
    }

    /// Every record row of a domain: its exchanges in preference order, or its implicit-MX
    /// addresses. A domain without either has none.
    pub fn all(report: &DomainReport) -> Vec<RecordRow> {
        let r = &report.result;
        let mut rows = Vec::new();
        for e in &r.exchanges {
            rows.extend(Self::for_host(
                &r.domain,
                "mx",
                Some(e.preference),
                e.host.as_ref(),
                &e.name,
            ));
        }
        if let Some(host) = &r.implicit
            && !host.addresses.is_empty()
        {
            rows.extend(Self::for_host(
                &r.domain,
                "implicit",
                None,
                Some(host),
                &r.domain,
            ));
        }
        rows
    }
}

/// `dir/stem.csv` (or `.jsonl`).
pub fn table_path(dir: &Path, stem: &str, format: Format) -> PathBuf {
    dir.join(format!("{stem}.{}", format.name()))
}

/// The scan's tables.
pub struct ScanTables<W: Write> {
    pub domains: Table<DomainRow, W>,
    pub records: Table<RecordRow, W>,
    pub findings: Table<FindingRow<'static>, W>,
    pub senders: Table<SenderRow<'static>, W>,
}

/// The stems of the tables the journal tracks, in its order.
pub const SCAN_TABLES: [&str; 4] = ["domains", "records", "findings", "senders"];

impl<W: Write> ScanTables<W> {
    /// Writes a domain's rows together.
    pub fn write(&mut self, report: &DomainReport) -> io::Result<()> {
        let r = &report.result;
        self.domains.write_with(&DomainRow::new(report), &r.extra)?;
        for row in RecordRow::all(report) {
            self.records.write(&row)?;
        }
        let domain = r.domain.as_str();
        for f in &report.findings {
            self.findings.write(&FindingRow {
                domain,
                code: f.code.name(),
                severity: f.severity.as_str(),
                subject: &f.subject,
                evidence: &f.evidence,
            })?;
        }
        for s in &report.senders {
            self.senders.write(&SenderRow {
                domain,
                ip: s.ip,
                mx_host: s.mx_host.as_deref(),
                ptr_names: &s.ptr_names,
                iprev: s.iprev,
                generic: s.generic,
                spf: s.spf,
                verdict: s.verdict,
                decided_by: s.decided_by.map(|c| c.name()),
                score: s.score.score,
                provisional: s.score.provisional,
                score_reasons: &s.score.reasons,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Code;

    crate::row! {
        pub struct Parts {
            pub exchanges: Vec<ExchangeCell>,
            pub reasons: Vec<Reason>,
        }
    }

    #[test]
    fn values_with_parts_are_text_in_a_cell_and_objects_in_json() {
        let row = Parts {
            exchanges: vec![ExchangeCell {
                preference: 10,
                host: "mx1.example".into(),
            }],
            reasons: vec![
                Reason {
                    code: Code::PTR_TARGET_CNAME,
                    points: Some(5.0),
                },
                Reason {
                    code: Code::REVERSE_MX_FAIL,
                    points: None,
                },
            ],
        };
        let written = |format| {
            let mut t = Table::<Parts, Vec<u8>>::new(Vec::new(), format, &[]).unwrap();
            t.write(&row).unwrap();
            t.flush().unwrap();
            String::from_utf8(t.file().clone()).unwrap()
        };
        assert_eq!(
            written(Format::Csv),
            "exchanges,reasons\n10 mx1.example,PTR_TARGET_CNAME(-5);REVERSE_MX_FAIL(gate)\n"
        );
        assert_eq!(
            written(Format::Jsonl),
            concat!(
                r#"{"exchanges":[{"preference":10,"host":"mx1.example"}],"reasons":["#,
                r#"{"code":"PTR_TARGET_CNAME","points":-5,"gate":false},"#,
                r#"{"code":"REVERSE_MX_FAIL","points":null,"gate":true}]}"#,
                "\n"
            )
        );
    }
}
