//! The scan's tables in `--out DIR`: `domains`, `records`, `findings`, `senders` and `rejects`,
//! as CSV with a header or JSON Lines (`.csv` / `.jsonl`). Rows are written as domains finish,
//! a domain's rows together, and flushed once per batch when the journal records the batch
//! ([`ScanTables::checkpoint`]); nothing is accumulated. Columns are documented in
//! `docs/output.md`.

use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Format;
use super::journal::{TABLES, TrackedFile};
use crate::analysis::DomainReport;
use crate::input::list::RejectRow;
use crate::pipeline::lookup::Answer;
use crate::pipeline::result::{Address, Host};

pub const DOMAIN_COLUMNS: [&str; 13] = [
    "domain",
    "line",
    "mx_status",
    "cname_chain",
    "route",
    "mx_count",
    "exchanges",
    "addresses",
    "provider",
    "score",
    "provisional",
    "score_reasons",
    "findings",
];
pub const FINDING_COLUMNS: [&str; 5] = ["domain", "code", "severity", "subject", "evidence"];
pub const SENDER_COLUMNS: [&str; 10] = [
    "domain",
    "ip",
    "mx_host",
    "ptr_names",
    "iprev",
    "generic",
    "verdict",
    "score",
    "provisional",
    "score_reasons",
];
pub const RECORD_COLUMNS: [&str; 12] = [
    "domain",
    "role",
    "preference",
    "exchange",
    "a_status",
    "aaaa_status",
    "cname_chain",
    "address",
    "ptr_status",
    "ptr_names",
    "ptr_count",
    "iprev",
];
pub const REJECT_COLUMNS: [&str; 4] = ["file", "line", "input", "reason"];

/// One row of `domains`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainRow {
    pub domain: String,
    pub line: u64,
    pub mx_status: String,
    /// The CNAME chain from the domain: as the resolver followed it for MX, or as walked one
    /// hop at a time after a SERVFAIL.
    pub cname_chain: Vec<String>,
    pub route: &'static str,
    pub mx_count: usize,
    /// Exchanges by preference, as `preference name`.
    pub exchanges: Vec<String>,
    /// Distinct addresses of all mail hosts.
    pub addresses: usize,
    /// The mail provider of the most-preferred exchanges (`A:0.5;B:0.5` when shared).
    pub provider: String,
    pub score: Option<u8>,
    pub provisional: bool,
    pub score_reasons: Vec<String>,
    /// Finding codes, sorted, each once.
    pub findings: Vec<&'static str>,
    /// Pass-through columns of a CSV input, by header.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "as_map")]
    pub input: Vec<(String, String)>,
}

/// One row of `records`: a domain × mail host × address (a host without address gets one
/// row with the address empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordRow {
    pub domain: String,
    /// `mx`, or `implicit` for the domain's own addresses when it has no MX.
    pub role: &'static str,
    pub preference: Option<u16>,
    pub exchange: String,
    pub a_status: String,
    pub aaaa_status: String,
    pub cname_chain: Vec<String>,
    pub address: Option<IpAddr>,
    pub ptr_status: String,
    pub ptr_names: Vec<String>,
    pub ptr_count: usize,
    pub iprev: String,
}

fn as_map<S: serde::Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

fn status(a: Option<&Answer>) -> String {
    a.map(|a| a.status.as_str()).unwrap_or_default()
}

impl DomainRow {
    pub fn new(report: &DomainReport, extra_columns: &[String]) -> DomainRow {
        let r = &report.result;
        let mut ips: Vec<IpAddr> = r
            .hosts()
            .flat_map(|h| h.addresses.iter().map(|a| a.ip))
            .collect();
        ips.sort_unstable();
        ips.dedup();
        DomainRow {
            domain: r.domain.clone(),
            line: r.line,
            mx_status: r.mx.status.as_str(),
            cname_chain: if r.walk.is_empty() {
                r.mx.chain.clone()
            } else {
                r.walk.clone()
            },
            route: report.route.as_str(),
            mx_count: r.exchanges.len(),
            exchanges: r
                .exchanges
                .iter()
                .map(|e| format!("{} {}", e.preference, e.name))
                .collect(),
            addresses: ips.len(),
            provider: crate::analysis::provider::label(&report.providers),
            score: report.score.score,
            provisional: report.score.provisional,
            score_reasons: report.score.reasons.clone(),
            findings: {
                let mut codes: Vec<&'static str> = report.findings.iter().map(|f| f.code).collect();
                codes.sort_unstable();
                codes.dedup();
                codes
            },
            input: extra_columns
                .iter()
                .cloned()
                .zip(
                    r.extra
                        .iter()
                        .cloned()
                        .chain(std::iter::repeat(String::new())),
                )
                .collect(),
        }
    }

