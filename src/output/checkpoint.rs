//! A scan's output directory as a whole: its tables, journal and manifest, opened for a new scan
//! or for resuming an interrupted one, and the checkpoint after every batch.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::Format;
use super::journal::{self, Journal, Record, Recovered, TrackedFile};
use super::manifest::sync_dir;
use super::scan::ScanTables;
use super::tally::Tally;
use crate::input::list::Bitset;

pub const JOURNAL: &str = "journal";

/// What an output directory holds from an earlier scan.
pub struct Previous {
    /// `None` if the scan stopped before its tables were ready.
    pub recovered: Option<Recovered>,
}

impl Previous {
    pub fn complete(&self) -> bool {
        self.recovered.as_ref().is_some_and(|r| r.complete)
    }

    pub fn done(&self) -> u64 {
        self.recovered.as_ref().map_or(0, |r| r.done_count)
    }
}

/// Reads what the journal of the scan in `dir` (written as `format`) says is in its tables.
pub fn inspect(dir: &Path, format: Format) -> io::Result<Previous> {
    Ok(Previous {
        recovered: journal::recover(&dir.join(JOURNAL), &ScanTables::paths(dir, format))?,
    })
}

/// The tables and journal, open for writing, and what is already in them.
pub struct Opened {
    pub tables: ScanTables<TrackedFile>,
    pub checkpoint: Checkpoint,
    /// Input positions already in the tables (empty for a new scan).
    pub done: Bitset,
    pub done_count: u64,
    /// The tally of the domains already in the tables.
    pub tally: Tally,
    /// This run's number: 1 for a new scan.
    pub run: u32,
}

/// Creates the tables and a journal whose `Start` vouches for their headers, all durable.
pub fn create(
    dir: &Path,
    format: Format,
    extra_columns: &[String],
    sync_every: Duration,
) -> io::Result<Opened> {
    let mut tables = ScanTables::create(dir, format, extra_columns)?;
    let (ends, _) = tables.checkpoint()?;
    tables.sync()?;
    let mut journal = Journal::create(&dir.join(JOURNAL))?;
    journal.append(&Record::Start { ends })?;
    journal.sync()?;
    sync_dir(dir)?;
    Ok(Opened {
        tables,
        checkpoint: Checkpoint::new(journal, sync_every),
        done: Bitset::default(),
        done_count: 0,
        tally: Tally::default(),
        run: 1,
    })
}

/// Reopens the tables of an interrupted scan cut back to what its journal vouches for, and
/// journals the resume.
pub fn reopen(
    dir: &Path,
    format: Format,
    extra_columns: &[String],
    recovered: Recovered,
    forced: Vec<String>,
    sync_every: Duration,
) -> io::Result<Opened> {
    let mut tables = ScanTables::reopen(dir, format, extra_columns, recovered.ends)?;
    tables.sync()?;
    let mut journal = Journal::open_at(&dir.join(JOURNAL), recovered.journal_len)?;
    journal.append(&Record::Resume {
        done: recovered.done_count,
        forced,
    })?;
    journal.sync()?;
    Ok(Opened {
        tables,
        checkpoint: Checkpoint::new(journal, sync_every),
        done: recovered.done,
        done_count: recovered.done_count,
        tally: recovered.tally,
        run: recovered.runs + 1,
    })
}

/// Journals each batch written and makes the tables durable every `sync_every`.
pub struct Checkpoint {
    journal: Journal,
    sync_every: Duration,
    last_sync: Instant,
}

impl Checkpoint {
    fn new(journal: Journal, sync_every: Duration) -> Self {
        Checkpoint {
            journal,
            sync_every,
            last_sync: Instant::now(),
        }
    }

    /// Records a batch just written to `tables`: its input positions and tally.
    pub fn batch(
        &mut self,
        tables: &mut ScanTables<TrackedFile>,
        positions: Vec<u64>,
        tally: Tally,
    ) -> io::Result<()> {
        let (ends, crcs) = tables.checkpoint()?;
        self.journal.append_batch(positions, ends, crcs, tally)?;
        if self.last_sync.elapsed() >= self.sync_every {
            self.sync(tables)?;
        }
        Ok(())
    }

    /// Puts the tables, then the journal up to here, on stable storage.
    pub fn sync(&mut self, tables: &mut ScanTables<TrackedFile>) -> io::Result<()> {
        tables.sync()?;
        self.journal.append(&Record::Sync)?;
        self.journal.sync()?;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Ends the journal: durable, and marked complete if the whole input is in the tables.
    pub fn finish(
        mut self,
        tables: &mut ScanTables<TrackedFile>,
        complete: bool,
    ) -> io::Result<()> {
        self.sync(tables)?;
        if complete {
            self.journal.append(&Record::Complete)?;
            self.journal.sync()?;
        }
        Ok(())
    }
}
