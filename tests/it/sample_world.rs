//! The sample world of `data/` is what its generator makes, covers every findings code, and
//! the `mxscan sim` binary serves it and the synthetic world.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{ask, free_port, repo_path};

fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in walk(dir) {
        out.insert(
            entry
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn data_is_exactly_what_the_generator_makes() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(repo_path("scripts/gen-sample-world.py"))
        .arg("--out")
        .arg(out.path())
        .status()
        .expect("python3 runs the generator");
    assert!(status.success());
    let generated = files_under(out.path());
    assert!(generated.len() >= 13, "{generated:?}");
    for rel in generated {
        let fresh = std::fs::read(out.path().join(&rel)).unwrap();
        let committed = std::fs::read(repo_path("data").join(&rel)).unwrap_or_default();
        assert!(
            fresh == committed,
            "data/{rel} differs from the generator's output: run python3 scripts/gen-sample-world.py"
        );
    }
}

/// The codes of the findings catalogue (docs/findings.md, the contract): first cells of its
/// tables that are a code in backticks.
fn catalogue_codes() -> BTreeSet<String> {
    let spec = std::fs::read_to_string(repo_path("docs/findings.md")).unwrap();
    spec.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split("` |").next())
        .filter(|c| {
            c.len() > 3
                && c.chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch.is_ascii_digit())
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_code_occurs_in_the_expected_findings() {
    let codes = catalogue_codes();
    let reported: BTreeSet<String> = mxscan::analysis::Code::ALL
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        codes, reported,
        "docs/findings.md lists exactly the codes mxscan reports"
    );
    let expected = std::fs::read_to_string(repo_path("data/expected-findings.csv")).unwrap();
    let mut seen = BTreeSet::new();
    let domains = std::fs::read_to_string(repo_path("data/domains.txt")).unwrap();
    let listed: BTreeSet<&str> = domains.lines().map(str::trim).collect();
    for row in expected.lines().skip(1) {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols.len(), 4, "{row}");
        assert!(
            ["ERROR", "WARN", "INFO", "INDETERMINATE"].contains(&cols[2]),
            "{row}"
        );
        assert!(codes.contains(cols[1]), "{row}: not a catalogue code");
        assert!(
            listed.contains(cols[0]) || cols[0] == "xn--bcher-kva.test",
            "{row}: domain not in domains.txt"
        );
        seen.insert(cols[1].to_string());
    }
    let missing: Vec<_> = codes.difference(&seen).collect();
    // A correct Unbound + NSD pair cannot produce DNS_MALFORMED (see data/README.md); the
    // budget's cut needs a hostile zone, which tests/it/hostile.rs scans.
    assert_eq!(missing, vec!["DNS_MALFORMED", "DOMAIN_BUDGET_EXCEEDED"]);
}

#[test]
fn sim_binary_serves_zones_and_prints_its_counters() {
    let port = free_port();
    let stats = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(["sim", "--zones"])
        .arg(repo_path("data/zones"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--duration",
            "30",
            "--stats-json",
        ])
        .arg(stats.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut reply = None;
    for _ in 0..50 {
        reply = ask(addr, "shop1.test", 15, Duration::from_millis(100));
        if reply.is_some() {
            break;
        }
    }
    assert_eq!(reply.expect("the sim answers").answers.len(), 2);
    // SIGINT stops it cleanly, with the counters on stderr and in the JSON file.
    interrupt(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("queries: MX="), "{stderr}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stats.path()).unwrap()).unwrap();
    assert!(json["total"]["queries_by_type"]["MX"].as_u64().unwrap() >= 1);
}

/// Sends SIGINT through the `kill` command (no unsafe FFI in tests).
fn interrupt(pid: u32) {
    assert!(
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn sim_binary_writes_the_synthetic_world_and_its_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (domains, truth) = (dir.path().join("domains.txt"), dir.path().join("truth.csv"));
    let status = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args([
            "sim",
            "--synthetic",
            "5000",
            "--seed",
            "9",
            "--write-only",
            "--write-domains",
        ])
        .arg(&domains)
        .arg("--write-truth")
        .arg(&truth)
        .status()
        .unwrap();
    assert!(status.success());
    let domains = std::fs::read_to_string(domains).unwrap();
    assert_eq!(domains.lines().count(), 5000);
    let truth = std::fs::read_to_string(truth).unwrap();
    let rows: Vec<&str> = truth.lines().collect();
    assert_eq!(rows[0], "domain,scenario,codes");
    assert_eq!(rows.len(), 5001);
    let scenarios: BTreeSet<&str> = rows[1..]
        .iter()
        .map(|r| r.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        scenarios.len(),
        16,
        "every scenario occurs in 5000 domains: {scenarios:?}"
    );
    assert!(rows.iter().any(|r| r.ends_with(",DOMAIN_NXDOMAIN")));
}

#[test]
fn sim_binary_explains_bad_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(["sim", "--synthetic", "10", "--faults", "loss=200"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not between 0 and 100") && stderr.contains("key=value"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .arg("sim")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--zones"));
}
