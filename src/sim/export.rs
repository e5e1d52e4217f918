//! Zone files for an authoritative server (NSD) from any [`Zones`] source, the synthetic world
//! included: every record the given questions reach, so a real farm (NSD behind Unbound,
//! `scripts/farm.sh`) answers those questions as the sim does. The questions are a scan's
//! `--questions-log`: the synthetic world computes its answers on the fly and has no list of
//! its own records, and a scan's questions are the part of it a benchmark needs.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::world::{MAX_CNAME_HOPS, NameData, Zones};

/// What [`write_zones`] wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub questions: u64,
    pub zones: usize,
    pub records: usize,
    /// Names that exist with none of the asked types: each gets an HINFO record, so that the
    /// server answers NODATA for them rather than NXDOMAIN.
    pub placeholders: usize,
}

#[derive(Default)]
struct Zone {
    /// Its SOA and NS records, written only when it is a file's own apex.
    apex: Vec<String>,
    /// Its other records in presentation form, sorted and without repeats.
    lines: BTreeSet<String>,
}

/// Reads `questions` (lines `name. TYPE`, as `mxscan scan --questions-log` writes them), looks
/// each one up in `zones`, following CNAME chains as a resolver would, and writes the records
/// found as zone files in `dir`, `<zone>.zone` (the root as `root.zone`).
///
/// A zone under another one is written into its parent's file (the synthetic world makes a
/// zone of every domain: 100 000 stub zones would only slow Unbound's start); a name the world
/// answers NXDOMAIN from outside any of its zones gets a root zone of its own, so that the
/// farm says NXDOMAIN too, not SERVFAIL.
pub fn write_zones(zones: &dyn Zones, questions: impl BufRead, dir: &Path) -> io::Result<Exported> {
    let mut out: BTreeMap<Name, Zone> = BTreeMap::new();
    let mut asked: HashSet<(Name, RecordType)> = HashSet::new();
    let mut owners: HashSet<Name> = HashSet::new();
    let mut empty: BTreeSet<Name> = BTreeSet::new();
    let mut exported = Exported::default();
    for (number, line) in questions.lines().enumerate() {
        let line = line?;
        let Some((name, qtype)) = line.trim().split_once(' ') else {
            continue;
        };
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("question {}: {what} in {line:?}", number + 1),
            )
        };
        let name = Name::from_ascii(name).map_err(|_| bad("not a domain name"))?;
        let qtype = RecordType::from_str(qtype).map_err(|_| bad("not a record type"))?;
        exported.questions += 1;
        let mut name = name.to_lowercase();
        if let Some(d) = zones.broken_delegation(&name) {
            // Not the zone's records: the delegation to a server that cannot answer for it.
            let zone = zone_of(&mut out, zones, &d.parent_soa);
            zone.lines.insert(format!("{} 3600 IN NS {}", d.zone, d.ns));
            zone.lines
                .insert(format!("{} 3600 IN A {}", d.ns, d.address));
            continue;
        }
        for _ in 0..=MAX_CNAME_HOPS {
            if !asked.insert((name.clone(), qtype)) {
                break;
            }
            let (records, soa) = match zones.lookup(&name, qtype) {
                NameData::OutOfWorld => break,
                NameData::NoSuchName { soa } if !soa.name.zone_of(&name) => {
                    let mut root = soa;
                    root.name = Name::root();
                    (Vec::new(), root)
                }
                NameData::NoSuchName { soa } => (Vec::new(), soa),
                NameData::Exists { records, soa } => {
                    if records.is_empty() {
                        empty.insert(name.clone());
                    }
                    (records, soa)
                }
            };
            let zone = zone_of(&mut out, zones, &soa);
            let mut next = None;
            for record in &records {
                owners.insert(record.name.to_lowercase());
                zone.lines.insert(record_line(record));
                if let RData::CNAME(target) = &record.data
                    && qtype != RecordType::CNAME
                {
                    next = Some(target.0.to_lowercase());
                }
            }
            match next {
                Some(target) => name = target,
                None => break,
            }
        }
    }
    // Each zone goes into the file of its highest enclosing zone (the root encloses none).
    let apexes: Vec<Name> = out.keys().cloned().collect();
    let file_of = |name: &Name| -> Option<Name> {
        apexes
            .iter()
            .filter(|apex| apex.zone_of(name) && (!apex.is_root() || name.is_root()))
            .min_by_key(|apex| apex.num_labels())
            .cloned()
    };
    let mut files: BTreeMap<Name, BTreeSet<String>> = BTreeMap::new();
    for (apex, zone) in &out {
        let file = file_of(apex).unwrap_or_else(|| apex.clone());
        let lines = files.entry(file.clone()).or_default();
        if file == *apex {
            lines.extend(zone.apex.iter().cloned());
        }
        lines.extend(zone.lines.iter().cloned());
    }
    for name in empty.iter().filter(|n| !owners.contains(*n)) {
        if let Some(lines) = file_of(name).and_then(|file| files.get_mut(&file)) {
            lines.insert(format!("{name} 3600 IN HINFO \"mxscan\" \"placeholder\""));
            exported.placeholders += 1;
        }
    }
    std::fs::create_dir_all(dir)?;
    for (apex, lines) in &files {
        let file_name = match apex.to_ascii().trim_end_matches('.') {
            "" => "root".to_string(),
            name => name.to_string(),
        };
        let mut w = BufWriter::new(File::create(dir.join(format!("{file_name}.zone")))?);
        writeln!(w, "$ORIGIN {apex}")?;
        for line in lines {
            writeln!(w, "{line}")?;
        }
        w.flush()?;
        exported.records += lines.len();
    }
    exported.zones = files.len();
    Ok(exported)
}

