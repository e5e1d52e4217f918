//! One test per finding code from hand-built lookup results: the code appears where the rule
//! says and not in a near miss.

use std::net::IpAddr;
use std::sync::Arc;

use super::*;
use crate::pipeline::lookup::{Answer, Data};
use crate::pipeline::result::{Address, Exchange, Host, Iprev};

fn ans(status: Status, data: Vec<Data>) -> Arc<Answer> {
    let mut a = Answer::failed(status, 1);
    a.data = data;
    Arc::new(a)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// An address whose PTR is `ptr` (none: NXDOMAIN) with the given iprev result.
fn address(addr: &str, ptr: &[&str], iprev: Iprev) -> Address {
    let ptr_answer = if ptr.is_empty() {
        ans(Status::NxDomain, vec![])
    } else {
        ans(
            Status::NoError,
            ptr.iter().map(|n| Data::Ptr((*n).into())).collect(),
        )
    };
    let forward = ptr
        .iter()
        .take(2)
        .map(|n| {
            let data = match (iprev, ip(addr)) {
                (Iprev::Pass, IpAddr::V4(v4)) => vec![Data::A(v4)],
                (Iprev::Pass, IpAddr::V6(v6)) => vec![Data::Aaaa(v6)],
                _ => vec![],
            };
            let status = if data.is_empty() {
                Status::NxDomain
            } else {
                Status::NoError
            };
            (n.to_string(), Some(ans(status, data)))
        })
        .collect();
    Address {
        ip: ip(addr),
        ptr: Some(if iprev == Iprev::TempError {
            ans(Status::ServFail, vec![])
        } else {
            ptr_answer
        }),
        ptr_names: ptr.iter().map(|s| s.to_string()).collect(),
        ptr_count: ptr.len(),
        forward,
        iprev,
    }
}

/// A host with these addresses, each with a matching PTR.
fn host(name: &str, addrs: &[&str]) -> Host {
    let v4: Vec<Data> = addrs
        .iter()
        .filter_map(|a| match ip(a) {
            IpAddr::V4(v) => Some(Data::A(v)),
            _ => None,
        })
        .collect();
    let v6: Vec<Data> = addrs
        .iter()
        .filter_map(|a| match ip(a) {
            IpAddr::V6(v) => Some(Data::Aaaa(v)),
            _ => None,
        })
        .collect();
    let st = |d: &Vec<Data>| {
        if d.is_empty() {
            Status::NoData
        } else {
            Status::NoError
        }
    };
    Host {
        name: name.into(),
        a: Some(ans(st(&v4), v4)),
        aaaa: Some(ans(st(&v6), v6)),
        walk: vec![],
        addresses: addrs
            .iter()
            .map(|a| address(a, &[name], Iprev::Pass))
            .collect(),
        tlsa: None,
    }
}

fn failed_host(name: &str, status: Status) -> Host {
    Host {
        name: name.into(),
        a: Some(ans(status, vec![])),
        aaaa: Some(ans(status, vec![])),
        walk: vec![],
        addresses: vec![],
        tlsa: None,
    }
}

fn domain(name: &str, exchanges: Vec<(u16, &str, Option<Host>)>) -> DomainResult {
    let data = exchanges
        .iter()
        .map(|(p, n, _)| Data::Mx {
            preference: *p,
            exchange: (*n).into(),
        })
        .collect();
    DomainResult {
        line: 1,
        domain: name.into(),
        extra: vec![],
        mx: ans(Status::NoError, data),
        walk: vec![],
        mx_count: exchanges.len(),
        cut: Default::default(),
        exchanges: exchanges
            .into_iter()
            .map(|(preference, n, host)| Exchange {
                preference,
                name: n.into(),
                host,
            })
            .collect(),
        implicit: None,
        senders: vec![],
        auth: None,
    }
}

/// A healthy domain: two exchanges, dual stack, different networks.
fn healthy() -> DomainResult {
    domain(
        "ok.example",
        vec![
            (
                10,
                "mx1.ok.example",
                Some(host("mx1.ok.example", &["8.8.1.1", "2a00:1::1"])),
            ),
            (
                20,
                "mx2.ok.example",
                Some(host("mx2.ok.example", &["8.8.2.1", "2a00:2::1"])),
            ),
        ],
    )
}

fn analysis() -> Analysis {
    Analysis {
        allow_special_use: true,
        ..Analysis::default()
    }
}

fn codes(r: &DomainResult) -> Vec<(&'static str, Severity, String)> {
    analysis()
        .analyze(r.clone())
        .findings
        .into_iter()
        .map(|f| (f.code.name(), f.severity, f.subject))
        .collect()
}

fn has(r: &DomainResult, code: &str) -> Option<(Severity, String)> {
    codes(r)
        .into_iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, s, subj)| (s, subj))
}

