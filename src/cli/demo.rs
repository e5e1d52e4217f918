//! `mxscan demo`: the main job on the bundled sample world, end to end, with nothing to set up.
//!
//! It starts the simulated resolver farm in-process on loopback (random ports) serving the
//! sample world compiled into the binary (`data/zones`), scans the sample domains and senders
//! (`data/domains.txt`, `data/senders.csv`), writes the results and says where they are.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::engine::{DEFAULT_SOCKETS, EngineConfig};
use crate::pipeline::auth::Checks;
use crate::scan::ScanJob;
use crate::sim::{self, FaultProfile, ResolverConfig, sample};
use crate::tables::Format;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the inputs and results.
    #[arg(short = 'o', long, value_name = "DIR", default_value = "mxscan-demo")]
    pub out: PathBuf,

    /// Simulated resolvers to start.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub resolvers: usize,

    /// Table format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
}

pub fn run(args: DemoArgs) -> anyhow::Result<i32> {
    if !(1..=16).contains(&args.resolvers) {
        anyhow::bail!("--resolvers must be between 1 and 16");
    }
    let zones: Arc<dyn sim::Zones> = Arc::new(sample::world()?);
    let configs: Vec<ResolverConfig> = (0..args.resolvers)
        .map(|_| ResolverConfig {
            addr: "127.0.0.1:0".parse().expect("valid"),
            faults: FaultProfile::default(),
        })
        .collect();
    let farm = sim::start(zones, &configs, 1).context("cannot start the simulated farm")?;
    let addrs: Vec<String> = farm.addrs().iter().map(|a| a.to_string()).collect();

    let input_dir = args.out.join("input");
    std::fs::create_dir_all(&input_dir).with_context(|| {
        format!(
            "cannot create {}: give a writable --out DIR",
            input_dir.display()
        )
    })?;
    let domains = input_dir.join("domains.txt");
    let senders = input_dir.join("senders.csv");
    std::fs::write(&domains, sample::DOMAINS)?;
    std::fs::write(&senders, sample::SENDERS)?;

    // The sample world lives under .test in reserved address space (data/README.md).
    let engine = EngineConfig::new(farm.addrs().to_vec(), DEFAULT_SOCKETS);
    let mut job = ScanJob::new(args.out.clone(), Some(domains), engine);
    job.senders = Some(senders);
    job.format = args.format;
    job.allow_special_use = true;
    // Every family, so the demo shows each code of the catalogue (data/expected-findings.csv).
    job.checks = Checks::ALL;
    // Each demo starts over, even after an interrupted one.
    job.mode = crate::scan::StartMode::New { replace: true };
    job.public_ranges = sim::WORLD_RANGES
        .iter()
        .map(|r| r.parse().expect("valid"))
        .collect();
    let summary = crate::scan::run(&job)?;
    farm.stop()?;
    crate::note!("{}", summary.line());
    let ext = args.format.name();
    crate::out!(
        "mxscan demo: scanned the sample world ({} domains) against {} simulated resolvers on {}.",
        summary.domains_scanned,
        addrs.len(),
        addrs.join(", ")
    );
    crate::out!("Results in {}/:", args.out.display());
    for (file, what) in [
        (
            format!("domains.{ext}"),
            "one row per domain: route, exchanges, provider, score, codes",
        ),
        (
            format!("records.{ext}"),
            "one row per domain × exchange × address: PTR, iprev",
        ),
        (
            format!("findings.{ext}"),
            "one row per finding: code, severity, subject (docs/findings.md)",
        ),
        (
            format!("senders.{ext}"),
            "one row per sender IP: covering MX host, iprev, verdict",
        ),
        (format!("rejects.{ext}"), "input lines that are not domains"),
        (
            "summary.json".to_string(),
            "counts, timings, per-resolver figures",
        ),
        (
            crate::report::REPORT.to_string(),
            "all of it as one page with charts, for a browser",
        ),
    ] {
        crate::out!("  {file:<14} {what}");
    }
    crate::out!("{}", summary.overview().trim_end_matches('\n'));
    crate::out!(
        "Open the report, one page with every figure: {}",
        args.out.join(crate::report::REPORT).display()
    );
    Ok(if summary.interrupted {
        super::exit::INTERRUPTED
    } else {
        super::exit::OK
    })
}
