//! Input: name lists for `resolve` and `bench`; the scan's domain lists (normalised, with
//! malformed lines sent to a rejects file) land with the scan issue (#4).

pub mod names;
