//! The findings rules catalogued in `docs/findings.md`, as pure functions of a domain's lookup
//! results. Where the specification leaves room, `data/README.md` ("How the expected findings
//! were derived") states the reading these functions follow; the rule numbers below refer to it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::addr::AddrClass;
use super::generic;
use super::{Analysis, Code, Finding, Grade, Route, Severity};
use crate::engine::Status;
use crate::pipeline::is_ip_literal;
use crate::pipeline::result::{Address, DomainResult, Exchange, Host, Iprev};

/// Longest CNAME chain accepted before it counts as a loop.
pub const MAX_CHAIN: usize = 8;

/// The role of an address (FINDINGS.md: an address in both roles is judged as `send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Send,
    Receive,
}

impl Role {
    /// The severity of `code` for an address in this role.
    fn grade(self, code: Code) -> Severity {
        match (code.grade(), self) {
            (Grade::ByRole { send, .. }, Role::Send) => send,
            (Grade::ByRole { receive, .. }, Role::Receive) => receive,
            _ => code.severity(),
        }
    }
}

/// Does a walk (or a chain) end in a name seen before?
pub fn is_loop(start: &str, hops: &[String]) -> bool {
    hops.last()
        .is_some_and(|last| last == start || hops[..hops.len() - 1].contains(last))
}

/// An alias chain that loops, or runs past [`MAX_CHAIN`] hops (a walk the budget ended
/// included): judged as a loop, for a domain and an exchange alike.
pub fn chain_broken(start: &str, walk: &[String], chain: &[String]) -> bool {
    is_loop(start, walk) || chain.len() > MAX_CHAIN
}

/// Syntax of an exchange name: LDH labels without leading/trailing hyphens, 1–63 octets each,
/// at most 253 in all (RFC 5321 §2.3.5, RFC 1123 §2.1).
pub fn syntax_ok(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn tld(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// The registrable domain (Public Suffix List; an unlisted TLD counts as a public suffix).
pub fn registrable(name: &str) -> String {
    psl::domain_str(name).unwrap_or(name).to_string()
}

/// What is known of one distinct exchange.
struct HostState<'a> {
    name: &'a str,
    preference: u16,
    host: Option<&'a Host>,
    /// Codes of this host that are E/W (severity decided over all hosts).
    ew: Vec<Code>,
    unusable: bool,
    /// A lookup failed and nothing else condemns it: neither usable nor unusable (rule 3).
    unknown: bool,
}

/// Target-name and address-lookup checks of one exchange; codes with a fixed severity go to
/// `out`, E/W codes stay on the host.
fn check_host<'a>(
    a: &Analysis,
    name: &'a str,
    preference: u16,
    host: Option<&'a Host>,
    out: &mut Vec<Finding>,
) -> HostState<'a> {
    let mut s = HostState {
        name,
        preference,
        host,
        ew: Vec::new(),
        unusable: false,
        unknown: false,
    };
    let mut fixed = |code, evidence: String| {
        out.push(Finding::fixed(code, name, evidence));
    };
    if is_ip_literal(name) {
        // Rule 6: never resolved, reported as such only.
        fixed(
            Code::MX_TARGET_IP_LITERAL,
            "the exchange is an IP address, not a host name".into(),
        );
        s.unusable = true;
        return s;
    }
    if !syntax_ok(name) && name != "localhost" {
        fixed(
            Code::MX_TARGET_SYNTAX,
            "a label is not letters, digits and inner hyphens of 1-63 octets".into(),
        );
    }
    if name == "localhost" || name.ends_with(".localhost") {
        fixed(
            Code::MX_TARGET_LOCALHOST,
            "the exchange is localhost".into(),
        );
        s.unusable = true;
    } else if tld(name) == "invalid"
        || (!a.allow_special_use && matches!(tld(name), "test" | "example"))
    {
        fixed(
            Code::MX_TARGET_SPECIAL_USE,
            format!("`.{}` is a special-use TLD (RFC 6761)", tld(name)),
        );
        s.unusable = true;
    }
    let Some(h) = host else {
        return s;
    };
    let status = |x: &Option<std::sync::Arc<crate::pipeline::lookup::Answer>>| {
        x.as_ref().map_or(Status::Timeout, |a| a.status)
    };
    let (sa, s6) = (status(&h.a), status(&h.aaaa));
    let chain = h.cname_chain();
    let walk_loop = chain_broken(name, &h.walk, chain);
    if !chain.is_empty() {
        fixed(
            Code::MX_TARGET_CNAME,
            format!("the exchange is an alias of {}", chain.join(" -> ")),
        );
    }
    let both = |st: Status| sa == st && s6 == st;
    let has_v4 = h.addresses.iter().any(|x| x.ip.is_ipv4());
    let has_v6 = h.addresses.iter().any(|x| x.ip.is_ipv6());
    let temporary = |st: Status| !matches!(st, Status::NoError | Status::NoData | Status::NxDomain);
    if walk_loop
        || (!chain.is_empty()
            && h.addresses.is_empty()
            && (both(Status::NxDomain) || both(Status::NoData)))
    {
        // Rule 4: the more precise code replaces MX_TARGET_NXDOMAIN.
        s.ew.push(Code::MX_TARGET_CNAME_DANGLING);
        s.unusable = true;
    } else if both(Status::NxDomain) {
        s.ew.push(Code::MX_TARGET_NXDOMAIN);
        s.unusable = true;
    } else if h.addresses.is_empty() && !temporary(sa) && !temporary(s6) {
        s.ew.push(Code::MX_TARGET_NO_ADDRESS);
        s.unusable = true;
    } else if has_v6 && !has_v4 && !temporary(sa) {
        s.ew.push(Code::MX_TARGET_IPV6_ONLY);
        s.unusable = true;
    }
    if !walk_loop && (temporary(sa) || temporary(s6)) {
        fixed(
            Code::MX_TARGET_TEMPERROR,
            format!("A {}, AAAA {}", sa.as_str(), s6.as_str()),
        );
        if h.addresses.is_empty() && !s.unusable {
            s.unknown = true;
        }
    }
    // Rule 3: every address private, loopback or bogon.
    if !h.addresses.is_empty()
        && h.addresses
            .iter()
            .all(|x| a.addresses.classify(x.ip) != AddrClass::Public)
    {
        s.unusable = true;
    }
    s
}

