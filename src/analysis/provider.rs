//! Provider attribution: who runs a domain's mail. The most-preferred exchanges are matched
//! against a suffix table (`data/providers.csv`: `suffix,provider,source`); an exchange no `mx`
//! suffix matches is attributed by the PTR names of its addresses (`ptr` suffixes, e.g.
//! `1e100.net` → Google). Equal-preference exchanges of different providers share the credit
//! (Liu et al., IMC 2021).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::pipeline::result::{DomainResult, Host};

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

    /// The provider of one exchange: by its name, else by its addresses' PTR names.
    pub fn of_host(&self, name: &str, host: Option<&Host>) -> Option<String> {
        if let Some(p) = Self::find(&self.mx, name) {
            return Some(p.to_string());
        }
        host?
            .addresses
            .iter()
            .flat_map(|a| &a.ptr_names)
            .find_map(|n| Self::find(&self.ptr, n))
            .map(str::to_string)
    }

    /// Credit per provider for a domain (fractions summing to 1), from its most-preferred
    /// exchanges; empty when none is attributed.
    pub fn attribute(&self, r: &DomainResult) -> BTreeMap<String, f64> {
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
        let providers: Vec<Option<String>> =
            names.iter().map(|(n, h)| self.of_host(n, *h)).collect();
        let share = 1.0 / providers.len() as f64;
        let mut credit = BTreeMap::new();
        for p in providers.into_iter().flatten() {
            *credit.entry(p).or_insert(0.0) += share;
        }
        credit
    }
}

/// The provider column: `Name` for one, `A:0.5;B:0.5` for shared credit.
pub fn label(credit: &BTreeMap<String, f64>) -> String {
    if credit.len() == 1 && credit.values().all(|v| (*v - 1.0).abs() < 1e-9) {
        return credit.keys().next().cloned().unwrap_or_default();
    }
    credit
        .iter()
        .map(|(p, v)| format!("{p}:{}", (v * 1000.0).round() / 1000.0))
        .collect::<Vec<_>>()
        .join(";")
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
        assert_eq!(
            p.of_host("corp-com.mail.protection.outlook.com", None)
                .as_deref(),
            Some("Microsoft")
        );
        assert_eq!(
            p.of_host("aspmx.l.google.com", None).as_deref(),
            Some("Google")
        );
        assert_eq!(p.of_host("notgoogle.com", None), None);
        assert!(Providers::parse("a,b\n", "t").is_err());
        assert!(Providers::bundled().mx.len() > 10);
    }
}
