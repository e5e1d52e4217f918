//! The pipeline against an in-memory resolver: the sim's resolution logic over zone text, with
//! no sockets and no clock.

use std::collections::HashMap;
use std::path::Path;

use super::result::{DomainResult, Iprev};
use super::*;
use crate::fuzzing::sim_outcome as outcome;
use crate::sim::world::ZoneFiles;

const ZONE: &str = "\
$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 300
ns A 198.18.0.53
shop1 MX 10 mx1.provider
shop1 MX 20 mx2.provider
shop1 TXT \"v=spf1 mx include:_spf.provider.test -all\"
_dmarc.shop1 TXT \"v=DMARC1; p=reject; rua=mailto:a@reports.test\"
shop2 TXT \"v=spf1 include:_spf.provider.test -all\"
_spf.provider TXT \"v=spf1 ip4:198.18.0.0/16 \" \"-all\"
shop2 MX 10 mx1.provider
shop2 MX 20 mx2.provider
mx1.provider A 198.18.1.10
mx1.provider AAAA 2001:db8:1::10
mx2.provider A 198.18.2.10
implicit A 198.19.0.1
norout TXT \"no mail\"
null MX 0 .
literal MX 10 198.18.1.10.
loop1 CNAME loop2
loop2 CNAME loop1
hostloop MX 10 mail.hostloop
mail.hostloop CNAME mail2.hostloop
mail2.hostloop CNAME mail.hostloop
many-ptr MX 10 mail.many-ptr
mail.many-ptr A 198.19.0.9
a.many-ptr A 198.19.0.9
b.many-ptr A 198.19.0.99
";

const REVERSE: &str = "\
$TTL 300
@ SOA ns.test. hostmaster.test. 1 3600 600 86400 300
10.1 PTR mx1.provider.test.
10.2 PTR other.test.
";

const REVERSE19: &str = "\
$TTL 300
@ SOA ns.test. hostmaster.test. 1 3600 600 86400 300
1.0 PTR implicit.test.
9.0 PTR c.many-ptr.test.
9.0 PTR b.many-ptr.test.
9.0 PTR a.many-ptr.test.
";

fn world() -> ZoneFiles {
    let mut z = ZoneFiles::default();
    z.load_text(ZONE.into(), Path::new("test.zone")).unwrap();
    z.load_text(REVERSE.into(), Path::new("18.198.in-addr.arpa.zone"))
        .unwrap();
    z.load_text(REVERSE19.into(), Path::new("19.198.in-addr.arpa.zone"))
        .unwrap();
    z
}

/// Runs the pipeline over `domains` to the end; returns the results by domain and the
/// queries sent per question.
fn scan(
    domains: &[(&str, Vec<IpAddr>)],
    max_active: usize,
) -> (HashMap<String, DomainResult>, HashMap<(String, u16), u32>) {
    scan_checking(domains, max_active, Checks::default())
}

/// [`scan`] with mail-authentication `checks`.
fn scan_checking(
    domains: &[(&str, Vec<IpAddr>)],
    max_active: usize,
    checks: Checks,
) -> (HashMap<String, DomainResult>, HashMap<(String, u16), u32>) {
    scan_world(&world(), domains, max_active, checks)
}

/// [`scan_checking`] over `zones`.
fn scan_world(
    zones: &ZoneFiles,
    domains: &[(&str, Vec<IpAddr>)],
    max_active: usize,
    checks: Checks,
) -> (HashMap<String, DomainResult>, HashMap<(String, u16), u32>) {
    let mut p = Pipeline::new(max_active, CacheSize(1 << 20), checks);
    let mut input = domains.iter().enumerate();
    let mut sent: HashMap<(String, u16), u32> = HashMap::new();
    let mut results = HashMap::new();
    loop {
        while p.can_start() {
            let Some((i, (d, senders))) = input.next() else {
                break;
            };
            p.start(DomainInput {
                ordinal: i as u64,
                line: i as u64 + 1,
                domain: d.to_string(),
                extra: vec![],
                senders: senders.clone(),
            });
        }
        let batch: Vec<_> = std::iter::from_fn(|| p.poll_query()).collect();
        while let Some(f) = p.poll_finished() {
            let r = DomainResult::assemble(&f);
            assert!(results.insert(r.domain.clone(), r).is_none(), "once");
        }
        if batch.is_empty() && p.active() == 0 && input.len() == 0 {
            break;
        }
        assert!(!batch.is_empty(), "active domains always have a query out");
        for q in batch {
            *sent
                .entry((q.name.clone(), u16::from(q.qtype)))
                .or_default() += 1;
            p.handle_outcome(&outcome(zones, &q));
        }
        while let Some(f) = p.poll_finished() {
            let r = DomainResult::assemble(&f);
            assert!(results.insert(r.domain.clone(), r).is_none(), "once");
        }
    }
    (results, sent)
}

