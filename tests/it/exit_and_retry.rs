//! What a script can rely on: exit statuses for each way a scan ends, clear refusals of bad
//! flags and input, and `--retry-indeterminate` turning a damaged scan into a clean one, even
//! when it is killed mid-pass.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{WORLD_FLAGS, free_port, mxscan, sorted_rows, start_sim, summary};
use mxscan::sim::SyntheticWorld;

/// A synthetic world of `n` domains and its domain list in `dir`.
fn world(n: u64, dir: &Path) -> (SyntheticWorld, String) {
    let world = SyntheticWorld::new(n, 7);
    let input = dir.join("domains.txt");
    let mut f = std::fs::File::create(&input).unwrap();
    world.write_domains(&mut f).unwrap();
    (world, input.to_str().unwrap().to_string())
}

/// `mxscan scan -r RESOLVERS -o OUT FLAGS… EXTRA… INPUT`: (exit status, stderr).
fn scan(resolvers: &str, out: &Path, extra: &[&str], input: &str) -> (i32, String) {
    let mut args = vec!["scan", "-r", resolvers, "-o", out.to_str().unwrap()];
    args.extend_from_slice(&WORLD_FLAGS);
    args.extend_from_slice(extra);
    args.push(input);
    let (code, _, err) = mxscan(&args, b"");
    (code, err)
}

/// The four tables of a scan, each sorted.
fn tables(out: &Path) -> Vec<(Vec<String>, Vec<Vec<String>>)> {
    ["domains", "records", "findings", "senders"]
        .iter()
        .map(|t| sorted_rows(&out.join(format!("{t}.csv"))))
        .collect()
}

#[test]
fn exit_statuses_say_how_the_scan_ended() {
    let dir = tempfile::tempdir().unwrap();
    let (w, input) = world(1_000, dir.path());
    let (sim, list) = start_sim(Arc::new(w.clone()), &["", "loss=80"]);
    let addrs: Vec<&str> = list.split(',').collect();

    // Complete: 0.
    let (code, err) = scan(addrs[0], &dir.path().join("ok"), &[], &input);
    assert_eq!(code, 0, "{err}");

    // Too many domains without any answer: 3, with the count and the command that asks again.
    let lossy = dir.path().join("lossy");
    // One attempt and a short deadline: an unanswered lookup waits 3 s, not the default 15.
    // (80 % loss could lose the check's question too: it is not what this asserts.)
    let (code, err) = scan(
        addrs[1],
        &lossy,
        &["--attempts", "1", "--deadline", "3", "--no-resolver-check"],
        &input,
    );
    assert_eq!(code, 3, "{err}");
    let unanswered = summary(&lossy)["unanswered"].as_u64().unwrap();
    assert!(unanswered > 10, "{unanswered}");
    assert!(
        err.contains(&format!("{unanswered} of 1000 domains"))
            && err.contains("--retry-indeterminate"),
        "{err}"
    );
    // … unless the threshold allows it.
    let (code, err) = scan(
        addrs[1],
        &dir.path().join("lossy2"),
        &[
            "--attempts",
            "1",
            "--deadline",
            "3",
            "--max-unanswered",
            "100",
            "--no-resolver-check",
        ],
        &input,
    );
    assert_eq!(code, 0, "{err}");

    // Every line rejected: 4.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "not a domain\n-bad-.test\n").unwrap();
    let (code, err) = scan(
        addrs[0],
        &dir.path().join("junk"),
        &[],
        junk.to_str().unwrap(),
    );
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("every one of the 2 records was rejected"),
        "{err}"
    );

    // Usage errors: 2.
    for (flag, value, message) in [
        ("--window", "0", "--window must be at least 1"),
        ("--per-resolver", "0", "--per-resolver must be at least 1"),
        (
            "--max-unanswered",
            "101",
            "--max-unanswered must be a percentage",
        ),
    ] {
        let (code, err) = scan(addrs[0], &dir.path().join("usage"), &[flag, value], &input);
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(err.contains(message), "{err}");
    }
    sim.stop().unwrap();
}

