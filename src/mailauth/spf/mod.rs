//! SPF (RFC 7208): record syntax ([`record`]), macro expansion ([`macros`]) and `check_host()`
//! ([`eval`]) as pure functions of the DNS answers known so far.
//!
//! The evaluator is sans-IO by replay: [`eval::check_host`] runs from the start over a
//! [`Dns`] of answers already known and either finishes or names the one question it needs
//! next ([`Need`]). The caller asks it (through the scan's shared lookups, so a provider's
//! `include:` is asked once for millions of domains), adds the answer and runs it again. An
//! evaluation asks at most ~30 questions (10 counted lookups, 10 names per `mx`), and a run
//! over known answers costs microseconds, so the replays cost less than keeping a suspended
//! recursion of includes and redirects.

pub mod audit;
pub mod eval;
pub mod macros;
pub mod record;

pub use super::{Answer, Dns, Known, Need, Rdata};
pub use eval::{Evaluation, Request, check_host};

/// The result of `check_host()` (RFC 7208 §2.6), named as RFC 8601 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}
