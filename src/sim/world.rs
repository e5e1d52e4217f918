//! What the simulated farm knows: a [`Zones`] source (zone files or the synthetic world) and the
//! recursive-resolver view of it, [`resolve`], which follows CNAME chains the way Unbound does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

/// Longest CNAME chain followed before answering SERVFAIL, as Unbound does for loops and
/// over-long chains (its `MAX_RESTART_COUNT` is 11 restarts; the sample world's loop and its
/// 9-hop chain sit on either side of the 8-hop limit of the findings spec, not of this one).
pub const MAX_CNAME_HOPS: usize = 11;

/// What a data source holds at one owner name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameData {
    /// No zone of this world encloses the name.
    OutOfWorld,
    /// The name does not exist in its zone; the zone's SOA goes in the authority section.
    NoSuchName { soa: Record },
    /// The name exists. `records` holds the requested type's RRset, or the name's CNAME when it
    /// has one and another type was asked for; empty means NODATA.
    Exists { records: Vec<Record>, soa: Record },
}

/// A resolver-side policy for a query name, as Unbound's `local-zone` types of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Drop the query without an answer (`deny`): the client times out.
    Deny,
    /// Answer REFUSED (`refuse`).
    Refuse,
    /// Answer SERVFAIL, as a resolver does for a zone whose only servers are lame (no
    /// `local-zone` type of Unbound's; the synthetic world's broken authorities).
    ServFail,
}

/// A zone delegated to a name server that cannot answer for it: what the exported zone files
/// hold for it instead of its records (see [`Zones::broken_delegation`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenDelegation {
    /// The delegated zone.
    pub zone: Name,
    /// The SOA of the parent zone that holds the delegation.
    pub parent_soa: Record,
    /// Its one name server, and that server's address (glue).
    pub ns: Name,
    pub address: std::net::Ipv4Addr,
}

/// A source of authoritative data, looked up one owner name and type at a time.
pub trait Zones: Send + Sync {
    /// `name` is lower-cased and fully qualified.
    fn lookup(&self, name: &Name, rtype: RecordType) -> NameData;

    /// The resolver policy that applies to queries for `name`, if any.
    fn policy(&self, _name: &Name) -> Option<Policy> {
        None
    }

    /// The broken delegation `name` falls under, if any: a real farm's zone files delegate
    /// that zone to a server that does not answer for it, where the sim applies
    /// [`Zones::policy`].
    fn broken_delegation(&self, _name: &Name) -> Option<BrokenDelegation> {
        None
    }
}

/// A resolver's answer: response code, answer section (CNAME chain first) and authority section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
}

/// Answers `qname`/`qtype` as a validating-free recursive resolver in front of `zones` would:
/// CNAME chains followed and returned, NXDOMAIN or NODATA with the SOA of the last zone
/// consulted, SERVFAIL for names outside the world and for chains that loop or run too long.
pub fn resolve(zones: &dyn Zones, qname: &Name, qtype: RecordType) -> Answer {
    let mut answers = Vec::new();
    let mut name = qname.to_lowercase();
    for _ in 0..=MAX_CNAME_HOPS {
        match zones.lookup(&name, qtype) {
            NameData::OutOfWorld => return servfail(),
            NameData::NoSuchName { soa } => {
                return Answer {
                    rcode: ResponseCode::NXDomain,
                    answers,
                    authorities: vec![soa],
                };
            }
            NameData::Exists { records, soa } => {
                let cname_target = match records.as_slice() {
                    [only] if qtype != RecordType::CNAME => match &only.data {
                        RData::CNAME(target) => Some(target.0.to_lowercase()),
                        _ => None,
                    },
                    _ => None,
                };
                if records.is_empty() {
                    return Answer {
                        rcode: ResponseCode::NoError,
                        answers,
                        authorities: vec![soa],
                    };
                }
                answers.extend(records);
                match cname_target {
                    Some(target) => name = target,
                    None => {
                        return Answer {
                            rcode: ResponseCode::NoError,
                            answers,
                            authorities: Vec::new(),
                        };
                    }
                }
            }
        }
    }
    servfail()
}

