//! `mxscan resolve`: bulk resolution, one row per name and type.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hickory_proto::rr::RecordType;

use super::engine_args::EngineArgs;
use crate::engine::{Engine, Outcome};
use crate::input::names;
use crate::io::driver;
use crate::output::resolve::{ResolveRow, RowWriter};
use crate::output::{self, Format};

/// Outcomes per batch handed from the I/O thread to the writer thread.
const BATCH: usize = 256;

#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub engine: EngineArgs,

    /// Record types to ask for each name (repeatable): A, AAAA, MX, PTR, TXT, NS, … With PTR,
    /// IP addresses in the input are asked as their reverse names and reported as the IPs.
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "A")]
    pub types: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,

    /// Write rows here instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Names, one per line (`-` or none: stdin).
    pub input: Option<PathBuf>,
}

pub fn parse_types(types: &[String]) -> anyhow::Result<Vec<u16>> {
    types
        .iter()
        .map(|t| {
            let rt: RecordType = t
                .to_ascii_uppercase()
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown record type `{t}`"))?;
            Ok(u16::from(rt))
        })
        .collect()
}

pub fn run(args: ResolveArgs) -> anyhow::Result<i32> {
    let config = args.engine.engine_config(args.engine.resolver_addrs()?)?;
    let types = parse_types(&args.types)?;
    let reader = names::open(args.input.as_deref())?;
    let out = output::open(args.output.as_deref())?;
    let mut writer = RowWriter::new(out, args.format)?;

    // The writer thread decodes replies and writes rows, off the I/O thread.
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Outcome>>(64);
    let writer_thread = std::thread::spawn(move || -> std::io::Result<()> {
        for batch in rx {
            for o in &batch {
                writer.write(&ResolveRow::from_outcome(o))?;
            }
        }
        writer.finish()
    });

    let (sockets, driver_config) = args.engine.driver(&config, None)?;
    let mut engine = Engine::new(config);
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
    let mut pending: Vec<(String, u16, u64)> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    // The input iterator borrows `read_error`; the block ends that borrow.
    let result = {
        let mut input = std::iter::from_fn(|| {
            while pending.is_empty() {
                match lines.next()? {
                    Ok(line) => {
                        for &t in types.iter().rev() {
                            if let Some(name) = names::query_name(&line, t) {
                                pending.push((name, t, tag));
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
            &sockets,
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
    let s = &engine.stats;
    eprintln!(
        "mxscan resolve: {} lookups, {} attempts, {} retries, {} over TCP; rejected replies: {} spoofed, {} wrong question, {} late, {} duplicate, {} malformed",
        s.completed,
        s.attempts,
        s.retries,
        s.tcp_fallbacks,
        s.spoofed,
        s.wrong_question,
        s.late,
        s.duplicates,
        s.malformed
    );
    if ended == driver::Ended::GaveUp {
        eprintln!(
            "mxscan resolve: every resolver was down for --give-up; names not asked have no row"
        );
        return Ok(super::exit::GAVE_UP);
    }
    Ok(super::exit::OK)
}