#[test]
fn healthy_domain_has_no_findings() {
    assert_eq!(codes(&healthy()), vec![]);
    let report = analysis().analyze(healthy());
    assert_eq!(
        (report.route, report.score.score),
        (Route::HasMx, Some(100))
    );
}

#[test]
fn domain_level_codes() {
    let mut nx = domain("gone.example", vec![]);
    nx.mx = ans(Status::NxDomain, vec![]);
    assert_eq!(has(&nx, "DOMAIN_NXDOMAIN").unwrap().0, Severity::Error);
    assert!(has(&healthy(), "DOMAIN_NXDOMAIN").is_none());

    let mut dangling = nx.clone();
    let mut a = Answer::failed(Status::NxDomain, 1);
    a.chain = vec!["target.example".into()];
    dangling.mx = Arc::new(a);
    assert!(has(&dangling, "DOMAIN_CNAME").is_some());
    assert!(has(&dangling, "DOMAIN_CNAME_DANGLING").is_some());
    assert!(has(&dangling, "DOMAIN_NXDOMAIN").is_none());

    let mut looped = domain("a.example", vec![]);
    looped.mx = ans(Status::ServFail, vec![]);
    looped.walk = vec!["b.example".into(), "a.example".into()];
    assert!(has(&looped, "DOMAIN_CNAME_LOOP").is_some());
    assert!(
        has(&looped, "DNS_SERVFAIL").is_none(),
        "the loop explains it"
    );
    let mut long = healthy();
    let mut a = (*long.mx).clone();
    a.chain = (1..=9).map(|i| format!("hop{i}.example")).collect();
    long.mx = Arc::new(a);
    assert!(has(&long, "DOMAIN_CNAME_LOOP").is_some());
    let mut eight = healthy();
    let mut a = (*eight.mx).clone();
    a.chain = (1..=8).map(|i| format!("hop{i}.example")).collect();
    eight.mx = Arc::new(a);
    assert!(has(&eight, "DOMAIN_CNAME_LOOP").is_none());
    assert!(has(&eight, "DOMAIN_CNAME").is_some());
}

#[test]
fn implicit_mx_and_no_mail_route() {
    let mut implicit = domain("imp.example", vec![]);
    implicit.mx = ans(Status::NoData, vec![]);
    implicit.implicit = Some(host("imp.example", &["8.8.3.1"]));
    let found = codes(&implicit);
    assert!(found.iter().any(|(c, ..)| *c == "IMPLICIT_MX"));
    assert!(
        !found.iter().any(|(c, ..)| c.starts_with("MX_")),
        "{found:?}"
    );
    let mut none = implicit.clone();
    none.implicit = Some(failed_host("imp.example", Status::NoData));
    assert_eq!(has(&none, "NO_MAIL_ROUTE").unwrap().0, Severity::Error);
    assert!(has(&none, "IMPLICIT_MX").is_none());
    // A failed A/AAAA lookup is not "no mail route".
    let mut failed = implicit.clone();
    failed.implicit = Some(failed_host("imp.example", Status::ServFail));
    assert!(has(&failed, "NO_MAIL_ROUTE").is_none());
    assert_eq!(route(&failed), Route::Indeterminate);
}

