//! `mxscan scan` and `mxscan demo` end to end: the built binary against `mxscan sim` and the
//! real farm (Unbound + NSD).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::common::{
    Farm, WORLD_FLAGS, mxscan, repo_path, sample_sim, sorted_rows, start_sim, summary,
};
use mxscan::pipeline::auth::Checks;
use mxscan::sim::SyntheticWorld;

fn scan(resolvers: &str, out: &Path, extra: &[&str], input: &str, stdin: &[u8]) -> String {
    let mut args = vec!["scan", "-r", resolvers, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(input);
    let (code, _, err) = mxscan(&args, stdin);
    assert_eq!(code, 0, "mxscan scan failed: {err}");
    err
}

fn column<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header.iter().position(|h| h == name).unwrap();
    &row[i]
}

#[test]
fn sample_world_gives_identical_tables_from_the_sim_and_the_real_farm() {
    let dir = tempfile::tempdir().unwrap();
    let (sim_out, farm_out) = (dir.path().join("sim"), dir.path().join("farm"));
    let domains = repo_path("data/domains.txt");
    let senders = repo_path("data/senders.csv");
    let args = [
        "--senders",
        senders.to_str().unwrap(),
        "--allow-special-use",
        "--public-range",
        "198.18.0.0/15",
        "--public-range",
        "2001:db8::/32",
        "--checks",
        "all",
    ];
    let (handle, list) = sample_sim(&["", ""]);
    scan(&list, &sim_out, &args, domains.to_str().unwrap(), b"");
    handle.stop().unwrap();
    let farm = Farm::start(2);
    let farm_list = farm.list();
    scan(&farm_list, &farm_out, &args, domains.to_str().unwrap(), b"");
    drop(farm);

    for table in [
        "domains.csv",
        "records.csv",
        "findings.csv",
        "senders.csv",
        "rejects.csv",
    ] {
        let a = sorted_rows(&sim_out.join(table));
        let b = sorted_rows(&farm_out.join(table));
        assert_eq!(a.0, b.0, "{table} header");
        for (x, y) in a.1.iter().zip(&b.1) {
            assert_eq!(x, y, "{table}: sim vs farm");
        }
        assert_eq!(a.1.len(), b.1.len(), "{table} rows");
    }

    // findings.csv is exactly the expected file: nothing missing, nothing extra.
    let key = |path: &Path| -> Vec<Vec<String>> {
        let (h, rows) = sorted_rows(path);
        let mut v: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                ["domain", "code", "severity", "subject"]
                    .iter()
                    .map(|c| column(&h, r, c).to_string())
                    .collect()
            })
            .collect();
        v.sort();
        v
    };
    let expected = key(&repo_path("data/expected-findings.csv"));
    let got = key(&sim_out.join("findings.csv"));
    let missing: Vec<_> = expected.iter().filter(|e| !got.contains(e)).collect();
    let extra: Vec<_> = got.iter().filter(|g| !expected.contains(g)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    // Row for row, duplicates included (both sorted).
    assert_eq!(got, expected);
    assert_eq!(got.len(), 558, "the scan's own rows");

    // And the tables say what the world holds.
    let (h, rows) = sorted_rows(&sim_out.join("domains.csv"));
    assert_eq!(rows.len(), 351);
    let by_domain: BTreeMap<&str, &Vec<String>> = rows.iter().map(|r| (r[0].as_str(), r)).collect();
    for (domain, route) in [
        ("shop1.test", "HAS_MX"),
        ("xn--bcher-kva.test", "HAS_MX"),
        ("gone-away.test", "NXDOMAIN"),
        ("null-mx.test", "NULL_MX"),
        ("implicit-ok.test", "IMPLICIT_MX"),
        ("no-route.test", "NO_MAIL_ROUTE"),
        ("loop-a.test", "NO_MAIL_ROUTE"),
        ("servfail-dns.test", "INDETERMINATE"),
        ("timeout-dns.test", "INDETERMINATE"),
        ("refused-dns.test", "INDETERMINATE"),
    ] {
        assert_eq!(column(&h, by_domain[domain], "route"), route, "{domain}");
    }
    assert_eq!(
        column(&h, by_domain["loop-a.test"], "cname_chain"),
        "loop-b.test;loop-a.test"
    );
    assert_eq!(column(&h, by_domain["big-mx.test"], "mx_count"), "10");
    let (h, records) = sorted_rows(&sim_out.join("records.csv"));
    let iprev = |address: &str| {
        records
            .iter()
            .find(|r| column(&h, r, "address") == address)
            .map(|r| column(&h, r, "iprev").to_string())
    };
    assert_eq!(iprev("198.19.20.1").as_deref(), Some("permerror"));
    assert_eq!(iprev("198.19.22.1").as_deref(), Some("fail"));
    assert_eq!(iprev("198.19.24.1").as_deref(), Some("temperror"));
    assert_eq!(iprev("198.18.1.10").as_deref(), Some("pass"));
    let (_, rejects) = sorted_rows(&sim_out.join("rejects.csv"));
    assert_eq!(rejects.len(), 7, "six malformed domains and one sender row");
    let s = summary(&sim_out);
    assert_eq!(s["input"]["duplicates"], 3);
    assert_eq!(s["queries"]["tcp_fallbacks"], 1, "big-mx.test over TCP");

    // The mail-authentication columns and survey figures.
    let (h, _) = sorted_rows(&sim_out.join("domains.csv"));
    let row = |d: &str, c: &str| column(&h, by_domain[d], c).to_string();
    for (domain, col, want) in [
        ("auth-ok.test", "spf", "valid"),
        ("auth-ok.test", "spf_all", "fail"),
        ("auth-ok.test", "spf_mx_pass", "true"),
        ("auth-ok.test", "dmarc_policy", "reject"),
        ("auth-ok.test", "mta_sts", "valid"),
        ("auth-ok.test", "tls_rpt", "valid"),
        ("auth-ok.test", "tlsa", "all"),
        ("shop1.test", "spf_lookups", "3"),
        (
            "shop1.test",
            "spf_record",
            "v=spf1 include:_spf.bigmail.test -all",
        ),
        ("spf-lookups.test", "spf", "permerror"),
        ("spf-mx-not-authorised.test", "spf_mx_pass", "false"),
        ("mail.dmarc-walk.test", "dmarc_at", "_dmarc.dmarc-walk.test"),
        ("mail.dmarc-walk.test", "dmarc_policy", "none"),
        ("tlsa-partial.test", "tlsa", "some"),
        ("timeout-dns.test", "spf", "temperror"),
        ("club1.test", "dmarc", "none"),
    ] {
        assert_eq!(row(domain, col), want, "{domain} {col}");
    }
    let (sh, senders) = sorted_rows(&sim_out.join("senders.csv"));
    let spf_of = |ip: &str| {
        let r = senders.iter().find(|r| column(&sh, r, "ip") == ip).unwrap();
        (
            column(&sh, r, "spf").to_string(),
            column(&sh, r, "verdict").to_string(),
        )
    };
    assert_eq!(
        spf_of("198.19.43.1"),
        ("pass".into(), "at_risk".into()),
        "multi-WAN gap, SPF pass"
    );
    assert_eq!(spf_of("198.19.161.1"), ("fail".into(), "fail".into()));
    assert_eq!(
        spf_of("198.19.163.1"),
        ("softfail".into(), "at_risk".into())
    );
    let spf = &s["mail_auth"]["spf"];
    assert_eq!(spf["states"]["permerror"], 6);
    assert_eq!(spf["errors"]["SPF_LOOP"], 1);
    assert_eq!(s["mail_auth"]["dmarc"]["policy"]["quarantine"], 61);
    assert_eq!(s["mail_auth"]["tlsa"]["states"]["some"], 1);
    // 140 shops share BigMail's three SPF records: each asked once, the other askers served
    // from the cache or joining the lookup in flight.
    let shared = &s["queries"]["shared"];
    let served = shared["hits"].as_u64().unwrap() + shared["joined"].as_u64().unwrap();
    assert!(served > 3 * 139, "{shared}");
}

