// Ipv6View: the fixed header and the extension header walk, good and hostile.
#include "nfv/net/ipv6.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"

using namespace nfv::net;

namespace {

const uint8_t kDest[] = {0, 0, 1, 4, 0, 0, 0, 0};  // Destination Options, PadN

std::vector<uint8_t> ip_of(const char* name) {
  for (auto& f : test::good_frames()) {
    if (f.name == name) return {f.bytes.begin() + 14, f.bytes.end()};
  }
  return {};
}

// An IPv6 packet (no Ethernet) with these extension headers, then UDP.
template <typename AddExtensions>
std::vector<uint8_t> ipv6_with(AddExtensions&& add) {
  return test::build_frame(
      [&](PacketBuilder& b) {
        b.ipv6(test::ip6());
        add(b);
        b.udp(1, 2).payload_pattern(4);
      },
      0);
}

}  // namespace

TEST_CASE("Ipv6View reads the fixed header") {
  auto p = ip_of("ipv6-udp");
  auto ip = Ipv6View::parse(p.data(), p.size());
  REQUIRE(ip);
  CHECK(ip->version() == 6);
  CHECK(ip->traffic_class() == 0);
  CHECK(ip->flow_label() == 0x12345);
  CHECK(ip->payload_length() == 8 + 18);
  CHECK(ip->next_header() == ip_proto::udp);
  CHECK(ip->hop_limit() == 64);
  CHECK(ip->src_address() == test::kIp6A);
  CHECK(ip->dst_address() == test::kIp6B);
  CHECK(ip->extension_count() == 0);
  CHECK(ip->upper_protocol() == ip_proto::udp);
  CHECK(ip->upper_offset() == 40);
  CHECK(ip->upper_len() == 26);
  CHECK_FALSE(ip->is_fragment());

  p[0] = 0x6b;  // traffic class 0xb0
  p[1] = 0x01;
  CHECK(Ipv6View::parse(p.data(), p.size())->traffic_class() == 0xb0);
}

TEST_CASE("Ipv6View walks hop-by-hop, destination, routing, fragment and AH headers") {
  auto p = ip_of("ipv6-ext-chain-udp");
  auto ip = Ipv6View::parse(p.data(), p.size());
  REQUIRE(ip);
  CHECK(ip->next_header() == ip_proto::hop_by_hop);
  CHECK(ip->extension_count() == 5);
  CHECK(ip->upper_protocol() == ip_proto::udp);
  CHECK(ip->upper_offset() == 40 + 8 + 8 + 24 + 8 + 24);
  CHECK(ip->upper_len() == 8 + 18);
  CHECK(ip->is_fragment());
  CHECK_FALSE(ip->is_later_fragment());
  CHECK(ip->more_fragments());
  CHECK(ip->fragment_id() == 42);

  auto later = ip_of("ipv6-later-fragment");
  auto f = Ipv6View::parse(later.data(), later.size());
  REQUIRE(f);
  CHECK(f->is_later_fragment());
  CHECK(f->fragment_offset() == 23);
  CHECK_FALSE(f->more_fragments());
  CHECK(f->upper_protocol() == ip_proto::udp);
  CHECK(f->upper_offset() == 48);
}

TEST_CASE("Ipv6View stops at ESP and No Next Header") {
  auto p = ipv6_with([](PacketBuilder&) {});
  p[6] = ip_proto::esp;
  CHECK(Ipv6View::parse(p.data(), p.size())->upper_protocol() == ip_proto::esp);
  auto q = ipv6_with([](PacketBuilder& b) { b.ipv6_extension(ip_proto::dest_opts, kDest); });
  q[40] = ip_proto::no_next;
  auto ip = Ipv6View::parse(q.data(), q.size());
  REQUIRE(ip);
  CHECK(ip->upper_protocol() == ip_proto::no_next);
  CHECK(ip->upper_offset() == 48);
}

