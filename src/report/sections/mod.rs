//! The page's sections, one file each, in the order the page shows them.

mod findings;
mod mailauth;
mod providers;
mod reproduce;
mod resolvers;
mod scan;
mod scores;

pub(super) use findings::{codes_section, findings_section};
pub(super) use mailauth::mail_auth_section;
pub(super) use providers::providers_section;
pub(super) use reproduce::reproduce_section;
pub(super) use resolvers::resolvers_section;
pub(super) use scan::{key_results, scan_section, status, timeline};
pub(super) use scores::scores_section;
