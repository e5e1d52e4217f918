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

/// Most tokens looked at in one name (a PTR name has a handful; the rest is ignored).
const MAX_TOKENS: usize = 32;

/// Splits a name into its alphanumeric runs, each split again where letters meet digits
/// (`ip198` → `ip`, `198`), into `out`; returns how many. Names are lower case already.
fn tokens<'a>(name: &'a str, out: &mut [&'a str; MAX_TOKENS]) -> usize {
    let bytes = name.as_bytes();
    let mut n = 0;
    let mut start: Option<usize> = None;
    let mut push = |s: usize, e: usize, n: &mut usize| {
        if *n < MAX_TOKENS {
            out[*n] = &name[s..e];
            *n += 1;
        }
    };
    for (i, &b) in bytes.iter().enumerate() {
        match start {
            _ if !b.is_ascii_alphanumeric() => {
                if let Some(s) = start.take() {
                    push(s, i, &mut n);
                }
            }
            Some(s) if bytes[i - 1].is_ascii_digit() != b.is_ascii_digit() => {
                push(s, i, &mut n);
                start = Some(i);
            }
            Some(_) => {}
            None => start = Some(i),
        }
    }
    if let Some(s) = start {
        push(s, bytes.len(), &mut n);
    }
    n
}

/// Alphanumeric runs (not split at digit/letter changes).
fn runs(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|r| !r.is_empty())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay.windows(needle.len()).any(|w| w == needle)
}

fn embeds(name: &str, ip: IpAddr, toks: &[&str]) -> bool {
    let o = match ip {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => {
            // An IPv6 PTR embedding the address writes its hex groups; look for the last four.
            let segs = v6.segments();
            if segs[4..].iter().all(|s| *s == 0) {
                return false;
            }
            let hex = |t: &str| u16::from_str_radix(t, 16).ok();
            let groups: Vec<Option<u16>> = runs(name).map(hex).collect();
            return groups
                .windows(4)
                .any(|w| w.iter().zip(&segs[4..]).all(|(g, s)| *g == Some(*s)));
        }
    };
    // Whole-address forms in one run: zero-padded decimal and hex.
    let mut padded = [0u8; 12];
    let mut hex = [0u8; 8];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, x) in o.iter().enumerate() {
        padded[3 * i] = b'0' + x / 100;
        padded[3 * i + 1] = b'0' + (x / 10) % 10;
        padded[3 * i + 2] = b'0' + x % 10;
        hex[2 * i] = HEX[usize::from(x >> 4)];
        hex[2 * i + 1] = HEX[usize::from(x & 15)];
    }
    if runs(name).any(|r| contains(r.as_bytes(), &padded) || contains(r.as_bytes(), &hex)) {
        return true;
    }
    // Octets as separate numbers (dashed, dotted, zero-padded), forwards or reversed: the
    // last three at least, in order.
    let num = |t: &str| {
        (t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u8>().ok())
            .flatten()
    };
    let fwd = [Some(o[1]), Some(o[2]), Some(o[3])];
    let rev = [Some(o[3]), Some(o[2]), Some(o[1])];
    toks.windows(3).any(|w| {
        let w = [num(w[0]), num(w[1]), num(w[2])];
        w == fwd || w == rev
    })
}

/// Verdicts remembered per thread: a provider's addresses recur in millions of domains, and the
/// verdict depends only on the name and the address. Cleared when full, so memory stays bounded:
/// 4 096 entries (~0.3 MB per thread) hold every big provider's addresses; 65 536 took 13 MB
/// over the analysis threads of a 1M-domain scan (docs/BENCHMARKS.md, issue #16).
const MEMO_CAPACITY: usize = 1 << 12;

thread_local! {
    static MEMO: std::cell::RefCell<std::collections::HashMap<IpAddr, (Box<str>, Generic)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`judge`], remembering the last verdict per address on this thread.
pub fn judge_memo(name: &str, ip: IpAddr) -> Generic {
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some((n, g)) = memo.get(&ip)
            && **n == *name
        {
            return *g;
        }
        let g = judge(name, ip);
        if memo.len() >= MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(ip, (name.into(), g));
        g
    })
}

/// Judges `name` (lower case) as the PTR name of `ip`.
pub fn judge(name: &str, ip: IpAddr) -> Generic {
    let mut buf = [""; MAX_TOKENS];
    let n = tokens(name, &mut buf);
    let toks = &buf[..n];
    let has = |list: &[&str]| toks.iter().any(|t| list.contains(t));
    Generic {
        embeds_address: embeds(name, ip, toks),
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
    fn the_memo_answers_as_judge_does() {
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        for name in [
            "198-51-100-7.dyn.example",
            "mail.example",
            "198-51-100-7.dyn.example",
        ] {
            assert_eq!(judge_memo(name, ip), judge(name, ip), "{name}");
        }
    }

    #[test]
    fn tokens_split_runs_and_letter_digit_changes() {
        let mut buf = [""; MAX_TOKENS];
        let n = tokens("ip198-19.dyn2x", &mut buf);
        assert_eq!(&buf[..n], ["ip", "198", "19", "dyn", "2", "x"]);
    }

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
            ("host-2001-db8-0-0-1-2-3-4.v6.example", "2001:db8::1:2:3:4"),
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