fn servfail() -> Answer {
    Answer {
        rcode: ResponseCode::ServFail,
        answers: Vec::new(),
        authorities: Vec::new(),
    }
}

/// The file of a zone directory holding resolver policies, in Unbound's syntax
/// (`local-zone: "name." deny|refuse`); `scripts/farm.sh` includes it into every Unbound.
pub const POLICY_FILE: &str = "resolver-policy.conf";

/// Why zone files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    #[error("cannot read zone file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("zone file {path} does not parse: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("zone file {path} has no SOA record at its origin {origin}")]
    NoSoa { path: PathBuf, origin: String },
    #[error("no zone files (*.zone) in {0}; give a directory of RFC 1035 master files")]
    Empty(PathBuf),
    #[error("{path}:{line}: expected `local-zone: \"name.\" deny` or `refuse`")]
    Policy { path: PathBuf, line: usize },
}

/// Zones loaded from RFC 1035 master files: the very files NSD serves.
#[derive(Default)]
pub struct ZoneFiles {
    /// Every owner name (lower-cased), including empty non-terminals, to its RRsets.
    nodes: HashMap<LowerName, HashMap<RecordType, Vec<Record>>>,
    /// Each zone's apex to its SOA record.
    apexes: HashMap<LowerName, Record>,
    /// Names with NS records below a zone apex. Their servers are never reachable in a test
    /// world, so a resolver answers SERVFAIL for them and everything below.
    delegations: HashMap<LowerName, ()>,
    /// Resolver policies by zone name.
    policies: HashMap<LowerName, Policy>,
}

