//! A finished domain as a typed tree: its MX answer, each exchange with its addresses, each
//! address with its PTR names, their forward lookups and the iprev result. Built from the
//! answers a domain collected ([`Finished`]) by a pure function, off the I/O thread.

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::RecordType;

use super::auth::{Posture, mta_sts_name, tls_rpt_name, tlsa_name};
use super::budget::{self, Cut, FORWARD_NAMES};
use super::lookup::{Answer, Key};
use super::{Finished, is_ip_literal};
use crate::engine::Status;
use crate::mailauth::transport::{self, Checked, TlsaState};

/// RFC 8601 §3 "iprev": does the address's PTR name map back to it?
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Iprev {
    /// A forward lookup of a PTR name gives the address back.
    Pass,
    /// PTR names exist, but none maps back.
    Fail,
    /// No PTR name.
    PermError,
    /// A lookup failed (SERVFAIL, timeout, REFUSED): retry later.
    TempError,
}

impl Iprev {
    pub fn as_str(self) -> &'static str {
        match self {
            Iprev::Pass => "pass",
            Iprev::Fail => "fail",
            Iprev::PermError => "permerror",
            Iprev::TempError => "temperror",
        }
    }
}

/// An address (of an exchange, of the domain for implicit MX, or a declared sender IP) and
/// its reverse DNS.
#[derive(Debug, Clone)]
pub struct Address {
    pub ip: IpAddr,
    pub ptr: Option<Arc<Answer>>,
    /// The PTR names, sorted, at most [`budget::PTR_NAMES`] (the first [`FORWARD_NAMES`] are
    /// checked).
    pub ptr_names: Vec<String>,
    /// Distinct PTR names in the answer.
    pub ptr_count: usize,
    /// The forward lookups of the checked PTR names.
    pub forward: Vec<(String, Option<Arc<Answer>>)>,
    pub iprev: Iprev,
}

/// A mail host: an exchange, or the domain itself for implicit MX.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub a: Option<Arc<Answer>>,
    pub aaaa: Option<Arc<Answer>>,
    /// CNAME hops asked one at a time after a SERVFAIL (empty when no walk was needed).
    pub walk: Vec<String>,
    /// Addresses from A then AAAA, each once, sorted; at most [`budget::ADDRESSES`] of each.
    pub addresses: Vec<Address>,
    /// Its TLSA records for SMTP (`_25._tcp.<host>`), when `--checks` has `tlsa`.
    pub tlsa: Option<TlsaState>,
}

impl Host {
    /// The host's CNAME chain: as walked one hop at a time after a SERVFAIL, or else as the
    /// resolver followed it for the host's A (or else AAAA) lookup.
    pub fn cname_chain(&self) -> &[String] {
        if self.walk.is_empty() {
            self.chain()
        } else {
            &self.walk
        }
    }

    /// The CNAME chain the resolver followed for the host's A (or else AAAA) lookup.
    pub fn chain(&self) -> &[String] {
        [&self.a, &self.aaaa]
            .into_iter()
            .flatten()
            .map(|a| a.chain.as_slice())
            .find(|c| !c.is_empty())
            .unwrap_or(&[])
    }
}

/// One MX record and, unless it is the root or an IP literal, its host.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub preference: u16,
    pub name: String,
    /// `None` for a root target (null MX) or an IP literal: those are never looked up.
    pub host: Option<Host>,
}

/// Everything the scan learnt about one domain.
#[derive(Debug, Clone)]
pub struct DomainResult {
    pub line: u64,
    pub domain: String,
    pub extra: Vec<String>,
    pub mx: Arc<Answer>,
    /// The domain's CNAME walk after a SERVFAIL of its MX question.
    pub walk: Vec<String>,
    /// MX records sorted by preference then name, duplicates kept; at most
    /// [`budget::EXCHANGES`].
    pub exchanges: Vec<Exchange>,
    /// MX records in the answer.
    pub mx_count: usize,
    /// The domain's own addresses when it has no MX (RFC 5321 §5.1).
    pub implicit: Option<Host>,
    pub senders: Vec<Address>,
    /// The mail-authentication checks (`None` under `--checks mx`).
    pub auth: Option<MailAuth>,
    /// What the domain's budget left out.
    pub cut: Cut,
}

/// What the mail-authentication checks found for a domain.
#[derive(Debug, Clone)]
pub struct MailAuth {
    pub posture: Posture,
    /// The `_mta-sts` and `_smtp._tls` TXT records, when checked.
    pub mta_sts: Option<Checked>,
    pub tls_rpt: Option<Checked>,
}

impl DomainResult {
    /// The domain's CNAME chain: as walked one hop at a time after a SERVFAIL, or else as the
    /// resolver followed it for MX.
    pub fn cname_chain(&self) -> &[String] {
        if self.walk.is_empty() {
            &self.mx.chain
        } else {
            &self.walk
        }
    }

    /// The domain does not exist: its MX lookup, or a mail-authentication question at its
    /// name, came back NXDOMAIN.
    pub fn nonexistent(&self) -> bool {
        self.mx.status == Status::NxDomain || self.auth.as_ref().is_some_and(|a| a.posture.nxdomain)
    }
}

fn walk(f: &Finished, start: &str) -> Vec<String> {
    let mut hops = Vec::new();
    let mut name = start.to_string();
    while let Some(answer) = f.answer_to(RecordType::CNAME, &name) {
        let Some(target) = answer.cname_target() else {
            break;
        };
        let repeated = target == start || hops.iter().any(|h| h == target);
        hops.push(target.to_string());
        if repeated {
            break;
        }
        name = target.to_string();
    }
    hops
}

