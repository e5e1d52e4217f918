//! SPF (RFC 7208): record syntax ([`record`]), macro expansion ([`macros`]) and `check_host()`
//! ([`eval`]) as pure functions of the DNS answers known so far.
//!
//! The evaluator is sans-IO by replay: [`eval::check_host`] runs from the start over a
//! [`Dns`] of answers already known and either finishes or names the one question it needs
//! next ([`Need`]). The caller asks it (through the scan's shared lookups, so a provider's
//! `include:` is asked once for millions of domains), adds the answer and runs it again. An
//! evaluation asks at most ~30 questions (10 counted lookups, 10 names per `mx`), and a run
//! over known answers costs microseconds, so the replays cost less than keeping a suspended
//! recursion of includes and redirects.

pub mod eval;
pub mod macros;
pub mod record;

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::RecordType;

pub use eval::{Evaluation, Request, check_host};

/// The result of `check_host()` (RFC 7208 §2.6), named as RFC 8601 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

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

/// The answers known so far.
pub trait Dns {
    /// The answer to `name` (lower case, no trailing dot) of type `qtype`; `None` when it has
    /// not been asked yet.
    fn answer(&self, name: &str, qtype: RecordType) -> Option<&Answer>;
}

/// A question the evaluation needs answered before it can go on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Need {
    pub name: String,
    pub qtype: RecordType,
}

impl<S: std::hash::BuildHasher> Dns for std::collections::HashMap<(String, RecordType), Answer, S> {
    fn answer(&self, name: &str, qtype: RecordType) -> Option<&Answer> {
        self.get(&(name.to_string(), qtype))
    }
}