impl ZoneFiles {
    /// Loads every `*.zone` file of `dir` (sorted by file name, for reproducible errors).
    pub fn load_dir(dir: &Path) -> Result<Self, ZoneError> {
        let read_err = |source| ZoneError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "zone"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(ZoneError::Empty(dir.to_path_buf()));
        }
        let mut world = ZoneFiles::default();
        for path in paths {
            world.load_file(&path)?;
        }
        let policy_path = dir.join(POLICY_FILE);
        if policy_path.exists() {
            world.load_policies(&policy_path)?;
        }
        Ok(world)
    }

    /// Reads `local-zone: "name." deny|refuse` lines; comments (`#`) and blank lines are skipped.
    pub fn load_policies(&mut self, path: &Path) -> Result<(), ZoneError> {
        let text = std::fs::read_to_string(path).map_err(|source| ZoneError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_policies_text(&text, path)
    }

    /// [`ZoneFiles::load_policies`] from text; `path` names it in errors.
    pub fn load_policies_text(&mut self, text: &str, path: &Path) -> Result<(), ZoneError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let bad = || ZoneError::Policy {
                path: path.to_path_buf(),
                line: n + 1,
            };
            let mut words = line.split_whitespace();
            let (Some("local-zone:"), Some(zone), Some(kind), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(bad());
            };
            let mut name = Name::from_ascii(zone.trim_matches('"')).map_err(|_| bad())?;
            name.set_fqdn(true);
            let policy = match kind {
                "deny" => Policy::Deny,
                "refuse" => Policy::Refuse,
                _ => return Err(bad()),
            };
            self.policies
                .insert(LowerName::new(&name.to_lowercase()), policy);
        }
        Ok(())
    }

    /// Loads one master file; its origin is its `$ORIGIN`, or else its file name without
    /// `.zone` (the convention of `data/zones/`).
    pub fn load_file(&mut self, path: &Path) -> Result<(), ZoneError> {
        let text = std::fs::read_to_string(path).map_err(|source| ZoneError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_text(text, path)
    }

    /// [`ZoneFiles::load_file`] from text; `path` gives the default origin and names errors.
    pub fn load_text(&mut self, text: String, path: &Path) -> Result<(), ZoneError> {
        let parse_err = |message: String| ZoneError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let origin = Name::from_ascii(format!("{stem}.")).map_err(|e| parse_err(e.to_string()))?;
        let (origin, rrsets) = Parser::new(text, Some(path.to_path_buf()), Some(origin))
            .parse()
            .map_err(|e| parse_err(e.to_string()))?;
        let origin = origin.to_lowercase();
        let mut soa = None;
        for (key, rrset) in rrsets {
            for record in rrset.records_without_rrsigs() {
                let mut record = record.clone();
                record.name = record.name.to_lowercase();
                if record.record_type() == RecordType::SOA && record.name == origin {
                    soa = Some(record.clone());
                }
                self.insert(&origin, record);
            }
            let _ = key;
        }
        let soa = soa.ok_or_else(|| ZoneError::NoSoa {
            path: path.to_path_buf(),
            origin: origin.to_ascii(),
        })?;
        self.apexes.insert(LowerName::new(&origin), soa);
        Ok(())
    }

    /// Adds a record built in code (names no zone file could spell, bytes of every value) to
    /// the loaded zone that encloses it; false when none does.
    pub fn add(&mut self, mut record: Record) -> bool {
        record.name = record.name.to_lowercase();
        let mut apex = record.name.clone();
        loop {
            if self.apexes.contains_key(&LowerName::new(&apex)) {
                self.insert(&apex, record);
                return true;
            }
            if apex.is_root() {
                return false;
            }
            apex = apex.base_name();
        }
    }

    fn insert(&mut self, origin: &Name, record: Record) {
        if record.record_type() == RecordType::NS && record.name != *origin {
            self.delegations.insert(LowerName::new(&record.name), ());
        }
        // Every ancestor up to the apex exists (empty non-terminals answer NODATA, not
        // NXDOMAIN, RFC 8020).
        let mut ancestor = record.name.base_name();
        while origin.zone_of(&ancestor) && ancestor != *origin {
            self.nodes.entry(LowerName::new(&ancestor)).or_default();
            ancestor = ancestor.base_name();
        }
        self.nodes
            .entry(LowerName::new(&record.name))
            .or_default()
            .entry(record.record_type())
            .or_default()
            .push(record);
    }

    /// The SOA of the closest enclosing zone of `name`, or `None` when no zone encloses it or
    /// a (lame) delegation comes first.
    fn enclosing_soa(&self, name: &Name) -> Option<&Record> {
        let mut candidate = name.clone();
        loop {
            let key = LowerName::new(&candidate);
            if let Some(soa) = self.apexes.get(&key) {
                return Some(soa);
            }
            if candidate.is_root() || self.delegations.contains_key(&key) {
                return None;
            }
            candidate = candidate.base_name();
        }
    }

    /// Every record of the loaded data (owners lower-cased), in no particular order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.nodes.values().flat_map(|sets| sets.values().flatten())
    }

    /// Every owner name, empty non-terminals included.
    pub fn names(&self) -> impl Iterator<Item = Name> + '_ {
        self.nodes.keys().map(|n| Name::from(n.clone()))
    }

    /// Number of zones loaded.
    pub fn zone_count(&self) -> usize {
        self.apexes.len()
    }
}

impl Zones for ZoneFiles {
    fn lookup(&self, name: &Name, rtype: RecordType) -> NameData {
        let Some(soa) = self.enclosing_soa(name) else {
            return NameData::OutOfWorld;
        };
        let soa = soa.clone();
        let Some(sets) = self.nodes.get(&LowerName::new(name)) else {
            return NameData::NoSuchName { soa };
        };
        let records = match (sets.get(&rtype), sets.get(&RecordType::CNAME)) {
            (Some(set), _) => set.clone(),
            (None, Some(cname)) => cname.clone(),
            (None, None) => Vec::new(),
        };
        NameData::Exists { records, soa }
    }

