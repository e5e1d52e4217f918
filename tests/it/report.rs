//! `report.html` in a real browser: the sample world's report loaded by headless Chromium
//! (`scripts/chromium.sh`, which installs it when missing), its numbers checked against
//! `summary.json`, nothing external in it, a screenshot that is not blank; a JSON Lines scan's
//! report equals the CSV scan's; an interrupted or killed scan's report says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{WORLD_FLAGS, mxscan, repo_path, sample_sim, silent_resolver, summary};

/// The sections every scan report has (`mail-auth` when checks ran).
const SECTIONS: [&str; 9] = [
    "status",
    "scan",
    "findings",
    "scores",
    "providers",
    "mail-auth",
    "resolvers",
    "codes",
    "reproduce",
];

fn chromium(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(repo_path("scripts/chromium.sh"))
        .args(args)
        .output()
        .expect("run scripts/chromium.sh");
    assert!(
        out.status.success(),
        "scripts/chromium.sh {args:?} failed (it installs Debian's chromium as root):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Scans the sample world with every check into `out` (CSV or JSON Lines).
fn scan_sample(list: &str, out: &Path, format: &str) {
    let senders = repo_path("data/senders.csv");
    let mut args = vec![
        "scan",
        "-r",
        list,
        "-o",
        out.to_str().unwrap(),
        "--format",
        format,
        "--senders",
        senders.to_str().unwrap(),
        "--checks",
        "all",
    ];
    args.extend(WORLD_FLAGS);
    let domains = repo_path("data/domains.txt");
    args.push(domains.to_str().unwrap());
    let (code, _, stderr) = mxscan(&args, b"");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("report: "),
        "the scan names its report: {stderr}"
    );
    // The terminal summary fits 80 columns.
    for line in stderr.lines().skip(1) {
        assert!(line.chars().count() <= 80, "over 80 columns: {line:?}");
    }
    assert!(stderr.contains("most frequent findings:"), "{stderr}");
}

/// Every `data-summary="POINTER">TEXT` of the page, unescaped pointer and text.
fn summary_cells(html: &str) -> Vec<(String, String)> {
    let mut cells = Vec::new();
    for part in html.split("data-summary=\"").skip(1) {
        let (pointer, rest) = part.split_once('"').unwrap();
        let text = rest[rest.find('>').unwrap() + 1..]
            .split('<')
            .next()
            .unwrap();
        cells.push((pointer.to_string(), text.to_string()));
    }
    cells
}

/// The part of the page from `<section id="ID">` to its end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let len = html[start..].find("</section>").unwrap();
    &html[start..start + len]
}

