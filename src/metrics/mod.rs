//! What a run measures and totals: the progress counters and timeline sampled on the I/O
//! thread, latency per resolver, the estimate of distinct questions, the tally of finished
//! domains, and the summary written from them.

pub mod distinct;
pub mod latency;
pub mod progress;
pub mod summary;
pub mod tally;
pub mod timeline;
