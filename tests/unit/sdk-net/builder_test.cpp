// PacketBuilder: lengths, next-protocol fields, layering rules and errors.
#include <doctest/doctest.h>

#include <vector>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/net/packet_builder.hpp"
#include "nfv/net/packet_info.hpp"
#include "nfv/net/udp.hpp"

using namespace nfv::net;

TEST_CASE("PacketBuilder fills EtherTypes, protocols and lengths") {
  auto f = test::build_frame([](PacketBuilder& b) {
    b.ethernet(test::kMacB, test::kMacA)
        .vlan(VlanTag::make(10, 0, false, ether_type::qinq))
        .vlan(VlanTag::make(20))
        .ipv4(test::ip4())
        .udp(1, 2)
        .payload_pattern(100);
  });
  REQUIRE(f.size() == 22 + 20 + 8 + 100);
  CHECK(load_be16(f.data() + 12) == ether_type::qinq);
  CHECK(load_be16(f.data() + 16) == ether_type::vlan);
  CHECK(load_be16(f.data() + 20) == ether_type::ipv4);
  CHECK(f[22] == 0x45);
  CHECK(load_be16(f.data() + 24) == 128);
  CHECK(f[22 + 9] == ip_proto::udp);
  CHECK(load_be16(f.data() + 42 + 4) == 108);
  CHECK(f[50] == 0);
  CHECK(f[149] == 99);
}

TEST_CASE("PacketBuilder pads to the minimum without counting the padding") {
  std::vector<uint8_t> buf(64, 0xcc);
  PacketBuilder b(buf);
  b.ethernet(test::kMacB, test::kMacA).ipv4(test::ip4()).udp(1, 2);
  auto len = b.finish(60);
  REQUIRE(len == 60u);
  CHECK(b.size() == 42);
  CHECK(load_be16(buf.data() + 16) == 28);
  CHECK(buf[42] == 0);
  CHECK(buf[59] == 0);
  CHECK(buf[60] == 0xcc);
  CHECK(b.finish(60) == 60u);  // again: same bytes
  CHECK(load_be16(buf.data() + 16) == 28);
  CHECK(b.finish(65) == std::nullopt);
  CHECK(b.error() == BuildError::no_space);
}

