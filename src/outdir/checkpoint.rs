//! A scan's output directory as a whole: its tables, journal and manifest, opened for a new scan
//! or for resuming an interrupted one, and the checkpoint after every batch.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::bitset::Bitset;
use crate::io::fs::sync_dir;
use crate::metrics::tally::Tally;
use crate::outdir::journal::{self, Journal, Record, Recovered, TrackedFile};
use crate::tables::Format;
use crate::tables::scan::ScanTables;

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
/// Without `sync_every` there is no journal and no sync: the scan cannot be resumed (what
/// `scripts/bench-journal.sh` compares against).
pub fn create(
    dir: &Path,
    format: Format,
    extra_columns: &[String],
    sync_every: Option<Duration>,
) -> io::Result<Opened> {
    let mut tables = ScanTables::create(dir, format, extra_columns)?;
    let (ends, _) = tables.checkpoint()?;
    let journal = match sync_every {
        Some(_) => {
            tables.sync()?;
            let mut journal = Journal::create(&dir.join(JOURNAL))?;
            journal.append(&Record::Start { ends })?;
            journal.sync()?;
            sync_dir(dir)?;
            Some(journal)
        }
        None => None,
    };
    let checkpoint = Checkpoint::new(journal, sync_every.unwrap_or_default(), &tables)?;
    Ok(Opened {
        tables,
        checkpoint,
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
    let checkpoint = Checkpoint::new(Some(journal), sync_every, &tables)?;
    Ok(Opened {
        tables,
        checkpoint,
        done: recovered.done,
        done_count: recovered.done_count,
        tally: recovered.tally,
        run: recovered.runs + 1,
    })
}

/// Opens a retry pass (`--retry-indeterminate`) of the scan in `dir`, in `dir/.retry`: its
/// tables hold every row of the scan except those of `retried`'s domains, and its journal a
/// batch of the `kept` positions with their tally. The retried domains' rows follow as they
/// finish; [`crate::outdir::retry::commit`] then puts the pass in place.
#[allow(clippy::too_many_arguments)]
pub fn open_retry(
    dir: &Path,
    format: Format,
    extra_columns: &[String],
    recovered: Recovered,
    retried: &crate::outdir::retry::Unmeasured,
    kept: Vec<u64>,
    sync_every: Duration,
) -> io::Result<Opened> {
    let pass = dir.join(crate::outdir::retry::RETRY_DIR);
    if pass.exists() {
        std::fs::remove_dir_all(&pass)?;
    }
    std::fs::create_dir(&pass)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", pass.display())))?;
    let mut tables = ScanTables::create(&pass, format, extra_columns)?;
    let (ends, _) = tables.checkpoint()?;
    let mut journal = Journal::create(&pass.join(JOURNAL))?;
    journal.append(&Record::Start { ends })?;
    let run = recovered.runs + 1;
    journal.append(&Record::Retry {
        retried: retried.domains.len() as u64,
        runs: run,
        passes: recovered.retry_passes + 1,
    })?;
    crate::outdir::retry::copy_rows_except(dir, format, &retried.domains, &mut tables)?;
    let mut tally = recovered.tally;
    tally.subtract(&retried.tally);
    let done_count = kept.len() as u64;
    let (ends, crcs) = tables.checkpoint()?;
    if !kept.is_empty() {
        journal.append_batch(kept, ends, crcs, tally.clone())?;
    }
    tables.sync()?;
    journal.sync()?;
    let checkpoint = Checkpoint::new(Some(journal), sync_every, &tables)?;
    Ok(Opened {
        tables,
        checkpoint,
        done: Bitset::default(),
        done_count,
        tally,
        run,
    })
}

/// Journals each batch written and makes the tables durable every `sync_every`, on a syncer
/// thread: an `fsync` can take long on a busy disk, and the output thread must not wait for it
/// (the I/O thread would wait behind it).
pub struct Checkpoint {
    journal: Option<Journal>,
    sync_every: Duration,
    last_request: Instant,
    syncer: Option<Syncer>,
    /// The durable journal length the last `Sync` record gave.
    recorded: u64,
}

/// The syncer thread: `fsync`s the tables, then the journal, when asked, and publishes the
/// journal length it made durable.
struct Syncer {
    requests: crossbeam_channel::Sender<u64>,
    durable: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

impl Syncer {
    fn start(tables: &ScanTables<TrackedFile>, journal: &Journal) -> io::Result<Syncer> {
        let mut files = tables.try_clone_files()?;
        files.push((journal.try_clone_file()?, journal.path().to_path_buf()));
        let (requests, rx) = crossbeam_channel::bounded::<u64>(1);
        let durable = Arc::new(AtomicU64::new(0));
        let published = durable.clone();
        let thread = std::thread::Builder::new()
            .name("mxscan-sync".into())
            .spawn(move || {
                for upto in rx {
                    for (file, path) in &files {
                        file.sync_data()
                            .map_err(|e| crate::io::fs::with_path(e, path))?;
                    }
                    published.store(upto, Ordering::Release);
                }
                Ok(())
            })?;
        Ok(Syncer {
            requests,
            durable,
            thread,
        })
    }

    /// Stops the thread; its error if an `fsync` failed.
    fn stop(self) -> io::Result<()> {
        drop(self.requests);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the syncer thread panicked"))?
    }
}

impl Checkpoint {
    fn new(
        journal: Option<Journal>,
        sync_every: Duration,
        tables: &ScanTables<TrackedFile>,
    ) -> io::Result<Self> {
        let syncer = match &journal {
            Some(j) => Some(Syncer::start(tables, j)?),
            None => None,
        };
        Ok(Checkpoint {
            recorded: journal.as_ref().map_or(0, Journal::len),
            journal,
            sync_every,
            last_request: Instant::now(),
            syncer,
        })
    }

    /// Records a batch just written to `tables`: its input positions and tally.
    pub fn batch(
        &mut self,
        tables: &mut ScanTables<TrackedFile>,
        positions: Vec<u64>,
        tally: Tally,
    ) -> io::Result<()> {
        let (ends, crcs) = tables.checkpoint()?;
        let (Some(journal), Some(syncer)) = (self.journal.as_mut(), self.syncer.as_ref()) else {
            return Ok(());
        };
        journal.append_batch(positions, ends, crcs, tally)?;
        let durable = syncer.durable.load(Ordering::Acquire);
        if durable > self.recorded {
            journal.append(&Record::Sync { upto: durable })?;
            self.recorded = durable;
        }
        if self.last_request.elapsed() >= self.sync_every {
            if syncer.thread.is_finished() {
                // It only ends early on an error, which `stop` returns.
                return self
                    .syncer
                    .take()
                    .expect("checked")
                    .stop()
                    .and_then(|()| Err(io::Error::other("the syncer thread stopped")));
            }
            // Full when a sync is still running: ask again after the next batch.
            if syncer.requests.try_send(journal.len()).is_ok() {
                self.last_request = Instant::now();
            }
        }
        Ok(())
    }

    /// Ends the journal: the tables, then the journal, on stable storage, and marked complete
    /// if the whole input is in the tables.
    pub fn finish(
        mut self,
        tables: &mut ScanTables<TrackedFile>,
        complete: bool,
    ) -> io::Result<()> {
        if let Some(syncer) = self.syncer.take() {
            syncer.stop()?;
        }
        let Some(journal) = self.journal.as_mut() else {
            return Ok(());
        };
        tables.sync()?;
        journal.sync()?;
        journal.append(&Record::Sync {
            upto: journal.len(),
        })?;
        if complete {
            journal.append(&Record::Complete)?;
        }
        journal.sync()
    }
}
