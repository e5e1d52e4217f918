//! The per-domain lookup pipeline: MX → A/AAAA of every exchange → PTR of every address → the
//! forward lookup of the PTR names (FCrDNS), with the implicit-MX lookups when there is no MX
//! and the same reverse checks for declared sender IPs.
//!
//! Like the engine, the pipeline does no I/O: [`Pipeline::start`] takes a domain,
//! [`Pipeline::poll_query`] gives the queries to send, [`Pipeline::handle_outcome`] takes their
//! outcomes and [`Pipeline::poll_finished`] gives each domain once all its lookups are done.
//! Lookups go through [`LookupCache`], so a question is sent once per scan however many
//! domains ask it, and the number of domains in progress is capped, so memory stays flat
//! however long the input is.

pub mod auth;
pub mod budget;
pub mod cache;
pub mod lookup;
pub mod result;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::RecordType;
use smallvec::SmallVec;

use crate::engine::{Outcome, Question, Status};
use crate::mailauth;
use auth::{AuthState, Checks, Posture};
use cache::{Ask, CacheSize, CacheStats, Fingerprint, LookupCache, fingerprint};
use lookup::{Answer, Key};

/// Why a domain asked a question: what follows from its answer depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The domain's own MX question.
    Domain,
    /// Addresses of a mail host: an exchange, or the domain itself for implicit MX.
    Host,
    /// PTR of an address (receiving or sending).
    Reverse,
    /// Forward lookup of a PTR name.
    Forward,
    /// One hop of a CNAME walk.
    Walk,
    /// A question of a mail-authentication check (`--checks`): its answer goes to the
    /// domain's evaluators.
    Auth,
}

/// A domain to scan, as the input gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainInput {
    /// Position of its record in the input, 0-based (what the resume journal records).
    pub ordinal: u64,
    /// The line (or CSV record) it came from, 1-based.
    pub line: u64,
    /// Normalised: lower case, A-labels, no trailing dot.
    pub domain: String,
    /// Other columns of a CSV input, passed through to the outputs.
    pub extra: Vec<String>,
    /// Sender IPs declared for it (`--senders`).
    pub senders: Vec<IpAddr>,
}

/// A domain whose lookups are all done: its input and every answer it used.
#[derive(Debug, Clone)]
pub struct Finished {
    pub input: DomainInput,
    pub answers: Vec<(Key, Arc<Answer>)>,
    /// What the mail-authentication evaluators found (`None` under `--checks mx`).
    pub posture: Option<Box<Posture>>,
    /// Questions the domain's budget did not let it ask ([`budget::QUESTIONS`]).
    pub questions_cut: usize,
}

impl Finished {
    pub fn answer(&self, key: &Key) -> Option<&Arc<Answer>> {
        self.answers.iter().find(|(k, _)| k == key).map(|(_, a)| a)
    }

    /// The answer to a name question of type `qtype`, without building a [`Key`].
    pub fn answer_to(&self, qtype: RecordType, name: &str) -> Option<&Arc<Answer>> {
        self.answers
            .iter()
            .find(|(k, _)| k.qtype() == qtype && k.name() == Some(name))
            .map(|(_, a)| a)
    }
}

struct Task {
    input: DomainInput,
    /// The questions asked, in each role, by fingerprint: compared on every request.
    requested: Vec<(Fingerprint, Role)>,
    answers: Vec<(Key, Arc<Answer>)>,
    /// The fingerprints of `answers`' questions, in the same order.
    answered: Vec<Fingerprint>,
    outstanding: usize,
    /// CNAME-walk steps requested so far.
    walked: usize,
    /// Questions refused by the budget.
    questions_cut: usize,
    auth: Option<Box<AuthState>>,
}

/// Counters of the pipeline.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PipelineStats {
    pub started: u64,
    pub finished: u64,
    /// The mail-authentication questions (role [`Role::Auth`]) and how they were served: from
    /// the domain's own earlier answers or the cache (`hits`), by joining a lookup in flight,
    /// or sent.
    pub auth: CacheStats,
}

/// An answer on its way to a domain: (slot, question, its fingerprint, role, answer).
type Delivery = (usize, Key, Fingerprint, Role, Arc<Answer>);

