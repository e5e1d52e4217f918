//! What the summary counts over the domains written: routes, findings, providers and sender
//! verdicts. Each journal batch carries the tally of its own domains, so a resumed scan's
//! summary covers every domain of the scan, not only those of its last run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::provider::Source;
use crate::analysis::{Code, DomainReport, Route};
use crate::mailauth::spf::eval::MAX_LOOKUPS;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<Route, u64>,
    /// Per code, per severity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub findings: BTreeMap<String, BTreeMap<String, u64>>,
    /// Fractional provider credit, summed, of providers other than the domains' own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, f64>,
    /// Fractional credit of self-hosted exchanges (`provider_source` `self`), summed.
    #[serde(default, skip_serializing_if = "is_nothing")]
    pub self_hosted: f64,
    /// Sender IPs per verdict.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub senders: BTreeMap<String, u64>,
    /// INDETERMINATE domains with a lookup no resolver answered (DNS_TIMEOUT).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unanswered: u64,
    /// Domains per mail-authentication figure, keyed `family.what.value` (`spf.state.valid`,
    /// `spf.lookups.3`, `dmarc.policy.reject`; see [`mail_auth_keys`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mail_auth: BTreeMap<String, u64>,
}

/// Adds one to `key`'s count.
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// Takes `other`'s counts away; counts that reach zero disappear.
fn take_away(counts: &mut BTreeMap<String, u64>, other: &BTreeMap<String, u64>) {
    for (k, n) in other {
        if let Some(mine) = counts.get_mut(k) {
            *mine = mine.saturating_sub(*n);
        }
    }
    counts.retain(|_, n| *n > 0);
}

fn add_counts(counts: &mut BTreeMap<String, u64>, other: &BTreeMap<String, u64>) {
    for (k, n) in other {
        *counts.entry(k.clone()).or_default() += n;
    }
}

/// A domain's mail-authentication figures, from its report or read back from its `domains`
/// and `findings` rows (a retry pass): one rule turns either into the summary's counts.
#[derive(Debug, Default)]
pub struct AuthFigures<'a> {
    /// SPF's state (`None`: not checked).
    pub spf: Option<&'a str>,
    pub spf_lookups: u32,
    pub spf_all: Option<&'a str>,
    pub spf_mx_pass: Option<bool>,
    /// The SPF ERROR codes about the domain itself, in the order of its findings.
    pub spf_errors: Vec<&'a str>,
    pub dmarc: Option<&'a str>,
    pub dmarc_policy: Option<&'a str>,
    /// A report destination (`rua`) is given.
    pub dmarc_rua: bool,
    pub mta_sts: Option<&'a str>,
    pub tls_rpt: Option<&'a str>,
    pub tlsa: Option<&'a str>,
}

impl AuthFigures<'_> {
    /// The `family.what.value` figures the domain counts towards.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(state) = self.spf {
            keys.push(format!("spf.state.{state}"));
            if matches!(state, "valid" | "permerror") {
                let lookups = if self.spf_lookups > MAX_LOOKUPS {
                    format!("{}+", MAX_LOOKUPS + 1)
                } else {
                    self.spf_lookups.to_string()
                };
                keys.push(format!("spf.lookups.{lookups}"));
                keys.push(format!("spf.all.{}", self.spf_all.unwrap_or("missing")));
            }
            if let Some(pass) = self.spf_mx_pass {
                keys.push(format!("spf.mx_pass.{pass}"));
            }
            let mut errors = self.spf_errors.clone();
            errors.dedup();
            keys.extend(errors.iter().map(|c| format!("spf.errors.{c}")));
        }
        if let Some(state) = self.dmarc {
            keys.push(format!("dmarc.state.{state}"));
            if let Some(policy) = self.dmarc_policy {
                keys.push(format!("dmarc.policy.{policy}"));
            }
            if state == "valid" {
                keys.push(format!("dmarc.rua.{}", self.dmarc_rua));
            }
        }
        for (family, state) in [
            ("mta_sts", self.mta_sts),
            ("tls_rpt", self.tls_rpt),
            ("tlsa", self.tlsa),
        ] {
            if let Some(state) = state {
                keys.push(format!("{family}.state.{state}"));
            }
        }
        keys
    }
}

/// Whether a finding is one of the SPF ERROR codes the summary counts per domain.
pub fn is_spf_error(code: &str, severity: &str, subject: &str) -> bool {
    code.starts_with("SPF_")
        && severity == crate::analysis::Severity::Error.as_str()
        && subject.is_empty()
}