#[test]
fn null_mx_codes() {
    let null = domain("n.example", vec![(0, ".", None)]);
    assert!(has(&null, "MX_NULL").is_some());
    assert_eq!(route(&null), Route::NullMx);
    let nonzero = domain("n.example", vec![(10, ".", None)]);
    assert!(has(&nonzero, "MX_NULL").is_none());
    assert!(has(&nonzero, "MX_ROOT_TARGET_NONZERO_PREF").is_some());
    let mut with = healthy();
    with.exchanges.push(Exchange {
        preference: 0,
        name: ".".into(),
        host: None,
    });
    assert!(has(&with, "MX_NULL_WITH_OTHERS").is_some());
    assert!(has(&with, "MX_NULL").is_none());
    assert!(has(&healthy(), "MX_NULL_WITH_OTHERS").is_none());
}

#[test]
fn mx_set_codes() {
    let single = domain(
        "s.example",
        vec![(10, "mx.s.example", Some(host("mx.s.example", &["8.8.4.1"])))],
    );
    for code in [
        "MX_SINGLE_HOST",
        "MX_SINGLE_ADDRESS",
        "MX_SINGLE_NETWORK",
        "MX_NO_IPV6",
    ] {
        assert!(has(&single, code).is_some(), "{code}");
        assert!(has(&healthy(), code).is_none(), "{code}");
    }
    let dup = domain(
        "d.example",
        vec![
            (10, "mx.d.example", Some(host("mx.d.example", &["8.8.5.1"]))),
            (20, "mx.d.example", Some(host("mx.d.example", &["8.8.5.1"]))),
        ],
    );
    assert!(has(&dup, "MX_DUPLICATE_HOST").is_some());
    assert!(has(&dup, "MX_SHARED_ADDRESS").is_none(), "same exchange");
    let shared = domain(
        "sh.example",
        vec![
            (10, "a.sh.example", Some(host("a.sh.example", &["8.8.6.1"]))),
            (20, "b.sh.example", Some(host("b.sh.example", &["8.8.6.1"]))),
        ],
    );
    assert!(has(&shared, "MX_SHARED_ADDRESS").is_some());
    let many = domain(
        "m.example",
        (0..11)
            .map(|i| {
                (
                    i as u16,
                    "mx.ok.example",
                    Some(host("mx.ok.example", &["8.8.7.1"])),
                )
            })
            .collect(),
    );
    assert!(has(&many, "MX_TOO_MANY").is_some());
    let ten = domain(
        "m.example",
        (0..10)
            .map(|i| {
                (
                    i as u16,
                    "mx.ok.example",
                    Some(host("mx.ok.example", &["8.8.7.1"])),
                )
            })
            .collect(),
    );
    assert!(has(&ten, "MX_TOO_MANY").is_none());
}

#[test]
fn unusable_exchanges() {
    let broken = domain(
        "b.example",
        vec![(
            10,
            "gone.b.example",
            Some(failed_host("gone.b.example", Status::NxDomain)),
        )],
    );
    assert_eq!(
        has(&broken, "MX_TARGET_NXDOMAIN").unwrap(),
        (Severity::Error, "gone.b.example".into())
    );
    assert!(has(&broken, "MX_ALL_UNUSABLE").is_some());
    let mut primary = healthy();
    primary.exchanges[0].host = Some(failed_host("mx1.ok.example", Status::NxDomain));
    assert_eq!(
        has(&primary, "MX_TARGET_NXDOMAIN").unwrap().0,
        Severity::Warn
    );
    assert!(has(&primary, "MX_PRIMARY_UNUSABLE").is_some());
    assert!(has(&primary, "MX_ALL_UNUSABLE").is_none());
    let mut backup = healthy();
    backup.exchanges[1].host = Some(failed_host("mx2.ok.example", Status::NxDomain));
    assert!(has(&backup, "MX_PRIMARY_UNUSABLE").is_none());
    // A failed lookup is neither usable nor unusable (rule 3).
    let temp = domain(
        "t.example",
        vec![(
            10,
            "mx.t.example",
            Some(failed_host("mx.t.example", Status::ServFail)),
        )],
    );
    assert_eq!(
        has(&temp, "MX_TARGET_TEMPERROR").unwrap().0,
        Severity::Indeterminate
    );
    assert!(has(&temp, "MX_ALL_UNUSABLE").is_none());
    assert!(analysis().analyze(temp).score.provisional);
}

