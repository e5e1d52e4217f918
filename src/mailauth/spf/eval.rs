//! `check_host()` (RFC 7208 §4) over the answers known so far; see the module above for the
//! replay design. (Over 700 lines only with its tests, written from RFC 7208 section by
//! section.)

use std::net::IpAddr;

use hickory_proto::rr::{Name, RecordType};

use super::macros::{Context, MacroString};
use super::record::{Mechanism, Record, RecordAt};
use super::{Answer, Dns, Need, Rdata, SpfResult};

/// Mechanisms and modifiers that cause DNS lookups, at most (§4.6.4).
pub const MAX_LOOKUPS: u32 = 10;
/// Lookups that found nothing (NXDOMAIN or no records), at most (§4.6.4).
pub const MAX_VOID_LOOKUPS: u32 = 2;
/// Exchanges an `mx` mechanism looks at, and names a `ptr` mechanism validates (§4.6.4).
pub const MAX_NAMES: usize = 10;
/// Longest explanation kept (bytes): an SMTP reply line is at most 512 (RFC 5321 §4.5.3.1.5).
const MAX_EXPLANATION: usize = 512;
/// Longest domain name a macro may expand to (§4.8: longer ones lose labels on the left).
const MAX_DOMAIN: usize = 253;

/// One `check_host()` question: may `ip` send mail for `domain`?
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub ip: IpAddr,
    /// The MAIL FROM address; empty for a bounce, when the HELO identity is checked (§2.4).
    pub sender: &'a str,
    /// The HELO/EHLO name.
    pub helo: &'a str,
    /// The domain whose record is checked: the sender's domain, or the HELO name.
    pub domain: &'a str,
    /// The receiving host (`%{r}`), and the time (`%{t}`), for explanations.
    pub receiver: &'a str,
    pub timestamp: u64,
}

/// The outcome of one `check_host()`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evaluation {
    pub result: SpfResult,
    /// The directive that decided, as written (`include:…` for a pass through an include);
    /// `None` when no mechanism matched.
    pub mechanism: Option<String>,
    /// The `exp=` text of a `fail`, when the domain gives one.
    pub explanation: Option<String>,
    /// DNS-querying mechanisms and modifiers evaluated (the limit is 10).
    pub lookups: u32,
    /// Of the DNS-querying terms, those that found nothing (the limit is 2).
    pub void_lookups: u32,
    /// The checked domain's SPF record, when it has one.
    pub record: Option<String>,
    /// Why the result is `permerror` or `temperror`.
    pub problem: Option<String>,
}

/// Runs `check_host()` over `dns`; `Err` names the next question to answer.
pub fn check_host(request: &Request, dns: &dyn Dns) -> Result<Evaluation, Need> {
    let sender = if request.sender.is_empty() {
        format!("postmaster@{}", request.helo)
    } else if !request.sender.contains('@') {
        format!("postmaster@{}", request.sender)
    } else {
        request.sender.to_string()
    };
    let mut ev = Evaluator {
        dns,
        ip: request.ip.to_canonical(),
        lookups: 0,
        voids: 0,
        stack: Vec::new(),
        cx: Context {
            sender,
            domain: String::new(),
            ip: request.ip.to_canonical(),
            helo: request.helo.to_string(),
            validated: None,
            receiver: request.receiver.to_string(),
            timestamp: request.timestamp,
        },
        record: None,
    };
    let domain = normalise(request.domain);
    let (result, mechanism, explanation, problem) = match ev.check(&domain, true) {
        Ok(Decided {
            result,
            mechanism,
            explanation,
        }) => (result, mechanism, explanation, None),
        Err(Stop::Need(need)) => return Err(need),
        Err(Stop::Temp(why)) => (SpfResult::TempError, None, None, Some(why)),
        Err(Stop::Perm(why)) => (SpfResult::PermError, None, None, Some(why)),
    };
    Ok(Evaluation {
        result,
        mechanism,
        explanation,
        lookups: ev.lookups,
        void_lookups: ev.voids,
        record: ev.record,
        problem,
    })
}

/// Why an evaluation stopped before a result.
enum Stop {
    Need(Need),
    Temp(String),
    Perm(String),
}

/// A `check_host()` that ended with a result other than an error.
struct Decided {
    result: SpfResult,
    mechanism: Option<String>,
    explanation: Option<String>,
}

