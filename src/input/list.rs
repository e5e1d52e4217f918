//! The scan's domain list: a file or stdin, one domain per line or a CSV with a `domain`
//! column, read twice.
//!
//! The first pass ([`prepare`]) normalises every line, sends malformed ones to the rejects
//! sink, and finds duplicates exactly in bounded memory: `(domain, position)` pairs are sorted
//! in chunks of at most [`SORT_CHUNK_BYTES`], spilled to disk as sorted runs when there is more
//! than one chunk, and merged; the first position of each domain is marked in a bitmap (one bit
//! per input record, 1.25 MB for 10 M lines). No probabilistic filter: a false positive would
//! silently drop a domain. The pass also gives the total for the progress bar.
//!
//! The second pass ([`DomainList::domains`]) reads the input again and yields each marked
//! record. Stdin is first copied to a spool file in the output directory so it can be read
//! twice.
//!
//! (Over 700 lines only with its tests, which stay beside the two passes they check.)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::domain::normalize;
use super::shard::Partition;
use crate::bitset::Bitset;
use crate::pipeline::DomainInput;

/// Memory for one sorted chunk of the duplicate check (`scripts/bench-scan.sh` keeps the whole
/// scan under 100 MB with it; larger chunks only mean fewer, longer runs).
pub const SORT_CHUNK_BYTES: usize = 16 << 20;
/// Estimated bytes per entry besides the domain's own: the boxed string and the position.
const ENTRY_OVERHEAD: usize = 40;
/// Name of the spool file stdin is copied to.
pub const STDIN_SPOOL: &str = "input.stdin";

/// Longest `input` a reject row keeps, so that CSV readers with default field limits load it.
pub const REJECT_INPUT_MAX: usize = 512;

/// A rejected record's text, cut to [`REJECT_INPUT_MAX`] bytes (on a character boundary) with
/// its full length noted.
pub fn bounded_input(text: String) -> String {
    if text.len() <= REJECT_INPUT_MAX {
        return text;
    }
    let mut end = REJECT_INPUT_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

crate::row! {
    /// A line that is not a domain: a row of `rejects`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RejectRow {
        /// Which input: `domains` or `senders`.
        pub file: &'static str,
        /// 1-based line number.
        pub line: u64,
        pub input: String,
        pub reason: String,
    }
}

/// How records are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One domain per line.
    Lines,
    /// CSV; `column` holds the domain, the other columns pass through under `headers`.
    Csv {
        column: usize,
        headers: Vec<String>,
        /// Lines end in CRLF (judged from the first line).
        crlf: bool,
        /// The first line is a header (a ranked list `1,example.com` has none).
        has_header: bool,
    },
}

/// Counts of the first pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListStats {
    /// Records read (lines, or CSV rows without the header).
    pub records: u64,
    /// Distinct domains to scan.
    pub domains: u64,
    /// Records repeating an earlier domain (scanned once).
    pub duplicates: u64,
    /// Malformed records (in `rejects.csv`).
    pub rejected: u64,
    /// Blank and comment lines.
    pub skipped: u64,
    /// Records of domains other shards scan (`--shard`; rejected and blank lines are the
    /// first shard's): `records` counts this shard's only, so the shards' counts add up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_shards: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A prepared domain list: where to read it again and which records to scan.
#[derive(Debug)]
pub struct DomainList {
    path: PathBuf,
    layout: Layout,
    keep: Bitset,
    pub stats: ListStats,
}

/// The input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("cannot read the domain list {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path} (the output directory must be writable): {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("the domain list {0} changed while it was being scanned")]
    Changed(PathBuf),
    #[error(
        "{path}: the first line `{header}` looks like a CSV header but has no `domain` column. \
         Name the column that holds the domains `domain`, or give one domain per line (a ranked \
         list `1,example.com` without a header is read as is)"
    )]
    NoDomainColumn { path: PathBuf, header: String },
}

