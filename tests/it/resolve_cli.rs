//! `mxscan resolve` and `mxscan bench` end to end: the built binary against `mxscan sim`.

use std::process::Command;

use crate::common::sample_sim;

fn mxscan(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A child that fails early (bad flags) never reads its input: a broken pipe is fine here.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn resolve_writes_one_row_per_record_of_each_name_and_type() {
    let (sim, list) = sample_sim(&["", "loss=20"]);
    let input = "shop1.test\n# a comment\n\ngone-away.test\nno-route.test\nbig-mx.test\ntarget-cname.test\n";
    let (ok, out, err) = mxscan(
        &[
            "resolve",
            "-r",
            &list,
            "-t",
            "MX",
            "-t",
            "A",
            "--timeout",
            "200",
        ],
        input,
    );
    assert!(ok, "{err}");
    let mut rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows.remove(0),
        "name,type,status,answers,resolver,attempts,rtt_ms"
    );
    // One row per record (CSV): big-mx.test's ten MX, shop1.test's two, at least one each for
    // the other lookups.
    assert!(rows.len() >= 20, "{}", rows.len());
    let find = |name: &str, t: &str| {
        rows.iter()
            .filter(|r| r.starts_with(&format!("{name},{t},")))
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let shop = find("shop1.test", "MX");
    assert!(shop.contains(",NOERROR,10 mx1.bigmail.test.,"), "{shop}");
    assert!(shop.contains(",NOERROR,20 mx2.bigmail.test.,"), "{shop}");
    assert!(find("gone-away.test", "MX").contains(",NXDOMAIN,,"));
    assert!(find("no-route.test", "MX").contains(",NODATA,,"));
    assert!(find("shop1.test", "A").contains(",NODATA,,"));
    assert_eq!(
        find("big-mx.test", "MX").matches(" aaaa").count(),
        10,
        "the truncated answer came whole over TCP"
    );
    sim.stop().unwrap();
}

#[test]
fn resolve_ptr_takes_ips_and_reports_them_and_jsonl_works() {
    let (sim, list) = sample_sim(&[""]);
    let (ok, out, err) = mxscan(
        &["resolve", "-r", &list, "-t", "PTR", "--format", "jsonl"],
        "198.18.1.10\n2001:db8:1::10\n198.19.20.1\n",
    );
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let by_name = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(
        by_name("198.18.1.10")["answers"][0],
        "mail-1.bm-infra.test."
    );
    assert_eq!(
        by_name("2001:db8:1::10")["answers"][0],
        "mail-1.bm-infra.test."
    );
    assert_eq!(by_name("198.19.20.1")["status"], "NXDOMAIN");
    sim.stop().unwrap();
}

#[test]
fn resolve_without_resolvers_says_how_to_give_them() {
    let (ok, _, err) = mxscan(&["resolve", "-t", "MX"], "example.test\n");
    assert!(!ok);
    assert!(
        err.contains("-r 127.0.0.1:5300") && err.contains("never reads /etc/resolv.conf"),
        "{err}"
    );
    let (ok, _, err) = mxscan(
        &["resolve", "-r", "not-an-address", "-t", "MX"],
        "example.test\n",
    );
    assert!(!ok);
    assert!(err.contains("IP:PORT"), "{err}");
}

#[test]
fn bench_reports_per_resolver_loss_latency_and_rcodes() {
    let (sim, list) = sample_sim(&["", "loss=30,latency=5ms"]);
    let names: String = (1..=150).map(|i| format!("shop{i}.test\n")).collect();
    let (ok, out, err) = mxscan(
        &[
            "bench",
            "-r",
            &list,
            "-t",
            "MX",
            "--format",
            "json",
            "--timeout",
            "100",
        ],
        &names,
    );
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["lookups"], 150);
    assert_eq!(report["lost"], 0);
    assert_eq!(report["statuses"]["NOERROR"], 150);
    let lossy = &report["resolvers"][1];
    let loss = lossy["loss_pct"].as_f64().unwrap();
    assert!(loss > 10.0 && loss < 50.0, "loss {loss}");
    assert!(lossy["latency_ms"]["p50"].as_f64().unwrap() >= 5.0);
    assert_eq!(report["resolvers"][0]["loss_pct"], 0.0);
    let (ok, text, _) = mxscan(&["bench", "-r", &list, "-t", "MX"], &names);
    assert!(ok);
    assert!(
        text.contains("Queries per second:") && text.contains("Per resolver:"),
        "{text}"
    );
    sim.stop().unwrap();
}

#[test]
fn bench_duration_and_qps_bound_the_run() {
    let (sim, list) = sample_sim(&["", ""]);
    let names: String = (1..=150).map(|i| format!("shop{i}.test\n")).collect();
    let started = std::time::Instant::now();
    let (ok, out, err) = mxscan(
        &[
            "bench",
            "-r",
            &list,
            "-t",
            "MX",
            "--qps",
            "2000",
            "--duration",
            "1.5",
            "--format",
            "json",
        ],
        &names,
    );
    let elapsed = started.elapsed().as_secs_f64();
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lookups = report["lookups"].as_f64().unwrap();
    let run_time = report["run_time_s"].as_f64().unwrap();
    // 2000 per second (the limit), cycling over 150 names, for about the 1.5 s asked.
    let rate = lookups / run_time;
    assert!(
        (rate - 2_000.0).abs() / 2_000.0 < 0.05,
        "{lookups} lookups in {run_time:.2} s"
    );
    assert!(
        (1.2..=1.8).contains(&run_time),
        "the run ends at its duration: {run_time:.2} s"
    );
    assert!(elapsed < 4.0, "the process stops by itself: {elapsed:.1} s");
    sim.stop().unwrap();
}

#[test]
fn resolve_asks_idn_as_a_labels_and_turns_a_non_utf8_line_into_a_badname_row() {
    let (sim, list) = sample_sim(&[""]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("names.txt");
    std::fs::write(&input, b"B\xc3\xbccher.test\n\xff\xfe.test\nshop1.test\n").unwrap();
    let (ok, out, err) = mxscan(
        &["resolve", "-r", &list, "-t", "MX", input.to_str().unwrap()],
        "",
    );
    sim.stop().unwrap();
    assert!(ok, "a bad line does not end the run: {err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    // Bücher and shop1 have two MX records each: a row each.
    assert_eq!(rows.len(), 5, "{out}");
    assert!(
        rows.iter().any(|r| r.starts_with("xn--bcher-kva.test,MX,")),
        "{out}"
    );
    assert!(rows.iter().any(|r| r.contains(",BADNAME,")), "{out}");
    assert!(
        rows.iter().any(|r| r.starts_with("shop1.test,MX,NOERROR")),
        "{out}"
    );
}
