//! A new user's first hour: the traps a first scan can fall into end at once, with a message
//! that names the cause and nothing left behind to trip the next run.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{WORLD_FLAGS, mxscan, sample_sim, silent_resolver};

#[test]
fn resolvers_that_cannot_be_used_stop_the_run_in_seconds_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A port just freed: the kernel says "port unreachable" at once.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let (code, _, err) = mxscan(
        &["scan", "-r", &closed, "-o", out.to_str().unwrap(), "-"],
        b"example.test\n",
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains(&closed) && err.contains("refused"), "{err}");
    assert!(!err.contains("--resume"), "{err}");
    assert!(!out.exists(), "nothing was started, nothing is left");
    assert!(started.elapsed() < Duration::from_secs(2));

    // One that never answers, beside one that refuses recursion: named, each, within seconds.
    let (_silent, silent) = silent_resolver();
    let (sim, refusing) = sample_sim(&["refused=100"]);
    let list = format!("{silent},{refusing}");
    let (code, _, err) = mxscan(&["resolve", "-r", &list, "-t", "MX"], b"shop1.test\n");
    assert_eq!(code, 4, "{err}");
    assert!(err.contains(&silent) && err.contains("no reply"), "{err}");
    assert!(err.contains(&refusing) && err.contains("REFUSED"), "{err}");
    sim.stop().unwrap();

    // Beside a healthy resolver, a dead one is a warning and the run goes on.
    let (sim, healthy) = sample_sim(&[""]);
    let list = format!("{healthy},{closed}");
    let (code, out, err) = mxscan(&["resolve", "-r", &list, "-t", "MX"], b"shop1.test\n");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 of 2 resolvers cannot be used"), "{err}");
    assert!(out.contains("shop1.test,MX,NOERROR"), "{out}");
    sim.stop().unwrap();
}

#[test]
fn a_setup_error_leaves_nothing_to_resume_and_a_rerun_after_the_fix_starts_clean() {
    let (sim, list) = sample_sim(&[""]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = dir.path().join("list.csv");
    std::fs::write(&input, "name,rank\nshop1.test,1\n").unwrap();
    let args = [
        "scan",
        "-r",
        &list,
        "-o",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ];
    let (code, _, err) = mxscan(&args, b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no `domain` column"), "{err}");
    assert!(!err.contains("--resume"), "{err}");
    assert!(
        !out.exists(),
        "{:?}",
        std::fs::read_dir(&out).map(|d| d.count())
    );
    std::fs::write(&input, "domain,rank\nshop1.test,1\n").unwrap();
    let (code, _, err) = mxscan(&args, b"");
    assert_eq!(code, 0, "the rerun after the fix: {err}");

    // A missing input file: no directory either.
    let other = dir.path().join("other");
    let (code, _, err) = mxscan(
        &[
            "scan",
            "-r",
            &list,
            "-o",
            other.to_str().unwrap(),
            "missing.txt",
        ],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.txt"), "{err}");
    assert!(!other.exists());

    // Empty input: exit 4, said.
    let empty = dir.path().join("empty");
    let (code, _, err) = mxscan(
        &["scan", "-r", &list, "-o", empty.to_str().unwrap(), "-"],
        b"",
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("the input holds no domain"), "{err}");
    sim.stop().unwrap();
}

/// `mxscan … 2>&1 | head -2`: the pipe closes while the scan still has things to say; the
/// scan ends as it would have, its messages lost, never with a panic.
#[test]
fn a_closed_stderr_loses_messages_not_the_scan() {
    let (sim, list) = sample_sim(&[""]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(["scan", "-r", &list, "-o", out.to_str().unwrap()])
        .args(WORLD_FLAGS)
        .arg(crate::common::repo_path("data/domains.txt"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(out.join("summary.json").is_file());
    sim.stop().unwrap();
}

/// `mxscan resolve … | head -1`: the reader goes away after one line; the run ends quietly,
/// never with a panic or an error about the pipe.
#[test]
fn a_closed_stdout_ends_resolve_quietly() {
    use std::io::BufRead;
    let (sim, list) = sample_sim(&[""]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(["resolve", "-r", &list, "-t", "A", "-t", "MX", "-t", "TXT"])
        .arg(crate::common::repo_path("data/domains.txt"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("name,type"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    sim.stop().unwrap();
}

/// `mxscan sim` prints the scan command its world needs, and a scan without those flags says
/// what it is missing instead of reporting every exchange unusable in silence.
#[test]
fn a_test_world_says_how_to_scan_it_and_a_scan_without_its_flags_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let domains = dir.path().join("syn.txt");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(["sim", "--synthetic", "500", "--listen", "127.0.0.1:0"])
        .arg("--write-domains")
        .arg(&domains)
        .args(["--duration", "30"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = sim.stderr.take().unwrap();
    let mut said = String::new();
    let mut buf = [0u8; 1024];
    while !said.contains(domains.to_str().unwrap()) {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "{said}");
        said.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let command = said
        .lines()
        .find(|l| l.trim_start().starts_with("mxscan scan "))
        .unwrap_or_else(|| panic!("{said}"))
        .trim()
        .replace(
            "-o OUT",
            &format!("-o {}", dir.path().join("out").display()),
        );
    for flag in WORLD_FLAGS {
        assert!(command.contains(flag), "{command}");
    }
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let (code, _, err) = mxscan(&args, b"");
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("test world"), "{err}");

    let bare: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !WORLD_FLAGS.contains(a))
        .map(|a| if a.ends_with("out") { "bare-out" } else { a })
        .collect();
    let (code, _, err) = crate::common::mxscan_in(dir.path(), &bare, b"");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Is this a test world?") && err.contains("--allow-special-use"),
        "{err}"
    );
    let _ = sim.kill();
    let _ = sim.wait();
}
