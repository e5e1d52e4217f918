//! `mxscan sim` serves the sample world exactly as Unbound in front of NSD does: for every MX,
//! A, AAAA and PTR question the world raises, both give the same rcode and the same answer
//! section (records sorted, TTLs aside, since Unbound counts them down from its cache).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Farm, ask, repo_path};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use mxscan::sim::{self, ResolverConfig, ZoneFiles};

/// rcode and answer records without TTLs, sorted; `None` when no answer came.
fn digest(reply: Option<Message>) -> Option<(String, Vec<String>)> {
    let msg = reply?;
    let mut answers: Vec<String> = msg
        .answers
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.name.to_ascii().to_lowercase(),
                r.record_type(),
                r.data
            )
        })
        .collect();
    answers.sort();
    Some((format!("{:?}", msg.metadata.response_code), answers))
}

/// Every question the sample world raises for a mail scan.
fn questions(world: &ZoneFiles) -> BTreeSet<(String, RecordType)> {
    let mut names: BTreeSet<Name> = world.names().collect();
    let mut addresses = Vec::new();
    for record in world.records() {
        match &record.data {
            RData::MX(mx) => names.insert(mx.exchange.to_lowercase()),
            RData::PTR(p) => names.insert(p.0.to_lowercase()),
            RData::CNAME(c) => names.insert(c.0.to_lowercase()),
            RData::A(a) => {
                addresses.push(std::net::IpAddr::V4(a.0));
                false
            }
            RData::AAAA(a) => {
                addresses.push(std::net::IpAddr::V6(a.0));
                false
            }
            _ => false,
        };
    }
    let list = std::fs::read_to_string(repo_path("data/domains.txt")).unwrap();
    for line in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Ok(name) = Name::from_utf8(line) {
            names.insert(name.to_lowercase());
        }
    }
    let mut out = BTreeSet::new();
    for name in names.iter().filter(|n| !n.is_root()) {
        let text = name.to_ascii();
        let types: &[RecordType] = if text.ends_with(".arpa.") {
            &[RecordType::PTR]
        } else {
            &[RecordType::MX, RecordType::A, RecordType::AAAA]
        };
        for t in types {
            out.insert((text.clone(), *t));
        }
    }
    for ip in addresses {
        out.insert((Name::from(ip).to_ascii(), RecordType::PTR));
    }
    out
}

#[test]
fn sim_serves_the_sample_world_exactly_as_unbound_and_nsd() {
    let world = ZoneFiles::load_dir(&repo_path("data/zones")).expect("load data/zones");
    let questions = questions(&world);
    assert!(questions.len() > 1500, "only {} questions", questions.len());
    let farm = Farm::start(1);
    let config = ResolverConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        faults: Default::default(),
    };
    let sim = sim::start(Arc::new(world), &[config], 1).unwrap();
    let sim_addr: SocketAddr = sim.addrs()[0];
    let unbound = farm.resolvers[0];

    let mut differences = Vec::new();
    let mut unanswered = 0;
    for (name, qtype) in &questions {
        // `deny` zones answer nothing at all: one short try keeps those questions cheap. Any
        // other question is asked up to three times, as a stub resolver would: a single lost
        // or late datagram is not a difference between the two servers.
        let (timeout, tries) = if name.contains("timeout-dns.test") {
            (Duration::from_millis(700), 1)
        } else {
            (Duration::from_secs(3), 3)
        };
        let answer = |server: SocketAddr| {
            (0..tries)
                .map(|_| digest(ask(server, name, u16::from(*qtype), timeout)))
                .find(Option::is_some)
                .flatten()
        };
        let farm_answer = answer(unbound);
        let sim_answer = answer(sim_addr);
        unanswered += usize::from(farm_answer.is_none());
        if farm_answer != sim_answer {
            differences.push(format!(
                "{name} {qtype}:\n  unbound: {farm_answer:?}\n  sim:     {sim_answer:?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} questions differ:\n{}",
        differences.len(),
        questions.len(),
        differences.join("\n")
    );
    // Only the `deny` zone goes unanswered.
    assert!(
        unanswered <= 6,
        "{unanswered} questions unanswered by Unbound"
    );
    let counters = sim.stop().unwrap();
    assert!(
        counters[0].counters.get(mxscan::sim::Event::TruncatedSize) > 0,
        "big-mx.test must truncate over UDP"
    );
    assert!(counters[0].counters.get(mxscan::sim::Event::TcpQuery) > 0);
}
