//! The synthetic world: `N` domains answered on the fly from a hash of their name, so that
//! benchmarks of millions of domains need no zone file.
//!
//! Domain `i` is `syn{i}.test`. Its mail configuration (the *scenario*) is drawn from a hash
//! of `(seed, i)` with a realistic mix: most domains on a few shared providers (Zipf-weighted),
//! many on shared hosting, then every kind of missing or broken route. Hosted addresses are
//! shared by many domains (as on real shared hosting) and carry their own PTR fault drawn from
//! a hash of the address. Each domain also draws an SPF and a DMARC profile from hashes of its
//! own (provider includes three levels deep, flattened records, each kind of error, `+all`,
//! `p=none`/`quarantine`/`reject`, external report destinations), a tenth of the provider
//! customers publish MTA-STS and TLS-RPT records, and a third of the providers TLSA records.
//! [`SyntheticWorld::truth`] gives the findings each domain must produce.
//!
//! Addresses come from the benchmarking range 198.18.0.0/15 (providers in 198.18/16, hosting in
//! 198.19/16), the documentation range 2001:db8::/32, and, for the broken cases, RFC 1918 and
//! loopback space.
//!
//! (Over 700 lines only with its tests, which stay beside the scenarios they check.)

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::world::{BrokenDelegation, NameData, Policy, Zones};
use crate::analysis::Code;
use crate::pipeline::auth::Checks;

/// Shared mail providers; provider `p` with `p % 4 == 3` runs a single exchange.
pub const PROVIDERS: u32 = 12;
const TTL: u32 = 3600;

/// A domain's mail configuration. The discriminant order is the order of [`SCENARIOS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Provider,
    SelfHosted,
    ImplicitMx,
    NoMailRoute,
    NxDomain,
    NullMx,
    TargetCname,
    TargetIpLiteral,
    TargetNxDomain,
    TargetNoAddress,
    TargetPrivate,
    TargetLoopback,
    TargetIpv6Only,
    BackupBroken,
    PrimaryBroken,
    DomainCname,
}

/// Each scenario with its share of domains in basis points (sums to 10 000).
pub const SCENARIOS: [(Scenario, u32, &str); 16] = [
    (Scenario::Provider, 5800, "provider"),
    (Scenario::SelfHosted, 2000, "self_hosted"),
    (Scenario::ImplicitMx, 400, "implicit_mx"),
    (Scenario::NoMailRoute, 200, "no_mail_route"),
    (Scenario::NxDomain, 300, "nxdomain"),
    (Scenario::NullMx, 300, "null_mx"),
    (Scenario::TargetCname, 150, "target_cname"),
    (Scenario::TargetIpLiteral, 100, "target_ip_literal"),
    (Scenario::TargetNxDomain, 100, "target_nxdomain"),
    (Scenario::TargetNoAddress, 100, "target_no_address"),
    (Scenario::TargetPrivate, 100, "target_private"),
    (Scenario::TargetLoopback, 50, "target_loopback"),
    (Scenario::TargetIpv6Only, 50, "target_ipv6_only"),
    (Scenario::BackupBroken, 150, "backup_broken"),
    (Scenario::PrimaryBroken, 100, "primary_broken"),
    (Scenario::DomainCname, 100, "domain_cname"),
];

impl Scenario {
    pub fn name(self) -> &'static str {
        SCENARIOS[self as usize].2
    }
}

/// The reverse-DNS state of a hosted address, drawn from a hash of the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtrFault {
    /// PTR `h{k}.hoster.test`, which maps back.
    Pass,
    /// No PTR (NXDOMAIN).
    Missing,
    /// PTR `f{k}.hoster.test`, which maps to another address.
    FcrdnsFail,
    /// PTR `198-19-x-y.dyn.hoster.test`, which maps back but is generic.
    Generic,
}

/// A domain's SPF record, drawn from a hash independent of its scenario. Domains without a
/// mail route (null MX, no route) publish `v=spf1 -all` whatever their draw; aliases and
/// NXDOMAIN domains have none of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfProfile {
    None,
    /// `mx` plus the sending provider's record, three levels deep (as `_spf.google.com`).
    Include,
    /// Addresses written out (`ip4:`), as flattening services publish.
    Flattened,
    /// `a mx` and three provider includes: 11 lookups.
    TooManyLookups,
    PassAll,
    Syntax,
    Multiple,
    /// Three `a:` terms at names that do not exist.
    VoidLookups,
    Ptr,
}

/// Each SPF profile with its share in basis points.
pub const SPF_PROFILES: [(SpfProfile, u32); 9] = [
    (SpfProfile::None, 2000),
    (SpfProfile::Include, 4700),
    (SpfProfile::Flattened, 2000),
    (SpfProfile::TooManyLookups, 200),
    (SpfProfile::PassAll, 200),
    (SpfProfile::Syntax, 300),
    (SpfProfile::Multiple, 200),
    (SpfProfile::VoidLookups, 100),
    (SpfProfile::Ptr, 300),
];

/// A domain's DMARC record (at `_dmarc.<domain>`), drawn like its SPF profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcProfile {
    None,
    Monitor,
    Quarantine,
    Reject,
    /// Reports to the provider's DMARC service, which authorises every domain.
    ExternalAuthorised,
    /// Reports to a third party that publishes no authorisation.
    ExternalDenied,
    NoRua,
    Syntax,
    Multiple,
}

pub const DMARC_PROFILES: [(DmarcProfile, u32); 9] = [
    (DmarcProfile::None, 3200),
    (DmarcProfile::Monitor, 2500),
    (DmarcProfile::Quarantine, 1500),
    (DmarcProfile::Reject, 1500),
    (DmarcProfile::ExternalAuthorised, 400),
    (DmarcProfile::ExternalDenied, 100),
    (DmarcProfile::NoRua, 500),
    (DmarcProfile::Syntax, 200),
    (DmarcProfile::Multiple, 100),
];

