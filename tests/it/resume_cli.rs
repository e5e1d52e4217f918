//! Interrupted scans lose nothing: `kill -9` at random moments, SIGINT (once and twice), a
//! file-size limit and a full tmpfs, each followed by `--resume`, give exactly the tables of
//! an uninterrupted scan; resumes that would mix results are refused. Against `mxscan sim`
//! on a 100k-domain synthetic world, and against the real farm (Unbound + NSD).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::common::{Farm, WORLD_FLAGS, mxscan, repo_path, sorted_rows, start_sim, summary};
use mxscan::sim::SyntheticWorld;

const N: u64 = 50_000;
const TABLES: [&str; 5] = ["domains", "records", "findings", "senders", "rejects"];

/// Every table's rows, sorted, by table name.
type Tables = BTreeMap<&'static str, (Vec<String>, Vec<Vec<String>>)>;

fn read_tables(out: &Path) -> Tables {
    TABLES
        .iter()
        .map(|t| (*t, sorted_rows(&out.join(format!("{t}.csv")))))
        .collect()
}

/// Asserts `out` holds exactly the tables of the uninterrupted scan, each domain once.
fn assert_same_tables(out: &Path, want: &Tables, what: &str) {
    let got = read_tables(out);
    for t in TABLES {
        let (g, w) = (&got[t], &want[t]);
        assert_eq!(g.0, w.0, "{what}: {t} header");
        if g.1 != w.1 {
            let missing = w.1.iter().filter(|r| !g.1.contains(r)).count();
            let extra = g.1.len() as i64 - w.1.len() as i64 + missing as i64;
            panic!(
                "{what}: {t} differs: {} rows, want {}; {missing} missing, {extra} extra",
                g.1.len(),
                w.1.len()
            );
        }
    }
    let s = summary(out);
    assert_eq!(s["interrupted"], false, "{what}");
    assert_eq!(s["domains_scanned"], want["domains"].1.len(), "{what}");
}

/// The synthetic world, its sim, and the uninterrupted scan every trial is compared with:
/// built once for all tests of this file.
struct World {
    dir: PathBuf,
    input: PathBuf,
    resolvers: String,
    baseline: Tables,
    baseline_summary: serde_json::Value,
    /// How long the uninterrupted scan took (kill moments are drawn within it).
    full_run: Duration,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // Under target/tmp, replaced by each run of this file (the tests' outputs stay there
        // for a look after a failure).
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("resume_cli");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let world = SyntheticWorld::new(N, 9);
        let input = dir.join("domains.txt");
        let mut f = std::fs::File::create(&input).unwrap();
        world.write_domains(&mut f).unwrap();
        drop(f);
        // The sim lives as long as the test process.
        let (handle, resolvers) = start_sim(Arc::new(world), &["", ""]);
        std::mem::forget(handle);
        let out = dir.join("baseline");
        let started = Instant::now();
        let (code, _, err) = run(&scan_args(&resolvers, &out, &input, &[]));
        assert_eq!(code, 0, "baseline scan: {err}");
        World {
            full_run: started.elapsed(),
            baseline: read_tables(&out),
            baseline_summary: summary(&out),
            dir,
            input,
            resolvers,
        }
    })
}

/// `scan` with the world's flags, then `extra`, then the input.
fn scan_args(resolvers: &str, out: &Path, input: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["scan", "-r", resolvers, "-o", out.to_str().unwrap()];
    args.extend(WORLD_FLAGS);
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    args.into_iter().map(str::to_string).collect()
}

/// The same arguments with `--resume` (and `extra`) before the input.
fn resumed(args: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = args.to_vec();
    let input = args.pop().unwrap();
    args.insert(1, "--resume".into());
    args.extend(extra.iter().map(|a| a.to_string()));
    args.push(input);
    args
}

fn run(args: &[String]) -> (i32, String, String) {
    mxscan(&args.iter().map(String::as_str).collect::<Vec<_>>(), b"")
}

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {name}");
}

/// Kills the scan with SIGKILL after `after`; true if it was still running then.
fn kill_after(args: &[String], after: Duration) -> bool {
    let mut child = spawn(args);
    std::thread::sleep(after);
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    running
}

/// Runs `args` with `--resume` to completion.
fn resume(args: &[String]) -> String {
    let (code, _, err) = run(&resumed(args, &[]));
    assert_eq!(code, 0, "resume failed: {err}");
    err
}

/// A small deterministic generator for the kill moments (the seed is in failure messages).
struct XorShift(u64);

