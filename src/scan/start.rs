//! How a scan starts in its `--out` directory: anew, or resuming the scan it holds. Refuses
//! what would lose or mix results (a new scan over an interrupted one, a resume with another
//! input, format or settings), and says how to continue one that stopped.

use std::path::{Path, PathBuf};

use super::{ScanError, ScanJob};
use crate::input::list;
use crate::outdir::checkpoint;
use crate::outdir::journal::Recovered;
use crate::outdir::manifest::{self, FileId, Manifest};
use crate::tables::Format;

/// The command line again, with `--resume`: what continues an interrupted scan.
pub fn resume_command() -> String {
    this_command_with("--resume")
}

/// The command line of this process for a second pass over its INDETERMINATE domains.
pub fn retry_command() -> String {
    this_command_with("--retry-indeterminate")
}

/// This process's command line with `flag` in place of `--resume` / `--retry-indeterminate`,
/// quoted for a POSIX shell.
fn this_command_with(flag: &str) -> String {
    let mut args: Vec<String> = std::env::args()
        .filter(|a| a != "--resume" && a != "--retry-indeterminate")
        .collect();
    let at = args
        .iter()
        .position(|a| a == "scan")
        .map_or(args.len(), |i| i + 1);
    args.insert(at, flag.into());
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:,=@+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Removes what a killed run left behind that no run reads: sort runs of the first pass and
/// temporary files of atomic writes.
pub fn remove_leftovers(dir: &Path) {
    for tmp in ["manifest.tmp", "summary.tmp", "rejects.tmp"] {
        let _ = std::fs::remove_file(dir.join(tmp));
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".mxscan-sort")
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// How this run starts: anew, after the positions an earlier run wrote, or as a second pass
/// over its INDETERMINATE domains.
pub enum Start {
    New,
    Resume {
        recovered: Option<Box<Recovered>>,
        forced: Vec<String>,
    },
    Retry {
        recovered: Box<Recovered>,
        forced: Vec<String>,
    },
}

/// What `dir` holds from an earlier scan: its manifest and what its journal vouches for.
fn read_previous(dir: &Path) -> anyhow::Result<Option<(Manifest, checkpoint::Previous)>> {
    let Some(m) = Manifest::load(dir)? else {
        return Ok(None);
    };
    let format = <Format as clap::ValueEnum>::from_str(&m.format, true)
        .map_err(|_| anyhow::anyhow!("{}: unknown format {}", manifest::MANIFEST, m.format))?;
    let state = checkpoint::inspect(dir, format)?;
    Ok(Some((m, state)))
}

/// Starts a new scan in `--out`: spools stdin, writes the manifest. An earlier journal goes
/// first, so a crash from here on leaves a manifest without a journal, which a resume starts
/// anew.
fn start_new(job: &ScanJob) -> Result<(Start, PathBuf), ScanError> {
    let out = &job.out;
    let input = if job.reads_stdin() {
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            crate::note!(
                "mxscan: reading domains from stdin, one per line (end with Ctrl-D); give a \
                 file to scan instead"
            );
        }
        list::spool_stdin(out)?
    } else {
        job.input.clone().expect("a path when not stdin")
    };
    let _ = std::fs::remove_file(out.join(checkpoint::JOURNAL));
    let _ = std::fs::remove_file(out.join("summary.json"));
    // An earlier scan's tables go, in either format, so none is mistaken for this scan's.
    for stem in crate::tables::scan::SCAN_TABLES.iter().chain(&["rejects"]) {
        for format in [Format::Csv, Format::Jsonl] {
            let _ = std::fs::remove_file(crate::tables::scan::table_path(out, stem, format));
        }
    }
    let (id, _) = FileId::of(&input, None)?;
    job.manifest(id)?.write(out)?;
    Ok((Start::New, input))
}

/// Decides how the run starts from the flags and what `--out` holds, refusing what would lose
/// or mix results. Writes the manifest; nothing else is changed yet.
pub fn decide_start(job: &ScanJob) -> Result<(Start, PathBuf), ScanError> {
    let out = &job.out;
    let previous = read_previous(out);
    if let Ok(Some((m, _))) = &previous
        && let Some(n) = m.merged_shards
        && (job.mode.resume() || job.mode.retry() || !job.mode.force())
    {
        return Err(ScanError::Refused(format!(
            "{} holds a merge of {n} shards, not a scan: resume or retry each shard in its own \
             --out and merge again, or write this scan to another --out (--force replaces the \
             merge)",
            out.display()
        )));
    }
    if job.mode.retry() && matches!(previous, Ok(None)) {
        return Err(ScanError::Refused(format!(
            "{} holds no scan to retry: run the scan first",
            out.display()
        )));
    }
    if !(job.mode.resume() || job.mode.retry()) || matches!(previous, Ok(None)) {
        if job.mode.resume() {
            // Nothing was written yet (or ever): a resume is a start, so a crash-restart loop
            // can always pass --resume.
            crate::note!(
                "mxscan: no scan to resume in {}; starting one",
                out.display()
            );
        } else if !job.mode.force() {
            match &previous {
                Ok(Some((_, state))) if state.complete() => {
                    return Err(ScanError::Refused(format!(
                        "{} holds a completed scan ({} domains): write to another --out, or add \
                         --force to replace it (its tables are removed)",
                        out.display(),
                        state.done()
                    )));
                }
                Ok(Some((_, state))) if !state.complete() => {
                    return Err(ScanError::Refused(format!(
                        "{} holds an interrupted scan ({} domains written): continue it with \
                         --resume, or start over with --force (its results are then overwritten)",
                        out.display(),
                        state.done()
                    )));
                }
                Err(e) => {
                    return Err(ScanError::Refused(format!(
                        "{} holds a scan mxscan cannot read ({e:#}): --force starts over there",
                        out.display()
                    )));
                }
                _ => {}
            }
        }
        return start_new(job);
    }
    let (then, state) = previous?.expect("a scan: checked above");
    if state.complete() && !job.mode.retry() {
        return Err(ScanError::AlreadyComplete(state.done()));
    }
    let input = if job.reads_stdin() {
        let spool = out.join(list::STDIN_SPOOL);
        if !spool.is_file() {
            return Err(ScanError::Refused(format!(
                "this run reads stdin, but {} is not there (a scan keeps a copy of stdin \
                 only while it is interrupted): give the scan's list as a file",
                spool.display()
            )));
        }
        crate::note!(
            "mxscan: resuming from {}, the first run's copy of stdin",
            spool.display()
        );
        spool
    } else {
        job.input.clone().expect("a path when not stdin")
    };
    let (id, prefix) = FileId::of(&input, Some(then.input.size))?;
    let mut now = job.manifest(id)?;
    // Counted again by the first pass (and written then if they changed).
    now.counts = then.counts;
    let d = then.compare(&now, prefix.as_deref());
    let list = |items: &[String]| {
        items
            .iter()
            .map(|i| format!("\n  - {i}"))
            .collect::<String>()
    };
    if !d.fatal.is_empty() {
        return Err(ScanError::Refused(format!(
            "cannot resume the scan in {}:{}\nStart a new scan in another --out, or restore what \
             changed.",
            out.display(),
            list(&d.fatal)
        )));
    }
    if !d.forceable.is_empty() && !job.mode.force() {
        return Err(ScanError::Refused(format!(
            "the scan in {} was started differently:{}\nResume with what it was started with, or \
             add --force to go on anyway (rows before and after will differ in these).",
            out.display(),
            list(&d.forceable)
        )));
    }
    for note in d.notes.iter().chain(&d.forceable) {
        crate::note!("mxscan: continuing with a change: {note}");
    }
    if then != now {
        now.write(out)?;
    }
    if job.mode.retry() {
        let Some(recovered) = state.recovered else {
            return Err(ScanError::Refused(format!(
                "the scan in {} wrote no table yet: continue it with --resume",
                out.display()
            )));
        };
        return Ok((
            Start::Retry {
                recovered: Box::new(recovered),
                forced: d.forceable,
            },
            input,
        ));
    }
    Ok((
        Start::Resume {
            recovered: state.recovered.map(Box::new),
            forced: d.forceable,
        },
        input,
    ))
}
