//! `mxscan spf` against the sim serving a small SPF world (RFC 7208 cases end to end; the
//! evaluator's rule-by-rule tests are in `src/mailauth/spf/`).

use std::sync::Arc;

use crate::common::{mxscan, start_sim};

const ZONE: &str = r#"$TTL 300
@ IN SOA ns.spf.test. host.spf.test. 1 3600 600 86400 300
@ IN NS ns.spf.test.
ns IN A 192.0.2.53
@ IN TXT "v=spf1 ip4:192.0.2.0/28 include:_spf.prov.spf.test a:web.spf.test mx -all exp=exp.spf.test"
@ IN MX 10 mail.spf.test.
exp IN TXT "%{i} is not allowed to send for %{d}"
_spf.prov IN TXT "v=spf1 ip4:198.51.100.0/24 " "~all"
web IN A 203.0.113.5
mail IN A 203.0.113.25
two IN TXT "v=spf1 -all"
two IN TXT "v=spf1 +all"
helo IN TXT "v=spf1 a -all"
helo IN A 192.0.2.200
slow IN TXT "v=spf1 a:x.down.spf.test -all"
refusing IN TXT "v=spf1 include:x.refused.spf.test -all"
"#;

/// Names the sim never answers, and names it refuses (Unbound's syntax).
const POLICY: &str = r#"local-zone: "down.spf.test." deny
local-zone: "refused.spf.test." refuse
"#;

fn spf(resolvers: &str, ip: &str, sender: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["spf", "-r", resolvers, "--ip", ip, "--sender", sender];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--format", "json"]);
    let (code, out, err) = mxscan(&args, b"");
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn check_host_through_the_sim() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spf.test.zone"), ZONE).unwrap();
    std::fs::write(dir.path().join("resolver-policy.conf"), POLICY).unwrap();
    let world = mxscan::sim::ZoneFiles::load_dir(dir.path()).unwrap();
    let (sim, list) = start_sim(Arc::new(world), &[""]);

    let v = spf(&list, "192.0.2.5", "a@spf.test", &[]);
    assert_eq!(
        (v["result"].as_str(), v["mechanism"].as_str()),
        (Some("pass"), Some("ip4:192.0.2.0/28"))
    );
    assert_eq!(v["lookups"], 0);

    // Through an include whose record is two strings (joined without a space, §3.3).
    let v = spf(&list, "198.51.100.7", "a@spf.test", &[]);
    assert_eq!(v["mechanism"], "include:_spf.prov.spf.test");
    assert_eq!(
        (v["result"].as_str(), v["lookups"].as_u64()),
        (Some("pass"), Some(1))
    );

    let v = spf(&list, "203.0.113.5", "a@spf.test", &[]);
    assert_eq!(
        (v["result"].as_str(), v["mechanism"].as_str()),
        (Some("pass"), Some("a:web.spf.test"))
    );
    let v = spf(&list, "203.0.113.25", "a@spf.test", &[]);
    assert_eq!(
        (v["result"].as_str(), v["mechanism"].as_str()),
        (Some("pass"), Some("mx"))
    );
    assert_eq!(v["lookups"], 3);

    // A fail with its explanation (§6.2), macros expanded.
    let v = spf(&list, "192.0.2.99", "a@spf.test", &[]);
    assert_eq!(v["result"], "fail");
    assert_eq!(v["mechanism"], "-all");
    assert_eq!(
        v["explanation"],
        "192.0.2.99 is not allowed to send for spf.test"
    );

    // Two records: permerror; no record: none; the HELO identity for an empty sender.
    assert_eq!(
        spf(&list, "192.0.2.5", "a@two.spf.test", &[])["result"],
        "permerror"
    );
    assert_eq!(
        spf(&list, "192.0.2.5", "a@none.spf.test", &[])["result"],
        "none"
    );
    let v = spf(&list, "192.0.2.200", "", &["--helo", "helo.spf.test"]);
    assert_eq!(
        (v["result"].as_str(), v["mechanism"].as_str()),
        (Some("pass"), Some("a"))
    );

    // A lookup that times out or is refused is a temperror (§2.6.6), with the reason.
    let quick = ["--deadline", "1", "--attempts", "2"];
    for sender in ["a@slow.spf.test", "a@refusing.spf.test"] {
        let v = spf(&list, "192.0.2.5", sender, &quick);
        assert_eq!(v["result"], "temperror", "{sender}: {v}");
        assert!(v["problem"].as_str().unwrap().contains("failed"), "{v}");
    }

    // The text form names the result and the deciding mechanism.
    let (code, out, err) = mxscan(
        &[
            "spf",
            "-r",
            &list,
            "--ip",
            "192.0.2.99",
            "--sender",
            "a@spf.test",
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("spf.test: fail\n") && out.contains("-all"),
        "{out}"
    );
    sim.stop().unwrap();
}
