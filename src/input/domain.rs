//! One line of a domain list → a normalised domain or the reason it is rejected.
//!
//! Normalisation: surrounding whitespace (and a UTF-8 BOM, and the `\r` of CRLF) trimmed, one
//! trailing dot dropped, lower-cased, internationalised names turned into A-labels (UTS #46,
//! as `bücher.test` → `xn--bcher-kva.test`). A mail domain must then be a host name in the
//! sense of RFC 5321 §4.1.2: at least two labels of letters, digits and inner hyphens, each at
//! most 63 octets, at most 253 in all.

use std::fmt;
use std::net::IpAddr;

/// Why a line is not a domain; the text is what `rejects.csv` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// A URL (`http://…`, or anything with `/`).
    Url,
    /// An e-mail address.
    Email,
    /// An IP address: there is no MX to look up.
    IpAddress,
    /// Whitespace inside the name.
    Whitespace,
    /// `a..b`: an empty label.
    EmptyLabel,
    /// One label only (`localhost`, `test`).
    SingleLabel,
    LabelTooLong(String),
    NameTooLong(usize),
    LeadingOrTrailingHyphen(String),
    BadCharacter(char),
    /// The name is not valid IDNA (UTS #46).
    Idna,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Url => write!(f, "a URL, not a domain: give the host name alone"),
            Reject::Email => write!(f, "an e-mail address, not a domain: give the part after @"),
            Reject::IpAddress => write!(f, "an IP address, not a domain"),
            Reject::Whitespace => write!(f, "whitespace inside the name"),
            Reject::EmptyLabel => write!(f, "an empty label (two dots in a row or a leading dot)"),
            Reject::SingleLabel => write!(f, "a single label: a mail domain has at least two"),
            Reject::LabelTooLong(l) => write!(f, "label `{l}` is longer than 63 octets"),
            Reject::NameTooLong(n) => write!(f, "the name is {n} octets long, more than 253"),
            Reject::LeadingOrTrailingHyphen(l) => {
                write!(f, "label `{l}` starts or ends with a hyphen")
            }
            Reject::BadCharacter(c) => {
                write!(
                    f,
                    "character `{}` not allowed: letters, digits and hyphens only (RFC 5321 §4.1.2)",
                    c.escape_default()
                )
            }
            Reject::Idna => write!(f, "not a valid internationalised domain name (UTS #46)"),
        }
    }
}

/// Normalises one input line: `Ok(None)` for a blank or `#` comment line, `Ok(Some(domain))`
/// for a domain, `Err` with the reason otherwise.
pub fn normalize(line: &str) -> Result<Option<String>, Reject> {
    let line = line.trim_start_matches('\u{feff}').trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if line.contains("://") || line.contains('/') {
        return Err(Reject::Url);
    }
    if line.contains('@') {
        return Err(Reject::Email);
    }
    if line.chars().any(char::is_whitespace) {
        return Err(Reject::Whitespace);
    }
    let name = line.strip_suffix('.').unwrap_or(line);
    if name
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
        .is_ok()
    {
        return Err(Reject::IpAddress);
    }
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Err(Reject::EmptyLabel);
    }
    let ascii = if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        // Check the labels' shape before IDNA, so the reason names the real fault.
        check_labels(&name.to_lowercase(), true)?;
        idna::domain_to_ascii(name).map_err(|_| Reject::Idna)?
    };
    check_labels(&ascii, false)?;
    Ok(Some(ascii))
}

/// A label as a reason quotes it: its first 80 characters at most (a line may hold a label of
/// a megabyte, and a reject row must not).
fn quoted(label: &str) -> String {
    match label.char_indices().nth(80) {
        Some((end, _)) => format!("{}… ({} octets)", &label[..end], label.len()),
        None => label.to_string(),
    }
}

