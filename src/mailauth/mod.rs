//! Mail-authentication records: SPF (RFC 7208), DMARC discovery and the transport-security
//! records (MTA-STS, TLS-RPT, TLSA), as sans-IO code over the DNS answers known so far
//! (docs/design.md). The scan drives them through `pipeline::auth`; `mxscan spf` through
//! `crate::spf`.

pub mod dmarc;
pub mod spf;
pub mod transport;

use std::cell::RefCell;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::rr::RecordType;

use spf::record::RecordAt;

/// One record of an answer, as the evaluator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    /// A TXT record's character-strings, as received (bytes: they may not be UTF-8).
    Txt(Vec<Vec<u8>>),
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// An MX record's exchange (lower case, no trailing dot).
    Mx(String),
    /// A PTR record's name (lower case, no trailing dot).
    Ptr(String),
    /// A TLSA record's fields.
    Tlsa(transport::Tlsa),
}

/// What a question got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// NOERROR with records of the asked type.
    Records(Vec<Rdata>),
    /// NOERROR without records of the asked type.
    NoData,
    NxDomain,
    /// SERVFAIL, a timeout or any other failure: a temporary error (§2.6.6).
    Failed,
}

impl Answer {
    /// Each TXT record's character-strings joined without spaces (RFC 7208 §3.3; DMARC,
    /// MTA-STS and TLS-RPT read them the same way); none unless records came back.
    pub fn texts(&self) -> Vec<Vec<u8>> {
        let Answer::Records(records) = self else {
            return Vec::new();
        };
        records
            .iter()
            .filter_map(|r| match r {
                Rdata::Txt(strings) => Some(strings.concat()),
                _ => None,
            })
            .collect()
    }

    /// A TXT answer of one single-string record per text (for tests).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn txt(records: &[&str]) -> Answer {
        Answer::Records(
            records
                .iter()
                .map(|r| Rdata::Txt(vec![r.as_bytes().to_vec()]))
                .collect(),
        )
    }
}

/// The answers known so far.
pub trait Dns {
    /// The answer to `name` (lower case, no trailing dot) of type `qtype`; `None` when it has
    /// not been asked yet.
    fn answer(&self, name: &str, qtype: RecordType) -> Option<&Answer>;

    /// The SPF record at `name`, from its TXT answer; `None` when that has not been asked yet.
    /// An implementation may keep it: evaluations replay many times over the same answers.
    fn spf_record(&self, name: &str) -> Option<Arc<RecordAt>> {
        let answer = self.answer(name, RecordType::TXT)?;
        Some(Arc::new(RecordAt::of(answer)))
    }
}

/// A question the evaluation needs answered before it can go on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Need {
    pub name: String,
    pub qtype: RecordType,
}

/// The answers known so far: looked up by `&str`, so an evaluator's many asks per replay
/// allocate nothing; and the SPF records selected and parsed from them, each once however often
/// the evaluations replay. A domain's evaluations read a few dozen answers at most, so a list
/// searched in order beats hashing.
#[derive(Debug, Default)]
pub struct Known {
    answers: Vec<(String, RecordType, Answer)>,
    records: RefCell<Vec<(String, Arc<RecordAt>)>>,
}

impl Known {
    /// Records the answer to `name` (lower case, no trailing dot) of type `qtype`.
    pub fn insert(&mut self, name: String, qtype: RecordType, answer: Answer) {
        self.insert_with_spf(name, qtype, answer, None);
    }

    /// [`Known::insert`], with the SPF record selected and parsed from the answer when the
    /// caller has it already (a shared answer parses it once for every domain).
    pub fn insert_with_spf(
        &mut self,
        name: String,
        qtype: RecordType,
        answer: Answer,
        spf: Option<Arc<RecordAt>>,
    ) {
        let records = self.records.get_mut();
        if qtype == RecordType::TXT {
            records.retain(|(n, _)| *n != name);
            if let Some(record) = spf {
                records.push((name.clone(), record));
            }
        }
        match self
            .answers
            .iter_mut()
            .find(|(n, t, _)| *t == qtype && *n == name)
        {
            Some((_, _, known)) => *known = answer,
            None => self.answers.push((name, qtype, answer)),
        }
    }

    pub fn contains(&self, name: &str, qtype: RecordType) -> bool {
        self.answer(name, qtype).is_some()
    }
}

impl Dns for Known {
    fn answer(&self, name: &str, qtype: RecordType) -> Option<&Answer> {
        self.answers
            .iter()
            .find(|(n, t, _)| *t == qtype && n == name)
            .map(|(_, _, a)| a)
    }

    fn spf_record(&self, name: &str) -> Option<Arc<RecordAt>> {
        let known = self
            .records
            .borrow()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone());
        if known.is_some() {
            return known;
        }
        let record = Arc::new(RecordAt::of(self.answer(name, RecordType::TXT)?));
        let mut records = self.records.borrow_mut();
        records.push((name.to_string(), record.clone()));
        Some(record)
    }
}
