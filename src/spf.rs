//! One SPF evaluation over the engine (`mxscan spf`): `check_host()` is replayed after each
//! answer until it needs no more (see `mailauth::spf`).

use std::io;

use crate::engine::{Engine, Outcome, Question};
use crate::io::driver::{self, Workload};
use crate::mailauth::spf::{self, Answer, Evaluation, Known, Need, Request};
use crate::pipeline::lookup::{self, Key};

/// What an outcome says to the evaluators, decoded as the scan's pipeline decodes it (records
/// of the asked type at the end of any CNAME chain); a failure for a question the pipeline
/// cannot ask.
pub fn answer_of(outcome: &Outcome) -> Answer {
    match Key::of(outcome.name.trim_end_matches('.'), outcome.qtype) {
        Some(key) => lookup::Answer::from_outcome(&key, outcome).to_mailauth(),
        None => Answer::Failed,
    }
}

/// The workload: one question at a time, the evaluation replayed after each answer.
struct Spf<'a> {
    request: &'a Request<'a>,
    known: Known,
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
                .insert(need.name, need.qtype, answer_of(&outcome));
            self.advance();
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.stopped = true;
    }
}

/// Evaluates `request` through the resolvers of `asking`.
pub fn run(asking: &driver::Settings, request: &Request) -> anyhow::Result<Evaluation> {
    let (mut engine, mut sockets, config): (Engine, _, _) = asking.open(None)?;
    let mut workload = Spf {
        request,
        known: Known::default(),
        pending: None,
        done: None,
        stopped: false,
    };
    workload.advance();
    driver::run_workload(&mut engine, &mut sockets, &config, &mut workload)?;
    workload.done.ok_or_else(|| {
        anyhow::anyhow!(
            "stopped before the evaluation ended (a signal, or every resolver down for --give-up)"
        )
    })
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::{TLSA, TXT};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    use super::*;
    use crate::engine::Status;
    use crate::mailauth::Rdata;

    fn outcome(qtype: RecordType, status: Status, data: Vec<RData>) -> Outcome {
        let name = Name::from_ascii("x.example.com.").unwrap();
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(name.clone(), qtype));
        for d in data {
            m.add_answer(Record::from_rdata(name.clone(), 300, d));
        }
        let question = Question::new("x.example.com.", qtype, 0);
        crate::fuzzing::replied(&question, status, m.to_vec().ok())
    }

    #[test]
    fn outcomes_become_answers() {
        let txt = RData::TXT(TXT::from_bytes(vec![b"v=spf1 ", b"-all\xff"]));
        let got = answer_of(&outcome(RecordType::TXT, Status::NoError, vec![txt]));
        assert_eq!(
            got,
            Answer::Records(vec![Rdata::Txt(vec![
                b"v=spf1 ".to_vec(),
                b"-all\xff".to_vec()
            ])])
        );
        let tlsa = RData::TLSA(TLSA::new(3.into(), 1.into(), 1.into(), vec![7; 32]));
        let Answer::Records(records) =
            answer_of(&outcome(RecordType::TLSA, Status::NoError, vec![tlsa]))
        else {
            panic!("records");
        };
        let [Rdata::Tlsa(t)] = records.as_slice() else {
            panic!("{records:?}");
        };
        assert!(t.check().is_ok() && t.usable_for_smtp());
        assert_eq!(
            answer_of(&outcome(RecordType::A, Status::NoData, vec![])),
            Answer::NoData
        );
        assert_eq!(
            answer_of(&outcome(RecordType::A, Status::NxDomain, vec![])),
            Answer::NxDomain
        );
        assert_eq!(
            answer_of(&outcome(RecordType::A, Status::Timeout, vec![])),
            Answer::Failed
        );
        assert_eq!(
            answer_of(&outcome(RecordType::A, Status::ServFail, vec![])),
            Answer::Failed
        );
    }
}
