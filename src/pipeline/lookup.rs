//! One lookup of the pipeline: what is asked ([`Key`]) and what came back ([`Answer`]),
//! decoded once and shared by every domain that asked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::engine::{Outcome, Status};
use crate::mailauth::spf::record::RecordAt;
use crate::mailauth::{self, Rdata, transport::Tlsa};
use crate::wire::Rcode;

/// A question of the pipeline. Names are lower-case presentation form without the trailing
/// dot (the root is `.`), so equal questions compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Mx(Arc<str>),
    A(Arc<str>),
    Aaaa(Arc<str>),
    Ptr(IpAddr),
    /// The CNAME record alone, asked one hop at a time to see loops a resolver hides behind
    /// SERVFAIL.
    Cname(Arc<str>),
    /// TXT records (SPF, DMARC, MTA-STS, TLS-RPT).
    Txt(Arc<str>),
    /// TLSA records (`_25._tcp.<exchange>`).
    Tlsa(Arc<str>),
}

impl Key {
    pub fn qtype(&self) -> RecordType {
        match self {
            Key::Mx(_) => RecordType::MX,
            Key::A(_) => RecordType::A,
            Key::Aaaa(_) => RecordType::AAAA,
            Key::Ptr(_) => RecordType::PTR,
            Key::Cname(_) => RecordType::CNAME,
            Key::Txt(_) => RecordType::TXT,
            Key::Tlsa(_) => RecordType::TLSA,
        }
    }

    /// The name asked, for every question but PTR.
    pub fn name(&self) -> Option<&str> {
        match self {
            Key::Mx(n) | Key::A(n) | Key::Aaaa(n) | Key::Cname(n) | Key::Txt(n) | Key::Tlsa(n) => {
                Some(n)
            }
            Key::Ptr(_) => None,
        }
    }

    /// The address lookup of `name` for the family of `ip`.
    pub fn forward(name: Arc<str>, ip: IpAddr) -> Key {
        match ip {
            IpAddr::V4(_) => Key::A(name),
            IpAddr::V6(_) => Key::Aaaa(name),
        }
    }

    /// The name to put in the query, fully qualified.
    pub fn query_name(&self) -> String {
        match self {
            Key::Ptr(ip) => reverse_name(*ip),
            Key::Mx(n) | Key::A(n) | Key::Aaaa(n) | Key::Cname(n) | Key::Txt(n) | Key::Tlsa(n) => {
                let mut query = String::with_capacity(n.len() + 1);
                query.push_str(n);
                query.push('.');
                query
            }
        }
    }

    /// The question a mail-authentication evaluator needs (`name` lower case, no trailing
    /// dot; a PTR question by its reverse name); `None` for a type the pipeline does not ask
    /// or a reverse name that is no address.
    pub fn of(name: &str, qtype: RecordType) -> Option<Key> {
        let name: Arc<str> = name.into();
        Some(match qtype {
            RecordType::MX => Key::Mx(name),
            RecordType::A => Key::A(name),
            RecordType::AAAA => Key::Aaaa(name),
            RecordType::TXT => Key::Txt(name),
            RecordType::TLSA => Key::Tlsa(name),
            RecordType::CNAME => Key::Cname(name),
            RecordType::PTR => Key::Ptr(reverse_address(&name)?),
            _ => return None,
        })
    }

    /// The name as a mail-authentication evaluator asks it: a PTR question by its reverse
    /// name, lower case, without the trailing dot.
    pub fn evaluator_name(&self) -> String {
        match self {
            Key::Ptr(ip) => Name::from(*ip).to_ascii().trim_end_matches('.').to_string(),
            _ => self.name().unwrap_or_default().to_string(),
        }
    }
}

