//! SPF record selection (RFC 7208 §4.5) and syntax (§4.6, §5, §6, §12).

use ipnet::{Ipv4Net, Ipv6Net};

use super::SpfResult;
use super::macros::{MacroError, MacroString};

/// A directive's qualifier (§4.6.2): the result when its mechanism matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    pub fn result(self) -> SpfResult {
        match self {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }

    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }
}

/// A mechanism (§5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(MacroString),
    /// `a` and `mx` take a domain (the current one when absent) and CIDR lengths.
    A {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Mx {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Ptr(Option<MacroString>),
    Ip4(Ipv4Net),
    Ip6(Ipv6Net),
    Exists(MacroString),
}

impl Mechanism {
    /// Whether evaluating it costs one of the ten DNS lookups (§4.6.4).
    pub fn counts(&self) -> bool {
        !matches!(self, Mechanism::All | Mechanism::Ip4(_) | Mechanism::Ip6(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub qualifier: Qualifier,
    pub mechanism: Mechanism,
    /// The term as written, for reports.
    pub text: String,
}

/// A parsed record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub directives: Vec<Directive>,
    pub redirect: Option<MacroString>,
    pub explanation: Option<MacroString>,
}

/// Why a record is not valid SPF: a permerror (§4.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

impl From<MacroError> for SyntaxError {
    fn from(e: MacroError) -> Self {
        SyntaxError(e.0)
    }
}

/// The record among a name's TXT records (§4.5), each given with its strings joined
/// ([`Answer::texts`](super::Answer::texts)); a record is SPF when it is `v=spf1` alone or
/// followed by a space. `Ok(None)`: no SPF record; `Err(n)`: `n` of them (a permerror).
pub fn select(texts: &[Vec<u8>]) -> Result<Option<String>, usize> {
    let records: Vec<&Vec<u8>> = texts
        .iter()
        .filter(|r| {
            r.len() >= 6 && r[..6].eq_ignore_ascii_case(b"v=spf1") && (r.len() == 6 || r[6] == b' ')
        })
        .collect();
    match records.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(String::from_utf8_lossy(one).into_owned())),
        more => Err(more.len()),
    }
}

/// The SPF record at a name, from its TXT answer: selected (§4.5) and parsed once, then read
/// by every replay of the evaluators (see [`crate::mailauth::Dns::spf_record`]).
#[derive(Debug, PartialEq, Eq)]
pub enum RecordAt {
    /// The TXT lookup failed.
    Failed,
    None,
    /// More than one SPF record (a permerror).
    Multiple(usize),
    One {
        text: String,
        parsed: Result<Record, SyntaxError>,
    },
}

impl RecordAt {
    pub fn of(answer: &super::Answer) -> RecordAt {
        if *answer == super::Answer::Failed {
            return RecordAt::Failed;
        }
        match select(&answer.texts()) {
            Ok(None) => RecordAt::None,
            Ok(Some(text)) => RecordAt::One {
                parsed: parse(&text),
                text,
            },
            Err(n) => RecordAt::Multiple(n),
        }
    }
}

/// Parses a selected record.
pub fn parse(record: &str) -> Result<Record, SyntaxError> {
    if !record.is_ascii() {
        return Err(SyntaxError("the record is not ASCII".into()));
    }
    let terms = record.get(6..).unwrap_or("");
    let mut out = Record::default();
    // Terms are separated by one or more spaces (§4.6.1; tabs are not allowed).
    for term in terms.split(' ').filter(|t| !t.is_empty()) {
        if let Some((name, value)) = modifier(term) {
            let target = match name.to_ascii_lowercase().as_str() {
                "redirect" => Some(&mut out.redirect),
                "exp" => Some(&mut out.explanation),
                _ => None,
            };
            match target {
                Some(slot) => {
                    if slot.is_some() {
                        return Err(SyntaxError(format!("`{name}=` given twice (§6)")));
                    }
                    *slot = Some(domain_spec(value)?);
                }
                // Unknown modifiers are ignored, once their value parses (§6).
                None => {
                    MacroString::parse(value, false)?;
                }
            }
            continue;
        }
        out.directives.push(directive(term)?);
    }
    Ok(out)
}

/// `name=value` when `term` is a modifier: a name (ALPHA then ALPHA, DIGIT, `-_.`) then `=`.
fn modifier(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    valid.then_some((name, value))
}

fn directive(term: &str) -> Result<Directive, SyntaxError> {
    let (qualifier, rest) = match term.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &term[1..]),
        b'-' => (Qualifier::Fail, &term[1..]),
        b'~' => (Qualifier::SoftFail, &term[1..]),
        b'?' => (Qualifier::Neutral, &term[1..]),
        _ => (Qualifier::Pass, term),
    };
    let split = rest.find([':', '/']).unwrap_or(rest.len());
    let (name, arg) = rest.split_at(split);
    let bad = |why: &str| SyntaxError(format!("`{term}`: {why}"));
    let mechanism = match name.to_ascii_lowercase().as_str() {
        "all" if arg.is_empty() => Mechanism::All,
        "include" => Mechanism::Include(domain_spec(
            required(arg).ok_or_else(|| bad("needs :domain"))?,
        )?),
        "exists" => Mechanism::Exists(domain_spec(
            required(arg).ok_or_else(|| bad("needs :domain"))?,
        )?),
        "ptr" => Mechanism::Ptr(optional_domain(arg, term)?),
        "a" | "mx" => {
            let (arg, v4, v6) = dual_cidr(arg).map_err(|why| bad(&why))?;
            let domain = optional_domain(arg, term)?;
            if name.eq_ignore_ascii_case("a") {
                Mechanism::A { domain, v4, v6 }
            } else {
                Mechanism::Mx { domain, v4, v6 }
            }
        }
        "ip4" => {
            let net = required(arg).ok_or_else(|| bad("needs :address"))?;
            Mechanism::Ip4(ip_net::<Ipv4Net>(net, 32).ok_or_else(|| bad("not an IPv4 network"))?)
        }
        "ip6" => {
            let net = required(arg).ok_or_else(|| bad("needs :address"))?;
            Mechanism::Ip6(ip_net::<Ipv6Net>(net, 128).ok_or_else(|| bad("not an IPv6 network"))?)
        }
        _ => return Err(bad("unknown mechanism")),
    };
    Ok(Directive {
        qualifier,
        mechanism,
        text: term.to_string(),
    })
}

