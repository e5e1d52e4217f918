//! Input: name lists for `resolve` and `bench`; for the scan, the domain list (normalised,
//! de-duplicated, malformed lines rejected) and the declared sender IPs.

pub mod domain;
pub mod list;
pub mod names;
pub mod senders;
pub mod shard;