/// The address a reverse name (`4.3.2.1.in-addr.arpa`, 32 nibbles under `ip6.arpa`) stands for.
pub fn reverse_address(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(v4) = name.strip_suffix(".in-addr.arpa") {
        let octets: Vec<u8> = v4
            .rsplit('.')
            .map(|l| l.parse().ok())
            .collect::<Option<_>>()?;
        let octets: [u8; 4] = octets.try_into().ok()?;
        return Some(IpAddr::from(octets));
    }
    let v6 = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = v6
        .rsplit('.')
        .map(|l| {
            (l.len() == 1)
                .then(|| u8::from_str_radix(l, 16).ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let mut octets = [0u8; 16];
    for (i, pair) in nibbles.chunks(2).enumerate() {
        octets[i] = pair[0] << 4 | pair[1];
    }
    Some(IpAddr::from(octets))
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Mx(n) => write!(f, "{n} MX"),
            Key::A(n) => write!(f, "{n} A"),
            Key::Aaaa(n) => write!(f, "{n} AAAA"),
            Key::Ptr(ip) => write!(f, "{ip} PTR"),
            Key::Cname(n) => write!(f, "{n} CNAME"),
            Key::Txt(n) => write!(f, "{n} TXT"),
            Key::Tlsa(n) => write!(f, "{n} TLSA"),
        }
    }
}

/// One record of the asked type, at the end of any CNAME chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// Names shared with the questions asked of them (`Arc`), so asking allocates nothing.
    Mx {
        preference: u16,
        exchange: Arc<str>,
    },
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Ptr(Arc<str>),
    Cname(String),
    /// A TXT record's character-strings, as received (they may not be UTF-8).
    Txt(Vec<Box<[u8]>>),
    Tlsa(Tlsa),
}

/// A decoded lookup result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// NOERROR with no record of the asked type at the end of the chain is `NoData`.
    pub status: Status,
    /// The CNAME targets followed from the query name, in order.
    pub chain: Vec<String>,
    /// Records of the asked type owned by the end of the chain, in answer order.
    pub data: Vec<Data>,
    /// The UDP answer was truncated and the lookup completed over TCP.
    pub truncated: bool,
    /// The reply could not be decoded, or (for MX) the records sat outside the answer section.
    pub malformed: bool,
    pub attempts: u32,
    /// For a TXT answer, its SPF record selected and parsed once, however many domains read
    /// this (shared) answer.
    pub spf: Option<Arc<RecordAt>>,
}

/// The bytes an `Arc` allocation holds before its value: the strong and weak counts.
pub const ARC_COUNTS: usize = 2 * size_of::<usize>();

/// The reverse (PTR) name of an address, fully qualified: written directly, as every
/// address looked up is asked this way.
fn reverse_name(ip: IpAddr) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut name = String::with_capacity(73);
    match ip {
        IpAddr::V4(v4) => {
            for octet in v4.octets().iter().rev() {
                name.push_str(itoa::Buffer::new().format(*octet));
                name.push('.');
            }
            name.push_str("in-addr.arpa.");
        }
        IpAddr::V6(v6) => {
            for byte in v6.octets().iter().rev() {
                for nibble in [byte & 0xf, byte >> 4] {
                    name.push(HEX[usize::from(nibble)] as char);
                    name.push('.');
                }
            }
            name.push_str("ip6.arpa.");
        }
    }
    name
}

/// Presentation form of a name: lower case, no trailing dot, the root as `.`. Written in one
/// pass (every name of every answer goes through here). Escaped as RFC 1035 §5.1 says: a
/// printable byte outside letters, digits, `_`, `-` and a leading `*` as `\X`, any other byte
/// as `\DDD` in decimal (hickory's `to_ascii` writes octal there), so that
/// `wire::encode_name` asks exactly the name that came.
pub fn name_text(name: &Name) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(name.len());
    for (i, label) in name.iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        for (j, byte) in label.iter().map(u8::to_ascii_lowercase).enumerate() {
            let c = char::from(byte);
            let first = j == 0;
            if c.is_ascii_alphanumeric() || c == '_' || (c == '-' && !first) || (c == '*' && first)
            {
                text.push(c);
            } else if byte > 0x20 && byte < 0x7f {
                text.push('\\');
                text.push(c);
            } else {
                let _ = write!(text, "\\{byte:03}");
            }
        }
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}

impl Answer {
    /// An answer for a lookup that never reached a resolver or got no usable reply.
    pub fn failed(status: Status, attempts: u32) -> Answer {
        Answer {
            status,
            chain: Vec::new(),
            data: Vec::new(),
            truncated: false,
            malformed: false,
            attempts,
            spf: None,
        }
    }

