//! The output directory kept crash-safe: the manifest that names the scan, the journal that
//! vouches for the tables' bytes, the checkpoint that writes them batch by batch, and the
//! `--retry-indeterminate` pass that replaces rows all at once.

pub mod checkpoint;
pub mod journal;
pub mod manifest;
pub mod retry;
pub mod tracked;