/// One record of the input, before normalisation.
struct RawRecord {
    ordinal: u64,
    line: u64,
    /// The domain field (the whole line for [`Layout::Lines`]), or `None` if not UTF-8 or
    /// missing.
    field: Option<String>,
    /// The record as given, for the rejects file.
    text: String,
    extra: Vec<String>,
}

/// Reads records of either layout.
enum Records {
    Lines {
        reader: BufReader<File>,
        buf: Vec<u8>,
        line: u64,
    },
    Csv {
        reader: csv::Reader<BufReader<File>>,
        column: usize,
        record: csv::ByteRecord,
        crlf: bool,
    },
}

impl Records {
    fn open(path: &Path, layout: &Layout) -> io::Result<Records> {
        let reader = BufReader::with_capacity(1 << 16, File::open(path)?);
        Ok(match layout {
            Layout::Lines => Records::Lines {
                reader,
                buf: Vec::new(),
                line: 0,
            },
            Layout::Csv {
                column,
                crlf,
                has_header,
                ..
            } => Records::Csv {
                reader: csv::ReaderBuilder::new()
                    .flexible(true)
                    .has_headers(*has_header)
                    .from_reader(reader),
                column: *column,
                record: csv::ByteRecord::new(),
                crlf: *crlf,
            },
        })
    }

    fn next(&mut self, ordinal: u64) -> io::Result<Option<RawRecord>> {
        match self {
            Records::Lines { reader, buf, line } => {
                buf.clear();
                if reader.read_until(b'\n', buf)? == 0 {
                    return Ok(None);
                }
                *line += 1;
                let text = String::from_utf8_lossy(buf)
                    .trim_end_matches(['\n', '\r'])
                    .to_string();
                Ok(Some(RawRecord {
                    ordinal,
                    line: *line,
                    field: std::str::from_utf8(buf).ok().map(str::to_string),
                    text,
                    extra: Vec::new(),
                }))
            }
            Records::Csv {
                reader,
                column,
                record,
                crlf,
            } => {
                if !reader.read_byte_record(record).map_err(io::Error::other)? {
                    return Ok(None);
                }
                // The csv crate counts a line when it consumes its `\n`, which after a `\r` it
                // does only when the next record starts (so not before the first record of a
                // file without header).
                let line = record
                    .position()
                    .map_or(0, |p| p.line() + u64::from(*crlf && p.byte() > 0));
                let text = record
                    .iter()
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>()
                    .join(",");
                let field = record
                    .get(*column)
                    .and_then(|f| std::str::from_utf8(f).ok())
                    .map(str::to_string);
                let extra = record
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i != column)
                    .map(|(_, f)| String::from_utf8_lossy(f).into_owned())
                    .collect();
                Ok(Some(RawRecord {
                    ordinal,
                    line,
                    field,
                    text,
                    extra,
                }))
            }
        }
    }
}

/// A CSV header with a `domain` column makes the input a CSV, a first line `RANK,DOMAIN` a
/// ranked list (Tranco, Alexa, Umbrella), a first line without a comma a list of lines. Any
/// other first line with a comma is a header without a `domain` column: one clear error
/// rather than one reject per line.
fn detect_layout(path: &Path) -> Result<Layout, ListError> {
    let read_err = |source| ListError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut first = Vec::new();
    BufReader::new(File::open(path).map_err(read_err)?)
        .read_until(b'\n', &mut first)
        .map_err(read_err)?;
    let text = String::from_utf8_lossy(&first);
    let text = text.trim_start_matches('\u{feff}').trim_end();
    if !text.contains(',') {
        return Ok(Layout::Lines);
    }
    let crlf = first.ends_with(b"\r\n");
    if let Some((rank, domain)) = text.split_once(',')
        && !rank.trim().is_empty()
        && rank.trim().bytes().all(|b| b.is_ascii_digit())
        && matches!(normalize(domain), Ok(Some(_)))
    {
        return Ok(Layout::Csv {
            column: 1,
            headers: vec!["rank".into()],
            crlf,
            has_header: false,
        });
    }
    let headers: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(|h| h.trim().to_string()).collect())
        .unwrap_or_default();
    match headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("domain"))
    {
        Some(column) => Ok(Layout::Csv {
            column,
            crlf,
            has_header: true,
            headers: headers
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != column)
                .map(|(_, h)| h.clone())
                .collect(),
        }),
        None => Err(ListError::NoDomainColumn {
            path: path.to_path_buf(),
            header: bounded_input(text.to_string()),
        }),
    }
}

