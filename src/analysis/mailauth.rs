//! The mail-authentication findings (SPF_*, DMARC_*, MTA_STS_*, TLSRPT_*, TLSA_*): pure
//! functions of what the checks of `--checks` found (docs/findings.md, "Mail authentication").

use super::{Code, Finding};
use crate::mailauth::dmarc::{Discovery, Disposition};
use crate::mailauth::spf::SpfResult;
use crate::mailauth::spf::audit::{Audit, Problem};
use crate::mailauth::spf::eval::{MAX_LOOKUPS, MAX_VOID_LOOKUPS};
use crate::mailauth::spf::record::Qualifier;
use crate::mailauth::transport::TlsaState;
use crate::pipeline::auth::{Posture, tlsa_name};
use crate::pipeline::result::{DomainResult, Host, MailAuth};

/// Every mail-authentication finding of a domain; absences (no DMARC record) only when the
/// domain is known to `exist`.
pub fn findings(r: &DomainResult, exist: bool, out: &mut Vec<Finding>) {
    let Some(auth) = &r.auth else {
        return;
    };
    let domain = r.domain.as_str();
    let posture = &auth.posture;
    if let Some(audit) = &posture.spf {
        spf(domain, audit, posture, out);
    }
    if let Some(found) = &posture.dmarc {
        dmarc(domain, found, posture, exist, out);
    }
    transport_records(domain, auth, out);
    tlsa(r, out);
}

fn push(out: &mut Vec<Finding>, code: Code, subject: &str, evidence: String) {
    out.push(Finding::fixed(code, subject, evidence));
}

fn spf(domain: &str, audit: &Audit, posture: &Posture, out: &mut Vec<Finding>) {
    for problem in &audit.problems {
        let (code, evidence) = match problem {
            Problem::Failed(name) => (
                Code::SPF_TEMPERROR,
                format!("the TXT lookup of {name} failed"),
            ),
            Problem::Multiple(name, n) => {
                (Code::SPF_MULTIPLE, format!("{n} SPF records at {name}"))
            }
            Problem::Syntax(name, why) => (Code::SPF_SYNTAX, format!("{name}: {why}")),
            Problem::Missing(name) => (Code::SPF_INCLUDE_NONE, format!("{name} has no SPF record")),
            Problem::Loop(name) => (Code::SPF_LOOP, format!("{name} is reached again")),
        };
        push(out, code, "", evidence);
    }
    let Some(record) = &audit.record else {
        if audit.problems.is_empty() {
            push(
                out,
                Code::SPF_NONE,
                "",
                format!("no v=spf1 TXT record at {domain}"),
            );
        }
        return;
    };
    if audit.too_many_lookups() {
        let evidence = format!(
            "{} DNS-querying terms, at most {MAX_LOOKUPS}",
            audit.lookups
        );
        push(out, Code::SPF_TOO_MANY_LOOKUPS, "", evidence);
    }
    if audit.too_many_voids() {
        let evidence = format!(
            "{} lookups find nothing, at most {MAX_VOID_LOOKUPS}",
            audit.void_lookups
        );
        push(out, Code::SPF_VOID_LOOKUPS, "", evidence);
    }
    if audit.all == Some(Qualifier::Pass) {
        push(out, Code::SPF_PASS_ALL, "", format!("`{record}`"));
    }
    if audit.uses_ptr {
        push(out, Code::SPF_PTR, "", format!("`{record}`"));
    }
    // The pipeline checks the MX addresses only against a record without errors.
    for (ip, evaluation) in &posture.mx {
        if evaluation.result == SpfResult::TempError {
            let evidence = "a lookup of the MX address's SPF evaluation failed".to_string();
            push(out, Code::SPF_TEMPERROR, &ip.to_string(), evidence);
        } else if matches!(
            evaluation.result,
            SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral
        ) {
            let evidence = format!("SPF {} for the MX address", evaluation.result.as_str());
            push(out, Code::SPF_MX_NOT_AUTHORISED, &ip.to_string(), evidence);
        }
    }
    for (ip, evaluation) in &posture.senders {
        let code = match evaluation.result {
            SpfResult::Fail => Code::SPF_SENDER_FAIL,
            // DMARC counts each of these as not passing (RFC 7489 §4.2).
            SpfResult::SoftFail | SpfResult::Neutral | SpfResult::None | SpfResult::PermError => {
                Code::SPF_SENDER_NOT_PASS
            }
            SpfResult::TempError => Code::SPF_TEMPERROR,
            SpfResult::Pass => continue,
        };
        let mut evidence = format!("SPF {}", evaluation.result.as_str());
        if let Some(m) = &evaluation.mechanism {
            evidence.push_str(&format!(" by `{m}`"));
        }
        if let Some(why) = &evaluation.problem {
            evidence.push_str(&format!(": {why}"));
        }
        push(out, code, &ip.to_string(), evidence);
    }
}

