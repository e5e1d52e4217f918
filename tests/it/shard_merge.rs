//! `mxscan scan --shard I/N` and `mxscan merge`: shards of one scan, merged, are the scan of
//! the whole input; a merge of shards that are not one complete scan is refused with the
//! reason, and writes nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::{
    WORLD_FLAGS, mxscan, repo_path, sample_sim, silent_resolver, sorted_rows, start_sim, summary,
};
use mxscan::sim::SyntheticWorld;
use mxscan::sim::synthetic::Scenario;

const TABLES: [&str; 5] = ["domains", "records", "findings", "senders", "rejects"];

fn run_ok(args: &[String]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = mxscan(&args, b"");
    assert_eq!(code, 0, "mxscan {args:?} failed: {err}");
    err
}

fn scan_args(resolvers: &str, out: &Path, extra: &[&str], input: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["scan", "-r", resolvers, "-o", out.to_str().unwrap()]
        .map(String::from)
        .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(input.display().to_string());
    args
}

fn merge(out: &Path, shards: &[PathBuf]) -> (i32, String) {
    let mut args = vec!["merge".to_string(), "-o".into(), out.display().to_string()];
    args.extend(shards.iter().map(|s| s.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = mxscan(&args, b"");
    (code, err)
}

/// The summary figures a merge must reproduce exactly: what was read, routes, findings,
/// sender verdicts and the mail-authentication survey.
fn exact_counts(s: &serde_json::Value) -> serde_json::Value {
    let input = &s["input"];
    serde_json::json!({
        "input": [input["records"], input["domains"], input["duplicates"], input["rejected"],
                  input["skipped"], input["sender_rows"], input["sender_rejects"],
                  input["sender_domains_not_scanned"]],
        "domains": s["domains_scanned"],
        "routes": s["routes"],
        "route_pct": s["route_pct"],
        "unanswered": s["unanswered"],
        "findings": s["findings"],
        "senders": s["senders"],
        "mail_auth": s["mail_auth"],
    })
}

/// Providers' shares agree to rounding (fractional credit summed in another order).
fn assert_same_providers(merged: &serde_json::Value, single: &serde_json::Value) {
    let (m, s) = (
        merged["providers_pct"].as_object().unwrap(),
        single["providers_pct"].as_object().unwrap(),
    );
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        s.keys().collect::<Vec<_>>(),
        "providers"
    );
    for (p, v) in s {
        let (a, b) = (m[p].as_f64().unwrap(), v.as_f64().unwrap());
        assert!((a - b).abs() < 1e-9, "{p}: {a} merged, {b} in one scan");
    }
}

/// The merged per-resolver counts are the shards' sums.
fn assert_resolver_sums(merged: &serde_json::Value, shards: &[PathBuf]) {
    let shard_summaries: Vec<serde_json::Value> = shards.iter().map(|d| summary(d)).collect();
    for r in merged["resolvers"].as_array().unwrap() {
        let of = |s: &serde_json::Value, key: &str| -> u64 {
            s["resolvers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["resolver"] == r["resolver"])
                .map(|x| x[key].as_u64().unwrap())
                .sum()
        };
        for key in ["sent", "answered", "timeouts"] {
            let sum: u64 = shard_summaries.iter().map(|s| of(s, key)).sum();
            assert_eq!(r[key].as_u64().unwrap(), sum, "{} {key}", r["resolver"]);
        }
        assert!(r["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
        assert!(r["latency_histogram"].is_string());
    }
}

/// Each line of a table file, hashed, sorted (header first): equal multisets of rows.
fn row_hashes(path: &Path) -> Vec<[u8; 16]> {
    let mut lines = BufReader::new(std::fs::File::open(path).unwrap()).split(b'\n');
    let header = lines.next().map(|l| l.unwrap()).unwrap_or_default();
    let hash = |l: &[u8]| -> [u8; 16] { blake3::hash(l).as_bytes()[..16].try_into().unwrap() };
    let mut rows: Vec<[u8; 16]> = lines.map(|l| hash(&l.unwrap())).collect();
    rows.sort_unstable();
    rows.insert(0, hash(&header));
    rows
}

/// A few lines of `a` not in `b` and of `b` not in `a` (to say what differs).
fn differing_lines(a: &Path, b: &Path) -> (Vec<String>, Vec<String>) {
    let read = |p: &Path| -> std::collections::HashSet<String> {
        BufReader::new(std::fs::File::open(p).unwrap())
            .lines()
            .map(|l| l.unwrap())
            .collect()
    };
    let (a, b) = (read(a), read(b));
    let only = |x: &std::collections::HashSet<String>, y: &std::collections::HashSet<String>| {
        x.difference(y).take(5).cloned().collect::<Vec<_>>()
    };
    (only(&a, &b), only(&b, &a))
}

#[test]
fn the_sample_world_in_three_shards_merges_into_the_plain_scan() {
    let dir = tempfile::tempdir().unwrap();
    let domains = repo_path("data/domains.txt");
    let senders = repo_path("data/senders.csv");
    let mut flags: Vec<&str> = WORLD_FLAGS.to_vec();
    flags.extend(["--checks", "all", "--senders", senders.to_str().unwrap()]);
    flags.push("--no-report");
    let (handle, list) = sample_sim(&["", ""]);
    // The single scan and the three shards at once (the sample world waits on timeouts).
    let single = dir.path().join("single");
    let shards: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("s{i}"))).collect();
    let mut runs = vec![scan_args(&list, &single, &flags, &domains)];
    for (i, out) in shards.iter().enumerate() {
        let shard = format!("{}/3", i + 1);
        let mut f = flags.clone();
        f.extend(["--shard", &shard]);
        runs.push(scan_args(&list, out, &f, &domains));
    }
    let running: Vec<_> = runs
        .into_iter()
        .map(|args| std::thread::spawn(move || run_ok(&args)))
        .collect();
    for r in running {
        r.join().unwrap();
    }
    for (i, out) in shards.iter().enumerate() {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["shard"]["index"], i + 1);
        assert_eq!(m["shard"]["count"], 3);
        assert_eq!(m["counts"]["domains"], summary(out)["input"]["domains"]);
    }
    // A retry pass works on a shard (its own domains only), and the merge takes the result.
    let mut retry = flags.clone();
    retry.extend(["--shard", "1/3", "--retry-indeterminate"]);
    run_ok(&scan_args(&list, &shards[0], &retry, &domains));
    assert_eq!(summary(&shards[0])["runs"], 2);
    assert_eq!(
        summary(&shards[0])["domains_scanned"],
        summary(&shards[0])["input"]["domains"]
    );
    // A retry pass (or a resume) must be of the same shard.
    let mut other = flags.clone();
    other.extend(["--shard", "2/3", "--retry-indeterminate"]);
    let args = scan_args(&list, &shards[0], &other, &domains);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = mxscan(&args, b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--shard: `1/3` then, `2/3` now"), "{err}");
    handle.stop().unwrap();
    // Rejects (the list's and the senders file's) are the first shard's alone.
    for (i, out) in shards.iter().enumerate() {
        let rejects = sorted_rows(&out.join("rejects.csv")).1.len();
        assert_eq!(rejects > 0, i == 0, "shard {}: {rejects} rejects", i + 1);
    }

    let merged = dir.path().join("merged");
    let (code, err) = merge(&merged, &shards);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 shards, 351 domains"), "{err}");
    for table in TABLES {
        let name = format!("{table}.csv");
        assert_eq!(
            sorted_rows(&merged.join(&name)),
            sorted_rows(&single.join(&name)),
            "{name} differs"
        );
    }
    let (m, s) = (summary(&merged), summary(&single));
    assert_eq!(exact_counts(&m), exact_counts(&s));
    assert_same_providers(&m, &s);
    assert_resolver_sums(&m, &shards);
    assert_eq!(m["shards"].as_array().unwrap().len(), 3);
    // The merge has a report that says so, and is no place for a scan.
    let page = std::fs::read_to_string(merged.join("report.html")).unwrap();
    assert!(page.contains("merged from 3 shards"), "the report's status");
    assert!(
        page.contains(&format!(">{}<", shards[2].display())),
        "the shards' table"
    );
    // (The sim is stopped: the refusal is about --out, not the resolvers.)
    let again = scan_args(&list, &merged, &["--no-resolver-check"], &domains);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let (code, _, err) = mxscan(&again, b"");
    assert_eq!(code, 2);
    assert!(err.contains("holds a merge of 3 shards"), "{err}");
}

/// A small synthetic world in `dir`, served by a sim: (domain list, resolvers, sim).
fn small_world(dir: &Path, n: u64) -> (PathBuf, String, mxscan::sim::SimHandle) {
    let world = SyntheticWorld::new(n, 3);
    let input = dir.join("domains.txt");
    world
        .write_domains(&mut std::fs::File::create(&input).unwrap())
        .unwrap();
    let (handle, list) = start_sim(Arc::new(world), &[""]);
    (input, list, handle)
}

/// What `dir` holds: each file's name and content.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn refused(out: &Path, shards: &[PathBuf], says: &str) {
    let before = contents(out);
    let (code, err) = merge(out, shards);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(says), "want `{says}` in: {err}");
    assert!(contents(out) == before, "a refused merge writes nothing");
}