/// A record in zone-file form. hickory prints TXT data unquoted, which a zone parser reads
/// back as one string per word: each character-string is quoted here, `"` and `\\` escaped and
/// bytes outside printable ASCII written as `\DDD`.
fn record_line(record: &Record) -> String {
    let RData::TXT(txt) = &record.data else {
        return record.to_string();
    };
    let mut line = format!("{} {} {} TXT", record.name, record.ttl, record.dns_class);
    for string in txt.txt_data.iter() {
        line.push_str(" \"");
        for &b in string.iter() {
            match b {
                b'"' | b'\\' => {
                    line.push('\\');
                    line.push(b as char);
                }
                0x20..=0x7e => line.push(b as char),
                _ => line.push_str(&format!("\\{b:03}")),
            }
        }
        line.push('"');
    }
    line
}

/// The zone whose SOA is `soa`, created with its SOA and NS records on first use.
fn zone_of<'a>(out: &'a mut BTreeMap<Name, Zone>, zones: &dyn Zones, soa: &Record) -> &'a mut Zone {
    let apex = soa.name.to_lowercase();
    out.entry(apex.clone()).or_insert_with(|| {
        let mut zone = Zone::default();
        zone.apex.push(record_line(soa));
        if let NameData::Exists { records, .. } = zones.lookup(&apex, RecordType::NS) {
            let ns = records.iter().filter(|r| r.record_type() == RecordType::NS);
            zone.apex.extend(ns.map(record_line));
        }
        zone
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SyntheticWorld;
    use crate::sim::world::{ZoneFiles, resolve};

    /// The zone files answer every question as the synthetic world does: same rcode, same
    /// answer section (CNAME chain included).
    #[test]
    fn exported_zones_answer_the_questions_as_the_world_does() {
        let world = SyntheticWorld::new(3_000, 7);
        let mut questions = String::new();
        let mut asked = Vec::new();
        for i in 0..3_000 {
            let domain = format!("{}.", SyntheticWorld::domain(i));
            for qtype in ["MX", "TXT", "A"] {
                questions.push_str(&format!("{domain} {qtype}\n"));
                asked.push((domain.clone(), qtype));
            }
            questions.push_str(&format!("_dmarc.{domain} TXT\n"));
            asked.push((format!("_dmarc.{domain}"), "TXT"));
        }
        // The MX targets' addresses and their reverse names, as a scan asks them.
        let mut more = Vec::new();
        for (name, qtype) in &asked {
            let answer = resolve(
                &world,
                &Name::from_ascii(name).unwrap(),
                RecordType::from_str(qtype).unwrap(),
            );
            for r in &answer.answers {
                match &r.data {
                    RData::MX(mx) if !mx.exchange.is_root() => {
                        more.push((mx.exchange.to_ascii(), "A"));
                        more.push((format!("_25._tcp.{}", mx.exchange.to_ascii()), "TLSA"));
                    }
                    RData::A(a) => more.push((
                        hickory_proto::rr::Name::from(std::net::IpAddr::V4(a.0)).to_ascii(),
                        "PTR",
                    )),
                    _ => {}
                }
            }
        }
        for (name, qtype) in more {
            questions.push_str(&format!("{name} {qtype}\n"));
            asked.push((name, qtype));
        }
        let dir = tempfile::tempdir().unwrap();
        let exported = write_zones(&world, questions.as_bytes(), dir.path()).unwrap();
        assert!(
            exported.zones >= 2 && exported.records > 3_000,
            "{exported:?}"
        );
        let files = ZoneFiles::load_dir(dir.path()).unwrap();
        let mut nodata = 0;
        for (name, qtype) in &asked {
            let (name, qtype) = (
                Name::from_ascii(name).unwrap(),
                RecordType::from_str(qtype).unwrap(),
            );
            let want = resolve(&world, &name, qtype);
            let got = resolve(&files, &name, qtype);
            assert_eq!(got.rcode, want.rcode, "{name} {qtype}");
            // An RRset has no order (NSD and Unbound keep none either): compare the records.
            let sorted = |records: &[Record]| {
                let mut lines: Vec<String> = records.iter().map(record_line).collect();
                lines.sort();
                lines
            };
            assert_eq!(
                sorted(&got.answers),
                sorted(&want.answers),
                "{name} {qtype}"
            );
            nodata += usize::from(
                want.answers.is_empty() && want.rcode == hickory_proto::op::ResponseCode::NoError,
            );
        }
        assert!(nodata > 0, "the world has NODATA answers to check");
    }

    #[test]
    fn txt_strings_are_quoted_and_escaped() {
        let record = Record::from_rdata(
            Name::from_ascii("t.test.").unwrap(),
            60,
            RData::TXT(hickory_proto::rr::rdata::TXT::from_bytes(vec![
                b"v=spf1 -all".as_slice(),
                b"a\"b\\c\x01",
            ])),
        );
        assert_eq!(
            record_line(&record),
            r#"t.test. 60 IN TXT "v=spf1 -all" "a\"b\\c\001""#
        );
    }

    #[test]
    fn a_bad_question_line_is_an_error_naming_it() {
        let world = SyntheticWorld::new(10, 1);
        let dir = tempfile::tempdir().unwrap();
        let err = write_zones(
            &world,
            "syn0.test. MX\nsyn1.test. NOTATYPE\n".as_bytes(),
            dir.path(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("question 2"), "{err}");
    }
}
