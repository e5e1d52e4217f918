//! DMARC policy discovery (RFC 7489 §6.6.3, with DMARCbis's DNS tree walk) and record syntax
//! (§6.3), and the authorisation of external report destinations (§7.1), over the answers known
//! so far (the replay design of `mailauth`).

use hickory_proto::rr::RecordType;

use super::{Answer, Dns, Need};

/// A requested handling of failing mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    None,
    Quarantine,
    Reject,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }

    fn parse(value: &str) -> Option<Disposition> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Some(Disposition::None),
            "quarantine" => Some(Disposition::Quarantine),
            "reject" => Some(Disposition::Reject),
            _ => None,
        }
    }
}

/// A parsed DMARC record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Policy {
    pub p: Disposition,
    /// For subdomains (`sp`); `None`: as `p`.
    pub sp: Option<Disposition>,
    /// Percentage of failing mail the policy applies to (`pct`, default 100).
    pub pct: u8,
    /// DMARCbis's test flag (`t=y`).
    pub testing: bool,
    /// Aggregate and failure report destinations (`rua`, `ruf`), as written.
    pub rua: Vec<String>,
    pub ruf: Vec<String>,
}

/// Why a record is not valid DMARC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

/// Parses a record that starts with `v=DMARC1` (§6.3, §6.4): `tag=value` pairs separated by
/// `;`, unknown tags ignored, `p` required.
pub fn parse(record: &str) -> Result<Policy, SyntaxError> {
    let mut tags = record.split(';').map(str::trim).filter(|t| !t.is_empty());
    if tags.next().map(|v| v.replace(' ', "")) != Some("v=DMARC1".into()) {
        return Err(SyntaxError("the record must start with v=DMARC1".into()));
    }
    let (mut p, mut sp, mut pct, mut testing) = (None, None, 100, false);
    let (mut rua, mut ruf) = (Vec::new(), Vec::new());
    for tag in tags {
        let Some((name, value)) = tag.split_once('=') else {
            return Err(SyntaxError(format!("`{tag}` is not tag=value")));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        let bad = || SyntaxError(format!("`{tag}`: invalid value"));
        match name.as_str() {
            "p" => p = Some(Disposition::parse(value).ok_or_else(bad)?),
            "sp" => sp = Some(Disposition::parse(value).ok_or_else(bad)?),
            "pct" => {
                pct = value
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or_else(bad)?
            }
            "t" => {
                testing = match value {
                    "y" => true,
                    "n" => false,
                    _ => return Err(bad()),
                }
            }
            "rua" | "ruf" => {
                let uris = value
                    .split(',')
                    .map(|u| u.trim().to_string())
                    .collect::<Vec<_>>();
                if uris.iter().any(|u| report_host(u).is_none()) {
                    return Err(bad());
                }
                if name == "rua" {
                    rua = uris;
                } else {
                    ruf = uris;
                }
            }
            "v" => return Err(SyntaxError("`v` given twice".into())),
            _ => {}
        }
    }
    Ok(Policy {
        p: p.ok_or_else(|| SyntaxError("no `p` tag".into()))?,
        sp,
        pct,
        testing,
        rua,
        ruf,
    })
}

/// The domain a `mailto:` report URI delivers to (an optional `!size` suffix allowed).
pub fn report_host(uri: &str) -> Option<String> {
    let address = uri.strip_prefix("mailto:")?;
    let address = address.split('!').next()?;
    let (_, host) = address.rsplit_once('@')?;
    (host.contains('.') && !host.is_empty())
        .then(|| host.trim_end_matches('.').to_ascii_lowercase())
}

/// The organisational domain of `name` (the Public Suffix List's registrable domain; an
/// unlisted TLD counts as a public suffix).
pub fn organisational(name: &str) -> String {
    psl::domain_str(name).unwrap_or(name).to_string()
}

/// What discovery found for a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Where the record was found (`_dmarc.` and the domain, or a parent on the tree walk).
    pub at: Option<String>,
    pub record: Option<String>,
    /// The record parsed; `Err` for a syntax error.
    pub policy: Option<Result<Policy, SyntaxError>>,
    /// The first name asked had more than one DMARC record (no policy applies, §6.6.3).
    pub multiple: bool,
    /// A lookup failed: the result may be incomplete.
    pub failed: bool,
}

/// The names asked, in order: `_dmarc.<domain>`, then its parents (DMARCbis tree walk: at
/// most 7 labels below the walk's start, never the TLD alone).
pub fn walk(domain: &str) -> Vec<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let mut names = vec![format!("_dmarc.{domain}")];
    let start = (labels.len() - 1).min(7);
    for keep in (2..=start).rev() {
        let parent = labels[labels.len() - keep..].join(".");
        if parent != domain {
            names.push(format!("_dmarc.{parent}"));
        }
    }
    names
}

/// DMARC records among a name's TXT records.
fn records(answer: &Answer) -> Vec<String> {
    answer
        .texts()
        .iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .filter(|t| t.trim_start().starts_with("v=DMARC1"))
        .collect()
}

/// Discovers the policy of `domain`; `Err` names the next question.
pub fn discover(domain: &str, dns: &dyn Dns) -> Result<Discovery, Need> {
    let mut found = Discovery {
        at: None,
        record: None,
        policy: None,
        multiple: false,
        failed: false,
    };
    for name in walk(domain) {
        let answer = dns.answer(&name, RecordType::TXT).ok_or_else(|| Need {
            name: name.clone(),
            qtype: RecordType::TXT,
        })?;
        if *answer == Answer::Failed {
            found.failed = true;
            return Ok(found);
        }
        match records(answer).as_slice() {
            [] => continue,
            [one] => {
                found.policy = Some(parse(one));
                found.record = Some(one.clone());
                found.at = Some(name);
                return Ok(found);
            }
            _ => {
                found.multiple = true;
                found.at = Some(name);
                return Ok(found);
            }
        }
    }
    Ok(found)
}