/// The pipeline's state. See the module documentation for the call order.
pub struct Pipeline {
    tasks: Vec<Option<Task>>,
    free: Vec<usize>,
    active: usize,
    max_active: usize,
    pub lookups: LookupCache,
    queries: VecDeque<Question>,
    deliveries: VecDeque<Delivery>,
    finished: VecDeque<Finished>,
    checks: Checks,
    pub stats: PipelineStats,
}

/// Is `name` an exchange that names an IP address (`198.51.100.7`, `[192.0.2.1]`)? Such
/// targets are reported, never looked up.
pub fn is_ip_literal(name: &str) -> bool {
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
}

/// Whether domains other than `domain` may ask `key`, so that its answer is worth caching: not
/// a name at or under the domain (its MX, its own mail hosts' addresses, its SPF, `_dmarc`,
/// `_mta-sts`, `_smtp._tls`), which in a survey only that domain asks and which would only
/// push shared answers (a provider's or a hoster's hosts, reverse names) out of the cache.
/// An address's PTR may be shared (a hosting farm's address) and is kept.
fn shared(key: &Key, domain: &str) -> bool {
    match key.name() {
        Some(name) => name
            .strip_suffix(domain)
            .is_none_or(|rest| !(rest.is_empty() || rest.ends_with('.'))),
        None => true,
    }
}

/// The questions that follow from one answer: a few (an MX answer's exchanges, an address's
/// PTR), inline.
type FollowUps = SmallVec<[(Key, Role); 4]>;

/// The questions that follow from `answer` to `key` asked in `role`, for a domain that has
/// already made `walked` CNAME-walk steps.
fn follow_ups(key: &Key, role: Role, answer: &Answer, walked: usize, checks: Checks) -> FollowUps {
    let mut next = FollowUps::new();
    let walk = |name: &str, next: &mut FollowUps| {
        if walked < budget::CNAME_WALK {
            next.push((Key::Cname(name.into()), Role::Walk));
        }
    };
    match (key, role) {
        (Key::Mx(domain), Role::Domain) => match answer.status {
            Status::NoError => {
                for (_, exchange) in budget::exchanges(answer).0 {
                    if &**exchange != "." && !is_ip_literal(exchange) {
                        next.push((Key::A(exchange.clone()), Role::Host));
                        next.push((Key::Aaaa(exchange.clone()), Role::Host));
                        if checks.tlsa {
                            let name = auth::tlsa_name(exchange);
                            next.push((Key::Tlsa(name.into()), Role::Auth));
                        }
                    }
                }
            }
            // RFC 5321 §5.1: no MX, so the domain itself is the mail host (and its TLSA base
            // name, RFC 7672 §2.2.1).
            Status::NoData => {
                next.push((Key::A(domain.clone()), Role::Host));
                next.push((Key::Aaaa(domain.clone()), Role::Host));
                if checks.tlsa {
                    next.push((Key::Tlsa(auth::tlsa_name(domain).into()), Role::Auth));
                }
            }
            Status::ServFail => walk(domain, &mut next),
            _ => {}
        },
        (Key::A(host) | Key::Aaaa(host), Role::Host) => {
            for ip in budget::addresses(answer).0 {
                next.push((Key::Ptr(ip), Role::Reverse));
            }
            if answer.status == Status::ServFail {
                walk(host, &mut next);
            }
        }
        (Key::Ptr(ip), Role::Reverse) => {
            // Sorted, so the names checked do not depend on the resolver's RRset order.
            let names = budget::ptr_names(answer).0;
            for name in names.into_iter().take(budget::FORWARD_NAMES) {
                next.push((Key::forward(name, *ip), Role::Forward));
            }
        }
        (Key::Cname(_), Role::Walk) => {
            if let Some(target) = answer.cname_target() {
                walk(target, &mut next);
            }
        }
        _ => {}
    }
    next
}

impl Pipeline {
    /// A pipeline with at most `max_active` domains in progress, a cache of `cache` bytes,
    /// and the mail-authentication `checks`.
    pub fn new(max_active: usize, cache: CacheSize, checks: Checks) -> Self {
        Pipeline {
            tasks: Vec::new(),
            free: Vec::new(),
            active: 0,
            max_active: max_active.max(1),
            lookups: LookupCache::new(cache),
            queries: VecDeque::new(),
            deliveries: VecDeque::new(),
            finished: VecDeque::new(),
            checks,
            stats: PipelineStats::default(),
        }
    }

