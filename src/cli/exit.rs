//! Exit statuses: what a script can tell from `$?` (README "Exit statuses").

/// The scan completed (or the command did its job).
pub const OK: i32 = 0;
/// A usage error (clap's own) or an error that stopped the run; the message says whether the
/// scan can be resumed.
pub const ERROR: i32 = 2;
/// The scan completed, but more than `--max-unanswered` percent of its domains got no answer
/// from any resolver (timeouts); `--retry-indeterminate` asks them again.
pub const UNANSWERED: i32 = 3;
/// Nothing could be scanned: the input holds no domain, every input line was rejected, no
/// resolver could be used (checked before the run), or none ever answered.
pub const NOTHING_SCANNED: i32 = 4;
/// Every resolver was down for `--give-up` seconds: stopped as by SIGINT, resumable.
pub const GAVE_UP: i32 = 5;
/// Stopped by SIGINT or SIGTERM, resumable.
pub const INTERRUPTED: i32 = 130;