/// The DMARC policy that applies to `domain`: `sp` when the record was found at a parent.
pub fn applied_policy(domain: &str, found: &Discovery) -> Option<Disposition> {
    let policy = found.policy.as_ref()?.as_ref().ok()?;
    let own = found.at.as_deref() == Some(&format!("_dmarc.{domain}"));
    Some(if own {
        policy.p
    } else {
        policy.sp.unwrap_or(policy.p)
    })
}

fn dmarc(domain: &str, found: &Discovery, posture: &Posture, exist: bool, out: &mut Vec<Finding>) {
    let at = found.at.as_deref().unwrap_or_default();
    if found.failed {
        let evidence = "a TXT lookup of the DMARC tree walk failed".to_string();
        push(out, Code::MAILAUTH_TEMPERROR, "", evidence);
        return;
    }
    if found.multiple {
        push(
            out,
            Code::DMARC_MULTIPLE,
            "",
            format!("more than one record at {at}"),
        );
        return;
    }
    let policy = match &found.policy {
        None if !exist => return,
        None => {
            let evidence = format!("none at {}", dmarc_names(domain));
            return push(out, Code::DMARC_NONE, "", evidence);
        }
        Some(Err(why)) => return push(out, Code::DMARC_SYNTAX, "", format!("{at}: {why}")),
        Some(Ok(policy)) => policy,
    };
    if applied_policy(domain, found) == Some(Disposition::None) {
        push(out, Code::DMARC_POLICY_NONE, "", format!("from {at}"));
    }
    if policy.rua.is_empty() {
        push(out, Code::DMARC_NO_RUA, "", format!("no rua at {at}"));
    }
    for (host, authorised) in &posture.rua {
        match authorised {
            Some(true) => {}
            Some(false) => {
                let evidence = format!(
                    "no v=DMARC1 record at {}",
                    crate::mailauth::dmarc::report_name(domain, host)
                );
                push(out, Code::DMARC_RUA_NOT_AUTHORISED, host, evidence);
            }
            None => {
                let evidence = format!("the authorisation lookup for {host} failed");
                push(out, Code::MAILAUTH_TEMPERROR, host, evidence);
            }
        }
    }
}

fn dmarc_names(domain: &str) -> String {
    crate::mailauth::dmarc::walk(domain).join(", ")
}

fn transport_records(domain: &str, auth: &MailAuth, out: &mut Vec<Finding>) {
    let kinds = [
        (&auth.mta_sts, "_mta-sts", Code::MTA_STS_SYNTAX),
        (&auth.tls_rpt, "_smtp._tls", Code::TLSRPT_SYNTAX),
    ];
    for (checked, label, code) in kinds {
        let Some(checked) = checked else {
            continue;
        };
        let name = format!("{label}.{domain}");
        if checked.state == "temperror" {
            let evidence = format!("the TXT lookup of {name} failed");
            push(out, Code::MAILAUTH_TEMPERROR, "", evidence);
        } else if let Some(why) = &checked.problem {
            push(out, code, "", format!("{name}: {why}"));
        }
    }
}

fn tlsa(r: &DomainResult, out: &mut Vec<Finding>) {
    let states: Vec<(&Host, &TlsaState)> = r
        .hosts()
        .filter_map(|h| h.tlsa.as_ref().map(|s| (h, s)))
        .collect();
    for (host, state) in &states {
        match state {
            TlsaState::Failed => {
                let evidence = format!("the TLSA lookup of {} failed", tlsa_name(&host.name));
                push(out, Code::MAILAUTH_TEMPERROR, &host.name, evidence);
            }
            TlsaState::Invalid(why) => push(out, Code::TLSA_SYNTAX, &host.name, why.clone()),
            TlsaState::None | TlsaState::Usable => {}
        }
    }
    let without: Vec<&str> = states
        .iter()
        .filter(|(_, s)| **s == TlsaState::None)
        .map(|(h, _)| h.name.as_str())
        .collect();
    if states.iter().any(|(_, s)| s.published()) && !without.is_empty() {
        let evidence = format!("no TLSA for {}", without.join(", "));
        push(out, Code::TLSA_PARTIAL, "", evidence);
    }
}