impl XorShift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn kill_9_at_random_moments_then_resume_equals_an_uninterrupted_scan() {
    let w = world();
    // Each trial costs about one full scan of the world.
    const TRIALS: u32 = 6;
    let seed = 0x6d78_7363_616e;
    let mut rng = XorShift(seed);
    let mut interrupted = 0;
    for trial in 0..TRIALS {
        let out = w.dir.join(format!("kill{trial}"));
        let args = scan_args(&w.resolvers, &out, &w.input, &[]);
        // Anywhere from the first pass to the last batches of the run.
        let mut at = w.full_run.mul_f64(0.02 + 0.9 * rng.next_f64());
        let mut killed = kill_after(&args, at);
        // A kill before the journal held its first record tests nothing: the trial is run
        // again, a little later each time, so every trial is checked.
        for _ in 0..20 {
            if journalled(&out).is_some() {
                break;
            }
            std::fs::remove_dir_all(&out).unwrap();
            at += w.full_run.mul_f64(0.05);
            killed = kill_after(&args, at);
        }
        assert_consistent_after_crash(&out, &format!("trial {trial} (seed {seed:#x})"));
        // Every third trial is killed again while resuming.
        if trial % 3 == 2 {
            let again = resumed(&args, &[]);
            let at = w.full_run.mul_f64(0.05 + 0.5 * rng.next_f64());
            killed |= kill_after(&again, at);
        }
        interrupted += u32::from(killed);
        resume(&args);
        assert_same_tables(
            &out,
            &w.baseline,
            &format!("trial {trial} (seed {seed:#x})"),
        );
        let s = summary(&out);
        assert_eq!(s["routes"], w.baseline_summary["routes"], "trial {trial}");
        assert_eq!(
            s["findings"], w.baseline_summary["findings"],
            "trial {trial}"
        );
        let _ = std::fs::remove_dir_all(&out);
    }
    assert!(
        interrupted >= TRIALS - 1,
        "only {interrupted} of {TRIALS} trials were killed mid-scan"
    );
}

/// What the journal of a killed scan in `out` vouches for, read as `--resume` reads it; `None`
/// when the scan was killed before the journal's first record. A journal that cannot be read
/// fails the test: a crash must never leave one.
fn journalled(out: &Path) -> Option<mxscan::outdir::journal::Recovered> {
    let paths = mxscan::tables::scan::ScanTables::paths(out, mxscan::tables::Format::Csv);
    mxscan::outdir::journal::recover(&out.join("journal"), &paths)
        .unwrap_or_else(|e| panic!("the journal in {} is unreadable: {e}", out.display()))
}

/// What a killed scan left, read the way `--resume` will: every table, up to the length its
/// journal vouches for, is valid CSV of whole domains (a domain's rows all there or none).
fn assert_consistent_after_crash(out: &Path, trial: &str) {
    let paths = mxscan::tables::scan::ScanTables::paths(out, mxscan::tables::Format::Csv);
    let r = journalled(out).unwrap_or_else(|| panic!("{trial}: killed before the journal"));
    let prefix = |i: usize| {
        let bytes = std::fs::read(&paths[i]).unwrap();
        let mut rows: Vec<Vec<String>> = csv::Reader::from_reader(&bytes[..r.ends[i] as usize])
            .records()
            .map(|x| x.unwrap().iter().map(str::to_string).collect())
            .collect();
        rows.sort();
        rows
    };
    let domains = prefix(0);
    assert_eq!(
        domains.len() as u64,
        r.done_count,
        "one domains row per journalled position"
    );
    let names: std::collections::HashSet<&str> = domains.iter().map(|d| d[0].as_str()).collect();
    assert_eq!(names.len(), domains.len());
    for (i, table) in TABLES.iter().enumerate().take(4).skip(1) {
        for row in prefix(i) {
            assert!(
                names.contains(row[0].as_str()),
                "{table}: row of an unjournalled domain"
            );
        }
    }
    // Each journalled domain has as many records rows as the uninterrupted scan gives it.
    let per_domain = |rows: &[Vec<String>]| {
        let mut n: BTreeMap<String, usize> = BTreeMap::new();
        for r in rows {
            *n.entry(r[0].clone()).or_default() += 1;
        }
        n
    };
    let (got, want) = (
        per_domain(&prefix(1)),
        per_domain(&world().baseline["records"].1),
    );
    for d in &names {
        assert_eq!(got.get(*d), want.get(*d), "{trial}: records rows of {d}");
    }
}

