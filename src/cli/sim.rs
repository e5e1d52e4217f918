//! `mxscan sim`: serve a world on loopback until stopped, then print the counters.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;

use crate::sim::{self, FaultProfile, ResolverConfig, SyntheticWorld, ZoneFiles, Zones};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("world").args(["synthetic", "hostile"]))]
pub struct SimArgs {
    /// Serve the RFC 1035 zone files (*.zone) of this directory, e.g. data/zones.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["synthetic", "hostile"],
        required_unless_present_any = ["synthetic", "hostile"]
    )]
    pub zones: Option<PathBuf>,

    /// Serve the hostile world: zones built to hurt a scanner, under hostile.test.
    ///
    /// An SPF include graph, MX and address floods, a long CNAME chain, huge TXT, hundreds of rua, every byte value in
    /// names), all under hostile.test; `--write-domains` lists them.
    #[arg(long, conflicts_with = "synthetic")]
    pub hostile: bool,

    /// Serve a synthetic world of N domains (syn0.test … syn{N-1}.test) answered on the fly.
    #[arg(long, value_name = "N")]
    pub synthetic: Option<u64>,

    /// Seed of the synthetic world and of every fault decision (resolver i uses SEED+i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Give the synthetic world broken authorities, as the internet has.
    ///
    /// About 1 % of the domains delegated to an address where nothing listens (the sim drops their questions;
    /// Unbound stays silent for seconds, then answers SERVFAIL), 1 % to a lame server (SERVFAIL
    /// at once) and 0.1 % to one that reads nothing (silent). Their truth is INDETERMINATE.
    #[arg(long, requires = "synthetic")]
    pub broken_authorities: bool,

    /// Addresses to listen on (UDP and TCP), comma-separated; each one is a resolver of the farm.
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1:5399")]
    pub listen: Vec<SocketAddr>,

    /// Fault profile of every resolver, e.g. `loss=5,latency=2ms,jitter=1ms,servfail=1`.
    ///
    /// Keys: loss, latency, jitter, servfail, refused, qps, over-qps (refuse|drop), truncate,
    /// garbage-id, garbage-question, garbage-random, wrong-port, die-after-queries, die-after,
    /// case. Rates are percentages.
    #[arg(long, value_name = "SPEC", default_value = "none")]
    pub faults: FaultProfile,

    /// Fault profile of one resolver, overriding --faults: `ADDR=SPEC`, repeatable, e.g.
    /// `--profile 127.0.0.3:5300=loss=100`.
    #[arg(long, value_name = "ADDR=SPEC", value_parser = parse_profile)]
    pub profile: Vec<(SocketAddr, FaultProfile)>,

    /// Stop by itself after this many seconds (0 = run until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub duration: f64,

    /// Write the synthetic (or hostile) world's domain list here (one per line).
    #[arg(long, value_name = "FILE", requires = "world")]
    pub write_domains: Option<PathBuf>,

    /// Write the synthetic world's ground truth here (domain,scenario,codes), for --checks all.
    #[arg(long, value_name = "FILE", requires = "synthetic")]
    pub write_truth: Option<PathBuf>,

    /// Write zone files for an authoritative server (NSD, `scripts/farm.sh`) into this
    /// directory.
    ///
    /// Every record the questions of --zone-questions reach in the world.
    #[arg(long, value_name = "DIR", requires = "zone_questions")]
    pub write_zones: Option<PathBuf>,

    /// The questions to export zones for, as `mxscan scan --questions-log` writes them.
    #[arg(long, value_name = "FILE", requires = "write_zones")]
    pub zone_questions: Option<PathBuf>,

    /// Only write the files above, do not serve.
    #[arg(long, requires = "world")]
    pub write_only: bool,

    /// Also write the counters printed at exit as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
}

fn parse_profile(s: &str) -> Result<(SocketAddr, FaultProfile), String> {
    let (addr, spec) = s
        .split_once('=')
        .ok_or("expected ADDR=SPEC, e.g. 127.0.0.3:5300=loss=5")?;
    let addr: SocketAddr = addr.parse().map_err(|e| format!("`{addr}`: {e}"))?;
    Ok((
        addr,
        spec.parse()
            .map_err(|e: sim::faults::FaultParseError| e.to_string())?,
    ))
}