#[test]
fn the_sample_worlds_report_in_a_browser_and_its_jsonl_twin() {
    let dir = tempfile::tempdir().unwrap();
    let (csv_out, jsonl_out) = (dir.path().join("csv"), dir.path().join("jsonl"));
    let (handle, list) = sample_sim(&["", ""]);
    std::thread::scope(|s| {
        s.spawn(|| scan_sample(&list, &csv_out, "csv"));
        s.spawn(|| scan_sample(&list, &jsonl_out, "jsonl"));
    });
    handle.stop().unwrap();
    let page = csv_out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();

    // Self-contained: no URL, no script, nothing loaded.
    for banned in [
        "http://", "https://", "//", "<script", "src=", "@import", "url(",
    ] {
        assert!(!html.contains(banned), "the page holds {banned:?}");
    }
    for href in html.split("href=\"").skip(1) {
        assert!(
            href.starts_with('#'),
            "a link leaves the page: {}",
            &href[..40]
        );
    }

    let dom = chromium(&["dump-dom", page.to_str().unwrap()]);
    for id in SECTIONS {
        let part = section(&dom, id);
        if !["status", "codes", "reproduce"].contains(&id) {
            assert!(part.contains("<svg"), "section {id} has no chart");
        }
    }
    assert!(
        dom.matches("<svg").count() >= 12,
        "{} charts",
        dom.matches("<svg").count()
    );
    assert!(section(&dom, "findings").contains("href=\"#code-MX_NO_IPV6\""));
    assert!(section(&dom, "codes").contains("id=\"code-MX_NO_IPV6\""));
    assert!(dom.contains("class=\"banner complete\""));
    // Every number taken from summary.json is the summary's, as rounded on the page.
    let s = summary(&csv_out);
    let cells = summary_cells(&dom);
    assert!(cells.len() > 150, "{} numbers checked", cells.len());
    for (pointer, text) in &cells {
        let value = s
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} is not in summary.json"));
        if let Some(n) = value.as_u64() {
            assert_eq!(text, &n.to_string(), "{pointer}");
        } else {
            let x = value
                .as_f64()
                .unwrap_or_else(|| panic!("{pointer}: {value}"));
            let shown: f64 = text
                .parse()
                .unwrap_or_else(|_| panic!("{pointer}: {text:?}"));
            let decimals = text.split('.').nth(1).map_or(0, str::len) as i32;
            assert!(
                (shown - x).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-9,
                "{pointer}: page {text}, summary {x}"
            );
        }
    }
    // Spot checks on figures the page computes from the tables.
    let findings = section(&dom, "findings");
    let routes = &s["routes"];
    assert!(section(&dom, "scan").contains(&format!(
        "data-summary=\"/routes/HAS_MX\">{}<",
        routes["HAS_MX"]
    )));
    assert!(findings.contains("loop-a.test"), "examples are listed");
    let providers = section(&dom, "providers");
    assert!(
        providers.contains("% of the domains") && !providers.contains("hundredths"),
        "the provider chart's axis reads in percent"
    );
    // The sample world scans in seconds: its timeline shows running totals, which the cold
    // first second cannot dwarf, not rates.
    let samples = s["timeline"]["samples"].as_array().unwrap().len();
    let scan = section(&dom, "scan");
    assert_eq!(
        scan.contains("domains done over the run"),
        samples < 30,
        "{samples} samples"
    );

    // A screenshot that shows something: many pixels far from white.
    let png_path = dir.path().join("report.png");
    chromium(&[
        "screenshot",
        page.to_str().unwrap(),
        png_path.to_str().unwrap(),
        "1300,2000",
    ]);
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let dark = buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|c| *c < 128))
        .count();
    let total = (info.width * info.height) as usize;
    assert!(
        dark > total / 100,
        "the screenshot is blank: {dark} dark pixels of {total}"
    );

    // The JSON Lines scan's report shows the same figures from the same world.
    let twin = std::fs::read_to_string(jsonl_out.join("report.html")).unwrap();
    for id in ["findings", "scores", "providers", "mail-auth", "codes"] {
        assert_eq!(section(&html, id), section(&twin, id), "section {id}");
    }
}

/// A UDP socket on loopback that never answers: a resolver that is down.
fn scan_args(resolver: &str, out: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["scan", "-r", resolver, "-o", out.to_str().unwrap()]
        .map(String::from)
        .to_vec();
    args.extend(WORLD_FLAGS.map(String::from));
    args.push(repo_path("data/domains.txt").display().to_string());
    args
}

