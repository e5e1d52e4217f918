//! The per-domain view of an SPF record, independent of any client: its lookups (every
//! DNS-querying term through includes and redirects), void lookups among the targets that need
//! no client data, its final `all`, and its problems. What a survey counts, and what the
//! SPF_* findings of a domain come from.
//!
//! The walk ends where `check_host()` would: at the first DNS-querying term past the limit of
//! 10 or the first void lookup past 2 (RFC 7208 §4.6.4). So however a zone builds its include
//! graph (a diamond of includes per level doubles the paths), the audit visits at most 11
//! records and asks a bounded number of questions, and its counters stop at 11 and 3.

use hickory_proto::rr::RecordType;

use super::eval::{MAX_LOOKUPS, MAX_VOID_LOOKUPS};
use super::macros::{Context, MacroString};
use super::record::{Mechanism, Qualifier, RecordAt};
use super::{Answer, Dns, Need};

/// What is wrong with a domain's SPF, as far as DNS shows without a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// More than one SPF record at this name.
    Multiple(String, usize),
    /// A record that does not parse: the name and why.
    Syntax(String, String),
    /// An include or redirect target without an SPF record.
    Missing(String),
    /// An include or redirect that comes back to a record being walked.
    Loop(String),
    /// A lookup failed: the audit is incomplete.
    Failed(String),
}

/// A domain's SPF, audited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audit {
    /// The domain's own record.
    pub record: Option<String>,
    /// DNS-querying terms over the whole tree, counted up to the first past the limit of 10
    /// (where `check_host()` stops with a permerror), so at most 11.
    pub lookups: u32,
    /// Terms whose lookup (of a target without macros) found nothing, counted up to the first
    /// past the limit of 2.
    pub void_lookups: u32,
    /// The qualifier of the `all` that ends the record (through redirects), if any.
    pub all: Option<Qualifier>,
    /// The deprecated `ptr` mechanism occurs (RFC 7208 §5.5).
    pub uses_ptr: bool,
    pub problems: Vec<Problem>,
}

impl Audit {
    pub fn too_many_lookups(&self) -> bool {
        self.lookups > MAX_LOOKUPS
    }

    /// The TXT lookup at the domain's own name failed (the walk stops there, first problem).
    pub fn own_lookup_failed(&self) -> bool {
        self.record.is_none() && matches!(self.problems.first(), Some(Problem::Failed(_)))
    }

    pub fn too_many_voids(&self) -> bool {
        self.void_lookups > MAX_VOID_LOOKUPS
    }

    /// A record that `check_host()` can evaluate to a result: one, without problems or limits
    /// exceeded (a failed lookup is a problem too).
    pub fn evaluates(&self) -> bool {
        self.record.is_some()
            && self.problems.is_empty()
            && !self.too_many_lookups()
            && !self.too_many_voids()
    }
}

/// Audits `domain`'s SPF; `Err` names the next question.
pub fn audit(domain: &str, dns: &dyn Dns) -> Result<Audit, Need> {
    let mut a = Audit::default();
    let mut stack = Vec::new();
    match walk(&domain.to_ascii_lowercase(), dns, &mut a, &mut stack, true) {
        Ok(_) | Err(Halt::Limit) => Ok(a),
        Err(Halt::Need(need)) => Err(need),
    }
}

/// Why the walk stopped before its end.
enum Halt {
    /// It waits for this answer.
    Need(Need),
    /// A limit was passed: the audit is complete.
    Limit,
}

impl From<Need> for Halt {
    fn from(need: Need) -> Halt {
        Halt::Need(need)
    }
}

/// Counts one more term in `counter`; past `limit` the walk ends.
fn count(counter: &mut u32, limit: u32) -> Result<(), Halt> {
    *counter += 1;
    if *counter > limit {
        return Err(Halt::Limit);
    }
    Ok(())
}

fn ask<'d>(dns: &'d dyn Dns, name: &str, qtype: RecordType) -> Result<&'d Answer, Need> {
    dns.answer(name, qtype).ok_or_else(|| Need {
        name: name.to_string(),
        qtype,
    })
}

/// A target with no macros, lower case; `None` when it depends on the client.
fn fixed(spec: &MacroString) -> Option<String> {
    (!spec
        .0
        .iter()
        .any(|p| matches!(p, super::macros::Piece::Macro(_))))
    .then(|| {
        let cx = Context {
            sender: String::new(),
            domain: String::new(),
            ip: std::net::Ipv4Addr::UNSPECIFIED.into(),
            helo: String::new(),
            validated: None,
            receiver: String::new(),
            timestamp: 0,
        };
        spec.expand(&cx).trim_end_matches('.').to_ascii_lowercase()
    })
}