#[test]
fn target_name_codes() {
    let one = |name: &str, h: Option<Host>| domain("x.example", vec![(10, name, h)]);
    let literal = one("192.0.2.1", None);
    assert!(has(&literal, "MX_TARGET_IP_LITERAL").is_some());
    assert!(has(&literal, "MX_TARGET_SYNTAX").is_none());
    assert!(has(&literal, "MX_ALL_UNUSABLE").is_some());
    assert!(has(&one("[192.0.2.1]", None), "MX_TARGET_IP_LITERAL").is_some());
    let syntax = one(
        "mail-.x.example",
        Some(host("mail-.x.example", &["8.8.8.1"])),
    );
    assert_eq!(has(&syntax, "MX_TARGET_SYNTAX").unwrap().0, Severity::Warn);
    assert!(
        has(&syntax, "MX_ALL_UNUSABLE").is_none(),
        "WARN faults leave it usable"
    );
    assert!(has(&one("mx_1.x.example", None), "MX_TARGET_SYNTAX").is_some());
    let local = one("localhost", Some(host("localhost", &["127.0.0.1"])));
    assert!(has(&local, "MX_TARGET_LOCALHOST").is_some());
    assert!(has(&local, "MX_TARGET_SYNTAX").is_none());
    assert!(has(&local, "ADDR_LOOPBACK").is_some());
    assert!(has(&one("a.localhost", None), "MX_TARGET_LOCALHOST").is_some());
    assert!(has(&one("mail.x.invalid", None), "MX_TARGET_SPECIAL_USE").is_some());
    // .test is accepted in a test world, reported otherwise.
    let test = one("mail.x.test", Some(host("mail.x.test", &["8.8.8.2"])));
    assert!(has(&test, "MX_TARGET_SPECIAL_USE").is_none());
    let strict = Analysis::default().analyze(test);
    assert!(
        strict
            .findings
            .iter()
            .any(|f| f.code.name() == "MX_TARGET_SPECIAL_USE")
    );
    let noaddr = one(
        "m.x.example",
        Some(failed_host("m.x.example", Status::NoData)),
    );
    assert!(has(&noaddr, "MX_TARGET_NO_ADDRESS").is_some());
    let v6 = one("m.x.example", Some(host("m.x.example", &["2a00:9::1"])));
    assert!(has(&v6, "MX_TARGET_IPV6_ONLY").is_some());
    assert!(has(&healthy(), "MX_TARGET_IPV6_ONLY").is_none());
}

