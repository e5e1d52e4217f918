//! docs/output.md's cookbook of DuckDB and pandas queries, run against a synthetic scan in CSV
//! and in JSON Lines (tests/cookbook.py): each answer is the figure summary.json gives, and each
//! query the script runs is in the docs word for word. DuckDB and pandas come from PyPI into a
//! virtual environment this test makes (once, under the target directory).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::common::{WORLD_FLAGS, mxscan, repo_path, sorted_rows, start_sim};
use mxscan::sim::SyntheticWorld;

/// A Python with duckdb and pandas: a venv made on first use.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cookbook-venv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import duckdb, pandas"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv");
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "duckdb", "pandas"])
            .status()
            .unwrap();
        assert!(pip.success(), "pip install duckdb pandas");
    }
    assert!(ready());
    python
}

fn scan(list: &str, out: &Path, extra: &[&str], input: &Path) {
    let mut args = vec!["scan", "-r", list, "-o", out.to_str().unwrap(), "-q"];
    args.extend_from_slice(&WORLD_FLAGS);
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    let (code, _, err) = mxscan(&args, b"");
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_cookbook_answers_what_the_summary_says() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let world = SyntheticWorld::new(5_000, 3);
    let input = dir.path().join("domains.txt");
    world
        .write_domains(&mut std::fs::File::create(&input).unwrap())
        .unwrap();
    let (sim, list) = start_sim(Arc::new(world), &[""]);
    // Senders: each domain's first mail-host address, from a first scan.
    let first = dir.path().join("first");
    scan(&list, &first, &[], &input);
    let (h, records) = sorted_rows(&first.join("records.csv"));
    let at = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (domain, address) = (at("domain"), at("address"));
    let mut senders = String::from("domain,ip\n");
    let mut last = "";
    for r in &records {
        if !r[address].is_empty() && r[domain] != last {
            senders.push_str(&format!("{},{}\n", r[domain], r[address]));
            last = &r[domain];
        }
    }
    let senders_csv = dir.path().join("senders.csv");
    std::fs::write(&senders_csv, senders).unwrap();
    let flags = [
        "--checks",
        "all",
        "--senders",
        senders_csv.to_str().unwrap(),
    ];
    let (csv, jsonl) = (dir.path().join("csv"), dir.path().join("jsonl"));
    scan(&list, &csv, &flags, &input);
    scan(
        &list,
        &jsonl,
        &[&flags[..], &["--format", "jsonl"]].concat(),
        &input,
    );
    sim.stop().unwrap();

    let run = Command::new(python)
        .arg(repo_path("tests/cookbook.py"))
        .args([&csv, &jsonl])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(run.status.success(), "{stderr}\n{stdout}");
    let docs = std::fs::read_to_string(repo_path("docs/output.md")).unwrap();
    for query in stdout.lines() {
        assert!(docs.contains(query), "docs/output.md lacks `{query}`");
    }
}
