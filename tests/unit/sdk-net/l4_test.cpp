// UdpView, TcpView and IcmpView.
#include <doctest/doctest.h>

#include <vector>

#include "frames.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/icmp.hpp"
#include "nfv/net/packet_info.hpp"
#include "nfv/net/tcp.hpp"
#include "nfv/net/udp.hpp"

using namespace nfv::net;

namespace {

// The L4 bytes of a good frame, as far as its IP header says they go.
std::vector<uint8_t> l4_of(const char* name) {
  for (auto& f : test::good_frames()) {
    if (f.name != name) continue;
    PacketInfo info = parse_packet(f.bytes.data(), f.bytes.size());
    const uint8_t* l3 = f.bytes.data() + info.l3_offset;
    const size_t l3_end = info.l3_offset + (info.l3_type == L3Type::ipv4 ? load_be16(l3 + 2)
                                                                         : 40u + load_be16(l3 + 4));
    return {f.bytes.begin() + info.l4_offset, f.bytes.begin() + static_cast<long>(l3_end)};
  }
  return {};
}

}  // namespace

TEST_CASE("UdpView reads ports and length") {
  auto p = l4_of("ipv4-udp");
  auto udp = UdpView::parse(p.data(), p.size());
  REQUIRE(udp);
  CHECK(udp->src_port() == 1234);
  CHECK(udp->dst_port() == 5678);
  CHECK(udp->length() == 26);
  CHECK(udp->checksum() != 0);
  CHECK(udp->payload_len() == 18);
  CHECK(udp->payload()[0] == 'a');
}

TEST_CASE("UdpView refuses bad lengths") {
  auto p = l4_of("ipv4-udp");
  for (size_t len = 0; len < 8; ++len)
    CHECK(UdpView::parse(p.data(), len).error() == ParseError::truncated);
  for (uint16_t l = 0; l < 8; ++l) {
    store_be16(p.data() + 4, l);
    CHECK(UdpView::parse(p.data(), p.size()).error() == ParseError::bad_length);
  }
  store_be16(p.data() + 4, static_cast<uint16_t>(p.size() + 1));
  CHECK(UdpView::parse(p.data(), p.size()).error() == ParseError::truncated);
  store_be16(p.data() + 4, 8);  // shorter than the IP payload: the UDP length wins
  REQUIRE(UdpView::parse(p.data(), p.size()));
  CHECK(UdpView::parse(p.data(), p.size())->payload_len() == 0);
}

TEST_CASE("TcpView reads the header and its options") {
  auto p = l4_of("vlan-ipv4-tcp-syn");
  auto tcp = TcpView::parse(p.data(), p.size());
  REQUIRE(tcp);
  CHECK(tcp->src_port() == 40000);
  CHECK(tcp->dst_port() == 80);
  CHECK(tcp->seq() == 0x01020304);
  CHECK(tcp->ack() == 0);
  CHECK(tcp->data_offset() == 8);
  CHECK(tcp->header_len() == 32);
  CHECK(tcp->flags() == tcp_flag::syn);
  CHECK(tcp->has_flags(tcp_flag::syn));
  CHECK_FALSE(tcp->has_flags(tcp_flag::syn | tcp_flag::ack));
  CHECK(tcp->window() == 65535);
  CHECK(tcp->options().size() == 12);
  CHECK(tcp->mss() == 1460);
  auto ws = tcp->find_option(tcp_option::window_scale);
  REQUIRE(ws.size() == 3);
  CHECK(ws[2] == 7);
  CHECK(tcp->find_option(tcp_option::sack_permitted).size() == 2);
  CHECK(tcp->find_option(tcp_option::timestamps).empty());
  CHECK(tcp->find_option(tcp_option::nop).empty());
  CHECK(tcp->payload_len() == 0);
}

TEST_CASE("TcpView refuses malformed headers") {
  auto good = l4_of("vlan-ipv4-tcp-syn");
  SUBCASE("data offset below 5") {
    for (uint8_t off = 0; off < 5; ++off) {
      auto p = good;
      p[12] = static_cast<uint8_t>(off << 4);
      CHECK(TcpView::parse(p.data(), p.size()).error() == ParseError::bad_header_length);
    }
  }
  SUBCASE("data offset past the segment") {
    auto p = good;
    p[12] = 0xf0;
    CHECK(TcpView::parse(p.data(), p.size()).error() == ParseError::truncated);
  }
  SUBCASE("an option longer than the options area") {
    auto p = good;
    p[21] = 13;  // MSS claims 13 of 12 bytes
    CHECK(TcpView::parse(p.data(), p.size()).error() == ParseError::bad_option);
    p[21] = 1;
    CHECK(TcpView::parse(p.data(), p.size()).error() == ParseError::bad_option);
  }
  SUBCASE("a kind in the last byte without its length") {
    auto p = good;
    std::fill(p.begin() + 20, p.begin() + 31, uint8_t{1});
    p[31] = 2;
    CHECK(TcpView::parse(p.data(), p.size()).error() == ParseError::bad_option);
  }
  SUBCASE("an MSS option of the wrong size is not an MSS") {
    auto p = good;
    p[21] = 3;
    p[23] = 1;  // then a NOP where the MSS's second byte was
    auto tcp = TcpView::parse(p.data(), p.size());
    REQUIRE(tcp);
    CHECK_FALSE(tcp->mss().has_value());
  }
  SUBCASE("every prefix") {
    for (size_t len = 0; len < 32; ++len) {
      std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<long>(len));
      CHECK(TcpView::parse(prefix.data(), prefix.size()).error() == ParseError::truncated);
    }
  }
}

TEST_CASE("IcmpView reads ICMP and ICMPv6 echo requests") {
  auto p = l4_of("qinq-ipv4-icmp-echo");
  auto icmp = IcmpView::parse(p.data(), p.size());
  REQUIRE(icmp);
  CHECK(icmp->type() == icmp_type::echo_request);
  CHECK(icmp->code() == 0);
  CHECK(icmp->echo_id() == 7);
  CHECK(icmp->echo_sequence() == 1);
  CHECK(icmp->body_len() == 18);

  auto q = l4_of("ipv6-icmpv6-echo");
  auto icmp6 = IcmpView::parse(q.data(), q.size());
  REQUIRE(icmp6);
  CHECK(icmp6->type() == icmpv6_type::echo_request);
  CHECK(icmp6->rest_of_header() == 0x00070001);
  for (size_t len = 0; len < 8; ++len)
    CHECK(IcmpView::parse(q.data(), len).error() == ParseError::truncated);
}