#[test]
fn target_cname_codes() {
    let mut h = host("m.x.example", &["8.8.9.1"]);
    let mut a = (**h.a.as_ref().unwrap()).clone();
    a.chain = vec!["real.x.example".into()];
    h.a = Some(Arc::new(a));
    let alias = domain("x.example", vec![(10, "m.x.example", Some(h))]);
    assert_eq!(has(&alias, "MX_TARGET_CNAME").unwrap().0, Severity::Warn);
    assert!(has(&alias, "MX_TARGET_CNAME_DANGLING").is_none());
    let mut dead = failed_host("m.x.example", Status::NxDomain);
    for x in [&mut dead.a, &mut dead.aaaa] {
        let mut a = (**x.as_ref().unwrap()).clone();
        a.chain = vec!["gone.x.example".into()];
        *x = Some(Arc::new(a));
    }
    let dangling = domain("x.example", vec![(10, "m.x.example", Some(dead))]);
    assert!(has(&dangling, "MX_TARGET_CNAME_DANGLING").is_some());
    assert!(has(&dangling, "MX_TARGET_NXDOMAIN").is_none(), "rule 4");
    let mut looped = failed_host("m.x.example", Status::ServFail);
    looped.walk = vec!["n.x.example".into(), "m.x.example".into()];
    let looped = domain("x.example", vec![(10, "m.x.example", Some(looped))]);
    assert!(has(&looped, "MX_TARGET_CNAME_DANGLING").is_some());
    assert!(has(&looped, "MX_TARGET_TEMPERROR").is_none());
    // A chain the resolver gave up on and the walk followed to its budget (12 hops, no
    // repeat) is too long: the exchange's alias is broken, not a temporary failure.
    let mut long = failed_host("m.x.example", Status::ServFail);
    long.walk = (1..=12).map(|i| format!("c{i}.x.example")).collect();
    let long = domain("x.example", vec![(10, "m.x.example", Some(long))]);
    assert!(has(&long, "MX_TARGET_CNAME_DANGLING").is_some());
    assert!(has(&long, "MX_TARGET_TEMPERROR").is_none());
    assert!(has(&long, "MX_ALL_UNUSABLE").is_some());
}

#[test]
fn address_codes() {
    let one = |addrs: &[&str]| {
        domain(
            "x.example",
            vec![(10, "m.x.example", Some(host("m.x.example", addrs)))],
        )
    };
    assert_eq!(
        has(&one(&["10.1.2.3"]), "ADDR_PRIVATE").unwrap(),
        (Severity::Error, "10.1.2.3".into())
    );
    assert!(has(&one(&["10.1.2.3"]), "MX_ALL_UNUSABLE").is_some());
    assert!(has(&one(&["127.0.0.2"]), "ADDR_LOOPBACK").is_some());
    assert!(has(&one(&["192.0.2.25"]), "ADDR_BOGON").is_some());
    assert!(has(&one(&["8.8.8.8"]), "ADDR_BOGON").is_none());
    // Findings (and so score_reasons) are in name order, not catalogue order.
    let names: Vec<&str> = codes(&one(&["192.0.2.25"])).iter().map(|c| c.0).collect();
    assert!(names.is_sorted() && names[0] == "ADDR_BOGON", "{names:?}");
    let reasons = analysis().analyze(one(&["192.0.2.25"])).score.reasons;
    assert_eq!(reasons[0].code, Code::ADDR_BOGON, "{reasons:?}");
    let mut half = healthy();
    half.exchanges.push(Exchange {
        preference: 30,
        name: "b.ok.example".into(),
        host: Some(host("b.ok.example", &["10.9.9.9"])),
    });
    assert_eq!(has(&half, "ADDR_PRIVATE").unwrap().0, Severity::Warn);
    // A test world's range is public.
    let a = Analysis {
        addresses: addr::AddrTable::new(vec!["198.18.0.0/15".parse().unwrap()]),
        ..analysis()
    };
    assert!(
        a.analyze(one(&["198.18.1.1"]))
            .findings
            .iter()
            .all(|f| f.code.name() != "ADDR_BOGON")
    );
    assert!(has(&one(&["198.18.1.1"]), "ADDR_BOGON").is_some());
}