    fn csv(&self) -> Vec<String> {
        let mut v = vec![
            self.domain.clone(),
            self.line.to_string(),
            self.mx_status.clone(),
            self.cname_chain.join(";"),
            self.route.to_string(),
            self.mx_count.to_string(),
            self.exchanges.join(";"),
            self.addresses.to_string(),
            self.provider.clone(),
            self.score.map(|s| s.to_string()).unwrap_or_default(),
            self.provisional.to_string(),
            self.score_reasons.join(";"),
            self.findings.join(";"),
        ];
        v.extend(self.input.iter().map(|(_, value)| value.clone()));
        v
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
            ptr_status: String::new(),
            ptr_names: Vec::new(),
            ptr_count: 0,
            iprev: String::new(),
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
                ptr_count: a.ptr_names.len(),
                iprev: a.iprev.as_str().to_string(),
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

    fn csv(&self) -> Vec<String> {
        vec![
            self.domain.clone(),
            self.role.to_string(),
            self.preference.map(|p| p.to_string()).unwrap_or_default(),
            self.exchange.clone(),
            self.a_status.clone(),
            self.aaaa_status.clone(),
            self.cname_chain.join(";"),
            self.address.map(|a| a.to_string()).unwrap_or_default(),
            self.ptr_status.clone(),
            self.ptr_names.join(";"),
            self.ptr_count.to_string(),
            self.iprev.clone(),
        ]
    }
}

impl RejectRow {
    fn csv(&self) -> Vec<String> {
        vec![
            self.file.to_string(),
            self.line.to_string(),
            self.input.clone(),
            self.reason.clone(),
        ]
    }
}

/// A table written as CSV or JSON Lines.
pub struct Table<W: Write> {
    path: PathBuf,
    csv: Option<csv::Writer<W>>,
    jsonl: Option<BufWriter<W>>,
}

impl<W: Write> Table<W> {
    /// A table writing to `out`, starting with `header` (CSV only; `None` when appending to a
    /// table that has one).
    pub fn new(out: W, path: PathBuf, format: Format, header: Option<&[&str]>) -> io::Result<Self> {
        let mut table = match format {
            Format::Csv => Table {
                path,
                csv: Some(
                    csv::WriterBuilder::new()
                        .buffer_capacity(1 << 16)
                        .from_writer(out),
                ),
                jsonl: None,
            },
            Format::Jsonl => Table {
                path,
                csv: None,
                jsonl: Some(BufWriter::with_capacity(1 << 16, out)),
            },
        };
        if let (Some(w), Some(header)) = (table.csv.as_mut(), header) {
            let written = w.write_record(header);
            written.map_err(|e| table.error(e.into()))?;
        }
        Ok(table)
    }

    fn error(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", self.path.display()),
        )
    }