/// Address-class codes of one address.
fn address_class(a: &Analysis, ip: IpAddr) -> Option<Code> {
    match a.addresses.classify(ip) {
        AddrClass::Public => None,
        AddrClass::Private => Some(Code::ADDR_PRIVATE),
        AddrClass::Loopback => Some(Code::ADDR_LOOPBACK),
        AddrClass::Bogon => Some(Code::ADDR_BOGON),
    }
}

/// Reverse-DNS codes of one address in its role; for `send`, `domain` is the sender domain.
/// The reverse-DNS findings of one address. `aligned`: the registrable domains a sender's PTR
/// may be under without `PTR_UNALIGNED` (its domain's and its exchanges': mail sent through the
/// provider that receives it has the provider's reverse DNS).
fn reverse(address: &Address, role: Role, aligned: &[String], out: &mut Vec<Finding>) -> bool {
    // Built only when a finding needs them: most addresses have none.
    let ip = || address.ip.to_string();
    let names = || address.ptr_names.join(" ");
    let mut push = |code, evidence: String| {
        out.push(Finding::new(code, role.grade(code), &ip(), evidence));
    };
    match address.iprev {
        Iprev::Pass => {}
        Iprev::PermError => push(Code::PTR_MISSING, "no PTR record".into()),
        Iprev::Fail => push(
            Code::PTR_FCRDNS_FAIL,
            format!("PTR {} does not map back", names()),
        ),
        Iprev::TempError => push(
            Code::PTR_TEMPERROR,
            "a reverse or forward lookup failed".into(),
        ),
    }
    let mut generic_found = false;
    for name in &address.ptr_names {
        let g = generic::judge_memo(name, address.ip);
        if g.is_generic() {
            generic_found = true;
            let mut f = Finding::new(
                Code::PTR_GENERIC,
                role.grade(Code::PTR_GENERIC),
                &ip(),
                format!("PTR {name} looks like an access-network name"),
            );
            f.static_hint = g.static_hint;
            out.push(f);
            break;
        }
    }
    if address.ptr_names.len() > 1 {
        out.push(Finding::fixed(
            Code::PTR_MULTIPLE,
            &ip(),
            format!("{} PTR records: {}", address.ptr_names.len(), names()),
        ));
    }
    if address
        .forward
        .iter()
        .any(|(_, f)| f.as_ref().is_some_and(|f| !f.chain.is_empty()))
    {
        out.push(Finding::fixed(
            Code::PTR_TARGET_CNAME,
            &ip(),
            "the PTR name is an alias".into(),
        ));
    }
    // Rule 8: the PTR of a provider's receiving address is the provider's.
    if role == Role::Send
        && !address.ptr_names.is_empty()
        && address
            .ptr_names
            .iter()
            .all(|n| !aligned.contains(&registrable(n)))
    {
        out.push(Finding::fixed(
            Code::PTR_UNALIGNED,
            &ip(),
            format!("PTR {} is outside {}", names(), aligned.join(", ")),
        ));
    }
    generic_found
}

