//! Flags shared by every command that sends queries, and the resolver list.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use crate::engine::policy::RetryPolicy;
use crate::engine::resolver::ResolverLimits;
use crate::engine::{DEFAULT_SOCKETS, EngineConfig};
use crate::io::driver;

#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// Resolvers to query: `127.0.0.2:53,127.0.0.3` or a file with one per line.
    ///
    /// Port 53 when omitted. Required: mxscan never reads /etc/resolv.conf.
    #[arg(short = 'r', long = "resolvers", value_name = "LIST|FILE")]
    pub resolvers: Option<String>,

    /// UDP sockets to spread queries over.
    ///
    /// Each is bound to a kernel-chosen port; one a second is retired and bound again to a
    /// fresh port once its queries are answered.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SOCKETS)]
    pub sockets: usize,

    /// Lookups in flight at most (bounds memory and load).
    ///
    /// The concurrency that zdns's --threads and massdns's -s set.
    #[arg(long, value_name = "N", visible_aliases = ["concurrency", "threads"], default_value_t = driver::DEFAULT_WINDOW)]
    pub window: usize,

    /// Queries in flight at most per resolver.
    #[arg(long, value_name = "N", default_value_t = ResolverLimits::default().max_in_flight)]
    pub per_resolver: usize,

    /// Queries per second at most, over all resolvers together; 0 = unlimited.
    #[arg(long, visible_alias = "rate-limit", default_value_t = 0)]
    pub qps: u32,

    /// Attempts per query, the first one included.
    #[arg(long, value_name = "N", default_value_t = RetryPolicy::default().max_attempts)]
    pub attempts: u32,

    /// Timeout of a first attempt before a resolver's RTT is known, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = RetryPolicy::default().initial_timeout.as_millis() as u64)]
    pub timeout: u64,

    /// Overall deadline of one lookup, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = RetryPolicy::default().deadline.as_secs_f64())]
    pub deadline: f64,

    /// Resolvers a question is asked of while they answer SERVFAIL or REFUSED.
    ///
    /// Each at most once; then that answer is final (a recursive resolver's SERVFAIL comes
    /// after it tried every authority). Applies once other resolvers have confirmed a resolver's SERVFAILs;
    /// one whose SERVFAILs its peers contradict is retried as on a timeout. Ask again later
    /// with `--retry-indeterminate`.
    #[arg(long, value_name = "N", default_value_t = RetryPolicy::default().servfail_tries)]
    pub servfail_tries: u32,

    /// Send query names in their own letter case instead of randomising it (0x20).
    ///
    /// By default each attempt's name gets a random case pattern and a reply whose question does
    /// not echo it exactly is rejected, so a forger must guess it along with the id and the
    /// port (0x20 turns itself off, with a warning, for a resolver that never preserves case).
    #[arg(long = "no-0x20")]
    pub no_randomize_case: bool,

    /// Stop when every resolver has been down this long, in seconds.
    ///
    /// It stops as on SIGINT (tables valid, exit status 5, resumable); until then the scan takes no new domains and probes the
    /// resolvers with backoff. At most 60 s while no resolver has answered anything yet
    /// (the addresses are likely wrong). 0 = wait for ever.
    #[arg(long, value_name = "SECS", default_value_t = driver::DEFAULT_GIVE_UP.as_secs_f64())]
    pub give_up: f64,

    /// Start without asking each resolver one question first.
    ///
    /// By default a run whose
    /// resolvers all cannot be used (nothing listens, REFUSED, or silent for 5 s) stops at
    /// once with exit status 4, naming each; with this flag it starts and waits for them, up to
    /// --give-up (a farm still starting, say).
    #[arg(long)]
    pub no_resolver_check: bool,
}

impl EngineArgs {
    /// The resolver addresses, or an error saying how to give them.
    pub fn resolver_addrs(&self) -> anyhow::Result<Vec<SocketAddr>> {
        let Some(spec) = &self.resolvers else {
            bail!(
                "no resolvers given: pass -r 127.0.0.1:5300 (comma-separated addresses, port 53 \
                 when omitted) or -r FILE with one address per line; mxscan never reads \
                 /etc/resolv.conf. For a test farm run `mxscan sim` or scripts/farm.sh."
            );
        };
        let text = if Path::new(spec).is_file() {
            std::fs::read_to_string(spec)
                .with_context(|| format!("cannot read resolver file {spec}"))?
        } else if looks_like_path(spec) {
            bail!(
                "`{spec}`: no such file, and not a resolver address: give -r IP or IP:PORT \
                 (comma-separated, e.g. 127.0.0.2:5300) or a file with one address per line"
            );
        } else {
            spec.replace(',', "\n")
        };
        let mut out: Vec<SocketAddr> = Vec::new();
        for item in text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
        {
            let addr = parse_resolver(item)?;
            if out.contains(&addr) {
                crate::note!("mxscan: warning: resolver {addr} is listed twice; asking it once");
                continue;
            }
            out.push(addr);
        }
        if out.is_empty() {
            bail!("the resolver list `{spec}` is empty");
        }
        Ok(out)
    }