/// Picks from a share table (basis points) with a hash.
fn draw<T: Copy>(table: &[(T, u32)], hash: u64) -> T {
    let mut pick = (hash % 10_000) as u32;
    for &(item, share) in table {
        if pick < share {
            return item;
        }
        pick -= share;
    }
    table[0].0
}

/// Providers `p % 3 == 0` publish TLSA records for their exchanges (DANE).
pub fn provider_has_tlsa(p: u32) -> bool {
    p.is_multiple_of(3)
}

/// N synthetic domains under a seed.
#[derive(Debug, Clone)]
pub struct SyntheticWorld {
    pub domains: u64,
    pub seed: u64,
    /// Whether some domains' authorities are broken ([`Authority`]), as on the real internet.
    pub broken_authorities: bool,
}

/// How a domain's authoritative servers answer. With broken authorities on, about 1 % of the
/// domains (not the NXDOMAIN ones) are delegated to a loopback address where nothing listens,
/// 1 % to a server that answers REFUSED (lame), and 0.1 % to one that reads nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    Working,
    /// Nothing listens at its server's address: a resolver gets no answer (ICMP unreachable)
    /// and, after many tries, answers SERVFAIL; the sim drops its questions.
    Dead,
    /// Its server answers REFUSED: the resolver answers SERVFAIL at once.
    Lame,
    /// Its server reads nothing: as dead, without even an ICMP error.
    Silent,
}

/// Shares of [`Authority`] in basis points, when broken authorities are on.
const DEAD_BPS: u64 = 100;
const LAME_BPS: u64 = 100;
const SILENT_BPS: u64 = 10;
/// The addresses the exported zone files delegate broken domains to (`scripts/bench-farm.sh`
/// puts a REFUSED-only NSD on the lame one and a socket that reads nothing on the silent one).
pub const DEAD_NS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 251);
pub const LAME_NS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 250);
pub const SILENT_NS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 252);

/// splitmix64: a fast, well-mixed hash of a 64-bit value.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A name this module formatted (always valid), built from raw labels: hickory's text parser
/// applies IDNA rules and costs more than the rest of an answer.
fn name(s: &str) -> Name {
    let labels = s
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .map(str::as_bytes);
    let mut n = Name::from_labels(labels).unwrap_or_else(|_| Name::root());
    n.set_fqdn(true);
    n
}

fn record(owner: &Name, data: RData) -> Record {
    Record::from_rdata(owner.clone(), TTL, data)
}

// `Err` carries the SOA of the zone that denies the name; a Record is large but moving it is
// what the answer needs anyway.
#[allow(clippy::result_large_err)]
impl SyntheticWorld {
    pub fn new(domains: u64, seed: u64) -> Self {
        SyntheticWorld {
            domains,
            seed,
            broken_authorities: false,
        }
    }

    /// The same world with broken authorities ([`Authority`]).
    pub fn with_broken_authorities(mut self) -> Self {
        self.broken_authorities = true;
        self
    }

    /// How domain `i`'s authoritative servers answer.
    pub fn authority(&self, i: u64) -> Authority {
        if !self.broken_authorities || self.scenario(i) == Scenario::NxDomain {
            return Authority::Working;
        }
        match mix(self.seed ^ mix(i ^ 0xA07B_0CE5)) % 10_000 {
            p if p < DEAD_BPS => Authority::Dead,
            p if p < DEAD_BPS + LAME_BPS => Authority::Lame,
            p if p < DEAD_BPS + LAME_BPS + SILENT_BPS => Authority::Silent,
            _ => Authority::Working,
        }
    }

    /// The domain `name` is at or under, and its authority, when that is broken.
    fn broken_domain(&self, name: &Name) -> Option<(u64, Authority)> {
        if !self.broken_authorities {
            return None;
        }
        let text = name.to_ascii();
        let mut labels = text.trim_end_matches('.').rsplit('.');
        let (Some("test"), Some(domain)) = (labels.next(), labels.next()) else {
            return None;
        };
        let i: u64 = domain.strip_prefix("syn")?.parse().ok()?;
        (i < self.domains)
            .then(|| (i, self.authority(i)))
            .filter(|(_, a)| *a != Authority::Working)
    }

    /// The name of domain `i`.
    pub fn domain(i: u64) -> String {
        format!("syn{i}.test")
    }

    pub fn scenario(&self, i: u64) -> Scenario {
        let mut pick = (mix(self.seed ^ mix(i)) % 10_000) as u32;
        for (scenario, share, _) in SCENARIOS {
            if pick < share {
                return scenario;
            }
            pick -= share;
        }
        Scenario::Provider
    }

    /// The provider of domain `i`, Zipf-weighted (provider 0 is the biggest). `two_hosts`
    /// restricts the choice to providers with two exchanges.
    pub fn provider(&self, i: u64, two_hosts: bool) -> u32 {
        const HARMONIC: f64 = 3.103_210_678_210_678; // sum of 1/k for k = 1..=PROVIDERS
        let harmonic = HARMONIC;
        let mut u =
            (mix(self.seed.rotate_left(17) ^ mix(i ^ 0xABCD)) % 1_000_000) as f64 / 1e6 * harmonic;
        let mut chosen = PROVIDERS - 1;
        for p in 0..PROVIDERS {
            u -= 1.0 / (p + 1) as f64;
            if u < 0.0 {
                chosen = p;
                break;
            }
        }
        if two_hosts && chosen % 4 == 3 {
            chosen - 1
        } else {
            chosen
        }
    }

