//! SPF macros (RFC 7208 §7): `macro-string` syntax and expansion.

use std::fmt::Write;
use std::net::IpAddr;

/// One piece of a macro string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Macro(Macro),
}

/// `%{letter transformers delimiters}` (§7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// The macro letter, lower case.
    pub letter: char,
    /// Written in upper case: the value is URL-encoded (§7.3).
    pub url_encode: bool,
    /// Keep this many right-hand parts (never 0).
    pub keep: Option<usize>,
    pub reverse: bool,
    /// Characters that split the value (default `.`).
    pub delimiters: String,
}

/// A parsed `macro-string`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MacroString(pub Vec<Piece>);

/// Why a macro string is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MacroError(pub String);

/// Letters valid everywhere, and those only valid in an explanation (`exp=` TXT).
const LETTERS: &str = "slodiphv";
const EXP_LETTERS: &str = "crt";
const DELIMITERS: &str = ".-+,/_=";

impl MacroString {
    /// Parses `text`; `in_explanation` allows `c`, `r` and `t` (§7.2).
    pub fn parse(text: &str, in_explanation: bool) -> Result<MacroString, MacroError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                // macro-literal: visible ASCII but `%` (space too in an explanation).
                if !(c.is_ascii_graphic() || (in_explanation && c == ' ')) {
                    return Err(MacroError(format!(
                        "`{c}` is not allowed in a macro string"
                    )));
                }
                literal.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => literal.push('%'),
                Some('_') => literal.push(' '),
                Some('-') => literal.push_str("%20"),
                Some('{') => {
                    let mut body = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => body.push(c),
                            None => return Err(MacroError("a `%{` is not closed".into())),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Macro(Macro::parse(&body, in_explanation)?));
                }
                other => {
                    let after = other.map_or("the end".to_string(), |c| format!("`{c}`"));
                    return Err(MacroError(format!("`%` followed by {after}")));
                }
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(MacroString(pieces))
    }

    /// Whether a macro of `letter` occurs.
    pub fn uses(&self, letter: char) -> bool {
        self.0
            .iter()
            .any(|p| matches!(p, Piece::Macro(m) if m.letter == letter))
    }

    /// Whether the string ends in a macro (a `domain-end` may be one, §4.8).
    pub fn ends_in_macro(&self) -> bool {
        matches!(self.0.last(), Some(Piece::Macro(_)))
    }

    /// The literal text after the last macro.
    pub fn literal_tail(&self) -> &str {
        match self.0.last() {
            Some(Piece::Literal(s)) => s,
            _ => "",
        }
    }

    /// The string with every macro replaced (§7.3).
    pub fn expand(&self, cx: &Context) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Macro(m) => out.push_str(&m.expand(cx)),
            }
        }
        out
    }
}

impl Macro {
    fn parse(body: &str, in_explanation: bool) -> Result<Macro, MacroError> {
        let mut chars = body.chars();
        let letter = chars
            .next()
            .ok_or_else(|| MacroError("an empty `%{}`".into()))?;
        let lower = letter.to_ascii_lowercase();
        if !(LETTERS.contains(lower) || (in_explanation && EXP_LETTERS.contains(lower))) {
            return Err(MacroError(format!(
                "`%{{{letter}` is not a macro letter here"
            )));
        }
        let rest: String = chars.collect();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let rest = &rest[digits.len()..];
        let (reverse, delimiters) = match rest.strip_prefix(['r', 'R']) {
            Some(d) => (true, d),
            None => (false, rest),
        };
        if let Some(bad) = delimiters.chars().find(|c| !DELIMITERS.contains(*c)) {
            return Err(MacroError(format!("`{bad}` is not a macro delimiter")));
        }
        let keep = match digits.as_str() {
            "" => None,
            d => match d.parse::<usize>() {
                Ok(0) | Err(_) => return Err(MacroError(format!("`{d}` parts"))),
                Ok(n) => Some(n),
            },
        };
        Ok(Macro {
            letter: lower,
            url_encode: letter.is_ascii_uppercase(),
            keep,
            reverse,
            delimiters: delimiters.to_string(),
        })
    }