    fn write<R: Serialize>(
        &mut self,
        row: &R,
        fields: impl FnOnce() -> Vec<String>,
    ) -> io::Result<()> {
        let written = if let Some(w) = self.csv.as_mut() {
            let mut fields = fields();
            fields.iter_mut().for_each(super::csv_cell);
            w.write_record(fields).map_err(io::Error::from)
        } else if let Some(w) = self.jsonl.as_mut() {
            super::jsonl_row(row)
                .and_then(|v| serde_json::to_writer(&mut *w, &v))
                .map_err(io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
        } else {
            Ok(())
        };
        written.map_err(|e| self.error(e))
    }

    /// Copies a row read back from a CSV table of this layout, as it was.
    pub fn copy_csv_row(&mut self, record: &csv::ByteRecord) -> io::Result<()> {
        let written = match self.csv.as_mut() {
            Some(w) => w.write_byte_record(record).map_err(io::Error::from),
            None => Err(io::Error::other("a CSV row for a JSON Lines table")),
        };
        written.map_err(|e| self.error(e))
    }

    /// Copies a line read back from a JSON Lines table, as it was.
    pub fn copy_line(&mut self, line: &[u8]) -> io::Result<()> {
        let written = match self.jsonl.as_mut() {
            Some(w) => w.write_all(line),
            None => Err(io::Error::other("a JSON line for a CSV table")),
        };
        written.map_err(|e| self.error(e))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        let result = match (self.csv.as_mut(), self.jsonl.as_mut()) {
            (Some(w), _) => w.flush(),
            (_, Some(w)) => w.flush(),
            _ => Ok(()),
        };
        result.map_err(|e| self.error(e))
    }

    /// The file under the table's buffer (flush first to see everything written).
    fn file(&self) -> &W {
        match (self.csv.as_ref(), self.jsonl.as_ref()) {
            (Some(w), _) => w.get_ref(),
            (_, Some(w)) => w.get_ref(),
            _ => unreachable!("a table has a writer"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `dir/stem.csv` (or `.jsonl`).
pub fn table_path(dir: &Path, stem: &str, format: Format) -> PathBuf {
    dir.join(format!("{stem}.{}", format.name()))
}

/// Creates the table file at `path` with its header.
pub fn create_table(
    path: PathBuf,
    format: Format,
    header: &[&str],
) -> io::Result<Table<TrackedFile>> {
    let file = TrackedFile::create(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))?;
    Table::new(file, path, format, Some(header))
}

/// Opens the table file at `path` for appending after its first `len` bytes.
fn reopen_table(path: PathBuf, format: Format, len: u64) -> io::Result<Table<TrackedFile>> {
    let file = TrackedFile::open_at(&path, len)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot reopen {}: {e}", path.display())))?;
    Table::new(file, path, format, None)
}

/// One row of `findings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow<'a> {
    pub domain: &'a str,
    pub code: &'static str,
    pub severity: &'static str,
    pub subject: &'a str,
    pub evidence: &'a str,
}

/// One row of `senders`: a declared sender IP and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SenderRow<'a> {
    pub domain: &'a str,
    pub ip: IpAddr,
    pub mx_host: Option<&'a str>,
    pub ptr_names: &'a [String],
    pub iprev: &'static str,
    pub generic: bool,
    pub verdict: &'static str,
    pub score: Option<u8>,
    pub provisional: bool,
    pub score_reasons: &'a [String],
}

impl FindingRow<'_> {
    fn csv(&self) -> Vec<String> {
        [
            self.domain,
            self.code,
            self.severity,
            self.subject,
            self.evidence,
        ]
        .map(str::to_string)
        .to_vec()
    }
}

impl SenderRow<'_> {
    fn csv(&self) -> Vec<String> {
        vec![
            self.domain.to_string(),
            self.ip.to_string(),
            self.mx_host.unwrap_or_default().to_string(),
            self.ptr_names.join(";"),
            self.iprev.to_string(),
            self.generic.to_string(),
            self.verdict.to_string(),
            self.score.map(|s| s.to_string()).unwrap_or_default(),
            self.provisional.to_string(),
            self.score_reasons.join(";"),
        ]
    }
}

/// The scan's tables.
pub struct ScanTables<W: Write> {
    pub domains: Table<W>,
    pub records: Table<W>,
    pub findings: Table<W>,
    pub senders: Table<W>,
    extra_columns: Vec<String>,
}

/// The stems of the tables the journal tracks, in its order.
pub const SCAN_TABLES: [&str; TABLES] = ["domains", "records", "findings", "senders"];

impl ScanTables<TrackedFile> {
    /// Where the tables of a scan in `dir` are.
    pub fn paths(dir: &Path, format: Format) -> [PathBuf; TABLES] {
        SCAN_TABLES.map(|stem| table_path(dir, stem, format))
    }