fn address(f: &Finished, ip: IpAddr, cut: &mut Cut) -> Address {
    let ptr = f.answer(&Key::Ptr(ip)).cloned();
    let (names, ptr_count) = ptr.as_deref().map(budget::ptr_names).unwrap_or_default();
    cut.ptr_names += ptr_count - names.len();
    let ptr_names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let forward: Vec<(String, Option<Arc<Answer>>)> = ptr_names
        .iter()
        .take(FORWARD_NAMES)
        .map(|n| {
            let qtype = if ip.is_ipv4() {
                RecordType::A
            } else {
                RecordType::AAAA
            };
            (n.clone(), f.answer_to(qtype, n).cloned())
        })
        .collect();
    let iprev = iprev(ip, ptr.as_deref(), &forward);
    Address {
        ip,
        ptr,
        ptr_names,
        ptr_count,
        forward,
        iprev,
    }
}

/// The iprev result (RFC 8601 §3) from the PTR answer and the forward lookups.
pub fn iprev(ip: IpAddr, ptr: Option<&Answer>, forward: &[(String, Option<Arc<Answer>>)]) -> Iprev {
    let Some(ptr) = ptr else {
        return Iprev::TempError;
    };
    if ptr.is_temporary_failure() {
        return Iprev::TempError;
    }
    if ptr.ptr_names().next().is_none() {
        return Iprev::PermError;
    }
    let mut temporary = false;
    for (_, answer) in forward {
        match answer {
            Some(a) if a.addresses().any(|x| x == ip) => return Iprev::Pass,
            Some(a) if !a.is_temporary_failure() => {}
            _ => temporary = true,
        }
    }
    if temporary {
        Iprev::TempError
    } else {
        Iprev::Fail
    }
}

fn host(f: &Finished, name: &str, cut: &mut Cut) -> Host {
    let a = f.answer_to(RecordType::A, name).cloned();
    let aaaa = f.answer_to(RecordType::AAAA, name).cloned();
    let mut ips: Vec<IpAddr> = Vec::new();
    for answer in [&a, &aaaa].into_iter().flatten() {
        let (checked, count) = budget::addresses(answer);
        cut.addresses += count - checked.len();
        ips.extend(checked);
    }
    ips.sort_unstable();
    ips.dedup();
    let walked = [&a, &aaaa]
        .into_iter()
        .flatten()
        .any(|x| x.status == Status::ServFail);
    Host {
        name: name.to_string(),
        a,
        aaaa,
        walk: if walked { walk(f, name) } else { Vec::new() },
        addresses: ips.into_iter().map(|ip| address(f, ip, cut)).collect(),
        tlsa: f
            .answer_to(RecordType::TLSA, &tlsa_name(name))
            .map(|a| TlsaState::of(&a.to_mailauth())),
    }
}

impl DomainResult {
    /// Builds the tree of a finished domain.
    pub fn assemble(f: &Finished) -> DomainResult {
        let domain = f.input.domain.as_str();
        let mx = f
            .answer_to(RecordType::MX, domain)
            .cloned()
            .unwrap_or_else(|| Arc::new(Answer::failed(Status::Timeout, 0)));
        let mut cut = Cut {
            questions: f.questions_cut,
            ..Cut::default()
        };
        let (kept, mx_count) = budget::exchanges(&mx);
        cut.exchanges = mx_count - kept.len();
        let mut exchanges: Vec<Exchange> = Vec::with_capacity(kept.len());
        for (i, &(preference, exchange)) in kept.iter().enumerate() {
            // A name listed twice is cut once.
            let repeat = kept[..i].iter().any(|(_, e)| *e == exchange);
            let mut seen = Cut::default();
            let host = (&**exchange != "." && !is_ip_literal(exchange))
                .then(|| host(f, exchange, if repeat { &mut seen } else { &mut cut }));
            let name = exchange.to_string();
            exchanges.push(Exchange {
                preference,
                name,
                host,
            });
        }
        let implicit = (mx.status == Status::NoData).then(|| host(f, domain, &mut cut));
        let mut senders = f.input.senders.clone();
        senders.sort_unstable();
        senders.dedup();
        let senders = senders
            .into_iter()
            .map(|ip| address(f, ip, &mut cut))
            .collect();
        if let Some(posture) = &f.posture {
            let policy = (posture.dmarc.as_ref()).and_then(|d| d.policy.as_ref()?.as_ref().ok());
            cut.rua = policy.map_or(0, |p| p.rua.len().saturating_sub(budget::RUA));
            let records = [
                posture.spf.as_ref().and_then(|s| s.record.as_ref()),
                posture.dmarc.as_ref().and_then(|d| d.record.as_ref()),
            ];
            cut.text = records
                .into_iter()
                .flatten()
                .map(|r| r.len().saturating_sub(budget::TEXT))
                .sum();
        }
        DomainResult {
            line: f.input.line,
            domain: domain.to_string(),
            extra: f.input.extra.clone(),
            walk: if mx.status == Status::ServFail {
                walk(f, domain)
            } else {
                Vec::new()
            },
            mx,
            exchanges,
            mx_count,
            implicit,
            senders,
            auth: f.posture.as_ref().map(|posture| MailAuth {
                posture: (**posture).clone(),
                mta_sts: f
                    .answer_to(RecordType::TXT, &mta_sts_name(domain))
                    .map(|a| Checked::of(&a.to_mailauth(), transport::mta_sts)),
                tls_rpt: f
                    .answer_to(RecordType::TXT, &tls_rpt_name(domain))
                    .map(|a| Checked::of(&a.to_mailauth(), transport::tls_rpt)),
            }),
            cut,
        }
    }

    /// Every mail host: the exchanges that were looked up, or the implicit-MX host.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.exchanges
            .iter()
            .filter_map(|e| e.host.as_ref())
            .chain(self.implicit.as_ref())
    }
}