#[test]
fn input_edge_cases_bom_crlf_idn_duplicates_rejects_stdin_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, list) = sample_sim(&["", ""]);
    let text = "\u{feff}shop1.test\r\n# comment\r\n\r\nBÜCHER.test.\r\nSHOP1.TEST\r\nbad..name\r\nhttp://x.test/\r\nnull-mx.test\r\n";
    let file = dir.path().join("in.txt");
    std::fs::write(&file, text).unwrap();

    let from_file = dir.path().join("file");
    scan(&list, &from_file, &[], file.to_str().unwrap(), b"");
    let (h, rows) = sorted_rows(&from_file.join("domains.csv"));
    let names: Vec<&str> = rows.iter().map(|r| column(&h, r, "domain")).collect();
    assert_eq!(names, ["null-mx.test", "shop1.test", "xn--bcher-kva.test"]);
    let lines: Vec<&str> = rows.iter().map(|r| column(&h, r, "line")).collect();
    assert_eq!(lines, ["8", "1", "4"]);
    let (_, rejects) = sorted_rows(&from_file.join("rejects.csv"));
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0][..3], ["domains", "6", "bad..name"]);
    assert_eq!(rejects[1][..3], ["domains", "7", "http://x.test/"]);

    // The same list on stdin gives the same tables, and the spool is removed at the end.
    let from_stdin = dir.path().join("stdin");
    scan(&list, &from_stdin, &[], "-", text.as_bytes());
    for table in ["domains.csv", "records.csv", "rejects.csv"] {
        assert_eq!(
            sorted_rows(&from_file.join(table)),
            sorted_rows(&from_stdin.join(table)),
            "{table}"
        );
    }
    assert!(!from_stdin.join("input.stdin").exists());

    // An empty input: exit 4 (nothing scanned), headers only, and a summary that says so.
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let empty_out = dir.path().join("empty");
    let (code, _, err) = mxscan(
        &[
            "scan",
            "-r",
            &list,
            "-o",
            empty_out.to_str().unwrap(),
            empty.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("0 domains") && err.contains("holds no domain"),
        "{err}"
    );
    assert!(sorted_rows(&empty_out.join("domains.csv")).1.is_empty());
    assert_eq!(summary(&empty_out)["domains_scanned"], 0);
    handle.stop().unwrap();
}