/// Every finding of a domain, sorted by code then subject, each (code, subject) once. The
/// stages run in this order over one [`Domain`] context.
pub fn findings(a: &Analysis, r: &DomainResult, route: Route) -> Vec<Finding> {
    let mut d = Domain::new(a, r, route);
    d.measurement();
    // Nothing to say of the mail authentication of a domain that does not exist. One whose MX
    // lookup failed may not exist either: an absence (no DMARC record) is a measurement only
    // once a question at its own name was answered (the SPF TXT lookup).
    if !r.nonexistent() {
        let exists = route != Route::Indeterminate
            || r.auth
                .as_ref()
                .and_then(|a| a.posture.spf.as_ref())
                .is_some_and(|audit| !audit.own_lookup_failed());
        super::mailauth::findings(r, exists, &mut d.out);
    }
    if d.domain_level() {
        d.null_mx();
        d.targets();
        d.addresses();
        d.mx_set();
        d.senders();
    }
    finish(d.out)
}

/// What the stages of one domain's findings share.
struct Domain<'a> {
    a: &'a Analysis,
    r: &'a DomainResult,
    route: Route,
    /// The exchanges that are not root targets.
    others: Vec<&'a Exchange>,
    /// Each distinct exchange once, at its best preference (after [`Domain::targets`]).
    hosts: Vec<HostState<'a>>,
    /// The implicit-MX host, when the domain's own addresses receive its mail.
    implicit: Option<&'a Host>,
    /// The receiving addresses: of the exchanges, or implicit MX.
    receive: Vec<&'a Address>,
    senders: BTreeSet<IpAddr>,
    out: Vec<Finding>,
}

impl<'a> Domain<'a> {
    fn new(a: &'a Analysis, r: &'a DomainResult, route: Route) -> Self {
        Domain {
            a,
            r,
            route,
            others: r.exchanges.iter().filter(|e| e.name != ".").collect(),
            hosts: Vec::new(),
            implicit: r.implicit.as_ref().filter(|_| route == Route::ImplicitMx),
            receive: Vec::new(),
            senders: r.senders.iter().map(|s| s.ip).collect(),
            out: Vec::new(),
        }
    }

    /// A domain-level finding (empty subject) of a code with a fixed severity.
    fn push(&mut self, code: Code, evidence: String) {
        self.out.push(Finding::fixed(code, "", evidence));
    }

    /// Measurement (rule 9): the domain's own MX lookup, and the implicit-MX lookups of its
    /// own A/AAAA after a NODATA.
    fn measurement(&mut self) {
        let (r, mx) = (self.r, &self.r.mx);
        if !(is_loop(&r.domain, &r.walk) && mx.status == Status::ServFail) {
            self.out.extend(measurement(mx.status, ""));
        }
        if mx.status == Status::NoData
            && let Some(h) = &r.implicit
        {
            for (qtype, answer) in [("A", &h.a), ("AAAA", &h.aaaa)] {
                if let Some(answer) = answer {
                    let what = format!(" (implicit MX: {qtype} of {})", r.domain);
                    self.out.extend(measurement(answer.status, &what));
                }
            }
        }
        if mx.truncated {
            self.push(Code::DNS_TRUNCATED, Code::DNS_TRUNCATED.meaning().into());
        }
        if mx.malformed {
            self.push(Code::DNS_MALFORMED, Code::DNS_MALFORMED.meaning().into());
        }
        if r.cut.any() {
            self.push(Code::DOMAIN_BUDGET_EXCEEDED, r.cut.describe());
        }
    }

