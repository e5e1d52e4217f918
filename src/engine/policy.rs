//! The retry policy: pure functions of (attempt, clock, error class), so every rule is tested
//! with a fake clock.

use std::time::{Duration, Instant};

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No valid reply within the attempt's timeout.
    Timeout,
    /// The resolver answered SERVFAIL.
    ServFail,
    /// The resolver answered REFUSED.
    Refused,
    /// The transport failed (a TCP connection broke, a send was refused).
    Transport,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again, on another resolver, not before this instant.
    RetryAt(Instant),
    /// Send nothing more, but take a late answer to an earlier attempt until this instant;
    /// then give up.
    WaitUntil(Instant),
    /// Stop: attempts or the overall deadline are used up.
    GiveUp,
}

/// Retry and timeout settings. The defaults suit a loopback or LAN resolver farm and are
/// overridable from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per query, the first one included.
    pub max_attempts: u32,
    /// Overall time a query may take, from submission to its last answer.
    pub deadline: Duration,
    /// Timeout of an attempt before the resolver has an RTT estimate.
    pub initial_timeout: Duration,
    /// Bounds of an attempt's timeout.
    pub min_timeout: Duration,
    pub max_timeout: Duration,
    /// Delay before retrying after SERVFAIL or REFUSED, doubled per attempt: never at once, so a
    /// rate-limited resolver is not hammered (massdns retries them immediately).
    pub error_backoff: Duration,
    /// Resolvers a question is asked of while they answer SERVFAIL or REFUSED, each at most
    /// once (`--servfail-tries`): a recursive resolver's SERVFAIL is its answer, given after
    /// it tried every authority, and it caches it. Applies to resolvers whose SERVFAILs other
    /// resolvers have confirmed (`Resolver::servfail_trusted`); one whose SERVFAILs its peers
    /// contradict is its own trouble, retried as before.
    pub servfail_tries: u32,
    /// Odds, at the resolvers' loss by chance (`Resolver::chance_loss`), that every timed-out
    /// attempt of a question was lost by chance, below which no more attempts go out: what is
    /// left is a question the resolvers do not answer while they answer others (a dead
    /// authority).
    pub give_up_odds: f64,
    /// Such a question still waits this long from its start for a late answer (dig's and
    /// dnsperf's 5 s timeout).
    pub patience: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            // Ten attempts within 15 s: at 20 % random loss, one lookup in ten million ends
            // unanswered (six attempts left one in 16 000).
            max_attempts: 10,
            deadline: Duration::from_secs(15),
            initial_timeout: Duration::from_millis(800),
            // Below ~250 ms, queueing bursts on a busy farm fire spurious retries (1.5 % of
            // lookups at 50 ms in `mxscan resolve` against the sim).
            min_timeout: Duration::from_millis(250),
            max_timeout: Duration::from_secs(4),
            error_backoff: Duration::from_millis(50),
            servfail_tries: 3,
            // One lookup in a million given up while its answers were merely lost.
            give_up_odds: 1e-6,
            patience: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// After `attempts` attempts of a query started at `started`, the last one failing with
    /// `failure` at `now`: retry when, or give up. NXDOMAIN and NODATA never come here: they
    /// are answers.
    pub fn after_failure(
        &self,
        failure: Failure,
        attempts: u32,
        started: Instant,
        now: Instant,
    ) -> Next {
        let delay = match failure {
            // The timeout already waited; a broken transport has nothing to wait for.
            Failure::Timeout | Failure::Transport => Duration::ZERO,
            Failure::ServFail | Failure::Refused => {
                let doublings = attempts.saturating_sub(1).min(16);
                (self.error_backoff * (1 << doublings)).min(self.max_timeout)
            }
        };
        self.retry_at(attempts, started, now + delay)
    }

    /// After a SERVFAIL or REFUSED that is not final: at once when a resolver not yet asked
    /// can take the question (`fresh`; another resolver's answer does not concern it), after
    /// [`RetryPolicy::after_failure`]'s backoff when only resolvers already asked remain.
    pub fn after_refusal(
        &self,
        failure: Failure,
        attempts: u32,
        started: Instant,
        now: Instant,
        fresh: bool,
    ) -> Next {
        if fresh {
            self.retry_at(attempts, started, now)
        } else {
            self.after_failure(failure, attempts, started, now)
        }
    }

    /// Retry at `at`, unless the attempts or the deadline are used up.
    fn retry_at(&self, attempts: u32, started: Instant, at: Instant) -> Next {
        if attempts >= self.max_attempts || at >= started + self.deadline {
            Next::GiveUp
        } else {
            Next::RetryAt(at)
        }
    }

    /// After a charged timeout, when the odds that every timed-out attempt of the question was
    /// lost by chance are `lost_odds` (the product of [`loss_odds`] over those attempts): retry,
    /// wait for a late answer, or give up.
    pub fn after_timeout(
        &self,
        attempts: u32,
        lost_odds: f64,
        started: Instant,
        now: Instant,
    ) -> Next {
        // The tolerance lets three attempts at the 1 % floor reach one in a million.
        if lost_odds <= self.give_up_odds * (1.0 + 1e-9) {
            let until = started + self.patience.min(self.deadline);
            return if until > now {
                Next::WaitUntil(until)
            } else {
                Next::GiveUp
            };
        }
        self.after_failure(Failure::Timeout, attempts, started, now)
    }

    /// The timeout of attempt number `attempt` (1-based) sent at `now` to a resolver whose
    /// retransmission timeout is `rto`: grown by half per earlier attempt, clamped, and never past
    /// the query's deadline.
    pub fn attempt_timeout(
        &self,
        rto: Option<Duration>,
        attempt: u32,
        started: Instant,
        now: Instant,
    ) -> Duration {
        let base = rto.unwrap_or(self.initial_timeout);
        let growths = attempt.saturating_sub(1).min(16) as i32;
        // Grows by half per attempt (a lost datagram is rarely congestion, and doubling would
        // leave room for only six attempts in the deadline); the floor applies first, so that a
        // loopback resolver's tiny RTT still backs off 250, 375, 563 ms …
        let backed_off = base
            .max(self.min_timeout)
            .mul_f64(1.5f64.powi(growths))
            .min(self.max_timeout);
        let left = (started + self.deadline).saturating_duration_since(now);
        backed_off.min(left)
    }
}

