//! SPF and DMARC records, macro strings and the SPF walks under hostile text: nothing panics
//! and every walk ends.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mxscan::fuzzing::mail_auth(data);
});
