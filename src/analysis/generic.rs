//! Generic PTR names: names an access network gives every address of a pool
//! (`198-51-100-7.dyn.isp.example`), which receivers treat as end-user addresses (SpamAssassin
//! RDNS_DYNAMIC, rspamd hfilter). A name is generic when it embeds the address's octets in a
//! common form, or carries an access-technology token; `static` or `fix` is kept as a hint that
//! softens the score.

use std::net::IpAddr;

/// Tokens of access networks, strongest first (tier 1 names dynamic pools outright).
const TIER1: [&str; 8] = [
    "dyn", "dynamic", "dhcp", "ppp", "pppoe", "dialup", "dial", "pool",
];
const TIER2: [&str; 12] = [
    "dsl",
    "adsl",
    "vdsl",
    "xdsl",
    "cable",
    "modem",
    "broadband",
    "cust",
    "customer",
    "client",
    "user",
    "ftth",
];
const STATIC: [&str; 3] = ["static", "fix", "fixed"];

/// The verdict on one PTR name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generic {
    /// The name embeds the address's octets.
    pub embeds_address: bool,
    /// The strongest access token found (1 or 2), if any.
    pub token_tier: Option<u8>,
    /// A `static`/`fix` token: a fixed address, though still named like a pool.
    pub static_hint: bool,
}

impl Generic {
    pub fn is_generic(&self) -> bool {
        self.embeds_address || self.token_tier.is_some()
    }
}

/// Splits a name into its alphanumeric runs, each split again where letters meet digits
/// (`ip198` → `ip`, `198`).
fn tokens(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|r| !r.is_empty())
    {
        let mut cur = String::new();
        let mut digit = None;
        for c in run.chars() {
            let d = c.is_ascii_digit();
            if digit.is_some_and(|prev| prev != d) {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(c.to_ascii_lowercase());
            digit = Some(d);
        }
        out.push(cur);
    }
    out
}

fn embeds(name: &str, ip: IpAddr) -> bool {
    let IpAddr::V4(v4) = ip else {
        // An IPv6 PTR embedding the address writes its hex groups; look for the last four.
        let IpAddr::V6(v6) = ip else { return false };
        let segs = v6.segments();
        let hex: Vec<String> = segs[4..].iter().map(|s| format!("{s:x}")).collect();
        let toks: Vec<String> = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(str::to_ascii_lowercase)
            .collect();
        return toks.windows(4).any(|w| {
            w.iter()
                .zip(&hex)
                .all(|(a, b)| a.trim_start_matches('0') == b.trim_start_matches('0'))
        }) && segs[4..].iter().any(|s| *s != 0);
    };
    let o = v4.octets();
    let lower = name.to_ascii_lowercase();
    // Whole-address forms in one token: zero-padded decimal and hex.
    let padded = format!("{:03}{:03}{:03}{:03}", o[0], o[1], o[2], o[3]);
    let hex = format!("{:02x}{:02x}{:02x}{:02x}", o[0], o[1], o[2], o[3]);
    let runs: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    if runs
        .iter()
        .any(|r| r.contains(padded.as_str()) || (r.len() >= 8 && r.contains(hex.as_str())))
    {
        return true;
    }
    // Octets as separate numbers (dashed, dotted, zero-padded), forwards or reversed: the
    // last three at least, in order.
    let numbers: Vec<Option<u32>> = tokens(name).iter().map(|t| t.parse::<u32>().ok()).collect();
    let fwd = [o[1], o[2], o[3]].map(u32::from);
    let rev = [o[3], o[2], o[1]].map(u32::from);
    numbers.windows(3).any(|w| {
        let w = [w[0], w[1], w[2]];
        w == fwd.map(Some) || w == rev.map(Some)
    })
}

/// Judges `name` as the PTR name of `ip`.
pub fn judge(name: &str, ip: IpAddr) -> Generic {
    let toks = tokens(name);
    let has = |list: &[&str]| toks.iter().any(|t| list.contains(&t.as_str()));
    Generic {
        embeds_address: embeds(name, ip),
        token_tier: if has(&TIER1) {
            Some(1)
        } else if has(&TIER2) {
            Some(2)
        } else {
            None
        },
        static_hint: has(&STATIC),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_and_negative_examples() {
        let generic = [
            ("198-19-26-1.dyn.isp-pool.test", "198.19.26.1"),
            ("198-19-50-7.dsl.isp-pool.test", "198.19.50.7"),
            ("c-73-22-11-5.hsd1.il.comcast.example", "73.22.11.5"),
            ("5.11.22.73.in.example", "73.22.11.5"),
            ("host-073-022-011-005.example", "73.22.11.5"),
            ("ip073022011005.example", "73.22.11.5"),
            ("ip-49160b05.example", "73.22.11.5"),
            ("pool-98-113-4-5.nycmny.fios.example", "98.113.4.5"),
            ("dhcp-42.campus.example", "192.0.2.42"),
            ("ppp-host.isp.example", "192.0.2.1"),
            ("user123.cable.example", "192.0.2.1"),
            ("static-198-51-100-7.isp.example", "198.51.100.7"),
            ("2001-db8-0-0-0-0-0-17.v6.example", "2001:db8::17"),
        ];
        for (name, ip) in generic {
            let g = judge(name, ip.parse().unwrap());
            assert!(g.is_generic(), "{name} should be generic: {g:?}");
        }
        assert!(
            judge(
                "static-198-51-100-7.isp.example",
                "198.51.100.7".parse().unwrap()
            )
            .static_hint
        );
        let not_generic = [
            ("mail-1.bm-infra.test", "198.18.1.10"),
            ("mx1.bigmail.test", "198.18.1.10"),
            ("srv53.hostco.test", "198.19.53.1"),
            ("h1234.hoster.test", "198.19.4.210"),
            ("mail.poolside.example", "192.0.2.1"),
            ("mx10.example", "10.0.0.10"),
            ("mta-198.mailer.example", "198.51.100.7"),
            ("localhost", "127.0.0.1"),
            ("mx1.example", "2001:db8::1"),
        ];
        for (name, ip) in not_generic {
            let g = judge(name, ip.parse().unwrap());
            assert!(!g.is_generic(), "{name} should not be generic: {g:?}");
        }
    }
}