#[test]
fn mx_then_addresses_then_reverse_then_forward() {
    let (r, sent) = scan(&[("shop1.test", vec![]), ("shop2.test", vec![])], 10);
    let shop = &r["shop1.test"];
    assert_eq!(shop.exchanges.len(), 2);
    let mx1 = shop.exchanges[0].host.as_ref().unwrap();
    assert_eq!(mx1.name, "mx1.provider.test");
    let ips: Vec<String> = mx1.addresses.iter().map(|a| a.ip.to_string()).collect();
    assert_eq!(ips, ["198.18.1.10", "2001:db8:1::10"]);
    assert_eq!(mx1.addresses[0].iprev, Iprev::Pass);
    assert_eq!(mx1.addresses[0].ptr_names, ["mx1.provider.test"]);
    // No reverse zone for the IPv6 address: the resolver answers SERVFAIL.
    assert_eq!(mx1.addresses[1].iprev, Iprev::TempError);
    let mx2 = shop.exchanges[1].host.as_ref().unwrap();
    assert_eq!(mx2.addresses[0].iprev, Iprev::Fail);
    // Shared lookups: both domains use the provider, each question goes out once.
    assert!(sent.values().all(|&n| n == 1), "{sent:?}");
    assert_eq!(sent[&("mx1.provider.test.".to_string(), 1)], 1);
}

#[test]
fn implicit_mx_null_mx_literal_and_no_route() {
    let (r, sent) = scan(
        &[
            ("implicit.test", vec![]),
            ("null.test", vec![]),
            ("literal.test", vec![]),
            ("norout.test", vec![]),
            ("gone.test", vec![]),
        ],
        2,
    );
    let imp = r["implicit.test"].implicit.as_ref().unwrap();
    assert_eq!(imp.addresses[0].iprev, Iprev::Pass);
    assert!(r["null.test"].exchanges[0].host.is_none());
    assert_eq!(r["null.test"].exchanges[0].name, ".");
    assert!(r["literal.test"].exchanges[0].host.is_none());
    assert!(
        !sent.contains_key(&("198.18.1.10.".to_string(), 1)),
        "IP literals are not looked up"
    );
    let no = r["norout.test"].implicit.as_ref().unwrap();
    assert!(no.addresses.is_empty());
    assert_eq!(r["gone.test"].mx.status, Status::NxDomain);
    assert!(r["gone.test"].implicit.is_none());
}

#[test]
fn loops_are_walked_one_hop_at_a_time() {
    let (r, _) = scan(&[("loop1.test", vec![]), ("hostloop.test", vec![])], 10);
    let l = &r["loop1.test"];
    assert_eq!(l.mx.status, Status::ServFail);
    assert_eq!(l.walk, ["loop2.test", "loop1.test"]);
    let host = r["hostloop.test"].exchanges[0].host.as_ref().unwrap();
    assert_eq!(host.walk, ["mail2.hostloop.test", "mail.hostloop.test"]);
}