    /// Creates the tables with their headers.
    pub fn create(dir: &Path, format: Format, extra_columns: &[String]) -> io::Result<Self> {
        let mut header: Vec<&str> = DOMAIN_COLUMNS.to_vec();
        header.extend(extra_columns.iter().map(String::as_str));
        let [d, r, f, s] = Self::paths(dir, format);
        Ok(ScanTables {
            domains: create_table(d, format, &header)?,
            records: create_table(r, format, &RECORD_COLUMNS)?,
            findings: create_table(f, format, &FINDING_COLUMNS)?,
            senders: create_table(s, format, &SENDER_COLUMNS)?,
            extra_columns: extra_columns.to_vec(),
        })
    }

    /// Opens the tables of an interrupted scan, cut back to `ends` (what its journal vouches
    /// for: a partly written last row goes).
    pub fn reopen(
        dir: &Path,
        format: Format,
        extra_columns: &[String],
        ends: [u64; TABLES],
    ) -> io::Result<Self> {
        let [d, r, f, s] = Self::paths(dir, format);
        Ok(ScanTables {
            domains: reopen_table(d, format, ends[0])?,
            records: reopen_table(r, format, ends[1])?,
            findings: reopen_table(f, format, ends[2])?,
            senders: reopen_table(s, format, ends[3])?,
            extra_columns: extra_columns.to_vec(),
        })
    }

    /// The tables in the journal's order.
    pub fn each(&mut self) -> [&mut Table<TrackedFile>; TABLES] {
        [
            &mut self.domains,
            &mut self.records,
            &mut self.findings,
            &mut self.senders,
        ]
    }

    /// Flushes every table to the kernel and returns each one's length and the CRC-32 of what
    /// was appended since the last call: what a journal batch records.
    pub fn checkpoint(&mut self) -> io::Result<([u64; TABLES], [u32; TABLES])> {
        let (mut ends, mut crcs) = ([0; TABLES], [0; TABLES]);
        for (i, t) in self.each().into_iter().enumerate() {
            t.flush()?;
            ends[i] = t.file().len();
            crcs[i] = t.file().take_crc();
        }
        Ok((ends, crcs))
    }

    /// Handles on the table files with their paths, for syncing them from another thread.
    pub fn try_clone_files(&self) -> io::Result<Vec<(std::fs::File, PathBuf)>> {
        [&self.domains, &self.records, &self.findings, &self.senders]
            .into_iter()
            .map(|t| {
                Ok((
                    t.file().try_clone_file().map_err(|e| t.error(e))?,
                    t.path.clone(),
                ))
            })
            .collect()
    }

    /// Puts every table on stable storage.
    pub fn sync(&mut self) -> io::Result<()> {
        for t in self.each() {
            let synced = t.file().sync();
            synced.map_err(|e| t.error(e))?;
        }
        Ok(())
    }
}

impl<W: Write> ScanTables<W> {
    /// Writes a domain's rows together.
    pub fn write(&mut self, report: &DomainReport) -> io::Result<()> {
        let row = DomainRow::new(report, &self.extra_columns);
        self.domains.write(&row, || row.csv())?;
        for r in RecordRow::all(report) {
            self.records.write(&r, || r.csv())?;
        }
        let domain = report.result.domain.as_str();
        for f in &report.findings {
            let row = FindingRow {
                domain,
                code: f.code,
                severity: f.severity.as_str(),
                subject: &f.subject,
                evidence: &f.evidence,
            };
            self.findings.write(&row, || row.csv())?;
        }
        for s in &report.senders {
            let row = SenderRow {
                domain,
                ip: s.ip,
                mx_host: s.mx_host.as_deref(),
                ptr_names: &s.ptr_names,
                iprev: s.iprev,
                generic: s.generic,
                verdict: s.verdict,
                score: s.score.score,
                provisional: s.score.provisional,
                score_reasons: &s.score.reasons,
            };
            self.senders.write(&row, || row.csv())?;
        }
        Ok(())
    }
}

/// `rejects.csv`: malformed input lines with their reasons.
pub fn write_reject<W: Write>(table: &mut Table<W>, row: &RejectRow) -> io::Result<()> {
    table.write(row, || row.csv())
}
