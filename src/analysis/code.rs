//! Every finding code, with its name, severity rule, default score weight, gate and one-line
//! meaning: the single source the rules, the score, the tables and `docs/findings.md` (checked
//! by a test) agree on.

use super::Severity;

/// How a code's severity is decided (docs/findings.md, "Severities").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// Always this severity.
    Fixed(Severity),
    /// ERROR when every mail host of the domain (or its only one) has it, WARN when some do.
    EveryHost,
    /// E/W over the mail hosts; ERROR for a sender IP.
    EveryHostOrSender,
    /// By the address's role.
    ByRole { send: Severity, receive: Severity },
}

impl Grade {
    /// As the catalogue's severity column writes it.
    pub fn label(self) -> String {
        match self {
            Grade::Fixed(s) => s.as_str().to_string(),
            Grade::EveryHost => "E/W".into(),
            Grade::EveryHostOrSender => "E/W (sender IPs: ERROR)".into(),
            Grade::ByRole { send, receive } => format!("{} / {}", send.as_str(), receive.as_str()),
        }
    }
}

macro_rules! codes {
    ($( $code:ident: $grade:expr, weight $weight:expr, gate $gate:literal, $meaning:literal; )*) => {
        /// A finding code. Variants are spelled as the tables write them, and order by their
        /// place in the catalogue (tables list codes by name).
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $code, )*
        }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &[Code] = &[$( Code::$code, )*];

            /// The name tables, the summary and `--weights` use.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Code::$code => stringify!($code), )*
                }
            }

            /// How the severity is decided.
            pub const fn grade(self) -> Grade {
                match self {
                    $( Code::$code => $grade, )*
                }
            }

            /// Default score weight (points ÷ 10); `None`: by severity (WARN 1, ERROR 2).
            pub const fn weight(self) -> Option<f64> {
                match self {
                    $( Code::$code => $weight, )*
                }
            }

            /// The finding forces the score to 0.
            pub const fn gate(self) -> bool {
                match self {
                    $( Code::$code => $gate, )*
                }
            }

            /// What the finding means, in one line.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $( Code::$code => $meaning, )*
                }
            }
        }
    };
}

use Grade::{ByRole, EveryHost, EveryHostOrSender, Fixed};
use Severity::{Error, Indeterminate, Info, Warn};

