//! Records of SMTP transport security: the MTA-STS TXT record (RFC 8461 §3.1), the TLS-RPT
//! record (RFC 8460 §3) and TLSA records at `_25._tcp.<exchange>` (RFC 6698 §2.1, RFC 7672).
//! Presence and syntax only: the MTA-STS policy file is fetched over HTTPS, which mxscan does
//! not do (it only speaks DNS).

use super::Answer;

/// Why a record is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

/// What a name's TXT records say about one kind of record (`v=…` first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<T> {
    /// No record of the kind.
    None,
    /// Exactly one, parsed (or not).
    One(Result<T, SyntaxError>),
    /// More than one: to senders, none (RFC 8461 §3.1, RFC 8460 §3).
    Multiple(usize),
}

/// The TXT records of `answer` that start with `version` (`v=STSv1`, `v=TLSRPTv1`), parsed.
fn select<T>(
    answer: &Answer,
    version: &str,
    parse: fn(&str) -> Result<T, SyntaxError>,
) -> Found<T> {
    let texts: Vec<String> = answer
        .texts()
        .iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .filter(|t| t.split(';').next().is_some_and(|v| v.trim() == version))
        .collect();
    match texts.as_slice() {
        [] => Found::None,
        [one] => Found::One(parse(one)),
        more => Found::Multiple(more.len()),
    }
}

/// Splits `v=…; name=value; …` into its fields after the version (whitespace around `;`
/// allowed, a trailing `;` too).
fn fields(record: &str) -> Result<Vec<(&str, &str)>, SyntaxError> {
    record
        .split(';')
        .skip(1)
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            f.split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| SyntaxError(format!("`{f}` is not name=value")))
        })
        .collect()
}

/// A record kind at a name, as the tables show it: its state (`none`, `valid`, `invalid`,
/// `temperror`) and, when invalid, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub state: &'static str,
    pub problem: Option<String>,
}

impl Checked {
    /// `answer` read by `parse` ([`mta_sts`] or [`tls_rpt`]).
    pub fn of<T>(answer: &Answer, parse: fn(&Answer) -> Found<T>) -> Checked {
        let (state, problem) = match parse(answer) {
            _ if *answer == Answer::Failed => ("temperror", None),
            Found::None => ("none", None),
            Found::One(Ok(_)) => ("valid", None),
            Found::One(Err(why)) => ("invalid", Some(why.0)),
            Found::Multiple(n) => ("invalid", Some(format!("{n} records"))),
        };
        Checked { state, problem }
    }
}

/// An MTA-STS record's policy id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtaSts {
    pub id: String,
}

/// The `_mta-sts.<domain>` TXT answer.
pub fn mta_sts(answer: &Answer) -> Found<MtaSts> {
    select(answer, "v=STSv1", |record| {
        let mut id = None;
        for (name, value) in fields(record)? {
            let ext_name = !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if !ext_name
                || value.is_empty()
                || value
                    .bytes()
                    .any(|b| !(0x21..=0x7E).contains(&b) || b == b'=' || b == b';')
            {
                return Err(SyntaxError(format!(
                    "`{name}={value}` is not a valid field"
                )));
            }
            if name == "id" {
                if id.is_some() {
                    return Err(SyntaxError("`id` given twice".into()));
                }
                if value.len() > 32 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(SyntaxError(format!(
                        "id `{value}`: 1-32 letters and digits"
                    )));
                }
                id = Some(value.to_string());
            }
        }
        Ok(MtaSts {
            id: id.ok_or_else(|| SyntaxError("no `id` field".into()))?,
        })
    })
}

/// A TLS-RPT record's report destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRpt {
    pub rua: Vec<String>,
}

/// The `_smtp._tls.<domain>` TXT answer.
pub fn tls_rpt(answer: &Answer) -> Found<TlsRpt> {
    select(answer, "v=TLSRPTv1", |record| {
        let mut rua = None;
        for (name, value) in fields(record)? {
            if name != "rua" {
                continue;
            }
            let uris: Vec<String> = value.split(',').map(|u| u.trim().to_string()).collect();
            let valid = |u: &String| {
                (u.starts_with("mailto:") && u.contains('@')) || u.starts_with("https://")
            };
            if let Some(bad) = uris.iter().find(|u| !valid(u)) {
                return Err(SyntaxError(format!(
                    "`{bad}` is not a mailto: or https: URI"
                )));
            }
            rua = Some(uris);
        }
        Ok(TlsRpt {
            rua: rua.ok_or_else(|| SyntaxError("no `rua` field".into()))?,
        })
    })
}

