// Fuzz target: the whole-stack parser and every header view on hostile bytes.
// Beyond "no crash, no out-of-bounds read" (ASan/UBSan), it checks that what
// a successful parse reports stays inside the buffer.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "nfv/net/arp.hpp"
#include "nfv/net/ethernet.hpp"
#include "nfv/net/icmp.hpp"
#include "nfv/net/ipv4.hpp"
#include "nfv/net/ipv6.hpp"
#include "nfv/net/packet_info.hpp"
#include "nfv/net/tcp.hpp"
#include "nfv/net/udp.hpp"

using namespace nfv::net;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_info(const PacketInfo& info, size_t size) {
  for (uint16_t off : {info.l3_offset, info.l4_offset, info.payload_offset, info.tunnel_offset,
                       info.inner_offset}) {
    require(off == PacketInfo::kAbsent || off <= size);
  }
  if (info.l4_offset != PacketInfo::kAbsent) require(info.l3_offset < info.l4_offset);
  if (info.payload_offset != PacketInfo::kAbsent) require(info.l4_offset < info.payload_offset);
  require(info.vlan_count <= 2);
  require(info.qfi < 64);
}

// Every view, straight on the bytes, with every accessor read once.
void views(const uint8_t* d, size_t n) {
  volatile uint64_t sink = 0;  // keeps the reads from being optimised away
  if (auto v = EthernetView::parse(d, n)) {
    require(v->header_len() <= n);
    for (size_t i = 0; i < v->tag_count(); ++i) sink = sink + v->tag(i).tci;
    sink = sink + v->ether_type() + v->dst().to_u64();
  }
  if (auto v = ArpView::parse(d, n)) sink = sink + v->sender_ip() + v->target_mac().to_u64();
  if (auto v = Ipv4View::parse(d, n)) {
    require(v->header_len() <= v->total_length() && v->total_length() <= n);
    sink = sink + v->checksum_ok() + v->options().size() + v->fragment_offset_bytes() + v->dst();
  }
  if (auto v = Ipv6View::parse(d, n)) {
    require(v->upper_offset() <= Ipv6View::kHeaderLen + v->payload_length());
    require(Ipv6View::kHeaderLen + v->payload_length() <= n);
    require(v->extension_count() <= Ipv6View::kMaxExtensions);
    sink = sink + v->fragment_id() + v->fragment_offset() + v->more_fragments() + v->upper_len();
  }
  if (auto v = UdpView::parse(d, n)) {
    require(v->length() <= n);
    sink = sink + v->payload_len();
  }
  if (auto v = TcpView::parse(d, n)) {
    require(v->header_len() <= n);
    sink = sink + v->mss().value_or(0) + v->find_option(tcp_option::timestamps).size() +
           v->payload_len();
  }
  if (auto v = IcmpView::parse(d, n)) sink = sink + v->rest_of_header() + v->body_len();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  PacketInfo info = parse_packet(data, size);
  check_info(info, size);
  if (info.inner_offset != PacketInfo::kAbsent) check_info(parse_inner(data, size, info), size);
  check_info(parse_ip_packet(data, size), size);
  views(data, size);
  return 0;
}