codes! {
    DOMAIN_NXDOMAIN: Fixed(Error), weight None, gate true, "the domain does not exist";
    DOMAIN_CNAME: Fixed(Info), weight None, gate false, "the domain is an alias";
    DOMAIN_CNAME_DANGLING: Fixed(Error), weight Some(4.0), gate false, "the domain's alias chain ends in NXDOMAIN";
    DOMAIN_CNAME_LOOP: Fixed(Error), weight Some(4.0), gate false, "the domain's alias chain loops or is too long";
    IMPLICIT_MX: Fixed(Info), weight None, gate false, "no MX: mail goes to the domain's own addresses";
    NO_MAIL_ROUTE: Fixed(Error), weight Some(1.5), gate false, "no MX and no A/AAAA";
    MX_NULL: Fixed(Info), weight Some(6.0), gate false, "null MX: the domain accepts no mail";
    MX_NULL_WITH_OTHERS: Fixed(Error), weight Some(4.0), gate false, "a null MX beside other exchanges";
    MX_ROOT_TARGET_NONZERO_PREF: Fixed(Warn), weight None, gate false, "a root target with a preference other than 0";
    MX_ALL_UNUSABLE: Fixed(Error), weight Some(4.0), gate false, "no exchange can receive mail";
    MX_PRIMARY_UNUSABLE: Fixed(Warn), weight Some(1.5), gate false, "every most-preferred exchange is unusable; a backup works";
    MX_SINGLE_HOST: Fixed(Info), weight None, gate false, "one exchange";
    MX_SINGLE_ADDRESS: Fixed(Warn), weight None, gate false, "every exchange resolves to one address";
    MX_SINGLE_NETWORK: Fixed(Info), weight None, gate false, "every address in one IPv4 /24 and one IPv6 /48";
    MX_DUPLICATE_HOST: Fixed(Info), weight None, gate false, "an exchange is listed more than once";
    MX_SHARED_ADDRESS: Fixed(Info), weight None, gate false, "different exchanges resolve to the same address";
    MX_TOO_MANY: Fixed(Warn), weight None, gate false, "more than 10 MX records";
    MX_NO_IPV6: Fixed(Info), weight None, gate false, "no exchange has an IPv6 address";
    MX_TARGET_IP_LITERAL: Fixed(Error), weight Some(2.0), gate false, "the exchange is an IP address, not a host name";
    MX_TARGET_SYNTAX: Fixed(Warn), weight None, gate false, "the exchange is not a valid host name";
    MX_TARGET_LOCALHOST: Fixed(Error), weight Some(2.0), gate false, "the exchange is localhost";
    MX_TARGET_SPECIAL_USE: Fixed(Error), weight Some(2.0), gate false, "the exchange is under a special-use TLD";
    MX_TARGET_NXDOMAIN: EveryHost, weight Some(2.0), gate false, "A and AAAA both NXDOMAIN";
    MX_TARGET_NO_ADDRESS: EveryHost, weight Some(2.0), gate false, "A and AAAA both NODATA";
    MX_TARGET_CNAME: Fixed(Warn), weight None, gate false, "the exchange is an alias";
    MX_TARGET_CNAME_DANGLING: EveryHost, weight Some(2.0), gate false, "the alias chain ends in NXDOMAIN/NODATA, loops or is too long";
    MX_TARGET_IPV6_ONLY: EveryHost, weight Some(1.5), gate false, "AAAA but no A";
    MX_TARGET_TEMPERROR: Fixed(Indeterminate), weight None, gate false, "an address lookup of the exchange failed";
    ADDR_PRIVATE: EveryHostOrSender, weight Some(3.0), gate false, "a private address (RFC 1918, 6598, 4193)";
    ADDR_LOOPBACK: Fixed(Error), weight Some(3.0), gate false, "a loopback address";
    ADDR_BOGON: Fixed(Error), weight Some(3.0), gate false, "a special-purpose address (RFC 6890)";
    PTR_MISSING: ByRole { send: Error, receive: Info }, weight Some(2.0), gate false, "no PTR record";
    PTR_FCRDNS_FAIL: ByRole { send: Error, receive: Warn }, weight Some(2.5), gate false, "the PTR name does not map back";
    PTR_TEMPERROR: Fixed(Indeterminate), weight None, gate false, "a reverse or forward lookup failed";
    PTR_GENERIC: ByRole { send: Warn, receive: Info }, weight Some(2.0), gate false, "the PTR looks like an access-network name";
    PTR_MULTIPLE: Fixed(Info), weight None, gate false, "more than one PTR record";
    PTR_TARGET_CNAME: Fixed(Warn), weight Some(0.5), gate false, "the PTR name is an alias";
    PTR_UNALIGNED: Fixed(Info), weight None, gate false, "the sender's PTR is outside its domain and its exchanges' domains";
    SENDER_IP_NOT_IN_MX: Fixed(Warn), weight Some(2.0), gate false, "no MX host's A/AAAA is this sender IP";
    EGRESS_IPREV_GAP: Fixed(Error), weight None, gate true, "the sender IP fails iprev or has a generic PTR";
    REVERSE_MX_FAIL: Fixed(Error), weight None, gate true, "receivers reject mail from a domain without a mail route";
    DNS_SERVFAIL: Fixed(Indeterminate), weight None, gate false, "SERVFAIL from every resolver tried";
    DNS_TIMEOUT: Fixed(Indeterminate), weight None, gate false, "no answer from any resolver tried";
    DNS_REFUSED: Fixed(Indeterminate), weight None, gate false, "REFUSED (or another rcode) from every resolver tried";
    DNS_TRUNCATED: Fixed(Info), weight None, gate false, "the MX answer did not fit UDP; completed over TCP";
    DNS_MALFORMED: Fixed(Warn), weight None, gate false, "FORMERR, an undecodable reply, or MX records outside the answer section";
    DOMAIN_BUDGET_EXCEEDED: Fixed(Info), weight None, gate false, "the domain's records exceed the scan's budget per domain: some were left out";
    SPF_NONE: Fixed(Warn), weight None, gate false, "no SPF record";
    SPF_MULTIPLE: Fixed(Error), weight None, gate false, "more than one SPF record at a name (permerror)";
    SPF_SYNTAX: Fixed(Error), weight None, gate false, "an SPF record that does not parse (permerror)";
    SPF_INCLUDE_NONE: Fixed(Error), weight None, gate false, "an include or redirect target without an SPF record (permerror)";
    SPF_TOO_MANY_LOOKUPS: Fixed(Error), weight None, gate false, "more than 10 DNS-querying terms (permerror)";
    SPF_VOID_LOOKUPS: Fixed(Error), weight None, gate false, "more than 2 lookups that find nothing (permerror)";
    SPF_LOOP: Fixed(Error), weight None, gate false, "an include or redirect leads back to a record being evaluated (permerror)";
    SPF_PASS_ALL: Fixed(Warn), weight Some(2.0), gate false, "the record ends in +all: every host on the internet passes";
    SPF_PTR: Fixed(Warn), weight Some(0.5), gate false, "the deprecated ptr mechanism";
    SPF_MX_NOT_AUTHORISED: Fixed(Info), weight None, gate false, "an address of the domain's own mail hosts does not pass its SPF";
    SPF_SENDER_FAIL: Fixed(Error), weight Some(3.0), gate false, "SPF fails for the sender IP";
    SPF_SENDER_NOT_PASS: Fixed(Warn), weight None, gate false, "SPF does not pass the sender IP (softfail, neutral, none, permerror)";
    SPF_TEMPERROR: Fixed(Indeterminate), weight None, gate false, "an SPF lookup failed (temperror)";
    DMARC_NONE: Fixed(Warn), weight None, gate false, "no DMARC record for the domain or its organisational domain";
    DMARC_MULTIPLE: Fixed(Error), weight None, gate false, "more than one DMARC record: no policy applies";
    DMARC_SYNTAX: Fixed(Error), weight None, gate false, "a DMARC record that does not parse";
    DMARC_POLICY_NONE: Fixed(Info), weight None, gate false, "the DMARC policy that applies is p=none (monitoring only)";
    DMARC_NO_RUA: Fixed(Info), weight None, gate false, "no aggregate report destination (rua)";
    DMARC_RUA_NOT_AUTHORISED: Fixed(Warn), weight None, gate false, "an external report destination does not accept the domain's reports";
    MTA_STS_SYNTAX: Fixed(Warn), weight None, gate false, "the MTA-STS TXT record is invalid or not alone";
    TLSRPT_SYNTAX: Fixed(Warn), weight None, gate false, "the TLS-RPT record is invalid or not alone";
    TLSA_SYNTAX: Fixed(Warn), weight None, gate false, "an exchange's TLSA records are invalid or none is usable for SMTP";
    TLSA_PARTIAL: Fixed(Warn), weight None, gate false, "some exchanges have TLSA records, others none";
    MAILAUTH_TEMPERROR: Fixed(Indeterminate), weight None, gate false, "a DMARC, MTA-STS, TLS-RPT or TLSA lookup failed";
}