/// One TLSA record's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Tlsa {
    /// The fields' syntax (RFC 6698 §2.1, RFC 7671): known values, and a digest of the length
    /// its matching type gives.
    pub fn check(&self) -> Result<(), SyntaxError> {
        if self.usage > 3 || self.selector > 1 || self.matching > 2 {
            return Err(SyntaxError(format!(
                "unknown usage, selector or matching type {} {} {}",
                self.usage, self.selector, self.matching
            )));
        }
        let want = match self.matching {
            1 => Some(32),
            2 => Some(64),
            _ => None,
        };
        match want {
            Some(n) if self.data.len() != n => Err(SyntaxError(format!(
                "a {}-octet digest for matching type {} (SHA-{})",
                self.data.len(),
                self.matching,
                if self.matching == 1 { 256 } else { 512 }
            ))),
            None if self.data.is_empty() => Err(SyntaxError("no certificate data".into())),
            _ => Ok(()),
        }
    }

    /// SMTP uses DANE-TA(2) and DANE-EE(3) only (RFC 7672 §3.1.3).
    pub fn usable_for_smtp(&self) -> bool {
        self.usage >= 2
    }
}

/// What an exchange's TLSA lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsaState {
    None,
    Usable,
    /// Records that are invalid or none usable for SMTP, and why.
    Invalid(String),
    Failed,
}

impl TlsaState {
    /// The state of a `_25._tcp.<host>` TLSA answer.
    pub fn of(answer: &Answer) -> TlsaState {
        let records: Vec<&Tlsa> = match answer {
            Answer::Failed => return TlsaState::Failed,
            Answer::NoData | Answer::NxDomain => return TlsaState::None,
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match r {
                    super::Rdata::Tlsa(t) => Some(t),
                    _ => None,
                })
                .collect(),
        };
        if records.is_empty() {
            TlsaState::None
        } else if let Some(why) = records.iter().find_map(|t| t.check().err()) {
            TlsaState::Invalid(why.0)
        } else if !records.iter().any(|t| t.usable_for_smtp()) {
            TlsaState::Invalid("no DANE-TA(2) or DANE-EE(3) record (RFC 7672 §3.1.3)".into())
        } else {
            TlsaState::Usable
        }
    }

    /// The host publishes TLSA records, usable or not.
    pub fn published(&self) -> bool {
        matches!(self, TlsaState::Usable | TlsaState::Invalid(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mta_sts_records() {
        assert_eq!(
            mta_sts(&Answer::txt(&["v=STSv1; id=20260101T000000;"])),
            Found::One(Ok(MtaSts {
                id: "20260101T000000".into()
            }))
        );
        assert_eq!(
            mta_sts(&Answer::txt(&["v=STSv1;id=a1;ext_x=1"])),
            Found::One(Ok(MtaSts { id: "a1".into() }))
        );
        assert_eq!(mta_sts(&Answer::txt(&["v=spf1 -all"])), Found::None);
        assert_eq!(mta_sts(&Answer::NxDomain), Found::None);
        assert_eq!(
            mta_sts(&Answer::txt(&["v=STSv1; id=1", "v=STSv1; id=2"])),
            Found::Multiple(2)
        );
        for bad in [
            "v=STSv1;",
            "v=STSv1; id=has-dash",
            "v=STSv1; id=1; id=2",
            &format!("v=STSv1; id={}", "a".repeat(33)),
            "v=STSv1; id",
        ] {
            assert!(
                matches!(mta_sts(&Answer::txt(&[bad])), Found::One(Err(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn tls_rpt_records() {
        assert_eq!(
            tls_rpt(&Answer::txt(&[
                "v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/v1"
            ])),
            Found::One(Ok(TlsRpt {
                rua: vec![
                    "mailto:tls@example.com".into(),
                    "https://r.example.com/v1".into()
                ]
            }))
        );
        assert!(matches!(
            tls_rpt(&Answer::txt(&["v=TLSRPTv1;"])),
            Found::One(Err(_))
        ));
        assert!(matches!(
            tls_rpt(&Answer::txt(&["v=TLSRPTv1; rua=ftp://x"])),
            Found::One(Err(_))
        ));
        assert_eq!(
            tls_rpt(&Answer::txt(&[
                "v=TLSRPTv1; rua=mailto:a@b.c",
                "v=TLSRPTv1; rua=mailto:d@e.f"
            ])),
            Found::Multiple(2)
        );
    }

    #[test]
    fn tlsa_fields() {
        let t = |usage, selector, matching, len| Tlsa {
            usage,
            selector,
            matching,
            data: vec![0xAB; len],
        };
        assert!(t(3, 1, 1, 32).check().is_ok() && t(3, 1, 1, 32).usable_for_smtp());
        assert!(t(2, 0, 2, 64).check().is_ok());
        assert!(t(3, 0, 0, 700).check().is_ok());
        assert!(!t(1, 0, 1, 32).usable_for_smtp());
        assert!(t(3, 1, 1, 31).check().is_err());
        assert!(t(3, 1, 2, 32).check().is_err());
        assert!(t(4, 1, 1, 32).check().is_err());
        assert!(t(3, 2, 1, 32).check().is_err());
        assert!(t(3, 0, 0, 0).check().is_err());
    }
}
