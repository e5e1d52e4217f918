//! A domain's mail-authentication checks inside the pipeline (`--checks`): the SPF audit,
//! `check_host()` for every declared sender IP and for the domain's own MX addresses, DMARC
//! discovery and the authorisation of its external report destinations. Each is a `mailauth`
//! evaluator run by replay (docs/design.md): over the answers this domain has received it
//! finishes or names its next question, which the pipeline asks through the shared lookups
//! and hands back here.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::RecordType;

use crate::mailauth::dmarc::{self, Discovery};
use crate::mailauth::spf::audit::{self, Audit};
use crate::mailauth::spf::record::RecordAt;
use crate::mailauth::spf::{self, Evaluation, Request};
use crate::mailauth::{Answer, Dns, Known, Need};

use super::budget;

/// The check families of `--checks`. MX (and the address and reverse checks that follow it) is
/// always on: the others build on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Checks {
    pub spf: bool,
    pub dmarc: bool,
    pub mta_sts: bool,
    pub tls_rpt: bool,
    pub tlsa: bool,
}

impl Checks {
    /// The families, as `--checks` names them.
    pub const NAMES: [&str; 7] = ["mx", "spf", "dmarc", "mta-sts", "tls-rpt", "tlsa", "all"];
    /// The default: `mx,spf,dmarc`.
    pub const DEFAULT: Checks = Checks {
        spf: true,
        dmarc: true,
        mta_sts: false,
        tls_rpt: false,
        tlsa: false,
    };
    pub const ALL: Checks = Checks {
        spf: true,
        dmarc: true,
        mta_sts: true,
        tls_rpt: true,
        tlsa: true,
    };

    /// Parses a comma-separated list of families.
    pub fn parse(list: &str) -> Result<Checks, String> {
        let mut checks = Checks::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "mx" => {}
                "spf" => checks.spf = true,
                "dmarc" => checks.dmarc = true,
                "mta-sts" => checks.mta_sts = true,
                "tls-rpt" => checks.tls_rpt = true,
                "tlsa" => checks.tlsa = true,
                "all" => checks = Checks::ALL,
                _ => {
                    return Err(format!(
                        "unknown check `{name}`: the checks are {}",
                        Checks::NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(checks)
    }

    /// Whether any mail-authentication family is on.
    pub fn any(self) -> bool {
        self != Checks::default()
    }
}

impl fmt::Display for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = [
            ("mx", true),
            ("spf", self.spf),
            ("dmarc", self.dmarc),
            ("mta-sts", self.mta_sts),
            ("tls-rpt", self.tls_rpt),
            ("tlsa", self.tlsa),
        ];
        let names: Vec<&str> = on.iter().filter(|(_, o)| *o).map(|(n, _)| *n).collect();
        f.write_str(&names.join(","))
    }
}

/// The names whose TXT records the transport checks read.
pub fn mta_sts_name(domain: &str) -> String {
    format!("_mta-sts.{domain}")
}

pub fn tls_rpt_name(domain: &str) -> String {
    format!("_smtp._tls.{domain}")
}

/// Where an exchange's TLSA records for SMTP are (RFC 7672 §2.2).
pub fn tlsa_name(exchange: &str) -> String {
    format!("_25._tcp.{exchange}")
}

/// What the evaluators found for a domain; `None` fields were not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Posture {
    pub spf: Option<Audit>,
    /// `check_host()` of each declared sender IP, in the order they were declared (deduplicated).
    pub senders: Vec<(IpAddr, Evaluation)>,
    /// `check_host()` of the domain's own MX addresses (at most [`budget::MX_CHECKS`]).
    pub mx: Vec<(IpAddr, Evaluation)>,
    pub dmarc: Option<Discovery>,
    /// Each `rua` destination host and whether it accepts the domain's reports (`None`: the
    /// lookup failed), for the first [`budget::RUA`] URIs.
    pub rua: Vec<(String, Option<bool>)>,
    /// A question at the domain's own name came back NXDOMAIN: nothing exists there (RFC 8020),
    /// whatever became of its MX lookup.
    pub nxdomain: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Job {
    Audit,
    Sender(IpAddr),
    Mx(IpAddr),
    Dmarc,
    Rua(String),
}

struct Running {
    job: Job,
    waiting: Option<Need>,
    asked: u32,
}

impl Running {
    fn new(job: Job) -> Running {
        Running {
            job,
            waiting: None,
            asked: 0,
        }
    }
}

/// One domain's evaluators and the answers they have read.
pub struct AuthState {
    domain: String,
    /// The MAIL FROM of every `check_host()`: `postmaster@<domain>`.
    sender: String,
    known: Known,
    running: Vec<Running>,
    mx_started: bool,
    pub posture: Posture,
}

impl AuthState {
    /// The evaluators that start with the domain: the SPF audit and sender checks, DMARC.
    pub fn new(domain: &str, checks: Checks, senders: &[IpAddr]) -> AuthState {
        let mut jobs = Vec::new();
        if checks.spf {
            jobs.push(Job::Audit);
            jobs.extend(senders.iter().map(|ip| Job::Sender(*ip)));
        }
        if checks.dmarc {
            jobs.push(Job::Dmarc);
        }
        AuthState {
            domain: domain.to_string(),
            sender: format!("postmaster@{domain}"),
            known: Known::default(),
            running: jobs.into_iter().map(Running::new).collect(),
            mx_started: false,
            posture: Posture::default(),
        }
    }