impl Code {
    /// The code of a name (as `--weights` gives it), case-insensitive.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The severity of a code whose grade is fixed.
    pub const fn severity(self) -> Severity {
        match self.grade() {
            Grade::Fixed(s) => s,
            _ => panic!("this code's severity depends on the finding"),
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The catalogue: docs/findings.md, built in (the report shows the entries of the codes a scan
/// found).
pub const CATALOGUE: &str = include_str!("../../docs/findings.md");

/// One code's row of the catalogue, its Markdown cells as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub code: &'a str,
    pub severity: &'a str,
    pub detection: &'a str,
    pub source: &'a str,
    pub fix: &'a str,
}

/// The catalogue's code rows, in order (the measurement codes have no source or fix).
pub fn catalogue() -> impl Iterator<Item = Entry<'static>> {
    CATALOGUE.lines().filter_map(|l| {
        let mut cells = l.strip_prefix("| `")?.strip_suffix(" |")?.split(" | ");
        Some(Entry {
            code: cells.next()?.strip_suffix('`')?,
            severity: cells.next()?,
            detection: cells.next()?,
            source: cells.next().unwrap_or(""),
            fix: cells.next().unwrap_or(""),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/findings.md lists exactly these codes, in this order, each with its severity.
    #[test]
    fn the_catalogue_lists_exactly_these_codes() {
        let doc = CATALOGUE;
        let rows: Vec<(&str, &str)> = catalogue().map(|e| (e.code, e.severity)).collect();
        let names: Vec<&str> = rows.iter().map(|(c, _)| *c).collect();
        let ours: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names, ours);
        for ((_, severity), code) in rows.iter().zip(Code::ALL) {
            assert!(
                severity.starts_with(&code.grade().label()),
                "{code}: the catalogue says {severity}, the code {}",
                code.grade().label()
            );
        }
        let gates = doc.split("**Gates** force 0:").nth(1).unwrap();
        let gates: Vec<&str> = gates
            .split("(listed")
            .next()
            .unwrap()
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        let ours: Vec<&str> = Code::ALL
            .iter()
            .filter(|c| c.gate())
            .map(|c| c.name())
            .collect();
        assert_eq!(
            gates
                .iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            ours.into_iter().collect()
        );
        assert_eq!(Code::from_name("ptr_missing"), Some(Code::PTR_MISSING));
        assert_eq!(Code::from_name("PTR_MISING"), None);
    }
}
