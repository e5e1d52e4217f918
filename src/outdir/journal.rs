//! The scan's journal, `OUT/journal`: which input records are in the tables, and how long each
//! table was after them. It is what makes a scan resumable after a clean stop, a `kill -9` or a
//! power loss.
//!
//! The output thread writes a batch of domains to the tables, flushes them to the kernel, then
//! appends one [`Record::Batch`]: the batch's input positions, every table's length after it,
//! the CRC-32 of the bytes the batch appended to each table, and the batch's [`Tally`]. Every
//! `--sync-interval` a syncer thread `fsync`s the tables, then the journal, and reports the
//! journal length it made durable; the output thread then appends [`Record::Sync`] with that
//! length: the journal up to it, and the table bytes its batches name, are on stable storage.
//!
//! Each line is `CRC32 JSON` (the CRC in hex, over the JSON). [`recover`] reads the longest
//! valid prefix: a torn last line fails its CRC and is cut off. Batches a `Sync` vouches for
//! are trusted; later ones are kept only while the table bytes they describe are all there and
//! match their CRCs (a power loss may have lost table pages the journal's pages outlived).
//! The tables are then cut back to the last kept batch, which also removes a partly written
//! last row.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bitset::Bitset;
use crate::io::fs::with_path;
use crate::metrics::tally::Tally;

/// The tables the journal tracks: domains, records, findings, senders.
pub const TABLES: usize = crate::tables::scan::SCAN_TABLES.len();

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// The tables were created; their lengths with their headers.
    Start { ends: [u64; TABLES] },
    /// A resumed run began with `done` domains already in the tables; `forced` lists the
    /// differences from the manifest that `--force` let through.
    Resume {
        done: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        forced: Vec<String>,
    },
    /// The journal of a second pass over the scan's INDETERMINATE domains
    /// (`--retry-indeterminate`): `runs` runs so far, this one included, `passes` of them
    /// retry passes, this one asking `retried` domains again.
    Retry {
        retried: u64,
        runs: u32,
        passes: u32,
    },
    /// A batch of domains is in the tables.
    Batch {
        /// Input positions, sorted: the first absolute, then differences to the previous one.
        positions: Vec<u64>,
        ends: [u64; TABLES],
        crcs: [u32; TABLES],
        tally: Tally,
    },
    /// The journal's first `upto` bytes, and the table bytes their batches name, are on
    /// stable storage.
    Sync { upto: u64 },
    /// The whole input is scanned.
    Complete,
}

/// Sorted positions as the journal stores them (first, then differences).
fn delta_encode(mut positions: Vec<u64>) -> Vec<u64> {
    positions.sort_unstable();
    for i in (1..positions.len()).rev() {
        positions[i] -= positions[i - 1];
    }
    positions
}

fn delta_decode(deltas: &[u64]) -> impl Iterator<Item = u64> + '_ {
    deltas.iter().scan(0u64, |at, d| {
        *at = at.saturating_add(*d);
        Some(*at)
    })
}

/// A table file that knows its length and the CRC-32 of what was written since the last
/// [`TrackedFile::take_crc`]. The CRC sits in a `Cell` because a `csv::Writer` lends out only a
/// shared reference to what it writes to.
pub struct TrackedFile {
    file: File,
    len: u64,
    crc: Cell<crc32fast::Hasher>,
}

