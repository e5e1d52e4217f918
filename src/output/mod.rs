//! Streaming writers: `resolve` rows, the scan's tables, its progress bar and summary.

pub mod checkpoint;
pub mod journal;
pub mod manifest;
pub mod progress;
pub mod resolve;
pub mod resolvers;
pub mod scan;
pub mod summary;
pub mod tally;

use std::io::Write;

/// Output format of a row stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// As the flag and the file extension spell it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Where rows go: the named file, or stdout for `-` or none.
pub fn open(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    use anyhow::Context;
    Ok(match path {
        None => Box::new(std::io::stdout()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdout()),
        Some(p) => Box::new(
            std::fs::File::create(p)
                .with_context(|| format!("cannot create output {}", p.display()))?,
        ),
    })
}
