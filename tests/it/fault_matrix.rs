//! The fault matrix: `mxscan scan` over a 10 000-domain synthetic world served by `mxscan sim`
//! resolvers with injected faults, every row compared with the world's truth. Whatever the
//! faults, every domain is written exactly once, no finding that is not provisional is wrong,
//! and every INDETERMINATE domain says why and has no score. A resolver that is only slow, late
//! or away for a while costs no domain at all.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::common::{WORLD_FLAGS, mxscan, start_sim, summary};
use mxscan::pipeline::auth::Checks;
use mxscan::sim::SyntheticWorld;

const N: u64 = 10_000;

/// The cases run one at a time: they measure timing behaviour and must not starve each other
/// of the machine's two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What a case may end with.
struct Bound {
    /// INDETERMINATE domains at most.
    indeterminate: u64,
}

/// Scans the world through one sim resolver per fault profile and checks every row.
fn case(faults: &[&str], extra: &[&str], bound: Bound) -> serde_json::Value {
    case_of(N, faults, extra, bound)
}

/// [`case`] over a world of `n` domains.
fn case_of(n: u64, faults: &[&str], extra: &[&str], bound: Bound) -> serde_json::Value {
    case_in(SyntheticWorld::new(n, 7), faults, extra, bound)
}

/// [`case`] in `world`.
fn case_in(
    world: SyntheticWorld,
    faults: &[&str],
    extra: &[&str],
    bound: Bound,
) -> serde_json::Value {
    let n = world.domains;
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("domains.txt");
    let mut f = std::fs::File::create(&input).unwrap();
    world.write_domains(&mut f).unwrap();
    drop(f);
    let (handle, list) = start_sim(Arc::new(world.clone()), faults);
    let out = dir.path().join("out");
    let mut args = vec!["scan", "-r", &list, "-o", out.to_str().unwrap()];
    args.extend_from_slice(&WORLD_FLAGS);
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    let (code, _, err) = mxscan(&args, b"");
    handle.stop().unwrap();
    let s = summary(&out);
    let unanswered = s["unanswered"].as_u64().unwrap();
    let want_code = if unanswered as f64 > n as f64 / 100.0 {
        3
    } else {
        0
    };
    assert_eq!(code, want_code, "{faults:?}: {err}");

    // Findings per domain: (code, severity).
    let mut found = crate::common::finding_rows(&out.join("findings.csv"));
    let mut r = csv::Reader::from_path(out.join("domains.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (route_at, score_at, provisional_at) = (col("route"), col("score"), col("provisional"));
    let mut seen = vec![false; n as usize];
    let (mut indeterminate, mut wrong) = (0u64, Vec::new());
    for rec in r.records() {
        let rec = rec.unwrap();
        let domain = &rec[0];
        let i: u64 = domain
            .strip_prefix("syn")
            .and_then(|s| s.strip_suffix(".test"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("unexpected domain {domain}"));
        assert!(!seen[i as usize], "{domain} written twice ({faults:?})");
        seen[i as usize] = true;
        let mine = found.remove(domain).unwrap_or_default();
        let (_, truth) = world.truth(i, Checks::DEFAULT);
        let truth: BTreeSet<&str> = truth.into_iter().map(|c| c.name()).collect();
        let measured: BTreeSet<&str> = mine
            .iter()
            .filter(|(_, severity, _)| severity != "INDETERMINATE")
            .map(|(code, ..)| code.as_str())
            .collect();
        if &rec[route_at] == "INDETERMINATE" {
            indeterminate += 1;
            assert_eq!(
                &rec[score_at], "",
                "{domain}: no score when nothing was measured"
            );
            assert_eq!(&rec[provisional_at], "true", "{domain}");
            assert!(
                mine.iter().any(|(code, _, subject)| subject.is_empty()
                    && ["DNS_TIMEOUT", "DNS_SERVFAIL", "DNS_REFUSED"].contains(&code.as_str())),
                "{domain} is INDETERMINATE without its reason: {mine:?}"
            );
        }
        // A provisional row says which lookup failed: an empty one would pass for measured.
        if &rec[provisional_at] == "true" {
            assert!(
                mine.iter()
                    .any(|(_, severity, _)| severity == "INDETERMINATE"),
                "{domain} is provisional without an INDETERMINATE finding: {mine:?}"
            );
        }
        let ok = if &rec[provisional_at] == "false" {
            let all: BTreeSet<&str> = mine.iter().map(|(code, ..)| code.as_str()).collect();
            all == truth
        } else {
            measured.is_subset(&truth)
        };
        if !ok && wrong.len() < 5 {
            wrong.push(format!("{domain}: truth {truth:?}, got {mine:?}"));
        }
    }
    assert!(
        seen.iter().all(|s| *s),
        "{} domains missing ({faults:?})",
        seen.iter().filter(|s| !**s).count()
    );
    assert!(found.is_empty(), "findings of unknown domains");
    assert!(
        wrong.is_empty(),
        "{faults:?}: wrong findings, e.g. {wrong:#?}"
    );
    assert!(
        indeterminate <= bound.indeterminate,
        "{faults:?}: {indeterminate} INDETERMINATE domains, at most {} expected",
        bound.indeterminate
    );
    assert_eq!(s["routes"]["INDETERMINATE"], indeterminate);
    s
}

#[test]
fn no_fault() {
    let s = case(&["", ""], &[], Bound { indeterminate: 0 });
    assert_eq!(
        s["queries"]["retries"], 0,
        "no fault, so no retry; the resolvers saw: {:#}",
        s["resolvers"]
    );
}

#[test]
fn two_healthy_resolvers_of_different_spreads_share_the_load_among_broken_zones() {
    // One fast, one slower and more spread; 2 % of the zones have dead or lame servers
    // (their questions dropped, or SERVFAIL). Neither resolver is sick: neither is benched,
    // both carry load (each by its window: the slower one less), and a broken zone costs one
    // question per resolver or a few timeouts.
    let world = SyntheticWorld::new(N, 7).with_broken_authorities();
    let s = case_in(
        world,
        &["latency=1ms,jitter=20ms", "latency=5ms,jitter=100ms"],
        &[],
        Bound {
            indeterminate: N * 3 / 100,
        },
    );
    let answered: Vec<u64> = (0..2)
        .map(|i| s["resolvers"][i]["answered"].as_u64().unwrap())
        .collect();
    for i in 0..2 {
        assert_eq!(s["resolvers"][i]["benched"], 0, "{:#}", s["resolvers"]);
        assert!(
            answered[i] * 20 > answered[0] + answered[1],
            "each carries a twentieth at least: {answered:?}"
        );
    }
    // 2.1 % of the domains broken, 4.3 lookups each: a SERVFAIL costs one more attempt, a
    // dead zone three or four, more while a resolver loses more than usual (measured 1.045
    // and, once, over 1.06).
    let q = &s["queries"];
    let (attempts, lookups) = (q["attempts"].as_u64(), q["lookups"].as_u64());
    assert!(
        attempts.unwrap() <= lookups.unwrap() * 110 / 100,
        "{attempts:?} {lookups:?}"
    );
}

#[test]
fn loss_20_percent() {
    case(&["loss=20", "loss=20"], &[], Bound { indeterminate: 0 });
}

#[test]
fn servfail_10_percent() {
    case(
        &["servfail=10", "servfail=10"],
        &[],
        Bound { indeterminate: 0 },
    );
}

#[test]
fn garbage_and_wrong_port_replies() {
    let s = case(
        &[
            "garbage-id=10,garbage-question=10,garbage-random=10,wrong-port=10",
            "garbage-id=10,garbage-question=10,garbage-random=10,wrong-port=10",
        ],
        &[],
        Bound { indeterminate: 0 },
    );
    assert!(s["queries"]["spoofed"].as_u64().unwrap() > 0);
}

#[test]
fn one_of_two_resolvers_dies() {
    let s = case(
        &["", "die-after-queries=5000"],
        &[],
        Bound { indeterminate: 0 },
    );
    assert_eq!(s["resolvers"][1]["health"], "down");
}

#[test]
fn a_single_slow_resolver_900ms() {
    let s = case(
        &["latency=900ms"],
        &["--per-resolver", "8192"],
        Bound { indeterminate: 0 },
    );
    let q = &s["queries"];
    // A slow resolver is not a lossy one: no wave of retries into it.
    assert!(
        q["attempts"].as_u64().unwrap() <= q["lookups"].as_u64().unwrap() * 101 / 100,
        "{q}"
    );
}

#[test]
fn a_single_resolver_answering_3s_late() {
    let s = case(&["start-after=3s"], &[], Bound { indeterminate: 0 });
    assert_eq!(s["queries"]["retries"], 0, "waiting is not retrying");
}

#[test]
fn a_single_resolver_dying_after_5000_queries_back_5s_later() {
    let s = case(
        &["die-after-queries=5000,revive-after=5s"],
        &[],
        Bound { indeterminate: 0 },
    );
    assert!(
        s["queries"]["outage_s"].as_f64().unwrap() > 1.0,
        "it waited"
    );
    assert_eq!(s["resolvers"][0]["health"], "active");
}

#[test]
fn loss_60_percent() {
    // Six attempts each lost with 60 %: some lookups end unanswered, and say so. A fifth of
    // the world: the window shrinks to its floor under this loss, and the full world took
    // 150 s of CI's time.
    let n = N / 5;
    case_of(
        n,
        &["loss=60", "loss=60"],
        &[],
        Bound {
            indeterminate: n / 10,
        },
    );
}
