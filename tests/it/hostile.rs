//! Hostile resolvers and zones: what one of them may cost a scan is bounded, and nobody
//! off-path can predict a query.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{mxscan, sample_sim};

/// Runs mxscan with `stdin`; returns its exit code, its stderr and its peak resident memory
/// in KiB (`VmHWM`, read until it exits).
fn measured(args: &[&str], stdin: &[u8]) -> (i32, String, u64) {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib = line.split_whitespace().nth(1).and_then(|n| n.parse().ok());
            peak = peak.max(kib.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err, peak)
}

/// A responder on loopback that answers every query NXDOMAIN and records the ids it saw.
fn logging_responder() -> (String, Arc<Mutex<Vec<u16>>>, Arc<UdpSocket>) {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let ids = Arc::new(Mutex::new(Vec::new()));
    let (s, log) = (socket.clone(), ids.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        // Ends when the test drops its handle: the last strong count is this thread's.
        while Arc::strong_count(&s) > 1 {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                continue;
            };
            if n < 12 {
                continue;
            }
            log.lock()
                .unwrap()
                .push(u16::from_be_bytes([buf[0], buf[1]]));
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80; // QR
            reply[3] = (reply[3] & 0xF0) | 3; // NXDOMAIN
            let _ = s.send_to(&reply, from);
        }
    });
    (socket.local_addr().unwrap().to_string(), ids, socket)
}

#[test]
fn two_runs_share_no_query_id_sequence() {
    let names: String = (0..200).map(|i| format!("n{i}.example\n")).collect();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (addr, ids, socket) = logging_responder();
        let (code, out, err) = mxscan(&["resolve", "-r", &addr, "-t", "A"], names.as_bytes());
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.matches(",NXDOMAIN,").count(), 200, "{out}");
        drop(socket);
        let ids = ids.lock().unwrap().clone();
        assert!(ids.len() >= 200, "{} queries", ids.len());
        runs.push(ids);
    }
    let same = runs[0].iter().zip(&runs[1]).filter(|(a, b)| a == b).count();
    // Two random sequences of 200 ids agree in a place about 0.003 times.
    assert!(same <= 2, "{same} ids in the same place");
    let distinct: std::collections::HashSet<&u16> = runs[0].iter().collect();
    assert!(distinct.len() >= 195, "ids repeat: {}", distinct.len());
}

