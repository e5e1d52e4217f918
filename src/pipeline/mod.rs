//! The per-domain lookup pipeline MX → A/AAAA → PTR → FCrDNS with shared host and IP lookups.
//! Lands with the scan issue (#4).
