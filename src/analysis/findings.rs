//! The findings rules catalogued in `docs/findings.md`, as pure functions of a domain's lookup
//! results. Where the specification leaves room, `data/README.md` ("How the expected findings
//! were derived") states the reading these functions follow; the rule numbers below refer to it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::addr::AddrClass;
use super::generic;
use super::{Analysis, Finding, Route, Severity};
use crate::engine::Status;
use crate::pipeline::is_ip_literal;
use crate::pipeline::result::{Address, DomainResult, Host, Iprev};

/// Every code this module reports, in catalogue order (docs/findings.md lists exactly these;
/// `tests/sample_world.rs` checks it).
pub const CODES: [&str; 46] = [
    "DOMAIN_NXDOMAIN",
    "DOMAIN_CNAME",
    "DOMAIN_CNAME_DANGLING",
    "DOMAIN_CNAME_LOOP",
    "IMPLICIT_MX",
    "NO_MAIL_ROUTE",
    "MX_NULL",
    "MX_NULL_WITH_OTHERS",
    "MX_ROOT_TARGET_NONZERO_PREF",
    "MX_ALL_UNUSABLE",
    "MX_PRIMARY_UNUSABLE",
    "MX_SINGLE_HOST",
    "MX_SINGLE_ADDRESS",
    "MX_SINGLE_NETWORK",
    "MX_DUPLICATE_HOST",
    "MX_SHARED_ADDRESS",
    "MX_TOO_MANY",
    "MX_NO_IPV6",
    "MX_TARGET_IP_LITERAL",
    "MX_TARGET_SYNTAX",
    "MX_TARGET_LOCALHOST",
    "MX_TARGET_SPECIAL_USE",
    "MX_TARGET_NXDOMAIN",
    "MX_TARGET_NO_ADDRESS",
    "MX_TARGET_CNAME",
    "MX_TARGET_CNAME_DANGLING",
    "MX_TARGET_IPV6_ONLY",
    "MX_TARGET_TEMPERROR",
    "ADDR_PRIVATE",
    "ADDR_LOOPBACK",
    "ADDR_BOGON",
    "PTR_MISSING",
    "PTR_FCRDNS_FAIL",
    "PTR_TEMPERROR",
    "PTR_GENERIC",
    "PTR_MULTIPLE",
    "PTR_TARGET_CNAME",
    "PTR_UNALIGNED",
    "SENDER_IP_NOT_IN_MX",
    "EGRESS_IPREV_GAP",
    "REVERSE_MX_FAIL",
    "DNS_SERVFAIL",
    "DNS_TIMEOUT",
    "DNS_REFUSED",
    "DNS_TRUNCATED",
    "DNS_MALFORMED",
];

/// Longest CNAME chain accepted before it counts as a loop.
pub const MAX_CHAIN: usize = 8;

/// The role of an address (FINDINGS.md: an address in both roles is judged as `send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Send,
    Receive,
}

fn sev(role: Role, send: Severity, receive: Severity) -> Severity {
    match role {
        Role::Send => send,
        Role::Receive => receive,
    }
}