#[test]
fn reverse_codes_by_role() {
    let with = |a: Address| {
        let mut h = host("m.x.example", &[]);
        h.a = Some(ans(Status::NoError, vec![]));
        h.addresses = vec![a];
        domain("x.example", vec![(10, "m.x.example", Some(h))])
    };
    let missing = with(address("8.8.1.1", &[], Iprev::PermError));
    assert_eq!(has(&missing, "PTR_MISSING").unwrap().0, Severity::Info);
    let fail = with(address("8.8.1.1", &["other.example"], Iprev::Fail));
    assert_eq!(has(&fail, "PTR_FCRDNS_FAIL").unwrap().0, Severity::Warn);
    let temp = with(address("8.8.1.1", &[], Iprev::TempError));
    assert!(has(&temp, "PTR_TEMPERROR").is_some());
    let generic = with(address(
        "8.8.1.1",
        &["8-8-1-1.dyn.isp.example"],
        Iprev::Pass,
    ));
    assert_eq!(has(&generic, "PTR_GENERIC").unwrap().0, Severity::Info);
    let multi = with(address(
        "8.8.1.1",
        &["a.x.example", "b.x.example"],
        Iprev::Pass,
    ));
    assert!(has(&multi, "PTR_MULTIPLE").is_some());
    assert!(has(&healthy(), "PTR_MULTIPLE").is_none());
    let mut cname = address("8.8.1.1", &["p.x.example"], Iprev::Pass);
    let mut f = (**cname.forward[0].1.as_ref().unwrap()).clone();
    f.chain = vec!["m.x.example".into()];
    cname.forward[0].1 = Some(Arc::new(f));
    assert!(has(&with(cname), "PTR_TARGET_CNAME").is_some());
    // Rule 8: no PTR_UNALIGNED for receiving addresses.
    let provider = with(address("8.8.1.1", &["mx.provider.example"], Iprev::Pass));
    assert!(has(&provider, "PTR_UNALIGNED").is_none());
}

#[test]
fn sender_codes() {
    let mut d = healthy();
    d.senders = vec![
        address("8.8.1.1", &["mx1.ok.example"], Iprev::Pass),
        address("9.9.9.1", &["out.ok.example"], Iprev::Pass),
        address("9.9.9.2", &[], Iprev::PermError),
        address("9.9.9.3", &["9-9-9-3.dsl.isp.example"], Iprev::Pass),
    ];
    let found = codes(&d);
    let at = |code: &str, ip: &str| {
        found
            .iter()
            .find(|(c, _, s)| *c == code && s == ip)
            .map(|x| x.1)
    };
    assert_eq!(at("SENDER_IP_NOT_IN_MX", "8.8.1.1"), None, "covered by mx1");
    assert_eq!(at("SENDER_IP_NOT_IN_MX", "9.9.9.1"), Some(Severity::Warn));
    assert_eq!(at("EGRESS_IPREV_GAP", "9.9.9.1"), None);
    assert_eq!(
        at("PTR_MISSING", "9.9.9.2"),
        Some(Severity::Error),
        "send role"
    );
    assert_eq!(at("EGRESS_IPREV_GAP", "9.9.9.2"), Some(Severity::Error));
    assert_eq!(at("PTR_GENERIC", "9.9.9.3"), Some(Severity::Warn));
    assert_eq!(at("EGRESS_IPREV_GAP", "9.9.9.3"), Some(Severity::Error));
    assert_eq!(at("PTR_UNALIGNED", "9.9.9.3"), Some(Severity::Info));
    assert_eq!(
        at("PTR_UNALIGNED", "9.9.9.1"),
        None,
        "same registrable domain"
    );
    assert!(!found.iter().any(|(c, ..)| *c == "REVERSE_MX_FAIL"));
    let report = analysis().analyze(d.clone());
    let verdicts: Vec<&str> = report.senders.iter().map(|s| s.verdict).collect();
    assert_eq!(verdicts, ["ok", "at_risk", "fail", "fail"]);
    assert_eq!(report.senders[0].mx_host.as_deref(), Some("mx1.ok.example"));

    let mut null = domain("n.example", vec![(0, ".", None)]);
    null.senders = vec![address("9.9.9.1", &["out.n.example"], Iprev::Pass)];
    assert!(has(&null, "REVERSE_MX_FAIL").is_some());
    assert!(has(&null, "SENDER_IP_NOT_IN_MX").is_some());
    assert_eq!(analysis().analyze(null).score.score, Some(0), "a gate");
}

