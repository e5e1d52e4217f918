//! The rayon stage: each finished domain becomes its route state, its findings (the codes of
//! the catalogue in `docs/findings.md`), its sender verdicts, its provider and its score. Everything here is a pure function of a [`DomainResult`] and the
//! [`Analysis`] settings, so it is tested from hand-built results and runs on any thread.

pub mod addr;
pub mod code;
pub mod findings;
pub mod generic;
pub mod mailauth;
pub mod provider;
pub mod score;

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::engine::Status;
use crate::mailauth::spf::SpfResult;
use crate::pipeline::result::DomainResult;
use addr::AddrTable;
pub use code::{Code, Grade};
use provider::Providers;
use score::{Score, Weights};

/// The state of a domain's mail route (one per domain).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Route {
    /// At least one exchange other than the root.
    HasMx,
    /// Only root targets: the domain declares it receives no mail (RFC 7505).
    NullMx,
    /// No MX, but the domain has addresses, which receive its mail (RFC 5321 §5.1).
    ImplicitMx,
    /// No MX and no address, or a CNAME loop.
    NoMailRoute,
    /// The domain does not exist (or its CNAME chain ends in NXDOMAIN).
    Nxdomain,
    /// The MX lookup failed (SERVFAIL, timeout, REFUSED): nothing is known.
    Indeterminate,
}

impl Route {
    pub const ALL: [Route; 6] = [
        Route::HasMx,
        Route::NullMx,
        Route::ImplicitMx,
        Route::NoMailRoute,
        Route::Nxdomain,
        Route::Indeterminate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::HasMx => "HAS_MX",
            Route::NullMx => "NULL_MX",
            Route::ImplicitMx => "IMPLICIT_MX",
            Route::NoMailRoute => "NO_MAIL_ROUTE",
            Route::Nxdomain => "NXDOMAIN",
            Route::Indeterminate => "INDETERMINATE",
        }
    }
}

/// The route state of a finished domain.
pub fn route(r: &DomainResult) -> Route {
    let chain = r.cname_chain();
    if findings::chain_broken(&r.domain, &r.walk, chain) {
        return Route::NoMailRoute;
    }
    match r.mx.status {
        Status::NxDomain => Route::Nxdomain,
        Status::NoError if !r.exchanges.is_empty() && r.exchanges.iter().all(|e| e.name == ".") => {
            Route::NullMx
        }
        Status::NoError => Route::HasMx,
        Status::NoData => {
            let Some(host) = &r.implicit else {
                return Route::Indeterminate;
            };
            if !host.addresses.is_empty() {
                Route::ImplicitMx
            } else if [&host.a, &host.aaaa]
                .into_iter()
                .any(|a| a.as_ref().is_none_or(|a| a.is_temporary_failure()))
            {
                Route::Indeterminate
            } else {
                Route::NoMailRoute
            }
        }
        _ => Route::Indeterminate,
    }
}

/// How sure a finding is and how bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// Standards-following peers fail to deliver.
    Error,
    /// A SHOULD is broken, or receivers commonly penalise it.
    Warn,
    /// Worth counting, not a defect.
    Info,
    /// The measurement failed; never counted as "no MX".
    Indeterminate,
}

impl Severity {
    /// Every severity, worst first (the order reports list them in).
    pub const ALL: [Severity; 4] = [
        Severity::Error,
        Severity::Warn,
        Severity::Info,
        Severity::Indeterminate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warn => "WARN",
            Severity::Info => "INFO",
            Severity::Indeterminate => "INDETERMINATE",
        }
    }
}

/// One finding: a stable code about the domain (empty subject), an exchange, or an IP.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub subject: String,
    pub evidence: String,
    /// A generic PTR with a `static`/`fix` token (costs less in the score).
    #[serde(skip)]
    pub static_hint: bool,
}

impl Finding {
    pub fn new(code: Code, severity: Severity, subject: &str, evidence: String) -> Self {
        Finding {
            code,
            severity,
            subject: subject.to_string(),
            evidence,
            static_hint: false,
        }
    }

    /// A finding of a code whose severity is fixed.
    pub fn fixed(code: Code, subject: &str, evidence: String) -> Self {
        Self::new(code, code.severity(), subject, evidence)
    }
}

/// Settings of the analysis.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Accept `.test` and `.example` exchanges (a test world); `.invalid` is always flagged.
    pub allow_special_use: bool,
    pub addresses: AddrTable,
    pub providers: Providers,
    pub weights: Weights,
}