/// A resolver that sets TC on every answer and accepts TCP connections but never answers on
/// them: each lookup it takes costs at most the deadline, and the healthy resolver beside it
/// answers everything.
#[test]
fn a_resolver_that_truncates_and_never_answers_tcp_costs_a_deadline_at_most() {
    let names: String = (0..50)
        .map(|i| format!("shop{}.test\n", i % 3 + 1))
        .collect();
    let names = names + &(0..50).map(|i| format!("n{i}.test\n")).collect::<String>();
    for (faults, all_answered) in [
        (&["truncate=100,tcp=silent", ""][..], true),
        (&["truncate=100,tcp=silent"][..], false),
        (&["truncate=100,tcp=refuse"][..], false),
    ] {
        let (sim, list) = sample_sim(faults);
        let started = Instant::now();
        let (code, out, err) = mxscan(
            &[
                "resolve",
                "-r",
                &list,
                "-t",
                "MX",
                "--deadline",
                "3",
                "--format",
                "jsonl",
            ],
            names.as_bytes(),
        );
        let took = started.elapsed();
        assert_eq!(code, 0, "{faults:?}: {err}");
        // JSON Lines: one row per lookup.
        let rows: Vec<&str> = out.lines().collect();
        assert_eq!(rows.len(), 100, "{faults:?}");
        let answered = rows
            .iter()
            .filter(|r| r.contains(r#""status":"NOERROR""#) || r.contains(r#""status":"NXDOMAIN""#))
            .count();
        if all_answered {
            assert_eq!(answered, 100, "{faults:?}: {out}");
        } else {
            assert_eq!(answered, 0, "{faults:?}: nothing comes whole: {out}");
        }
        // Every lookup in parallel, each bounded by its 3 s deadline.
        assert!(took < Duration::from_secs(8), "{faults:?}: {took:?}");
        sim.stop().unwrap();
    }
}

/// A resolver whose every reply loops through a compression pointer: nothing it says is a
/// measurement (never the NOERROR of its header, which would read as a null MX), no lookup
/// hangs, and beside a healthy resolver the scan still ends.
#[test]
fn replies_with_compression_loops_are_malformed_never_measurements() {
    let names = "shop1.test\nshop2.test\nshop3.test\nn1.test\n";
    let (sim, list) = sample_sim(&["compression-loop=100"]);
    let (code, out, err) = mxscan(&["resolve", "-r", &list, "-t", "MX"], names.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches(",MX,MALFORMED,,").count(), 4, "{out}");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = mxscan(
        &["scan", "-r", &list, "-o", dir.path().to_str().unwrap(), "-"],
        names.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let domains = std::fs::read_to_string(dir.path().join("domains.csv")).unwrap();
    assert_eq!(domains.matches(",INDETERMINATE,").count(), 4, "{domains}");
    let findings = std::fs::read_to_string(dir.path().join("findings.csv")).unwrap();
    assert_eq!(findings.matches(",DNS_MALFORMED,").count(), 4, "{findings}");
    sim.stop().unwrap();
}

/// The hostile world (`mxscan sim --hostile`), each domain scanned alone with every check:
/// it finishes in seconds, asks at most the budget's questions, writes bounded rows, says what
/// the budget cut, and no text from DNS reaches a table raw.
#[test]
fn the_hostile_world_is_scanned_within_the_budget() {
    let world = mxscan::sim::hostile::zones().unwrap();
    let (sim, list) = crate::common::start_sim(Arc::new(world), &[""]);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut peak_kib = 0;
    for (domain, what) in mxscan::sim::hostile::DOMAINS {
        let out = dir.path().join(domain);
        let questions = dir.path().join(format!("{domain}.questions"));
        let (code, err, peak) = measured(
            &[
                "scan",
                "-r",
                &list,
                "--checks",
                "all",
                "--allow-special-use",
                "--public-range",
                "10.0.0.0/8",
                "--questions-log",
                questions.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "-",
            ],
            format!("{domain}\n").as_bytes(),
        );
        assert!(
            [0, 2, 3].contains(&code),
            "{domain} ({what}): exit {code}: {err}"
        );
        peak_kib = peak_kib.max(peak);
        let asked = std::fs::read_to_string(&questions).unwrap().lines().count();
        assert!(
            (1..=mxscan::pipeline::budget::QUESTIONS).contains(&asked),
            "{domain} ({what}): {asked} questions"
        );
        let domains = std::fs::read(out.join("domains.csv")).unwrap();
        let longest = domains
            .split(|&b| b == b'\n')
            .map(<[u8]>::len)
            .max()
            .unwrap();
        assert!(longest < 16 * 1024, "{domain}: a row of {longest} bytes");
        let findings = std::fs::read_to_string(out.join("findings.csv")).unwrap();
        assert!(
            findings.contains(&format!("\n{domain},")),
            "{domain}: no row"
        );
        for table in ["domains.csv", "records.csv", "findings.csv", "senders.csv"] {
            let bytes = std::fs::read(out.join(table)).unwrap();
            assert!(
                !bytes.iter().any(|&b| b < 0x20 && b != b'\n'),
                "{domain}: a control character in {table}"
            );
        }
        let cut = |text: &str| {
            findings
                .lines()
                .any(|l| l.contains("DOMAIN_BUDGET_EXCEEDED") && l.contains(text))
        };
        match *domain {
            "mx-flood.hostile.test" => assert!(cut("MX records left out"), "{findings}"),
            "address-flood.hostile.test" => assert!(cut("addresses left out"), "{findings}"),
            "ptr-flood.hostile.test" => assert!(cut("PTR names left out"), "{findings}"),
            "many-rua.hostile.test" => assert!(cut("rua URIs left out"), "{findings}"),
            "huge-txt.hostile.test" => assert!(cut("TXT bytes left out"), "{findings}"),
            "cname-chain.hostile.test" => {
                // Too long is broken, not a temporary failure (the walk stops at its budget).
                assert!(findings.contains("MX_TARGET_CNAME_DANGLING"), "{findings}");
                assert!(!findings.contains("MX_TARGET_TEMPERROR"), "{findings}");
            }
            "include-graph.hostile.test" => {
                assert!(findings.contains("SPF_TOO_MANY_LOOKUPS"), "{findings}");
                assert!(asked <= 20, "the include graph cost {asked} questions");
            }
            _ => {}
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(peak_kib < 512 * 1024, "a scan peaked at {peak_kib} KiB");
    sim.stop().unwrap();
}