    /// The engine's and the driver's settings from these flags.
    pub fn settings(&self) -> anyhow::Result<driver::Settings> {
        Ok(driver::Settings {
            engine: self.engine_config(self.resolver_addrs()?)?,
            window: self.window,
            give_up: (self.give_up > 0.0).then(|| Duration::from_secs_f64(self.give_up)),
        })
    }

    /// The engine configuration for these flags and resolvers.
    pub fn engine_config(&self, resolvers: Vec<SocketAddr>) -> anyhow::Result<EngineConfig> {
        if self.sockets == 0 || self.sockets > 1024 {
            bail!("--sockets must be between 1 and 1024");
        }
        if self.attempts == 0 {
            bail!("--attempts must be at least 1");
        }
        if !(0.01..=3600.0).contains(&self.deadline) {
            bail!("--deadline must be between 0.01 and 3600 seconds");
        }
        if self.servfail_tries == 0 {
            bail!("--servfail-tries must be at least 1 (the first answer)");
        }
        if self.window == 0 {
            bail!("--window must be at least 1 (lookups in flight)");
        }
        if self.per_resolver == 0 {
            bail!("--per-resolver must be at least 1 (queries in flight per resolver)");
        }
        if self.timeout == 0 {
            bail!("--timeout must be at least 1 ms");
        }
        if !(0.0..=86_400.0).contains(&self.give_up) {
            bail!("--give-up must be between 0 (wait for ever) and 86400 seconds");
        }
        let mut c = EngineConfig::new(resolvers, self.sockets);
        c.retry.max_attempts = self.attempts;
        c.retry.initial_timeout = Duration::from_millis(self.timeout);
        c.retry.deadline = Duration::from_secs_f64(self.deadline);
        c.retry.servfail_tries = self.servfail_tries;
        c.limits.max_in_flight = self.per_resolver;
        c.limits.qps = (self.qps > 0).then_some(f64::from(self.qps));
        c.randomize_case = !self.no_randomize_case;
        Ok(c)
    }
}

/// A resolver spec that names a file rather than addresses: a path separator, a file-like
/// ending, or one word that is no address (an address has a `:` or parses as IPv4).
fn looks_like_path(spec: &str) -> bool {
    spec.contains('/')
        || [".txt", ".conf", ".list", ".csv"]
            .iter()
            .any(|e| spec.ends_with(e))
        || (!spec.contains([',', ':']) && spec.trim().parse::<IpAddr>().is_err())
}

/// `127.0.0.2:53`, `127.0.0.2` (port 53), `[::1]:5300` or `::1`; port 0 is refused.
pub fn parse_resolver(s: &str) -> anyhow::Result<SocketAddr> {
    let addr = if let Ok(addr) = s.parse::<SocketAddr>() {
        addr
    } else if let Ok(ip) = s.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
        SocketAddr::new(ip, 53)
    } else {
        bail!("`{s}` is not a resolver address: write IP or IP:PORT, e.g. 127.0.0.2:5300")
    };
    if addr.port() == 0 {
        bail!("`{s}`: port 0 is not a resolver's port (write IP or IP:PORT, e.g. 127.0.0.2:5300)");
    }
    Ok(addr)
}

/// How long the check before a run waits for a resolver that does not answer.
const PREFLIGHT_WAIT: Duration = Duration::from_secs(5);

/// Checks the resolvers before a run (`io::preflight`) unless `skip` (`--no-resolver-check`):
/// each one that cannot be used is named on stderr; when none can, the run should not start
/// (`Err` with the exit status, 4).
pub fn check_resolvers(skip: bool, resolvers: &[SocketAddr]) -> Result<(), i32> {
    if skip {
        return Ok(());
    }
    let health = crate::io::preflight::check(resolvers, ".", PREFLIGHT_WAIT);
    let problems: Vec<String> = resolvers
        .iter()
        .zip(&health)
        .filter_map(|(r, h)| h.problem().map(|p| format!("  {r}: {p}")))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    if problems.len() == resolvers.len() {
        crate::note!(
            "mxscan: no resolver can be used; nothing was started:\n{}\nGive resolvers that \
             answer recursive queries from this host with -r ADDR[:PORT],…",
            problems.join("\n")
        );
        return Err(super::exit::NOTHING_SCANNED);
    }
    crate::note!(
        "mxscan: warning: {} of {} resolvers cannot be used; going on with the others:\n{}",
        problems.len(),
        resolvers.len(),
        problems.join("\n")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_addresses_parse_with_default_port() {
        assert_eq!(
            parse_resolver("127.0.0.2").unwrap(),
            "127.0.0.2:53".parse().unwrap()
        );
        assert_eq!(
            parse_resolver("127.0.0.2:5300").unwrap(),
            "127.0.0.2:5300".parse().unwrap()
        );
        assert_eq!(parse_resolver("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(
            parse_resolver("[::1]").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert!(
            parse_resolver("resolver.example")
                .unwrap_err()
                .to_string()
                .contains("IP:PORT")
        );
        assert!(
            parse_resolver("127.0.0.2:0")
                .unwrap_err()
                .to_string()
                .contains("port 0")
        );
        assert!(looks_like_path("conf/resolvers.txt") && !looks_like_path("127.0.0.2,::1"));
        assert!(looks_like_path("resolvers") && !looks_like_path("127.0.0.2"));
        assert!(!looks_like_path("127.0.0.2:0") && !looks_like_path("::1"));
    }
}
