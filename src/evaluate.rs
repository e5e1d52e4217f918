//! One SPF evaluation over the engine (`mxscan spf`): `check_host()` is replayed after each
//! answer until it needs no more (see `mailauth::spf`).

use std::collections::HashMap;
use std::io;

use hickory_proto::op::Message;
use hickory_proto::rr::{RData, RecordType};

use crate::engine::{Engine, Outcome, Question, Status};
use crate::io::driver::{self, Workload};
use crate::mailauth::spf::{self, Answer, Evaluation, Need, Rdata, Request};
use crate::pipeline::lookup::name_text;

/// What an outcome says, as the SPF evaluator reads it: the records of the asked type (the
/// resolver followed any CNAME), NODATA, NXDOMAIN, or a failure.
pub fn answer_of(outcome: &Outcome) -> Answer {
    match outcome.status {
        Status::NoError => {}
        Status::NoData => return Answer::NoData,
        Status::NxDomain => return Answer::NxDomain,
        _ => return Answer::Failed,
    }
    let Some(message) = outcome
        .reply
        .as_deref()
        .and_then(|b| Message::from_vec(b).ok())
    else {
        return Answer::Failed;
    };
    let records: Vec<Rdata> = message
        .answers
        .iter()
        .filter(|r| r.record_type() == outcome.qtype)
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(Rdata::Txt(t.txt_data.iter().map(|s| s.to_vec()).collect())),
            RData::A(a) => Some(Rdata::A(a.0)),
            RData::AAAA(a) => Some(Rdata::Aaaa(a.0)),
            RData::MX(mx) => Some(Rdata::Mx(name_text(&mx.exchange))),
            RData::PTR(p) => Some(Rdata::Ptr(name_text(&p.0))),
            _ => None,
        })
        .collect();
    if records.is_empty() {
        Answer::NoData
    } else {
        Answer::Records(records)
    }
}

/// The workload: one question at a time, the evaluation replayed after each answer.
struct Spf<'a> {
    request: &'a Request<'a>,
    known: HashMap<(String, RecordType), Answer>,
    /// The question to send next, or sent and waited for.
    pending: Option<(Need, bool)>,
    done: Option<Evaluation>,
    stopped: bool,
}

impl Spf<'_> {
    fn advance(&mut self) {
        match spf::check_host(self.request, &self.known) {
            Ok(evaluation) => self.done = Some(evaluation),
            Err(need) => self.pending = Some((need, false)),
        }
    }
}

impl Workload for Spf<'_> {
    fn next_query(&mut self) -> Option<Question> {
        match &mut self.pending {
            Some((need, sent @ false)) => {
                *sent = true;
                Some(Question::new(format!("{}.", need.name), need.qtype, 0))
            }
            _ => None,
        }
    }

    fn is_finished(&self) -> bool {
        self.done.is_some() || self.stopped
    }

    fn on_outcome(&mut self, outcome: Outcome) -> io::Result<()> {
        if let Some((need, _)) = self.pending.take() {
            self.known
                .insert((need.name, need.qtype), answer_of(&outcome));
            self.advance();
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.stopped = true;
    }
}

/// Evaluates `request` through the resolvers of `asking`.
pub fn spf(asking: &driver::Settings, request: &Request) -> anyhow::Result<Evaluation> {
    let (mut engine, sockets, config): (Engine, _, _) = asking.open(None)?;
    let mut workload = Spf {
        request,
        known: HashMap::new(),
        pending: None,
        done: None,
        stopped: false,
    };
    workload.advance();
    driver::run_workload(&mut engine, &sockets, &config, &mut workload)?;
    workload.done.ok_or_else(|| {
        anyhow::anyhow!(
            "stopped before the evaluation ended (a signal, or every resolver down for --give-up)"
        )
    })
}
