#!/usr/bin/env python3
"""Generates the sample world of data/: zone files, the domain list, senders.csv and the
expected findings, from the scenarios declared below.

Each scenario declares its records and, next to them, the findings a scan must report, so the
expected file can be reviewed against the data that causes it. The interpretation rules the
expectations follow are in data/README.md. Run from the repository root:

    python3 scripts/gen-sample-world.py             # rewrites data/zones, data/*.txt, data/*.csv
    python3 scripts/gen-sample-world.py --out DIR   # writes them under DIR instead (tests)
"""
import ipaddress
import os
import shutil

import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")
if len(sys.argv) == 3 and sys.argv[1] == "--out":
    DATA = sys.argv[2]
elif len(sys.argv) != 1:
    raise SystemExit("usage: gen-sample-world.py [--out DIR]")
TTL = 3600

# Reverse zones served, by the network they cover.
REVERSE_ZONES = {
    "18.198.in-addr.arpa": ipaddress.ip_network("198.18.0.0/16"),
    "19.198.in-addr.arpa": ipaddress.ip_network("198.19.0.0/16"),
    "2.0.192.in-addr.arpa": ipaddress.ip_network("192.0.2.0/24"),
    "10.in-addr.arpa": ipaddress.ip_network("10.0.0.0/8"),
    "127.in-addr.arpa": ipaddress.ip_network("127.0.0.0/8"),
    "8.b.d.0.1.0.0.2.ip6.arpa": ipaddress.ip_network("2001:db8::/32"),
}
FORWARD_ZONES = ["test", "invalid", "localhost"]