/// Walks the record at `name`; returns whether it has one. `top`: the domain's own record or a
/// redirect from it (whose `all` is the domain's).
fn walk(
    name: &str,
    dns: &dyn Dns,
    a: &mut Audit,
    stack: &mut Vec<String>,
    top: bool,
) -> Result<bool, Halt> {
    if stack.iter().any(|n| n == name) {
        a.problems.push(Problem::Loop(name.to_string()));
        return Ok(true);
    }
    let at = dns.spf_record(name).ok_or_else(|| Need {
        name: name.to_string(),
        qtype: RecordType::TXT,
    })?;
    let (text, parsed) = match &*at {
        RecordAt::Failed => {
            a.problems.push(Problem::Failed(name.to_string()));
            return Ok(true);
        }
        RecordAt::None => return Ok(false),
        RecordAt::Multiple(n) => {
            a.problems.push(Problem::Multiple(name.to_string(), *n));
            return Ok(true);
        }
        RecordAt::One { text, parsed } => (text, parsed),
    };
    if a.record.is_none() {
        a.record = Some(text.clone());
    }
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            a.problems
                .push(Problem::Syntax(name.to_string(), e.0.clone()));
            return Ok(true);
        }
    };
    // The record's own `all`, known before a limit may end the walk.
    let all = parsed
        .directives
        .iter()
        .find(|d| d.mechanism == Mechanism::All);
    if top && let Some(all) = all {
        a.all = Some(all.qualifier);
    }
    stack.push(name.to_string());
    for d in &parsed.directives {
        if d.mechanism.counts() {
            count(&mut a.lookups, MAX_LOOKUPS)?;
        }
        let (target, qtype) = match &d.mechanism {
            Mechanism::All => continue,
            Mechanism::Include(spec) => {
                if let Some(target) = fixed(spec)
                    && !walk(&target, dns, a, stack, false)?
                {
                    a.problems.push(Problem::Missing(target));
                }
                continue;
            }
            Mechanism::Ptr(_) => {
                a.uses_ptr = true;
                continue;
            }
            Mechanism::A { domain, .. } => (
                domain.as_ref().map_or(Some(name.to_string()), fixed),
                RecordType::A,
            ),
            Mechanism::Mx { domain, .. } => (
                domain.as_ref().map_or(Some(name.to_string()), fixed),
                RecordType::MX,
            ),
            Mechanism::Exists(spec) => (fixed(spec), RecordType::A),
            Mechanism::Ip4(_) | Mechanism::Ip6(_) => continue,
        };
        // A void lookup is one that finds nothing; for `a`, neither A nor AAAA.
        if let Some(target) = target {
            let empty = |answer: &Answer| matches!(answer, Answer::NxDomain | Answer::NoData);
            let first = ask(dns, &target, qtype)?;
            let second = if empty(first)
                && qtype == RecordType::A
                && !matches!(d.mechanism, Mechanism::Exists(_))
            {
                Some(ask(dns, &target, RecordType::AAAA)?)
            } else {
                None
            };
            // A failed lookup leaves the count unknown: the audit says so.
            if [Some(first), second]
                .into_iter()
                .flatten()
                .any(|x| *x == Answer::Failed)
            {
                a.problems.push(Problem::Failed(target));
            } else if empty(first) && second.is_none_or(empty) {
                count(&mut a.void_lookups, MAX_VOID_LOOKUPS)?;
            }
        }
    }
    // A redirect counts, and applies only without an `all` (RFC 7208 §6.1).
    if let Some(redirect) = &parsed.redirect
        && all.is_none()
    {
        count(&mut a.lookups, MAX_LOOKUPS)?;
        if let Some(target) = fixed(redirect)
            && !walk(&target, dns, a, stack, top)?
        {
            a.problems.push(Problem::Missing(target));
        }
    }
    stack.pop();
    Ok(true)
}

#[cfg(test)]
mod tests {
    use crate::mailauth::Known;

    use super::*;
    use crate::mailauth::Rdata;

    fn audited(domain: &str, txt: &[(&str, &str)], other: &[(&str, RecordType, Answer)]) -> Audit {
        let mut known = Known::default();
        loop {
            match audit(domain, &known) {
                Ok(a) => return a,
                Err(need) => {
                    let answer = txt
                        .iter()
                        .filter(|(n, _)| *n == need.name && need.qtype == RecordType::TXT)
                        .map(|(_, t)| Rdata::Txt(vec![t.as_bytes().to_vec()]))
                        .collect::<Vec<_>>();
                    let answer = if !answer.is_empty() {
                        Answer::Records(answer)
                    } else {
                        other
                            .iter()
                            .find(|(n, q, _)| *n == need.name && *q == need.qtype)
                            .map_or(Answer::NxDomain, |(_, _, a)| a.clone())
                    };
                    known.insert(need.name, need.qtype, answer);
                }
            }
        }
    }