/// Does a walk (or a chain) end in a name seen before?
pub fn is_loop(start: &str, hops: &[String]) -> bool {
    hops.last()
        .is_some_and(|last| last == start || hops[..hops.len() - 1].contains(last))
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
    ew: Vec<&'static str>,
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
    let mut fixed = |code, severity, evidence: String| {
        out.push(Finding::new(code, severity, name, evidence));
    };
    if is_ip_literal(name) {
        // Rule 6: never resolved, reported as such only.
        fixed(
            "MX_TARGET_IP_LITERAL",
            Severity::Error,
            "the exchange is an IP address, not a host name".into(),
        );
        s.unusable = true;
        return s;
    }
    if !syntax_ok(name) && name != "localhost" {
        fixed(
            "MX_TARGET_SYNTAX",
            Severity::Warn,
            "a label is not letters, digits and inner hyphens of 1-63 octets".into(),
        );
    }
    if name == "localhost" || name.ends_with(".localhost") {
        fixed(
            "MX_TARGET_LOCALHOST",
            Severity::Error,
            "the exchange is localhost".into(),
        );
        s.unusable = true;
    } else if tld(name) == "invalid"
        || (!a.allow_special_use && matches!(tld(name), "test" | "example"))
    {
        fixed(
            "MX_TARGET_SPECIAL_USE",
            Severity::Error,
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
    let walk_loop = is_loop(name, &h.walk);
    let chain = if h.walk.is_empty() {
        h.chain()
    } else {
        &h.walk
    };
    if !chain.is_empty() {
        fixed(
            "MX_TARGET_CNAME",
            Severity::Warn,
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
        s.ew.push("MX_TARGET_CNAME_DANGLING");
        s.unusable = true;
    } else if both(Status::NxDomain) {
        s.ew.push("MX_TARGET_NXDOMAIN");
        s.unusable = true;
    } else if h.addresses.is_empty() && !temporary(sa) && !temporary(s6) {
        s.ew.push("MX_TARGET_NO_ADDRESS");
        s.unusable = true;
    } else if has_v6 && !has_v4 && !temporary(sa) {
        s.ew.push("MX_TARGET_IPV6_ONLY");
        s.unusable = true;
    }
    if !walk_loop && (temporary(sa) || temporary(s6)) {
        fixed(
            "MX_TARGET_TEMPERROR",
            Severity::Indeterminate,
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
fn address_class(a: &Analysis, ip: IpAddr) -> Option<(&'static str, &'static str)> {
    match a.addresses.classify(ip) {
        AddrClass::Public => None,
        AddrClass::Private => Some(("ADDR_PRIVATE", "a private address (RFC 1918, 6598, 4193)")),
        AddrClass::Loopback => Some(("ADDR_LOOPBACK", "a loopback address")),
        AddrClass::Bogon => Some(("ADDR_BOGON", "a special-purpose address (RFC 6890)")),
    }
}

/// Reverse-DNS codes of one address in its role; for `send`, `domain` is the sender domain.
fn reverse(address: &Address, role: Role, domain: &str, out: &mut Vec<Finding>) -> bool {
    // Built only when a finding needs them: most addresses have none.
    let ip = || address.ip.to_string();
    let names = || address.ptr_names.join(" ");
    let mut push = |code, severity, evidence: String| {
        out.push(Finding::new(code, severity, &ip(), evidence));
    };
    match address.iprev {
        Iprev::Pass => {}
        Iprev::PermError => push(
            "PTR_MISSING",
            sev(role, Severity::Error, Severity::Info),
            "no PTR record".into(),
        ),
        Iprev::Fail => push(
            "PTR_FCRDNS_FAIL",
            sev(role, Severity::Error, Severity::Warn),
            format!("PTR {} does not map back", names()),
        ),
        Iprev::TempError => push(
            "PTR_TEMPERROR",
            Severity::Indeterminate,
            "a reverse or forward lookup failed".into(),
        ),
    }
    let mut generic_found = false;
    for name in &address.ptr_names {
        let g = generic::judge_memo(name, address.ip);
        if g.is_generic() {
            generic_found = true;
            let mut f = Finding::new(
                "PTR_GENERIC",
                sev(role, Severity::Warn, Severity::Info),
                &ip(),
                format!("PTR {name} looks like an access-network name"),
            );
            f.static_hint = g.static_hint;
            out.push(f);
            break;
        }
    }
    if address.ptr_names.len() > 1 {
        out.push(Finding::new(
            "PTR_MULTIPLE",
            Severity::Info,
            &ip(),
            format!("{} PTR records: {}", address.ptr_names.len(), names()),
        ));
    }
    if address
        .forward
        .iter()
        .any(|(_, f)| f.as_ref().is_some_and(|f| !f.chain.is_empty()))
    {
        out.push(Finding::new(
            "PTR_TARGET_CNAME",
            Severity::Warn,
            &ip(),
            "the PTR name is an alias".into(),
        ));
    }
    // Rule 8: the PTR of a provider's receiving address is the provider's.
    if role == Role::Send && !address.ptr_names.is_empty() {
        let own = registrable(domain);
        if address.ptr_names.iter().all(|n| registrable(n) != own) {
            out.push(Finding::new(
                "PTR_UNALIGNED",
                Severity::Info,
                &ip(),
                format!("PTR {} is outside {own}", names()),
            ));
        }
    }
    generic_found
}

/// Every finding of a domain, sorted by code then subject, each (code, subject) once.
pub fn findings(a: &Analysis, r: &DomainResult, route: Route) -> Vec<Finding> {
    let mut out = Vec::new();
    let domain = r.domain.as_str();
    let d = |code, severity, evidence: String| Finding::new(code, severity, "", evidence);
    let mx = &r.mx;

    // Measurement (rule 9): the domain's own MX lookup, and the implicit-MX lookups of its
    // own A/AAAA after a NODATA.
    let walk_loop = is_loop(domain, &r.walk);
    if !(walk_loop && mx.status == Status::ServFail) {
        out.extend(measurement(mx.status, ""));
    }
    if mx.status == Status::NoData
        && let Some(h) = &r.implicit
    {
        for (qtype, answer) in [("A", &h.a), ("AAAA", &h.aaaa)] {
            if let Some(answer) = answer {
                let what = format!(" (implicit MX: {qtype} of {domain})");
                out.extend(measurement(answer.status, &what));
            }
        }
    }
    if mx.truncated {
        out.push(d(
            "DNS_TRUNCATED",
            Severity::Info,
            "the MX answer did not fit UDP; completed over TCP".into(),
        ));
    }
    if mx.malformed {
        out.push(d(
            "DNS_MALFORMED",
            Severity::Warn,
            "FORMERR, an undecodable reply, or MX records outside the answer section".into(),
        ));
    }

    // Domain level.
    let chain = if r.walk.is_empty() {
        &mx.chain
    } else {
        &r.walk
    };
    if !chain.is_empty() {
        out.push(d(
            "DOMAIN_CNAME",
            Severity::Info,
            format!("the domain is an alias: {}", chain.join(" -> ")),
        ));
    }
    if walk_loop || chain.len() > MAX_CHAIN {
        // Rule 10: the canonical name is not evaluated.
        out.push(d(
            "DOMAIN_CNAME_LOOP",
            Severity::Error,
            format!("{} hops: {}", chain.len(), chain.join(" -> ")),
        ));
        return finish(out);
    }
    if mx.status == Status::NxDomain {
        if chain.is_empty() {
            out.push(d(
                "DOMAIN_NXDOMAIN",
                Severity::Error,
                "the domain does not exist".into(),
            ));
        } else {
            out.push(d(
                "DOMAIN_CNAME_DANGLING",
                Severity::Error,
                format!("the alias chain ends in NXDOMAIN at {}", chain.join(" -> ")),
            ));
        }
    }
    match route {
        Route::ImplicitMx => out.push(d(
            "IMPLICIT_MX",
            Severity::Info,
            "no MX: mail goes to the domain's own addresses".into(),
        )),
        Route::NoMailRoute => out.push(d(
            "NO_MAIL_ROUTE",
            Severity::Error,
            "no MX and no A/AAAA".into(),
        )),
        _ => {}
    }

    // Null MX (rule 2: root targets are never hosts).
    let roots: Vec<_> = r.exchanges.iter().filter(|e| e.name == ".").collect();
    let others: Vec<_> = r.exchanges.iter().filter(|e| e.name != ".").collect();
    if r.exchanges.len() == 1 && roots.len() == 1 && roots[0].preference == 0 {
        out.push(d(
            "MX_NULL",
            Severity::Info,
            "null MX: the domain accepts no mail (RFC 7505)".into(),
        ));
    }
    if !roots.is_empty() && !others.is_empty() {
        out.push(d(
            "MX_NULL_WITH_OTHERS",
            Severity::Error,
            "a null MX beside other exchanges".into(),
        ));
    }
    if roots.iter().any(|e| e.preference != 0) {
        out.push(d(
            "MX_ROOT_TARGET_NONZERO_PREF",
            Severity::Warn,
            "a root target with a preference other than 0".into(),
        ));
    }

    let senders: BTreeSet<IpAddr> = r.senders.iter().map(|s| s.ip).collect();
    // Exchanges (each distinct name once, at its best preference) or the implicit-MX host.
    let mut hosts: Vec<HostState> = Vec::new();
    for e in &others {
        if let Some(h) = hosts.iter_mut().find(|h| h.name == e.name) {
            h.preference = h.preference.min(e.preference);
            continue;
        }
        hosts.push(check_host(
            a,
            &e.name,
            e.preference,
            e.host.as_ref(),
            &mut out,
        ));
    }
    let implicit = r.implicit.as_ref().filter(|_| route == Route::ImplicitMx);
    let mut receive: Vec<&Address> = Vec::new();
    for h in hosts.iter().filter_map(|h| h.host).chain(implicit) {
        receive.extend(h.addresses.iter());
    }

    // E/W severities: ERROR when every host shares the code (rule: "every MX host, or the
    // only one").
    let all_hosts = hosts.len().max(usize::from(implicit.is_some()));
    let ew = |affected: usize| {
        if affected >= all_hosts {
            Severity::Error
        } else {
            Severity::Warn
        }
    };
    let mut codes: BTreeSet<&'static str> = BTreeSet::new();
    for h in &hosts {
        codes.extend(h.ew.iter().copied());
    }
    for code in codes {
        let affected: Vec<&HostState> = hosts.iter().filter(|h| h.ew.contains(&code)).collect();
        for h in &affected {
            out.push(Finding::new(
                code,
                ew(affected.len()),
                h.name,
                code_evidence(code),
            ));
        }
    }

    // Addresses (MX, implicit-MX and sender IPs).
    let private_hosts = if implicit.is_some() {
        1
    } else {
        hosts
            .iter()
            .filter(|h| {
                h.host.is_some_and(|x| {
                    x.addresses
                        .iter()
                        .any(|y| a.addresses.classify(y.ip) == AddrClass::Private)
                })
            })
            .count()
    };
    let mut class_codes: BTreeSet<(IpAddr, &'static str, &'static str)> = BTreeSet::new();
    for x in receive.iter().map(|x| x.ip).chain(senders.iter().copied()) {
        if let Some((code, why)) = address_class(a, x) {
            class_codes.insert((x, code, why));
        }
    }
    for (ip, code, why) in &class_codes {
        // ADDR_PRIVATE is E/W over the mail hosts; the others, and sender IPs, are ERROR.
        let severity = if *code == "ADDR_PRIVATE" && !senders.contains(ip) {
            ew(private_hosts)
        } else {
            Severity::Error
        };
        out.push(Finding::new(code, severity, &ip.to_string(), (*why).into()));
    }
    let mut seen: BTreeSet<IpAddr> = BTreeSet::new();
    for x in &receive {
        if senders.contains(&x.ip) || !seen.insert(x.ip) {
            continue;
        }
        reverse(x, Role::Receive, domain, &mut out);
    }

    // Whether an address lookup of a mail host failed: then "only one address", "no IPv6" or
    // "not among the MX addresses" would be claims about data that never arrived.
    let partial = route == Route::Indeterminate
        || hosts
            .iter()
            .filter_map(|h| h.host)
            .chain(implicit)
            .any(|h| {
                [&h.a, &h.aaaa]
                    .into_iter()
                    .any(|x| x.as_ref().is_none_or(|x| x.is_temporary_failure()))
            });

    // The MX set.
    if !hosts.is_empty() {
        let usable = |h: &HostState| !h.unusable && !h.unknown;
        if hosts.iter().all(|h| h.unusable) {
            out.push(d(
                "MX_ALL_UNUSABLE",
                Severity::Error,
                "no exchange can receive mail".into(),
            ));
        } else {
            let best = hosts.iter().map(|h| h.preference).min().unwrap_or(0);
            let primaries: Vec<&HostState> =
                hosts.iter().filter(|h| h.preference == best).collect();
            if primaries.iter().all(|h| h.unusable)
                && hosts.iter().any(|h| h.preference != best && usable(h))
            {
                out.push(d(
                    "MX_PRIMARY_UNUSABLE",
                    Severity::Warn,
                    "every most-preferred exchange is unusable; a backup works".into(),
                ));
            }
        }
        if hosts.len() == 1 {
            out.push(d(
                "MX_SINGLE_HOST",
                Severity::Info,
                format!("one exchange: {}", hosts[0].name),
            ));
        }
        if others.len() > hosts.len() {
            out.push(d(
                "MX_DUPLICATE_HOST",
                Severity::Info,
                "an exchange is listed more than once".into(),
            ));
        }
        let ips: BTreeSet<IpAddr> = receive.iter().map(|x| x.ip).collect();
        if !ips.is_empty() && !partial {
            if ips.len() == 1 {
                out.push(d(
                    "MX_SINGLE_ADDRESS",
                    Severity::Warn,
                    "every exchange resolves to one address".into(),
                ));
            }
            let v4: BTreeSet<[u8; 3]> = ips
                .iter()
                .filter_map(|ip| match ip {
                    IpAddr::V4(v) => {
                        let o = v.octets();
                        Some([o[0], o[1], o[2]])
                    }
                    IpAddr::V6(_) => None,
                })
                .collect();
            let v6: BTreeSet<[u16; 3]> = ips
                .iter()
                .filter_map(|ip| match ip {
                    IpAddr::V6(v) => {
                        let s = v.segments();
                        Some([s[0], s[1], s[2]])
                    }
                    IpAddr::V4(_) => None,
                })
                .collect();
            if v4.len() <= 1 && v6.len() <= 1 {
                out.push(d(
                    "MX_SINGLE_NETWORK",
                    Severity::Info,
                    "every address in one IPv4 /24 and one IPv6 /48".into(),
                ));
            }
            if v6.is_empty() {
                out.push(d(
                    "MX_NO_IPV6",
                    Severity::Info,
                    "no exchange has an IPv6 address".into(),
                ));
            }
            let shared = ips.iter().any(|ip| {
                hosts
                    .iter()
                    .filter(|h| {
                        h.host
                            .is_some_and(|x| x.addresses.iter().any(|y| y.ip == *ip))
                    })
                    .count()
                    > 1
            });
            if shared {
                out.push(d(
                    "MX_SHARED_ADDRESS",
                    Severity::Info,
                    "different exchanges resolve to the same address".into(),
                ));
            }
        }
    }
    if r.exchanges.len() > 10 {
        out.push(d(
            "MX_TOO_MANY",
            Severity::Warn,
            format!("{} MX records", r.exchanges.len()),
        ));
    }

    // Sender checks.
    if !r.senders.is_empty() {
        let all_unusable = out.iter().any(|f| f.code == "MX_ALL_UNUSABLE");
        if matches!(route, Route::Nxdomain | Route::NullMx | Route::NoMailRoute) || all_unusable {
            out.push(d(
                "REVERSE_MX_FAIL",
                Severity::Error,
                format!(
                    "receivers reject mail from a domain with route {}",
                    route.as_str()
                ),
            ));
        }
        let covered: BTreeSet<IpAddr> = receive.iter().map(|x| x.ip).collect();
        for s in &r.senders {
            let ip = s.ip.to_string();
            if !partial && !covered.contains(&s.ip) {
                out.push(Finding::new(
                    "SENDER_IP_NOT_IN_MX",
                    Severity::Warn,
                    &ip,
                    "no MX host's A/AAAA is this sender IP".into(),
                ));
            }
            let generic = reverse(s, Role::Send, domain, &mut out);
            if matches!(s.iprev, Iprev::Fail | Iprev::PermError) || generic {
                out.push(Finding::new(
                    "EGRESS_IPREV_GAP",
                    Severity::Error,
                    &ip,
                    format!(
                        "iprev {}{}",
                        s.iprev.as_str(),
                        if generic { ", generic PTR" } else { "" }
                    ),
                ));
            }
        }
    }
    finish(out)
}

/// The INDETERMINATE finding of a lookup that ended without an answer, if it did; `what`
/// names the lookup when it is not the domain's own MX.
fn measurement(status: Status, what: &str) -> Option<Finding> {
    let (code, evidence) = match status {
        Status::ServFail => (
            "DNS_SERVFAIL",
            format!("SERVFAIL from every resolver tried{what}"),
        ),
        // Not the attempt count: it depends on timing, and a row must not.
        Status::Timeout => (
            "DNS_TIMEOUT",
            format!("no answer from any resolver tried{what}"),
        ),
        Status::Refused => (
            "DNS_REFUSED",
            format!("REFUSED from every resolver tried{what}"),
        ),
        Status::Rcode(rcode) => (
            "DNS_REFUSED",
            format!("{} from every resolver tried{what}", rcode.name()),
        ),
        Status::BadName => ("DNS_REFUSED", format!("the name cannot be asked{what}")),
        Status::NoError | Status::NoData | Status::NxDomain => return None,
    };
    Some(Finding::new(code, Severity::Indeterminate, "", evidence))
}

fn code_evidence(code: &str) -> String {
    match code {
        "MX_TARGET_CNAME_DANGLING" => "the alias chain ends in NXDOMAIN/NODATA or loops",
        "MX_TARGET_NXDOMAIN" => "A and AAAA both NXDOMAIN",
        "MX_TARGET_NO_ADDRESS" => "A and AAAA both NODATA",
        "MX_TARGET_IPV6_ONLY" => "AAAA but no A",
        _ => "",
    }
    .into()
}

fn finish(mut out: Vec<Finding>) -> Vec<Finding> {
    out.sort_by(|x, y| (x.code, &x.subject).cmp(&(y.code, &y.subject)));
    out.dedup_by(|x, y| x.code == y.code && x.subject == y.subject);
    out
}