    /// Whether another domain may start.
    pub fn can_start(&self) -> bool {
        self.active < self.max_active
    }

    /// Domains in progress.
    pub fn active(&self) -> usize {
        self.active
    }

    /// Starts a domain: its MX question, the reverse checks of its sender IPs, and its
    /// mail-authentication checks.
    pub fn start(&mut self, input: DomainInput) {
        let domain = input.domain.as_str();
        let mut first = vec![(Key::Mx(domain.into()), Role::Domain)];
        let mut senders = input.senders.clone();
        senders.sort_unstable();
        senders.dedup();
        first.extend(senders.iter().map(|ip| (Key::Ptr(*ip), Role::Reverse)));
        if self.checks.mta_sts {
            first.push((Key::Txt(auth::mta_sts_name(domain).into()), Role::Auth));
        }
        if self.checks.tls_rpt {
            first.push((Key::Txt(auth::tls_rpt_name(domain).into()), Role::Auth));
        }
        let auth = self
            .checks
            .any()
            .then(|| Box::new(AuthState::new(domain, self.checks, &senders)));
        let task = Task {
            input,
            requested: Vec::new(),
            answers: Vec::new(),
            answered: Vec::new(),
            outstanding: 0,
            walked: 0,
            questions_cut: 0,
            auth,
        };
        let slot = crate::slots::occupy(&mut self.tasks, &mut self.free, task);
        self.active += 1;
        self.stats.started += 1;
        for (key, role) in first {
            // What the budget refuses is counted in the domain's cut; nothing waits for it.
            let _ = self.request(slot, key, role);
        }
        self.drive_auth(slot);
        self.run_deliveries();
    }

    /// The next query to send: (name, type, tag for [`Pipeline::handle_outcome`]).
    pub fn poll_query(&mut self) -> Option<Question> {
        self.queries.pop_front()
    }

    /// Queries waiting to be sent.
    pub fn queued(&self) -> usize {
        self.queries.len()
    }

    /// Takes the outcome of a query this pipeline asked for. Unknown tags are ignored.
    pub fn handle_outcome(&mut self, outcome: &Outcome) {
        let Some(key) = self.lookups.key(outcome.tag) else {
            return;
        };
        let answer = Arc::new(Answer::from_outcome(key, outcome));
        let Some((key, print, waiters)) = self.lookups.complete(outcome.tag, answer.clone()) else {
            return;
        };
        for (slot, role) in waiters {
            self.deliveries
                .push_back((slot, key.clone(), print, role, answer.clone()));
        }
        self.run_deliveries();
    }

    /// The next domain whose lookups are all done.
    pub fn poll_finished(&mut self) -> Option<Finished> {
        self.finished.pop_front()
    }

    /// Records that `slot` needs `key` in `role`; the answer arrives through `deliveries`.
    /// `Err` gives the key back when the domain's budget of questions is spent: no answer
    /// will come.
    fn request(&mut self, slot: usize, key: Key, role: Role) -> Result<(), Key> {
        let Some(task) = self.tasks[slot].as_mut() else {
            return Ok(());
        };
        let print = fingerprint(&key);
        if task.requested.contains(&(print, role)) {
            return Ok(());
        }
        // Counted as requests, not as queries sent, so what is cut does not depend on what
        // other domains put in the cache.
        if task.requested.len() >= budget::QUESTIONS {
            task.questions_cut += 1;
            return Err(key);
        }
        task.requested.push((print, role));
        task.outstanding += 1;
        task.walked += usize::from(role == Role::Walk);
        let auth = &mut self.stats.auth;
        let count = |n: &mut u64| {
            if role == Role::Auth {
                *n += 1;
            }
        };
        // The same question asked earlier in another role: its answer is already here.
        if let Some(i) = task.answered.iter().position(|p| *p == print) {
            count(&mut auth.hits);
            let answer = task.answers[i].1.clone();
            self.deliveries.push_back((slot, key, print, role, answer));
            return Ok(());
        }
        let keep = shared(&key, &task.input.domain);
        match self.lookups.ask(&key, print, (slot, role), keep) {
            Ask::Ready(answer) => {
                count(&mut auth.hits);
                self.deliveries.push_back((slot, key, print, role, answer))
            }
            Ask::Joined => count(&mut auth.joined),
            Ask::Send(tag) => {
                count(&mut auth.sent);
                self.queries
                    .push_back(Question::new(key.query_name(), key.qtype(), tag))
            }
        }
        Ok(())
    }