#[test]
fn an_interrupted_or_killed_scans_report_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (_socket, resolver) = silent_resolver();

    // Every resolver down: the scan gives up, interrupted, and its report says so at the top.
    let out = dir.path().join("gave-up");
    let mut args = scan_args(&resolver, &out);
    args.extend(["--give-up", "1", "--no-resolver-check"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) = mxscan(&args, b"");
    assert_ne!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let status = section(&html, "status");
    assert!(status.contains("banner interrupted") && status.contains("INTERRUPTED"));
    assert!(status.contains("every resolver was down"), "{status}");
    assert!(
        html.find("id=\"status\"") < html.find("id=\"scan\""),
        "at the top"
    );

    // Killed (no summary.json): `mxscan report` still writes a page from the tables.
    let out = dir.path().join("killed");
    let mut args = scan_args(&resolver, &out);
    args.push("--no-resolver-check".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxscan"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once its tables exist (the journal's first batch), before any summary.
    crate::common::wait_for_bytes(&out.join("journal"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("summary.json").exists());
    let to = dir.path().join("elsewhere.html");
    let (code, stdout, stderr) = mxscan(
        &["report", out.to_str().unwrap(), "-o", to.to_str().unwrap()],
        b"",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(PathBuf::from(stdout.trim()), to);
    let html = std::fs::read_to_string(&to).unwrap();
    assert!(section(&html, "status").contains("stopped before writing summary.json"));
    // Without a summary, none of its figures is shown as if measured.
    assert!(
        !html.contains("data-summary"),
        "a summary figure without a summary"
    );

    // Not a scan directory: one clear error.
    let (code, _, stderr) = mxscan(&["report", dir.path().to_str().unwrap()], b"");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds no scan"), "{stderr}");
}

#[test]
fn a_benchmarks_report_shows_its_json_figures() {
    let dir = tempfile::tempdir().unwrap();
    let world = mxscan::sim::SyntheticWorld::new(2000, 1);
    let (handle, list) = crate::common::start_sim(std::sync::Arc::new(world), &["", "latency=1ms"]);
    let names: String = (0..2000).map(|i| format!("syn{i}.test\n")).collect();
    let input = dir.path().join("names.txt");
    std::fs::write(&input, names).unwrap();
    let page = dir.path().join("bench.html");
    // A bare file name, as a user types it: written in the working directory.
    let (code, stdout, stderr) = crate::common::mxscan_in(
        dir.path(),
        &[
            "bench",
            "-r",
            &list,
            "-t",
            "MX",
            "--duration",
            "2.5",
            "--format",
            "json",
            "--report",
            "bench.html",
            input.to_str().unwrap(),
        ],
        b"",
    );
    handle.stop().unwrap();
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    for id in ["status", "bench", "resolvers", "reproduce"] {
        section(&html, id);
    }
    assert!(section(&html, "bench").contains("<svg"), "QPS over time");
    assert!(section(&html, "resolvers").contains("<svg"), "latency");
    let cells = summary_cells(&html);
    assert!(cells.len() > 40, "{} numbers", cells.len());
    for (pointer, text) in cells {
        let value = &report
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("{pointer}"));
        if let Some(n) = value.as_u64() {
            assert_eq!(text, n.to_string(), "{pointer}");
        }
    }
    assert!(!html.contains("http://") && !html.contains("<script"));
}

#[test]
fn completions_and_man_pages_come_from_the_flags() {
    let (code, bash, stderr) = mxscan(&["completions", "bash"], b"");
    assert_eq!(code, 0, "{stderr}");
    assert!(bash.contains("_mxscan") && bash.contains("--retry-indeterminate"));
    assert!(
        !bash.contains("--no-journal"),
        "a hidden flag is never offered"
    );
    let (code, zsh, _) = mxscan(&["completions", "zsh"], b"");
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef mxscan"), "{}", &zsh[..40]);
    let (code, man, _) = mxscan(&["man"], b"");
    assert_eq!(code, 0);
    assert!(
        man.contains(".TH mxscan 1") && man.contains("report"),
        "{}",
        &man[..200]
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = mxscan(&["man", "--dir", dir.path().to_str().unwrap()], b"");
    assert_eq!(code, 0, "{stderr}");
    // Every subcommand's page holds each of its flags but the hidden ones (roff writes `-` as
    // `\-`).
    use clap::CommandFactory;
    let cli = mxscan::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let page = std::fs::read_to_string(dir.path().join(format!("mxscan-{}.1", sub.get_name())))
            .unwrap_or_else(|e| panic!("mxscan-{}.1: {e}", sub.get_name()));
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(
                    page.contains(&roff),
                    "mxscan-{}.1 lacks --{long}",
                    sub.get_name()
                );
            }
        }
    }
    let scan_page = std::fs::read_to_string(dir.path().join("mxscan-scan.1")).unwrap();
    assert!(
        scan_page.contains("Exit statuses") && scan_page.contains("Examples"),
        "the page ends with examples and exit statuses"
    );
}

#[test]
fn short_help_is_one_line_per_flag_and_long_help_has_examples_and_exit_statuses() {
    for command in ["scan", "resolve", "bench", "spf", "merge"] {
        let (code, short, stderr) = mxscan(&[command, "-h"], b"");
        assert_eq!(code, 0, "{stderr}");
        let (code, long, _) = mxscan(&[command, "--help"], b"");
        assert_eq!(code, 0);
        assert!(
            long.lines().count() > short.lines().count() + 10,
            "{command}: -h summarises --help\n{short}"
        );
        assert!(
            long.contains("Examples:") && long.contains("Exit status"),
            "{command} --help ends with examples and exit statuses"
        );
        assert!(!short.contains("Examples:"), "{command} -h stays short");
        for line in short.lines().chain(long.lines()) {
            assert!(line.chars().count() <= 100, "{command}: wrapped: {line}");
        }
    }
    let (_, short, _) = mxscan(&["scan", "-h"], b"");
    assert!(
        short.lines().count() < 80,
        "scan -h fits a screen or two: {} lines",
        short.lines().count()
    );
    for heading in [
        "Input:",
        "Resolvers and pace:",
        "Checks:",
        "Output:",
        "Resume and retry:",
        "Cluster:",
    ] {
        assert!(short.contains(heading), "scan -h groups flags: {heading}");
    }
    let input = short.split("Input:").nth(1).unwrap();
    let input = input.split("\n\n").next().unwrap();
    assert!(
        input.contains("[INPUT]"),
        "the input is under Input:\n{input}"
    );
    // The concurrency flag under the names zdns and dnsx users type.
    let (code, _, stderr) = mxscan(&["scan", "--threads", "0", "-r", "127.0.0.1:9"], b"");
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
}
