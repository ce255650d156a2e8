#!/usr/bin/python3
"""Writes scapy_good.pcap and scapy_malformed.pcap: frames built by scapy (an
implementation independent of nfv/net) that tests/unit/sdk-net/pcap_test.cpp
parses. The expected values live in that test, one entry per frame, in this
order: change both together. Run from this directory with Debian's
python3-scapy; the .pcap files are committed, so the tests do not need scapy.
"""
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1AD, Dot1Q, Ether, ICMPv6EchoRequest,
                       IPOption_RR, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, wrpcap)
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.layers.inet6 import in6_chksum
from scapy.layers.ipsec import AH
from scapy.layers.vxlan import VXLAN

A, B = "52:54:00:00:00:01", "52:54:00:00:00:02"
E = lambda **kw: Ether(src=A, dst=B, **kw)
ts = 1700000000.0


def frames_good():
    return [
        E() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=5678) / b"hello",
        E() / Dot1Q(vlan=100, prio=5) / IP(src="10.0.0.1", dst="10.0.0.2") /
        TCP(sport=1234, dport=443, flags="S", seq=1000,
            options=[("MSS", 1460), ("WScale", 7), ("SAckOK", b""), ("Timestamp", (1, 0))]),
        E() / Dot1AD(vlan=200) / Dot1Q(vlan=300) / IPv6(src="2001:db8::1", dst="2001:db8::2") /
        ICMPv6EchoRequest(id=7, seq=1, data=b"ping"),
        Ether(src=A, dst=B) / ARP(op=2, hwsrc=A, psrc="10.0.0.1", hwdst=B, pdst="10.0.0.2"),
        E() / IP(src="10.0.0.1", dst="10.0.0.2", options=[IPOption_RR(routers=["1.2.3.4"])]) /
        ICMP(type=8, id=3, seq=4) / b"abcd",
        E() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() /
        IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(addresses=["2001:db8::9"]) /
        IPv6ExtHdrFragment(m=1, id=99) / UDP(sport=53, dport=53) / b"dns",
        E() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(offset=100, nh=6, id=99) /
        Raw(b"x" * 24),
        E() / IP(src="10.0.0.1", dst="10.0.0.2", frag=10, proto=17) / Raw(b"y" * 30),
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=50000, dport=4789) / VXLAN(vni=5000) /
        Ether(src=B, dst=A) / IP(src="172.16.0.1", dst="172.16.0.2") / UDP(sport=7, dport=9) / b"inner",
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=2152, dport=2152) /
        GTP_U_Header(teid=0x1234, gtp_type=255, E=1, next_ex=0x85) / GTPPDUSessionContainer(type=0, QFI=5) /
        IP(src="100.64.0.1", dst="8.8.8.8") / TCP(sport=30000, dport=80, flags="A"),
        E() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=2152, dport=2152) /
        GTP_U_Header(teid=0xabcdef01, S=1, seq=42) / IPv6(src="2001:db8:1::1", dst="2001:db8:2::2") /
        UDP(sport=1000, dport=2000) / b"t-pdu",
        E() / IPv6(src="2001:db8::1", dst="2001:db8::2") / AH(nh=6, payloadlen=4, spi=0x100, seq=1, icv=b"\x00" * 12) /
        TCP(sport=22, dport=2222, flags="PA") / b"ssh",
    ]


def frames_malformed():
    ip = lambda **kw: IP(src="10.0.0.1", dst="10.0.0.2", **kw)
    v6 = lambda: IPv6(src="2001:db8::1", dst="2001:db8::2")
    gtp_zero_ext = bytes(GTP_U_Header(teid=1, E=1, next_ex=0x85, length=12)) + bytes([0, 0, 5, 0]) + bytes(4)
    return [
        E() / ip(ihl=4) / UDP() / (b"x" * 20),                                  # bad_header_length
        E() / ip(len=1000) / UDP() / (b"x" * 20),                               # truncated
        E(type=0x0800) / Raw(b"\x55" + bytes(40)),                            # bad_version
        E() / ip() / TCP(dataofs=3) / (b"x" * 20),                              # bad_header_length
        E() / v6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP(),     # bad_order
        E() / v6() / (IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
                      IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
                      IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()) / UDP(),  # too_many_headers
        E() / ip() / UDP(len=4) / (b"x" * 20),                                  # bad_length
        E() / ip() / UDP(sport=2152, dport=2152) / GTP_U_Header(teid=1, length=500) / (b"x" * 20),  # truncated
        E() / ip() / UDP(sport=2152, dport=2152) / Raw(gtp_zero_ext),                     # bad_header_length
        E() / ip() / UDP(dport=4789) / VXLAN(flags=0, vni=1) / Ether() / (b"x" * 20),  # bad_flags
        E() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / ip() / UDP(),  # too_many_headers
        E() / ip() / TCP(options=[("MSS", 1460)]) / b"x",                     # then patched: bad_option
    ]


def stamp(pkts):
    for i, p in enumerate(pkts):
        p.time = ts + i / 1e6
    return pkts


good = frames_good()
# scapy leaves TCP's checksum 0 behind an AH header: compute it over the IPv6
# pseudo-header (tshark then agrees it is right).
ah = good[-1]
ah[TCP].chksum = 0
ah[TCP].chksum = in6_chksum(6, ah[IPv6], bytes(ah[TCP]))
good = stamp([Ether(bytes(p)) for p in good])
bad = frames_malformed()
# An MSS option whose length byte (5) runs past the 4-byte options area.
raw = bytearray(bytes(bad[-1]))
raw[14 + 20 + 21] = 5
bad[-1] = Ether(bytes(raw))
stamp(bad)
wrpcap("scapy_good.pcap", good)
wrpcap("scapy_malformed.pcap", bad)