/// Where `destination` says it accepts reports about `domain` (§7.1).
pub fn report_name(domain: &str, destination: &str) -> String {
    format!("{domain}._report._dmarc.{destination}")
}

/// Whether `destination` accepts reports about `domain` (§7.1): always within the same
/// organisational domain, else when `<domain>._report._dmarc.<destination>` has a DMARC record.
pub fn authorised(domain: &str, destination: &str, dns: &dyn Dns) -> Result<bool, Need> {
    if organisational(domain) == organisational(destination) {
        return Ok(true);
    }
    let name = report_name(domain, destination);
    let answer = dns.answer(&name, RecordType::TXT).ok_or_else(|| Need {
        name: name.clone(),
        qtype: RecordType::TXT,
    })?;
    Ok(!records(answer).is_empty())
}

#[cfg(test)]
mod tests {
    use crate::mailauth::Known;

    use super::*;

    /// Runs `discover` with the given TXT answers; every other name is NXDOMAIN.
    fn discovered(domain: &str, world: &[(&str, Answer)]) -> (Discovery, Vec<String>) {
        let mut known = Known::default();
        let mut asked = Vec::new();
        loop {
            match discover(domain, &known) {
                Ok(d) => return (d, asked),
                Err(need) => {
                    let answer = world
                        .iter()
                        .find(|(n, _)| *n == need.name)
                        .map_or(Answer::NxDomain, |(_, a)| a.clone());
                    asked.push(need.name.clone());
                    known.insert(need.name, need.qtype, answer);
                }
            }
        }
    }

    #[test]
    fn records_parse_with_their_defaults_and_errors() {
        let p = parse("v=DMARC1; p=reject; rua=mailto:d@rua.example.net!10m, mailto:x@example.com")
            .unwrap();
        assert_eq!(
            (p.p, p.sp, p.pct, p.testing),
            (Disposition::Reject, None, 100, false)
        );
        assert_eq!(p.rua.len(), 2);
        let p = parse("v=DMARC1;p=none;sp=quarantine;pct=20;t=y;x-future=1").unwrap();
        assert_eq!(
            (p.p, p.sp, p.pct, p.testing),
            (Disposition::None, Some(Disposition::Quarantine), 20, true)
        );
        for bad in [
            "v=DMARC1",
            "v=DMARC1; p=block",
            "p=none; v=DMARC1",
            "v=DMARC1; p=none; pct=101",
            "v=DMARC1; p=none; rua=https://example.com/r",
            "v=DMARC1; p=none; t=maybe",
            "v=DMARC1; p",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            report_host("mailto:a@Reports.Example.NET!5m").as_deref(),
            Some("reports.example.net")
        );
    }

    #[test]
    fn the_tree_walk_asks_parents_but_never_the_tld() {
        assert_eq!(
            walk("mail.example.com"),
            ["_dmarc.mail.example.com", "_dmarc.example.com"]
        );
        assert_eq!(walk("example.com"), ["_dmarc.example.com"]);
        let deep = walk("a.b.c.d.e.f.g.h.i.example.com");
        assert_eq!(deep.len(), 7, "{deep:?}");
        assert_eq!(deep[1], "_dmarc.e.f.g.h.i.example.com");
        assert_eq!(deep.last().unwrap(), "_dmarc.example.com");
    }

    #[test]
    fn discovery_finds_the_nearest_record() {
        let world = [(
            "_dmarc.example.com",
            Answer::txt(&["v=DMARC1; p=quarantine"]),
        )];
        let (d, asked) = discovered("shop.example.com", &world);
        assert_eq!(d.at.as_deref(), Some("_dmarc.example.com"));
        assert_eq!(d.policy.unwrap().unwrap().p, Disposition::Quarantine);
        assert_eq!(asked, ["_dmarc.shop.example.com", "_dmarc.example.com"]);
        // Other TXT records are not DMARC; two DMARC records are no policy.
        let world = [(
            "_dmarc.example.com",
            Answer::txt(&["v=spf1 -all", "v=DMARC1; p=none", "v=DMARC1; p=reject"]),
        )];
        let (d, _) = discovered("example.com", &world);
        assert!(d.multiple && d.policy.is_none());
        let (d, _) = discovered("example.com", &[]);
        assert_eq!(d.record, None);
        let (d, _) = discovered("example.com", &[("_dmarc.example.com", Answer::Failed)]);
        assert!(d.failed);
        let (d, _) = discovered(
            "example.com",
            &[("_dmarc.example.com", Answer::txt(&["v=DMARC1; p=maybe"]))],
        );
        assert!(d.policy.unwrap().is_err());
    }

    #[test]
    fn external_report_destinations_need_their_consent() {
        let mut known = Known::default();
        assert_eq!(
            authorised("example.com", "reports.example.com", &known),
            Ok(true)
        );
        let need = authorised("example.com", "rua.example.net", &known).unwrap_err();
        assert_eq!(need.name, "example.com._report._dmarc.rua.example.net");
        known.insert(
            need.name.clone(),
            RecordType::TXT,
            Answer::txt(&["v=DMARC1"]),
        );
        assert_eq!(
            authorised("example.com", "rua.example.net", &known),
            Ok(true)
        );
        known.insert(need.name, RecordType::TXT, Answer::NxDomain);
        assert_eq!(
            authorised("example.com", "rua.example.net", &known),
            Ok(false)
        );
    }
}