    /// The domain's name and route. False when nothing further is evaluated (rule 10).
    fn domain_level(&mut self) -> bool {
        let r = self.r;
        let chain = r.cname_chain();
        if !chain.is_empty() {
            let evidence = format!("the domain is an alias: {}", chain.join(" -> "));
            self.push(Code::DOMAIN_CNAME, evidence);
        }
        if chain_broken(&r.domain, &r.walk, chain) {
            let evidence = format!("{} hops: {}", chain.len(), chain.join(" -> "));
            self.push(Code::DOMAIN_CNAME_LOOP, evidence);
            return false;
        }
        if r.mx.status == Status::NxDomain {
            if chain.is_empty() {
                self.push(
                    Code::DOMAIN_NXDOMAIN,
                    Code::DOMAIN_NXDOMAIN.meaning().into(),
                );
            } else {
                let evidence =
                    format!("the alias chain ends in NXDOMAIN at {}", chain.join(" -> "));
                self.push(Code::DOMAIN_CNAME_DANGLING, evidence);
            }
        }
        match self.route {
            Route::ImplicitMx => self.push(Code::IMPLICIT_MX, Code::IMPLICIT_MX.meaning().into()),
            Route::NoMailRoute => {
                self.push(Code::NO_MAIL_ROUTE, Code::NO_MAIL_ROUTE.meaning().into())
            }
            _ => {}
        }
        true
    }

    /// Null MX (rule 2: root targets are never hosts).
    fn null_mx(&mut self) {
        let exchanges = &self.r.exchanges;
        let roots: Vec<&Exchange> = exchanges.iter().filter(|e| e.name == ".").collect();
        if exchanges.len() == 1 && roots.len() == 1 && roots[0].preference == 0 {
            self.push(
                Code::MX_NULL,
                "null MX: the domain accepts no mail (RFC 7505)".into(),
            );
        }
        if !roots.is_empty() && !self.others.is_empty() {
            self.push(
                Code::MX_NULL_WITH_OTHERS,
                Code::MX_NULL_WITH_OTHERS.meaning().into(),
            );
        }
        if roots.iter().any(|e| e.preference != 0) {
            self.push(
                Code::MX_ROOT_TARGET_NONZERO_PREF,
                Code::MX_ROOT_TARGET_NONZERO_PREF.meaning().into(),
            );
        }
    }

    /// ERROR when `affected` hosts are every mail host (or the only one), else WARN.
    fn every_host(&self, affected: usize) -> Severity {
        if affected >= self.hosts.len().max(usize::from(self.implicit.is_some())) {
            Severity::Error
        } else {
            Severity::Warn
        }
    }

    /// Each distinct exchange's name and address lookups, then the E/W codes over them all.
    fn targets(&mut self) {
        for e in self.others.clone() {
            if let Some(h) = self.hosts.iter_mut().find(|h| h.name == e.name) {
                h.preference = h.preference.min(e.preference);
                continue;
            }
            let state = check_host(
                self.a,
                &e.name,
                e.preference,
                e.host.as_ref(),
                &mut self.out,
            );
            self.hosts.push(state);
        }
        let hosts = self.hosts.iter().filter_map(|h| h.host);
        self.receive = hosts
            .chain(self.implicit)
            .flat_map(|h| &h.addresses)
            .collect();
        let codes: BTreeSet<Code> = self
            .hosts
            .iter()
            .flat_map(|h| h.ew.iter().copied())
            .collect();
        for code in codes {
            let affected: Vec<&str> = (self.hosts.iter())
                .filter(|h| h.ew.contains(&code))
                .map(|h| h.name)
                .collect();
            let severity = self.every_host(affected.len());
            for name in affected {
                (self.out).push(Finding::new(code, severity, name, code.meaning().into()));
            }
        }
    }