/// Sorted runs of `(domain, ordinal)` and the merge that marks first occurrences.
struct Dedup {
    chunk: Vec<(Box<str>, u64)>,
    chunk_bytes: usize,
    chunk_limit: usize,
    runs: Vec<PathBuf>,
    dir: Option<tempfile::TempDir>,
    work_dir: PathBuf,
}

impl Dedup {
    fn push(&mut self, domain: String, ordinal: u64) -> io::Result<()> {
        self.chunk_bytes += domain.len() + ENTRY_OVERHEAD;
        self.chunk.push((domain.into_boxed_str(), ordinal));
        if self.chunk_bytes >= self.chunk_limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.chunk.sort_unstable();
        if self.dir.is_none() {
            self.dir = Some(
                tempfile::Builder::new()
                    .prefix(".mxscan-sort")
                    .tempdir_in(&self.work_dir)?,
            );
        }
        let dir = self.dir.as_ref().expect("created above").path();
        let path = dir.join(format!("run{}", self.runs.len()));
        let mut w = BufWriter::new(File::create(&path)?);
        for (d, o) in self.chunk.drain(..) {
            writeln!(w, "{d}\t{o}")?;
        }
        w.flush()?;
        self.runs.push(path);
        self.chunk_bytes = 0;
        self.chunk.shrink_to(0);
        Ok(())
    }

    /// Marks the first ordinal of every domain; returns (distinct, duplicates).
    fn finish(mut self, keep: &mut Bitset) -> io::Result<(u64, u64)> {
        let (mut distinct, mut duplicates) = (0, 0);
        let mut mark = |domain: &str, ordinal: u64, last: &mut Option<String>| {
            if last.as_deref() == Some(domain) {
                duplicates += 1;
            } else {
                distinct += 1;
                keep.insert(ordinal);
                *last = Some(domain.to_string());
            }
        };
        let mut last = None;
        if self.runs.is_empty() {
            self.chunk.sort_unstable();
            for (d, o) in &self.chunk {
                mark(d, *o, &mut last);
            }
            return Ok((distinct, duplicates));
        }
        if !self.chunk.is_empty() {
            self.spill()?;
        }
        let mut readers = self
            .runs
            .iter()
            .map(|p| File::open(p).map(|f| BufReader::new(f).lines()))
            .collect::<io::Result<Vec<_>>>()?;
        let parse = |line: io::Result<String>| -> io::Result<(String, u64)> {
            let line = line?;
            let (d, o) = line
                .split_once('\t')
                .ok_or_else(|| io::Error::other("corrupt sort run"))?;
            let o = o
                .parse()
                .map_err(|_| io::Error::other("corrupt sort run"))?;
            Ok((d.to_string(), o))
        };
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(line) = r.next() {
                let (d, o) = parse(line)?;
                heap.push(Reverse((d, o, i)));
            }
        }
        while let Some(Reverse((d, o, i))) = heap.pop() {
            mark(&d, o, &mut last);
            if let Some(line) = readers[i].next() {
                let (d, o) = parse(line)?;
                heap.push(Reverse((d, o, i)));
            }
        }
        Ok((distinct, duplicates))
    }
}

/// Copies stdin to [`STDIN_SPOOL`] in `work_dir`, so it can be read twice (and again by a
/// resumed scan); returns the spool's path.
pub fn spool_stdin(work_dir: &Path) -> Result<PathBuf, ListError> {
    let spool = work_dir.join(STDIN_SPOOL);
    let write_err = |source| ListError::Write {
        path: spool.clone(),
        source,
    };
    let mut out = BufWriter::new(crate::io::fs::create_fresh(&spool).map_err(write_err)?);
    let mut stdin = io::stdin().lock();
    copy(&mut stdin, &mut out).map_err(|e| match e {
        Copy::Read(source) => ListError::Read {
            path: "stdin".into(),
            source,
        },
        Copy::Write(source) => write_err(source),
    })?;
    out.flush().map_err(write_err)?;
    out.get_ref().sync_all().map_err(write_err)?;
    Ok(spool)
}

