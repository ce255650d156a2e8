// parse_packet / parse_ip_packet / parse_inner: PacketInfo for every good
// frame, where parsing stops on bad ones, and every prefix of every frame.
#include "nfv/net/packet_info.hpp"

#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"

using namespace nfv::net;

namespace {

const test::Frame& frame(const std::vector<test::NamedFrame>& all, const char* name) {
  for (auto& f : all) {
    if (f.name == name) return f.bytes;
  }
  FAIL("no frame named " << name);
  return all.front().bytes;
}

}  // namespace

TEST_CASE("parse_packet fills PacketInfo for every good frame") {
  auto all = test::good_frames();
  for (const auto& named : all) {
    CAPTURE(named.name);
    const auto& f = named.bytes;
    PacketInfo info = parse_packet(f.data(), f.size());
    CHECK(info.ok());
  }

  SUBCASE("IPv4/UDP") {
    PacketInfo i = parse_packet(frame(all, "ipv4-udp").data(), 60);
    CHECK(i.ether_type == ether_type::ipv4);
    CHECK(i.vlan_count == 0);
    CHECK(i.l3_type == L3Type::ipv4);
    CHECK(i.l3_offset == 14);
    CHECK(i.l4_offset == 34);
    CHECK(i.payload_offset == 42);
    CHECK(i.ip_protocol == ip_proto::udp);
    CHECK(i.ttl == 64);
    CHECK(i.src_ip4() == test::kIpA);
    CHECK(i.dst_ip4() == test::kIpB);
    CHECK(i.src_ip[10] == 0xff);  // IPv4-mapped
    CHECK(i.src_port == 1234);
    CHECK(i.dst_port == 5678);
    CHECK(i.tunnel_type == TunnelType::none);
    CHECK(i.tunnel_offset == PacketInfo::kAbsent);
    CHECK(i.flags == 0);
  }
  SUBCASE("QinQ ICMP: VLAN ids outer first, ICMP type/code as ports") {
    const auto& f = frame(all, "qinq-ipv4-icmp-echo");
    PacketInfo i = parse_packet(f.data(), f.size());
    CHECK(i.vlan_count == 2);
    CHECK(i.vlan_ids[0] == 200);
    CHECK(i.vlan_ids[1] == 300);
    CHECK(i.l3_offset == 22);
    CHECK(i.ip_protocol == ip_proto::icmp);
    CHECK(i.src_port == 8);
    CHECK(i.dst_port == 0);
  }
  SUBCASE("TCP with options: payload after the options") {
    const auto& f = frame(all, "vlan-ipv4-tcp-syn");
    PacketInfo i = parse_packet(f.data(), f.size());
    CHECK(i.vlan_ids[0] == 100);
    CHECK(i.l4_offset == 38);
    CHECK(i.payload_offset == 38 + 32);
    CHECK(i.src_port == 40000);
    CHECK(i.dst_port == 80);
  }
  SUBCASE("ARP: sender and target addresses") {
    const auto& f = frame(all, "arp-request");
    PacketInfo i = parse_packet(f.data(), f.size());
    CHECK(i.l3_type == L3Type::arp);
    CHECK(i.src_ip4() == test::kIpA);
    CHECK(i.dst_ip4() == test::kIpB);
    CHECK_FALSE(i.has_l4());
  }
  SUBCASE("IPv6 with an extension chain") {
    const auto& f = frame(all, "ipv6-ext-chain-udp");
    PacketInfo i = parse_packet(f.data(), f.size());
    CHECK(i.l3_type == L3Type::ipv6);
    CHECK(i.ip_protocol == ip_proto::udp);
    CHECK(i.l4_offset == 14 + 112);
    CHECK(i.flags == (packet_flag::ipv6_extensions | packet_flag::fragment));
    CHECK(std::equal(test::kIp6A.begin(), test::kIp6A.end(), i.src_ip));
    CHECK(std::equal(test::kIp6B.begin(), test::kIp6B.end(), i.dst_ip));
    CHECK(i.src_port == 1234);
  }
  SUBCASE("fragments: first has ports, later has no L4") {
    PacketInfo first = parse_packet(frame(all, "ipv4-first-fragment").data(),
                                    frame(all, "ipv4-first-fragment").size());
    CHECK(first.flags == packet_flag::fragment);
    CHECK(first.src_port == 1234);
    for (const char* name : {"ipv4-later-fragment", "ipv6-later-fragment"}) {
      PacketInfo later = parse_packet(frame(all, name).data(), frame(all, name).size());
      CHECK(later.ok());
      CHECK(later.ip_protocol == ip_proto::udp);
      CHECK((later.flags & packet_flag::later_fragment) != 0);
      CHECK_FALSE(later.has_l4());
      CHECK(later.src_port == 0);
    }
  }
  SUBCASE("IPv4 options flag") {
    PacketInfo i =
        parse_packet(frame(all, "ipv4-options-udp").data(), frame(all, "ipv4-options-udp").size());
    CHECK(i.flags == packet_flag::ip_options);
    CHECK(i.l4_offset == 14 + 28);
  }
}

