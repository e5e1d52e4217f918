//! A hostile world for `mxscan sim --hostile`: zones built to hurt a scanner, each under
//! `hostile.test`, served as zone files are. What each may cost a scan is bounded by the
//! budget per domain (`pipeline::budget`); `tests/it/hostile.rs` scans them.
//!
//! A resolver that sets TC and never answers over TCP is a fault profile, not a zone
//! (`--faults truncate=100,tcp=silent`).

use std::fmt::Write;
use std::path::Path;

use hickory_proto::rr::rdata::{A, MX, TXT};
use hickory_proto::rr::{Name, RData, Record};

use super::world::{ZoneError, ZoneFiles};

/// Each hostile domain and what it does.
pub const DOMAINS: &[(&str, &str)] = &[
    (
        "include-graph.hostile.test",
        "an SPF include graph of 26 levels, two records each including both of the next: 2^26 paths",
    ),
    (
        "mx-flood.hostile.test",
        "1 500 MX records (over TCP), each exchange with 60 A records",
    ),
    (
        "address-flood.hostile.test",
        "one exchange with 3 000 A records",
    ),
    (
        "ptr-flood.hostile.test",
        "one exchange whose address has 400 PTR names",
    ),
    (
        "cname-chain.hostile.test",
        "an exchange at the head of a 40-hop CNAME chain",
    ),
    (
        "huge-txt.hostile.test",
        "an SPF record of 20 000 bytes in 80 character-strings",
    ),
    (
        "many-rua.hostile.test",
        "a DMARC record with 600 rua URIs at 600 hosts of another organisation",
    ),
    (
        "odd-bytes.hostile.test",
        "exchanges whose labels hold every byte value, and TXT records with control characters and formulas",
    ),
];

const ZONE: &str = "hostile.test";

/// The hostile zones: `hostile.test`, its reverse zone `10.in-addr.arpa` and `reports.test`
/// (empty: nobody authorises reports).
pub fn zones() -> Result<ZoneFiles, ZoneError> {
    let mut z = ZoneFiles::default();
    let reports = "$TTL 300\n@ SOA ns.hostile.test. h.hostile.test. 1 3600 600 86400 300\n";
    z.load_text(reports.into(), Path::new("reports.test.zone"))?;
    z.load_text(forward(), Path::new("hostile.test.zone"))?;
    z.load_text(reverse(), Path::new("10.in-addr.arpa.zone"))?;
    for record in odd_bytes() {
        let added = z.add(record);
        debug_assert!(added, "under hostile.test");
    }
    Ok(z)
}

/// `odd-bytes`: exchanges whose first labels hold every byte value (52 to a label, each with an
/// address), an SPF record with a spreadsheet formula and control characters, and a DMARC
/// record whose rua holds a formula and a line break. Built in code: no zone file spells them.
fn odd_bytes() -> Vec<Record> {
    let domain = Name::from_ascii(format!("odd-bytes.{ZONE}.")).expect("valid");
    let record = |name: &Name, data: RData| Record::from_rdata(name.clone(), 300, data);
    let mut records = Vec::new();
    let bytes: Vec<u8> = (0..=255).collect();
    for (i, chunk) in bytes.chunks(52).enumerate() {
        let host = Name::from_labels([chunk].into_iter().chain(domain.iter()))
            .expect("labels of at most 63 bytes");
        records.push(record(&domain, RData::MX(MX::new(i as u16, host.clone()))));
        records.push(record(&host, RData::A(A::new(10, 0, 0, 25))));
    }
    let txt = |name: &Name, text: &[u8]| record(name, RData::TXT(TXT::from_bytes(vec![text])));
    records.push(txt(&domain, b"v=spf1 a:=cmd|' /C calc'!A0 \t\x1b[31m -all"));
    let dmarc = Name::from_ascii(format!("_dmarc.odd-bytes.{ZONE}.")).expect("valid");
    records.push(txt(
        &dmarc,
        b"v=DMARC1; p=none; rua=mailto:=HYPERLINK(\"x\")@odd.example\r\n",
    ));
    records
}

/// TXT record data as character-strings of at most 255 bytes.
fn strings(text: &str) -> String {
    text.as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn forward() -> String {
    let mut z = format!("$ORIGIN {ZONE}.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n");
    let mut add = |line: String| {
        z.push_str(&line);
        z.push('\n');
    };
    add("ns A 10.0.0.53".into());
    // A mail host every domain can use.
    add("mail A 10.0.0.25".into());

    add("include-graph MX 10 mail".into());
    // SPF targets are names as written, not relative to the zone: spelt out in full.
    add(format!(
        "include-graph TXT \"v=spf1 include:l0-0.include-graph.{ZONE} include:l0-1.include-graph.{ZONE} -all\""
    ));
    add("_dmarc.include-graph TXT \"v=DMARC1; p=none\"".into());
    for level in 0..26 {
        for j in 0..2 {
            let text = if level == 25 {
                "v=spf1 ip4:10.0.0.25 -all".to_string()
            } else {
                let next = level + 1;
                format!(
                    "v=spf1 include:l{next}-0.include-graph.{ZONE} include:l{next}-1.include-graph.{ZONE} -all"
                )
            };
            add(format!("l{level}-{j}.include-graph TXT \"{text}\""));
        }
    }

    for i in 0..1500 {
        add(format!("mx-flood MX {} mx{i}.mx-flood", i % 100));
        for j in 0..60 {
            add(format!("mx{i}.mx-flood A 10.1.{}.{j}", i % 250));
        }
    }

    add("address-flood MX 10 host.address-flood".into());
    for i in 0..3000 {
        add(format!("host.address-flood A 10.2.{}.{}", i / 250, i % 250));
    }

    add("ptr-flood MX 10 host.ptr-flood".into());
    add("host.ptr-flood A 10.3.0.1".into());
    for i in 0..400 {
        add(format!("p{i}.ptr-flood A 10.3.0.1"));
    }

    add("cname-chain MX 10 c0.cname-chain".into());
    for i in 0..40 {
        add(format!("c{i}.cname-chain CNAME c{}.cname-chain", i + 1));
    }
    add("c40.cname-chain A 10.0.0.25".into());

    add("huge-txt MX 10 mail".into());
    let terms: String = (0..1400)
        .map(|i| format!(" ip4:10.4.{}.{}", i / 250, i % 250))
        .collect();
    let spf = format!("v=spf1{terms} -all");
    add(format!(
        "huge-txt TXT {}",
        strings(&spf[..spf.len().min(20_000)])
    ));

    add("many-rua MX 10 mail".into());
    // Hosts of another organisation, which must authorise the reports (RFC 7489 §7.1).
    let rua: Vec<String> = (0..600)
        .map(|i| format!("mailto:d@r{i}.reports.test"))
        .collect();
    add(format!(
        "_dmarc.many-rua TXT {}",
        strings(&format!("v=DMARC1; p=reject; rua={}", rua.join(",")))
    ));

    z
}

fn reverse() -> String {
    let mut z = String::from(
        "$ORIGIN 10.in-addr.arpa.\n$TTL 300\n@ SOA ns.hostile.test. hostmaster.hostile.test. 1 3600 600 86400 300\n",
    );
    z.push_str("25.0.0 PTR mail.hostile.test.\n");
    for i in 0..400 {
        let _ = writeln!(z, "1.0.3 PTR p{i}.ptr-flood.{ZONE}.");
    }
    z
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hostile_zones_load() {
        let z = super::zones().unwrap();
        assert_eq!(z.zone_count(), 3);
    }
}
