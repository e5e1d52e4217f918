//! Provider attribution: who runs a domain's mail. The most-preferred exchanges are matched
//! against a suffix table (`data/providers.csv`: `suffix,provider,source`); an exchange no `mx`
//! suffix matches is attributed by the PTR names of its addresses (`ptr` suffixes, e.g.
//! `1e100.net` → Google); an exchange neither names gets its registrable domain (Public Suffix
//! List) as provider: the domain's own (`self`, self-hosted) or another (`mx-domain`, a provider
//! the table does not know). A provider is never invented, and never hidden as "self-hosted".
//! Equal-preference exchanges of different providers share the credit (Liu et al., IMC 2021).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::analysis::findings::registrable;
use crate::pipeline::is_ip_literal;
use crate::pipeline::result::{DomainResult, Host};

/// Where a domain's provider name comes from (`provider_source` in the tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The suffix table, by the exchange's name or its addresses' PTR names.
    Table,
    /// The exchange's registrable domain, another organisation's than the domain's.
    MxDomain,
    /// The exchange is under the domain's own registrable domain: self-hosted.
    Own,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Table, Source::MxDomain, Source::Own];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Table => "table",
            Source::MxDomain => "mx-domain",
            Source::Own => "self",
        }
    }
}

/// One provider's credit for a domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Credit {
    /// Its share of the domain (the shares of a domain sum to 1).
    pub share: f64,
    pub source: Source,
}

/// The bundled table.
pub const BUNDLED: &str = include_str!("../../data/providers.csv");

/// Suffix tables by source: suffix → provider.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    mx: HashMap<String, String>,
    ptr: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvidersError {
    #[error("cannot read the provider table {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}:{1}: expected `suffix,provider,mx|ptr`")]
    Row(String, usize),
}

/// `name` and each of its parent names, longest first (`a.b.c`, `b.c`, `c`).
fn suffixes(name: &str) -> impl Iterator<Item = &str> {
    std::iter::once(name).chain(name.match_indices('.').map(move |(i, _)| &name[i + 1..]))
}

impl Providers {
    pub fn parse(text: &str, origin: &str) -> Result<Providers, ProvidersError> {
        let mut p = Providers::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || (n == 0 && line.starts_with("suffix,")) {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [suffix, provider, source] = fields[..] else {
                return Err(ProvidersError::Row(origin.into(), n + 1));
            };
            let entry = (
                suffix.trim_end_matches('.').to_ascii_lowercase(),
                provider.to_string(),
            );
            let table = match source {
                "mx" => &mut p.mx,
                "ptr" => &mut p.ptr,
                _ => return Err(ProvidersError::Row(origin.into(), n + 1)),
            };
            table.entry(entry.0).or_insert(entry.1);
        }
        Ok(p)
    }

    pub fn bundled() -> Providers {
        Providers::parse(BUNDLED, "data/providers.csv").expect("the bundled table parses")
    }

    pub fn load(path: &Path) -> Result<Providers, ProvidersError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProvidersError::Read(path.display().to_string(), e))?;
        Providers::parse(&text, &path.display().to_string())
    }

    /// The provider of the longest suffix of `name` in `table` (label-aligned, so
    /// `mail.protection.outlook.com` wins over `outlook.com` and `notgoogle.com` is not Google).
    fn find<'a>(table: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
        suffixes(name)
            .find_map(|s| table.get(s))
            .map(String::as_str)
    }

    /// The provider of one of `domain`'s exchanges: by the table (its name, else its addresses'
    /// PTR names), else its registrable domain; `None` for an IP literal.
    pub fn of_host(
        &self,
        domain: &str,
        name: &str,
        host: Option<&Host>,
    ) -> Option<(String, Source)> {
        let by_table = Self::find(&self.mx, name).or_else(|| {
            host?
                .addresses
                .iter()
                .flat_map(|a| &a.ptr_names)
                .find_map(|n| Self::find(&self.ptr, n))
        });
        if let Some(p) = by_table {
            return Some((p.to_string(), Source::Table));
        }
        if is_ip_literal(name) {
            return None;
        }
        let own = registrable(name);
        let source = if own == registrable(domain) {
            Source::Own
        } else {
            Source::MxDomain
        };
        Some((own, source))
    }

    /// Credit per provider for a domain (shares summing to 1), from its most-preferred
    /// exchanges; empty when it has none (or only IP literals).
    pub fn attribute(&self, r: &DomainResult) -> BTreeMap<String, Credit> {
        let hosts: Vec<_> = r.exchanges.iter().filter(|e| e.name != ".").collect();
        let Some(best) = hosts.iter().map(|e| e.preference).min() else {
            return BTreeMap::new();
        };
        let mut names: Vec<(&str, Option<&Host>)> = hosts
            .iter()
            .filter(|e| e.preference == best)
            .map(|e| (e.name.as_str(), e.host.as_ref()))
            .collect();
        names.sort_by_key(|(n, _)| *n);
        names.dedup_by_key(|(n, _)| *n);
        let providers: Vec<Option<(String, Source)>> = names
            .iter()
            .map(|(n, h)| self.of_host(&r.domain, n, *h))
            .collect();
        let share = 1.0 / providers.len() as f64;
        let mut credit: BTreeMap<String, Credit> = BTreeMap::new();
        for (p, source) in providers.into_iter().flatten() {
            credit
                .entry(p)
                .and_modify(|c| c.share += share)
                .or_insert(Credit { share, source });
        }
        credit
    }
}