    /// The hosted address of domain `i` (shared with every domain `j ≡ i mod 65536`).
    pub fn hosted_ip(i: u64) -> Ipv4Addr {
        let k = (i % 65_536) as u16;
        Ipv4Addr::new(198, 19, (k >> 8) as u8, k as u8)
    }

    pub fn spf_profile(&self, i: u64) -> SpfProfile {
        draw(&SPF_PROFILES, mix(self.seed ^ 0x5BF1 ^ mix(i)))
    }

    pub fn dmarc_profile(&self, i: u64) -> DmarcProfile {
        draw(&DMARC_PROFILES, mix(self.seed ^ 0xD3A2C ^ mix(i)))
    }

    /// Domains with an MTA-STS and a TLS-RPT record (valid): a tenth of the provider customers.
    pub fn has_transport_records(&self, i: u64) -> bool {
        self.scenario(i) == Scenario::Provider && mix(self.seed ^ 0x575 ^ mix(i)).is_multiple_of(10)
    }

    /// The SPF records at the apex of domain `i` (none for aliases and NXDOMAIN domains).
    pub fn spf_records(&self, i: u64) -> Vec<String> {
        let q = self.provider(i, false);
        let include = |p: u32| format!("include:_spf.prov{p}.test");
        let d = Self::domain(i);
        match self.scenario(i) {
            Scenario::NullMx | Scenario::NoMailRoute => return vec!["v=spf1 -all".into()],
            Scenario::NxDomain | Scenario::DomainCname => return Vec::new(),
            _ => {}
        }
        let record = match self.spf_profile(i) {
            SpfProfile::None => return Vec::new(),
            SpfProfile::Include => format!("v=spf1 mx {} -all", include(q)),
            SpfProfile::Flattened => {
                format!(
                    "v=spf1 mx ip4:198.18.{q}.0/24 ip4:198.18.{}.0/24 ~all",
                    64 + q
                )
            }
            SpfProfile::TooManyLookups => format!(
                "v=spf1 a mx {} {} {} -all",
                include(q),
                include((q + 1) % PROVIDERS),
                include((q + 2) % PROVIDERS)
            ),
            SpfProfile::PassAll => "v=spf1 mx +all".into(),
            SpfProfile::Syntax => "v=spf1 mx ip4:300.1.1.1 -all".into(),
            SpfProfile::Multiple => {
                return vec![
                    "v=spf1 mx -all".into(),
                    format!("v=spf1 {} -all", include(q)),
                ];
            }
            SpfProfile::VoidLookups => {
                format!("v=spf1 mx a:nx1.{d} a:nx2.{d} a:nx3.{d} -all")
            }
            SpfProfile::Ptr => "v=spf1 mx ptr -all".into(),
        };
        vec![record]
    }

    /// The DMARC records at `_dmarc.` of domain `i`.
    pub fn dmarc_records(&self, i: u64) -> Vec<String> {
        let d = Self::domain(i);
        let own = format!("rua=mailto:dmarc@{d}");
        let record = match self.dmarc_profile(i) {
            DmarcProfile::None => return Vec::new(),
            DmarcProfile::Monitor => format!("v=DMARC1; p=none; {own}"),
            DmarcProfile::Quarantine => format!("v=DMARC1; p=quarantine; pct=50; {own}"),
            DmarcProfile::Reject => format!("v=DMARC1; p=reject; {own}"),
            DmarcProfile::ExternalAuthorised => format!(
                "v=DMARC1; p=reject; rua=mailto:agg@dmarc.prov{}.test",
                self.provider(i, false)
            ),
            DmarcProfile::ExternalDenied => {
                "v=DMARC1; p=reject; rua=mailto:agg@thirdparty.test".into()
            }
            DmarcProfile::NoRua => "v=DMARC1; p=reject".into(),
            DmarcProfile::Syntax => format!("v=DMARC1; p=bogus; {own}"),
            DmarcProfile::Multiple => {
                return vec!["v=DMARC1; p=none".into(), "v=DMARC1; p=reject".into()];
            }
        };
        vec![record]
    }

    /// The mail-authentication codes of domain `i` under `checks`.
    fn mail_auth_truth(&self, i: u64, scenario: Scenario, checks: Checks) -> Vec<Code> {
        let mut codes = Vec::new();
        if scenario == Scenario::NxDomain {
            return codes;
        }
        let own_spf = !matches!(scenario, Scenario::NullMx | Scenario::NoMailRoute);
        if checks.spf {
            match self.spf_profile(i) {
                _ if scenario == Scenario::DomainCname => codes.push(Code::SPF_NONE),
                _ if !own_spf => {}
                SpfProfile::None => codes.push(Code::SPF_NONE),
                SpfProfile::Include | SpfProfile::Flattened => {}
                SpfProfile::TooManyLookups => codes.push(Code::SPF_TOO_MANY_LOOKUPS),
                SpfProfile::PassAll => codes.push(Code::SPF_PASS_ALL),
                SpfProfile::Syntax => codes.push(Code::SPF_SYNTAX),
                SpfProfile::Multiple => codes.push(Code::SPF_MULTIPLE),
                SpfProfile::VoidLookups => codes.push(Code::SPF_VOID_LOOKUPS),
                SpfProfile::Ptr => codes.push(Code::SPF_PTR),
            }
            // The implicit-MX address is on shared hosting, outside `mx` and the provider's
            // ranges.
            if scenario == Scenario::ImplicitMx
                && matches!(
                    self.spf_profile(i),
                    SpfProfile::Include | SpfProfile::Flattened | SpfProfile::Ptr
                )
            {
                codes.push(Code::SPF_MX_NOT_AUTHORISED);
            }
        }
        if checks.dmarc {
            match self.dmarc_profile(i) {
                _ if scenario == Scenario::DomainCname => codes.push(Code::DMARC_NONE),
                DmarcProfile::None => codes.push(Code::DMARC_NONE),
                DmarcProfile::Monitor => codes.push(Code::DMARC_POLICY_NONE),
                DmarcProfile::NoRua => codes.push(Code::DMARC_NO_RUA),
                DmarcProfile::Syntax => codes.push(Code::DMARC_SYNTAX),
                DmarcProfile::Multiple => codes.push(Code::DMARC_MULTIPLE),
                DmarcProfile::ExternalDenied => codes.push(Code::DMARC_RUA_NOT_AUTHORISED),
                DmarcProfile::Quarantine
                | DmarcProfile::Reject
                | DmarcProfile::ExternalAuthorised => {}
            }
        }
        // A provider exchange with TLSA beside the domain's own broken one without.
        if checks.tlsa
            && matches!(scenario, Scenario::BackupBroken | Scenario::PrimaryBroken)
            && provider_has_tlsa(self.provider(i, true))
        {
            codes.push(Code::TLSA_PARTIAL);
        }
        codes
    }

