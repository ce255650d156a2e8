// EthernetView (untagged, 802.1Q, 802.1ad QinQ) and ArpView.
#include "nfv/net/ethernet.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "frames.hpp"
#include "nfv/net/arp.hpp"

using namespace nfv::net;
using nfv::MacAddress;

namespace {

std::vector<uint8_t> header(std::initializer_list<uint16_t> types) {
  std::vector<uint8_t> f(12, 0);
  f[0] = 0x02;   // dst 02:00:00:00:00:00
  f[11] = 0x01;  // src ...:01
  for (uint16_t t : types) {
    f.push_back(static_cast<uint8_t>(t >> 8));
    f.push_back(static_cast<uint8_t>(t));
  }
  f.resize(f.size() + 46, 0xee);
  return f;
}

}  // namespace

TEST_CASE("EthernetView reads an untagged frame") {
  auto f = header({ether_type::ipv4});
  auto eth = EthernetView::parse(f.data(), f.size());
  REQUIRE(eth);
  CHECK(eth->dst() == MacAddress::from_u64(0x020000000000));
  CHECK(eth->src() == MacAddress::from_u64(0x000000000001));
  CHECK(eth->tag_count() == 0);
  CHECK(eth->inner_vid() == 0);
  CHECK(eth->ether_type() == ether_type::ipv4);
  CHECK(eth->header_len() == 14);
  CHECK(eth->payload() == f.data() + 14);
  CHECK(eth->payload_len() == f.size() - 14);
  CHECK_FALSE(eth->is_llc());
}

TEST_CASE("EthernetView reads 802.1Q and QinQ tags, outer first") {
  auto f = header({ether_type::vlan, 0x6064, ether_type::ipv6});  // PCP 3, VID 100
  auto eth = EthernetView::parse(f.data(), f.size());
  REQUIRE(eth);
  REQUIRE(eth->tag_count() == 1);
  CHECK(eth->tag(0).vid() == 100);
  CHECK(eth->tag(0).pcp() == 3);
  CHECK_FALSE(eth->tag(0).dei());
  CHECK(eth->ether_type() == ether_type::ipv6);
  CHECK(eth->header_len() == 18);

  auto q = header({ether_type::qinq, 0x10c8, ether_type::vlan, 0x012c, ether_type::ipv4});
  auto qinq = EthernetView::parse(q.data(), q.size());
  REQUIRE(qinq);
  REQUIRE(qinq->tag_count() == 2);
  CHECK(qinq->tag(0) == VlanTag{ether_type::qinq, 0x10c8});
  CHECK(qinq->tag(0).dei());
  CHECK(qinq->tag(0).vid() == 200);
  CHECK(qinq->tag(1).vid() == 300);
  CHECK(qinq->inner_vid() == 300);
  CHECK(qinq->ether_type() == ether_type::ipv4);
  CHECK(qinq->header_len() == 22);

  // Pre-standard double 0x8100 stacking is read the same way.
  auto dbl = header({ether_type::vlan, 5, ether_type::vlan, 6, ether_type::arp});
  auto d = EthernetView::parse(dbl.data(), dbl.size());
  REQUIRE(d);
  CHECK(d->tag_count() == 2);
  CHECK(d->ether_type() == ether_type::arp);
}

TEST_CASE("EthernetView refuses a third tag and short frames") {
  auto f =
      header({ether_type::qinq, 1, ether_type::vlan, 2, ether_type::vlan, 3, ether_type::ipv4});
  CHECK(EthernetView::parse(f.data(), f.size()).error() == ParseError::too_many_headers);

  auto tagged = header({ether_type::qinq, 1, ether_type::vlan, 2, ether_type::ipv4});
  for (size_t len = 0; len < 22; ++len) {
    CAPTURE(len);
    CHECK(EthernetView::parse(tagged.data(), len).error() == ParseError::truncated);
  }
  CHECK(EthernetView::parse(tagged.data(), 22));
  CHECK(EthernetView::parse(tagged.data(), 22)->payload_len() == 0);
}

TEST_CASE("EthernetView reports 802.3 length frames as LLC") {
  auto f = header({0x0026});
  auto eth = EthernetView::parse(f.data(), f.size());
  REQUIRE(eth);
  CHECK(eth->is_llc());
  CHECK(eth->ether_type() == 0x26);
}

TEST_CASE("VlanTag::make packs PCP, DEI and VID") {
  constexpr VlanTag t = VlanTag::make(4095, 7, true, ether_type::qinq);
  static_assert(t.tci == 0xffff && t.vid() == 4095 && t.pcp() == 7 && t.dei());
  CHECK(VlanTag::make(100, 3).tci == 0x6064);
}

TEST_CASE("ArpView reads an Ethernet/IPv4 request and refuses other kinds") {
  auto frames = test::good_frames();
  const auto& f = frames[3].bytes;  // arp-request
  REQUIRE(frames[3].name == "arp-request");
  auto eth = EthernetView::parse(f.data(), f.size());
  REQUIRE(eth);
  REQUIRE(eth->ether_type() == ether_type::arp);
  CHECK(eth->dst().is_broadcast());
  auto arp = ArpView::parse(eth->payload(), eth->payload_len());
  REQUIRE(arp);
  CHECK(arp->operation() == arp_op::request);
  CHECK(arp->sender_mac() == test::kMacA);
  CHECK(arp->sender_ip() == test::kIpA);
  CHECK(arp->target_mac().is_zero());
  CHECK(arp->target_ip() == test::kIpB);

  std::vector<uint8_t> bytes(eth->payload(), eth->payload() + ArpView::kLen);
  for (size_t len = 0; len < ArpView::kLen; ++len) {
    CHECK(ArpView::parse(bytes.data(), len).error() == ParseError::truncated);
  }
  bytes[1] = 6;  // IEEE 802 hardware type
  CHECK(ArpView::parse(bytes.data(), bytes.size()).error() == ParseError::unsupported);
  bytes[1] = 1;
  bytes[5] = 16;  // IPv6-sized protocol addresses
  CHECK(ArpView::parse(bytes.data(), bytes.size()).error() == ParseError::unsupported);
}