TEST_CASE("PacketBuilder: UDP checksum zero on request, never zero when computed") {
  auto zero = test::build_frame([](PacketBuilder& b) {
    b.ethernet(test::kMacB, test::kMacA).ipv4(test::ip4()).udp(1, 4789, true).vxlan(1);
  });
  CHECK(load_be16(zero.data() + 34 + 6) == 0);

  // Find a payload whose UDP checksum computes to 0: it must go out as 0xffff.
  bool found = false;
  for (uint32_t v = 0; v < 0x10000 && !found; ++v) {
    const uint8_t pl[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    auto f =
        test::build_frame([&](PacketBuilder& b) { b.ipv4(test::ip4()).udp(1, 2).payload(pl); }, 0);
    REQUIRE(!f.empty());
    uint8_t* udp = f.data() + 20;
    const uint16_t stored = load_be16(udp + 6);
    store_be16(udp + 6, 0);
    if (l4_checksum_ipv4(udp, 10, test::kIpA, test::kIpB, ip_proto::udp) == 0) {
      CHECK(stored == 0xffff);
      found = true;
    }
  }
  CHECK(found);
}

TEST_CASE("PacketBuilder refuses bad layering") {
  std::vector<uint8_t> buf(512);
  const auto refused = [&](auto&& build) {
    PacketBuilder b(buf);
    build(b);
    return !b.finish() && b.error() == BuildError::bad_layering;
  };
  CHECK(refused([](PacketBuilder& b) { b.udp(1, 2); }));
  CHECK(refused([](PacketBuilder& b) { b.ethernet({}, {}).udp(1, 2); }));
  CHECK(refused([](PacketBuilder& b) { b.ethernet({}, {}).ethernet({}, {}); }));
  CHECK(refused([](PacketBuilder& b) { b.ipv4({}).vxlan(1); }));
  CHECK(refused([](PacketBuilder& b) { b.ipv4({}).ipv6_extension(60, std::vector<uint8_t>(8)); }));
  CHECK(refused([](PacketBuilder& b) { b.ipv4({}).udp(1, 2).payload_pattern(3).tcp({}); }));
  CHECK(refused([](PacketBuilder& b) {
    b.ethernet({}, {}).vlan(VlanTag::make(1)).vlan(VlanTag::make(2)).vlan(VlanTag::make(3));
  }));
  CHECK(refused([](PacketBuilder& b) { b.ipv4({}).arp(1, {}, 0, {}, 0); }));
}

TEST_CASE("PacketBuilder refuses bad arguments and a full buffer") {
  std::vector<uint8_t> buf(512);
  {
    PacketBuilder b(buf);
    b.ipv4({}).udp(1, 2).vxlan(1u << 24);
    CHECK(b.error() == BuildError::bad_argument);
  }
  {
    PacketBuilder b(buf);
    GtpuFields g;
    g.qfi = 64;
    b.ipv4({}).udp(1, 2).gtpu(g);
    CHECK(b.error() == BuildError::bad_argument);
  }
  {
    std::vector<uint8_t> opts(41, 1);
    PacketBuilder b(buf);
    Ipv4Fields f;
    f.options = opts;
    b.ipv4(f);
    CHECK(b.error() == BuildError::bad_argument);
  }
  {
    PacketBuilder b(buf);
    for (int i = 0; i < 20; ++i) b.ipv6({}).udp(1, 2152).gtpu({});
    CHECK(b.error() == BuildError::too_many_layers);
  }
  {
    std::vector<uint8_t> big(70000);
    PacketBuilder b(big);
    b.ipv4({}).payload_pattern(65536);
    CHECK(!b.finish());
    CHECK(b.error() == BuildError::too_long);
  }
  // Every buffer size short of the frame fails with no_space, never writes past it.
  const auto full = test::good_frames()[12].bytes;  // vxlan-ipv4-tcp
  for (size_t cap = 0; cap < full.size(); ++cap) {
    std::vector<uint8_t> small(cap);
    PacketBuilder b(small);
    b.ethernet(test::kMacB, test::kMacA)
        .ipv4(test::ip4())
        .udp(49152, VxlanView::kUdpPort, true)
        .vxlan(0x123456)
        .ethernet(test::kMacA, test::kMacB)
        .vlan(VlanTag::make(7))
        .ipv4(test::ip4(ipv4_address(192, 168, 1, 1), ipv4_address(192, 168, 1, 2)))
        .tcp(test::tcp_syn());
    CHECK_FALSE(b.finish(60));
    CHECK(b.error() == BuildError::no_space);
  }
  CHECK(build_error_name(BuildError::no_space) == std::string("no_space"));
}

TEST_CASE("PacketBuilder GTP-U: flags, optional field and PDU Session Container") {
  auto f = test::good_frames()[14].bytes;  // gtpu-qfi-ipv6-tcp
  const uint8_t* g = f.data() + 14 + 40 + 8;
  CHECK(g[0] == (0x30 | GtpuView::kFlagE | GtpuView::kFlagS));
  CHECK(g[1] == gtpu_msg::g_pdu);
  CHECK(load_be16(g + 2) == f.size() - (14 + 40 + 8 + 8));
  CHECK(load_be16(g + 8) == 77);
  CHECK(g[11] == gtpu_ext::pdu_session_container);
  const uint8_t container[] = {1, 0x10, 9, 0};
  CHECK(std::equal(std::begin(container), std::end(container), g + 12));
}

TEST_CASE("PacketBuilder output round-trips through every view") {
  for (const auto& named : test::good_frames()) {
    CAPTURE(named.name);
    const auto& f = named.bytes;
    REQUIRE(f.size() >= 60);
    PacketInfo info = parse_packet(f.data(), f.size());
    REQUIRE(info.ok());
    if (info.l3_type == L3Type::ipv4) {
      CHECK(ipv4_header_checksum(f.data() + info.l3_offset, size_t{f[info.l3_offset] & 0xfu} * 4) ==
            load_be16(f.data() + info.l3_offset + 10));
    }
  }
  CHECK(parse_error_name(ParseError::bad_order) == std::string("bad_order"));
}