/// Checks what an interrupted scan of `total` domains left: parseable tables with whole
/// domains, a summary that says it was interrupted and counts exactly the domains written.
fn assert_valid_interrupted(out: &Path, total: usize) {
    let tables = read_tables(out);
    let domains: Vec<&str> = tables["domains"].1.iter().map(|r| r[0].as_str()).collect();
    let mut unique = domains.clone();
    unique.dedup();
    assert_eq!(unique.len(), domains.len(), "a domain written twice");
    for t in ["records", "findings"] {
        for row in &tables[t].1 {
            assert!(
                domains.binary_search(&row[0].as_str()).is_ok(),
                "{t} has rows of {} but domains.csv has not",
                row[0]
            );
        }
    }
    let s = summary(out);
    assert_eq!(s["interrupted"], true);
    assert_eq!(s["domains_scanned"], domains.len());
    assert!(domains.len() < total, "the scan was not interrupted");
}

#[test]
fn sigint_stops_cleanly_with_a_resume_hint_and_the_hint_completes_the_scan() {
    let w = world();
    for (case, signals) in [("once", 1), ("twice", 2)] {
        let out = w.dir.join(format!("sigint-{case}"));
        let args = scan_args(&w.resolvers, &out, &w.input, &[]);
        let child = spawn(&args);
        std::thread::sleep(w.full_run.mul_f64(0.4));
        for _ in 0..signals {
            signal(&child, "-INT");
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(130), "{case}: {err}");
        if signals == 2 {
            assert!(err.contains("stopping now"), "{err}");
        }
        assert_valid_interrupted(&out, N as usize);
        // The hint is a command line: run it as printed.
        let hint = err
            .lines()
            .skip_while(|l| !l.contains("continue with:"))
            .nth(1)
            .unwrap_or_else(|| panic!("no resume hint in: {err}"))
            .trim()
            .to_string();
        assert!(hint.contains(" scan --resume "), "{hint}");
        let status = Command::new("bash")
            .args(["-c", &hint])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{case}: `{hint}` failed");
        assert_same_tables(&out, &w.baseline, &format!("SIGINT {case}"));
        assert_eq!(summary(&out)["runs"], 2);
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// Runs a scan under a file-size limit of `kib` KiB: it must stop with an error naming the
/// table it could not write.
fn scan_with_size_limit(args: &[String], kib: u64) -> String {
    scan_with_size_limit_from(args, kib, None)
}

/// [`scan_with_size_limit`] with stdin from a file.
fn scan_with_size_limit_from(args: &[String], kib: u64, stdin: Option<&Path>) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_mxscan"))
        .chain(args.iter().map(String::as_str))
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("bash")
        .args(["-c", &format!("ulimit -f {kib}; exec {line}")])
        .stdin(match stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
            None => Stdio::null(),
        })
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(
        err.contains("cannot write") && (err.contains(".csv") || err.contains(".jsonl")),
        "the error names the table: {err}"
    );
    assert!(
        err.contains("--resume"),
        "the error says how to go on: {err}"
    );
    err
}