#[test]
fn measurement_codes() {
    let with = |status: Status| {
        let mut d = domain("m.example", vec![]);
        d.mx = ans(status, vec![]);
        d
    };
    for (status, code) in [
        (Status::ServFail, "DNS_SERVFAIL"),
        (Status::Timeout, "DNS_TIMEOUT"),
        (Status::Refused, "DNS_REFUSED"),
    ] {
        let d = with(status);
        assert_eq!(has(&d, code).unwrap().0, Severity::Indeterminate);
        assert_eq!(route(&d), Route::Indeterminate);
        assert!(has(&d, "NO_MAIL_ROUTE").is_none(), "never counted as no MX");
    }
    let mut t = healthy();
    let mut a = (*t.mx).clone();
    a.truncated = true;
    t.mx = Arc::new(a);
    assert_eq!(has(&t, "DNS_TRUNCATED").unwrap().0, Severity::Info);
    let mut m = with(Status::NoData);
    let mut a = (*m.mx).clone();
    a.malformed = true;
    m.mx = Arc::new(a);
    assert_eq!(has(&m, "DNS_MALFORMED").unwrap().0, Severity::Warn);
    assert!(
        has(&healthy(), "DNS_TRUNCATED").is_none() && has(&healthy(), "DNS_MALFORMED").is_none()
    );
}

#[test]
fn provider_attribution_shares_equal_preference_credit() {
    let a = Analysis {
        providers: provider::Providers::parse(
            "suffix,provider,source\nbig.example,Big,mx\nfilter.example,Filter,mx\nbig-infra.example,Big,ptr\n",
            "t",
        )
        .unwrap(),
        ..analysis()
    };
    let d = domain(
        "x.example",
        vec![
            (
                10,
                "mx.big.example",
                Some(host("mx.big.example", &["8.8.1.1"])),
            ),
            (
                10,
                "in.filter.example",
                Some(host("in.filter.example", &["8.8.2.1"])),
            ),
            (20, "backup.other.example", None),
        ],
    );
    let credit = a.analyze(d).providers;
    assert_eq!(credit.get("Big").map(|c| c.share), Some(0.5));
    assert_eq!(credit.get("Filter").map(|c| c.share), Some(0.5));
    assert_eq!(provider::label(&credit), "Big:0.5;Filter:0.5");
    assert_eq!(provider::sources(&credit), "table;table");
    // Corroborated by PTR when the exchange's own name is unknown.
    let mut h = host("mx.vanity.example", &["8.8.1.1"]);
    h.addresses[0].ptr_names = vec!["m1.big-infra.example".into()];
    let d = domain("y.example", vec![(10, "mx.vanity.example", Some(h))]);
    assert_eq!(provider::label(&a.analyze(d).providers), "Big");
    // Unknown to the table: the exchange's registrable domain, the domain's own or another's.
    let d = domain(
        "z.example",
        vec![(5, "mx.z.example", None), (5, "in.smallhost.example", None)],
    );
    let credit = a.analyze(d).providers;
    assert_eq!(
        provider::label(&credit),
        "smallhost.example:0.5;z.example:0.5"
    );
    assert_eq!(provider::sources(&credit), "mx-domain;self");
}