    fn expand(&self, cx: &Context) -> String {
        let value = cx.value(self.letter);
        let value = if self.keep.is_none() && !self.reverse && self.delimiters.is_empty() {
            value
        } else {
            let delimiters = if self.delimiters.is_empty() {
                "."
            } else {
                &self.delimiters
            };
            let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
            if self.reverse {
                parts.reverse();
            }
            if let Some(n) = self.keep
                && n < parts.len()
            {
                parts.drain(..parts.len() - n);
            }
            parts.join(".")
        };
        if self.url_encode {
            url_encode(&value)
        } else {
            value
        }
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// What the macro letters stand for in one evaluation.
#[derive(Debug, Clone)]
pub struct Context {
    /// `<sender>`: the MAIL FROM address, or `postmaster@<helo>` when it was empty.
    pub sender: String,
    /// `<domain>` of the check_host() call being evaluated.
    pub domain: String,
    pub ip: IpAddr,
    pub helo: String,
    /// `p`: the validated name of the IP, when one was found; else "unknown".
    pub validated: Option<String>,
    /// `r`: the receiving host's name.
    pub receiver: String,
    /// `t`: seconds since the epoch.
    pub timestamp: u64,
}

impl Context {
    /// The local part of the sender (`postmaster` when it has none, §4.3).
    fn local_part(&self) -> &str {
        match self.sender.rsplit_once('@') {
            Some((local, _)) if !local.is_empty() => local,
            _ => "postmaster",
        }
    }

    fn sender_domain(&self) -> &str {
        self.sender
            .rsplit_once('@')
            .map_or(self.sender.as_str(), |(_, d)| d)
    }

    fn value(&self, letter: char) -> String {
        match letter {
            's' => self.sender.clone(),
            'l' => self.local_part().to_string(),
            'o' => self.sender_domain().to_string(),
            'd' => self.domain.clone(),
            'i' => match self.ip {
                IpAddr::V4(v4) => v4.to_string(),
                // Dot-format: each nibble, most significant first (§7.3).
                IpAddr::V6(v6) => v6
                    .octets()
                    .iter()
                    .flat_map(|b| [b >> 4, b & 0xF])
                    .map(|n| format!("{n:x}"))
                    .collect::<Vec<_>>()
                    .join("."),
            },
            'p' => self.validated.clone().unwrap_or_else(|| "unknown".into()),
            'v' => match self.ip {
                IpAddr::V4(_) => "in-addr".into(),
                IpAddr::V6(_) => "ip6".into(),
            },
            'h' => self.helo.clone(),
            'c' => self.ip.to_string(),
            'r' => self.receiver.clone(),
            't' => self.timestamp.to_string(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7208 §7.4's examples: sender strong-bad@email.example.com, IP 192.0.2.3 (and
    /// 2001:db8::cb01).
    fn cx(ip: &str) -> Context {
        Context {
            sender: "strong-bad@email.example.com".into(),
            domain: "email.example.com".into(),
            ip: ip.parse().unwrap(),
            helo: "mx.example.org".into(),
            validated: None,
            receiver: "mx.example.net".into(),
            timestamp: 1_000_000,
        }
    }

    fn x(text: &str, ip: &str) -> String {
        MacroString::parse(text, true).unwrap().expand(&cx(ip))
    }

    #[test]
    fn the_rfc_examples_expand_as_written() {
        let v4 = "192.0.2.3";
        for (text, want) in [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
            ("%{c}", "192.0.2.3"),
            ("%%%_%-", "% %20"),
            ("%{S}", "strong-bad%40email.example.com"),
            (
                "%{r} %{t} %{h} %{p}",
                "mx.example.net 1000000 mx.example.org unknown",
            ),
        ] {
            assert_eq!(x(text, v4), want, "{text}");
        }
        assert_eq!(
            x("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
        assert_eq!(x("%{c}", "2001:db8::cb01"), "2001:db8::cb01");
    }

    #[test]
    fn malformed_macros_are_errors() {
        for text in ["%{", "%{x}", "%{d0}", "%{d2r!}", "%x", "%", "a b", "%{}"] {
            assert!(MacroString::parse(text, false).is_err(), "{text}");
        }
        // c, r and t only in an explanation.
        assert!(MacroString::parse("%{c}", false).is_err());
        assert!(MacroString::parse("%{c}", true).is_ok());
        let m = MacroString::parse("_spf.%{d}", false).unwrap();
        assert!(m.ends_in_macro() && m.literal_tail().is_empty());
    }

    #[test]
    fn postmaster_stands_in_for_an_empty_local_part() {
        let mut c = cx("192.0.2.3");
        c.sender = "@example.com".into();
        let m = MacroString::parse("%{l}@%{o}", false).unwrap();
        assert_eq!(m.expand(&c), "postmaster@example.com");
    }
}
