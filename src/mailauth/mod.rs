//! Mail-authentication records (issue #13, in progress): SPF (RFC 7208) so far, as sans-IO
//! code that the pipeline will drive through its shared lookups. Not yet wired into the scan.

pub mod spf;