/// The verdict on one declared sender IP.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SenderReport {
    pub ip: IpAddr,
    /// The exchange whose A/AAAA is this IP (the domain itself for implicit MX), if any.
    pub mx_host: Option<String>,
    pub ptr_names: Vec<String>,
    pub iprev: &'static str,
    pub generic: bool,
    /// Its SPF result with the domain as MAIL FROM domain (`None` when SPF was not checked).
    pub spf: Option<SpfResult>,
    /// `ok`, `at_risk`, `fail` or `indeterminate`: see [`sender_verdict`].
    pub verdict: &'static str,
    /// The finding that decided the verdict (none for `ok`).
    pub decided_by: Option<Code>,
    pub score: Score,
}

/// A finished domain with what the analysis made of it.
#[derive(Debug, Clone)]
pub struct DomainReport {
    pub result: DomainResult,
    pub route: Route,
    pub findings: Vec<Finding>,
    /// Credit per provider (shares summing to 1 when attributed).
    pub providers: BTreeMap<String, provider::Credit>,
    pub score: Score,
    pub senders: Vec<SenderReport>,
    /// The mail-authentication posture in figures (`None` under `--checks mx`).
    pub auth: Option<mailauth::Overview>,
}

/// A sender IP's verdict from its findings (its own and the domain's gates), by the rule that
/// also makes its score, so that the two never disagree: `indeterminate` when a lookup failed
/// (an INDETERMINATE finding, or the domain's route; no score); else `fail` when a gate (score
/// 0) or an ERROR finding holds (receivers reject its mail); else `at_risk` when a WARN finding
/// holds (each costs points: the score is below 100); else `ok` (INFO findings at most, which
/// cost nothing: 100). Returns the verdict and the finding that decided it.
pub fn sender_verdict(
    findings: &[&Finding],
    route_indeterminate: bool,
) -> (&'static str, Option<Code>) {
    let first = |keep: &dyn Fn(&Finding) -> bool| findings.iter().find(|f| keep(f)).map(|f| f.code);
    if let Some(code) = first(&|f| f.severity == Severity::Indeterminate) {
        return ("indeterminate", Some(code));
    }
    if route_indeterminate {
        return ("indeterminate", None);
    }
    if let Some(code) =
        first(&|f| f.code.gate()).or_else(|| first(&|f| f.severity == Severity::Error))
    {
        return ("fail", Some(code));
    }
    if let Some(code) = first(&|f| f.severity == Severity::Warn) {
        return ("at_risk", Some(code));
    }
    ("ok", None)
}

impl Analysis {
    /// Analyses one finished domain.
    pub fn analyze(&self, result: DomainResult) -> DomainReport {
        let route = route(&result);
        let found = findings::findings(self, &result, route);
        let domain_gates: Vec<&Finding> = found
            .iter()
            .filter(|f| f.subject.is_empty() && f.code.gate())
            .collect();
        let senders = result
            .senders
            .iter()
            .map(|s| {
                let ip = s.ip.to_string();
                let mine: Vec<&Finding> = found
                    .iter()
                    .filter(|f| f.subject == ip)
                    .chain(domain_gates.iter().copied())
                    .collect();
                let has = |code: Code| mine.iter().any(|f| f.code == code);
                let spf = result.auth.as_ref().and_then(|auth| {
                    let senders = &auth.posture.senders;
                    senders
                        .iter()
                        .find(|(ip, _)| *ip == s.ip)
                        .map(|(_, e)| e.result)
                });
                let (verdict, decided_by) = sender_verdict(&mine, route == Route::Indeterminate);
                SenderReport {
                    ip: s.ip,
                    mx_host: result
                        .hosts()
                        .find(|h| h.addresses.iter().any(|a| a.ip == s.ip))
                        .map(|h| h.name.clone()),
                    ptr_names: s.ptr_names.clone(),
                    iprev: s.iprev.as_str(),
                    generic: has(Code::PTR_GENERIC),
                    spf,
                    verdict,
                    decided_by,
                    score: score::unmeasured_if(
                        verdict == "indeterminate",
                        score::score(mine.iter().copied(), &self.weights),
                    ),
                }
            })
            .collect();
        DomainReport {
            providers: self.providers.attribute(&result),
            score: score::unmeasured_if(
                route == Route::Indeterminate,
                score::score(&found, &self.weights),
            ),
            route,
            findings: found,
            senders,
            // Nothing to say of a domain that does not exist (as for its findings).
            auth: (!result.nonexistent())
                .then(|| mailauth::Overview::of(&result))
                .flatten(),
            result,
        }
    }
}

#[cfg(test)]
mod tests;
