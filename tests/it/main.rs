//! mxscan's integration tests, one binary (as ripgrep does): the library and its ~240
//! dependencies are linked once, not once per file. Each module is one area; `common` holds
//! the helpers they share (a DNS client, a load generator, the sim and the real farm).

mod common;

mod cookbook;
mod deploy;
mod engine_vs_sim;
mod exit_and_retry;
mod fault_matrix;
mod first_hour;
mod hostile;
mod report;
mod resolve_cli;
mod resume_cli;
mod sample_world;
mod scan_cli;
mod shard_merge;
mod sim_faults;
mod sim_matches_farm;
mod spf_cli;