#[test]
fn a_file_size_limit_gives_a_clear_error_and_a_resumable_scan() {
    let w = world();
    let out = w.dir.join("ulimit");
    let args = scan_args(&w.resolvers, &out, &w.input, &[]);
    scan_with_size_limit(&args, 4096);
    resume(&args);
    assert_same_tables(&out, &w.baseline, "after a file-size limit");

    // JSON Lines: the limit cuts a line in the middle; the resume removes it.
    let jsonl = ["--format", "jsonl"];
    let base = w.dir.join("jsonl-baseline");
    let (code, _, err) = run(&scan_args(&w.resolvers, &base, &w.input, &jsonl));
    assert_eq!(code, 0, "{err}");
    let out = w.dir.join("ulimit-jsonl");
    let args = scan_args(&w.resolvers, &out, &w.input, &jsonl);
    scan_with_size_limit(&args, 4096);
    resume(&args);
    for t in TABLES {
        let lines = |dir: &Path| {
            let text = std::fs::read_to_string(dir.join(format!("{t}.jsonl"))).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            for l in &lines {
                serde_json::from_str::<serde_json::Value>(l)
                    .unwrap_or_else(|e| panic!("{t}.jsonl: {e}: {l}"));
            }
            lines.sort();
            lines
        };
        assert!(
            lines(&out) == lines(&base),
            "{t}.jsonl differs after the resume"
        );
    }
    for dir in [&out, &base, &w.dir.join("ulimit")] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_full_disk_or_a_read_only_out_gives_a_clear_error_and_a_resumable_scan() {
    let w = world();
    let mount = w.dir.join("tmpfs");
    std::fs::create_dir_all(&mount).unwrap();
    let mount_str = mount.to_str().unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=12m", "tmpfs", mount_str])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "this test mounts a 12 MiB tmpfs to fill it: run the tests as root (CI does)"
    );
    let full = mount.join("out");
    let args = scan_args(&w.resolvers, &full, &w.input, &[]);
    let (full_code, _, full_err) = run(&args);
    // The same directory made read-only: a resume says which file it cannot write.
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro", mount_str])
        .status()
        .unwrap();
    let (ro_code, _, ro_err) = run(&resumed(&args, &[]));
    // Move the scan to a disk with room (as a user would free space), then resume there.
    let out = w.dir.join("was-full");
    let copied = Command::new("cp")
        .args(["-a", full.to_str().unwrap(), out.to_str().unwrap()])
        .status()
        .unwrap();
    let _ = Command::new("umount").arg(&mount).status();
    assert!(remounted.success() && copied.success());
    assert_eq!(full_code, 2, "{full_err}");
    assert!(full_err.contains("No space left on device"), "{full_err}");
    assert!(full_err.contains("cannot write"), "{full_err}");
    assert!(full_err.contains("--resume"), "{full_err}");
    assert_eq!(ro_code, 2, "{ro_err}");
    assert!(ro_err.contains("Read-only file system"), "{ro_err}");
    assert!(
        ro_err.contains(full.to_str().unwrap()),
        "names the file: {ro_err}"
    );
    resume(&scan_args(&w.resolvers, &out, &w.input, &[]));
    assert_same_tables(&out, &w.baseline, "after a full disk");
    let _ = std::fs::remove_dir_all(&out);

    // An --out that cannot be a directory at all.
    let (code, _, err) = run(&scan_args(
        &w.resolvers,
        Path::new("/dev/null/out"),
        &w.input,
        &[],
    ));
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot create the output directory /dev/null/out"),
        "{err}"
    );
}