    /// Records an answer this domain received (with its SPF record when the lookup parsed one).
    pub fn learn(
        &mut self,
        name: String,
        qtype: RecordType,
        answer: Answer,
        spf: Option<Arc<RecordAt>>,
    ) {
        if answer == Answer::NxDomain && name.eq_ignore_ascii_case(&self.domain) {
            self.posture.nxdomain = true;
        }
        self.known.insert_with_spf(name, qtype, answer, spf);
    }

    /// Starts `check_host()` of the MX addresses, once, when the domain's other lookups (the
    /// SPF audit's among them) are done; false if it had started already.
    pub fn start_mx(&mut self, mut addresses: Vec<IpAddr>) -> bool {
        if self.mx_started {
            return false;
        }
        self.mx_started = true;
        // Only a record that evaluates says something about the MX addresses (the audit, done
        // by now, found no error): the others' results are `none` or errors already reported.
        let evaluates = self.posture.spf.as_ref().is_some_and(Audit::evaluates);
        if evaluates {
            addresses.sort_unstable();
            addresses.dedup();
            addresses.truncate(budget::MX_CHECKS);
            let jobs = addresses.into_iter().map(|ip| Running::new(Job::Mx(ip)));
            self.running.extend(jobs);
        }
        true
    }

    /// Runs every evaluator that can go on; returns the questions they wait for (each new).
    pub fn drive(&mut self) -> Vec<Need> {
        let mut needs = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            let ready = self.running[i]
                .waiting
                .as_ref()
                .is_none_or(|n| self.known.contains(&n.name, n.qtype));
            if !ready {
                i += 1;
                continue;
            }
            // `None`: finished and removed, so index `i` holds the next job (or a new one).
            if let Some(need) = self.step(i) {
                let running = &mut self.running[i];
                running.asked += 1;
                if running.asked > budget::EVALUATOR_QUESTIONS {
                    // Answered as a failure without asking; the job goes on at once.
                    self.known.insert(need.name, need.qtype, Answer::Failed);
                    continue;
                }
                running.waiting = Some(need.clone());
                if !needs.contains(&need) {
                    needs.push(need);
                }
                i += 1;
            }
        }
        needs
    }

    /// Whether an evaluator is still waiting.
    pub fn busy(&self) -> bool {
        !self.running.is_empty()
    }

    /// One replay of the job at `i`: its next question, or `None` once it has finished, its
    /// result stored and the job removed (a finished DMARC discovery adds jobs).
    fn step(&mut self, i: usize) -> Option<Need> {
        if let Err(need) = self.run(i) {
            return Some(need);
        }
        self.running.remove(i);
        None
    }

    /// Replays the job at `i`, storing its result if it finishes.
    fn run(&mut self, i: usize) -> Result<(), Need> {
        let domain = self.domain.as_str();
        let request = |ip: IpAddr| Request {
            ip,
            sender: &self.sender,
            helo: domain,
            domain,
            receiver: "unknown",
            timestamp: 0,
        };
        let posture = &mut self.posture;
        match &self.running[i].job {
            Job::Audit => posture.spf = Some(audit::audit(domain, &self.known)?),
            Job::Sender(ip) => {
                let evaluation = spf::check_host(&request(*ip), &self.known)?;
                posture.senders.push((*ip, evaluation));
            }
            Job::Mx(ip) => {
                let evaluation = spf::check_host(&request(*ip), &self.known)?;
                posture.mx.push((*ip, evaluation));
            }
            Job::Dmarc => {
                let found = dmarc::discover(domain, &self.known)?;
                let mut hosts: Vec<String> = Vec::new();
                let uris = (found.policy.iter().flatten()).flat_map(|p| &p.rua);
                for host in uris.take(budget::RUA).filter_map(|u| dmarc::report_host(u)) {
                    if !hosts.contains(&host) {
                        hosts.push(host);
                    }
                }
                posture.dmarc = Some(found);
                let jobs = hosts.into_iter().map(|h| Running::new(Job::Rua(h)));
                self.running.extend(jobs);
            }
            Job::Rua(host) => {
                let authorised = dmarc::authorised(domain, host, &self.known)?;
                let name = dmarc::report_name(domain, host);
                let failed = self.known.answer(&name, RecordType::TXT) == Some(&Answer::Failed);
                posture
                    .rua
                    .push((host.clone(), (!failed).then_some(authorised)));
            }
        }
        Ok(())
    }
}
