//! `mxscan spf`: its flags; one `check_host()` through the resolvers (the run is
//! [`crate::spf`], the evaluator `mailauth::spf`).

use std::net::IpAddr;

use clap::{Args, ValueEnum};

use super::engine_args::EngineArgs;
use crate::mailauth::spf::{Evaluation, Request};

/// Examples and exit statuses, at the end of `spf --help` and its man page.
pub const AFTER_HELP: &str = "\
Examples:
  mxscan spf -r 127.0.0.2 --ip 192.0.2.10 --sender alice@example.com
  mxscan spf -r 127.0.0.2 --ip 2001:db8::25 --sender '' --helo mail.example.com --format json

Exit statuses: 0 evaluated (the SPF result, pass or fail alike, is in the output), 2 a usage
error or an error that stopped the evaluation, 4 no resolver usable.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpfFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SpfArgs {
    /// The connecting client's IP address.
    #[arg(long)]
    pub ip: IpAddr,

    /// The MAIL FROM address; empty (`--sender ''`) checks the HELO identity (RFC 7208 §2.3).
    #[arg(long, value_name = "ADDRESS")]
    pub sender: String,

    /// The HELO/EHLO name (for `%{h}`, and the identity checked when --sender is empty).
    #[arg(long, value_name = "NAME", default_value = "unknown")]
    pub helo: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = SpfFormat::Text)]
    pub format: SpfFormat,

    #[command(flatten, next_help_heading = "Resolvers and pace")]
    pub engine: EngineArgs,
}

pub fn run(args: SpfArgs) -> anyhow::Result<i32> {
    let asking = args.engine.settings()?;
    let skip_check = args.engine.no_resolver_check;
    if let Err(status) = super::engine_args::check_resolvers(skip_check, &asking.engine.resolvers) {
        return Ok(status);
    }
    let domain = match args.sender.rsplit_once('@') {
        Some((_, domain)) => domain,
        None if args.sender.is_empty() => args.helo.as_str(),
        None => args.sender.as_str(),
    };
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let request = Request {
        ip: args.ip,
        sender: &args.sender,
        helo: &args.helo,
        domain,
        receiver: "unknown",
        timestamp,
    };
    let evaluation = crate::spf::run(&asking, &request)?;
    match args.format {
        SpfFormat::Json => crate::out!("{}", serde_json::to_string_pretty(&evaluation)?),
        SpfFormat::Text => crate::out!("{}", text(&evaluation, domain).trim_end_matches('\n')),
    }
    Ok(super::exit::OK)
}

/// Text from DNS as a terminal may show it: control characters (C0 and C1, which could move
/// the cursor or recolour the screen) written as `\DDD` or `\u{...}`.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_ascii_control() => out.push_str(&format!("\\{:03}", c as u8)),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn text(e: &Evaluation, domain: &str) -> String {
    let mut s = format!("{}: {}\n", shown(domain), e.result.as_str());
    let mut line = |key: &str, value: Option<&str>| {
        if let Some(v) = value {
            s += &format!("  {key:<12} {}\n", shown(v));
        }
    };
    line("record", e.record.as_deref());
    line("mechanism", e.mechanism.as_deref());
    line("explanation", e.explanation.as_deref());
    line("problem", e.problem.as_deref());
    s += &format!(
        "  {:<12} {} (void {})\n",
        "lookups", e.lookups, e.void_lookups
    );
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            super::shown("a\x1b[31mb\u{9b}c\t"),
            "a\\027[31mb\\u{9b}c\\009"
        );
    }
}
