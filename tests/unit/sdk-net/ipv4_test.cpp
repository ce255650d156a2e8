// Ipv4View: fields, options, fragments and every malformed header case.
#include "nfv/net/ipv4.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"

using namespace nfv::net;

namespace {

// The IPv4 packet of a good frame (after its 14-byte Ethernet header).
std::vector<uint8_t> ip_of(const char* name) {
  for (auto& f : test::good_frames()) {
    if (f.name == name) return {f.bytes.begin() + 14, f.bytes.end()};
  }
  return {};
}

void fix_checksum(std::vector<uint8_t>& p) {
  store_be16(p.data() + 10, ipv4_header_checksum(p.data(), size_t{p[0] & 0xfu} * 4));
}

}  // namespace

TEST_CASE("Ipv4View reads every field of a good header") {
  auto p = ip_of("ipv4-udp");
  auto ip = Ipv4View::parse(p.data(), p.size());
  REQUIRE(ip);
  CHECK(ip->version() == 4);
  CHECK(ip->header_len() == 20);
  CHECK(ip->total_length() == 20 + 8 + 18);
  CHECK(ip->identification() == 0x1234);
  CHECK(ip->dont_fragment());
  CHECK_FALSE(ip->is_fragment());
  CHECK(ip->ttl() == 64);
  CHECK(ip->protocol() == ip_proto::udp);
  CHECK(ip->src() == test::kIpA);
  CHECK(ip->dst() == test::kIpB);
  CHECK(ip->checksum_ok());
  CHECK(ip->options().empty());
  CHECK(ip->payload() == p.data() + 20);
  CHECK(ip->payload_len() == 26);

  p[1] = 0xb9;  // DSCP 46 (EF), ECN 1
  CHECK(Ipv4View::parse(p.data(), p.size())->dscp() == 46);
  CHECK(Ipv4View::parse(p.data(), p.size())->ecn() == 1);
  CHECK_FALSE(Ipv4View::parse(p.data(), p.size())->checksum_ok());
}

TEST_CASE("Ipv4View: Ethernet padding after total length is not payload") {
  auto frame = test::build_frame([](PacketBuilder& b) {
    b.ethernet(test::kMacB, test::kMacA).ipv4(test::ip4()).udp(1, 2).payload_pattern(4);
  });
  REQUIRE(frame.size() == 60);
  auto ip = Ipv4View::parse(frame.data() + 14, frame.size() - 14);
  REQUIRE(ip);
  CHECK(ip->total_length() == 32);
  CHECK(ip->payload_len() == 12);
}

TEST_CASE("Ipv4View reads options and fragments") {
  auto p = ip_of("ipv4-options-udp");
  auto ip = Ipv4View::parse(p.data(), p.size());
  REQUIRE(ip);
  CHECK(ip->header_len() == 28);
  REQUIRE(ip->options().size() == 8);
  CHECK(ip->options()[1] == 7);  // Record Route
  CHECK(ip->checksum_ok());

  auto first = ip_of("ipv4-first-fragment");
  auto f1 = Ipv4View::parse(first.data(), first.size());
  REQUIRE(f1);
  CHECK(f1->is_fragment());
  CHECK(f1->more_fragments());
  CHECK_FALSE(f1->is_later_fragment());

  auto later = ip_of("ipv4-later-fragment");
  auto f2 = Ipv4View::parse(later.data(), later.size());
  REQUIRE(f2);
  CHECK(f2->is_fragment());
  CHECK(f2->is_later_fragment());
  CHECK(f2->fragment_offset() == 9);
  CHECK(f2->fragment_offset_bytes() == 72);
  CHECK_FALSE(f2->more_fragments());
}

TEST_CASE("Ipv4View refuses malformed headers") {
  auto good = ip_of("ipv4-options-udp");
  REQUIRE(Ipv4View::parse(good.data(), good.size()));

  SUBCASE("version") {
    auto p = good;
    p[0] = 0x67;
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::bad_version);
  }
  SUBCASE("IHL below 5") {
    for (uint8_t ihl = 0; ihl < 5; ++ihl) {
      auto p = good;
      p[0] = static_cast<uint8_t>(0x40 | ihl);
      CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::bad_header_length);
    }
  }
  SUBCASE("IHL past the buffer") {
    auto p = good;
    p[0] = 0x4f;  // 60 bytes of header in a 54-byte packet
    p.resize(54);
    store_be16(p.data() + 2, 54);
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::truncated);
  }
  SUBCASE("total length larger than the buffer") {
    auto p = good;
    store_be16(p.data() + 2, static_cast<uint16_t>(p.size() + 1));
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::truncated);
    store_be16(p.data() + 2, 0xffff);
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::truncated);
  }
  SUBCASE("total length smaller than the header") {
    auto p = good;
    store_be16(p.data() + 2, 27);
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::bad_length);
    store_be16(p.data() + 2, 28);  // a header and no payload is fine
    CHECK(Ipv4View::parse(p.data(), p.size()));
    CHECK(Ipv4View::parse(p.data(), p.size())->payload_len() == 0);
  }
  SUBCASE("an option running past the header") {
    auto p = good;
    p[22] = 8;  // Record Route claims 8 bytes of the 7 left
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::bad_option);
    p[22] = 1;  // a length below 2
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::bad_option);
    p[22] = 0;
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::bad_option);
  }
  SUBCASE("an option type in the last byte without its length") {
    auto p = good;
    const uint8_t opts[] = {1, 1, 1, 1, 1, 1, 1, 7};
    std::copy(std::begin(opts), std::end(opts), p.begin() + 20);
    CHECK(Ipv4View::parse(p.data(), p.size()).error() == ParseError::bad_option);
  }
  SUBCASE("End of Option List stops the walk") {
    auto p = good;
    const uint8_t opts[] = {1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    std::copy(std::begin(opts), std::end(opts), p.begin() + 20);
    fix_checksum(p);
    auto ip = Ipv4View::parse(p.data(), p.size());
    REQUIRE(ip);
    CHECK(ip->checksum_ok());
  }
}

TEST_CASE("Ipv4View: every prefix is truncated, the whole is valid") {
  for (const char* name : {"ipv4-udp", "ipv4-options-udp", "ipv4-later-fragment"}) {
    auto p = ip_of(name);
    const size_t total = Ipv4View::parse(p.data(), p.size())->total_length();
    for (size_t len = 0; len < total; ++len) {
      std::vector<uint8_t> prefix(
          p.begin(), p.begin() + static_cast<long>(len));  // exact-size heap copy for ASan
      CAPTURE(len);
      CHECK(Ipv4View::parse(prefix.data(), prefix.size()).error() == ParseError::truncated);
    }
    CHECK(Ipv4View::parse(p.data(), total));
  }
}
