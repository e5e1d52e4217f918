//! `mxscan report`, `mxscan completions` and `mxscan man`: what is made from a scan's output
//! or from the command line's own definitions.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory};

use super::Cli;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where to write the page (default: DIR/report.html).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The --out directory of a scan, complete or interrupted (CSV or JSON Lines tables).
    pub dir: PathBuf,
}

pub fn run(args: ReportArgs) -> anyhow::Result<i32> {
    let path = crate::report::write_scan_report(&args.dir, args.out.as_deref())?;
    crate::out!("{}", path.display());
    Ok(super::exit::OK)
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script (README "Shell completions and man pages" says where it goes).
pub fn completions(args: CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = shown(&Cli::command());
    clap_complete::generate(args.shell, &mut cmd, "mxscan", &mut std::io::stdout());
    Ok(super::exit::OK)
}

/// `cmd` without its hidden flags and subcommands, which a completion must not offer (clap's
/// generators list them).
fn shown(cmd: &clap::Command) -> clap::Command {
    let mut shown = clap::Command::new(cmd.get_name().to_owned())
        .args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .groups(cmd.get_groups().cloned());
    if let Some(about) = cmd.get_about() {
        shown = shown.about(about.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        shown = shown.subcommand(self::shown(sub));
    }
    shown
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write mxscan.1 and one page per subcommand (mxscan-scan.1, …) into this directory;
    /// without it, mxscan.1 goes to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn man(args: ManArgs) -> anyhow::Result<i32> {
    let cmd = Cli::command();
    match args.dir {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("cannot write the man pages in {}", dir.display()))?;
        }
    }
    Ok(super::exit::OK)
}