TEST_CASE("parse_packet and parse_inner: VXLAN") {
  auto all = test::good_frames();
  const auto& f = frame(all, "vxlan-ipv4-tcp");
  PacketInfo outer = parse_packet(f.data(), f.size());
  REQUIRE(outer.ok());
  CHECK(outer.dst_port == VxlanView::kUdpPort);
  CHECK(outer.tunnel_type == TunnelType::vxlan);
  CHECK(outer.tunnel_offset == 42);
  CHECK(outer.tunnel_id == 0x123456);
  CHECK(outer.inner_offset == 50);

  PacketInfo inner = parse_inner(f.data(), f.size(), outer);
  REQUIRE(inner.ok());
  CHECK(inner.vlan_count == 1);
  CHECK(inner.vlan_ids[0] == 7);
  CHECK(inner.l3_offset == 50 + 18);
  CHECK(inner.src_ip4() == ipv4_address(192, 168, 1, 1));
  CHECK(inner.ip_protocol == ip_proto::tcp);
  CHECK(inner.l4_offset == 50 + 18 + 20);
  CHECK(inner.dst_port == 80);
  CHECK(inner.tunnel_type == TunnelType::none);
}

TEST_CASE("parse_packet and parse_inner: GTP-U") {
  auto all = test::good_frames();
  const auto& f = frame(all, "gtpu-qfi-ipv6-tcp");
  PacketInfo outer = parse_packet(f.data(), f.size());
  REQUIRE(outer.ok());
  CHECK(outer.l3_type == L3Type::ipv6);
  CHECK(outer.tunnel_type == TunnelType::gtpu);
  CHECK(outer.tunnel_id == 0x101);
  CHECK((outer.flags & packet_flag::gtpu_pdu_session) != 0);
  CHECK(outer.qfi == 9);
  CHECK(outer.tunnel_offset == 14 + 40 + 8);
  CHECK(outer.inner_offset == 14 + 40 + 8 + 16);
  PacketInfo inner = parse_inner(f.data(), f.size(), outer);
  REQUIRE(inner.ok());
  CHECK(inner.ether_type == ether_type::ipv6);
  CHECK(inner.l3_offset == outer.inner_offset);
  CHECK(inner.ip_protocol == ip_proto::tcp);
  CHECK(inner.dst_port == 80);

  const auto& g = frame(all, "gtpu-ipv4-udp");
  PacketInfo o4 = parse_packet(g.data(), g.size());
  CHECK(o4.tunnel_id == 0xdeadbeef);
  CHECK((o4.flags & packet_flag::gtpu_pdu_session) == 0);
  PacketInfo i4 = parse_inner(g.data(), g.size(), o4);
  CHECK(i4.dst_ip4() == ipv4_address(8, 8, 8, 8));
  CHECK(i4.dst_port == 5001);
  // The T-PDU alone, as a GTP-U endpoint sees it after decapsulation.
  PacketInfo raw = parse_ip_packet(g.data() + o4.inner_offset, g.size() - o4.inner_offset);
  CHECK(raw.l3_offset == 0);
  CHECK(raw.dst_port == 5001);

  const auto& echo = frame(all, "gtpu-echo-request");
  PacketInfo e = parse_packet(echo.data(), echo.size());
  CHECK(e.ok());
  CHECK(e.tunnel_type == TunnelType::gtpu);
  CHECK(e.inner_offset == PacketInfo::kAbsent);
  CHECK(parse_inner(echo.data(), echo.size(), e).error == ParseError::unsupported);
  CHECK(parse_inner(echo.data(), echo.size(), PacketInfo{}).error == ParseError::unsupported);
}