/// The provider column: `Name` for one, `A:0.5;B:0.5` for shared credit.
pub fn label(credit: &BTreeMap<String, Credit>) -> String {
    if credit.len() == 1 && credit.values().all(|c| (c.share - 1.0).abs() < 1e-9) {
        return credit.keys().next().cloned().unwrap_or_default();
    }
    credit
        .iter()
        .map(|(p, c)| format!("{p}:{}", (c.share * 1000.0).round() / 1000.0))
        .collect::<Vec<_>>()
        .join(";")
}

/// The `provider_source` column: each provider's source, in the order of [`label`].
pub fn sources(credit: &BTreeMap<String, Credit>) -> String {
    let all: Vec<&str> = credit.values().map(|c| c.source.as_str()).collect();
    all.join(";")
}

/// The (provider, share, source) of a row's `provider` and `provider_source` columns, as
/// [`label`] and [`sources`] wrote them.
pub fn parse_columns<'a>(label: &'a str, sources: &'a str) -> Vec<(&'a str, f64, Source)> {
    if label.is_empty() {
        return Vec::new();
    }
    let parts: Vec<&str> = label.split(';').collect();
    let whole = parts.len() == 1;
    // A table older than the column has none: its providers count as not the domain's own.
    let mut sources = sources.split(';');
    parts
        .into_iter()
        .map(|part| {
            let source = sources.next().unwrap_or("");
            let (name, share) = match part.rsplit_once(':') {
                Some((n, s)) if !whole => (n, s.parse().unwrap_or(0.0)),
                _ => (part, 1.0),
            };
            let source = Source::ALL
                .into_iter()
                .find(|s| s.as_str() == source)
                .unwrap_or(Source::MxDomain);
            (name, share, source)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_match_on_label_boundaries_longest_first() {
        let p = Providers::parse(
            "suffix,provider,source\noutlook.com,MsPtr,ptr\nmail.protection.outlook.com,Microsoft,mx\ngoogle.com,Google,mx\n1e100.net,Google,ptr\n",
            "t",
        )
        .unwrap();
        let of = |name| p.of_host("corp.example.org", name, None);
        assert_eq!(
            of("corp-com.mail.protection.outlook.com"),
            Some(("Microsoft".into(), Source::Table))
        );
        assert_eq!(
            of("aspmx.l.google.com"),
            Some(("Google".into(), Source::Table))
        );
        // Not in the table: the registrable domain, never an invented or hidden provider.
        assert_eq!(
            of("mx1.notgoogle.com"),
            Some(("notgoogle.com".into(), Source::MxDomain))
        );
        assert_eq!(
            of("mail.example.org"),
            Some(("example.org".into(), Source::Own))
        );
        assert_eq!(
            of("mx.hoster.co.uk"),
            Some(("hoster.co.uk".into(), Source::MxDomain))
        );
        assert_eq!(of("192.0.2.1"), None);
        assert!(Providers::parse("a,b\n", "t").is_err());
        assert!(Providers::bundled().mx.len() > 10);
    }

    #[test]
    fn the_columns_read_back_as_written() {
        let mut credit = BTreeMap::new();
        credit.insert(
            "Big".to_string(),
            Credit {
                share: 0.5,
                source: Source::Table,
            },
        );
        credit.insert(
            "a.example".to_string(),
            Credit {
                share: 0.5,
                source: Source::Own,
            },
        );
        let (l, s) = (label(&credit), sources(&credit));
        assert_eq!(
            (l.as_str(), s.as_str()),
            ("Big:0.5;a.example:0.5", "table;self")
        );
        assert_eq!(
            parse_columns(&l, &s),
            [("Big", 0.5, Source::Table), ("a.example", 0.5, Source::Own)]
        );
        let one: BTreeMap<_, _> = [(
            "x:y".to_string(),
            Credit {
                share: 1.0,
                source: Source::MxDomain,
            },
        )]
        .into();
        assert_eq!(
            parse_columns(&label(&one), &sources(&one)),
            [("x:y", 1.0, Source::MxDomain)]
        );
        assert!(parse_columns("", "").is_empty());
    }
}