/// The first pass over the list at `path`: detects the layout, sends malformed records to
/// `reject` and finds the records to scan (of `shard`'s domains only, when given). Sort runs
/// go to a temporary directory in `work_dir`.
pub fn prepare(
    path: &Path,
    work_dir: &Path,
    shard: Option<&Partition>,
    reject: &mut dyn FnMut(RejectRow) -> io::Result<()>,
) -> Result<DomainList, ListError> {
    prepare_with(path, work_dir, shard, reject, SORT_CHUNK_BYTES)
}

fn prepare_with(
    path: &Path,
    work_dir: &Path,
    shard: Option<&Partition>,
    reject: &mut dyn FnMut(RejectRow) -> io::Result<()>,
    chunk_limit: usize,
) -> Result<DomainList, ListError> {
    let reports_rejects = shard.is_none_or(Partition::reports_rejects);
    let path = path.to_path_buf();
    let read_err = |source| ListError::Read {
        path: path.clone(),
        source,
    };
    let layout = detect_layout(&path)?;
    let mut records = Records::open(&path, &layout).map_err(read_err)?;
    let mut dedup = Dedup {
        chunk: Vec::new(),
        chunk_bytes: 0,
        chunk_limit,
        runs: Vec::new(),
        dir: None,
        work_dir: work_dir.to_path_buf(),
    };
    let mut stats = ListStats::default();
    let mut ordinal = 0;
    while let Some(raw) = records.next(ordinal).map_err(read_err)? {
        ordinal += 1;
        let outcome = match &raw.field {
            None if matches!(layout, Layout::Csv { .. }) => {
                Err("no domain column in this row".to_string())
            }
            None => Err("not valid UTF-8".to_string()),
            Some(field) if field.trim().is_empty() && matches!(layout, Layout::Csv { .. }) => {
                Err("empty domain column".to_string())
            }
            Some(field) => normalize(field).map_err(|r| r.to_string()),
        };
        let ours = match &outcome {
            Ok(Some(domain)) => shard.is_none_or(|s| s.owns(domain)),
            _ => reports_rejects,
        };
        if !ours {
            stats.other_shards += 1;
            continue;
        }
        stats.records += 1;
        match outcome {
            Ok(Some(domain)) => {
                dedup
                    .push(domain, raw.ordinal)
                    .map_err(|source| ListError::Write {
                        path: work_dir.to_path_buf(),
                        source,
                    })?
            }
            Ok(None) => stats.skipped += 1,
            Err(reason) => {
                stats.rejected += 1;
                reject(RejectRow {
                    file: "domains",
                    line: raw.line,
                    input: bounded_input(raw.text),
                    reason,
                })
                .map_err(|source| ListError::Write {
                    path: work_dir.join("rejects"),
                    source,
                })?;
            }
        }
    }
    let mut keep = Bitset::default();
    let (domains, duplicates) = dedup.finish(&mut keep).map_err(|source| ListError::Write {
        path: work_dir.to_path_buf(),
        source,
    })?;
    stats.domains = domains;
    stats.duplicates = duplicates;
    Ok(DomainList {
        path,
        layout,
        keep,
        stats,
    })
}

enum Copy {
    Read(io::Error),
    Write(io::Error),
}

fn copy(from: &mut dyn Read, to: &mut dyn Write) -> Result<(), Copy> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Read(e)),
        };
        to.write_all(&buf[..n]).map_err(Copy::Write)?;
    }
}

impl DomainList {
    /// Names of the pass-through columns of a CSV input (empty for a plain list).
    pub fn extra_columns(&self) -> &[String] {
        match &self.layout {
            Layout::Lines => &[],
            Layout::Csv { headers, .. } => headers,
        }
    }

