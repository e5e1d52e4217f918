//! `mxscan merge`: the shards of one scan (`--shard I/N`, each in its own `--out`) joined into
//! one results directory, as if one machine had scanned the whole input.
//!
//! First every shard is checked: a scan (manifest.json), of the same input, format, settings,
//! mxscan version, shard count and seed as the others, every index 1..N exactly once, and
//! complete. Anything else is refused with what is missing or mismatched, and nothing is
//! written. Then the tables are copied one after another (streamed: memory does not grow with
//! the shards; only what each shard's journal vouches for), the summaries combined
//! ([`summary::combine`]), the manifest written, and the report.

mod summary;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::input::shard::Shard;
use crate::io::fs::sync_dir;
use crate::io::fs::with_path;
use crate::metrics::summary::{ShardPart, Summary};
use crate::outdir::checkpoint;
use crate::outdir::manifest::Manifest;
use crate::tables::Format;
use crate::tables::scan::{SCAN_TABLES, table_path};

/// The shards do not make one complete scan: nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MergeRefused(String);

/// What to merge, and where.
#[derive(Debug, Clone)]
pub struct MergeJob {
    pub out: PathBuf,
    pub shards: Vec<PathBuf>,
    /// Replace a scan or merge already in `out`.
    pub force: bool,
    /// Write `report.html`.
    pub report: bool,
}

/// One shard directory, checked.
struct ShardDir {
    dir: PathBuf,
    manifest: Manifest,
    shard: Shard,
    summary: Summary,
    /// Bytes of each scan table the journal vouches for (`None`: no journal, the whole file).
    ends: Option<[u64; SCAN_TABLES.len()]>,
}

fn refuse(problems: Vec<String>) -> anyhow::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(MergeRefused(format!(
        "cannot merge these shards; nothing was written:\n  {}",
        problems.join("\n  ")
    ))
    .into())
}

/// Reads one shard directory; `Err` says why it is not a usable shard.
fn read_shard(dir: &Path) -> Result<ShardDir, String> {
    let shown = dir.display();
    let manifest = match Manifest::load(dir) {
        Ok(Some(m)) => m,
        Ok(None) => return Err(format!("{shown} holds no scan (no manifest.json)")),
        Err(e) => return Err(format!("{shown}: {e}")),
    };
    if manifest.merged_shards.is_some() {
        return Err(format!(
            "{shown} is a merge already: give the shards' own directories"
        ));
    }
    let Some(shard) = manifest.shard else {
        return Err(format!(
            "{shown} is not a shard (scanned without --shard): there is nothing to merge it with"
        ));
    };
    let format = <Format as clap::ValueEnum>::from_str(&manifest.format, true)
        .map_err(|_| format!("{shown}: unknown format {}", manifest.format))?;
    let incomplete = |what: String| {
        format!(
            "shard {shard} in {shown} is not complete ({what}): finish it with the same `mxscan \
             scan` command and --resume"
        )
    };
    let journal = checkpoint::inspect(dir, format).map_err(|e| format!("{shown}: {e}"))?;
    if journal.recovered.is_some() && !journal.complete() {
        let of = manifest
            .counts
            .map_or(String::new(), |c| format!(" of {}", c.domains));
        return Err(incomplete(format!(
            "{} domains written{of}",
            journal.done()
        )));
    }
    let summary: Summary = match std::fs::read(dir.join("summary.json")) {
        Ok(text) => serde_json::from_slice(&text)
            .map_err(|e| format!("{shown}/summary.json cannot be read: {e}"))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(incomplete(
                "no summary.json: the scan stopped before its end".into(),
            ));
        }
        Err(e) => return Err(format!("{shown}/summary.json: {e}")),
    };
    if summary.interrupted {
        return Err(incomplete(format!(
            "interrupted after {} domains",
            summary.domains_scanned
        )));
    }
    if let Some(counts) = manifest.counts
        && counts.domains != summary.domains_scanned
    {
        return Err(incomplete(format!(
            "{} of its {} domains in the tables",
            summary.domains_scanned, counts.domains
        )));
    }
    Ok(ShardDir {
        dir: dir.to_path_buf(),
        shard,
        summary,
        ends: journal.recovered.map(|r| r.ends),
        manifest,
    })
}