/// The value after `:`, which must be there and not empty.
fn required(arg: &str) -> Option<&str> {
    arg.strip_prefix(':').filter(|v| !v.is_empty())
}

fn optional_domain(arg: &str, term: &str) -> Result<Option<MacroString>, SyntaxError> {
    match arg {
        "" => Ok(None),
        _ => match required(arg) {
            Some(d) => domain_spec(d).map(Some),
            None => Err(SyntaxError(format!("`{term}`: malformed domain"))),
        },
    }
}

/// `ADDR` or `ADDR/LEN` with LEN written without leading zeros and at most `max`.
fn ip_net<N: std::str::FromStr>(text: &str, max: u8) -> Option<N> {
    let with_len = match text.split_once('/') {
        Some((_, len)) => {
            cidr_length(len, max)?;
            text.to_string()
        }
        None => format!("{text}/{max}"),
    };
    with_len.parse().ok()
}

fn cidr_length(text: &str, max: u8) -> Option<u8> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse::<u8>().ok().filter(|n| *n <= max)
}

/// Splits `[:domain][/v4][//v6]` into the domain part and the two lengths.
fn dual_cidr(arg: &str) -> Result<(&str, u8, u8), String> {
    let (rest, v6) = match arg.rfind("//") {
        Some(i) => (
            &arg[..i],
            cidr_length(&arg[i + 2..], 128).ok_or("bad IPv6 prefix length")?,
        ),
        None => (arg, 128),
    };
    let (rest, v4) = match rest.rfind('/') {
        Some(i) if rest[i + 1..].bytes().all(|b| b.is_ascii_digit()) => (
            &rest[..i],
            cidr_length(&rest[i + 1..], 32).ok_or("bad IPv4 prefix length")?,
        ),
        _ => (rest, 32),
    };
    Ok((rest, v4, v6))
}

