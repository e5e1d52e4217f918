//! `--senders FILE`: CSV rows `domain,ip` naming the addresses a domain sends mail from (for
//! example each WAN interface of its firewall). A header row is optional. The whole file is
//! held in memory: one entry per sender IP, a small list next to the domain list.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::domain::normalize;
use super::list::RejectRow;
use super::shard::Partition;

/// Sender IPs by normalised domain, each IP once, in file order.
#[derive(Debug, Default)]
pub struct Senders {
    by_domain: HashMap<String, Vec<IpAddr>>,
    /// Rows read (without the header), of this shard's domains with `--shard`.
    pub rows: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the senders file {path}: {source}")]
pub struct SendersError {
    path: std::path::PathBuf,
    source: csv::Error,
}

impl Senders {
    /// Reads `path`, keeping the rows of `shard`'s domains when given; malformed rows go to
    /// `reject` (the first shard's only).
    pub fn load(
        path: &Path,
        shard: Option<&Partition>,
        reject: &mut dyn FnMut(RejectRow) -> std::io::Result<()>,
    ) -> Result<Senders, SendersError> {
        let reports_rejects = shard.is_none_or(Partition::reports_rejects);
        let err = |source| SendersError {
            path: path.to_path_buf(),
            source,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(path)
            .map_err(err)?;
        let mut senders = Senders::default();
        let mut record = csv::StringRecord::new();
        let mut first = true;
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                // A row that is not UTF-8 is rejected; the others still count.
                Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                    if !reports_rejects {
                        continue;
                    }
                    let line = e.position().map_or(0, |p| p.line());
                    reject(RejectRow {
                        file: "senders",
                        line,
                        input: String::new(),
                        reason: "not valid UTF-8".into(),
                    })
                    .map_err(|e| err(e.into()))?;
                    continue;
                }
                Err(e) => return Err(err(e)),
            }
            let line = record.position().map_or(0, |p| p.line());
            let header = first
                && record
                    .get(0)
                    .is_some_and(|f| f.trim().trim_start_matches('\u{feff}') == "domain");
            first = false;
            if header {
                continue;
            }
            let text = record.iter().collect::<Vec<_>>().join(",");
            if text.trim().is_empty() || text.trim_start().starts_with('#') {
                continue;
            }
            let parsed = match (record.get(0), record.get(1), record.len()) {
                (Some(d), Some(ip), 2) => match normalize(d) {
                    Ok(Some(domain)) => ip
                        .trim()
                        .trim_matches(|c| c == '[' || c == ']')
                        .parse::<IpAddr>()
                        .map(|ip| (domain, ip))
                        .map_err(|_| format!("`{}` is not an IP address", ip.trim())),
                    Ok(None) => Err("no domain".to_string()),
                    Err(r) => Err(r.to_string()),
                },
                _ => Err("expected two columns: domain,ip".to_string()),
            };
            let ours = match &parsed {
                Ok((domain, _)) => shard.is_none_or(|s| s.owns(domain)),
                Err(_) => reports_rejects,
            };
            if !ours {
                continue;
            }
            senders.rows += 1;
            match parsed {
                Ok((domain, ip)) => {
                    let ips = senders.by_domain.entry(domain).or_default();
                    if !ips.contains(&ip) {
                        ips.push(ip);
                    }
                }
                Err(reason) => reject(RejectRow {
                    file: "senders",
                    line,
                    input: super::list::bounded_input(text),
                    reason,
                })
                .map_err(|e| err(e.into()))?,
            }
        }
        Ok(senders)
    }

    /// Takes the sender IPs of `domain` (each domain is scanned once, so once is enough).
    pub fn take(&mut self, domain: &str) -> Vec<IpAddr> {
        self.by_domain.remove(domain).unwrap_or_default()
    }

    /// Domains with senders that were not (yet) taken.
    pub fn remaining(&self) -> usize {
        self.by_domain.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_header_and_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(
            &path,
            "domain,ip\nA.test,192.0.2.1\na.test,[2001:db8::1]\na.test,192.0.2.1\nb.test,nope\nc.test\n\n",
        )
        .unwrap();
        let mut rejects = Vec::new();
        let mut s = Senders::load(&path, None, &mut |r| {
            rejects.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            s.take("a.test"),
            vec![
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
        assert!(s.take("a.test").is_empty());
        assert_eq!(s.remaining(), 0);
        assert_eq!(rejects.len(), 2);
        assert_eq!((rejects[0].line, rejects[0].file), (5, "senders"));
        assert!(rejects[0].reason.contains("not an IP"));
        assert!(rejects[1].reason.contains("two columns"));
        assert_eq!(s.rows, 5);
    }
}