impl TrackedFile {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(TrackedFile {
            file: crate::io::fs::create_fresh(path)?,
            len: 0,
            crc: Cell::default(),
        })
    }

    /// Opens `path` for appending after cutting it back to `len` bytes.
    pub fn open_at(path: &Path, len: u64) -> io::Result<Self> {
        let mut file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.seek(SeekFrom::Start(len))?;
        Ok(TrackedFile {
            file,
            len,
            crc: Cell::default(),
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CRC-32 of the bytes written since the last call.
    pub fn take_crc(&self) -> u32 {
        self.crc.take().finalize()
    }

    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Another handle on the file, for syncing it from another thread.
    pub fn try_clone_file(&self) -> io::Result<File> {
        self.file.try_clone()
    }
}

impl Write for TrackedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.crc.get_mut().update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The journal, open for appending.
pub struct Journal {
    file: File,
    path: PathBuf,
    line: Vec<u8>,
    /// Bytes written.
    len: u64,
}

impl Journal {
    /// Creates (or truncates) the journal at `path`.
    pub fn create(path: &Path) -> io::Result<Journal> {
        let file = crate::io::fs::create_fresh(path).map_err(|e| with_path(e, path))?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            line: Vec::new(),
            len: 0,
        })
    }

    /// Opens the journal at `path` for appending after its valid prefix of `len` bytes.
    pub fn open_at(path: &Path, len: u64) -> io::Result<Journal> {
        let mut file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| with_path(e, path))?;
        file.set_len(len).map_err(|e| with_path(e, path))?;
        file.seek(SeekFrom::Start(len))
            .map_err(|e| with_path(e, path))?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            line: Vec::new(),
            len,
        })
    }

    /// Appends one record as a single write (to the kernel, not yet to stable storage).
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        let json = serde_json::to_vec(record)?;
        self.line.clear();
        write!(self.line, "{:08x} ", crc32fast::hash(&json))?;
        self.line.extend_from_slice(&json);
        self.line.push(b'\n');
        self.file
            .write_all(&self.line)
            .map_err(|e| with_path(e, &self.path))?;
        self.len += self.line.len() as u64;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Another handle on the journal file, for syncing it from another thread.
    pub fn try_clone_file(&self) -> io::Result<File> {
        self.file.try_clone().map_err(|e| with_path(e, &self.path))
    }

    /// Appends a batch of domains written to the tables.
    pub fn append_batch(
        &mut self,
        positions: Vec<u64>,
        ends: [u64; TABLES],
        crcs: [u32; TABLES],
        tally: Tally,
    ) -> io::Result<()> {
        self.append(&Record::Batch {
            positions: delta_encode(positions),
            ends,
            crcs,
            tally,
        })
    }

    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data().map_err(|e| with_path(e, &self.path))
    }
}

/// What the journal says is in the tables.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Table lengths after the last kept batch.
    pub ends: [u64; TABLES],
    /// Input positions whose rows are in the tables.
    pub done: Bitset,
    pub done_count: u64,
    pub tally: Tally,
    /// Runs so far (the first one, each resume and each retry pass).
    pub runs: u32,
    /// Retry passes so far (`--retry-indeterminate`).
    pub retry_passes: u32,
    pub complete: bool,
    /// Bytes of the journal that stay.
    pub journal_len: u64,
    /// Batches no `Sync` vouches for whose table bytes were incomplete (a power loss): their
    /// domains are scanned again.
    pub dropped_batches: u64,
}

