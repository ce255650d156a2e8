// Fuzz target: GTP-U and VXLAN headers, alone and as the payload of a valid
// Ethernet/IPv4/UDP frame (so the whole-stack parser and parse_inner() see
// them too). The first input byte picks the tunnel; the rest is its header.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nfv/net/gtpu.hpp"
#include "nfv/net/packet_builder.hpp"
#include "nfv/net/packet_info.hpp"
#include "nfv/net/vxlan.hpp"

using namespace nfv::net;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4000) return 0;
  const bool gtp = (data[0] & 1) != 0;
  // An exact-size copy: any read past the tunnel bytes is a heap overflow.
  std::vector<uint8_t> bytes(data + 1, data + size);
  const uint8_t* d = bytes.data();
  const size_t n = bytes.size();

  auto g = GtpuView::parse(d, n);
  if (g) {
    require(g->header_len() <= GtpuView::kHeaderLen + g->length());
    require(GtpuView::kHeaderLen + g->length() <= n);
    require(g->extension_count() <= GtpuView::kMaxExtensions);
    if (auto q = g->qfi()) require(*q < 64 && g->has_pdu_session());
    volatile size_t sink =
        g->payload_len() + g->sequence().value_or(0) + g->npdu_number().value_or(0);
    (void)sink;
  }
  auto v = VxlanView::parse(d, n);
  if (v) require(v->payload_len() + VxlanView::kHeaderLen == n);

  // The same bytes inside a well-formed outer frame.
  std::vector<uint8_t> frame(64 + n);
  PacketBuilder b(frame);
  b.ethernet(nfv::MacAddress::from_u64(2), nfv::MacAddress::from_u64(1))
      .ipv4({.src = 0x0a000001, .dst = 0x0a000002})
      .udp(1000, gtp ? GtpuView::kUdpPort : VxlanView::kUdpPort)
      .payload(bytes);
  auto len = b.finish();
  require(len.has_value());
  frame.resize(*len);
  PacketInfo info = parse_packet(frame.data(), frame.size());
  const auto& tunnel_ok = gtp ? static_cast<bool>(g) : static_cast<bool>(v);
  require(info.ok() == tunnel_ok);
  if (tunnel_ok) {
    require(info.tunnel_type == (gtp ? TunnelType::gtpu : TunnelType::vxlan));
    require(info.tunnel_id == (gtp ? g->teid() : v->vni()));
    if (gtp) require(info.qfi == g->qfi().value_or(0));
    if (info.inner_offset != PacketInfo::kAbsent) {
      require(info.inner_offset <= frame.size());
      PacketInfo inner = parse_inner(frame.data(), frame.size(), info);
      for (uint16_t off : {inner.l3_offset, inner.l4_offset, inner.payload_offset}) {
        require(off == PacketInfo::kAbsent || off <= frame.size());
      }
    }
  } else {
    require(info.error == (gtp ? g.error() : v.error()));
  }
  return 0;
}
