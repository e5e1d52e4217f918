//! The scan's tables on files whose every byte the journal tracks ([`TrackedFile`]): created
//! with their headers, or reopened and cut back to what the journal vouches for.

use std::io;
use std::path::{Path, PathBuf};

use crate::outdir::journal::{TABLES, TrackedFile};
use crate::tables::Format;
use crate::tables::scan::{SCAN_TABLES, ScanTables, table_path};
use crate::tables::table::{Row, Table, TableFile};

/// Creates the table file at `path` with its header.
pub fn create_table<R: Row<Kind = R>>(
    path: PathBuf,
    format: Format,
    extra: &[String],
) -> io::Result<Table<R, TrackedFile>> {
    let file = TrackedFile::create(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))?;
    Table::open(file, path, format, extra, true)
}

/// Opens the table file at `path` for appending after its first `len` bytes.
fn reopen_table<R: Row<Kind = R>>(
    path: PathBuf,
    format: Format,
    extra: &[String],
    len: u64,
) -> io::Result<Table<R, TrackedFile>> {
    let file = TrackedFile::open_at(&path, len)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot reopen {}: {e}", path.display())))?;
    Table::open(file, path, format, extra, false)
}

impl ScanTables<TrackedFile> {
    /// Where the tables of a scan in `dir` are.
    pub fn paths(dir: &Path, format: Format) -> [PathBuf; TABLES] {
        SCAN_TABLES.map(|stem| table_path(dir, stem, format))
    }

    /// Creates the tables with their headers; `extra_columns` pass through to `domains`.
    pub fn create(dir: &Path, format: Format, extra_columns: &[String]) -> io::Result<Self> {
        let [d, r, f, s] = Self::paths(dir, format);
        Ok(ScanTables {
            domains: create_table(d, format, extra_columns)?,
            records: create_table(r, format, &[])?,
            findings: create_table(f, format, &[])?,
            senders: create_table(s, format, &[])?,
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
            domains: reopen_table(d, format, extra_columns, ends[0])?,
            records: reopen_table(r, format, &[], ends[1])?,
            findings: reopen_table(f, format, &[], ends[2])?,
            senders: reopen_table(s, format, &[], ends[3])?,
        })
    }

    /// The tables' files in the journal's order.
    pub fn each(&mut self) -> [&mut TableFile<TrackedFile>; TABLES] {
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
        let files: [&TableFile<TrackedFile>; TABLES] =
            [&self.domains, &self.records, &self.findings, &self.senders];
        files
            .into_iter()
            .map(|t| Ok((t.with_file(|f| f.try_clone_file())?, t.path().to_path_buf())))
            .collect()
    }

    /// Puts every table on stable storage.
    pub fn sync(&mut self) -> io::Result<()> {
        for t in self.each() {
            t.with_file(|f| f.sync())?;
        }
        Ok(())
    }
}