#[test]
fn forward_checks_stop_after_two_sorted_names_and_senders_get_them_too() {
    let sender: IpAddr = "198.19.0.1".parse().unwrap();
    let (r, sent) = scan(&[("many-ptr.test", vec![sender, sender])], 10);
    let d = &r["many-ptr.test"];
    let addr = &d.exchanges[0].host.as_ref().unwrap().addresses[0];
    assert_eq!(
        addr.ptr_names,
        ["a.many-ptr.test", "b.many-ptr.test", "c.many-ptr.test"]
    );
    assert_eq!(addr.forward.len(), 2);
    assert_eq!(addr.iprev, Iprev::Pass);
    assert!(!sent.contains_key(&("c.many-ptr.test.".to_string(), 1)));
    assert_eq!(
        d.senders.len(),
        1,
        "a sender IP given twice is checked once"
    );
    assert_eq!(d.senders[0].iprev, Iprev::Pass);
}

#[test]
fn a_window_of_one_still_finishes_everything() {
    let names: Vec<(&str, Vec<IpAddr>)> = [
        "shop1.test",
        "shop2.test",
        "implicit.test",
        "loop1.test",
        "null.test",
        "gone.test",
    ]
    .iter()
    .map(|d| (*d, vec![]))
    .collect();
    let (r, _) = scan(&names, 1);
    assert_eq!(r.len(), names.len());
}

#[test]
fn temporary_failures_make_iprev_temperror() {
    use super::result::iprev;
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let fail = Answer::failed(Status::ServFail, 3);
    assert_eq!(iprev(ip, Some(&fail), &[]), Iprev::TempError);
    assert_eq!(iprev(ip, None, &[]), Iprev::TempError);
    let nx = Answer::failed(Status::NxDomain, 1);
    assert_eq!(iprev(ip, Some(&nx), &[]), Iprev::PermError);
}

#[test]
fn mail_auth_checks_share_provider_records_and_finish_every_job() {
    use crate::mailauth::spf::SpfResult;
    let senders: Vec<IpAddr> = vec!["198.18.2.10".parse().unwrap(), "192.0.2.1".parse().unwrap()];
    let domains = [
        ("shop1.test", senders),
        ("shop2.test", vec![]),
        ("null.test", vec![]),
        ("gone.test", vec![]),
    ];
    let (results, sent) = scan_checking(&domains, 3, Checks::ALL);
    let posture = &results["shop1.test"].auth.as_ref().unwrap().posture;
    let audit = posture.spf.as_ref().unwrap();
    assert_eq!(audit.lookups, 2, "mx and the include");
    assert!(audit.problems.is_empty(), "{audit:?}");
    let result = |list: &[(IpAddr, crate::mailauth::spf::Evaluation)], ip: &str| {
        let ip: IpAddr = ip.parse().unwrap();
        list.iter().find(|(i, _)| *i == ip).map(|(_, e)| e.result)
    };
    assert_eq!(
        result(&posture.senders, "198.18.2.10"),
        Some(SpfResult::Pass)
    );
    assert_eq!(result(&posture.senders, "192.0.2.1"), Some(SpfResult::Fail));
    // Every MX address is checked, and passes through `mx`.
    assert_eq!(posture.mx.len(), 3, "{:?}", posture.mx);
    assert!(posture.mx.iter().all(|(_, e)| e.result == SpfResult::Pass));
    let dmarc = posture.dmarc.as_ref().unwrap();
    assert_eq!(dmarc.at.as_deref(), Some("_dmarc.shop1.test"));
    assert_eq!(
        posture.rua.len(),
        1,
        "reports.test's authorisation was asked"
    );
    // The provider's record is asked once for both domains; the domains' own records once each.
    assert_eq!(sent[&("_spf.provider.test.".to_string(), 16)], 1);
    assert_eq!(sent[&("shop1.test.".to_string(), 16)], 1);
    let no_spf = &results["null.test"].auth.as_ref().unwrap().posture;
    assert!(no_spf.spf.as_ref().unwrap().record.is_none() && no_spf.mx.is_empty());
    assert!(!no_spf.nxdomain);
    // The TXT question at a missing domain's name tells the analysis it does not exist.
    assert!(results["gone.test"].auth.as_ref().unwrap().posture.nxdomain);

    // `--checks mx` asks no TXT or TLSA question and carries no posture.
    let (results, sent) = scan(&domains, 3);
    assert!(sent.keys().all(|(_, t)| *t != 16 && *t != 52), "{sent:?}");
    assert!(results.values().all(|r| r.auth.is_none()));
}