TEST_CASE("Ipv6View bounds the extension chain") {
  auto eight = ipv6_with([](PacketBuilder& b) {
    for (int i = 0; i < 8; ++i) b.ipv6_extension(ip_proto::dest_opts, kDest);
  });
  auto ok = Ipv6View::parse(eight.data(), eight.size());
  REQUIRE(ok);
  CHECK(ok->extension_count() == 8);
  CHECK(ok->upper_offset() == 40 + 64);

  // A long chain of headers (what a "loop" of repeated headers turns into).
  auto nine = ipv6_with([](PacketBuilder& b) {
    for (int i = 0; i < 9; ++i) b.ipv6_extension(ip_proto::dest_opts, kDest);
  });
  CHECK(Ipv6View::parse(nine.data(), nine.size()).error() == ParseError::too_many_headers);

  // A chain that never ends: every header names a Routing header next, up to
  // the end of the packet; either the bound or the payload end stops it.
  std::vector<uint8_t> loop(40 + 8 * 200, 0);
  loop[0] = 0x60;
  store_be16(loop.data() + 4, 8 * 200);
  loop[6] = ip_proto::routing;
  for (size_t off = 40; off < loop.size(); off += 8) loop[off] = ip_proto::routing;
  CHECK(Ipv6View::parse(loop.data(), loop.size()).error() == ParseError::too_many_headers);
}

TEST_CASE("Ipv6View refuses malformed headers") {
  auto good = ipv6_with([](PacketBuilder& b) { b.ipv6_extension(ip_proto::dest_opts, kDest); });
  REQUIRE(Ipv6View::parse(good.data(), good.size()));

  SUBCASE("version") {
    auto p = good;
    p[0] = 0x40;
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::bad_version);
  }
  SUBCASE("payload length past the buffer") {
    auto p = good;
    store_be16(p.data() + 4, static_cast<uint16_t>(p.size() - 39));
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::truncated);
  }
  SUBCASE("an extension header longer than the payload") {
    auto p = good;
    p[41] = 1;  // 16 bytes, with 8 + 8 + 4 left: fits
    CHECK(Ipv6View::parse(p.data(), p.size()));
    p[41] = 2;  // 24 bytes: does not
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::truncated);
    p[41] = 255;
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::truncated);
  }
  SUBCASE("hop-by-hop anywhere but first") {
    auto p = good;
    p[40] = ip_proto::hop_by_hop;
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::bad_order);
  }
  SUBCASE("an AH too short for its SPI and sequence number") {
    auto p = good;
    p[6] = ip_proto::ah;
    p[41] = 0;  // (0 + 2) * 4 = 8 bytes
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::bad_header_length);
  }
  SUBCASE("a jumbogram") {
    auto p = good;
    p[6] = ip_proto::hop_by_hop;
    store_be16(p.data() + 4, 0);
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::unsupported);
  }
  SUBCASE("a header cut by the payload length") {
    auto p = good;
    store_be16(p.data() + 4, 4);  // the Destination Options header needs 8
    CHECK(Ipv6View::parse(p.data(), p.size()).error() == ParseError::truncated);
    store_be16(p.data() + 4, 8);  // exactly the header: UDP has 0 bytes
    auto ip = Ipv6View::parse(p.data(), p.size());
    REQUIRE(ip);
    CHECK(ip->upper_len() == 0);
  }
}

TEST_CASE("Ipv6View: every prefix is truncated, the whole is valid") {
  for (const char* name : {"ipv6-udp", "ipv6-ext-chain-udp", "ipv6-later-fragment"}) {
    auto p = ip_of(name);
    for (size_t len = 0; len < p.size(); ++len) {
      std::vector<uint8_t> prefix(p.begin(), p.begin() + static_cast<long>(len));
      CAPTURE(len);
      CHECK(Ipv6View::parse(prefix.data(), prefix.size()).error() == ParseError::truncated);
    }
    CHECK(Ipv6View::parse(p.data(), p.size()));
  }
}