    pub fn ptr_fault(&self, ip: Ipv4Addr) -> PtrFault {
        match mix(self.seed ^ 0x5EED ^ u64::from(u32::from(ip))) % 100 {
            0..85 => PtrFault::Pass,
            85..90 => PtrFault::Missing,
            90..95 => PtrFault::FcrdnsFail,
            _ => PtrFault::Generic,
        }
    }

    fn provider_hosts(p: u32) -> Vec<(String, Ipv4Addr, Ipv6Addr)> {
        let v6 = |n: u32| Ipv6Addr::new(0x2001, 0xdb8, n as u16, 0, 0, 0, 0, 0x10);
        if p % 4 == 3 {
            vec![(
                format!("mx.prov{p}.test"),
                Ipv4Addr::new(198, 18, p as u8, 10),
                v6(p),
            )]
        } else {
            vec![
                (
                    format!("mx1.prov{p}.test"),
                    Ipv4Addr::new(198, 18, p as u8, 10),
                    v6(p),
                ),
                (
                    format!("mx2.prov{p}.test"),
                    Ipv4Addr::new(198, 18, 64 + p as u8, 10),
                    v6(100 + p),
                ),
            ]
        }
    }

    fn ipv6_only_addr(i: u64) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, (i >> 16) as u16, i as u16)
    }

    fn soa(zone: &str) -> Record {
        let apex = name(zone);
        let data = SOA::new(
            name(&format!("ns.{zone}")),
            name(&format!("hostmaster.{zone}")),
            1,
            3600,
            600,
            86_400,
            300,
        );
        record(&apex, RData::SOA(data))
    }

    /// The ground truth of domain `i`: its scenario and the finding codes a scan with
    /// `checks` must report (sorted by name, without duplicates). Interpretation notes are in
    /// `data/README.md`.
    pub fn truth(&self, i: u64, checks: Checks) -> (Scenario, Vec<Code>) {
        let scenario = self.scenario(i);
        // Nothing can be measured behind a broken authority (a dead one may also end in a
        // resolver's SERVFAIL, once it has given up on the server).
        match self.authority(i) {
            Authority::Working => {}
            Authority::Dead | Authority::Silent => return (scenario, vec![Code::DNS_TIMEOUT]),
            Authority::Lame => return (scenario, vec![Code::DNS_SERVFAIL]),
        }
        let hosted_ptr = |codes: &mut Vec<Code>| match self.ptr_fault(Self::hosted_ip(i)) {
            PtrFault::Pass => {}
            PtrFault::Missing => codes.push(Code::PTR_MISSING),
            PtrFault::FcrdnsFail => codes.push(Code::PTR_FCRDNS_FAIL),
            PtrFault::Generic => codes.push(Code::PTR_GENERIC),
        };
        let one_address = [
            Code::MX_SINGLE_HOST,
            Code::MX_SINGLE_ADDRESS,
            Code::MX_SINGLE_NETWORK,
        ];
        // Providers `p % 4 == 3` run one exchange (one address per family).
        let single_provider = self.provider(i, false) % 4 == 3;
        let mut codes: Vec<Code> = match scenario {
            Scenario::Provider if single_provider => {
                vec![Code::MX_SINGLE_HOST, Code::MX_SINGLE_NETWORK]
            }
            Scenario::Provider => vec![],
            Scenario::DomainCname if single_provider => {
                vec![
                    Code::DOMAIN_CNAME,
                    Code::MX_SINGLE_HOST,
                    Code::MX_SINGLE_NETWORK,
                ]
            }
            Scenario::DomainCname => vec![Code::DOMAIN_CNAME],
            Scenario::SelfHosted => {
                let mut c = [one_address.as_slice(), &[Code::MX_NO_IPV6]].concat();
                hosted_ptr(&mut c);
                c
            }
            Scenario::ImplicitMx => {
                let mut c = vec![Code::IMPLICIT_MX];
                hosted_ptr(&mut c);
                c
            }
            Scenario::NoMailRoute => vec![Code::NO_MAIL_ROUTE],
            Scenario::NxDomain => vec![Code::DOMAIN_NXDOMAIN],
            Scenario::NullMx => vec![Code::MX_NULL],
            Scenario::TargetCname => vec![
                Code::MX_TARGET_CNAME,
                Code::MX_SINGLE_HOST,
                Code::MX_SINGLE_NETWORK,
            ],
            Scenario::TargetIpLiteral => {
                vec![
                    Code::MX_TARGET_IP_LITERAL,
                    Code::MX_ALL_UNUSABLE,
                    Code::MX_SINGLE_HOST,
                ]
            }
            Scenario::TargetNxDomain => {
                vec![
                    Code::MX_TARGET_NXDOMAIN,
                    Code::MX_ALL_UNUSABLE,
                    Code::MX_SINGLE_HOST,
                ]
            }
            Scenario::TargetNoAddress => {
                vec![
                    Code::MX_TARGET_NO_ADDRESS,
                    Code::MX_ALL_UNUSABLE,
                    Code::MX_SINGLE_HOST,
                ]
            }
            Scenario::TargetPrivate | Scenario::TargetLoopback => {
                // 127.0.0.1 reverses to `localhost`, which maps back (Unbound's default data).
                let (addr, ptr) = if scenario == Scenario::TargetPrivate {
                    (Code::ADDR_PRIVATE, Code::PTR_MISSING)
                } else {
                    (Code::ADDR_LOOPBACK, Code::MX_SINGLE_HOST)
                };
                [
                    &[addr, ptr, Code::MX_ALL_UNUSABLE, Code::MX_NO_IPV6],
                    one_address.as_slice(),
                ]
                .concat()
            }
            Scenario::TargetIpv6Only => [
                &[Code::MX_TARGET_IPV6_ONLY, Code::MX_ALL_UNUSABLE],
                one_address.as_slice(),
            ]
            .concat(),
            Scenario::BackupBroken => vec![Code::MX_TARGET_NXDOMAIN, Code::MX_SINGLE_NETWORK],
            Scenario::PrimaryBroken => vec![
                Code::MX_TARGET_NXDOMAIN,
                Code::MX_PRIMARY_UNUSABLE,
                Code::MX_SINGLE_NETWORK,
            ],
        };
        codes.extend(self.mail_auth_truth(i, scenario, checks));
        codes.sort_unstable_by_key(|c| c.name());
        codes.dedup();
        (scenario, codes)
    }

    /// Writes the domain list, one per line.
    pub fn write_domains(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for i in 0..self.domains {
            writeln!(out, "{}", Self::domain(i))?;
        }
        Ok(())
    }

    /// Writes the ground truth as CSV: `domain,scenario,codes` (codes `;`-separated, sorted), for
    /// a scan with `--checks all`.
    pub fn write_truth(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "domain,scenario,codes")?;
        for i in 0..self.domains {
            let (scenario, codes) = self.truth(i, Checks::ALL);
            writeln!(
                out,
                "{},{},{}",
                Self::domain(i),
                scenario.name(),
                codes.iter().map(|c| c.name()).collect::<Vec<_>>().join(";")
            )?;
        }
        Ok(())
    }

    /// All records at `owner` and the SOA of its zone, or `None` when the name does not exist
    /// (the SOA of the enclosing zone is then returned in `Err`).
    fn node(&self, owner: &Name) -> Result<(Vec<Record>, Record), Record> {
        let text = owner.to_ascii();
        let labels: Vec<&str> = text.trim_end_matches('.').split('.').collect();
        match labels.as_slice() {
            [.., "in-addr", "arpa"] => self.reverse_v4(owner, &labels),
            [.., "ip6", "arpa"] => self.reverse_v6(owner, &labels),
            ["test"] => Ok((vec![Self::soa("test.")], Self::soa("test."))),
            // Unbound's default local data, which every real resolver of the farm answers.
            ["localhost"] => Ok((
                vec![record(owner, RData::A(A(Ipv4Addr::LOCALHOST)))],
                Self::soa("localhost."),
            )),
            [rest @ .., last, "test"] => self.forward(owner, rest, last),
            _ => Err(Self::soa("test.")),
        }
    }

    fn forward(
        &self,
        owner: &Name,
        host: &[&str],
        zone_label: &str,
    ) -> Result<(Vec<Record>, Record), Record> {
        let zone = format!("{zone_label}.test.");
        let soa = Self::soa(&zone);
        let nx = Err(soa.clone());
        if let Some(p) = zone_label
            .strip_prefix("prov")
            .and_then(|p| p.parse::<u32>().ok())
            && p < PROVIDERS
        {
            let txt = |texts: Vec<&[u8]>| {
                let data = TXT::from_bytes(texts);
                Ok((vec![record(owner, RData::TXT(data))], soa.clone()))
            };
            let v6 = |n: u32| format!("2001:db8:{n:x}::/48");
            return match host {
                [] => Ok((vec![soa.clone()], soa)),
                // The provider's SPF, three levels deep, the first as two strings.
                ["_spf"] => txt(vec![
                    format!("v=spf1 include:_netblocks.prov{p}.test ").as_bytes(),
                    format!("include:_netblocks6.prov{p}.test ~all").as_bytes(),
                ]),
                ["_netblocks"] => txt(vec![
                    format!("v=spf1 ip4:198.18.{p}.0/24 ip4:198.18.{}.0/24 ~all", 64 + p)
                        .as_bytes(),
                ]),
                ["_netblocks6"] => txt(vec![
                    format!("v=spf1 ip6:{} ip6:{} ~all", v6(p), v6(100 + p)).as_bytes(),
                ]),
                // Its DMARC report service accepts every domain's reports.
                [.., "_report", "_dmarc", "dmarc"] => txt(vec![b"v=DMARC1".as_slice()]),
                ["_25", "_tcp", h] if provider_has_tlsa(p) => match Self::provider_hosts(p)
                    .iter()
                    .position(|(n, ..)| n.starts_with(&format!("{h}.")))
                {
                    Some(k) => {
                        let digest = vec![(p as u8) << 4 | k as u8; 32];
                        let tlsa = TLSA::new(3.into(), 1.into(), 1.into(), digest);
                        Ok((vec![record(owner, RData::TLSA(tlsa))], soa))
                    }
                    None => nx,
                },
                [h] => match Self::provider_hosts(p)
                    .into_iter()
                    .find(|(n, ..)| n.starts_with(&format!("{h}.")))
                {
                    Some((_, v4, v6)) => Ok((
                        vec![
                            record(owner, RData::A(A(v4))),
                            record(owner, RData::AAAA(AAAA(v6))),
                        ],
                        soa,
                    )),
                    None => match h
                        .strip_prefix("customer")
                        .and_then(|c| c.parse::<u64>().ok())
                    {
                        Some(c)
                            if c < self.domains && self.scenario(c) == Scenario::DomainCname =>
                        {
                            Ok((self.provider_mx(owner, self.provider(c, false)), soa))
                        }
                        _ => nx,
                    },
                },
                _ => nx,
            };
        }
        if zone_label == "hoster" {
            return self.hoster(owner, host, soa);
        }
        let Some(i) = zone_label
            .strip_prefix("syn")
            .and_then(|n| n.parse::<u64>().ok())
        else {
            return Err(Self::soa("test."));
        };
        if i >= self.domains || zone_label != format!("syn{i}") {
            return Err(Self::soa("test."));
        }
        let scenario = self.scenario(i);
        let apex = name(&zone);
        let mx = |pref: u16, target: &str| record(&apex, RData::MX(MX::new(pref, name(target))));
        let txt = || record(owner, RData::TXT(TXT::new(vec!["v=spf1 -all".into()])));
        let p = self.provider(i, true);
        let prov_mx1 = format!("mx1.prov{p}.test.");
        match (scenario, host) {
            (Scenario::NxDomain, _) => Err(Self::soa("test.")),
            (Scenario::DomainCname, []) => {
                let target = format!("customer{i}.prov{}.test.", self.provider(i, false));
                Ok((
                    vec![record(owner, RData::CNAME(CNAME(name(&target))))],
                    Self::soa("test."),
                ))
            }
            (Scenario::DomainCname, _) => Err(Self::soa("test.")),
            (_, []) => {
                let mut records = vec![soa.clone()];
                for text in self.spf_records(i) {
                    records.push(record(owner, RData::TXT(TXT::new(vec![text]))));
                }
                match scenario {
                    Scenario::Provider => {
                        records.extend(self.provider_mx(owner, self.provider(i, false)))
                    }
                    Scenario::SelfHosted
                    | Scenario::TargetPrivate
                    | Scenario::TargetLoopback
                    | Scenario::TargetIpv6Only => records.push(mx(10, &format!("mail.{zone}"))),
                    Scenario::ImplicitMx => {
                        records.push(record(owner, RData::A(A(Self::hosted_ip(i)))))
                    }
                    Scenario::NullMx => records.push(mx(0, ".")),
                    Scenario::TargetCname => records.push(mx(10, &format!("mx.{zone}"))),
                    Scenario::TargetIpLiteral => {
                        let ip = Self::hosted_ip(i);
                        records.push(mx(10, &format!("{ip}.")));
                    }
                    Scenario::TargetNxDomain => records.push(mx(10, &format!("gone.{zone}"))),
                    Scenario::TargetNoAddress => records.push(mx(10, &format!("noaddr.{zone}"))),
                    Scenario::BackupBroken => {
                        records.push(mx(10, &prov_mx1));
                        records.push(mx(20, &format!("gone.{zone}")));
                    }
                    Scenario::PrimaryBroken => {
                        records.push(mx(10, &format!("gone.{zone}")));
                        records.push(mx(20, &prov_mx1));
                    }
                    Scenario::NoMailRoute | Scenario::NxDomain | Scenario::DomainCname => {}
                }
                Ok((records, soa))
            }
            (_, ["mail"]) => {
                let data = match scenario {
                    Scenario::SelfHosted => RData::A(A(Self::hosted_ip(i))),
                    Scenario::TargetPrivate => RData::A(A(Ipv4Addr::new(
                        10,
                        (i >> 16) as u8,
                        (i >> 8) as u8,
                        i as u8,
                    ))),
                    Scenario::TargetLoopback => RData::A(A(Ipv4Addr::LOCALHOST)),
                    Scenario::TargetIpv6Only => RData::AAAA(AAAA(Self::ipv6_only_addr(i))),
                    _ => return nx,
                };
                Ok((vec![record(owner, data)], soa))
            }
            (Scenario::TargetCname, ["mx"]) => Ok((
                vec![record(owner, RData::CNAME(CNAME(name(&prov_mx1))))],
                soa,
            )),
            (Scenario::TargetNoAddress, ["noaddr"]) => Ok((vec![txt()], soa)),
            (_, ["_dmarc"]) => match self.dmarc_records(i) {
                texts if texts.is_empty() => nx,
                texts => Ok((
                    texts
                        .into_iter()
                        .map(|t| record(owner, RData::TXT(TXT::new(vec![t]))))
                        .collect(),
                    soa,
                )),
            },
            (_, ["_mta-sts"]) if self.has_transport_records(i) => Ok((
                vec![record(
                    owner,
                    RData::TXT(TXT::new(vec!["v=STSv1; id=20261201".into()])),
                )],
                soa,
            )),
            (_, ["_smtp", "_tls"]) if self.has_transport_records(i) => {
                let text = format!("v=TLSRPTv1; rua=mailto:tls@syn{i}.test");
                Ok((vec![record(owner, RData::TXT(TXT::new(vec![text])))], soa))
            }
            _ => nx,
        }
    }

    fn provider_mx(&self, owner: &Name, p: u32) -> Vec<Record> {
        Self::provider_hosts(p)
            .into_iter()
            .enumerate()
            .map(|(n, (host, ..))| {
                record(
                    owner,
                    RData::MX(MX::new(10 * (n as u16 + 1), name(&format!("{host}.")))),
                )
            })
            .collect()
    }

    fn hoster(
        &self,
        owner: &Name,
        host: &[&str],
        soa: Record,
    ) -> Result<(Vec<Record>, Record), Record> {
        let parse_k = |s: &str| s.parse::<u16>().ok();
        let addr = match host {
            [] => return Ok((vec![soa.clone()], soa)),
            [h] if h.starts_with('h') => parse_k(&h[1..]).map(|k| {
                let ip = Ipv4Addr::new(198, 19, (k >> 8) as u8, k as u8);
                (
                    ip,
                    matches!(self.ptr_fault(ip), PtrFault::Pass | PtrFault::Missing),
                )
            }),
            [h] if h.starts_with('f') => parse_k(&h[1..]).map(|k| {
                let ip = Ipv4Addr::new(198, 19, (k >> 8) as u8, k as u8);
                (
                    Ipv4Addr::new(198, 18, 255, 254),
                    self.ptr_fault(ip) == PtrFault::FcrdnsFail,
                )
            }),
            [dashed, "dyn"] => {
                let octets: Vec<u8> = dashed.split('-').filter_map(|o| o.parse().ok()).collect();
                match octets.as_slice() {
                    [198, 19, x, y] => {
                        let ip = Ipv4Addr::new(198, 19, *x, *y);
                        Some((
                            ip,
                            self.ptr_fault(ip) == PtrFault::Generic && *dashed == dashed_ip(ip),
                        ))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match addr {
            Some((ip, true)) => Ok((vec![record(owner, RData::A(A(ip)))], soa)),
            _ => Err(soa),
        }
    }

    fn reverse_v4(&self, owner: &Name, labels: &[&str]) -> Result<(Vec<Record>, Record), Record> {
        let octets: Vec<u8> = labels[..labels.len() - 2]
            .iter()
            .rev()
            .filter_map(|o| o.parse().ok())
            .collect();
        let zone = match octets.first() {
            Some(10) => "10.in-addr.arpa.",
            Some(127) => "127.in-addr.arpa.",
            Some(198) if matches!(octets.get(1), Some(18 | 19)) => {
                if octets.get(1) == Some(&18) {
                    "18.198.in-addr.arpa."
                } else {
                    "19.198.in-addr.arpa."
                }
            }
            _ => "in-addr.arpa.",
        };
        let soa = Self::soa(zone);
        if octets.len() != labels.len() - 2 || octets.len() != 4 {
            return if octets.len() < 4 && zone != "in-addr.arpa." {
                Ok((vec![], soa))
            } else {
                Err(soa)
            };
        }
        let ip = Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]);
        let target = match (octets[1], octets[2]) {
            (18, n) if octets[0] == 198 && octets[3] == 10 => {
                let p = u32::from(n % 64);
                (p < PROVIDERS).then_some(()).and_then(|_| {
                    Self::provider_hosts(p)
                        .into_iter()
                        .find(|(_, v4, _)| *v4 == ip)
                        .map(|(h, ..)| h)
                })
            }
            (0, 0) if ip == Ipv4Addr::LOCALHOST => Some("localhost".to_string()),
            (19, _) if octets[0] == 198 => {
                let k = u16::from_be_bytes([octets[2], octets[3]]);
                match self.ptr_fault(ip) {
                    PtrFault::Pass => Some(format!("h{k}.hoster.test")),
                    PtrFault::Missing => None,
                    PtrFault::FcrdnsFail => Some(format!("f{k}.hoster.test")),
                    PtrFault::Generic => Some(format!("{}.dyn.hoster.test", dashed_ip(ip))),
                }
            }
            _ => None,
        };
        match target {
            Some(t) => Ok((
                vec![record(owner, RData::PTR(PTR(name(&format!("{t}.")))))],
                soa,
            )),
            None => Err(soa),
        }
    }

    fn reverse_v6(&self, owner: &Name, labels: &[&str]) -> Result<(Vec<Record>, Record), Record> {
        let soa = Self::soa("8.b.d.0.1.0.0.2.ip6.arpa.");
        let nibbles = &labels[..labels.len() - 2];
        if nibbles.len() != 32 {
            return Err(soa);
        }
        let mut value: u128 = 0;
        for n in nibbles.iter().rev() {
            let Ok(d) = u8::from_str_radix(n, 16) else {
                return Err(soa);
            };
            value = (value << 4) | u128::from(d);
        }
        let ip = Ipv6Addr::from(value);
        let seg = ip.segments();
        if seg[0] != 0x2001 || seg[1] != 0xdb8 {
            return Err(soa);
        }
        let target = if seg[2] == 0xffff {
            let i = (u64::from(seg[6]) << 16) | u64::from(seg[7]);
            (i < self.domains
                && self.scenario(i) == Scenario::TargetIpv6Only
                && Self::ipv6_only_addr(i) == ip)
                .then(|| format!("mail.syn{i}.test"))
        } else {
            (0..PROVIDERS)
                .flat_map(Self::provider_hosts)
                .find(|(_, _, v6)| *v6 == ip)
                .map(|(h, ..)| h)
        };
        match target {
            Some(t) => Ok((
                vec![record(owner, RData::PTR(PTR(name(&format!("{t}.")))))],
                soa,
            )),
            None => Err(soa),
        }
    }
}

/// `198-19-4-7` for 198.19.4.7.
fn dashed_ip(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("{a}-{b}-{c}-{d}")
}

impl Zones for SyntheticWorld {
    fn policy(&self, name: &Name) -> Option<Policy> {
        match self.broken_domain(name)?.1 {
            Authority::Working => None,
            Authority::Dead | Authority::Silent => Some(Policy::Deny),
            Authority::Lame => Some(Policy::ServFail),
        }
    }

    fn broken_delegation(&self, name: &Name) -> Option<BrokenDelegation> {
        let (i, authority) = self.broken_domain(name)?;
        let (ns, address) = match authority {
            Authority::Working => return None,
            Authority::Dead => ("dead-ns.test.", DEAD_NS),
            Authority::Lame => ("lame-ns.test.", LAME_NS),
            Authority::Silent => ("silent-ns.test.", SILENT_NS),
        };
        Some(BrokenDelegation {
            zone: self::name(&format!("{}.", Self::domain(i))),
            parent_soa: Self::soa("test."),
            ns: self::name(ns),
            address,
        })
    }

    fn lookup(&self, owner: &Name, rtype: RecordType) -> NameData {
        match self.node(owner) {
            Err(soa) => NameData::NoSuchName { soa },
            Ok((all, soa)) => {
                let cname = all.iter().find(|r| r.record_type() == RecordType::CNAME);
                let records = match cname {
                    Some(c) if rtype != RecordType::CNAME => vec![c.clone()],
                    _ => all
                        .into_iter()
                        .filter(|r| r.record_type() == rtype)
                        .collect(),
                };
                NameData::Exists { records, soa }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::resolve;
    use hickory_proto::op::ResponseCode;
    use std::net::IpAddr;

    fn q(world: &SyntheticWorld, n: &str, t: RecordType) -> super::super::world::Answer {
        resolve(world, &name(n), t)
    }

    fn first_with(world: &SyntheticWorld, s: Scenario) -> u64 {
        (0..100_000)
            .find(|i| world.scenario(*i) == s)
            .expect("scenario occurs")
    }

    #[test]
    fn harmonic_constant_matches_the_provider_count() {
        let sum: f64 = (1..=PROVIDERS).map(|k| 1.0 / k as f64).sum();
        assert!((sum - 3.103_210_678_210_678).abs() < 1e-12);
    }

    #[test]
    fn shares_match_the_table_roughly() {
        let w = SyntheticWorld::new(100_000, 1);
        let providers = (0..100_000)
            .filter(|i| w.scenario(*i) == Scenario::Provider)
            .count();
        assert!((56_000..60_000).contains(&providers), "{providers}");
        assert_eq!(SCENARIOS.iter().map(|s| s.1).sum::<u32>(), 10_000);
        for (k, (s, _, _)) in SCENARIOS.iter().enumerate() {
            assert_eq!(*s as usize, k);
        }
    }

    #[test]
    fn every_scenario_resolves_as_its_truth_says() {
        let w = SyntheticWorld::new(100_000, 3);
        let i = first_with(&w, Scenario::NxDomain);
        assert_eq!(
            q(&w, &format!("syn{i}.test."), RecordType::MX).rcode,
            ResponseCode::NXDomain
        );
        let i = first_with(&w, Scenario::NullMx);
        let a = q(&w, &format!("syn{i}.test."), RecordType::MX);
        assert_eq!(a.answers.len(), 1);
        let i = first_with(&w, Scenario::ImplicitMx);
        let a = q(&w, &format!("syn{i}.test."), RecordType::MX);
        assert_eq!((a.rcode, a.answers.len()), (ResponseCode::NoError, 0));
        assert_eq!(
            q(&w, &format!("syn{i}.test."), RecordType::A).answers.len(),
            1
        );
        let i = first_with(&w, Scenario::TargetCname);
        let a = q(&w, &format!("mx.syn{i}.test."), RecordType::A);
        assert_eq!(a.answers.len(), 2);
        let i = first_with(&w, Scenario::DomainCname);
        let a = q(&w, &format!("syn{i}.test."), RecordType::MX);
        assert_eq!(a.answers[0].record_type(), RecordType::CNAME);
        assert!(a.answers.len() >= 2);
        let i = first_with(&w, Scenario::TargetIpv6Only);
        let a = q(&w, &format!("mail.syn{i}.test."), RecordType::AAAA);
        let RData::AAAA(AAAA(v6)) = a.answers[0].data else {
            panic!()
        };
        let arpa = Name::from(IpAddr::V6(v6));
        let p = resolve(&w, &arpa, RecordType::PTR);
        assert_eq!(p.answers.len(), 1, "{arpa}");
    }

    #[test]
    fn hosted_ptr_faults_behave() {
        let w = SyntheticWorld::new(70_000, 5);
        let mut seen = [false; 4];
        for i in 0..70_000u64 {
            let ip = SyntheticWorld::hosted_ip(i);
            let fault = w.ptr_fault(ip);
            let ptr = resolve(&w, &Name::from(IpAddr::V4(ip)), RecordType::PTR);
            if fault == PtrFault::Missing {
                assert_eq!(ptr.rcode, ResponseCode::NXDomain);
                seen[1] = true;
                continue;
            }
            let RData::PTR(PTR(target)) = &ptr.answers[0].data else {
                panic!()
            };
            let fwd = resolve(&w, target, RecordType::A);
            let back = fwd.answers.iter().any(|r| r.data == RData::A(A(ip)));
            assert_eq!(back, fault != PtrFault::FcrdnsFail, "{ip} {fault:?}");
            seen[fault as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
    }

    #[test]
    fn provider_addresses_reverse_to_their_hosts() {
        let w = SyntheticWorld::new(10, 1);
        for p in 0..PROVIDERS {
            for (host, v4, v6) in SyntheticWorld::provider_hosts(p) {
                for ip in [IpAddr::V4(v4), IpAddr::V6(v6)] {
                    let a = resolve(&w, &Name::from(ip), RecordType::PTR);
                    assert_eq!(a.answers.len(), 1, "{ip}");
                    assert_eq!(
                        a.answers[0].data,
                        RData::PTR(PTR(name(&format!("{host}."))))
                    );
                }
            }
        }
    }
}