class World:
    def __init__(self):
        self.records = {z: [] for z in FORWARD_ZONES + list(REVERSE_ZONES)}
        self.domains = []  # scan order
        self.senders = []  # (domain, ip)
        self.expected = []  # (domain, code, severity, subject)
        self.policies = []  # (zone, deny|refuse)
        self.spf_declared = set()  # domains given an SPF record (the others expect SPF_NONE)
        self.dmarc_declared = set()  # domains whose DMARC discovery finds something
        self.auth_declared = set()  # domains whose mail-auth findings are all declared by hand

    # -- records ---------------------------------------------------------------------------
    def zone_of(self, name):
        name = name.rstrip(".").lower()
        best = None
        for z in self.records:
            if (name == z or name.endswith("." + z)) and (best is None or len(z) > len(best)):
                best = z
        if best is None:
            raise ValueError(f"{name} is in no zone of the world")
        return best

    def rr(self, owner, rtype, data):
        owner = owner.rstrip(".") + "."
        self.records[self.zone_of(owner)].append(f"{owner} {TTL} IN {rtype} {data}")

    def a(self, name, ip):
        ip = ipaddress.ip_address(ip)
        self.rr(name, "A" if ip.version == 4 else "AAAA", str(ip))

    def ptr(self, ip, target):
        self.rr(ipaddress.ip_address(ip).reverse_pointer, "PTR", target.rstrip(".") + ".")

    def host(self, name, *ips, ptr=True):
        """Addresses of a host, each with a forward-confirming PTR back to it."""
        for ip in ips:
            self.a(name, ip)
            if ptr:
                self.ptr(ip, name)

    def mx(self, domain, pref, target):
        self.rr(domain, "MX", f"{pref} {target.rstrip('.')}.")

    def txt(self, owner, *strings):
        """A TXT record of one or more character-strings."""
        quoted = " ".join('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in strings)
        self.rr(owner, "TXT", quoted)

    def spf(self, domain, *strings):
        self.spf_declared.add(domain)
        self.txt(domain, *strings)

    def dmarc(self, domain, record, at=None):
        """`domain`'s DMARC record, published at `_dmarc.<at or domain>`."""
        self.dmarc_declared.add(domain)
        self.txt(f"_dmarc.{at or domain}", record)

    # -- expectations ----------------------------------------------------------------------
    def domain(self, name, *findings):
        """Adds a domain to the scan list with its expected findings (code, severity[, subject])."""
        self.domains.append(name)
        for f in findings:
            self.expect(name, *f)

    def expect(self, domain, code, severity, subject=""):
        self.expected.append((domain, code, severity, subject))

    def sender(self, domain, ip, *findings):
        self.senders.append((domain, ip))
        for code, severity in findings:
            self.expect(domain, code, severity, ip)

    # -- building blocks -------------------------------------------------------------------
    def single_dual_stack(self, domain, host, v4, v6):
        """One exchange with one A and one AAAA, both forward-confirmed: the findings every
        single-host domain gets."""
        self.mx(domain, 10, host)
        self.host(host, v4, v6)
        return [("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_NETWORK", "INFO")]

    def two_hosts(self, domain, n, ptr_names=None):
        """A healthy self-hosted pair: two exchanges in different /24s and /48s, dual stack."""
        hosts = [f"mx1.{domain}", f"mx2.{domain}"]
        addrs = [(f"198.19.{n}.1", f"2001:db8:{n:x}::1"), (f"198.19.{n + 1}.1", f"2001:db8:{n + 1:x}::1")]
        for i, (h, (v4, v6)) in enumerate(zip(hosts, addrs)):
            self.mx(domain, 10 * (i + 1), h)
            self.host(h, v4, v6, ptr=ptr_names is None)
            if ptr_names is not None:
                for ip, name in zip((v4, v6), ptr_names[i]):
                    if name is not None:
                        self.ptr(ip, name)
        return addrs


def build():
    w = World()
    for z in FORWARD_ZONES + list(REVERSE_ZONES):
        w.rr(z, "SOA", f"ns.{z}. hostmaster.{z}. 2026112301 3600 600 86400 300")
        w.rr(z, "NS", f"ns.{z}.")
    w.a("ns.test", "198.18.0.53")
    w.a("localhost", "127.0.0.1")
    w.ptr("127.0.0.1", "localhost")

    # Shared providers --------------------------------------------------------------------
    # BigMail: two exchanges, dual stack, PTRs in its infrastructure domain (as 1e100.net).
    for i, n in ((1, 1), (2, 2)):
        host = f"mx{i}.bigmail.test"
        for ip in (f"198.18.{n}.10", f"2001:db8:{n}::10"):
            w.a(host, ip)
            w.a(f"mail-{n}.bm-infra.test", ip)
            w.ptr(ip, f"mail-{n}.bm-infra.test")
    # Exchangeish: one per-customer exchange on two shared IPv4 addresses, no IPv6.
    for n in (3, 4):
        w.host(f"mail-{n}.outlookish.test", f"198.18.{n}.10")
    # FilterPro: two exchanges, IPv4 only.
    w.host("mx1.filterpro.test", "198.18.5.10")
    w.host("mx2.filterpro.test", "198.18.6.10")
    # HostCo: shared hosting, one exchange on one address.
    w.host("mail.hostco.test", "198.18.7.10")

    def bigmail(d):
        w.mx(d, 10, "mx1.bigmail.test")
        w.mx(d, 20, "mx2.bigmail.test")

    # The providers' SPF: BigMail's two levels deep (as Google's _spf → _netblocks), covering
    # its exchanges; Exchangeish's one record.
    w.txt("_spf.bigmail.test", "v=spf1 include:_netblocks.bigmail.test ",
          "include:_netblocks6.bigmail.test -all")
    w.txt("_netblocks.bigmail.test", "v=spf1 ip4:198.18.1.0/24 ip4:198.18.2.0/24 ~all")
    w.txt("_netblocks6.bigmail.test", "v=spf1 ip6:2001:db8:1::/48 ip6:2001:db8:2::/48 ~all")
    w.txt("spf.protection.outlookish.test", "v=spf1 ip4:198.18.3.0/24 ip4:198.18.4.0/24 -all")

    for i in range(1, 151):
        d = f"shop{i}.test"
        bigmail(d)
        # Most shops publish SPF through the provider and a DMARC policy; the last ten nothing.
        if i <= 140:
            w.spf(d, "v=spf1 include:_spf.bigmail.test -all")
            w.dmarc(d, f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")
        w.domain(d)
    for i in range(1, 61):
        d = f"corp{i}.test"
        host = f"corp{i}-test.mail.protection.outlookish.test"
        w.mx(d, 0, host)
        w.a(host, "198.18.3.10")
        w.a(host, "198.18.4.10")
        w.spf(d, "v=spf1 include:spf.protection.outlookish.test -all")
        w.dmarc(d, f"v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc@{d}")
        w.domain(d, ("MX_SINGLE_HOST", "INFO"), ("MX_NO_IPV6", "INFO"))
    for i in range(1, 31):
        d = f"bank{i}.test"
        w.mx(d, 10, "mx1.filterpro.test")
        w.mx(d, 10, "mx2.filterpro.test")
        w.spf(d, "v=spf1 ip4:198.18.5.10 ip4:198.18.6.10 -all")
        w.dmarc(d, f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")
        w.domain(d, ("MX_NO_IPV6", "INFO"))
    for i in range(1, 21):
        d = f"club{i}.test"
        w.mx(d, 10, "mail.hostco.test")
        w.domain(d, ("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_ADDRESS", "WARN"),
                 ("MX_SINGLE_NETWORK", "INFO"), ("MX_NO_IPV6", "INFO"))
    for i in range(1, 21):
        d = f"selfhost{i}.test"
        w.two_hosts(d, 100 + 2 * i)
        w.spf(d, "v=spf1 mx -all")
        w.dmarc(d, f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")
        w.domain(d)
    # An IDN domain: the list gives it in UTF-8 (bücher.test), the zone holds its A-label.
    bigmail("xn--bcher-kva.test")
    w.domain("xn--bcher-kva.test")

    # Domain level -------------------------------------------------------------------------
    w.domain("gone-away.test", ("DOMAIN_NXDOMAIN", "ERROR"))
    w.rr("alias-corp.test", "CNAME", "corp-real.test.")
    bigmail("corp-real.test")
    w.domain("alias-corp.test", ("DOMAIN_CNAME", "INFO"))
    w.rr("dangling-alias.test", "CNAME", "nowhere-real.test.")
    w.domain("dangling-alias.test", ("DOMAIN_CNAME", "INFO"), ("DOMAIN_CNAME_DANGLING", "ERROR"))
    w.rr("loop-a.test", "CNAME", "loop-b.test.")
    w.rr("loop-b.test", "CNAME", "loop-a.test.")
    # The resolver answers SERVFAIL for the loop's TXT too; `_dmarc.loop-a.test` does not exist.
    w.domain("loop-a.test", ("DOMAIN_CNAME", "INFO"), ("DOMAIN_CNAME_LOOP", "ERROR"),
             ("SPF_TEMPERROR", "INDETERMINATE"), ("DMARC_NONE", "WARN"))
    w.auth_declared.add("loop-a.test")
    # Nine hops: within what Unbound follows (11), beyond the 8 the findings spec allows.
    chain = ["long-chain.test"] + [f"hop{k}.long-chain-target.test" for k in range(1, 10)]
    for src, dst in zip(chain, chain[1:]):
        w.rr(src, "CNAME", dst + ".")
    bigmail(chain[-1])
    w.domain("long-chain.test", ("DOMAIN_CNAME", "INFO"), ("DOMAIN_CNAME_LOOP", "ERROR"))
    w.host("implicit-ok.test", "198.19.2.20")
    w.domain("implicit-ok.test", ("IMPLICIT_MX", "INFO"))
    w.spf("no-route.test", "v=spf1 -all")
    w.domain("no-route.test", ("NO_MAIL_ROUTE", "ERROR"))
    w.mx("null-mx.test", 0, ".")
    w.domain("null-mx.test", ("MX_NULL", "INFO"))
    w.mx("null-plus.test", 0, ".")
    w.mx("null-plus.test", 10, "mx1.bigmail.test")
    w.domain("null-plus.test", ("MX_NULL_WITH_OTHERS", "ERROR"), ("MX_SINGLE_HOST", "INFO"),
             ("MX_SINGLE_NETWORK", "INFO"))
    w.mx("null-pref.test", 10, ".")
    w.domain("null-pref.test", ("MX_ROOT_TARGET_NONZERO_PREF", "WARN"))

    # MX set -------------------------------------------------------------------------------
    w.mx("primary-down.test", 10, "mx.primary-down.test")
    w.mx("primary-down.test", 20, "mx1.bigmail.test")
    w.domain("primary-down.test", ("MX_TARGET_NXDOMAIN", "WARN", "mx.primary-down.test"),
             ("MX_PRIMARY_UNUSABLE", "WARN"), ("MX_SINGLE_NETWORK", "INFO"))
    w.mx("one-net.test", 10, "mx1.one-net.test")
    w.mx("one-net.test", 20, "mx2.one-net.test")
    w.host("mx1.one-net.test", "198.19.3.1")
    w.host("mx2.one-net.test", "198.19.3.2")
    w.domain("one-net.test", ("MX_SINGLE_NETWORK", "INFO"), ("MX_NO_IPV6", "INFO"))
    w.mx("dup-host.test", 10, "mx1.bigmail.test")
    w.mx("dup-host.test", 20, "mx1.bigmail.test")
    w.domain("dup-host.test", ("MX_DUPLICATE_HOST", "INFO"), ("MX_SINGLE_HOST", "INFO"),
             ("MX_SINGLE_NETWORK", "INFO"))
    w.mx("shared-addr.test", 10, "mx1.shared-addr.test")
    w.mx("shared-addr.test", 20, "mx2.shared-addr.test")
    w.host("mx1.shared-addr.test", "198.19.4.1")
    w.a("mx2.shared-addr.test", "198.19.4.1")
    w.domain("shared-addr.test", ("MX_SHARED_ADDRESS", "INFO"), ("MX_SINGLE_ADDRESS", "WARN"),
             ("MX_SINGLE_NETWORK", "INFO"), ("MX_NO_IPV6", "INFO"))
    for k in range(1, 12):
        host = f"mx{k}.many-mx.test"
        w.mx("many-mx.test", 10 * k, host)
        w.host(host, f"198.19.{69 + k}.1")
    w.host("mx1.many-mx.test", "2001:db8:5::1")
    w.domain("many-mx.test", ("MX_TOO_MANY", "WARN"))

    # MX target name -----------------------------------------------------------------------
    w.mx("ip-literal.test", 10, "198.18.1.10")
    w.domain("ip-literal.test", ("MX_TARGET_IP_LITERAL", "ERROR", "198.18.1.10"),
             ("MX_ALL_UNUSABLE", "ERROR"), ("MX_SINGLE_HOST", "INFO"))
    single = w.single_dual_stack("bad-syntax.test", "mail-.bad-syntax.test", "198.19.6.1", "2001:db8:6::1")
    w.domain("bad-syntax.test", ("MX_TARGET_SYNTAX", "WARN", "mail-.bad-syntax.test"), *single)
    w.mx("localhost-mx.test", 10, "localhost")
    w.domain("localhost-mx.test", ("MX_TARGET_LOCALHOST", "ERROR", "localhost"),
             ("ADDR_LOOPBACK", "ERROR", "127.0.0.1"), ("MX_ALL_UNUSABLE", "ERROR"),
             ("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_ADDRESS", "WARN"), ("MX_SINGLE_NETWORK", "INFO"),
             ("MX_NO_IPV6", "INFO"))
    w.mx("special-use.test", 10, "mail.special-use.invalid")
    w.domain("special-use.test", ("MX_TARGET_SPECIAL_USE", "ERROR", "mail.special-use.invalid"),
             ("MX_TARGET_NXDOMAIN", "ERROR", "mail.special-use.invalid"), ("MX_ALL_UNUSABLE", "ERROR"),
             ("MX_SINGLE_HOST", "INFO"))
    w.mx("target-nx.test", 10, "mail.target-nx.test")
    w.domain("target-nx.test", ("MX_TARGET_NXDOMAIN", "ERROR", "mail.target-nx.test"),
             ("MX_ALL_UNUSABLE", "ERROR"), ("MX_SINGLE_HOST", "INFO"))
    w.mx("no-addr.test", 10, "mail.no-addr.test")
    w.rr("mail.no-addr.test", "TXT", '"no address here"')
    w.domain("no-addr.test", ("MX_TARGET_NO_ADDRESS", "ERROR", "mail.no-addr.test"),
             ("MX_ALL_UNUSABLE", "ERROR"), ("MX_SINGLE_HOST", "INFO"))
    w.mx("target-cname.test", 10, "mail.target-cname.test")
    w.rr("mail.target-cname.test", "CNAME", "mx1.bigmail.test.")
    w.domain("target-cname.test", ("MX_TARGET_CNAME", "WARN", "mail.target-cname.test"),
             ("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_NETWORK", "INFO"))
    w.mx("cname-dangling.test", 10, "mail.cname-dangling.test")
    w.rr("mail.cname-dangling.test", "CNAME", "gone.cname-dangling.test.")
    w.domain("cname-dangling.test", ("MX_TARGET_CNAME", "WARN", "mail.cname-dangling.test"),
             ("MX_TARGET_CNAME_DANGLING", "ERROR", "mail.cname-dangling.test"),
             ("MX_ALL_UNUSABLE", "ERROR"), ("MX_SINGLE_HOST", "INFO"))
    w.mx("v6-only.test", 10, "mail.v6-only.test")
    w.host("mail.v6-only.test", "2001:db8:7::1")
    w.domain("v6-only.test", ("MX_TARGET_IPV6_ONLY", "ERROR", "mail.v6-only.test"),
             ("MX_ALL_UNUSABLE", "ERROR"), ("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_ADDRESS", "WARN"),
             ("MX_SINGLE_NETWORK", "INFO"))
    # A delegation whose name server has no address: every resolver answers SERVFAIL below it.
    w.rr("lame.target-temp.test", "NS", "ns.nowhere.invalid.")
    w.mx("target-temp.test", 10, "mail.lame.target-temp.test")
    # Its TLSA lookup (`--checks all`) fails the same way.
    w.domain("target-temp.test", ("MX_TARGET_TEMPERROR", "INDETERMINATE", "mail.lame.target-temp.test"),
             ("MX_SINGLE_HOST", "INFO"),
             ("MAILAUTH_TEMPERROR", "INDETERMINATE", "mail.lame.target-temp.test"))

    # Addresses ----------------------------------------------------------------------------
    w.mx("private-mx.test", 10, "mail.private-mx.test")
    w.a("mail.private-mx.test", "10.1.2.3")
    w.domain("private-mx.test", ("ADDR_PRIVATE", "ERROR", "10.1.2.3"), ("PTR_MISSING", "INFO", "10.1.2.3"),
             ("MX_ALL_UNUSABLE", "ERROR"), ("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_ADDRESS", "WARN"),
             ("MX_SINGLE_NETWORK", "INFO"), ("MX_NO_IPV6", "INFO"))
    bigmail("half-private.test")
    w.mx("half-private.test", 30, "backup.half-private.test")
    w.a("backup.half-private.test", "10.9.9.9")
    w.domain("half-private.test", ("ADDR_PRIVATE", "WARN", "10.9.9.9"), ("PTR_MISSING", "INFO", "10.9.9.9"))
    w.mx("loopback-a.test", 10, "mail.loopback-a.test")
    w.a("mail.loopback-a.test", "127.0.0.2")
    w.domain("loopback-a.test", ("ADDR_LOOPBACK", "ERROR", "127.0.0.2"), ("PTR_MISSING", "INFO", "127.0.0.2"),
             ("MX_ALL_UNUSABLE", "ERROR"), ("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_ADDRESS", "WARN"),
             ("MX_SINGLE_NETWORK", "INFO"), ("MX_NO_IPV6", "INFO"))
    w.mx("bogon-mx.test", 10, "mail.bogon-mx.test")
    w.host("mail.bogon-mx.test", "192.0.2.25")
    w.domain("bogon-mx.test", ("ADDR_BOGON", "ERROR", "192.0.2.25"), ("MX_ALL_UNUSABLE", "ERROR"),
             ("MX_SINGLE_HOST", "INFO"), ("MX_SINGLE_ADDRESS", "WARN"), ("MX_SINGLE_NETWORK", "INFO"),
             ("MX_NO_IPV6", "INFO"))

    # Reverse DNS of MX addresses (role: receive) --------------------------------------------
    def two_hosts_with_ptr(domain, n, first_ptr):
        """A healthy pair whose first IPv4 address gets the PTR `first_ptr` (None = no PTR)."""
        (v4, _), _ = w.two_hosts(domain, n, ptr_names=[
            (first_ptr, f"mx1.{domain}"), (f"mx2.{domain}", f"mx2.{domain}")])
        return v4

    ip = two_hosts_with_ptr("ptr-missing.test", 20, None)
    w.domain("ptr-missing.test", ("PTR_MISSING", "INFO", ip))
    ip = two_hosts_with_ptr("ptr-fail.test", 22, "mx9.elsewhere.test")
    w.a("mx9.elsewhere.test", "198.19.99.99")
    w.domain("ptr-fail.test", ("PTR_FCRDNS_FAIL", "WARN", ip))
    w.rr("24.19.198.in-addr.arpa", "NS", "ns.nowhere.invalid.")
    ip = two_hosts_with_ptr("ptr-temp.test", 24, None)
    w.domain("ptr-temp.test", ("PTR_TEMPERROR", "INDETERMINATE", ip))
    ip = two_hosts_with_ptr("ptr-generic.test", 26, "198-19-26-1.dyn.isp-pool.test")
    w.a("198-19-26-1.dyn.isp-pool.test", ip)
    w.domain("ptr-generic.test", ("PTR_GENERIC", "INFO", ip))
    ip = two_hosts_with_ptr("ptr-multi.test", 28, "mx1.ptr-multi.test")
    w.ptr(ip, "alias.ptr-multi.test")
    w.a("alias.ptr-multi.test", ip)
    w.domain("ptr-multi.test", ("PTR_MULTIPLE", "INFO", ip))
    ip = two_hosts_with_ptr("ptr-cname.test", 30, "mx1-ptr.ptr-cname.test")
    w.rr("mx1-ptr.ptr-cname.test", "CNAME", "mx1.ptr-cname.test.")
    w.domain("ptr-cname.test", ("PTR_TARGET_CNAME", "WARN", ip))

    # Senders (role: send) -----------------------------------------------------------------
    # Each sender domain's SPF authorises its senders, so that only the reverse-DNS and MX
    # coverage faults show; SPF faults of senders have their own domains below.
    (a1, a1v6), (a2, _) = w.two_hosts("multiwan-ok.test", 40)
    w.spf("multiwan-ok.test", "v=spf1 mx -all")
    w.domain("multiwan-ok.test")
    for ip in (a1, a2, a1v6):
        w.sender("multiwan-ok.test", ip)
    single = w.single_dual_stack("multiwan-gap.test", "mx1.multiwan-gap.test", "198.19.42.1", "2001:db8:42::1")
    w.host("wan2.multiwan-gap.test", "198.19.43.1")
    # The gap of the issue: SPF authorises the second WAN link, no MX host covers it.
    w.spf("multiwan-gap.test", "v=spf1 mx ip4:198.19.43.1 -all")
    w.domain("multiwan-gap.test", *single)
    w.sender("multiwan-gap.test", "198.19.42.1")
    w.sender("multiwan-gap.test", "198.19.43.1", ("SENDER_IP_NOT_IN_MX", "WARN"))
    (b1, _), _ = w.two_hosts("wan-noptr.test", 44)
    w.spf("wan-noptr.test", "v=spf1 mx ip4:198.19.46.1 -all")
    w.domain("wan-noptr.test")
    w.sender("wan-noptr.test", b1)
    w.sender("wan-noptr.test", "198.19.46.1", ("SENDER_IP_NOT_IN_MX", "WARN"), ("PTR_MISSING", "ERROR"),
             ("EGRESS_IPREV_GAP", "ERROR"))
    w.two_hosts("wan-fail.test", 48)
    w.ptr("198.19.47.1", "wan.wan-fail.test")
    w.a("wan.wan-fail.test", "198.19.99.98")
    w.spf("wan-fail.test", "v=spf1 mx ip4:198.19.47.1 -all")
    w.domain("wan-fail.test")
    w.sender("wan-fail.test", "198.19.47.1", ("SENDER_IP_NOT_IN_MX", "WARN"), ("PTR_FCRDNS_FAIL", "ERROR"),
             ("EGRESS_IPREV_GAP", "ERROR"))
    w.two_hosts("wan-generic.test", 51)
    w.ptr("198.19.50.7", "198-19-50-7.dsl.isp-pool.test")
    w.a("198-19-50-7.dsl.isp-pool.test", "198.19.50.7")
    w.spf("wan-generic.test", "v=spf1 mx ip4:198.19.50.7 -all")
    w.domain("wan-generic.test")
    w.sender("wan-generic.test", "198.19.50.7", ("SENDER_IP_NOT_IN_MX", "WARN"), ("PTR_GENERIC", "WARN"),
             ("PTR_UNALIGNED", "INFO"), ("EGRESS_IPREV_GAP", "ERROR"))
    (c1, _), (c2, _) = w.two_hosts("wan-unaligned.test", 53, ptr_names=[
        ("srv53.hostco.test", "srv53.hostco.test"), ("srv54.hostco.test", "srv54.hostco.test")])
    w.a("srv53.hostco.test", c1)
    w.a("srv53.hostco.test", "2001:db8:35::1")
    w.a("srv54.hostco.test", c2)
    w.a("srv54.hostco.test", "2001:db8:36::1")
    w.spf("wan-unaligned.test", "v=spf1 mx -all")
    w.domain("wan-unaligned.test")
    w.sender("wan-unaligned.test", c1, ("PTR_UNALIGNED", "INFO"))
    w.mx("nullmx-sender.test", 0, ".")
    w.host("out.nullmx-sender.test", "198.19.55.1")
    w.spf("nullmx-sender.test", "v=spf1 ip4:198.19.55.1 -all")
    w.domain("nullmx-sender.test", ("MX_NULL", "INFO"))
    w.sender("nullmx-sender.test", "198.19.55.1", ("SENDER_IP_NOT_IN_MX", "WARN"))
    w.expect("nullmx-sender.test", "REVERSE_MX_FAIL", "ERROR")

    # Measurement --------------------------------------------------------------------------
    w.rr("servfail-dns.test", "NS", "ns.nowhere.invalid.")
    # Their TXT lookups fail as their MX lookup does.
    auth_failed = [("SPF_TEMPERROR", "INDETERMINATE"), ("MAILAUTH_TEMPERROR", "INDETERMINATE")]
    w.domain("servfail-dns.test", ("DNS_SERVFAIL", "INDETERMINATE"), *auth_failed)
    w.policies.append(("timeout-dns.test", "deny"))
    w.domain("timeout-dns.test", ("DNS_TIMEOUT", "INDETERMINATE"), *auth_failed)
    w.policies.append(("refused-dns.test", "refuse"))
    w.domain("refused-dns.test", ("DNS_REFUSED", "INDETERMINATE"), *auth_failed)
    w.auth_declared |= {"servfail-dns.test", "timeout-dns.test", "refused-dns.test"}
    # Ten exchanges with long names: the MX answer exceeds 1232 bytes and completes over TCP.
    for k in range(1, 11):
        # Distinct labels, so name compression cannot shrink the answer below 1232 bytes.
        host = f"{'a' * 58}{k:02d}.{'b' * 58}{k:02d}.big-mx.test"
        w.mx("big-mx.test", 10 * k, host)
        w.host(host, f"198.19.{59 + k}.1")
    w.host(f"{'a' * 58}01.{'b' * 58}01.big-mx.test", "2001:db8:60::1")
    w.domain("big-mx.test", ("DNS_TRUNCATED", "INFO"))

    mail_auth(w)
    # Every other domain that exists without SPF or DMARC records.
    for d in w.domains:
        codes = {e[1] for e in w.expected if e[0] == d}
        if d in w.auth_declared or codes & {"DOMAIN_NXDOMAIN", "DOMAIN_CNAME_DANGLING"}:
            continue
        if d not in w.spf_declared:
            w.expect(d, "SPF_NONE", "WARN")
        if d not in w.dmarc_declared:
            w.expect(d, "DMARC_NONE", "WARN")
    return w


def mail_auth(w):
    """SPF, DMARC, MTA-STS, TLS-RPT and TLSA scenarios (expected under `--checks all`): each
    domain has one healthy exchange and the records its name says."""
    n = iter(range(150, 200))

    def healthy(d, *findings, spf="v=spf1 mx -all", dmarc=True):
        k = next(n)
        found = w.single_dual_stack(d, f"mx.{d}", f"198.19.{k}.1", f"2001:db8:{k:x}::1")
        if spf is not None:
            w.spf(d, spf)
        if dmarc:
            w.dmarc(d, f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")
        w.domain(d, *found, *findings)
        return f"198.19.{k}.1", f"2001:db8:{k:x}::1"

    # Everything right, every family: provider-style records, multi-string TXT.
    healthy("auth-ok.test")
    w.rr("auth-ok.test", "TXT", '"site-verification=caf\\195\\169"')  # not ASCII: ignored
    w.txt("_mta-sts.auth-ok.test", "v=STSv1; id=20261201T000000;")
    w.txt("_smtp._tls.auth-ok.test", "v=TLSRPTv1; ", "rua=mailto:tls@auth-ok.test")
    w.rr("_25._tcp.mx.auth-ok.test", "TLSA", "3 1 1 " + "ab" * 32)

    # SPF ---------------------------------------------------------------------------------
    d = "spf-multiple.test"
    w.txt(d, "v=spf1 mx -all")
    healthy(d, ("SPF_MULTIPLE", "ERROR"), spf="v=spf1 a -all")
    healthy("spf-syntax.test", ("SPF_SYNTAX", "ERROR"), spf="v=spf1 ipv4:198.19.1.1 -all")
    healthy("spf-include-none.test", ("SPF_INCLUDE_NONE", "ERROR"),
            spf="v=spf1 mx include:_spf.nowhere.spf-include-none.test -all")
    d = "spf-lookups.test"
    for k in range(1, 12):
        w.a(f"h{k}.{d}", "198.19.149.1")
    healthy(d, ("SPF_TOO_MANY_LOOKUPS", "ERROR"),
            spf="v=spf1 " + " ".join(f"a:h{k}.{d}" for k in range(1, 12)) + " -all")
    d = "spf-void.test"
    healthy(d, ("SPF_VOID_LOOKUPS", "ERROR"),
            spf=f"v=spf1 mx a:gone1.{d} a:gone2.{d} a:gone3.{d} -all")
    d = "spf-loop.test"
    w.txt(f"_spf.{d}", f"v=spf1 include:{d} -all")
    healthy(d, ("SPF_LOOP", "ERROR"), spf=f"v=spf1 mx include:_spf.{d} -all")
    healthy("spf-pass-all.test", ("SPF_PASS_ALL", "WARN"), spf="v=spf1 mx +all")
    healthy("spf-ptr.test", ("SPF_PTR", "WARN"), spf="v=spf1 ptr -all")
    v4, v6 = healthy("spf-mx-not-authorised.test", spf="v=spf1 ip4:198.19.149.9 -all")
    w.expect("spf-mx-not-authorised.test", "SPF_MX_NOT_AUTHORISED", "INFO", v4)
    w.expect("spf-mx-not-authorised.test", "SPF_MX_NOT_AUTHORISED", "INFO", v6)
    # Senders outside the MX and outside SPF (forward-confirmed PTRs, so only SPF shows).
    for d, qualifier, code, severity in (
        ("spf-sender-fail.test", "-", "SPF_SENDER_FAIL", "ERROR"),
        ("spf-sender-soft.test", "~", "SPF_SENDER_NOT_PASS", "WARN"),
    ):
        healthy(d, spf=f"v=spf1 mx {qualifier}all")
        ip = f"198.19.{next(n)}.1"
        w.host(f"out.{d}", ip)
        w.sender(d, ip, ("SENDER_IP_NOT_IN_MX", "WARN"), (code, severity))
    # An include whose zone's servers fail.
    healthy("spf-temperror.test", ("SPF_TEMPERROR", "INDETERMINATE"),
            spf="v=spf1 mx include:_spf.servfail-dns.test -all")

    # DMARC -------------------------------------------------------------------------------
    d = "dmarc-multiple.test"
    w.txt(f"_dmarc.{d}", "v=DMARC1; p=none")
    w.dmarc(d, "v=DMARC1; p=reject")
    healthy(d, ("DMARC_MULTIPLE", "ERROR"), dmarc=False)
    d = "dmarc-syntax.test"
    w.dmarc(d, "v=DMARC1; p=maybe; rua=mailto:d@dmarc-syntax.test")
    healthy(d, ("DMARC_SYNTAX", "ERROR"), dmarc=False)
    d = "dmarc-monitor.test"
    w.dmarc(d, f"v=DMARC1; p=none; rua=mailto:d@{d}")
    healthy(d, ("DMARC_POLICY_NONE", "INFO"), dmarc=False)
    d = "dmarc-no-rua.test"
    w.dmarc(d, "v=DMARC1; p=quarantine")
    healthy(d, ("DMARC_NO_RUA", "INFO"), dmarc=False)
    # External report destinations: one that accepts the domain's reports, one that does not.
    w.txt("dmarc-ext-ok.test._report._dmarc.reports.test", "v=DMARC1")
    d = "dmarc-ext-ok.test"
    w.dmarc(d, "v=DMARC1; p=reject; rua=mailto:agg@reports.test")
    healthy(d, dmarc=False)
    d = "dmarc-ext-denied.test"
    w.dmarc(d, "v=DMARC1; p=reject; rua=mailto:agg@reports.test,mailto:me@dmarc-ext-denied.test")
    healthy(d, ("DMARC_RUA_NOT_AUTHORISED", "WARN", "reports.test"), dmarc=False)
    # The tree walk: a subdomain without its own record gets its parent's `sp`.
    w.dmarc("mail.dmarc-walk.test", "v=DMARC1; p=reject; sp=none; rua=mailto:d@dmarc-walk.test",
            at="dmarc-walk.test")
    healthy("mail.dmarc-walk.test", ("DMARC_POLICY_NONE", "INFO"), dmarc=False)

    # MTA-STS, TLS-RPT, TLSA --------------------------------------------------------------
    d = "mta-sts-bad.test"
    w.txt(f"_mta-sts.{d}", "v=STSv1; id=not-alnum!")
    healthy(d, ("MTA_STS_SYNTAX", "WARN"))
    d = "tlsrpt-bad.test"
    w.txt(f"_smtp._tls.{d}", "v=TLSRPTv1; rua=ftp://reports.test/")
    healthy(d, ("TLSRPT_SYNTAX", "WARN"))
    d = "tlsa-bad.test"
    w.rr(f"_25._tcp.mx.{d}", "TLSA", "3 1 1 abcd")
    healthy(d, ("TLSA_SYNTAX", "WARN", f"mx.{d}"))
    d = "tlsa-partial.test"
    w.two_hosts(d, 196)
    w.rr(f"_25._tcp.mx1.{d}", "TLSA", "3 1 1 " + "cd" * 32)
    w.spf(d, "v=spf1 mx -all")
    w.dmarc(d, f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")
    w.domain(d, ("TLSA_PARTIAL", "WARN"))


def domain_list(w):
    """The scan input: every domain, plus the lines a real list has (IDN in UTF-8, case and
    trailing dots, duplicates, comments, blanks and malformed lines)."""
    lines = ["# mxscan sample world: domains to scan (see data/README.md)"]
    for d in w.domains:
        lines.append("bücher.test" if d == "xn--bcher-kva.test" else d)
    lines += [
        "",
        "# duplicates: each is scanned once",
        "shop1.test",
        "SHOP2.Test.",
        "  shop3.test  ",
        "# malformed lines: each goes to rejects.csv with its reason",
        "-leading-hyphen.test",
        "two words.test",
        "empty..label.test",
        "http://shop4.test/",
        "x" * 64 + ".test",
        "under@score.test",
    ]
    return "\n".join(lines) + "\n"


def zone_text(zone, records):
    head = [f"; zone {zone}. - generated by scripts/gen-sample-world.py, do not edit", f"$TTL {TTL}"]
    soa = [r for r in records if " SOA " in r]
    rest = sorted(set(r for r in records if " SOA " not in r))
    return "\n".join(head + soa + rest) + "\n"


def main():
    w = build()
    zones = os.path.join(DATA, "zones")
    shutil.rmtree(zones, ignore_errors=True)
    os.makedirs(zones)
    for zone, records in w.records.items():
        with open(os.path.join(zones, f"{zone}.zone"), "w") as f:
            f.write(zone_text(zone, records))
    with open(os.path.join(zones, "resolver-policy.conf"), "w") as f:
        f.write("# Resolver policies of the sample world, in Unbound's syntax: scripts/farm.sh includes\n"
                "# this file into every Unbound and `mxscan sim --zones` applies it the same way.\n")
        for zone, kind in w.policies:
            f.write(f'local-zone: "{zone}." {kind}\n')
    with open(os.path.join(DATA, "domains.txt"), "w", encoding="utf-8") as f:
        f.write(domain_list(w))
    with open(os.path.join(DATA, "senders.csv"), "w") as f:
        f.write("domain,ip\n")
        for d, ip in w.senders:
            f.write(f"{d},{ip}\n")
        f.write("wan-noptr.test,not-an-ip\n")
    order = {code: i for i, code in enumerate(CODES)}
    missing = set(CODES) - {e[1] for e in w.expected} - NOT_PRODUCIBLE
    if missing:
        raise SystemExit(f"codes without a sample: {sorted(missing)}")
    with open(os.path.join(DATA, "expected-findings.csv"), "w") as f:
        f.write("domain,code,severity,subject\n")
        for row in sorted(set(w.expected), key=lambda e: (e[0], order[e[1]], e[3])):
            f.write(",".join(row) + "\n")
    print(f"{len(w.domains)} domains, {len(w.senders)} senders, {len(set(w.expected))} expected findings")


# Every code of docs/findings.md, in catalogue order.
CODES = """DOMAIN_NXDOMAIN DOMAIN_CNAME DOMAIN_CNAME_DANGLING DOMAIN_CNAME_LOOP IMPLICIT_MX NO_MAIL_ROUTE
MX_NULL MX_NULL_WITH_OTHERS MX_ROOT_TARGET_NONZERO_PREF MX_ALL_UNUSABLE MX_PRIMARY_UNUSABLE
MX_SINGLE_HOST MX_SINGLE_ADDRESS MX_SINGLE_NETWORK MX_DUPLICATE_HOST MX_SHARED_ADDRESS MX_TOO_MANY
MX_NO_IPV6 MX_TARGET_IP_LITERAL MX_TARGET_SYNTAX MX_TARGET_LOCALHOST MX_TARGET_SPECIAL_USE
MX_TARGET_NXDOMAIN MX_TARGET_NO_ADDRESS MX_TARGET_CNAME MX_TARGET_CNAME_DANGLING MX_TARGET_IPV6_ONLY
MX_TARGET_TEMPERROR ADDR_PRIVATE ADDR_LOOPBACK ADDR_BOGON PTR_MISSING PTR_FCRDNS_FAIL PTR_TEMPERROR
PTR_GENERIC PTR_MULTIPLE PTR_TARGET_CNAME PTR_UNALIGNED SENDER_IP_NOT_IN_MX EGRESS_IPREV_GAP
REVERSE_MX_FAIL DNS_SERVFAIL DNS_TIMEOUT DNS_REFUSED DNS_TRUNCATED DNS_MALFORMED
SPF_NONE SPF_MULTIPLE SPF_SYNTAX SPF_INCLUDE_NONE SPF_TOO_MANY_LOOKUPS SPF_VOID_LOOKUPS SPF_LOOP
SPF_PASS_ALL SPF_PTR SPF_MX_NOT_AUTHORISED SPF_SENDER_FAIL SPF_SENDER_NOT_PASS SPF_TEMPERROR DMARC_NONE
DMARC_MULTIPLE DMARC_SYNTAX DMARC_POLICY_NONE DMARC_NO_RUA DMARC_RUA_NOT_AUTHORISED MTA_STS_SYNTAX
TLSRPT_SYNTAX TLSA_SYNTAX TLSA_PARTIAL MAILAUTH_TEMPERROR""".split()
# A correct Unbound + NSD pair never sends FORMERR or an MX only outside the answer section.
NOT_PRODUCIBLE = {"DNS_MALFORMED"}

if __name__ == "__main__":
    main()