/// The odds that one attempt to a resolver losing `loss_rate` of the first attempts of questions
/// it answers was lost by chance: one and a half times the measured rate (a margin for its
/// noise), at least 1 %.
pub fn loss_odds(loss_rate: f64) -> f64 {
    (1.5 * loss_rate).clamp(0.01, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn timeouts_retry_at_once_servfail_after_a_growing_delay() {
        let p = RetryPolicy::default();
        let t0 = Instant::now();
        let now = t0 + ms(900);
        assert_eq!(
            p.after_failure(Failure::Timeout, 1, t0, now),
            Next::RetryAt(now)
        );
        assert_eq!(
            p.after_failure(Failure::Transport, 2, t0, now),
            Next::RetryAt(now)
        );
        assert_eq!(
            p.after_failure(Failure::ServFail, 1, t0, now),
            Next::RetryAt(now + ms(50))
        );
        assert_eq!(
            p.after_failure(Failure::Refused, 2, t0, now),
            Next::RetryAt(now + ms(100))
        );
        assert_eq!(
            p.after_failure(Failure::ServFail, 4, t0, now),
            Next::RetryAt(now + ms(400))
        );
    }

    #[test]
    fn a_refusal_goes_at_once_to_a_resolver_not_yet_asked() {
        let p = RetryPolicy::default();
        let t0 = Instant::now();
        let now = t0 + ms(5);
        assert_eq!(
            p.after_refusal(Failure::ServFail, 1, t0, now, true),
            Next::RetryAt(now)
        );
        assert_eq!(
            p.after_refusal(Failure::ServFail, 2, t0, now, false),
            Next::RetryAt(now + ms(100))
        );
        assert_eq!(
            p.after_refusal(Failure::Refused, 10, t0, now, true),
            Next::GiveUp
        );
    }

    #[test]
    fn gives_up_after_max_attempts_or_past_the_deadline() {
        let p = RetryPolicy::default();
        let t0 = Instant::now();
        assert_eq!(
            p.after_failure(Failure::Timeout, 10, t0, t0 + ms(10)),
            Next::GiveUp
        );
        assert_eq!(
            p.after_failure(Failure::Timeout, 2, t0, t0 + ms(15_000)),
            Next::GiveUp
        );
        // A SERVFAIL backoff that would land past the deadline gives up too.
        assert_eq!(
            p.after_failure(Failure::ServFail, 5, t0, t0 + ms(14_500)),
            Next::GiveUp
        );
    }

    #[test]
    fn a_question_lost_more_often_than_loss_explains_waits_then_ends() {
        let p = RetryPolicy::default();
        let t0 = Instant::now();
        // A clean path (measured loss under 1 %): three timed-out attempts are enough, then
        // the question waits for a late answer until 5 s after its start.
        let clean = loss_odds(0.001);
        assert_eq!(clean, 0.01);
        let now = t0 + ms(1200);
        assert_eq!(
            p.after_timeout(2, clean * clean, t0, now),
            Next::RetryAt(now)
        );
        assert_eq!(
            p.after_timeout(3, clean.powi(3), t0, now),
            Next::WaitUntil(t0 + ms(5000))
        );
        assert_eq!(
            p.after_timeout(3, clean.powi(3), t0, t0 + ms(6000)),
            Next::GiveUp
        );
        // At 20 % loss the margin asks for ten attempts (the cap): loss alone almost never
        // ends a question.
        let lossy = loss_odds(0.2);
        assert_eq!(
            p.after_timeout(9, lossy.powi(9), t0, now),
            Next::RetryAt(now)
        );
        assert_eq!(p.after_timeout(10, lossy.powi(10), t0, now), Next::GiveUp);
    }

    #[test]
    fn attempt_timeouts_back_off_and_respect_bounds_and_deadline() {
        let p = RetryPolicy::default();
        let t0 = Instant::now();
        assert_eq!(p.attempt_timeout(None, 1, t0, t0), ms(800));
        assert_eq!(p.attempt_timeout(Some(ms(300)), 1, t0, t0), ms(300));
        assert_eq!(
            p.attempt_timeout(Some(ms(300)), 3, t0, t0),
            ms(675),
            "× 1.5²"
        );
        assert_eq!(p.attempt_timeout(Some(ms(1)), 1, t0, t0), ms(250), "floor");
        assert_eq!(
            p.attempt_timeout(Some(ms(3000)), 3, t0, t0),
            ms(4000),
            "ceiling"
        );
        assert_eq!(
            p.attempt_timeout(Some(ms(500)), 1, t0, t0 + ms(14_800)),
            ms(200),
            "deadline"
        );
    }
}
