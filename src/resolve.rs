//! Bulk resolution (`mxscan resolve`): every input name asked for each type, one row per
//! outcome. The I/O thread runs the engine; a writer thread decodes replies and writes rows.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use hickory_proto::rr::RecordType;

use crate::engine::{EngineStats, Outcome, Question};
use crate::input::names;
use crate::io::driver::{self, Ended};
use crate::tables::Format;
use crate::tables::resolve::ResolveRow;
use crate::tables::table::Table;

/// Outcomes per batch handed from the I/O thread to the writer thread.
const BATCH: usize = 256;

/// A bulk resolution, resolved from the flags.
#[derive(Debug, Clone)]
pub struct ResolveJob {
    pub asking: driver::Settings,
    /// Types asked for each name, in this order.
    pub types: Vec<RecordType>,
    /// Names, one per line (`None` or `-`: stdin).
    pub input: Option<PathBuf>,
    /// Rows go here (`None` or `-`: stdout).
    pub output: Option<PathBuf>,
    pub format: Format,
}

/// How a resolution ended, with the engine's counters.
pub struct Resolved {
    pub ended: Ended,
    pub stats: EngineStats,
}

pub fn run(job: &ResolveJob) -> anyhow::Result<Resolved> {
    let reader = names::open(job.input.as_deref())?;
    let out = crate::tables::open(job.output.as_deref())?;
    let mut writer = Table::<ResolveRow, _>::new(out, job.format, &[])?;
    let one_row_per_record = job.format == Format::Csv;

    // The writer thread decodes replies and writes rows, off the I/O thread.
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Outcome>>(64);
    let writer_thread = std::thread::spawn(move || -> std::io::Result<()> {
        for batch in rx {
            for o in &batch {
                let mut row = ResolveRow::from_outcome(o);
                if one_row_per_record && row.answers.len() > 1 {
                    // A CSV cell joins a list with `;`, which TXT records contain: each record
                    // gets its own row instead, so that none is ever split.
                    for answer in std::mem::take(&mut row.answers) {
                        row.answers = vec![answer];
                        writer.write(&row)?;
                    }
                } else {
                    writer.write(&row)?;
                }
            }
        }
        writer.flush()
    });

    let (mut engine, mut sockets, driver_config) = job.asking.open(None)?;
    let mut read_error = None;
    // Lines as bytes: a line that is not UTF-8 becomes a BADNAME row, not the end of the run.
    let mut lines = reader.split(b'\n').map(|l| {
        l.map(|l| {
            String::from_utf8_lossy(&l)
                .trim_end_matches('\r')
                .to_string()
        })
    });
    let mut tag = 0u64;
    let mut pending: Vec<Question> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    // The input iterator borrows `read_error`; the block ends that borrow.
    let result = {
        let mut input = std::iter::from_fn(|| {
            while pending.is_empty() {
                match lines.next()? {
                    Ok(line) => {
                        for &t in job.types.iter().rev() {
                            if let Some(name) = names::query_name(&line, t) {
                                pending.push(Question::new(name, t, tag));
                                tag += 1;
                            }
                        }
                    }
                    Err(e) => {
                        read_error = Some(e);
                        return None;
                    }
                }
            }
            pending.pop()
        });
        driver::run(
            &mut engine,
            &mut sockets,
            &driver_config,
            &mut input,
            &mut |o| {
                batch.push(o);
                if batch.len() == BATCH {
                    tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
                }
                Ok(())
            },
        )
    };
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    drop(tx);
    let written = writer_thread
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))?;
    let ended = result?;
    written?;
    if let Some(e) = read_error {
        return Err(e).context("cannot read the input");
    }
    Ok(Resolved {
        ended,
        stats: engine.stats,
    })
}