#[test]
fn a_resolver_that_never_answers_ends_in_status_4_and_one_that_dies_in_5() {
    let dir = tempfile::tempdir().unwrap();
    let (w, input) = world(3_000, dir.path());

    // Nothing listens there: the check before the run says so at once, and nothing starts.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let out = dir.path().join("nowhere");
    let (code, err) = scan(&nowhere, &out, &[], &input);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains(&nowhere) && err.contains("nothing answers"),
        "{err}"
    );
    assert!(!out.exists());
    // Without the check, the scan waits, probes, then stops; nothing was measured.
    let (code, err) = scan(
        &nowhere,
        &out,
        &["--give-up", "1", "--no-resolver-check"],
        &input,
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("every resolver is down"), "{err}");
    assert!(err.contains("no resolver has answered at all"), "{err}");
    assert_eq!(summary(&out)["domains_scanned"], 0, "no domain burnt");

    // It answers, then dies for good: the scan waits, gives up like a SIGINT (5), resumable.
    let (sim, list) = start_sim(Arc::new(w.clone()), &["die-after-queries=2000"]);
    let out = dir.path().join("dies");
    let (code, err) = scan(&list, &out, &["--give-up", "2"], &input);
    sim.stop().unwrap();
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("--resume"), "{err}");
    let s = summary(&out);
    assert_eq!(
        (s["interrupted"].as_bool(), s["gave_up"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(s["routes"]["INDETERMINATE"], 0, "waiting is not failing");
    let written = s["domains_scanned"].as_u64().unwrap();
    assert!(written > 0 && written < 3_000, "{written}");

    // Resumed with a healthy resolver: every domain once, none unmeasured.
    let (sim, list) = start_sim(Arc::new(w), &[""]);
    let (code, err) = scan(&list, &out, &["--resume"], &input);
    sim.stop().unwrap();
    assert_eq!(code, 0, "{err}");
    let s = summary(&out);
    assert_eq!(
        (s["domains_scanned"].as_u64(), s["unanswered"].as_u64()),
        (Some(3_000), Some(0))
    );
    assert_eq!(tables(&out)[0].1.len(), 3_000);
}

#[test]
fn bad_flags_and_input_get_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (w, input) = world(200, dir.path());
    let (sim, list) = start_sim(Arc::new(w), &[""]);
    let out = |name: &str| dir.path().join(name);
    let refused = |resolvers: &str, extra: &[&str], input: &str, message: &str| {
        let (code, err) = scan(resolvers, &out("refused"), extra, input);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(
            err.contains(message),
            "{extra:?}: want `{message}` in {err}"
        );
    };
    refused(
        "no/such/resolvers.txt",
        &[],
        &input,
        "`no/such/resolvers.txt`: no such file",
    );
    refused("127.0.0.2:0", &[], &input, "port 0");
    let weights = dir.path().join("w.csv");
    std::fs::write(&weights, "PTR_MISSING,1\nPTR_MISING,2\n").unwrap();
    refused(
        &list,
        &["--weights", weights.to_str().unwrap()],
        &input,
        "`PTR_MISING` is not a finding code",
    );
    let header = dir.path().join("header.csv");
    std::fs::write(&header, "name,rank\nsyn1.test,1\n").unwrap();
    refused(&list, &[], header.to_str().unwrap(), "no `domain` column");

    // A resolver listed twice is asked once, with a warning.
    let twice = format!("{list},{list}");
    let (code, err) = scan(&twice, &out("twice"), &[], &input);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("listed twice"), "{err}");
    assert_eq!(
        summary(&out("twice"))["resolvers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A ranked list (Tranco style) is read as such, its rank passed through.
    let ranked = dir.path().join("ranked.csv");
    std::fs::write(&ranked, "1,syn1.test\n2,syn2.test\n3,=cmd|' /C calc'!A0\n").unwrap();
    let (code, err) = scan(&list, &out("ranked"), &[], ranked.to_str().unwrap());
    assert_eq!(code, 0, "{err}");
    let (header, rows) = sorted_rows(&out("ranked").join("domains.csv"));
    assert_eq!(header.last().map(String::as_str), Some("rank"));
    assert_eq!(rows.len(), 2);
    // The hostile line is a reject, written so that a spreadsheet does not run it.
    let (_, rejects) = sorted_rows(&out("ranked").join("rejects.csv"));
    assert_eq!(rejects.len(), 1);
    assert!(
        rejects[0][2].starts_with("'3,=cmd") || rejects[0][2].starts_with("3,"),
        "{rejects:?}"
    );

    // A very long line is cut in the rejects, with its length.
    let long = dir.path().join("long.txt");
    std::fs::write(&long, format!("syn1.test\n=1+1\n{}\n", "x".repeat(200_000))).unwrap();
    let (code, err) = scan(&list, &out("long"), &[], long.to_str().unwrap());
    assert_eq!(code, 0, "{err}");
    let (_, rejects) = sorted_rows(&out("long").join("rejects.csv"));
    assert_eq!(rejects[0][2], "'=1+1", "never a formula");
    assert!(rejects[1][2].len() < 600 && rejects[1][2].ends_with("(200000 bytes in all)"));

    // A completed scan is not overwritten by accident; --force replaces it, tables of the
    // other format included.
    let (code, _) = scan(&list, &out("done"), &["--format", "jsonl"], &input);
    assert_eq!(code, 0);
    let (code, err) = scan(&list, &out("done"), &[], &input);
    assert_eq!(code, 2);
    assert!(
        err.contains("holds a completed scan") && err.contains("--force"),
        "{err}"
    );
    let (code, err) = scan(&list, &out("done"), &["--force"], &input);
    assert_eq!(code, 0, "{err}");
    assert!(out("done").join("domains.csv").is_file());
    assert!(
        !out("done").join("domains.jsonl").exists(),
        "the old format's tables went"
    );
    sim.stop().unwrap();
}

#[test]
fn a_retry_pass_turns_a_damaged_scan_into_a_clean_one_even_when_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (w, input) = world(5_000, dir.path());
    let (sim, list) = start_sim(Arc::new(w), &["", "loss=70", "latency=300ms"]);
    let addrs: Vec<&str> = list.split(',').collect();
    let (good, lossy, slow) = (addrs[0], addrs[1], addrs[2]);
    let clean = dir.path().join("clean");
    assert_eq!(scan(good, &clean, &[], &input).0, 0);

    // A damaged scan: one attempt per lookup into a resolver that loses most of them.
    let out = dir.path().join("out");
    let (code, err) = scan(
        lossy,
        &out,
        &[
            "--attempts",
            "1",
            "--deadline",
            "3",
            "--max-unanswered",
            "100",
            "--no-resolver-check",
        ],
        &input,
    );
    assert_eq!(code, 0, "{err}");
    assert!(summary(&out)["routes"]["INDETERMINATE"].as_u64().unwrap() > 100);
    let damaged = tables(&out);
    assert_ne!(damaged, tables(&clean));

    // A retry pass through a slow resolver, killed with -9 half-way: nothing has changed.
    let mut args = vec![
        "scan",
        "--retry-indeterminate",
        "-r",
        slow,
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&WORLD_FLAGS);
    args.extend_from_slice(&["--per-resolver", "200"]);
    args.push(&input);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the pass has written some of its tables (the slow resolver keeps it going).
    crate::common::wait_for_bytes(&out.join(".retry").join("domains.csv"));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the pass ended before the kill"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.join(".retry").is_dir(), "killed mid-pass");
    assert_eq!(tables(&out), damaged, "a killed pass changes nothing");

    // Run again through a good resolver: the tables equal the clean scan's, row for row.
    let (code, err) = scan(good, &out, &["--retry-indeterminate"], &input);
    assert_eq!(code, 0, "{err}");
    assert!(!out.join(".retry").exists());
    assert_eq!(tables(&out), tables(&clean));
    let (s, c) = (summary(&out), summary(&clean));
    for key in [
        "routes",
        "findings",
        "senders",
        "mail_auth",
        "domains_scanned",
        "unanswered",
    ] {
        assert_eq!(s[key], c[key], "{key}");
    }
    assert_eq!(s["runs"], 2, "the killed pass never committed");
    // The journal vouches for the new tables: a resume says the scan is complete.
    let (code, err) = scan(good, &out, &["--resume"], &input);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already complete"), "{err}");
    let (code, err) = scan(good, &out, &["--retry-indeterminate"], &input);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing to ask again"), "{err}");
    sim.stop().unwrap();
}

#[test]
fn ctrl_c_during_an_outage_stops_at_once_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let (_, input) = world(500, dir.path());
    let out = dir.path().join("out");
    let nowhere = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["scan", "-r", &nowhere, "-o", out.to_str().unwrap()];
    args.extend_from_slice(&WORLD_FLAGS);
    // The farm may come back: the scan starts and waits.
    args.extend_from_slice(&["--no-resolver-check", &input]);
    let child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Down after 3 s of silence; then the scan waits (for up to 60 s here).
    std::thread::sleep(Duration::from_millis(4_500));
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let started = std::time::Instant::now();
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped at once"
    );
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(
        err.contains("every resolver is down") && err.contains("--resume"),
        "{err}"
    );
}