TEST_CASE("parse_packet stops at the first bad header and keeps what came before") {
  auto all = test::good_frames();
  auto f = frame(all, "vlan-ipv4-tcp-syn");
  f[18 + 20 + 12] = 0x40;  // TCP data offset 4
  PacketInfo i = parse_packet(f.data(), f.size());
  CHECK(i.error == ParseError::bad_header_length);
  CHECK(i.vlan_ids[0] == 100);
  CHECK(i.l3_type == L3Type::ipv4);
  CHECK(i.src_ip4() == test::kIpA);
  CHECK_FALSE(i.has_l4());

  auto v = frame(all, "vxlan-ipv4-tcp");
  v[42] = 0;  // VXLAN without its I flag
  PacketInfo vi = parse_packet(v.data(), v.size());
  CHECK(vi.error == ParseError::bad_flags);
  CHECK(vi.dst_port == VxlanView::kUdpPort);
  CHECK(vi.tunnel_type == TunnelType::none);

  auto g = frame(all, "gtpu-ipv4-udp");
  store_be16(g.data() + 42 + 2, 0x0fff);  // GTP-U length past the datagram
  CHECK(parse_packet(g.data(), g.size()).error == ParseError::truncated);

  auto bad_ip = frame(all, "ipv4-udp");
  bad_ip[14] = 0x44;  // IHL 4
  PacketInfo b = parse_packet(bad_ip.data(), bad_ip.size());
  CHECK(b.error == ParseError::bad_header_length);
  CHECK(b.ether_type == ether_type::ipv4);
  CHECK(b.l3_type == L3Type::none);

  const uint8_t junk[] = {0x50, 1, 2, 3};
  CHECK(parse_ip_packet(junk, sizeof junk).error == ParseError::bad_version);
  CHECK(parse_ip_packet(junk, 0).error == ParseError::truncated);
}

TEST_CASE("parse_packet: every prefix of every good frame is truncated or a shorter valid frame") {
  for (const auto& named : test::good_frames()) {
    CAPTURE(named.name);
    const auto& f = named.bytes;
    PacketInfo whole = parse_packet(f.data(), f.size());
    REQUIRE(whole.ok());
    for (size_t len = 0; len < f.size(); ++len) {
      CAPTURE(len);
      test::Frame prefix(f.begin(), f.begin() + static_cast<long>(len));  // ASan sees its end
      PacketInfo p = parse_packet(prefix.data(), prefix.size());
      if (!p.ok()) {
        REQUIRE(p.error == ParseError::truncated);
      } else {
        // Only padding can go: what parses is what the whole frame said.
        REQUIRE(p.l3_offset == whole.l3_offset);
        REQUIRE(p.l4_offset == whole.l4_offset);
        REQUIRE(p.src_port == whole.src_port);
      }
      if (whole.inner_offset != PacketInfo::kAbsent && p.ok()) {
        PacketInfo in = parse_inner(prefix.data(), prefix.size(), p);
        REQUIRE((in.ok() || in.error == ParseError::truncated));
      }
    }
  }
}

TEST_CASE("parse_packet survives random corruption of good frames") {
  std::mt19937 rng(2024);
  auto all = test::good_frames();
  size_t ok = 0, bad = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    test::Frame f = all[rng() % all.size()].bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) f[rng() % f.size()] = static_cast<uint8_t>(rng());
    f.resize(rng() % (f.size() + 1));
    PacketInfo p = parse_packet(f.data(), f.size());
    (p.ok() ? ok : bad)++;
    if (p.inner_offset != PacketInfo::kAbsent) (void)parse_inner(f.data(), f.size(), p);
    if (p.ok() && p.has_l4()) REQUIRE(p.l4_offset <= f.size());
  }
  CHECK(ok > 0);
  CHECK(bad > 0);
}