#[test]
fn merge_refuses_shards_that_are_not_one_complete_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (input, list, handle) = small_world(dir.path(), 400);
    let shard = |name: &str, spec: &str, extra: &[&str]| -> PathBuf {
        let out = dir.path().join(name);
        let mut f = vec!["--no-report", "--shard", spec];
        f.extend_from_slice(extra);
        run_ok(&scan_args(&list, &out, &f, &input));
        out
    };
    let (s1, s2, s3) = (
        shard("s1", "1/3", &[]),
        shard("s2", "2/3", &[]),
        shard("s3", "3/3", &[]),
    );
    let out = dir.path().join("merged");

    refused(&out, &[s1.clone(), s3.clone()], "shard 2/3 missing");
    refused(
        &out,
        &[s1.clone(), s2.clone(), s2.clone(), s3.clone()],
        "shard 2/3 is given 2 times",
    );
    // Another input: the same names and one more.
    let other_input = dir.path().join("other.txt");
    let mut text = std::fs::read(&input).unwrap();
    text.extend_from_slice(b"extra.test\n");
    std::fs::write(&other_input, text).unwrap();
    let other = dir.path().join("other");
    run_ok(&scan_args(
        &list,
        &other,
        &["--no-report", "--shard", "2/3"],
        &other_input,
    ));
    refused(
        &out,
        &[s1.clone(), other.clone(), s3.clone()],
        "the input differs",
    );
    // Other settings.
    let checks = shard("checks", "2/3", &["--checks", "all"]);
    refused(
        &out,
        &[s1.clone(), checks, s3.clone()],
        "the setting --checks differs",
    );
    let seeded = shard("seeded", "2/3", &["--shard-seed", "5"]);
    refused(&out, &[s1.clone(), seeded, s3.clone()], "the shard seed");
    let four = shard("four", "2/4", &[]);
    refused(
        &out,
        &[s1.clone(), four, s3.clone()],
        "the shard count differs",
    );
    handle.stop().unwrap();
    // An incomplete shard: its only resolver is down, and it gives up.
    let (_socket, down) = silent_resolver();
    let stopped = dir.path().join("stopped");
    let args = scan_args(
        &down,
        &stopped,
        &[
            "--no-report",
            "--shard",
            "2/3",
            "--give-up",
            "1",
            "--no-resolver-check",
        ],
        &input,
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = mxscan(&args, b"");
    // Nothing scanned (4): it stopped, resumable, before any domain.
    assert_eq!(code, 4, "{err}");
    refused(&out, &[s1.clone(), stopped, s3.clone()], "shard 2/3 in");
    // Not a shard, and not a scan at all.
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    refused(&out, &[s1.clone(), plain, s3.clone()], "holds no scan");
    // Where the merge would write over a shard.
    refused(&s1, &[s1.clone(), s2.clone(), s3.clone()], "is a shard");
    // All of them together: the merge is made.
    let (code, err) = merge(&out, &[s3, s1, s2]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&out)["domains_scanned"], 400);
}