/// What makes `b` another scan than `a`, if anything.
fn mismatches(a: &ShardDir, b: &ShardDir) -> Vec<String> {
    let (ma, mb) = (&a.manifest, &b.manifest);
    let (da, db) = (a.dir.display(), b.dir.display());
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what} differs: {x} in {da}, {y} in {db}"));
        }
    };
    differ(
        "the input",
        format!(
            "{} ({} bytes, blake3 {})",
            ma.input.path, ma.input.size, ma.input.blake3
        ),
        format!(
            "{} ({} bytes, blake3 {})",
            mb.input.path, mb.input.size, mb.input.blake3
        ),
    );
    differ("the mxscan version", ma.mxscan.clone(), mb.mxscan.clone());
    differ("the format", ma.format.clone(), mb.format.clone());
    differ(
        "the shard count",
        a.shard.count.to_string(),
        b.shard.count.to_string(),
    );
    differ(
        "the shard seed (--shard-seed)",
        a.shard.seed.to_string(),
        b.shard.seed.to_string(),
    );
    let keys: std::collections::BTreeSet<&String> =
        ma.settings.keys().chain(mb.settings.keys()).collect();
    for k in keys {
        let get = |m: &Manifest| m.settings.get(k).cloned().unwrap_or("(not given)".into());
        differ(&format!("the setting {k}"), get(ma), get(mb));
    }
    out
}

/// Missing shards named in the refusal, at most.
const MISSING_NAMED: usize = 20;

/// Every shard 1..N exactly once.
fn coverage(shards: &[ShardDir]) -> Vec<String> {
    let count = shards[0].shard.count;
    let mut by_index: BTreeMap<u32, Vec<&Path>> = BTreeMap::new();
    for s in shards {
        by_index.entry(s.shard.index).or_default().push(&s.dir);
    }
    let mut out = Vec::new();
    for (index, dirs) in &by_index {
        if dirs.len() > 1 {
            let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            out.push(format!(
                "shard {index}/{count} is given {} times: {}",
                dirs.len(),
                dirs.join(", ")
            ));
        }
    }
    // Named lazily and at most a few: a manifest may claim billions of shards.
    let present = by_index
        .keys()
        .filter(|&&i| (1..=count).contains(&i))
        .count();
    let absent = count as usize - present;
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .take(MISSING_NAMED)
        .map(|i| format!("{i}/{count}"))
        .collect();
    if absent > 0 {
        let more = if absent > missing.len() {
            format!(" and {} more", absent - missing.len())
        } else {
            String::new()
        };
        out.push(format!(
            "shard{} {}{more} missing: give every shard 1..{count} once",
            if absent > 1 { "s" } else { "" },
            missing.join(", ")
        ));
    }
    out
}

/// Reads and checks the shards, sorted by index.
fn check(job: &MergeJob) -> anyhow::Result<Vec<ShardDir>> {
    if job.shards.is_empty() {
        refuse(vec!["no shard directories given".into()])?;
    }
    let mut shards = Vec::new();
    let mut problems = Vec::new();
    for dir in &job.shards {
        match read_shard(dir) {
            Ok(s) => shards.push(s),
            Err(e) => problems.push(e),
        }
    }
    if let Some(first) = shards.first() {
        for other in &shards[1..] {
            problems.extend(mismatches(first, other));
        }
        problems.extend(coverage(&shards));
    }
    let out = std::fs::canonicalize(&job.out).ok();
    for dir in &job.shards {
        if out.is_some() && std::fs::canonicalize(dir).ok() == out {
            problems.push(format!(
                "{} is a shard: give the merge its own -o DIR",
                dir.display()
            ));
        }
    }
    if !job.force && job.out.join(crate::outdir::manifest::MANIFEST).exists() {
        problems.push(format!(
            "{} already holds a scan or a merge: give another -o DIR, or --force to replace it",
            job.out.display()
        ));
    }
    refuse(problems)?;
    shards.sort_by_key(|s| s.shard.index);
    Ok(shards)
}