fn write_file(
    path: &PathBuf,
    what: &str,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let file = File::create(path)
        .with_context(|| format!("cannot create {what} file {}", path.display()))?;
    let mut out = BufWriter::new(file);
    f(&mut out)
        .and_then(|_| out.flush())
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: SimArgs) -> anyhow::Result<i32> {
    for (addr, _) in &args.profile {
        if !args.listen.contains(addr) {
            bail!(
                "--profile names {addr}, which is not among --listen {:?}",
                args.listen
            );
        }
    }
    let ranges: &[&str] = if args.hostile {
        &sim::HOSTILE_RANGES
    } else {
        &sim::WORLD_RANGES
    };
    let zones: Arc<dyn Zones> = match (&args.zones, args.synthetic) {
        _ if args.hostile => {
            if let Some(path) = &args.write_domains {
                write_file(path, "domain list", |w| {
                    sim::hostile::DOMAINS
                        .iter()
                        .try_for_each(|(d, _)| writeln!(w, "{d}"))
                })?;
            }
            if args.write_only {
                return Ok(0);
            }
            crate::note!(
                "mxscan sim: the hostile world, {} domains under hostile.test",
                sim::hostile::DOMAINS.len()
            );
            Arc::new(sim::hostile::zones()?)
        }
        (None, None) => bail!("give --zones DIR, --synthetic N or --hostile"),
        (Some(dir), _) => {
            let world = ZoneFiles::load_dir(dir)?;
            crate::note!(
                "mxscan sim: {} zones from {}",
                world.zone_count(),
                dir.display()
            );
            Arc::new(world)
        }
        (None, Some(n)) => {
            let mut world = SyntheticWorld::new(n, args.seed);
            world.broken_authorities = args.broken_authorities;
            if let Some(path) = &args.write_domains {
                write_file(path, "domain list", |w| world.write_domains(w))?;
            }
            if let Some(path) = &args.write_truth {
                write_file(path, "ground truth", |w| world.write_truth(w))?;
            }
            if args.write_only && args.write_zones.is_none() {
                return Ok(0);
            }
            crate::note!(
                "mxscan sim: synthetic world of {n} domains, seed {}",
                args.seed
            );
            Arc::new(world)
        }
    };
    if let (Some(dir), Some(questions)) = (&args.write_zones, &args.zone_questions) {
        let file = File::open(questions)
            .with_context(|| format!("cannot read questions file {}", questions.display()))?;
        let exported = sim::export::write_zones(&*zones, std::io::BufReader::new(file), dir)
            .with_context(|| format!("cannot export zones from {}", questions.display()))?;
        crate::note!(
            "mxscan sim: {} questions, {} zones with {} records ({} NODATA placeholders) in {}",
            exported.questions,
            exported.zones,
            exported.records,
            exported.placeholders,
            dir.display()
        );
        if args.write_only {
            return Ok(0);
        }
    }
    let configs: Vec<ResolverConfig> = args
        .listen
        .iter()
        .map(|addr| ResolverConfig {
            addr: *addr,
            faults: args
                .profile
                .iter()
                .rev()
                .find(|(a, _)| a == addr)
                .map_or(args.faults.clone(), |(_, p)| p.clone()),
        })
        .collect();
    let farm = sim::start(zones, &configs, args.seed)?;
    let addrs: Vec<String> = farm.addrs().iter().map(|a| a.to_string()).collect();
    crate::note!(
        "mxscan sim: listening on {} (UDP and TCP); SIGINT or SIGTERM stops it",
        addrs.join(",")
    );
    // The world's names are under .test and its addresses in reserved ranges: without these
    // flags every exchange would be reported unusable.
    let domains = args
        .write_domains
        .as_ref()
        .map_or("DOMAINS".to_string(), |p| p.display().to_string());
    crate::note!(
        "mxscan sim: scan this world with\n  mxscan scan -r {} {} -o OUT {domains}{}",
        addrs.join(","),
        sim::world_flags(ranges),
        if args.write_domains.is_some() {
            ""
        } else {
            "\n(DOMAINS: its domain list, which --write-domains FILE writes)"
        }
    );

    let deadline =
        (args.duration > 0.0).then(|| Instant::now() + Duration::from_secs_f64(args.duration));
    crate::io::signals::wait_for_stop(deadline).context("cannot install signal handler")?;

    let reports = farm.stop()?;
    let mut total = sim::Counters::default();
    let mut json = serde_json::Map::new();
    for r in &reports {
        crate::note!("resolver {}:\n{}", r.addr, r.counters.report());
        total.merge(&r.counters);
        json.insert(
            r.addr.to_string(),
            serde_json::to_value(r.counters.report())?,
        );
    }
    if reports.len() > 1 {
        crate::note!("all resolvers:\n{}", total.report());
    }
    json.insert("total".into(), serde_json::to_value(total.report())?);
    if let Some(path) = &args.stats_json {
        write_file(path, "stats", |w| {
            serde_json::to_writer_pretty(&mut *w, &json).map_err(std::io::Error::other)
        })?;
    }
    Ok(0)
}