/// The 1M-domain synthetic world (seed 1, MX checks), scanned whole and in four shards one
/// after another against the same sim: every domain once with its scenario's route, duplicates counted,
/// answers shared; the merged shards equal the single scan row for row.
#[test]
fn four_shards_of_a_million_domains_merge_into_the_single_scan() {
    const N: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let world = SyntheticWorld::new(N, 1);
    let input = dir.path().join("domains.txt");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        world.write_domains(&mut f).unwrap();
        // Duplicates, differently written, are scanned once.
        for i in (0..N).step_by(100_003) {
            writeln!(f, "SYN{i}.TEST.").unwrap();
        }
        writeln!(f, "not a domain").unwrap();
    }
    let (handle, list) = start_sim(Arc::new(world.clone()), &["", ""]);
    let single = dir.path().join("single");
    // MX and addresses only (the sample world's test above covers mail authentication): five
    // scans of a million domains in the test profile take minutes.
    let flags = ["--no-report", "--checks", "mx"];
    run_ok(&scan_args(&list, &single, &flags, &input));
    let shards: Vec<PathBuf> = (1..=4).map(|i| dir.path().join(format!("s{i}"))).collect();
    for (i, out) in shards.iter().enumerate() {
        let spec = format!("{}/4", i + 1);
        let shard_flags = [flags.as_slice(), &["--shard", &spec]].concat();
        run_ok(&scan_args(&list, out, &shard_flags, &input));
    }
    handle.stop().unwrap();

    // The single scan: every domain once, with its scenario's route.
    let mut seen = vec![false; N as usize];
    let mut r = csv::Reader::from_path(single.join("domains.csv")).unwrap();
    let route = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "route")
        .unwrap();
    let mut wrong = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let i: u64 = rec[0]
            .strip_prefix("syn")
            .and_then(|s| s.strip_suffix(".test"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("unexpected domain {}", &rec[0]));
        assert!(!seen[i as usize], "{} written twice", &rec[0]);
        seen[i as usize] = true;
        let want = match world.scenario(i) {
            Scenario::NxDomain => "NXDOMAIN",
            Scenario::NullMx => "NULL_MX",
            Scenario::ImplicitMx => "IMPLICIT_MX",
            Scenario::NoMailRoute => "NO_MAIL_ROUTE",
            _ => "HAS_MX",
        };
        if &rec[route] != want && wrong.len() < 5 {
            wrong.push(format!("{:?}", rec));
        }
    }
    assert!(seen.iter().all(|s| *s), "every domain is in the table");
    assert!(wrong.is_empty(), "wrong routes: {wrong:?}");
    let s = summary(&single);
    assert_eq!(s["domains_scanned"], N);
    assert_eq!(s["input"]["duplicates"], N.div_ceil(100_003));
    assert_eq!(s["input"]["rejected"], 1);
    // Sharing: the providers' hosts are asked once, not once per domain.
    assert!(s["queries"]["shared"]["hits"].as_u64().unwrap() > N);

    // Each shard holds about a quarter.
    for out in &shards {
        let d = summary(out)["domains_scanned"].as_u64().unwrap();
        let share = d as f64 / N as f64;
        assert!(
            (share - 0.25).abs() < 0.25 * 0.03,
            "{}: {d} domains",
            out.display()
        );
    }
    let merged = dir.path().join("merged");
    let (code, err) = merge(&merged, &shards);
    assert_eq!(code, 0, "{err}");
    for table in TABLES {
        let name = format!("{table}.csv");
        let (a, b) = (
            row_hashes(&merged.join(&name)),
            row_hashes(&single.join(&name)),
        );
        assert_eq!(a.len(), b.len(), "{name}: rows");
        if a != b {
            panic!(
                "{name}: the merged rows differ from the single scan's: {:?}",
                differing_lines(&merged.join(&name), &single.join(&name))
            );
        }
    }
    let m = summary(&merged);
    assert_eq!(exact_counts(&m), exact_counts(&s));
    assert_same_providers(&m, &s);
    assert_resolver_sums(&m, &shards);
    // The shards asked the same questions as the single scan, the shared hosts' in several
    // shards: the union of their sketches is the single scan's sketch, and the shards' lookups
    // together are further above that floor.
    let floor = |s: &serde_json::Value, key: &str| s["queries"][key].clone();
    assert_eq!(
        floor(&m, "distinct_questions_sketch"),
        floor(&s, "distinct_questions_sketch")
    );
    // The same sketch gives the same estimate, but a run's floor never exceeds its lookups: the
    // single scan, which asks about every question once, may be capped where the shards are not.
    let (merged_floor, single_floor) = (
        floor(&m, "distinct_questions").as_u64().unwrap(),
        floor(&s, "distinct_questions").as_u64().unwrap(),
    );
    let single_lookups = floor(&s, "lookups").as_u64().unwrap();
    assert!(
        merged_floor == single_floor
            || (single_floor == single_lookups && merged_floor > single_floor),
        "merged floor {merged_floor}, single {single_floor} of {single_lookups} lookups"
    );
    let per_distinct = |x: &serde_json::Value| {
        floor(x, "lookups_per_distinct_question")
            .as_f64()
            .expect("a number")
    };
    assert!(per_distinct(&m) > per_distinct(&s));
    // The rows of a verdict table, spot-checked through a map: route counts agree.
    let routes: BTreeMap<String, u64> = serde_json::from_value(m["routes"].clone()).unwrap();
    assert_eq!(routes.values().sum::<u64>(), N);
}