    /// Address classes of the MX, implicit-MX and sender IPs, and the reverse DNS of the
    /// receiving ones (a sender IP's is judged in its own role, in [`Domain::senders`]).
    fn addresses(&mut self) {
        let private_hosts = if self.implicit.is_some() {
            1
        } else {
            let private = |x: &&Host| {
                (x.addresses.iter()).any(|y| self.a.addresses.classify(y.ip) == AddrClass::Private)
            };
            self.hosts
                .iter()
                .filter(|h| h.host.as_ref().is_some_and(private))
                .count()
        };
        let mut classes: BTreeSet<(IpAddr, Code)> = BTreeSet::new();
        for ip in self
            .receive
            .iter()
            .map(|x| x.ip)
            .chain(self.senders.iter().copied())
        {
            if let Some(code) = address_class(self.a, ip) {
                classes.insert((ip, code));
            }
        }
        for (ip, code) in classes {
            // ADDR_PRIVATE is E/W over the mail hosts; the others, and sender IPs, are ERROR.
            let severity = if code == Code::ADDR_PRIVATE && !self.senders.contains(&ip) {
                self.every_host(private_hosts)
            } else {
                Severity::Error
            };
            (self.out).push(Finding::new(
                code,
                severity,
                &ip.to_string(),
                code.meaning().into(),
            ));
        }
        let mut seen: BTreeSet<IpAddr> = BTreeSet::new();
        for x in self.receive.clone() {
            if !self.senders.contains(&x.ip) && seen.insert(x.ip) {
                reverse(x, Role::Receive, &[], &mut self.out);
            }
        }
    }

    /// Whether an address lookup of a mail host failed: then "only one address", "no IPv6" or
    /// "not among the MX addresses" would be claims about data that never arrived.
    fn partial(&self) -> bool {
        self.route == Route::Indeterminate
            || (self.hosts.iter().filter_map(|h| h.host))
                .chain(self.implicit)
                .any(|h| {
                    [&h.a, &h.aaaa]
                        .into_iter()
                        .any(|x| x.as_ref().is_none_or(|x| x.is_temporary_failure()))
                })
    }

    /// The MX set as a whole: usable exchanges, redundancy, address spread.
    fn mx_set(&mut self) {
        if !self.hosts.is_empty() {
            self.usability();
            if self.hosts.len() == 1 {
                let evidence = format!("one exchange: {}", self.hosts[0].name);
                self.push(Code::MX_SINGLE_HOST, evidence);
            }
            if self.others.len() > self.hosts.len() {
                self.push(
                    Code::MX_DUPLICATE_HOST,
                    Code::MX_DUPLICATE_HOST.meaning().into(),
                );
            }
            let ips: BTreeSet<IpAddr> = self.receive.iter().map(|x| x.ip).collect();
            if !ips.is_empty() && !self.partial() {
                self.spread(&ips);
            }
        }
        if self.r.mx_count > 10 {
            let evidence = format!("{} MX records", self.r.mx_count);
            self.push(Code::MX_TOO_MANY, evidence);
        }
    }

    /// Whether every exchange, or every most-preferred one, is unusable.
    fn usability(&mut self) {
        let usable = |h: &HostState| !h.unusable && !h.unknown;
        if self.hosts.iter().all(|h| h.unusable) {
            self.push(
                Code::MX_ALL_UNUSABLE,
                Code::MX_ALL_UNUSABLE.meaning().into(),
            );
            return;
        }
        let best = self.hosts.iter().map(|h| h.preference).min().unwrap_or(0);
        let primaries_unusable = (self.hosts.iter())
            .filter(|h| h.preference == best)
            .all(|h| h.unusable);
        if primaries_unusable && self.hosts.iter().any(|h| h.preference != best && usable(h)) {
            let code = Code::MX_PRIMARY_UNUSABLE;
            self.push(code, code.meaning().into());
        }
    }