    fn policy(&self, name: &Name) -> Option<Policy> {
        if self.policies.is_empty() {
            return None;
        }
        let mut candidate = name.clone();
        loop {
            if let Some(p) = self.policies.get(&LowerName::new(&candidate)) {
                return Some(*p);
            }
            if candidate.is_root() {
                return None;
            }
            candidate = candidate.base_name();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn world(text: &str) -> ZoneFiles {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ex.test.zone");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        ZoneFiles::load_dir(dir.path()).unwrap()
    }

    const ZONE: &str = "$TTL 300
@ IN SOA ns.ex.test. host.ex.test. 1 3600 600 86400 300
@ IN NS ns.ex.test.
ns IN A 192.0.2.53
@ IN MX 10 mail.ex.test.
mail IN CNAME real.ex.test.
Real IN A 192.0.2.1
loop1 IN CNAME loop2.ex.test.
loop2 IN CNAME loop1.ex.test.
dangling IN CNAME nowhere.ex.test.
a.b.c IN A 192.0.2.9
lame IN NS ns.nowhere.invalid.
";

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn follows_cname_chains_case_insensitively() {
        let w = world(ZONE);
        let a = resolve(&w, &name("MAIL.ex.test."), RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NoError);
        assert_eq!(a.answers.len(), 2);
        assert_eq!(a.answers[0].record_type(), RecordType::CNAME);
        assert_eq!(a.answers[1].name, name("real.ex.test."));
    }

    #[test]
    fn asking_for_the_cname_itself_does_not_follow_it() {
        let w = world(ZONE);
        let a = resolve(&w, &name("mail.ex.test."), RecordType::CNAME);
        assert_eq!(a.answers.len(), 1);
    }

    #[test]
    fn nxdomain_nodata_and_empty_non_terminals() {
        let w = world(ZONE);
        let nx = resolve(&w, &name("nope.ex.test."), RecordType::A);
        assert_eq!(nx.rcode, ResponseCode::NXDomain);
        assert_eq!(nx.authorities[0].record_type(), RecordType::SOA);
        let nodata = resolve(&w, &name("ex.test."), RecordType::AAAA);
        assert_eq!(
            (nodata.rcode, nodata.answers.len()),
            (ResponseCode::NoError, 0)
        );
        assert_eq!(nodata.authorities.len(), 1);
        let ent = resolve(&w, &name("b.c.ex.test."), RecordType::A);
        assert_eq!((ent.rcode, ent.answers.len()), (ResponseCode::NoError, 0));
    }

    #[test]
    fn dangling_chain_is_nxdomain_with_the_chain() {
        let w = world(ZONE);
        let a = resolve(&w, &name("dangling.ex.test."), RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NXDomain);
        assert_eq!(a.answers.len(), 1);
    }

    #[test]
    fn loops_and_foreign_names_servfail() {
        let w = world(ZONE);
        assert_eq!(
            resolve(&w, &name("loop1.ex.test."), RecordType::A).rcode,
            ResponseCode::ServFail
        );
        assert_eq!(
            resolve(&w, &name("other.test."), RecordType::A).rcode,
            ResponseCode::ServFail
        );
    }

    #[test]
    fn lame_delegations_servfail() {
        let w = world(ZONE);
        assert_eq!(
            resolve(&w, &name("lame.ex.test."), RecordType::MX).rcode,
            ResponseCode::ServFail
        );
        assert_eq!(
            resolve(&w, &name("a.lame.ex.test."), RecordType::A).rcode,
            ResponseCode::ServFail
        );
    }

    #[test]
    fn policies_apply_to_the_zone_and_below() {
        let mut w = world(ZONE);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(POLICY_FILE);
        std::fs::write(
            &path,
            "# test\nlocal-zone: \"deny.ex.test.\" deny\nlocal-zone: \"r.ex.test\" refuse\n",
        )
        .unwrap();
        w.load_policies(&path).unwrap();
        assert_eq!(w.policy(&name("a.deny.ex.test.")), Some(Policy::Deny));
        assert_eq!(w.policy(&name("r.ex.test.")), Some(Policy::Refuse));
        assert_eq!(w.policy(&name("ex.test.")), None);
        std::fs::write(&path, "local-zone: \"x.\" static\n").unwrap();
        assert!(
            w.load_policies(&path)
                .unwrap_err()
                .to_string()
                .contains(":1:")
        );
    }

    #[test]
    fn missing_soa_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.test.zone"), "$TTL 1\n@ IN A 192.0.2.1\n").unwrap();
        let err = ZoneFiles::load_dir(dir.path()).err().unwrap();
        assert!(err.to_string().contains("no SOA"), "{err}");
    }
}