#[test]
fn only_names_outside_the_domain_are_kept_for_other_domains() {
    let d = "shop1.test";
    let kept = |key: Key| shared(&key, d);
    // The domain's own questions: only it asks them in a survey.
    assert!(!kept(Key::Mx(d.into())));
    assert!(!kept(Key::A("mail.shop1.test".into())));
    assert!(!kept(Key::Aaaa("mail.shop1.test".into())));
    assert!(!kept(Key::Txt("_dmarc.shop1.test".into())));
    assert!(!kept(Key::Tlsa("_25._tcp.mx.shop1.test".into())));
    // A provider's or a hoster's hosts, a name that merely ends alike, and reverse names.
    assert!(kept(Key::A("mx1.provider.test".into())));
    assert!(kept(Key::A("mail.myshop1.test".into())));
    assert!(kept(Key::Mx("other.test".into())));
    assert!(kept(Key::Ptr("198.19.0.9".parse().unwrap())));
}

/// A domain with 40 MX, each with 12 addresses, each with three PTR names that map back, a
/// DMARC record with 20 report addresses: every list is read to its limit, the questions stop
/// at the domain's budget, and the result says what was cut.
#[test]
fn a_flood_of_records_is_read_to_the_budget_and_says_what_was_cut() {
    let mut zone = String::from("$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n");
    let mut reverse = String::from("$TTL 300\n@ SOA ns.test. h.test. 1 3600 600 86400 300\n");
    for i in 0..40 {
        zone += &format!("flood MX {i} mx{i}.flood\n");
        for j in 0..12 {
            zone += &format!("mx{i}.flood A 198.20.{i}.{j}\n");
            for k in 0..3 {
                let name = format!("p{k}-{i}-{j}.flood");
                reverse += &format!("{j}.{i} PTR {name}.test.\n");
                zone += &format!("{name} A 198.20.{i}.{j}\n");
            }
        }
    }
    let rua: Vec<String> = (0..20).map(|i| format!("mailto:r@h{i}.example")).collect();
    // Character-strings of at most 255 bytes, joined by the reader.
    let halves = [rua[..10].join(","), rua[10..].join(",")];
    zone += &format!(
        "_dmarc.flood TXT \"v=DMARC1; p=none; rua={},\" \"{}\"\n",
        halves[0], halves[1]
    );
    zone += "flood TXT \"v=spf1 mx -all\"\n";
    let mut zones = world();
    zones.load_text(zone, Path::new("test.zone")).unwrap();
    zones
        .load_text(reverse, Path::new("20.198.in-addr.arpa.zone"))
        .unwrap();
    let (r, sent) = scan_world(&zones, &[("flood.test", vec![])], 1, Checks::DEFAULT);
    let r = &r["flood.test"];
    let asked: u32 = sent.values().sum();
    assert!(asked as usize <= budget::QUESTIONS, "{asked} questions");
    assert_eq!((r.mx_count, r.exchanges.len()), (40, budget::EXCHANGES));
    let preferences: Vec<u16> = r.exchanges.iter().map(|e| e.preference).collect();
    assert_eq!(preferences, (0..16).collect::<Vec<u16>>(), "by preference");
    let host = r.exchanges[0].host.as_ref().unwrap();
    assert_eq!(host.addresses.len(), budget::ADDRESSES);
    assert_eq!(host.addresses[0].ptr_count, 3);
    assert_eq!(r.cut.exchanges, 24);
    assert_eq!(r.cut.addresses, 16 * 4);
    assert_eq!(r.cut.rua, 12);
    assert!(r.cut.questions > 0, "{:?}", r.cut);
    let posture = &r.auth.as_ref().unwrap().posture;
    assert_eq!(posture.rua.len(), budget::RUA);
    assert!(!sent.contains_key(&("_report._dmarc.h8.example".into(), 16)));
}