#[test]
fn unmeasured_is_never_reported_as_measured() {
    // The implicit-MX path: NODATA, then the domain's own A/AAAA time out.
    let mut implicit = domain("imp.example", vec![]);
    implicit.mx = ans(Status::NoData, vec![]);
    implicit.implicit = Some(failed_host("imp.example", Status::Timeout));
    implicit.senders = vec![address("9.9.9.1", &["out.imp.example"], Iprev::Pass)];
    assert_eq!(route(&implicit), Route::Indeterminate);
    let found = analysis().analyze(implicit.clone()).findings;
    let reason = found
        .iter()
        .find(|f| f.code.name() == "DNS_TIMEOUT")
        .expect("the reason is given");
    assert_eq!(reason.severity, Severity::Indeterminate);
    assert!(reason.evidence.contains("implicit MX"), "{reason:?}");
    assert!(
        has(&implicit, "SENDER_IP_NOT_IN_MX").is_none(),
        "no claim about MX addresses that never arrived"
    );
    let report = analysis().analyze(implicit);
    assert_eq!((report.score.score, report.score.provisional), (None, true));
    assert_eq!(report.senders[0].verdict, "indeterminate");
    assert_eq!(report.senders[0].score.score, None);

    // Every kind of failed MX lookup: a reason, no score.
    for status in [
        Status::Timeout,
        Status::ServFail,
        Status::Refused,
        Status::Rcode(crate::wire::Rcode::NOTIMP),
    ] {
        let mut d = domain("m.example", vec![]);
        d.mx = ans(status, vec![]);
        let report = analysis().analyze(d);
        assert_eq!(report.route, Route::Indeterminate);
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.severity == Severity::Indeterminate && f.subject.is_empty()),
            "{status:?}: {:?}",
            report.findings
        );
        assert_eq!(report.score.score, None);
    }

    // A partial answer set: one exchange's AAAA timed out. "One address" and "no IPv6" would
    // be claims about the missing answer.
    let mut partial = domain(
        "p.example",
        vec![(10, "mx.p.example", Some(host("mx.p.example", &["8.8.1.1"])))],
    );
    assert!(has(&partial, "MX_SINGLE_ADDRESS").is_some());
    assert!(has(&partial, "MX_NO_IPV6").is_some());
    if let Some(Data::Mx { .. }) = partial.mx.data.first() {
        let h = partial.exchanges[0].host.as_mut().unwrap();
        h.aaaa = Some(ans(Status::Timeout, vec![]));
    }
    assert!(has(&partial, "MX_TARGET_TEMPERROR").is_some());
    assert!(has(&partial, "MX_SINGLE_ADDRESS").is_none());
    assert!(has(&partial, "MX_NO_IPV6").is_none());
    let report = analysis().analyze(partial);
    assert!(report.score.provisional && report.score.score.is_some());
}

#[test]
fn no_mail_authentication_findings_for_a_domain_that_does_not_exist() {
    use crate::mailauth::dmarc::Discovery;
    use crate::mailauth::spf::audit::Audit;
    use crate::pipeline::auth::Posture;
    use crate::pipeline::result::MailAuth;
    // The MX lookup timed out; the domain's TXT and DMARC questions found nothing.
    let mut r = domain("gone.example", vec![]);
    r.mx = ans(Status::Timeout, vec![]);
    r.auth = Some(MailAuth {
        posture: Posture {
            spf: Some(Audit::default()),
            dmarc: Some(Discovery::default()),
            ..Posture::default()
        },
        mta_sts: None,
        tls_rpt: None,
    });
    assert!(has(&r, "SPF_NONE").is_some() && has(&r, "DMARC_NONE").is_some());
    assert!(analysis().analyze(r.clone()).auth.is_some());
    // The TXT question at its name failed too: the domain may not exist, so no DMARC record
    // is no finding (the fault matrix's 60 % loss met one: an NXDOMAIN domain with DMARC_NONE).
    let mut unknown = r.clone();
    unknown.auth.as_mut().unwrap().posture.spf = Some(Audit {
        problems: vec![crate::mailauth::spf::audit::Problem::Failed(
            "gone.example".into(),
        )],
        ..Audit::default()
    });
    assert!(has(&unknown, "DMARC_NONE").is_none());
    assert!(has(&unknown, "SPF_TEMPERROR").is_some());
    // The TXT question at its name said NXDOMAIN: nothing is there to have a record.
    r.auth.as_mut().unwrap().posture.nxdomain = true;
    let report = analysis().analyze(r.clone());
    assert!(report.auth.is_none());
    let codes: Vec<_> = codes(&r).into_iter().map(|(c, ..)| c).collect();
    assert_eq!(codes, ["DNS_TIMEOUT"]);
}
