//! The output stage, on its own thread: each batch of finished domains is assembled and
//! analysed on the rayon pool, its rows written, and the batch journalled.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use rayon::prelude::*;

use crate::analysis::Analysis;
use crate::metrics::progress::ScanCounters;
use crate::metrics::tally::Tally;
use crate::outdir::checkpoint::Checkpoint;
use crate::outdir::journal::TrackedFile;
use crate::pipeline::Finished;
use crate::pipeline::result::DomainResult;
use crate::tables::scan::ScanTables;

/// Batches queued between the I/O and the output thread at most.
const QUEUED_BATCHES: usize = 16;

/// What the output thread hands back: this run's tally, and the tables and checkpoint to
/// finish.
pub type Written = (Tally, ScanTables<TrackedFile>, Checkpoint);

/// The output thread's input, and the thread.
pub type OutputStage = (
    crossbeam_channel::Sender<Vec<Finished>>,
    JoinHandle<std::io::Result<Written>>,
);

/// Starts the output thread; it ends when the returned sender is dropped.
pub fn spawn(
    mut tables: ScanTables<TrackedFile>,
    mut checkpoint: Checkpoint,
    analysis: Analysis,
    counters: Arc<ScanCounters>,
) -> std::io::Result<OutputStage> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Finished>>(QUEUED_BATCHES);
    let handle = std::thread::Builder::new()
        .name("mxscan-output".into())
        .spawn(move || {
            let mut tally = Tally::default();
            for batch in rx {
                let positions: Vec<u64> = batch.iter().map(|f| f.input.ordinal).collect();
                let reports: Vec<_> = batch
                    .par_iter()
                    .map(|f| analysis.analyze(DomainResult::assemble(f)))
                    .collect();
                let mut batch_tally = Tally::default();
                for report in &reports {
                    tables.write(report)?;
                    batch_tally.add(report);
                }
                tally.merge(&batch_tally);
                checkpoint.batch(&mut tables, positions, batch_tally)?;
                counters
                    .domains_done
                    .fetch_add(reports.len() as u64, Ordering::Relaxed);
            }
            Ok((tally, tables, checkpoint))
        })?;
    Ok((tx, handle))
}