/// A `domain-spec` (§4.8, §7.1): a macro string ending in `.toplabel[.]` or in a macro.
pub fn domain_spec(text: &str) -> Result<MacroString, SyntaxError> {
    let spec = MacroString::parse(text, false)?;
    if spec.ends_in_macro() {
        return Ok(spec);
    }
    let tail = spec.literal_tail();
    let tail = tail.strip_suffix('.').unwrap_or(tail);
    let Some((_, top)) = tail.rsplit_once('.') else {
        return Err(SyntaxError(format!("`{text}` is not a domain")));
    };
    let toplabel_ok = !top.is_empty()
        && top.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !top.starts_with('-')
        && !top.ends_with('-')
        && !top.bytes().all(|b| b.is_ascii_digit());
    if !toplabel_ok {
        return Err(SyntaxError(format!(
            "`{text}` does not end in a top-level label"
        )));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records given as their strings, joined as `Answer::texts` joins them.
    fn txt(records: &[&[&str]]) -> Vec<Vec<u8>> {
        records.iter().map(|r| r.concat().into_bytes()).collect()
    }

    /// §4.5: strings concatenated without spaces; `v=spf1` alone or before a space; case
    /// ignored; two records are a permerror.
    #[test]
    fn record_selection() {
        assert_eq!(
            select(&txt(&[&["v=spf1 ", "-all"]])),
            Ok(Some("v=spf1 -all".into()))
        );
        assert_eq!(select(&txt(&[&["V=SPF1"]])), Ok(Some("V=SPF1".into())));
        assert_eq!(select(&txt(&[&["v=spf10 -all"], &["other"]])), Ok(None));
        assert_eq!(select(&txt(&[&["v=spf1", "-all"]])), Ok(None), "v=spf1-all");
        assert_eq!(select(&txt(&[&["v=spf1 a"], &["v=spf1 mx"]])), Err(2));
    }

    #[test]
    fn terms_parse_with_their_defaults() {
        let r = parse("v=spf1 a mx/24 -a:%{d}.x.example/16//64 ip4:192.0.2.0/24 ?ip6:2001:db8::/32 ~ptr include:_spf.example.com exists:%{i}.e.example redirect=_spf.example.org exp=explain.%{d} x-custom=1 -ALL").unwrap();
        let m: Vec<&Mechanism> = r.directives.iter().map(|d| &d.mechanism).collect();
        assert_eq!(
            m[0],
            &Mechanism::A {
                domain: None,
                v4: 32,
                v6: 128
            }
        );
        assert_eq!(
            m[1],
            &Mechanism::Mx {
                domain: None,
                v4: 24,
                v6: 128
            }
        );
        assert!(matches!(
            m[2],
            Mechanism::A {
                domain: Some(_),
                v4: 16,
                v6: 64
            }
        ));
        assert_eq!(r.directives[2].qualifier, Qualifier::Fail);
        assert_eq!(m[3], &Mechanism::Ip4("192.0.2.0/24".parse().unwrap()));
        assert_eq!(m[4], &Mechanism::Ip6("2001:db8::/32".parse().unwrap()));
        assert_eq!(r.directives[4].qualifier, Qualifier::Neutral);
        assert_eq!(m[5], &Mechanism::Ptr(None));
        assert!(matches!(m[6], Mechanism::Include(_)));
        assert!(matches!(m[7], Mechanism::Exists(_)));
        assert_eq!(m[8], &Mechanism::All);
        assert!(r.redirect.is_some() && r.explanation.is_some());
        assert_eq!(parse("v=spf1").unwrap(), Record::default());
    }

    #[test]
    fn syntax_errors_are_permerrors() {
        for record in [
            "v=spf1 foo",
            "v=spf1 include",
            "v=spf1 include:",
            "v=spf1 ip4:192.0.2.1/33",
            "v=spf1 ip4:192.0.2.1/08",
            "v=spf1 ip4:2001:db8::1",
            "v=spf1 ip6:192.0.2.1",
            "v=spf1 a/129",
            "v=spf1 a//129",
            "v=spf1 all:x",
            "v=spf1 redirect=a.example redirect=b.example",
            "v=spf1 exp=a.example exp=b.example",
            "v=spf1 include:example.123",
            "v=spf1 include:%{x}.example",
            "v=spf1 a:-bad-",
            "v=spf1 -all\u{e9}",
        ] {
            assert!(parse(record).is_err(), "{record}");
        }
        // Spaces between terms may repeat; mechanism names ignore case.
        assert_eq!(
            parse("v=spf1  IP4:192.0.2.1   -All")
                .unwrap()
                .directives
                .len(),
            2
        );
    }
}

#[cfg(test)]
mod rfc7208_domain_spec {
    use super::*;
    use crate::mailauth::spf::macros::Context;

    fn target(term: &str) -> Result<(String, u8), String> {
        let r = parse(&format!("v=spf1 {term}")).map_err(|e| e.0)?;
        let cx = Context {
            sender: "l@example.com".into(),
            domain: "example.com".into(),
            ip: "192.0.2.3".parse().unwrap(),
            helo: "h.example.com".into(),
            validated: None,
            receiver: "r.example".into(),
            timestamp: 0,
        };
        match &r.directives[0].mechanism {
            Mechanism::A {
                domain: Some(d),
                v4,
                ..
            }
            | Mechanism::Mx {
                domain: Some(d),
                v4,
                ..
            } => Ok((d.expand(&cx), *v4)),
            Mechanism::Include(d) | Mechanism::Exists(d) => Ok((d.expand(&cx), 32)),
            other => Err(format!("{other:?}")),
        }
    }

    /// §5 and §7.1: a domain-spec is macro-string, any visible character but `%` written as
    /// itself, so `:` and `/` inside it belong to the name; only a trailing `/digits` is a
    /// CIDR length.
    #[test]
    fn colons_and_slashes_inside_a_domain_spec_are_part_of_the_name() {
        assert_eq!(
            target("a:foo:bar.example.com"),
            Ok(("foo:bar.example.com".into(), 32))
        );
        assert_eq!(
            target("a:foo/bar.example.com"),
            Ok(("foo/bar.example.com".into(), 32))
        );
        assert_eq!(
            target("a:foo/bar.example.com/24"),
            Ok(("foo/bar.example.com".into(), 24))
        );
        assert_eq!(
            target("include:a:b/c.example.com"),
            Ok(("a:b/c.example.com".into(), 32))
        );
        assert_eq!(
            target("mx:x:y.example.com/16"),
            Ok(("x:y.example.com".into(), 16))
        );
    }

    /// §7.1: `%%`, `%_` and `%-` are macro-expands, allowed in a domain-spec too.
    #[test]
    fn macro_escapes_inside_a_domain_spec() {
        assert_eq!(
            target("exists:a%%b.example.com"),
            Ok(("a%b.example.com".into(), 32))
        );
        assert_eq!(
            target("exists:a%-b.example.com"),
            Ok(("a%20b.example.com".into(), 32))
        );
        assert_eq!(
            target("exists:a%_b.example.com"),
            Ok(("a b.example.com".into(), 32))
        );
    }
}