    /// How the receiving addresses `ips` spread over addresses, networks and families.
    fn spread(&mut self, ips: &BTreeSet<IpAddr>) {
        if ips.len() == 1 {
            self.push(
                Code::MX_SINGLE_ADDRESS,
                Code::MX_SINGLE_ADDRESS.meaning().into(),
            );
        }
        let v4: BTreeSet<[u8; 3]> = (ips.iter())
            .filter_map(|ip| match ip {
                IpAddr::V4(v) => {
                    let o = v.octets();
                    Some([o[0], o[1], o[2]])
                }
                IpAddr::V6(_) => None,
            })
            .collect();
        let v6: BTreeSet<[u16; 3]> = (ips.iter())
            .filter_map(|ip| match ip {
                IpAddr::V6(v) => {
                    let s = v.segments();
                    Some([s[0], s[1], s[2]])
                }
                IpAddr::V4(_) => None,
            })
            .collect();
        if v4.len() <= 1 && v6.len() <= 1 {
            self.push(
                Code::MX_SINGLE_NETWORK,
                Code::MX_SINGLE_NETWORK.meaning().into(),
            );
        }
        if v6.is_empty() {
            self.push(Code::MX_NO_IPV6, Code::MX_NO_IPV6.meaning().into());
        }
        let hosts_with = |ip: &IpAddr| {
            (self.hosts.iter())
                .filter(|h| {
                    h.host
                        .is_some_and(|x| x.addresses.iter().any(|y| y.ip == *ip))
                })
                .count()
        };
        if ips.iter().any(|ip| hosts_with(ip) > 1) {
            self.push(
                Code::MX_SHARED_ADDRESS,
                Code::MX_SHARED_ADDRESS.meaning().into(),
            );
        }
    }

    /// The declared sender IPs: the domain's route, MX coverage and each IP's reverse DNS.
    fn senders(&mut self) {
        let r = self.r;
        if r.senders.is_empty() {
            return;
        }
        let all_unusable = self.out.iter().any(|f| f.code == Code::MX_ALL_UNUSABLE);
        if all_unusable
            || matches!(
                self.route,
                Route::Nxdomain | Route::NullMx | Route::NoMailRoute
            )
        {
            let evidence = format!(
                "receivers reject mail from a domain with route {}",
                self.route.as_str()
            );
            self.push(Code::REVERSE_MX_FAIL, evidence);
        }
        let partial = self.partial();
        let covered: BTreeSet<IpAddr> = self.receive.iter().map(|x| x.ip).collect();
        let mut aligned = vec![registrable(&r.domain)];
        for e in r.exchanges.iter().filter(|e| e.name != ".") {
            let name = registrable(&e.name);
            if !aligned.contains(&name) {
                aligned.push(name);
            }
        }
        for s in &r.senders {
            let ip = s.ip.to_string();
            if !partial && !covered.contains(&s.ip) {
                let code = Code::SENDER_IP_NOT_IN_MX;
                self.out
                    .push(Finding::fixed(code, &ip, code.meaning().into()));
            }
            let generic = reverse(s, Role::Send, &aligned, &mut self.out);
            if matches!(s.iprev, Iprev::Fail | Iprev::PermError) || generic {
                let evidence = format!(
                    "iprev {}{}",
                    s.iprev.as_str(),
                    if generic { ", generic PTR" } else { "" }
                );
                (self.out).push(Finding::fixed(Code::EGRESS_IPREV_GAP, &ip, evidence));
            }
        }
    }
}

/// The INDETERMINATE finding of a lookup that ended without an answer, if it did; `what`
/// names the lookup when it is not the domain's own MX.
fn measurement(status: Status, what: &str) -> Option<Finding> {
    let (code, evidence) = match status {
        Status::ServFail => (
            Code::DNS_SERVFAIL,
            format!("SERVFAIL from every resolver tried{what}"),
        ),
        // Not the attempt count: it depends on timing, and a row must not.
        Status::Timeout => (
            Code::DNS_TIMEOUT,
            format!("no answer from any resolver tried{what}"),
        ),
        Status::Refused => (
            Code::DNS_REFUSED,
            format!("REFUSED from every resolver tried{what}"),
        ),
        Status::Rcode(rcode) => (
            Code::DNS_REFUSED,
            format!("{} from every resolver tried{what}", rcode.name()),
        ),
        Status::BadName => (Code::DNS_REFUSED, format!("the name cannot be asked{what}")),
        Status::Malformed => (
            Code::DNS_MALFORMED,
            format!("a reply that cannot be decoded{what}"),
        ),
        Status::NoError | Status::NoData | Status::NxDomain => return None,
    };
    Some(Finding::fixed(code, "", evidence))
}

fn finish(mut out: Vec<Finding>) -> Vec<Finding> {
    // By name, as the tables list them (a `Code` orders by catalogue position).
    out.sort_by(|x, y| (x.code.name(), &x.subject).cmp(&(y.code.name(), &y.subject)));
    out.dedup_by(|x, y| x.code == y.code && x.subject == y.subject);
    out
}