/// A domain's mail-authentication posture in a few figures: what its `domains` row shows and
/// the summary counts. States are `none`, `valid`, `invalid` (SPF: `permerror`) or
/// `temperror`; a family not checked is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overview {
    pub spf: Option<SpfOverview>,
    pub dmarc: Option<DmarcOverview>,
    pub mta_sts: Option<&'static str>,
    pub tls_rpt: Option<&'static str>,
    /// Over the mail hosts: `all`, `some` or `none` have usable-or-not TLSA records;
    /// `temperror` if a lookup failed.
    pub tlsa: Option<&'static str>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpfOverview {
    pub state: &'static str,
    pub record: Option<String>,
    pub lookups: u32,
    pub void_lookups: u32,
    /// The result the final `all` gives (`fail` for `-all`, `softfail`, `neutral`, `pass`).
    pub all: Option<&'static str>,
    /// Whether every checked MX address passes (`None`: none checked or no usable record).
    pub mx_pass: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DmarcOverview {
    pub state: &'static str,
    pub record: Option<String>,
    /// Where the record was found (`_dmarc.` and the domain or a parent).
    pub at: Option<String>,
    /// The policy that applies to the domain (`sp` from a parent's record).
    pub policy: Option<Disposition>,
    pub pct: Option<u8>,
    pub rua: Vec<String>,
}

impl Overview {
    pub fn of(r: &DomainResult) -> Option<Overview> {
        let auth = r.auth.as_ref()?;
        let posture = &auth.posture;
        let spf = posture.spf.as_ref().map(|audit| {
            let failed = audit
                .problems
                .iter()
                .any(|p| matches!(p, Problem::Failed(_)));
            let state = if failed {
                "temperror"
            } else if audit.evaluates() {
                "valid"
            } else if audit.record.is_some() || !audit.problems.is_empty() {
                "permerror"
            } else {
                "none"
            };
            SpfOverview {
                state,
                record: audit.record.clone(),
                lookups: audit.lookups,
                void_lookups: audit.void_lookups,
                all: audit.all.map(|q| q.result().as_str()),
                mx_pass: (state == "valid"
                    && !posture.mx.is_empty()
                    && posture
                        .mx
                        .iter()
                        .all(|(_, e)| e.result != SpfResult::TempError))
                .then(|| posture.mx.iter().all(|(_, e)| e.result == SpfResult::Pass)),
            }
        });
        let dmarc = posture.dmarc.as_ref().map(|found| {
            let policy = found.policy.as_ref().and_then(|p| p.as_ref().ok());
            DmarcOverview {
                state: match &found.policy {
                    _ if found.failed => "temperror",
                    _ if found.multiple => "invalid",
                    None => "none",
                    Some(Err(_)) => "invalid",
                    Some(Ok(_)) => "valid",
                },
                record: found.record.clone(),
                at: found.at.clone(),
                policy: applied_policy(&r.domain, found),
                pct: policy.map(|p| p.pct),
                rua: policy.map(|p| p.rua.clone()).unwrap_or_default(),
            }
        });
        let hosts: Vec<&TlsaState> = r.hosts().filter_map(|h| h.tlsa.as_ref()).collect();
        let tlsa = (!hosts.is_empty()).then(|| {
            let with = hosts.iter().filter(|s| s.published()).count();
            if hosts.contains(&&TlsaState::Failed) {
                "temperror"
            } else if with == hosts.len() {
                "all"
            } else if with > 0 {
                "some"
            } else {
                "none"
            }
        });
        Some(Overview {
            spf,
            dmarc,
            mta_sts: auth.mta_sts.as_ref().map(|c| c.state),
            tls_rpt: auth.tls_rpt.as_ref().map(|c| c.state),
            tlsa,
        })
    }
}
