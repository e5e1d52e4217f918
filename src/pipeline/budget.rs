//! What one domain may cost the scan, stated once (docs/design.md, "A budget per domain").
//!
//! A zone can hold thousands of MX records, each with thousands of addresses, an SPF include
//! graph of millions of paths or a DMARC record with hundreds of report addresses. Every list
//! a domain's answers give is read up to a fixed length, in an order that does not depend on
//! the resolver (sorted), and every question the domain may cause counts against one cap. The
//! counts of what was seen stay exact (`mx_count`, `ptr_count`); what the budget left out is
//! reported as `DOMAIN_BUDGET_EXCEEDED` with its figures, never dropped in silence.

use std::net::IpAddr;
use std::sync::Arc;

use super::lookup::{Answer, Data};

/// Exchanges (MX records, by preference then name) whose addresses are looked up. RFC 5321
/// gives no limit; real domains have up to about ten.
pub const EXCHANGES: usize = 16;
/// Addresses of one A or one AAAA answer of a mail host (the lowest first) that get PTR
/// lookups and a row in `records`.
pub const ADDRESSES: usize = 8;
/// PTR names of one address that are kept (sorted).
pub const PTR_NAMES: usize = 8;
/// PTR names whose forward lookup is checked, as mail receivers do (RFC 8601 §3: iprev
/// implementations commonly stop after a few).
pub const FORWARD_NAMES: usize = 2;
/// CNAME records asked one at a time after a SERVFAIL, to tell a loop or an over-long chain
/// from a broken server (resolvers follow at most 11 hops and hide loops behind SERVFAIL).
pub const CNAME_WALK: usize = 12;
/// Questions one domain may cause in all (its lookups, its evaluators', its walks); past it
/// nothing more is sent for the domain and its evaluators read a failure.
pub const QUESTIONS: usize = 256;
/// Questions one mail-authentication evaluator may ask; RFC 7208's limits keep a real SPF
/// evaluation near 30.
pub const EVALUATOR_QUESTIONS: u32 = 64;
/// MX addresses whose SPF result is evaluated (the first in address order): enough for any
/// real domain, and a bound on what a hostile one with `exists:%{i}…` can make us ask.
pub const MX_CHECKS: usize = 10;
/// DMARC aggregate-report URIs (`rua`, in the record's order) kept in the row and whose
/// destination's authorisation is asked.
pub const RUA: usize = 8;
/// Bytes of a TXT record (SPF, DMARC) kept in a row.
pub const TEXT: usize = 4096;

/// What the budget left out of one domain; all zero for nearly every domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cut {
    /// MX records past [`EXCHANGES`].
    pub exchanges: usize,
    /// Addresses of mail hosts past [`ADDRESSES`] per answer.
    pub addresses: usize,
    /// PTR names past [`PTR_NAMES`] per address.
    pub ptr_names: usize,
    /// Questions not sent, past [`QUESTIONS`].
    pub questions: usize,
    /// `rua` URIs past [`RUA`].
    pub rua: usize,
    /// Bytes of TXT records past [`TEXT`].
    pub text: usize,
}

impl Cut {
    pub fn any(&self) -> bool {
        *self != Cut::default()
    }

    /// The finding's evidence: each cut with its limit.
    pub fn describe(&self) -> String {
        let parts = [
            (self.exchanges, "MX records", EXCHANGES, ""),
            (self.addresses, "addresses", ADDRESSES, " per answer"),
            (self.ptr_names, "PTR names", PTR_NAMES, " per address"),
            (self.questions, "questions", QUESTIONS, ""),
            (self.rua, "rua URIs", RUA, ""),
            (self.text, "TXT bytes", TEXT, " per record"),
        ];
        parts
            .iter()
            .filter(|(n, ..)| *n > 0)
            .map(|(n, what, limit, per)| format!("{n} {what} left out (limit {limit}{per})"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The MX records of an answer that are looked up, by preference then name, and how many
/// there were in all.
pub fn exchanges(mx: &Answer) -> (Vec<(u16, &Arc<str>)>, usize) {
    let mut all: Vec<(u16, &Arc<str>)> = mx
        .data
        .iter()
        .filter_map(|d| match d {
            Data::Mx {
                preference,
                exchange,
            } => Some((*preference, exchange)),
            _ => None,
        })
        .collect();
    let count = all.len();
    all.sort_unstable();
    all.truncate(EXCHANGES);
    (all, count)
}

/// The addresses of an A or AAAA answer that are checked (the lowest, each once), and how many
/// distinct ones there were.
pub fn addresses(answer: &Answer) -> (Vec<IpAddr>, usize) {
    let mut ips: Vec<IpAddr> = answer.addresses().collect();
    ips.sort_unstable();
    ips.dedup();
    let count = ips.len();
    ips.truncate(ADDRESSES);
    (ips, count)
}

/// The PTR names of an answer that are kept (sorted, each once; the first [`FORWARD_NAMES`]
/// are checked), and how many distinct ones there were.
pub fn ptr_names(answer: &Answer) -> (Vec<Arc<str>>, usize) {
    let mut names: Vec<Arc<str>> = answer.ptr_names().cloned().collect();
    names.sort_unstable();
    names.dedup();
    let count = names.len();
    names.truncate(PTR_NAMES);
    (names, count)
}

/// `text` cut to [`TEXT`] bytes (at a character boundary), and the bytes left out.
pub fn text(text: String) -> (String, usize) {
    if text.len() <= TEXT {
        return (text, 0);
    }
    let mut end = TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    (text[..end].to_string(), cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_evidence_names_each_cut_and_its_limit() {
        let cut = Cut {
            exchanges: 1484,
            questions: 3,
            ..Cut::default()
        };
        assert_eq!(
            cut.describe(),
            "1484 MX records left out (limit 16); 3 questions left out (limit 256)"
        );
        assert!(!Cut::default().any() && cut.any());
        let (kept, cut) = text("é".repeat(3000));
        assert_eq!((kept.len(), cut), (4096, 6000 - 4096));
    }
}
