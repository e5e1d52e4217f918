//! The rayon stage turning finished domains into what users read: the mail route state now;
//! findings, sender checks and scores land with the findings issue (#5), specified in
//! `../shared/FINDINGS.md`. Everything here is a pure function of a [`DomainResult`].

use crate::engine::Status;
use crate::pipeline::result::DomainResult;

/// The state of a domain's mail route (one per domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Route {
    /// At least one exchange other than the root.
    HasMx,
    /// Only root targets: the domain declares it receives no mail (RFC 7505).
    NullMx,
    /// No MX, but the domain has addresses, which receive its mail (RFC 5321 §5.1).
    ImplicitMx,
    /// No MX and no address, or a CNAME loop.
    NoMailRoute,
    /// The domain does not exist (or its CNAME chain ends in NXDOMAIN).
    Nxdomain,
    /// The MX lookup failed (SERVFAIL, timeout, REFUSED): nothing is known.
    Indeterminate,
}

impl Route {
    pub const ALL: [Route; 6] = [
        Route::HasMx,
        Route::NullMx,
        Route::ImplicitMx,
        Route::NoMailRoute,
        Route::Nxdomain,
        Route::Indeterminate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::HasMx => "HAS_MX",
            Route::NullMx => "NULL_MX",
            Route::ImplicitMx => "IMPLICIT_MX",
            Route::NoMailRoute => "NO_MAIL_ROUTE",
            Route::Nxdomain => "NXDOMAIN",
            Route::Indeterminate => "INDETERMINATE",
        }
    }
}

/// The route state of a finished domain.
pub fn route(r: &DomainResult) -> Route {
    match r.mx.status {
        Status::NxDomain => Route::Nxdomain,
        Status::NoError if r.exchanges.iter().all(|e| e.name == ".") => Route::NullMx,
        Status::NoError => Route::HasMx,
        Status::NoData => {
            let Some(host) = &r.implicit else {
                return Route::Indeterminate;
            };
            if !host.addresses.is_empty() {
                Route::ImplicitMx
            } else if [&host.a, &host.aaaa]
                .into_iter()
                .any(|a| a.as_ref().is_none_or(|a| a.is_temporary_failure()))
            {
                Route::Indeterminate
            } else {
                Route::NoMailRoute
            }
        }
        // A resolver hides a CNAME loop behind SERVFAIL; the walk shows it.
        Status::ServFail
            if r.walk.last().is_some_and(|last| {
                last == &r.domain || r.walk[..r.walk.len() - 1].contains(last)
            }) =>
        {
            Route::NoMailRoute
        }
        _ => Route::Indeterminate,
    }
}

/// A finished domain with what the analysis made of it.
#[derive(Debug, Clone)]
pub struct DomainReport {
    pub result: DomainResult,
    pub route: Route,
}

/// Analyses one finished domain.
pub fn analyze(result: DomainResult) -> DomainReport {
    DomainReport {
        route: route(&result),
        result,
    }
}