/// Copies a directory tree (an interrupted scan to try several resumes on).
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .args(["-a", from.to_str().unwrap(), to.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every file of a directory with its content, to prove a refused resume changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn resumes_that_would_mix_results_are_refused_unless_forced() {
    let w = world();
    let base = w.dir.join("refusals");
    std::fs::create_dir_all(&base).unwrap();
    // A small list of the world's domains, interrupted deterministically by a file-size limit.
    let input = base.join("domains.txt");
    let original: String = (0..3000)
        .map(|i| format!("{}\n", SyntheticWorld::domain(i)))
        .collect();
    std::fs::write(&input, &original).unwrap();
    let args = |out: &str, extra: &[&str]| scan_args(&w.resolvers, &base.join(out), &input, extra);
    let stopped = base.join("stopped");
    scan_with_size_limit(&args("stopped", &[]), 128);
    let before = snapshot(&stopped);
    let copy_of_stopped = |name: &str| copy_dir(&stopped, &base.join(name));

    // A new scan over an interrupted one.
    let (code, _, err) = run(&args("stopped", &[]));
    assert_eq!(code, 2);
    assert!(
        err.contains("interrupted scan") && err.contains("--resume"),
        "{err}"
    );
    assert_eq!(
        snapshot(&stopped),
        before,
        "a refused start changed the scan"
    );

    // A setting that changes rows.
    let weights = base.join("weights.csv");
    std::fs::write(&weights, "code,weight\nMX_SINGLE_HOST,5\n").unwrap();
    let weights = weights.to_str().unwrap();
    let (code, _, err) = run(&resumed(&args("stopped", &[]), &["--weights", weights]));
    assert_eq!(code, 2);
    assert!(
        err.contains("--weights") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        snapshot(&stopped),
        before,
        "a refused resume changed the scan"
    );

    // Another format can never continue these tables, not even forced.
    let (code, _, err) = run(&resumed(
        &args("stopped", &[]),
        &["--format", "jsonl", "--force"],
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--format"), "{err}");
    assert_eq!(snapshot(&stopped), before);

    // Tuning may change (the resolvers' rate), and the change is reported.
    copy_of_stopped("tuned");
    let (code, _, err) = run(&resumed(&args("tuned", &[]), &["--qps", "100000"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("--qps"), "{err}");

    // A forced setting change is accepted and journalled.
    copy_of_stopped("forced");
    let (code, _, err) = run(&resumed(
        &args("forced", &[]),
        &["--weights", weights, "--force"],
    ));
    assert_eq!(code, 0, "{err}");
    let journal = std::fs::read_to_string(base.join("forced/journal")).unwrap();
    assert!(journal.contains(r#""forced":["--weights"#), "{journal}");

    // An input edited in place: refused even with --force.
    copy_of_stopped("edited");
    let edited = original.replacen(".test\n", ".example\n", 1);
    assert_ne!(edited, original);
    std::fs::write(&input, edited).unwrap();
    let (code, _, err) = run(&resumed(&args("edited", &[]), &["--force"]));
    assert_eq!(code, 2);
    assert!(err.contains("changed in place"), "{err}");

    // An input that only grew: refused without --force, continued with it, and every domain
    // of the grown list is written exactly once.
    copy_of_stopped("grown");
    let grown: String = (3000..3500)
        .map(|i| format!("{}\n", SyntheticWorld::domain(i)))
        .collect();
    std::fs::write(&input, original.clone() + &grown).unwrap();
    let (code, _, err) = run(&resumed(&args("grown", &[]), &[]));
    assert_eq!(code, 2);
    assert!(err.contains("grew") && err.contains("--force"), "{err}");
    let (code, _, err) = run(&resumed(&args("grown", &[]), &["--force"]));
    assert_eq!(code, 0, "{err}");
    let (_, rows) = sorted_rows(&base.join("grown/domains.csv"));
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let mut want: Vec<String> = (0..3500).map(SyntheticWorld::domain).collect();
    want.sort();
    assert_eq!(names, want, "each domain of the grown list once");

    // Stdin: a resume reads the first run's copy, which goes when the scan completes.
    let piped = base.join("piped");
    let stdin_args = scan_args(&w.resolvers, &piped, Path::new("-"), &[]);
    scan_with_size_limit_from(&stdin_args, 128, Some(&input));
    assert!(piped.join("input.stdin").is_file());
    let err = resume(&stdin_args);
    assert!(err.contains("copy of stdin"), "{err}");
    assert!(!piped.join("input.stdin").exists());
    let (_, rows) = sorted_rows(&piped.join("domains.csv"));
    assert_eq!(rows.len(), 3500, "the grown list, each domain once");

    // A complete scan has nothing to resume.
    let (code, _, err) = run(&resumed(&args("grown", &[]), &[]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already complete"), "{err}");
}

#[test]
fn the_real_farm_survives_sigint_and_kill_9_with_resumes() {
    let domains = repo_path("data/domains.txt");
    let senders = repo_path("data/senders.csv");
    let dir = tempfile::tempdir().unwrap();
    let farm = Farm::start(2);
    let resolvers = farm.list();
    let senders = senders.to_str().unwrap();
    let args = |out: &Path, extra: &[&str]| {
        let mut extra = extra.to_vec();
        extra.extend(["--senders", senders]);
        scan_args(&resolvers, out, &domains, &extra)
    };
    // The three scans run at once (each takes half a minute, most of it waiting on the sample
    // world's unreachable servers); the interrupted ones are compared after all are done.
    let baseline_out = dir.path().join("baseline");
    let cases = ["sigint", "kill"];
    std::thread::scope(|scope| {
        let baseline = scope.spawn(|| run(&args(&baseline_out, &[])));
        // A rate limit stretches the 340 domains over seconds, so the signals land mid-scan;
        // the resumes drop it (tuning may change).
        for case in cases {
            let (out, args) = (dir.path().join(case), &args);
            scope.spawn(move || {
                let mut child = spawn(&args(&out, &["--qps", "400"]));
                // Signalled once the scan has its tables and journal, well before the end.
                crate::common::wait_for_bytes(&out.join("journal"));
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "{case}: finished too soon"
                );
                if case == "sigint" {
                    signal(&child, "-INT");
                    assert_eq!(child.wait().unwrap().code(), Some(130));
                    assert_valid_interrupted(&out, 340);
                } else {
                    child.kill().unwrap();
                    child.wait().unwrap();
                }
                resume(&args(&out, &[]));
            });
        }
        let (code, _, err) = baseline.join().unwrap();
        assert_eq!(code, 0, "{err}");
    });
    let baseline = read_tables(&baseline_out);
    for case in cases {
        assert_same_tables(&dir.path().join(case), &baseline, &format!("farm, {case}"));
    }
    drop(farm);
}