    /// The file read (the stdin spool for stdin).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The second pass: every domain to scan, once, in input order.
    pub fn domains(&self) -> Result<Domains<'_>, ListError> {
        let records =
            Records::open(&self.path, &self.layout).map_err(|source| ListError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok(Domains {
            list: self,
            records,
            ordinal: 0,
        })
    }
}

/// Iterator of the second pass.
pub struct Domains<'a> {
    list: &'a DomainList,
    records: Records,
    ordinal: u64,
}

impl Iterator for Domains<'_> {
    type Item = Result<DomainInput, ListError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let raw = match self.records.next(self.ordinal) {
                Ok(Some(raw)) => raw,
                Ok(None) => return None,
                Err(source) => {
                    return Some(Err(ListError::Read {
                        path: self.list.path.clone(),
                        source,
                    }));
                }
            };
            self.ordinal += 1;
            if !self.list.keep.contains(raw.ordinal) {
                continue;
            }
            return Some(match raw.field.as_deref().map(normalize) {
                Some(Ok(Some(domain))) => Ok(DomainInput {
                    ordinal: raw.ordinal,
                    line: raw.line,
                    domain,
                    extra: raw.extra,
                    senders: Vec::new(),
                }),
                _ => Err(ListError::Changed(self.list.path.clone())),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &[u8]) -> (Vec<DomainInput>, Vec<RejectRow>, ListStats, Vec<String>) {
        run_with(text, SORT_CHUNK_BYTES, None)
    }

    fn run_with(
        text: &[u8],
        chunk: usize,
        shard: Option<&Partition>,
    ) -> (Vec<DomainInput>, Vec<RejectRow>, ListStats, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, text).unwrap();
        let mut rejects = Vec::new();
        let list = prepare_with(
            &path,
            dir.path(),
            shard,
            &mut |r| {
                rejects.push(r);
                Ok(())
            },
            chunk,
        )
        .unwrap();
        let domains = list
            .domains()
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let extra = list.extra_columns().to_vec();
        (domains, rejects, list.stats, extra)
    }

    fn names(d: &[DomainInput]) -> Vec<&str> {
        d.iter().map(|d| d.domain.as_str()).collect()
    }

    #[test]
    fn lines_with_bom_crlf_idn_duplicates_and_rejects() {
        let text = "\u{feff}shop1.test\r\n# comment\r\n\r\nBÜCHER.test.\r\nshop1.test\r\nbad..name\r\nSHOP1.TEST.\r\nlast.test";
        let (d, rejects, stats, extra) = run(text.as_bytes());
        assert_eq!(names(&d), ["shop1.test", "xn--bcher-kva.test", "last.test"]);
        assert_eq!(
            d.iter().map(|d| d.line).collect::<Vec<_>>(),
            [1, 4, 8],
            "line numbers are the input's"
        );
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 6);
        assert_eq!(rejects[0].input, "bad..name");
        assert!(rejects[0].reason.contains("empty label"));
        assert!(extra.is_empty());
        assert_eq!(
            stats,
            ListStats {
                records: 8,
                domains: 3,
                duplicates: 2,
                rejected: 1,
                skipped: 2,
                other_shards: 0,
            }
        );
    }

    #[test]
    fn invalid_utf8_is_rejected_not_fatal() {
        let (d, rejects, ..) = run(b"ok.test\n\xff\xfe.test\nok2.test\n");
        assert_eq!(names(&d), ["ok.test", "ok2.test"]);
        assert_eq!(rejects[0].reason, "not valid UTF-8");
    }

    #[test]
    fn empty_input() {
        let (d, rejects, stats, _) = run(b"");
        assert!(d.is_empty() && rejects.is_empty());
        assert_eq!(stats, ListStats::default());
    }

    #[test]
    fn csv_with_domain_column_passes_other_columns_through() {
        let text = "\u{feff}rank,Domain,country\r\n1,shop1.test,de\r\n2,\"bad domain\",fr\r\n3,SHOP1.test,it\r\n4\r\n5,b.test,\"x,y\"\r\n";
        let (d, rejects, stats, extra) = run(text.as_bytes());
        assert_eq!(extra, ["rank", "country"]);
        assert_eq!(names(&d), ["shop1.test", "b.test"]);
        assert_eq!(d[0].extra, ["1", "de"]);
        assert_eq!(d[1].extra, ["5", "x,y"]);
        assert_eq!(d[0].line, 2);
        assert_eq!(rejects.len(), 2, "{rejects:?}");
        assert_eq!(rejects[0].line, 3);
        assert_eq!(rejects[1].reason, "no domain column in this row");
        assert_eq!(stats.duplicates, 1);
    }

    #[test]
    fn ranked_lists_are_read_and_headers_without_domain_are_one_error() {
        let (d, rejects, stats, extra) =
            run(b"1,google.com\r\n2,B\xc3\xbccher.test\r\n3,not a domain\r\n");
        assert_eq!(extra, ["rank"]);
        assert_eq!(names(&d), ["google.com", "xn--bcher-kva.test"]);
        assert_eq!(d[1].extra, ["2"]);
        assert_eq!((d[0].line, d[1].line), (1, 2));
        assert_eq!((rejects.len(), rejects[0].line), (1, 3));
        assert_eq!(stats.records, 3);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, "name,rank\nexample.com,1\n").unwrap();
        let e = prepare(&path, dir.path(), None, &mut |_| Ok(())).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("no `domain` column") && e.contains("name,rank"),
            "{e}"
        );
    }

    #[test]
    fn a_long_rejected_line_is_cut_with_its_length() {
        let long = format!("{}\n", "x".repeat(100_000));
        let (_, rejects, ..) = run(long.as_bytes());
        assert!(rejects[0].input.len() < 600);
        assert!(rejects[0].input.ends_with("(100000 bytes in all)"));
    }

    #[test]
    fn spilled_runs_dedup_exactly() {
        // Chunks of 4 KiB: many sorted runs; every 7th name repeated later, differently cased.
        let n = 5000;
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!("d{i}.test\n"));
        }
        for i in (0..n).step_by(7) {
            text.push_str(&format!("D{i}.test.\n"));
        }
        let (d, _, stats, _) = run_with(text.as_bytes(), 4096, None);
        assert_eq!(d.len(), n);
        assert_eq!(stats.duplicates as usize, n.div_ceil(7));
        assert!(d.iter().enumerate().all(|(i, x)| x.line == i as u64 + 1));
    }

    #[test]
    fn shards_split_the_domains_and_add_up_to_the_whole() {
        use crate::input::shard::Shard;
        let mut text = String::from("# a comment\n\nbad..name\n");
        for i in 0..3000 {
            text.push_str(&format!("d{i}.test\nmail.d{i}.test\n"));
        }
        text.push_str("D7.TEST.\n");
        let (all, all_rejects, whole, _) = run(text.as_bytes());
        let mut seen = std::collections::BTreeMap::new();
        let mut sum = ListStats::default();
        for index in 1..=3 {
            let p = Partition::new(Shard {
                index,
                count: 3,
                seed: 9,
            });
            let (d, rejects, stats, _) = run_with(text.as_bytes(), 4096, Some(&p));
            assert_eq!(rejects.len(), if index == 1 { 1 } else { 0 });
            assert_eq!(stats.records + stats.other_shards, whole.records);
            assert!((900..1100).contains(&(stats.domains / 2)), "{stats:?}");
            for x in d {
                assert!(seen.insert(x.domain.clone(), index).is_none());
            }
            sum.records += stats.records;
            sum.domains += stats.domains;
            sum.duplicates += stats.duplicates;
            sum.rejected += stats.rejected;
            sum.skipped += stats.skipped;
        }
        assert_eq!(sum, whole, "the shards' counts add up to the whole list's");
        assert_eq!(seen.len(), all.len());
        assert_eq!(all_rejects.len(), 1);
        // An organisation's names are in one shard.
        for i in 0..3000 {
            assert_eq!(
                seen[&format!("d{i}.test")],
                seen[&format!("mail.d{i}.test")]
            );
        }
    }
}
