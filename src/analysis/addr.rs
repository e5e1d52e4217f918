//! Special-purpose address ranges (RFC 6890 and successors): which addresses cannot receive
//! mail from the internet. A test world can declare some ranges public (`--public-range`).

use std::net::IpAddr;

use ipnet::IpNet;

/// What kind of special address an IP is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrClass {
    Public,
    /// RFC 1918, shared address space (RFC 6598), unique local (RFC 4193).
    Private,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// Any other special-purpose range.
    Bogon,
}

const PRIVATE: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];
const LOOPBACK: [&str; 2] = ["127.0.0.0/8", "::1/128"];
/// RFC 6890 §2.2.2/§2.2.3 and later registrations, minus the private and loopback rows.
const BOGON: [&str; 22] = [
    "0.0.0.0/8",
    "169.254.0.0/16",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.31.196.0/24",
    "192.52.193.0/24",
    "192.175.48.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "3fff::/20",
    "5f00::/16",
    "fe80::/10",
    "ff00::/8",
];

/// Ranges as (network, mask) integers: a lookup is a few AND-compares, no parsing.
#[derive(Debug, Clone, Default)]
struct Ranges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Ranges {
    fn new(nets: impl IntoIterator<Item = IpNet>) -> Ranges {
        let mut r = Ranges::default();
        for n in nets {
            match n {
                IpNet::V4(n) => r.v4.push((n.network().into(), n.netmask().into())),
                IpNet::V6(n) => r.v6.push((n.network().into(), n.netmask().into())),
            }
        }
        r
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v) => {
                let x = u32::from(v);
                self.v4.iter().any(|(net, mask)| x & mask == *net)
            }
            IpAddr::V6(v) => {
                let x = u128::from(v);
                self.v6.iter().any(|(net, mask)| x & mask == *net)
            }
        }
    }
}

/// The classification table, with the ranges a test world declares public.
#[derive(Debug, Clone)]
pub struct AddrTable {
    public: Ranges,
    private: Ranges,
    loopback: Ranges,
    bogon: Ranges,
}

fn nets(list: &[&str]) -> Ranges {
    Ranges::new(
        list.iter()
            .map(|s| s.parse().expect("valid CIDR in the table")),
    )
}

impl Default for AddrTable {
    fn default() -> Self {
        AddrTable::new(Vec::new())
    }
}

impl AddrTable {
    pub fn new(public: Vec<IpNet>) -> Self {
        AddrTable {
            public: Ranges::new(public),
            private: nets(&PRIVATE),
            loopback: nets(&LOOPBACK),
            bogon: nets(&BOGON),
        }
    }

    pub fn classify(&self, ip: IpAddr) -> AddrClass {
        // An IPv4-mapped address is judged as the IPv4 address it carries.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if self.public.contains(ip) {
            AddrClass::Public
        } else if self.loopback.contains(ip) {
            AddrClass::Loopback
        } else if self.private.contains(ip) {
            AddrClass::Private
        } else if self.bogon.contains(ip) {
            AddrClass::Bogon
        } else {
            AddrClass::Public
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let t = AddrTable::default();
        let c = |s: &str| t.classify(s.parse().unwrap());
        assert_eq!(c("10.1.2.3"), AddrClass::Private);
        assert_eq!(c("100.64.0.1"), AddrClass::Private);
        assert_eq!(c("fd00::1"), AddrClass::Private);
        assert_eq!(c("127.0.0.2"), AddrClass::Loopback);
        assert_eq!(c("::1"), AddrClass::Loopback);
        assert_eq!(c("::ffff:127.0.0.1"), AddrClass::Loopback);
        assert_eq!(c("192.0.2.25"), AddrClass::Bogon);
        assert_eq!(c("198.18.1.10"), AddrClass::Bogon);
        assert_eq!(c("2001:db8::1"), AddrClass::Bogon);
        assert_eq!(c("fe80::1"), AddrClass::Bogon);
        assert_eq!(c("8.8.8.8"), AddrClass::Public);
        assert_eq!(c("2a00:1450::1"), AddrClass::Public);
        let test_world = AddrTable::new(vec!["198.18.0.0/15".parse().unwrap()]);
        assert_eq!(
            test_world.classify("198.18.1.10".parse().unwrap()),
            AddrClass::Public
        );
    }
}