/// A parsed journal line, or `None` if it is torn or corrupt.
fn parse_line(line: &[u8]) -> Option<Record> {
    let line = line.strip_suffix(b"\n")?;
    let (crc, json) = (line.get(..8)?, line.get(9..)?);
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if line.get(8) != Some(&b' ') || crc32fast::hash(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

impl Recovered {
    /// Takes in a record after the start.
    fn apply(&mut self, record: &Record) {
        match record {
            Record::Batch {
                positions,
                ends,
                tally,
                ..
            } => {
                for p in delta_decode(positions) {
                    if !self.done.contains(p) {
                        self.done.insert(p);
                        self.done_count += 1;
                    }
                }
                self.ends = *ends;
                self.tally.merge(tally);
            }
            Record::Resume { .. } => self.runs += 1,
            Record::Retry { runs, passes, .. } => {
                self.runs = *runs;
                self.retry_passes = *passes;
            }
            Record::Complete => self.complete = true,
            Record::Start { .. } | Record::Sync { .. } => {}
        }
    }
}

/// Whether `file` holds `[from, to)` with this CRC.
fn region_matches(file: &mut File, from: u64, to: u64, crc: u32) -> io::Result<bool> {
    if to < from || file.metadata()?.len() < to {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(from))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut left = to - from;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = file.read(&mut buf[..left.min(1 << 16) as usize])?;
        if n == 0 {
            return Ok(false);
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher.finalize() == crc)
}

/// Reads the journal at `path` against the `tables`. `None` if it holds no `Start` record
/// (the scan stopped before its tables were ready).
pub fn recover(path: &Path, tables: &[PathBuf; TABLES]) -> io::Result<Option<Recovered>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(with_path(e, path)),
    };
    let mut reader = BufReader::new(file);
    let mut r = Recovered::default();
    let mut started = false;
    // Records no `Sync` vouches for yet, with the journal's length after each.
    let mut pending: VecDeque<(Record, u64)> = VecDeque::new();
    let mut offset = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| with_path(e, path))?;
        let Some(record) = (n > 0).then(|| parse_line(&line)).flatten() else {
            break;
        };
        offset += n as u64;
        match record {
            Record::Start { ends } if !started => {
                started = true;
                r.ends = ends;
                r.runs = 1;
                r.journal_len = offset;
            }
            // Anything before the start, or a second start, is not a journal of ours.
            Record::Start { .. } => break,
            _ if !started => break,
            Record::Sync { upto } => {
                while pending.front().is_some_and(|(_, end)| *end <= upto) {
                    let (record, end) = pending.pop_front().expect("checked");
                    r.apply(&record);
                    r.journal_len = end;
                }
                if pending.is_empty() {
                    r.journal_len = offset;
                } else {
                    pending.push_back((Record::Sync { upto }, offset));
                }
            }
            record => pending.push_back((record, offset)),
        }
    }
    if !started {
        return Ok(None);
    }
    // Records no sync vouches for: keep each batch while the table bytes it describes are
    // intact; the first one that is not ends the journal.
    let mut files = tables
        .iter()
        .map(|t| File::open(t).map_err(|e| with_path(e, t)))
        .collect::<io::Result<Vec<_>>>()?;
    'records: for (record, journal_len) in &pending {
        if let Record::Batch { ends, crcs, .. } = record {
            for i in 0..TABLES {
                if !region_matches(&mut files[i], r.ends[i], ends[i], crcs[i])
                    .map_err(|e| with_path(e, &tables[i]))?
                {
                    r.dropped_batches = pending
                        .iter()
                        .filter(|(p, l)| matches!(p, Record::Batch { .. }) && l >= journal_len)
                        .count() as u64;
                    break 'records;
                }
            }
        }
        r.apply(record);
        r.journal_len = *journal_len;
    }
    for (i, f) in files.iter().enumerate() {
        let len = f.metadata().map_err(|e| with_path(e, &tables[i]))?.len();
        if len < r.ends[i] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is shorter ({len} bytes) than its journal says ({} bytes): it was \
                     changed after the scan wrote it, so the scan cannot be resumed; start \
                     over with --force",
                    tables[i].display(),
                    r.ends[i]
                ),
            ));
        }
    }
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Route;

    struct Dir {
        dir: tempfile::TempDir,
        tables: [PathBuf; TABLES],
        files: Vec<TrackedFile>,
        journal: Journal,
    }

    impl Dir {
        fn new() -> Dir {
            let dir = tempfile::tempdir().unwrap();
            let tables = ["d", "r", "f", "s"].map(|n| dir.path().join(n));
            let mut files: Vec<TrackedFile> = tables
                .iter()
                .map(|t| TrackedFile::create(t).unwrap())
                .collect();
            for f in &mut files {
                f.write_all(b"header\n").unwrap();
                f.take_crc();
            }
            let mut journal = Journal::create(&dir.path().join("journal")).unwrap();
            journal
                .append(&Record::Start { ends: [7; TABLES] })
                .unwrap();
            Dir {
                dir,
                tables,
                files,
                journal,
            }
        }

        /// Writes one row per position to every table and journals the batch.
        fn batch(&mut self, positions: &[u64]) {
            for f in &mut self.files {
                for p in positions {
                    writeln!(f, "row {p}").unwrap();
                }
            }
            let ends = [0, 1, 2, 3].map(|i| self.files[i].len());
            let crcs = [0, 1, 2, 3].map(|i| self.files[i].take_crc());
            let mut tally = Tally::default();
            tally.routes.insert(Route::HasMx, positions.len() as u64);
            self.journal
                .append_batch(positions.to_vec(), ends, crcs, tally)
                .unwrap();
        }

        /// What the syncer does: everything so far is durable.
        fn sync(&mut self) {
            let upto = self.journal.len();
            self.journal.append(&Record::Sync { upto }).unwrap();
        }

        fn journal_path(&self) -> PathBuf {
            self.dir.path().join("journal")
        }

        fn recover(&self) -> Recovered {
            recover(&self.journal_path(), &self.tables)
                .unwrap()
                .unwrap()
        }
    }

    #[test]
    fn positions_round_trip_through_deltas() {
        let d = delta_encode(vec![9, 3, 4, 100]);
        assert_eq!(d, [3, 1, 5, 91]);
        assert_eq!(delta_decode(&d).collect::<Vec<_>>(), [3, 4, 9, 100]);
    }

    #[test]
    fn batches_are_recovered_with_their_tallies() {
        let mut d = Dir::new();
        d.batch(&[2, 0]);
        d.sync();
        d.batch(&[1, 5, 3]);
        let r = d.recover();
        assert_eq!(r.done_count, 5);
        assert!(r.done.contains(5) && !r.done.contains(4));
        assert_eq!(r.tally.routes[&Route::HasMx], 5);
        assert_eq!(r.ends, [0, 1, 2, 3].map(|i| d.files[i].len()));
        assert_eq!(
            r.journal_len,
            std::fs::metadata(d.journal_path()).unwrap().len()
        );
        assert_eq!((r.runs, r.complete, r.dropped_batches), (1, false, 0));
    }

    #[test]
    fn a_torn_journal_line_is_cut_off() {
        let mut d = Dir::new();
        d.batch(&[0, 1]);
        let good = std::fs::metadata(d.journal_path()).unwrap().len();
        d.batch(&[2, 3]);
        let full = std::fs::metadata(d.journal_path()).unwrap().len();
        // Cut the last line in the middle, as a crash during its write would.
        OpenOptions::new()
            .write(true)
            .open(d.journal_path())
            .unwrap()
            .set_len(full - 10)
            .unwrap();
        let r = d.recover();
        assert_eq!(r.done_count, 2);
        assert_eq!(r.journal_len, good);
    }

    #[test]
    fn unsynced_batches_whose_table_bytes_are_lost_are_dropped() {
        let mut d = Dir::new();
        d.batch(&[0]);
        d.sync();
        d.batch(&[1]);
        let after_second = d.files[1].len();
        d.batch(&[2]);
        // A power loss kept the journal's pages but not the last bytes of `records`.
        OpenOptions::new()
            .write(true)
            .open(&d.tables[1])
            .unwrap()
            .set_len(after_second + 3)
            .unwrap();
        let r = d.recover();
        assert_eq!(r.done_count, 2, "batch [2] is dropped, [1] is intact");
        assert_eq!(r.dropped_batches, 1);
        assert_eq!(r.ends[1], after_second);

        // Bytes present but different (zeros where data was) fail the CRC.
        let mut d = Dir::new();
        d.batch(&[0]);
        let start = d.files[2].len();
        d.batch(&[1]);
        let mut f = OpenOptions::new().write(true).open(&d.tables[2]).unwrap();
        f.seek(SeekFrom::Start(start)).unwrap();
        f.write_all(b"\0\0").unwrap();
        let r = d.recover();
        assert_eq!(r.done_count, 1);
    }

    #[test]
    fn a_sync_vouches_only_for_the_journal_before_its_mark() {
        let mut d = Dir::new();
        d.batch(&[0]);
        let upto = d.journal.len();
        let ends_after_first = d.files[3].len();
        // A batch lands between the syncer's mark and its Sync line; its table bytes are lost.
        d.batch(&[1]);
        d.journal.append(&Record::Sync { upto }).unwrap();
        OpenOptions::new()
            .write(true)
            .open(&d.tables[3])
            .unwrap()
            .set_len(ends_after_first)
            .unwrap();
        let r = d.recover();
        assert_eq!(
            r.done_count, 1,
            "the batch after the mark is verified, and dropped"
        );
        assert_eq!(r.dropped_batches, 1);
        assert_eq!(r.journal_len, upto);
    }

    #[test]
    fn synced_batches_are_trusted_but_a_shorter_table_is_an_error() {
        let mut d = Dir::new();
        d.batch(&[0]);
        d.batch(&[1]);
        d.sync();
        d.journal.append(&Record::Complete).unwrap();
        let r = d.recover();
        assert!(r.complete);
        assert_eq!(r.done_count, 2);
        OpenOptions::new()
            .write(true)
            .open(&d.tables[0])
            .unwrap()
            .set_len(3)
            .unwrap();
        let e = recover(&d.journal_path(), &d.tables).unwrap_err();
        assert!(e.to_string().contains("shorter"), "{e}");
    }

    #[test]
    fn no_start_record_means_nothing_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let tables = ["d", "r", "f", "s"].map(|n| dir.path().join(n));
        assert!(
            recover(&dir.path().join("journal"), &tables)
                .unwrap()
                .is_none()
        );
        std::fs::write(dir.path().join("journal"), b"0000 garbage\n").unwrap();
        assert!(
            recover(&dir.path().join("journal"), &tables)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn resumes_count_runs_and_tracked_files_reopen_at_a_length() {
        let mut d = Dir::new();
        d.batch(&[0]);
        d.journal
            .append(&Record::Resume {
                done: 1,
                forced: vec!["--weights".into()],
            })
            .unwrap();
        assert_eq!(d.recover().runs, 2);
        let path = &d.tables[0];
        let mut f = TrackedFile::open_at(path, 7).unwrap();
        f.write_all(b"x\n").unwrap();
        assert_eq!(f.len(), 9);
        assert_eq!(std::fs::read(path).unwrap(), b"header\nx\n");
        assert_eq!(f.take_crc(), crc32fast::hash(b"x\n"));
    }

    proptest::proptest! {
        /// Whatever a crash or a bad disk did to the journal and a table, recovery does not
        /// panic and never vouches for table bytes that are not there.
        #[test]
        fn recovery_survives_any_cut_or_flipped_byte(
            batches in 1u64..6,
            sync_after in 0u64..6,
            cut_journal in proptest::prelude::any::<u16>(),
            table in 0usize..TABLES,
            cut_table in proptest::prelude::any::<u16>(),
            flip in proptest::prelude::any::<u16>(),
        ) {
            let mut d = Dir::new();
            for b in 0..batches {
                d.batch(&[2 * b, 2 * b + 1]);
                if b == sync_after {
                    d.sync();
                }
            }
            let journal = d.journal_path();
            let mut bytes = std::fs::read(&journal).unwrap();
            let at = flip as usize % bytes.len();
            bytes[at] ^= 0x20;
            bytes.truncate(cut_journal as usize % (bytes.len() + 1));
            std::fs::write(&journal, &bytes).unwrap();
            let len = d.files[table].len();
            OpenOptions::new()
                .write(true)
                .open(&d.tables[table])
                .unwrap()
                .set_len(cut_table as u64 % (len + 1))
                .unwrap();
            if let Ok(Some(r)) = recover(&journal, &d.tables) {
                for (i, t) in d.tables.iter().enumerate() {
                    proptest::prop_assert!(r.ends[i] <= std::fs::metadata(t).unwrap().len());
                }
                proptest::prop_assert!(r.done_count <= 2 * batches);
                proptest::prop_assert!(r.journal_len <= bytes.len() as u64);
                proptest::prop_assert_eq!(r.tally.domains(), r.done_count);
            }
        }
    }
}