    /// Decodes an engine outcome for `key`. Never panics on a hostile reply: what cannot be
    /// decoded is marked `malformed`, with the status `Malformed`.
    pub fn from_outcome(key: &Key, outcome: &Outcome) -> Answer {
        let mut answer = Answer::failed(outcome.status, outcome.attempts);
        answer.truncated = outcome.truncated;
        if let Status::Rcode(Rcode::FORMERR) = outcome.status {
            answer.malformed = true; // FORMERR
        }
        let Some(bytes) = outcome.reply.as_deref() else {
            return answer;
        };
        let Ok(message) = Message::from_vec(bytes) else {
            // Its rcode says nothing about records nobody could read: NOERROR would pass
            // for an empty answer (a null MX, NODATA).
            answer.malformed = true;
            answer.status = Status::Malformed;
            return answer;
        };
        let qtype = key.qtype();
        let query = key.query_name();
        let mut owner = Name::from_ascii(&query).unwrap_or_else(|_| Name::root());
        // Follow the chain through the answer section, at most once per record.
        let cnames: Vec<&Record> = message
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::CNAME && qtype != RecordType::CNAME)
            .collect();
        for _ in 0..cnames.len() {
            let next = cnames.iter().find_map(|r| match &r.data {
                RData::CNAME(target) if r.name == owner => Some(target.0.clone()),
                _ => None,
            });
            match next {
                Some(target) if !answer.chain.contains(&name_text(&target)) => {
                    answer.chain.push(name_text(&target));
                    owner = target;
                }
                _ => break,
            }
        }
        let owned = || message.answers.iter().filter(|r| r.name == owner);
        // Exactly as many as there are: a cached answer would otherwise keep a vector's spare
        // capacity (four records' room for one address) for the rest of the scan.
        answer.data.reserve_exact(owned().count());
        for record in owned() {
            let data = match (&record.data, qtype) {
                (RData::MX(mx), RecordType::MX) => Data::Mx {
                    preference: mx.preference,
                    exchange: name_text(&mx.exchange).into(),
                },
                (RData::A(a), RecordType::A) => Data::A(a.0),
                (RData::AAAA(a), RecordType::AAAA) => Data::Aaaa(a.0),
                (RData::PTR(p), RecordType::PTR) => Data::Ptr(name_text(&p.0).into()),
                (RData::CNAME(c), RecordType::CNAME) => Data::Cname(name_text(&c.0)),
                (RData::TXT(t), RecordType::TXT) => Data::Txt(t.txt_data.to_vec()),
                (RData::TLSA(t), RecordType::TLSA) => Data::Tlsa(Tlsa {
                    usage: t.cert_usage.into(),
                    selector: t.selector.into(),
                    matching: t.matching.into(),
                    data: t.cert_data.clone(),
                }),
                _ => continue,
            };
            answer.data.push(data);
        }
        if answer.status == Status::NoError && answer.data.is_empty() {
            answer.status = Status::NoData;
        }
        if qtype == RecordType::TXT {
            answer.spf = Some(Arc::new(RecordAt::of(&answer.to_mailauth())));
        }
        if qtype == RecordType::MX
            && message.answers.is_empty()
            && message
                .authorities
                .iter()
                .chain(&message.additionals)
                .any(|r| r.record_type() == RecordType::MX)
        {
            answer.malformed = true;
        }
        answer
    }

    /// Bytes the answer holds, itself included, for the cache's bound. The parsed SPF record
    /// is counted as twice its text: its terms keep the text's pieces and a few words each.
    pub fn heap_bytes(&self) -> usize {
        let chain: usize = self
            .chain
            .iter()
            .map(|n| size_of::<String>() + n.len())
            .sum();
        let (mut data, mut txt) = (0, 0);
        for d in self.data.iter() {
            data += size_of::<Data>();
            match d {
                Data::Mx { exchange: n, .. } | Data::Ptr(n) => data += ARC_COUNTS + n.len(),
                Data::Cname(n) => data += n.len(),
                Data::A(_) | Data::Aaaa(_) => {}
                Data::Txt(strings) => {
                    for s in strings {
                        data += size_of::<Box<[u8]>>() + s.len();
                        txt += s.len();
                    }
                }
                Data::Tlsa(t) => data += t.data.len(),
            }
        }
        let spf = self
            .spf
            .as_ref()
            .map_or(0, |_| size_of::<RecordAt>() + 2 * txt);
        size_of::<Answer>() + chain + data + spf
    }

    /// The addresses of an A or AAAA answer.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.data.iter().filter_map(|d| match d {
            Data::A(a) => Some(IpAddr::V4(*a)),
            Data::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        })
    }

    /// The names of a PTR answer.
    pub fn ptr_names(&self) -> impl Iterator<Item = &Arc<str>> + '_ {
        self.data.iter().filter_map(|d| match d {
            Data::Ptr(n) => Some(n),
            _ => None,
        })
    }

    /// The target of a CNAME answer.
    pub fn cname_target(&self) -> Option<&str> {
        self.data.iter().find_map(|d| match d {
            Data::Cname(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The answer as the mail-authentication evaluators read it.
    pub fn to_mailauth(&self) -> mailauth::Answer {
        match self.status {
            Status::NoError => {}
            Status::NoData => return mailauth::Answer::NoData,
            Status::NxDomain => return mailauth::Answer::NxDomain,
            _ => return mailauth::Answer::Failed,
        }
        let records: Vec<Rdata> = self
            .data
            .iter()
            .filter_map(|d| match d {
                Data::Mx { exchange, .. } => Some(Rdata::Mx(exchange.to_string())),
                Data::A(a) => Some(Rdata::A(*a)),
                Data::Aaaa(a) => Some(Rdata::Aaaa(*a)),
                Data::Ptr(n) => Some(Rdata::Ptr(n.to_string())),
                Data::Txt(strings) => {
                    Some(Rdata::Txt(strings.iter().map(|s| s.to_vec()).collect()))
                }
                Data::Tlsa(t) => Some(Rdata::Tlsa(t.clone())),
                Data::Cname(_) => None,
            })
            .collect();
        if records.is_empty() {
            mailauth::Answer::NoData
        } else {
            mailauth::Answer::Records(records)
        }
    }

    /// SERVFAIL, REFUSED, a timeout or another failure: the lookup says nothing about the name.
    pub fn is_temporary_failure(&self) -> bool {
        !matches!(
            self.status,
            Status::NoError | Status::NoData | Status::NxDomain
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Question;
    use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
    use hickory_proto::rr::rdata::{A, CNAME, MX};
    use rand::RngExt;

    fn outcome(status: Status, msg: &Message) -> Outcome {
        let q = &msg.queries[0];
        let question = Question::new(q.name().to_ascii(), q.query_type(), 0);
        crate::fuzzing::replied(&question, status, Some(msg.to_vec().unwrap()))
    }

    fn reply(qname: &str, qtype: RecordType, records: Vec<Record>) -> Message {
        let mut m = Message::new(7, MessageType::Response, hickory_proto::op::OpCode::Query);
        m.add_query(Query::query(Name::from_ascii(qname).unwrap(), qtype));
        m.metadata.response_code = ResponseCode::NoError;
        for r in records {
            m.add_answer(r);
        }
        m
    }

    fn rr(owner: &str, data: RData) -> Record {
        Record::from_rdata(Name::from_ascii(owner).unwrap(), 300, data)
    }

    #[test]
    fn chains_are_followed_and_names_normalised() {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let m = reply(
            "Shop.test.",
            RecordType::MX,
            vec![
                rr("shop.test.", RData::CNAME(CNAME(n("Real.test.")))),
                rr("real.test.", RData::MX(MX::new(10, n("MX1.Real.test.")))),
                rr("other.test.", RData::MX(MX::new(5, n("stray.test.")))),
            ],
        );
        let a = Answer::from_outcome(&Key::Mx("shop.test".into()), &outcome(Status::NoError, &m));
        assert_eq!(a.chain, vec!["real.test"]);
        assert_eq!(
            a.data,
            vec![Data::Mx {
                preference: 10,
                exchange: "mx1.real.test".into()
            }]
        );
        assert_eq!(a.status, Status::NoError);
    }

    #[test]
    fn a_chain_without_final_records_is_nodata_and_loops_end() {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let m = reply(
            "a.test.",
            RecordType::A,
            vec![
                rr("a.test.", RData::CNAME(CNAME(n("b.test.")))),
                rr("b.test.", RData::CNAME(CNAME(n("a.test.")))),
            ],
        );
        let a = Answer::from_outcome(&Key::A("a.test".into()), &outcome(Status::NoError, &m));
        assert_eq!(a.chain, vec!["b.test", "a.test"]);
        assert_eq!(a.status, Status::NoData);
        assert!(a.data.is_empty());
    }

    #[test]
    fn root_exchange_and_misplaced_mx() {
        let m = reply(
            "null.test.",
            RecordType::MX,
            vec![rr("null.test.", RData::MX(MX::new(0, Name::root())))],
        );
        let a = Answer::from_outcome(&Key::Mx("null.test".into()), &outcome(Status::NoError, &m));
        assert_eq!(
            a.data,
            vec![Data::Mx {
                preference: 0,
                exchange: ".".into()
            }]
        );
        let mut m = reply("x.test.", RecordType::MX, vec![]);
        m.add_additional(rr(
            "x.test.",
            RData::MX(MX::new(1, Name::from_ascii("m.x.test.").unwrap())),
        ));
        let a = Answer::from_outcome(&Key::Mx("x.test".into()), &outcome(Status::NoData, &m));
        assert!(a.malformed);
        assert_eq!(a.status, Status::NoData);
    }

    #[test]
    fn garbage_replies_are_malformed_not_panics() {
        let mut o = outcome(Status::NoError, &reply("a.test.", RecordType::A, vec![]));
        o.reply = Some(vec![0xff; 30]);
        let a = Answer::from_outcome(&Key::A("a.test".into()), &o);
        assert!(a.malformed);
        assert_eq!(a.status, Status::Malformed, "not the NOERROR of its header");
        // A compression loop in the answer section: a label, then a pointer back to it.
        let mut bytes = reply("a.test.", RecordType::A, vec![]).to_vec().unwrap();
        bytes[6..8].copy_from_slice(&[0, 1]);
        let at = bytes.len() as u8;
        bytes.extend_from_slice(&[
            1, b'a', 0xC0, at, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
        ]);
        o.reply = Some(bytes);
        let a = Answer::from_outcome(&Key::A("a.test".into()), &o);
        assert_eq!((a.status, a.malformed), (Status::Malformed, true));
        let m = reply(
            "a.test.",
            RecordType::A,
            vec![rr("a.test.", RData::A(A::new(192, 0, 2, 1)))],
        );
        let a = Answer::from_outcome(&Key::A("a.test".into()), &outcome(Status::NoError, &m));
        assert_eq!(
            a.addresses().collect::<Vec<_>>(),
            vec![IpAddr::from([192, 0, 2, 1])]
        );
    }

    #[test]
    fn reverse_names_give_their_address() {
        for ip in ["192.0.2.1", "2001:db8::7", "::ffff:1.2.3.4"] {
            let ip: IpAddr = ip.parse().unwrap();
            let key = Key::Ptr(ip);
            assert_eq!(Key::of(&key.evaluator_name(), RecordType::PTR), Some(key));
        }
        for bad in [
            "1.2.3.in-addr.arpa",
            "a.2.3.4.in-addr.arpa",
            "1.ip6.arpa",
            "x.test",
        ] {
            assert_eq!(reverse_address(bad), None, "{bad}");
        }
        assert_eq!(
            Key::of("_dmarc.x.test", RecordType::TXT),
            Some(Key::Txt("_dmarc.x.test".into()))
        );
        assert_eq!(Key::of("x.test", RecordType::SOA), None);
    }

    #[test]
    fn name_text_is_the_presentation_form_the_wire_reads_back() {
        let mut rng = rand::rng();
        for _ in 0..2_000 {
            let labels: Vec<Vec<u8>> = (0..rng.random_range(0..4))
                .map(|_| (0..rng.random_range(1..6)).map(|_| rng.random()).collect())
                .collect();
            let name = Name::from_labels(labels).unwrap().to_lowercase();
            let mut wire = Vec::new();
            crate::wire::encode_name(&name_text(&name), &mut wire).unwrap();
            let mut expected = Vec::new();
            for label in name.iter() {
                expected.push(label.len() as u8);
                expected.extend_from_slice(label);
            }
            expected.push(0);
            assert_eq!(wire, expected, "{name:?}");
        }
        // Host names read as hickory writes them.
        for text in [".", "MX1.Example.TEST.", "*.a-b._x.test.", "a\\.b.test."] {
            let name = Name::from_ascii(text).unwrap();
            let hickory = name.to_lowercase().to_ascii();
            let hickory = hickory.strip_suffix('.').filter(|s| !s.is_empty());
            assert_eq!(name_text(&name), hickory.unwrap_or("."), "{text}");
        }
    }

    #[test]
    fn key_names() {
        assert_eq!(Key::Mx("x.test".into()).query_name(), "x.test.");
        assert_eq!(
            Key::Ptr("192.0.2.1".parse().unwrap()).query_name(),
            "1.2.0.192.in-addr.arpa."
        );
        for ip in ["2001:db8::a:bc", "198.51.100.255", "::"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(Key::Ptr(ip).query_name(), Name::from(ip).to_ascii(), "{ip}");
        }
        assert_eq!(name_text(&Name::root()), ".");
        assert_eq!(name_text(&Name::from_ascii("A.Test.").unwrap()), "a.test");
    }
}