fn check_labels(name: &str, unicode: bool) -> Result<(), Reject> {
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(Reject::SingleLabel);
    }
    for label in &labels {
        if !unicode && label.len() > 63 {
            return Err(Reject::LabelTooLong(quoted(label)));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(Reject::LeadingOrTrailingHyphen(quoted(label)));
        }
        let bad = label
            .chars()
            .find(|c| !(c.is_alphanumeric() || *c == '-') || (!unicode && !c.is_ascii()));
        if let Some(c) = bad {
            return Err(Reject::BadCharacter(c));
        }
    }
    if !unicode && name.len() > 253 {
        return Err(Reject::NameTooLong(name.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_lines_and_their_normal_form() {
        for (line, want) in [
            ("shop1.test", "shop1.test"),
            ("  SHOP2.Test.  ", "shop2.test"),
            ("shop3.test\r", "shop3.test"),
            ("\u{feff}shop4.test", "shop4.test"),
            ("bücher.test", "xn--bcher-kva.test"),
            ("BÜCHER.test.", "xn--bcher-kva.test"),
            ("xn--bcher-kva.test", "xn--bcher-kva.test"),
            ("mail-1.example-domain.co.uk", "mail-1.example-domain.co.uk"),
            ("123.test", "123.test"),
            (
                &format!("{}.test", "a".repeat(63)),
                &format!("{}.test", "a".repeat(63)),
            ),
        ] {
            assert_eq!(normalize(line), Ok(Some(want.to_string())), "{line:?}");
        }
    }

    #[test]
    fn blank_and_comment_lines_are_skipped() {
        for line in [
            "",
            "   ",
            "\r",
            "# comment",
            "  # indented comment",
            "\u{feff}",
        ] {
            assert_eq!(normalize(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn a_huge_label_is_quoted_in_part() {
        let line = format!("{}.test", "x".repeat(1 << 20));
        let reason = normalize(&line).unwrap_err().to_string();
        assert!(
            reason.len() < 200 && reason.contains("1048576 octets"),
            "{reason}"
        );
    }

    #[test]
    fn rejected_lines_and_their_reasons() {
        let long_name = vec!["a".repeat(60); 5].join(".");
        for (line, want) in [
            (
                "-leading-hyphen.test",
                Reject::LeadingOrTrailingHyphen("-leading-hyphen".into()),
            ),
            (
                "trailing-.test",
                Reject::LeadingOrTrailingHyphen("trailing-".into()),
            ),
            ("two words.test", Reject::Whitespace),
            ("empty..label.test", Reject::EmptyLabel),
            (".leading.test", Reject::EmptyLabel),
            ("http://shop4.test/", Reject::Url),
            ("shop4.test/path", Reject::Url),
            (
                &format!("{}.test", "x".repeat(64)),
                Reject::LabelTooLong("x".repeat(64)),
            ),
            ("under@score.test", Reject::Email),
            ("under_score.test", Reject::BadCharacter('_')),
            ("star*.test", Reject::BadCharacter('*')),
            ("localhost", Reject::SingleLabel),
            ("192.0.2.1", Reject::IpAddress),
            ("[2001:db8::1]", Reject::IpAddress),
            (long_name.as_str(), Reject::NameTooLong(long_name.len())),
            (
                "-bücher.test",
                Reject::LeadingOrTrailingHyphen("-bücher".into()),
            ),
        ] {
            assert_eq!(normalize(line), Err(want), "{line:?}");
        }
    }

    #[test]
    fn the_sample_lists_malformed_lines_are_all_rejected() {
        let list =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/domains.txt"))
                .unwrap();
        let rejected: Vec<&str> = list.lines().filter(|l| normalize(l).is_err()).collect();
        assert_eq!(rejected.len(), 6, "{rejected:?}");
        let reasons: Vec<String> = rejected
            .iter()
            .map(|l| normalize(l).unwrap_err().to_string())
            .collect();
        assert!(reasons.iter().all(|r| !r.is_empty()));
    }

    proptest::proptest! {
        #[test]
        fn normalize_never_panics_and_output_is_a_valid_ascii_name(line in "\\PC{0,300}") {
            if let Ok(Some(d)) = normalize(&line) {
                assert!(d.is_ascii() && d.len() <= 253 && !d.ends_with('.'));
                assert_eq!(normalize(&d), Ok(Some(d.clone())), "idempotent");
            }
        }
    }
}
