//! Input: name lists for `resolve` and `bench`, and the normalisation of domain-list lines for
//! the scan (the streaming reader with its rejects file lands with the scan, issue #4).

pub mod domain;
pub mod names;