    /// Delivers answers (and what follows from them) until none is left.
    fn run_deliveries(&mut self) {
        while let Some((slot, key, print, role, answer)) = self.deliveries.pop_front() {
            let Some(task) = self.tasks[slot].as_mut() else {
                continue;
            };
            if !task.answered.contains(&print) {
                task.answered.push(print);
                task.answers.push((key.clone(), answer.clone()));
            }
            let walked = task.walked;
            if role == Role::Auth
                && let Some(auth) = task.auth.as_mut()
            {
                let spf = answer.spf.clone();
                auth.learn(key.evaluator_name(), key.qtype(), answer.to_mailauth(), spf);
                self.drive_auth(slot);
            }
            for (k, r) in follow_ups(&key, role, &answer, walked, self.checks) {
                let _ = self.request(slot, k, r);
            }
            let Some(task) = self.tasks[slot].as_mut() else {
                continue;
            };
            task.outstanding -= 1;
            if task.outstanding == 0 {
                self.mx_done(slot);
            }
            self.finish_if_done(slot);
        }
    }

    /// Runs the domain's evaluators and asks what they wait for.
    fn drive_auth(&mut self, slot: usize) {
        loop {
            let Some(task) = self.tasks[slot].as_mut() else {
                return;
            };
            let Some(auth) = task.auth.as_mut() else {
                return;
            };
            let mut again = false;
            let mut keys = Vec::new();
            for need in auth.drive() {
                // The answer arrives under the key's name: a need named otherwise (not
                // normalised, or a reverse name of no address) could wait for ever.
                let key =
                    Key::of(&need.name, need.qtype).filter(|k| k.evaluator_name() == need.name);
                let found = match &key {
                    // Asked in another role already: the answer is here.
                    Some(key) => {
                        let print = fingerprint(key);
                        (task.answered.iter().position(|p| *p == print))
                            .map(|i| &task.answers[i].1)
                            .map(|a| (a.to_mailauth(), a.spf.clone()))
                    }
                    // A question the pipeline cannot send fails at once.
                    None => Some((mailauth::Answer::Failed, None)),
                };
                match (found, key) {
                    (Some((answer, spf)), _) => {
                        auth.learn(need.name, need.qtype, answer, spf);
                        again = true;
                    }
                    (None, Some(key)) => keys.push(key),
                    (None, None) => unreachable!("a need without a key is answered above"),
                }
            }
            for key in keys {
                if let Err(key) = self.request(slot, key, Role::Auth)
                    && let Some(auth) = self.tasks[slot].as_mut().and_then(|t| t.auth.as_mut())
                {
                    // Past the budget: the evaluator reads a failure and goes on.
                    auth.learn(
                        key.evaluator_name(),
                        key.qtype(),
                        mailauth::Answer::Failed,
                        None,
                    );
                    again = true;
                }
            }
            if !again {
                return;
            }
        }
    }

    /// The domain's other lookups are done: its MX addresses get their SPF checks.
    fn mx_done(&mut self, slot: usize) {
        let Some(task) = self.tasks[slot].as_mut() else {
            return;
        };
        let Some(auth) = task.auth.as_mut() else {
            return;
        };
        let addresses: Vec<IpAddr> = task
            .requested
            .iter()
            .filter(|(_, r)| *r == Role::Host)
            .filter_map(|(print, _)| task.answered.iter().position(|p| p == print))
            .flat_map(|i| task.answers[i].1.addresses())
            .collect();
        if auth.start_mx(addresses) {
            self.drive_auth(slot);
        }
    }

    /// Hands the domain on once nothing is outstanding.
    fn finish_if_done(&mut self, slot: usize) {
        if self.tasks[slot].as_ref().is_none_or(|t| t.outstanding > 0) {
            return;
        }
        let task = self.tasks[slot].take().expect("checked above");
        debug_assert!(task.auth.as_ref().is_none_or(|a| !a.busy()));
        self.free.push(slot);
        self.active -= 1;
        self.stats.finished += 1;
        self.finished.push_back(Finished {
            input: task.input,
            answers: task.answers,
            posture: task.auth.map(|a| Box::new(a.posture)),
            questions_cut: task.questions_cut,
        });
    }
}

#[cfg(test)]
mod tests;