struct Evaluator<'d> {
    dns: &'d dyn Dns,
    ip: IpAddr,
    lookups: u32,
    voids: u32,
    /// The domains whose records are being evaluated (include and redirect nest).
    stack: Vec<String>,
    cx: Context,
    /// The first (outermost) record.
    record: Option<String>,
}

/// Counts one more against `limit`: past it, a permerror (§4.6.4).
fn bump(counter: &mut u32, limit: u32, what: &str) -> Result<(), Stop> {
    *counter += 1;
    if *counter > limit {
        return Err(Stop::Perm(format!("more than {limit} {what}")));
    }
    Ok(())
}

/// Lower case, without a trailing dot.
fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A name DNS can be asked: labels of 1–63 octets, at most 253 in all.
fn askable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DOMAIN
        && name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

/// A multi-label domain (§4.3): `check_host()` of anything else is `none`.
fn valid_domain(name: &str) -> bool {
    askable(name) && name.contains('.')
}

impl Evaluator<'_> {
    fn ask(&self, name: &str, qtype: RecordType) -> Result<&Answer, Stop> {
        self.dns.answer(name, qtype).ok_or_else(|| {
            Stop::Need(Need {
                name: name.to_string(),
                qtype,
            })
        })
    }

    /// One more DNS-querying term (§4.6.4).
    fn count(&mut self) -> Result<(), Stop> {
        bump(
            &mut self.lookups,
            MAX_LOOKUPS,
            "DNS-querying mechanisms and modifiers",
        )
    }

    /// A term's lookup found nothing (§4.6.4).
    fn void(&mut self) -> Result<(), Stop> {
        bump(
            &mut self.voids,
            MAX_VOID_LOOKUPS,
            "lookups that found nothing",
        )
    }

    /// A domain-spec expanded for `current`, lower case, shortened on the left to 253.
    fn target(&mut self, spec: &MacroString, current: &str) -> Result<String, Stop> {
        self.prepare(spec, current)?;
        let mut name = normalise(&spec.expand(&self.cx));
        while name.len() > MAX_DOMAIN {
            match name.split_once('.') {
                Some((_, rest)) => name = rest.to_string(),
                None => break,
            }
        }
        Ok(name)
    }

    /// Sets what the macros of `spec` stand for when evaluating `current`: `%{p}` needs the
    /// client's validated name (§7.3: `current` itself if validated, else one of its
    /// subdomains, else any; "unknown" when none or on a DNS error). Its lookups are not terms
    /// and count towards no limit.
    fn prepare(&mut self, spec: &MacroString, current: &str) -> Result<(), Stop> {
        self.cx.domain = current.to_string();
        if !spec.uses('p') {
            return Ok(());
        }
        let names = self.validated_names(false)?;
        let below = format!(".{current}");
        self.cx.validated = names
            .iter()
            .find(|n| *n == current)
            .or_else(|| names.iter().find(|n| n.ends_with(&below)))
            .or(names.first())
            .cloned();
        Ok(())
    }

    /// The target of `a`, `mx` or `ptr` (the current domain when none is given), or of
    /// `exists`; `None`, counted as a void lookup, when it cannot be asked.
    fn term_target(
        &mut self,
        spec: Option<&MacroString>,
        domain: &str,
    ) -> Result<Option<String>, Stop> {
        let target = match spec {
            Some(s) => self.target(s, domain)?,
            None => domain.to_string(),
        };
        if askable(&target) {
            return Ok(Some(target));
        }
        self.void()?;
        Ok(None)
    }

    /// `check_host()` for `domain`; `top` for the first call and redirects (whose `exp`
    /// applies), not for includes.
    fn check(&mut self, domain: &str, top: bool) -> Result<Decided, Stop> {
        let none = Decided {
            result: SpfResult::None,
            mechanism: None,
            explanation: None,
        };
        if !valid_domain(domain) {
            return Ok(none);
        }
        let at = self.dns.spf_record(domain).ok_or_else(|| {
            Stop::Need(Need {
                name: domain.to_string(),
                qtype: RecordType::TXT,
            })
        })?;
        let (text, parsed) = match &*at {
            RecordAt::Failed => {
                return Err(Stop::Temp(format!("the TXT lookup of {domain} failed")));
            }
            RecordAt::None => return Ok(none),
            RecordAt::Multiple(n) => {
                return Err(Stop::Perm(format!("{domain} has {n} SPF records")));
            }
            RecordAt::One { text, parsed } => (text, parsed),
        };
        if self.record.is_none() {
            self.record = Some(text.clone());
        }
        let parsed = parsed
            .as_ref()
            .map_err(|e| Stop::Perm(format!("the SPF record of {domain}: {e}")))?;
        if self.stack.iter().any(|d| d == domain) {
            return Err(Stop::Perm(format!("{domain} includes itself (a loop)")));
        }
        self.stack.push(domain.to_string());
        let decided = self.evaluate(domain, parsed, top);
        self.stack.pop();
        decided
    }

    fn evaluate(&mut self, domain: &str, rec: &Record, top: bool) -> Result<Decided, Stop> {
        for d in &rec.directives {
            if d.mechanism.counts() {
                self.count()?;
            }
            if self.matches(domain, &d.mechanism)? {
                let result = d.qualifier.result();
                let explanation = match (&rec.explanation, result, top) {
                    (Some(exp), SpfResult::Fail, true) => self.explain(exp, domain)?,
                    _ => None,
                };
                return Ok(Decided {
                    result,
                    mechanism: Some(d.text.clone()),
                    explanation,
                });
            }
        }
        if let Some(redirect) = &rec.redirect {
            self.count()?;
            let target = self.target(redirect, domain)?;
            let decided = self.check(&target, top)?;
            if decided.result == SpfResult::None {
                return Err(Stop::Perm(format!(
                    "redirect to {target}, which has no SPF record"
                )));
            }
            return Ok(decided);
        }
        Ok(Decided {
            result: SpfResult::Neutral,
            mechanism: None,
            explanation: None,
        })
    }

    /// The `exp=` explanation (§6.2): any problem means none, never an error.
    fn explain(&mut self, exp: &MacroString, domain: &str) -> Result<Option<String>, Stop> {
        let target = self.target(exp, domain)?;
        if !askable(&target) {
            return Ok(None);
        }
        let texts = self.ask(&target, RecordType::TXT)?.texts();
        let [text] = texts.as_slice() else {
            return Ok(None);
        };
        let Ok(text) = std::str::from_utf8(text) else {
            return Ok(None);
        };
        let Ok(text) = MacroString::parse(text, true) else {
            return Ok(None);
        };
        self.prepare(&text, domain)?;
        // Macros may multiply a TXT record's length; an explanation is one SMTP reply line.
        let mut text = text.expand(&self.cx);
        if text.len() > MAX_EXPLANATION {
            let mut end = MAX_EXPLANATION;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Ok(Some(text))
    }

    /// The addresses of `name` in the client's family: `Ok(None)` when it has none.
    fn addresses(&self, name: &str) -> Result<Option<Vec<IpAddr>>, Stop> {
        let qtype = if self.ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        };
        match self.ask(name, qtype)? {
            Answer::Failed => Err(Stop::Temp(format!("the {qtype} lookup of {name} failed"))),
            Answer::NxDomain | Answer::NoData => Ok(None),
            Answer::Records(records) => Ok(Some(
                records
                    .iter()
                    .filter_map(|r| match r {
                        Rdata::A(a) => Some(IpAddr::V4(*a)),
                        Rdata::Aaaa(a) => Some(IpAddr::V6(*a)),
                        _ => None,
                    })
                    .collect(),
            )),
        }
    }

    /// Whether `addr` is the client's network at these prefix lengths.
    fn within(&self, addr: IpAddr, v4: u8, v6: u8) -> bool {
        match (self.ip, addr) {
            (IpAddr::V4(ip), IpAddr::V4(a)) => {
                ipnet::Ipv4Net::new(a, v4).is_ok_and(|n| n.trunc().contains(&ip))
            }
            (IpAddr::V6(ip), IpAddr::V6(a)) => {
                ipnet::Ipv6Net::new(a, v6).is_ok_and(|n| n.trunc().contains(&ip))
            }
            _ => false,
        }
    }

    fn matches(&mut self, domain: &str, mechanism: &Mechanism) -> Result<bool, Stop> {
        Ok(match mechanism {
            Mechanism::All => true,
            Mechanism::Ip4(net) => matches!(self.ip, IpAddr::V4(ip) if net.contains(&ip)),
            Mechanism::Ip6(net) => matches!(self.ip, IpAddr::V6(ip) if net.contains(&ip)),
            Mechanism::Include(spec) => {
                let target = self.target(spec, domain)?;
                match self.check(&target, false)?.result {
                    SpfResult::Pass => true,
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => false,
                    SpfResult::None => {
                        return Err(Stop::Perm(format!(
                            "include of {target}, which has no SPF record"
                        )));
                    }
                    SpfResult::TempError | SpfResult::PermError => {
                        unreachable!("errors come back as Err")
                    }
                }
            }
            Mechanism::A {
                domain: spec,
                v4,
                v6,
            } => {
                let Some(target) = self.term_target(spec.as_ref(), domain)? else {
                    return Ok(false);
                };
                match self.addresses(&target)? {
                    None => {
                        self.void()?;
                        false
                    }
                    Some(addrs) => addrs.iter().any(|a| self.within(*a, *v4, *v6)),
                }
            }
            Mechanism::Mx {
                domain: spec,
                v4,
                v6,
            } => {
                let Some(target) = self.term_target(spec.as_ref(), domain)? else {
                    return Ok(false);
                };
                let exchanges: Vec<String> = match self.ask(&target, RecordType::MX)? {
                    Answer::Failed => {
                        return Err(Stop::Temp(format!("the MX lookup of {target} failed")));
                    }
                    Answer::NxDomain | Answer::NoData => {
                        self.void()?;
                        return Ok(false);
                    }
                    Answer::Records(records) => records
                        .iter()
                        .filter_map(|r| match r {
                            Rdata::Mx(name) => Some(normalise(name)),
                            _ => None,
                        })
                        .collect(),
                };
                if exchanges.len() > MAX_NAMES {
                    return Err(Stop::Perm(format!(
                        "{target} has {} MX records, more than {MAX_NAMES}",
                        exchanges.len()
                    )));
                }
                for exchange in exchanges.iter().filter(|e| askable(e)) {
                    if let Some(addrs) = self.addresses(exchange)?
                        && addrs.iter().any(|a| self.within(*a, *v4, *v6))
                    {
                        return Ok(true);
                    }
                }
                false
            }
            Mechanism::Ptr(spec) => {
                let target = match spec {
                    Some(s) => self.target(s, domain)?,
                    None => domain.to_string(),
                };
                self.validated_names(true)?
                    .iter()
                    .any(|n| n == &target || n.ends_with(&format!(".{target}")))
            }
            Mechanism::Exists(spec) => {
                let Some(target) = self.term_target(Some(spec), domain)? else {
                    return Ok(false);
                };
                // Always A, whatever the client's family (§5.7).
                match self.ask(&target, RecordType::A)? {
                    Answer::Failed => {
                        return Err(Stop::Temp(format!("the A lookup of {target} failed")));
                    }
                    Answer::NxDomain | Answer::NoData => {
                        self.void()?;
                        false
                    }
                    Answer::Records(records) => !records.is_empty(),
                }
            }
        })
    }

    /// The client's PTR names whose addresses include it (§5.5): at most ten names are
    /// tried; a failed lookup just drops its name. `term`: for the `ptr` mechanism, whose
    /// empty PTR answer is a void lookup.
    fn validated_names(&mut self, term: bool) -> Result<Vec<String>, Stop> {
        let reverse = normalise(&Name::from(self.ip).to_ascii());
        let names: Vec<String> = match self.ask(&reverse, RecordType::PTR)? {
            Answer::Failed => return Ok(Vec::new()),
            Answer::NxDomain | Answer::NoData => {
                if term {
                    self.void()?;
                }
                return Ok(Vec::new());
            }
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match r {
                    Rdata::Ptr(name) => Some(normalise(name)),
                    _ => None,
                })
                .take(MAX_NAMES)
                .collect(),
        };
        let mut validated = Vec::new();
        for name in names.into_iter().filter(|n| askable(n)) {
            match self.addresses(&name) {
                Ok(Some(addrs)) if addrs.contains(&self.ip) => validated.push(name),
                Ok(_) | Err(Stop::Temp(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(validated)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::mailauth::Known;

    /// A zone world: names with their records; unknown names are NXDOMAIN, a known name
    /// without the asked type NODATA, and names in `failing` SERVFAIL.
    #[derive(Default)]
    struct World {
        records: HashMap<String, Vec<Rdata>>,
        failing: Vec<String>,
    }

    impl World {
        fn txt(mut self, name: &str, text: &str) -> Self {
            // Split long records into 255-octet strings, as DNS carries them.
            let strings = text.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
            self.records
                .entry(name.into())
                .or_default()
                .push(Rdata::Txt(strings));
            self
        }
        fn a(mut self, name: &str, ip: &str) -> Self {
            let rdata = match ip.parse().unwrap() {
                IpAddr::V4(v4) => Rdata::A(v4),
                IpAddr::V6(v6) => Rdata::Aaaa(v6),
            };
            self.records.entry(name.into()).or_default().push(rdata);
            self
        }
        fn mx(mut self, name: &str, exchange: &str) -> Self {
            self.records
                .entry(name.into())
                .or_default()
                .push(Rdata::Mx(exchange.into()));
            self
        }
        fn ptr(mut self, ip: &str, name: &str) -> Self {
            let ip: IpAddr = ip.parse().unwrap();
            let reverse = normalise(&Name::from(ip).to_ascii());
            self.records
                .entry(reverse)
                .or_default()
                .push(Rdata::Ptr(name.into()));
            self
        }
        fn failing(mut self, name: &str) -> Self {
            self.failing.push(name.into());
            self
        }

        fn answer(&self, need: &Need) -> Answer {
            if self.failing.contains(&need.name) {
                return Answer::Failed;
            }
            let Some(records) = self.records.get(&need.name) else {
                return Answer::NxDomain;
            };
            let of_type: Vec<Rdata> = records
                .iter()
                .filter(|r| {
                    matches!(
                        (r, need.qtype),
                        (Rdata::Txt(_), RecordType::TXT)
                            | (Rdata::A(_), RecordType::A)
                            | (Rdata::Aaaa(_), RecordType::AAAA)
                            | (Rdata::Mx(_), RecordType::MX)
                            | (Rdata::Ptr(_), RecordType::PTR)
                    )
                })
                .cloned()
                .collect();
            if of_type.is_empty() {
                Answer::NoData
            } else {
                Answer::Records(of_type)
            }
        }

        /// Runs check_host() to the end, answering each question it asks; also returns the
        /// questions, in order.
        fn check(&self, ip: &str, sender: &str, domain: &str) -> (Evaluation, Vec<Need>) {
            let mut known = Known::default();
            let mut asked = Vec::new();
            let request = Request {
                ip: ip.parse().unwrap(),
                sender,
                helo: "helo.example.org",
                domain,
                receiver: "mx.example.net",
                timestamp: 1,
            };
            loop {
                match check_host(&request, &known) {
                    Ok(ev) => return (ev, asked),
                    Err(need) => {
                        assert!(!asked.contains(&need), "asked twice: {need:?}");
                        known.insert(need.name.clone(), need.qtype, self.answer(&need));
                        asked.push(need);
                        assert!(asked.len() < 100, "runaway");
                    }
                }
            }
        }

        fn result(&self, ip: &str, domain: &str) -> SpfResult {
            self.check(ip, &format!("user@{domain}"), domain).0.result
        }
    }

    fn one(record: &str) -> World {
        World::default().txt("example.com", record)
    }

    #[test]
    fn section_4_results_without_or_with_a_broken_record() {
        // §4.3: not a multi-label domain; §4.4: NXDOMAIN, SERVFAIL; §4.5: none, two.
        assert_eq!(
            World::default().result("192.0.2.1", "localhost"),
            SpfResult::None
        );
        assert_eq!(
            World::default().result("192.0.2.1", "example.com"),
            SpfResult::None
        );
        let failing = World::default().failing("example.com");
        assert_eq!(
            failing.result("192.0.2.1", "example.com"),
            SpfResult::TempError
        );
        let other = one("not spf");
        assert_eq!(other.result("192.0.2.1", "example.com"), SpfResult::None);
        let two = one("v=spf1 -all").txt("example.com", "v=spf1 +all");
        assert_eq!(two.result("192.0.2.1", "example.com"), SpfResult::PermError);
        assert_eq!(
            one("v=spf1 bogus").result("192.0.2.1", "example.com"),
            SpfResult::PermError
        );
        // §4.7: no mechanism matched, no redirect: neutral.
        let (ev, _) =
            one("v=spf1 ip4:198.51.100.0/24").check("192.0.2.1", "a@example.com", "example.com");
        assert_eq!((ev.result, ev.mechanism), (SpfResult::Neutral, None));
    }

    #[test]
    fn section_5_each_mechanism() {
        let w = World::default()
            .txt("example.com", "v=spf1 -ip4:192.0.2.66 ip4:192.0.2.0/28 ip6:2001:db8::/64 a:web.example.com/30 mx//120 ~all")
            .a("web.example.com", "198.51.100.5")
            .mx("example.com", "mail.example.com")
            .a("mail.example.com", "2001:db8:1::1");
        assert_eq!(w.result("192.0.2.66", "example.com"), SpfResult::Fail);
        assert_eq!(w.result("192.0.2.15", "example.com"), SpfResult::Pass);
        assert_eq!(w.result("192.0.2.16", "example.com"), SpfResult::SoftFail);
        assert_eq!(w.result("2001:db8::99", "example.com"), SpfResult::Pass);
        assert_eq!(
            w.result("198.51.100.6", "example.com"),
            SpfResult::Pass,
            "a/30"
        );
        assert_eq!(w.result("198.51.100.9", "example.com"), SpfResult::SoftFail);
        assert_eq!(
            w.result("2001:db8:1::ff", "example.com"),
            SpfResult::Pass,
            "mx//120"
        );
        // An IPv4-mapped IPv6 client is checked as IPv4 (§5).
        assert_eq!(
            w.result("::ffff:192.0.2.15", "example.com"),
            SpfResult::Pass
        );
        let (ev, _) = w.check("192.0.2.15", "a@example.com", "example.com");
        assert_eq!(ev.mechanism.as_deref(), Some("ip4:192.0.2.0/28"));
        assert_eq!((ev.lookups, ev.void_lookups), (0, 0), "ip4 costs no lookup");

        // exists: always an A question (§5.7); ptr: validated names only (§5.5).
        let w = World::default()
            .txt(
                "example.com",
                "v=spf1 exists:%{ir}.%{v}.e.example.com ptr -all",
            )
            .a("1.2.0.192.in-addr.e.example.com", "127.0.0.2")
            .ptr("192.0.2.7", "host.example.com")
            .a("host.example.com", "192.0.2.7")
            .ptr("192.0.2.8", "liar.example.com")
            .a("liar.example.com", "192.0.2.99");
        assert_eq!(
            w.result("192.0.2.1", "example.com"),
            SpfResult::Pass,
            "exists"
        );
        assert_eq!(
            w.result("192.0.2.7", "example.com"),
            SpfResult::Pass,
            "ptr validated"
        );
        assert_eq!(
            w.result("192.0.2.8", "example.com"),
            SpfResult::Fail,
            "ptr not validated"
        );
    }

    #[test]
    fn section_5_2_include_results() {
        let with = |inner: &str| {
            World::default()
                .txt("example.com", "v=spf1 include:_spf.example.net -all")
                .txt("_spf.example.net", inner)
        };
        assert_eq!(
            with("v=spf1 +all").result("192.0.2.1", "example.com"),
            SpfResult::Pass
        );
        for inner in ["v=spf1 -all", "v=spf1 ~all", "v=spf1 ?all", "v=spf1"] {
            assert_eq!(
                with(inner).result("192.0.2.1", "example.com"),
                SpfResult::Fail,
                "{inner}"
            );
        }
        assert_eq!(
            with("v=spf1 bad").result("192.0.2.1", "example.com"),
            SpfResult::PermError
        );
        let none = World::default().txt("example.com", "v=spf1 include:_spf.example.net -all");
        assert_eq!(
            none.result("192.0.2.1", "example.com"),
            SpfResult::PermError,
            "include of none"
        );
        let failing = none.failing("_spf.example.net");
        assert_eq!(
            failing.result("192.0.2.1", "example.com"),
            SpfResult::TempError
        );
        let (ev, _) = with("v=spf1 +all").check("192.0.2.1", "a@example.com", "example.com");
        assert_eq!(ev.mechanism.as_deref(), Some("include:_spf.example.net"));
        assert_eq!(ev.lookups, 1);
    }

    #[test]
    fn section_6_redirect_and_explanation() {
        let w = World::default()
            .txt(
                "example.com",
                "v=spf1 ip4:192.0.2.1 redirect=_spf.example.com exp=why.example.com",
            )
            .txt(
                "_spf.example.com",
                "v=spf1 ip4:192.0.2.2 -all exp=because.example.com",
            )
            .txt("because.example.com", "%{i} is not one of %{d}'s senders")
            .txt("why.example.com", "unused");
        assert_eq!(w.result("192.0.2.1", "example.com"), SpfResult::Pass);
        assert_eq!(
            w.result("192.0.2.2", "example.com"),
            SpfResult::Pass,
            "through the redirect"
        );
        let (ev, _) = w.check("192.0.2.3", "a@example.com", "example.com");
        assert_eq!(ev.result, SpfResult::Fail);
        // The redirect target's exp is the one used (§6.1).
        assert_eq!(
            ev.explanation.as_deref(),
            Some("192.0.2.3 is not one of _spf.example.com's senders")
        );
        let nowhere = World::default().txt("example.com", "v=spf1 redirect=none.example.com");
        assert_eq!(
            nowhere.result("192.0.2.1", "example.com"),
            SpfResult::PermError
        );
        // A broken explanation is no explanation, never an error (§6.2).
        let broken = one("v=spf1 -all exp=missing.example.com");
        let (ev, _) = broken.check("192.0.2.1", "a@example.com", "example.com");
        assert_eq!((ev.result, ev.explanation), (SpfResult::Fail, None));
        // A redirect is ignored when a mechanism matched.
        let w = one("v=spf1 -all redirect=nowhere.example.com");
        assert_eq!(w.result("192.0.2.1", "example.com"), SpfResult::Fail);
    }

    #[test]
    fn section_4_6_4_limits_and_loops() {
        // Eleven includes: permerror at the eleventh.
        let mut w = World::default();
        let mut record = String::from("v=spf1");
        for i in 0..11 {
            record += &format!(" include:i{i}.example.com");
            w = w.txt(&format!("i{i}.example.com"), "v=spf1 -all");
        }
        let w = w.txt("example.com", &format!("{record} +all"));
        let (ev, _) = w.check("192.0.2.1", "a@example.com", "example.com");
        assert_eq!(ev.result, SpfResult::PermError);
        assert_eq!(ev.lookups, 11);
        // Ten are fine.
        let w = w.txt(
            "ten.example.com",
            &format!("{} +all", record.rsplit_once(' ').unwrap().0),
        );
        assert_eq!(w.result("192.0.2.1", "ten.example.com"), SpfResult::Pass);

        // Three void lookups: permerror; two are fine.
        let voids = |n: usize| {
            let terms: Vec<String> = (0..n).map(|i| format!("a:v{i}.example.com")).collect();
            one(&format!("v=spf1 {} +all", terms.join(" ")))
        };
        assert_eq!(voids(2).result("192.0.2.1", "example.com"), SpfResult::Pass);
        let (ev, _) = voids(3).check("192.0.2.1", "a@example.com", "example.com");
        assert_eq!((ev.result, ev.void_lookups), (SpfResult::PermError, 3));

        // More than ten MX records: permerror.
        let mut w = one("v=spf1 mx -all");
        for i in 0..11 {
            w = w.mx("example.com", &format!("mx{i}.example.com"));
        }
        assert_eq!(w.result("192.0.2.1", "example.com"), SpfResult::PermError);

        // A loop through includes is a permerror, named as one.
        let w = World::default()
            .txt("example.com", "v=spf1 include:b.example.com -all")
            .txt("b.example.com", "v=spf1 include:example.com -all");
        let (ev, _) = w.check("192.0.2.1", "a@example.com", "example.com");
        assert_eq!(ev.result, SpfResult::PermError);
        assert!(ev.problem.unwrap().contains("loop"));
    }

    #[test]
    fn temperror_and_permerror_as_section_2_6_defines_them() {
        // A DNS failure in a counted lookup is a temperror…
        let w = one("v=spf1 a:down.example.com -all").failing("down.example.com");
        assert_eq!(w.result("192.0.2.1", "example.com"), SpfResult::TempError);
        let w = one("v=spf1 mx:down.example.com -all").failing("down.example.com");
        assert_eq!(w.result("192.0.2.1", "example.com"), SpfResult::TempError);
        // … but a failed PTR lookup just does not match (§5.5).
        let w = one("v=spf1 ptr -all").failing("1.2.0.192.in-addr.arpa");
        assert_eq!(w.result("192.0.2.1", "example.com"), SpfResult::Fail);
        // An error after a match is never reached.
        let w = one("v=spf1 +all a:down.example.com").failing("down.example.com");
        assert_eq!(w.result("192.0.2.1", "example.com"), SpfResult::Pass);
    }

    #[test]
    fn macros_in_terms_and_the_helo_identity() {
        let w = World::default()
            .txt(
                "example.com",
                "v=spf1 exists:%{l}.%{o}.users.example.com -all",
            )
            .a("alice.example.com.users.example.com", "127.0.0.2");
        let (ev, asked) = w.check("192.0.2.1", "alice@example.com", "example.com");
        assert_eq!(ev.result, SpfResult::Pass);
        assert_eq!(
            asked.last().unwrap().name,
            "alice.example.com.users.example.com"
        );
        // An empty MAIL FROM: the HELO identity, local part `postmaster` (§2.4, §4.3).
        let w = World::default()
            .txt(
                "helo.example.org",
                "v=spf1 exists:%{l}.%{d}.x.example.com -all",
            )
            .a("postmaster.helo.example.org.x.example.com", "127.0.0.2");
        let request = Request {
            ip: "192.0.2.1".parse().unwrap(),
            sender: "",
            helo: "helo.example.org",
            domain: "helo.example.org",
            receiver: "mx.example.net",
            timestamp: 1,
        };
        let mut known = Known::default();
        let ev = loop {
            match check_host(&request, &known) {
                Ok(ev) => break ev,
                Err(need) => {
                    let answer = w.answer(&need);
                    known.insert(need.name, need.qtype, answer);
                }
            }
        };
        assert_eq!(ev.result, SpfResult::Pass);
        // %{p}: the validated name, preferring the domain itself, then a subdomain (§7.3).
        let w = World::default()
            .txt("example.com", "v=spf1 exists:%{p}.p.example.com -all")
            .ptr("192.0.2.9", "other.example.net")
            .ptr("192.0.2.9", "host.example.com")
            .a("other.example.net", "192.0.2.9")
            .a("host.example.com", "192.0.2.9")
            .a("host.example.com.p.example.com", "127.0.0.2");
        let (ev, _) = w.check("192.0.2.9", "a@example.com", "example.com");
        assert_eq!(
            (ev.result, ev.lookups),
            (SpfResult::Pass, 1),
            "%{{p}} lookups count nothing"
        );
        let (_, asked) = w.check("192.0.2.10", "a@example.com", "example.com");
        assert_eq!(asked.last().unwrap().name, "unknown.p.example.com");
        // A macro expanding past 253 octets loses labels on the left (§4.8).
        let long = "a".repeat(60);
        let w = one(&format!(
            "v=spf1 exists:%{{l}}.{long}.{long}.{long}.example.com -all"
        ));
        let (_, asked) = w.check(
            "192.0.2.1",
            &format!("{long}.{long}@example.com"),
            "example.com",
        );
        assert!(asked.iter().all(|q| q.name.len() <= 253), "{asked:?}");
    }

    /// The three classes the openspf RFC 7208 suite once caught, evaluated end to end: the
    /// name asked is the whole domain-spec (§5, §7.1), macro escapes are part of it (§7.1),
    /// and an IPv6 `%{i}` is dot-format nibbles (§7.3). Its case: RFC 7208 §7.4 writes the
    /// nibbles in lower case ("1.0.b.c…ip6"), the suite's v-macro-ip6 expects upper case; DNS
    /// compares names without case (RFC 4343), so only an explanation's text can differ, and
    /// mxscan follows the RFC.
    #[test]
    fn section_5_and_7_names_built_from_any_visible_character() {
        let w = World::default()
            .txt("e11.example.com", "v=spf1 a:foo:bar/baz.example.com")
            .a("foo:bar/baz.example.com", "1.2.3.4");
        assert_eq!(w.result("1.2.3.4", "e11.example.com"), SpfResult::Pass);
        assert_eq!(
            w.result("::ffff:1.2.3.4", "e11.example.com"),
            SpfResult::Pass,
            "an IPv4-mapped client is its IPv4 address"
        );
        let w = World::default()
            .txt(
                "e1a.example.com",
                "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all",
            )
            .a("macro%percent  space%20url-space.example.com", "1.2.3.4");
        assert_eq!(w.result("1.2.3.4", "e1a.example.com"), SpfResult::Pass);
        let w = World::default()
            .txt("e4.example.com", "v=spf1 -all exp=e4msg.example.com")
            .txt("e4msg.example.com", "%{c} is queried as %{ir}.%{v}.arpa");
        let (ev, _) = w.check("CAFE:BABE::1", "test@e4.example.com", "e4.example.com");
        assert_eq!(ev.result, SpfResult::Fail);
        assert_eq!(
            ev.explanation.as_deref(),
            Some(
                "cafe:babe::1 is queried as \
                 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.b.a.b.e.f.a.c.ip6.arpa"
            )
        );
        let (ev, _) = w.check("192.168.218.40", "test@e4.example.com", "e4.example.com");
        assert_eq!(
            ev.explanation.as_deref(),
            Some("192.168.218.40 is queried as 40.218.168.192.in-addr.arpa")
        );
    }
}