/// Writes one table of the merge: the shards' rows one after another (of each, only what its
/// journal vouches for), under one header (CSV).
fn merge_table(shards: &[ShardDir], out: &Path, stem: &str, format: Format) -> anyhow::Result<()> {
    let path = table_path(out, stem, format);
    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(|e| with_path(e, &tmp))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut first_header: Option<Vec<u8>> = None;
    for s in shards {
        let from = table_path(&s.dir, stem, format);
        let vouched = s.ends.and_then(|ends| {
            let i = SCAN_TABLES.iter().position(|t| *t == stem)?;
            Some(ends[i])
        });
        let file = File::open(&from).map_err(|e| with_path(e, &from))?;
        let mut reader = BufReader::with_capacity(1 << 20, file.take(vouched.unwrap_or(u64::MAX)));
        let mut header = Vec::new();
        if format == Format::Csv {
            reader
                .read_until(b'\n', &mut header)
                .map_err(|e| with_path(e, &from))?;
        }
        match &first_header {
            None => {
                w.write_all(&header).map_err(|e| with_path(e, &tmp))?;
                first_header = Some(header);
            }
            Some(h) if *h != header => {
                return Err(MergeRefused(format!(
                    "{} has other columns than the first shard's {stem} table",
                    from.display()
                ))
                .into());
            }
            Some(_) => {}
        }
        io::copy(&mut reader, &mut w).map_err(|e| with_path(e, &from))?;
    }
    let file = w
        .into_inner()
        .map_err(|e| with_path(e.into_error(), &tmp))?;
    file.sync_all().map_err(|e| with_path(e, &tmp))?;
    std::fs::rename(&tmp, &path).map_err(|e| with_path(e, &path))?;
    Ok(())
}

/// Merges the shards of `job` into `job.out`; returns the merged summary.
pub fn run(job: &MergeJob) -> anyhow::Result<Summary> {
    let shards = check(job)?;
    let first = &shards[0];
    let format = <Format as clap::ValueEnum>::from_str(&first.manifest.format, true)
        .map_err(|_| anyhow::anyhow!("unknown format {}", first.manifest.format))?;
    std::fs::create_dir_all(&job.out).with_context(|| {
        format!(
            "cannot create the output directory {}: give a writable -o DIR",
            job.out.display()
        )
    })?;
    // What a scan or merge left in `out` goes first: a half-done merge has no summary, and no
    // journal of a scan there vouches for the merged tables.
    for name in [
        "summary.json",
        crate::outdir::manifest::MANIFEST,
        crate::report::REPORT,
        checkpoint::JOURNAL,
        crate::input::list::STDIN_SPOOL,
    ] {
        let _ = std::fs::remove_file(job.out.join(name));
    }
    for stem in SCAN_TABLES.iter().chain(&["rejects"]) {
        merge_table(&shards, &job.out, stem, format)?;
    }
    let parts = shards
        .iter()
        .map(|s| ShardPart {
            shard: s.shard,
            out: s.dir.display().to_string(),
            domains: s.summary.domains_scanned,
            runs: s.summary.runs,
            scan_s: s.summary.timing.scan_s,
        })
        .collect();
    let summaries: Vec<Summary> = shards.iter().map(|s| s.summary.clone()).collect();
    let merged = summary::combine(&summaries, parts, std::env::args().collect())
        .map_err(|e| anyhow::anyhow!("cannot combine the shards' summaries: {e}"))?;
    let mut manifest = first.manifest.clone();
    manifest.shard = None;
    manifest.merged_shards = Some(first.shard.count);
    manifest.counts = Some(merged.input.list);
    // Tuning may differ by shard (each node its own resolvers): kept where all agree.
    for (k, v) in manifest.tuning.iter_mut() {
        if shards.iter().any(|s| s.manifest.tuning.get(k) != Some(v)) {
            *v = "(differs by shard)".into();
        }
    }
    manifest.write(&job.out)?;
    merged.write(&job.out)?;
    sync_dir(&job.out)?;
    if job.report {
        crate::report::write_after(&job.out, "merge");
    }
    Ok(merged)
}
