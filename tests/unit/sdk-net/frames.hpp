// Good frames of every kind the nfv/net parsers read, built with
// PacketBuilder, shared by the sdk-net tests (and written to
// tests/data/pcaps/builder_frames.pcap, which tshark decodes the same way).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nfv/net/icmp.hpp"
#include "nfv/net/ipv4.hpp"
#include "nfv/net/packet_builder.hpp"
#include "nfv/net/vxlan.hpp"

namespace nfv::net::test {

inline const MacAddress kMacA = MacAddress::from_u64(0x525400000001);
inline const MacAddress kMacB = MacAddress::from_u64(0x525400000002);
inline constexpr uint32_t kIpA = ipv4_address(10, 0, 0, 1);
inline constexpr uint32_t kIpB = ipv4_address(10, 0, 0, 2);
inline constexpr Ipv6Address kIp6A = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline constexpr Ipv6Address kIp6B = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

using Frame = std::vector<uint8_t>;

struct NamedFrame {
  std::string name;
  Frame bytes;
};

// Runs `build` on a PacketBuilder over a 2 KiB buffer and returns the frame
// (empty if the builder failed, which the tests check).
template <typename Build>
Frame build_frame(Build&& build, size_t min_len = 60) {
  Frame buf(2048);
  PacketBuilder b(buf);
  build(b);
  auto len = b.finish(min_len);
  if (!len) return {};
  buf.resize(*len);
  return buf;
}

inline Ipv4Fields ip4(uint32_t src = kIpA, uint32_t dst = kIpB) {
  Ipv4Fields f;
  f.src = src;
  f.dst = dst;
  f.identification = 0x1234;
  f.dont_fragment = true;
  return f;
}

inline Ipv6Fields ip6() {
  Ipv6Fields f;
  f.src = kIp6A;
  f.dst = kIp6B;
  f.flow_label = 0x12345;
  return f;
}

inline TcpFields tcp_syn() {
  static const uint8_t opts[] = {2, 4, 0x05, 0xb4, 1,
                                 3, 3, 7,    4,    2};  // MSS 1460, NOP, WS 7, SACK-perm
  TcpFields f;
  f.src_port = 40000;
  f.dst_port = 80;
  f.seq = 0x01020304;
  f.flags = tcp_flag::syn;
  f.options = opts;
  return f;
}

// Every kind of good frame, each built the way a peer would send it.
inline std::vector<NamedFrame> good_frames() {
  static const uint8_t ipv4_opts[] = {1, 7, 7, 4, 0, 0, 0, 0};  // NOP, Record Route (RFC 791)
  static const uint8_t hbh[] = {0, 0, 1, 4, 0, 0, 0, 0};        // Hop-by-Hop, PadN
  static const uint8_t dest[] = {0, 0, 1, 4, 0, 0, 0, 0};       // Destination Options, PadN
  static const uint8_t routing[] = {
      0,    2,    4,    0,    0, 0, 0, 0,  // Segment Routing, 1 segment
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  static const uint8_t frag_first[] = {0, 0, 0x00, 0x01, 0, 0, 0, 42};   // offset 0, M=1
  static const uint8_t frag_later[] = {17, 0, 0x00, 0xb8, 0, 0, 0, 42};  // offset 23, M=0, UDP
  static const uint8_t ah[] = {
      0,    4,    0,    0,    0,    0,    1,    0,    0,    0,    0,    1,  // AH, 12-byte ICV
      0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
  const auto hello = [](PacketBuilder& b) { b.payload_pattern(18, 'a'); };

  std::vector<NamedFrame> f;
  f.push_back({"ipv4-udp", build_frame([&](PacketBuilder& b) {
                 b.ethernet(kMacB, kMacA).ipv4(ip4()).udp(1234, 5678);
                 hello(b);
               })});
  f.push_back({"vlan-ipv4-tcp-syn", build_frame([&](PacketBuilder& b) {
                 b.ethernet(kMacB, kMacA).vlan(VlanTag::make(100, 3)).ipv4(ip4()).tcp(tcp_syn());
               })});
  f.push_back({"qinq-ipv4-icmp-echo", build_frame([&](PacketBuilder& b) {
                 b.ethernet(kMacB, kMacA)
                     .vlan(VlanTag::make(200, 0, false, ether_type::qinq))
                     .vlan(VlanTag::make(300))
                     .ipv4(ip4())
                     .icmp(icmp_type::echo_request, 0, 0x00070001);
                 hello(b);
               })});
  f.push_back({"arp-request", build_frame([&](PacketBuilder& b) {
                 b.ethernet(MacAddress::from_u64(0xffffffffffff), kMacA)
                     .arp(1, kMacA, kIpA, MacAddress{}, kIpB);
               })});
  f.push_back({"ipv4-options-udp", build_frame([&](PacketBuilder& b) {
                 Ipv4Fields f4 = ip4();
                 f4.options = ipv4_opts;
                 b.ethernet(kMacB, kMacA).ipv4(f4).udp(1234, 5678);
                 hello(b);
               })});
  f.push_back({"ipv4-first-fragment", build_frame([&](PacketBuilder& b) {
                 Ipv4Fields f4 = ip4();
                 f4.dont_fragment = false;
                 f4.more_fragments = true;
                 b.ethernet(kMacB, kMacA).ipv4(f4).udp(1234, 5678).payload_pattern(64);
               })});
  // The UDP length of a first fragment covers the whole datagram (800 more bytes).
  store_be16(f.back().bytes.data() + 14 + 20 + 4, 8 + 64 + 800);
  f.push_back({"ipv4-later-fragment", build_frame([&](PacketBuilder& b) {
                 Ipv4Fields f4 = ip4();
                 f4.identification = 0x5678;  // not the first fragment's datagram
                 f4.dont_fragment = false;
                 f4.fragment_offset = 9;
                 f4.protocol = ip_proto::udp;
                 b.ethernet(kMacB, kMacA).ipv4(f4).payload_pattern(40);
               })});
  f.push_back({"ipv6-udp", build_frame([&](PacketBuilder& b) {
                 b.ethernet(kMacB, kMacA).ipv6(ip6()).udp(1234, 5678);
                 hello(b);
               })});
  f.push_back({"ipv6-tcp", build_frame([&](PacketBuilder& b) {
                 b.ethernet(kMacB, kMacA).ipv6(ip6()).tcp(tcp_syn());
               })});
  f.push_back(
      {"ipv6-icmpv6-echo", build_frame([&](PacketBuilder& b) {
         b.ethernet(kMacB, kMacA).ipv6(ip6()).icmp(icmpv6_type::echo_request, 0, 0x00070001);
         hello(b);
       })});
  f.push_back({"ipv6-ext-chain-udp", build_frame([&](PacketBuilder& b) {
                 b.ethernet(kMacB, kMacA)
                     .ipv6(ip6())
                     .ipv6_extension(ip_proto::hop_by_hop, hbh)
                     .ipv6_extension(ip_proto::dest_opts, dest)
                     .ipv6_extension(ip_proto::routing, routing)
                     .ipv6_extension(ip_proto::fragment, frag_first)
                     .ipv6_extension(ip_proto::ah, ah)
                     .udp(1234, 5678);
                 hello(b);
               })});
  f.push_back({"ipv6-later-fragment", build_frame([&](PacketBuilder& b) {
                 Ipv6Fields f6 = ip6();
                 b.ethernet(kMacB, kMacA).ipv6(f6).ipv6_extension(ip_proto::fragment, frag_later);
                 b.payload_pattern(40);
               })});
  f.push_back({"vxlan-ipv4-tcp", build_frame([&](PacketBuilder& b) {
                 b.ethernet(kMacB, kMacA)
                     .ipv4(ip4())
                     .udp(49152, VxlanView::kUdpPort, true)
                     .vxlan(0x123456)
                     .ethernet(kMacA, kMacB)
                     .vlan(VlanTag::make(7))
                     .ipv4(ip4(ipv4_address(192, 168, 1, 1), ipv4_address(192, 168, 1, 2)))
                     .tcp(tcp_syn());
               })});
  f.push_back({"gtpu-ipv4-udp", build_frame([&](PacketBuilder& b) {
                 GtpuFields g;
                 g.teid = 0xdeadbeef;
                 b.ethernet(kMacB, kMacA)
                     .ipv4(ip4())
                     .udp(GtpuView::kUdpPort, GtpuView::kUdpPort)
                     .gtpu(g)
                     .ipv4(ip4(ipv4_address(172, 16, 0, 1), ipv4_address(8, 8, 8, 8)))
                     .udp(5000, 5001);
                 hello(b);
               })});
  f.push_back({"gtpu-qfi-ipv6-tcp", build_frame([&](PacketBuilder& b) {
                 GtpuFields g;
                 g.teid = 0x00000101;
                 g.sequence = 77;
                 g.qfi = 9;
                 g.pdu_type = 1;
                 b.ethernet(kMacB, kMacA)
                     .ipv6(ip6())
                     .udp(GtpuView::kUdpPort, GtpuView::kUdpPort)
                     .gtpu(g)
                     .ipv6(ip6())
                     .tcp(tcp_syn());
               })});
  f.push_back(
      {"gtpu-echo-request", build_frame([&](PacketBuilder& b) {
         GtpuFields g;
         g.message_type = gtpu_msg::echo_request;
         g.sequence = 1;
         b.ethernet(kMacB, kMacA).ipv4(ip4()).udp(GtpuView::kUdpPort, GtpuView::kUdpPort).gtpu(g);
       })});
  return f;
}

}  // namespace nfv::net::test
