//! The reply path under hostile input: whatever a peer sends, over UDP or TCP, the engine and
//! the row decoder never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mxscan::fuzzing::reply_path(data);
});