#[test]
fn csv_input_passes_columns_through_and_jsonl_works() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, list) = sample_sim(&["", ""]);
    let file = dir.path().join("in.csv");
    std::fs::write(
        &file,
        "rank,domain,note\n1,shop1.test,\"big, shop\"\n2,implicit-ok.test,x\n3,,empty\n",
    )
    .unwrap();
    let out = dir.path().join("csv");
    scan(&list, &out, &[], file.to_str().unwrap(), b"");
    let (h, rows) = sorted_rows(&out.join("domains.csv"));
    assert_eq!(h[h.len() - 2..], ["rank", "note"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(column(&h, &rows[1], "note"), "big, shop");
    assert_eq!(column(&h, &rows[0], "route"), "IMPLICIT_MX");
    let (_, rejects) = sorted_rows(&out.join("rejects.csv"));
    assert_eq!(rejects.len(), 1, "the row without a domain");

    let out = dir.path().join("jsonl");
    scan(
        &list,
        &out,
        &["--format", "jsonl"],
        file.to_str().unwrap(),
        b"",
    );
    let text = std::fs::read_to_string(out.join("domains.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    let shop = rows.iter().find(|r| r["domain"] == "shop1.test").unwrap();
    assert_eq!(shop["input"]["note"], "big, shop");
    // Lists of parts as objects, the keys in the CSV's column order.
    assert_eq!(
        shop["exchanges"][0],
        serde_json::json!({"preference": 10, "host": "mx1.bigmail.test"})
    );
    let keys: Vec<&str> = shop
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let csv_header = std::fs::read_to_string(dir.path().join("csv").join("domains.csv")).unwrap();
    let columns: Vec<&str> = csv_header.lines().next().unwrap().split(',').collect();
    // The CSV ends in the pass-through `rank,note`, the JSON in their `input` object.
    assert_eq!(keys[..keys.len() - 1], columns[..columns.len() - 2]);
    assert_eq!(keys.last(), Some(&"input"));
    assert!(out.join("records.jsonl").exists() && out.join("rejects.jsonl").exists());
    handle.stop().unwrap();
}

#[test]
fn synthetic_world_findings_match_its_ground_truth() {
    const N: u64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let world = SyntheticWorld::new(N, 9);
    let input = dir.path().join("domains.txt");
    let mut f = std::fs::File::create(&input).unwrap();
    world.write_domains(&mut f).unwrap();
    drop(f);
    let (handle, list) = start_sim(Arc::new(world.clone()), &["", ""]);
    let out = dir.path().join("out");
    let flags = [WORLD_FLAGS.as_slice(), &["--checks", "all"]].concat();
    scan(&list, &out, &flags, input.to_str().unwrap(), b"");
    handle.stop().unwrap();
    // Every row checked on its own (unique, a severity its code's grade allows), then each
    // domain's codes against the world's truth.
    let mut got: BTreeMap<String, Vec<String>> =
        crate::common::finding_rows(&out.join("findings.csv"))
            .into_iter()
            .map(|(domain, rows)| (domain, rows.into_iter().map(|(code, ..)| code).collect()))
            .collect();
    let mut wrong = Vec::new();
    for i in 0..N {
        let domain = SyntheticWorld::domain(i);
        let (scenario, want) = world.truth(i, Checks::ALL);
        let want: Vec<&str> = want.iter().map(|c| c.name()).collect();
        let mut have = got.remove(&domain).unwrap_or_default();
        have.sort();
        have.dedup();
        if have != want {
            wrong.push(format!(
                "{domain} ({}): want {want:?}, got {have:?}",
                scenario.name()
            ));
        }
    }
    assert!(got.is_empty(), "findings for unknown domains");
    assert!(
        wrong.is_empty(),
        "{} domains differ, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

#[test]
fn demo_scans_the_embedded_sample_world() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let (code, stdout, stderr) = mxscan(&["demo", "-o", out.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Results in"), "{stdout}");
    assert!(stderr.contains("351 domains"), "{stderr}");
    assert_eq!(sorted_rows(&out.join("domains.csv")).1.len(), 351);
    assert!(out.join("input/domains.txt").exists());
    assert_eq!(summary(&out)["domains_scanned"], 351);
    // The demo runs with the sample world's flags and every check: its findings are the
    // expected ones.
    assert_eq!(sorted_rows(&out.join("findings.csv")).1.len(), 558);
}

#[test]
fn the_questions_log_holds_every_question_sent_once_per_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let world = SyntheticWorld::new(5_000, 4);
    let input = dir.path().join("domains.txt");
    world
        .write_domains(&mut std::fs::File::create(&input).unwrap())
        .unwrap();
    let (handle, list) = start_sim(Arc::new(world), &[""]);
    // The default cache, then one too small to keep the shared hosts: questions repeat, and
    // the summary's floor (an estimate) must say by how much.
    for cache in ["16MiB", "8KiB"] {
        let out = dir.path().join(format!("out-{cache}"));
        let log = dir.path().join(format!("questions-{cache}.txt"));
        scan(
            &list,
            &out,
            &[
                "--no-report",
                "--cache",
                cache,
                "--questions-log",
                log.to_str().unwrap(),
            ],
            input.to_str().unwrap(),
            b"",
        );
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let queries = &summary(&out)["queries"];
        assert_eq!(
            lines.len() as u64,
            queries["lookups"].as_u64().unwrap(),
            "one line per lookup sent"
        );
        for line in &lines {
            let (name, qtype) = line.split_once(' ').unwrap();
            assert!(!name.is_empty() && !name.contains(' '), "{line}");
            assert!(
                ["MX", "A", "AAAA", "PTR", "TXT", "CNAME", "TLSA"].contains(&qtype),
                "{line}"
            );
        }
        assert!(lines.contains(&"syn0.test. MX"));
        let distinct: std::collections::HashSet<&str> = lines.iter().copied().collect();
        let (exact, ratio) = (
            distinct.len() as f64,
            lines.len() as f64 / distinct.len() as f64,
        );
        let estimated = queries["distinct_questions"].as_f64().unwrap();
        let estimated_ratio = queries["lookups_per_distinct_question"].as_f64().unwrap();
        assert!(
            (estimated - exact).abs() / exact < 0.01,
            "--cache {cache}: estimated {estimated} distinct questions, {exact} in the log"
        );
        assert!(
            (estimated_ratio - ratio).abs() / ratio < 0.01,
            "--cache {cache}: ratio {estimated_ratio} vs {ratio}"
        );
        if cache == "8KiB" {
            assert!(ratio > 1.02, "a cache of some 50 answers re-asks: {ratio}");
        } else {
            // Sharing sends each question once while it is cached: few repeat here.
            assert!(ratio < 1.01, "{ratio}");
        }
    }
    handle.stop().unwrap();
}

/// Every sender verdict of a synthetic scan follows from its score and reasons by the one
/// rule docs/findings.md states, and names the finding that decided it. The senders: for each
/// domain, the addresses of its mail hosts and of the next domain's (a sender at another
/// domain's provider: a multi-WAN gap), as a first scan found them.
#[test]
fn sender_verdicts_agree_with_their_scores_on_every_row() {
    const N: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let world = SyntheticWorld::new(N, 11);
    let input = dir.path().join("domains.txt");
    world
        .write_domains(&mut std::fs::File::create(&input).unwrap())
        .unwrap();
    let (handle, list) = start_sim(Arc::new(world), &[""]);
    let first = dir.path().join("first");
    scan(&list, &first, &WORLD_FLAGS, input.to_str().unwrap(), b"");
    let (h, records) = sorted_rows(&first.join("records.csv"));
    let mut addresses: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &records {
        let ip = column(&h, r, "address");
        if !ip.is_empty() {
            addresses
                .entry(column(&h, r, "domain"))
                .or_default()
                .push(ip);
        }
    }
    let domains: Vec<&str> = addresses.keys().copied().collect();
    let mut senders = String::from("domain,ip\n");
    for (i, d) in domains.iter().enumerate() {
        let next = domains[(i + 1) % domains.len()];
        for ip in addresses[d].iter().chain(&addresses[next]).take(3) {
            senders.push_str(&format!("{d},{ip}\n"));
        }
    }
    let senders_csv = dir.path().join("senders.csv");
    std::fs::write(&senders_csv, senders).unwrap();
    let out = dir.path().join("out");
    let flags = [
        WORLD_FLAGS.as_slice(),
        &[
            "--checks",
            "all",
            "--senders",
            senders_csv.to_str().unwrap(),
        ],
    ]
    .concat();
    scan(&list, &out, &flags, input.to_str().unwrap(), b"");
    handle.stop().unwrap();

    let (fh, findings) = sorted_rows(&out.join("findings.csv"));
    let severity_of = |domain: &str, ip: &str, code: &str| {
        findings
            .iter()
            .find(|f| {
                column(&fh, f, "domain") == domain
                    && column(&fh, f, "code") == code
                    && [ip, ""].contains(&column(&fh, f, "subject"))
            })
            .map(|f| column(&fh, f, "severity").to_string())
    };
    let (sh, rows) = sorted_rows(&out.join("senders.csv"));
    let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let (domain, ip) = (column(&sh, r, "domain"), column(&sh, r, "ip"));
        let verdict = column(&sh, r, "verdict");
        let decided_by = column(&sh, r, "decided_by");
        let score = column(&sh, r, "score");
        let reasons = column(&sh, r, "score_reasons");
        let what = format!("{domain} {ip}: {verdict} by {decided_by}, score {score} ({reasons})");
        *verdicts.entry(verdict.to_string()).or_default() += 1;
        let severity = (!decided_by.is_empty()).then(|| {
            severity_of(domain, ip, decided_by).unwrap_or_else(|| panic!("{what}: no such finding"))
        });
        match verdict {
            "ok" => assert!(
                score == "100" && reasons.is_empty() && decided_by.is_empty(),
                "{what}"
            ),
            "at_risk" => {
                let points: u8 = score.parse().unwrap();
                assert!(points < 100 && reasons.contains(decided_by), "{what}");
                assert_eq!(severity.as_deref(), Some("WARN"), "{what}");
            }
            "fail" => {
                let gated = reasons.contains(&format!("{decided_by}(gate)"));
                assert!(gated || severity.as_deref() == Some("ERROR"), "{what}");
                assert!(reasons.contains(decided_by), "{what}");
                assert!(score.parse::<u8>().unwrap() < 100, "{what}");
            }
            "indeterminate" => assert!(score.is_empty(), "{what}"),
            other => panic!("{what}: verdict {other}"),
        }
    }
    // The world gives every verdict but indeterminate (nothing fails to answer here).
    for verdict in ["ok", "at_risk", "fail"] {
        assert!(
            verdicts.get(verdict).is_some_and(|n| *n > 100),
            "{verdicts:?}"
        );
    }
}