    #[test]
    fn lookups_are_counted_through_includes_and_redirects() {
        let a = audited(
            "example.com",
            &[
                (
                    "example.com",
                    "v=spf1 include:_spf.a.example ip4:192.0.2.0/24 redirect=_spf.example.com",
                ),
                (
                    "_spf.a.example",
                    "v=spf1 include:_spf.b.example a:mail.a.example ~all",
                ),
                ("_spf.b.example", "v=spf1 ip4:198.51.100.0/24 -all"),
                ("_spf.example.com", "v=spf1 mx ptr -all"),
            ],
            &[
                (
                    "mail.a.example",
                    RecordType::A,
                    Answer::Records(vec![Rdata::A("192.0.2.1".parse().unwrap())]),
                ),
                (
                    "_spf.example.com",
                    RecordType::MX,
                    Answer::Records(vec![Rdata::Mx("mx.example.com".into())]),
                ),
            ],
        );
        // include, include, a, redirect, mx, ptr.
        assert_eq!(a.lookups, 6);
        assert_eq!(
            a.all,
            Some(Qualifier::Fail),
            "the all reached through the redirect"
        );
        assert!(
            a.uses_ptr && a.problems.is_empty() && a.void_lookups == 0,
            "{a:?}"
        );
        assert!(
            a.record
                .unwrap()
                .starts_with("v=spf1 include:_spf.a.example")
        );
    }

    /// An include graph of 26 levels, each of two records that include both records of the
    /// next: 2^26 paths. The walk ends at the 11th lookup, having read a handful of records.
    #[test]
    fn an_include_graph_is_walked_to_the_limit_only() {
        let levels = 26;
        let records: Vec<(String, String)> = (0..levels)
            .flat_map(|l| {
                (0..2).map(move |j| {
                    let name = format!("l{l}-{j}.graph.example");
                    let text = if l + 1 == levels {
                        "v=spf1 -all".to_string()
                    } else {
                        format!(
                            "v=spf1 include:l{n}-0.graph.example include:l{n}-1.graph.example -all",
                            n = l + 1
                        )
                    };
                    (name, text)
                })
            })
            .collect();
        let mut txt: Vec<(&str, &str)> = vec![(
            "graph.example",
            "v=spf1 include:l0-0.graph.example include:l0-1.graph.example -all",
        )];
        txt.extend(records.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        let mut known = Known::default();
        let mut asked = 0;
        let a = loop {
            match audit("graph.example", &known) {
                Ok(a) => break a,
                Err(need) => {
                    asked += 1;
                    let text = txt.iter().find(|(n, _)| *n == need.name).unwrap().1;
                    known.insert(need.name, need.qtype, Answer::txt(&[text]));
                }
            }
        };
        assert_eq!(a.lookups, MAX_LOOKUPS + 1);
        assert!(a.too_many_lookups() && a.problems.is_empty(), "{a:?}");
        assert_eq!(a.all, Some(Qualifier::Fail));
        assert!(asked <= 12, "{asked} questions");
    }

    #[test]
    fn problems_and_limits() {
        let many: String = (0..11).map(|i| format!(" a:h{i}.example.com")).collect();
        let a = audited(
            "example.com",
            &[("example.com", &format!("v=spf1{many} +all"))],
            &[],
        );
        // The walk ends at the third void lookup, as check_host() does; the `all` is known.
        assert!(a.too_many_voids() && !a.evaluates(), "{a:?}");
        assert_eq!(
            (a.lookups, a.void_lookups, a.all),
            (3, 3, Some(Qualifier::Pass))
        );
        let a = audited(
            "example.com",
            &[
                ("example.com", "v=spf1 include:b.example.com -all"),
                ("b.example.com", "v=spf1 include:example.com"),
            ],
            &[],
        );
        assert_eq!(a.problems, [Problem::Loop("example.com".into())]);
        let a = audited(
            "example.com",
            &[("example.com", "v=spf1 include:gone.example.com -all")],
            &[],
        );
        assert_eq!(a.problems, [Problem::Missing("gone.example.com".into())]);
        let a = audited(
            "example.com",
            &[
                ("example.com", "v=spf1 -all"),
                ("example.com", "v=spf1 +all"),
            ],
            &[],
        );
        assert_eq!(a.problems, [Problem::Multiple("example.com".into(), 2)]);
        let a = audited(
            "example.com",
            &[("example.com", "v=spf1 ip4:1.2.3.4/40")],
            &[],
        );
        assert!(matches!(a.problems[..], [Problem::Syntax(..)]));
        // Macro targets depend on the client: counted, never void.
        let a = audited(
            "example.com",
            &[("example.com", "v=spf1 exists:%{i}.x.example.com -all")],
            &[],
        );
        assert_eq!((a.lookups, a.void_lookups), (1, 0));
        assert_eq!(audited("example.com", &[], &[]), Audit::default());
    }
}