/// The mail-authentication figures a domain counts towards (none for NXDOMAIN, which has no
/// posture: `DomainReport::auth` is `None`).
pub fn mail_auth_keys(r: &DomainReport) -> Vec<String> {
    let Some(auth) = &r.auth else {
        return Vec::new();
    };
    let spf = auth.spf.as_ref();
    let dmarc = auth.dmarc.as_ref();
    AuthFigures {
        spf: spf.map(|s| s.state),
        spf_lookups: spf.map_or(0, |s| s.lookups),
        spf_all: spf.and_then(|s| s.all),
        spf_mx_pass: spf.and_then(|s| s.mx_pass),
        spf_errors: r
            .findings
            .iter()
            .filter(|f| is_spf_error(f.code.name(), f.severity.as_str(), &f.subject))
            .map(|f| f.code.name())
            .collect(),
        dmarc: dmarc.map(|d| d.state),
        dmarc_policy: dmarc.and_then(|d| d.policy).map(|p| p.as_str()),
        dmarc_rua: dmarc.is_some_and(|d| !d.rua.is_empty()),
        mta_sts: auth.mta_sts,
        tls_rpt: auth.tls_rpt,
        tlsa: auth.tlsa,
    }
    .keys()
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_nothing(x: &f64) -> bool {
    *x == 0.0
}

impl Tally {
    /// Counts `share` of a domain towards provider `name` (self-hosted ones together).
    pub fn add_provider(&mut self, name: &str, share: f64, source: Source) {
        if source == Source::Own {
            self.self_hosted += share;
        } else if let Some(n) = self.providers.get_mut(name) {
            *n += share;
        } else {
            self.providers.insert(name.to_string(), share);
        }
    }

    pub fn add(&mut self, r: &DomainReport) {
        *self.routes.entry(r.route).or_default() += 1;
        if r.route == Route::Indeterminate && r.findings.iter().any(|f| f.code == Code::DNS_TIMEOUT)
        {
            self.unanswered += 1;
        }
        for f in &r.findings {
            let by_severity = match self.findings.get_mut(f.code.name()) {
                Some(m) => m,
                None => self.findings.entry(f.code.name().to_string()).or_default(),
            };
            match by_severity.get_mut(f.severity.as_str()) {
                Some(n) => *n += 1,
                None => {
                    by_severity.insert(f.severity.as_str().to_string(), 1);
                }
            }
        }
        for (p, credit) in &r.providers {
            self.add_provider(p, credit.share, credit.source);
        }
        for s in &r.senders {
            bump(&mut self.senders, s.verdict);
        }
        for key in mail_auth_keys(r) {
            bump(&mut self.mail_auth, &key);
        }
    }

    /// Takes away the tally of domains whose rows are replaced (a retry pass): counts that
    /// reach zero disappear.
    pub fn subtract(&mut self, other: &Tally) {
        for (r, n) in &other.routes {
            if let Some(mine) = self.routes.get_mut(r) {
                *mine = mine.saturating_sub(*n);
            }
        }
        self.routes.retain(|_, n| *n > 0);
        for (code, by_severity) in &other.findings {
            if let Some(mine) = self.findings.get_mut(code) {
                for (s, n) in by_severity {
                    if let Some(m) = mine.get_mut(s) {
                        *m = m.saturating_sub(*n);
                    }
                }
                mine.retain(|_, n| *n > 0);
            }
        }
        self.findings.retain(|_, m| !m.is_empty());
        for (p, share) in &other.providers {
            if let Some(mine) = self.providers.get_mut(p) {
                *mine -= share;
            }
        }
        self.providers.retain(|_, share| *share > 1e-9);
        self.self_hosted = (self.self_hosted - other.self_hosted).max(0.0);
        take_away(&mut self.senders, &other.senders);
        take_away(&mut self.mail_auth, &other.mail_auth);
        self.unanswered = self.unanswered.saturating_sub(other.unanswered);
    }

    /// Adds another tally (an earlier run's batches) to this one.
    pub fn merge(&mut self, other: &Tally) {
        for (r, n) in &other.routes {
            *self.routes.entry(*r).or_default() += n;
        }
        for (code, by_severity) in &other.findings {
            let mine = self.findings.entry(code.clone()).or_default();
            for (s, n) in by_severity {
                *mine.entry(s.clone()).or_default() += n;
            }
        }
        for (p, share) in &other.providers {
            *self.providers.entry(p.clone()).or_default() += share;
        }
        self.self_hosted += other.self_hosted;
        add_counts(&mut self.senders, &other.senders);
        add_counts(&mut self.mail_auth, &other.mail_auth);
        self.unanswered += other.unanswered;
    }

    /// Domains counted (each has exactly one route).
    pub fn domains(&self) -> u64 {
        self.routes.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_survives_json_and_merges() {
        let mut a = Tally::default();
        a.routes.insert(Route::HasMx, 3);
        a.routes.insert(Route::Nxdomain, 1);
        a.findings
            .entry("MX_SINGLE_HOST".into())
            .or_default()
            .insert("W".into(), 2);
        a.providers.insert("Google".into(), 1.5);
        a.senders.insert("ok".into(), 2);
        let text = serde_json::to_string(&a).unwrap();
        let back: Tally = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a);
        let mut sum = a.clone();
        sum.merge(&back);
        assert_eq!(sum.routes[&Route::HasMx], 6);
        assert_eq!(sum.findings["MX_SINGLE_HOST"]["W"], 4);
        assert_eq!(sum.providers["Google"], 3.0);
        assert_eq!(sum.domains(), 8);
        assert_eq!(serde_json::to_string(&Tally::default()).unwrap(), "{}");
    }
}
