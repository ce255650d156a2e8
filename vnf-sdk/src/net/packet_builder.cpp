// PacketBuilder: header writers, then lengths and checksums in finish().
// Field layouts are the ones the views in nfv/net read; each writer cites
// the same section as its view.
#include "nfv/net/packet_builder.hpp"

#include <cstring>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/net/icmp.hpp"
#include "nfv/net/udp.hpp"
#include "nfv/net/vxlan.hpp"

namespace nfv::net {

const char* build_error_name(BuildError e) noexcept {
  switch (e) {
    case BuildError::none: return "none";
    case BuildError::no_space: return "no_space";
    case BuildError::bad_layering: return "bad_layering";
    case BuildError::too_many_layers: return "too_many_layers";
    case BuildError::bad_argument: return "bad_argument";
    case BuildError::too_long: return "too_long";
  }
  return "unknown";
}

namespace {

constexpr size_t round_up4(size_t n) noexcept { return (n + 3) & ~size_t{3}; }

}  // namespace

bool PacketBuilder::may_follow(Kind kind) const noexcept {
  const size_t n = layer_count_;
  const bool first = n == 0;
  const Kind prev = first ? Kind::payload : layers_[n - 1].kind;
  if (!first && prev == Kind::payload) return false;  // payload is last
  switch (kind) {
    case Kind::ethernet: return first || prev == Kind::vxlan;
    case Kind::vlan:  // at most two tags, as EthernetView reads
      if (first) return false;
      return prev == Kind::ethernet ||
             (prev == Kind::vlan && layers_[n - 2].kind == Kind::ethernet);
    case Kind::arp: return !first && (prev == Kind::ethernet || prev == Kind::vlan);
    case Kind::ipv4:
    case Kind::ipv6:
      return first || prev == Kind::ethernet || prev == Kind::vlan || prev == Kind::gtpu;
    case Kind::ipv6_ext: return !first && (prev == Kind::ipv6 || prev == Kind::ipv6_ext);
    case Kind::udp:
    case Kind::tcp:
    case Kind::icmp:
      return !first && (prev == Kind::ipv4 || prev == Kind::ipv6 || prev == Kind::ipv6_ext);
    case Kind::vxlan:
    case Kind::gtpu: return !first && prev == Kind::udp;
    case Kind::payload: return true;
  }
  return false;
}

// Writes the previous layer's next-protocol field for a `kind` layer.
void PacketBuilder::link_previous(Kind kind, uint8_t type, uint16_t tpid) noexcept {
  if (layer_count_ == 0) return;
  const Layer& prev = layers_[layer_count_ - 1];
  uint8_t* p = out_.data() + prev.offset;
  if (prev.kind == Kind::ethernet || prev.kind == Kind::vlan) {
    uint16_t et = 0;
    switch (kind) {
      case Kind::vlan: et = tpid; break;
      case Kind::arp: et = ether_type::arp; break;
      case Kind::ipv4: et = ether_type::ipv4; break;
      case Kind::ipv6: et = ether_type::ipv6; break;
      default: return;  // payload: keep the caller's EtherType
    }
    store_be16(p + (prev.kind == Kind::ethernet ? 12 : 2), et);
    return;
  }
  if (prev.kind != Kind::ipv4 && prev.kind != Kind::ipv6 && prev.kind != Kind::ipv6_ext) return;
  uint8_t proto = 0;
  switch (kind) {
    case Kind::ipv6_ext: proto = type; break;
    case Kind::udp: proto = ip_proto::udp; break;
    case Kind::tcp: proto = ip_proto::tcp; break;
    case Kind::icmp: proto = prev.kind == Kind::ipv4 ? ip_proto::icmp : ip_proto::icmpv6; break;
    default: return;  // payload: keep the caller's protocol
  }
  // The protocol field's place: IPv4 byte 9, IPv6 byte 6, an extension byte 0.
  p[prev.kind == Kind::ipv4 ? 9 : prev.kind == Kind::ipv6 ? 6 : 0] = proto;
}

uint8_t* PacketBuilder::append(Kind kind, size_t len, uint8_t type, uint16_t tpid) noexcept {
  if (error_ != BuildError::none) return nullptr;
  if (layer_count_ == kMaxLayers) {
    fail(BuildError::too_many_layers);
    return nullptr;
  }
  if (!may_follow(kind)) {
    fail(BuildError::bad_layering);
    return nullptr;
  }
  if (len > out_.size() - used_) {
    fail(BuildError::no_space);
    return nullptr;
  }
  link_previous(kind, type, tpid);
  layers_[layer_count_++] = Layer{kind, type, static_cast<uint16_t>(used_)};
  uint8_t* p = out_.data() + used_;
  std::memset(p, 0, len);
  used_ += len;
  return p;
}

PacketBuilder& PacketBuilder::ethernet(const MacAddress& dst, const MacAddress& src,
                                       uint16_t type) noexcept {
  if (uint8_t* p = append(Kind::ethernet, EthernetView::kHeaderLen)) {
    std::memcpy(p, dst.bytes.data(), 6);
    std::memcpy(p + 6, src.bytes.data(), 6);
    store_be16(p + 12, type);
  }
  return *this;
}

PacketBuilder& PacketBuilder::vlan(VlanTag tag) noexcept {
  // The TPID goes into the previous layer's type field; this layer is TCI + type.
  if (uint8_t* p = append(Kind::vlan, EthernetView::kTagLen, 0, tag.tpid)) store_be16(p, tag.tci);
  return *this;
}

PacketBuilder& PacketBuilder::arp(uint16_t operation, const MacAddress& sender_mac,
                                  uint32_t sender_ip, const MacAddress& target_mac,
                                  uint32_t target_ip) noexcept {
  if (uint8_t* p = append(Kind::arp, 28)) {  // RFC 826 "Packet format"
    store_be16(p, 1);
    store_be16(p + 2, ether_type::ipv4);
    p[4] = 6;
    p[5] = 4;
    store_be16(p + 6, operation);
    std::memcpy(p + 8, sender_mac.bytes.data(), 6);
    store_be32(p + 14, sender_ip);
    std::memcpy(p + 18, target_mac.bytes.data(), 6);
    store_be32(p + 24, target_ip);
  }
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(const Ipv4Fields& f) noexcept {
  if (f.options.size() > 40 || f.fragment_offset > 0x1fff) {
    fail(BuildError::bad_argument);
    return *this;
  }
  const size_t hl = 20 + round_up4(f.options.size());
  if (uint8_t* p = append(Kind::ipv4, hl)) {  // RFC 791 §3.1
    p[0] = static_cast<uint8_t>(0x40 | hl / 4);
    p[1] = f.tos;
    store_be16(p + 4, f.identification);
    store_be16(p + 6, static_cast<uint16_t>((f.dont_fragment ? 0x4000 : 0) |
                                            (f.more_fragments ? 0x2000 : 0) | f.fragment_offset));
    p[8] = f.ttl;
    p[9] = f.protocol;
    store_be32(p + 12, f.src);
    store_be32(p + 16, f.dst);
    if (!f.options.empty()) std::memcpy(p + 20, f.options.data(), f.options.size());
  }
  return *this;
}

PacketBuilder& PacketBuilder::ipv6(const Ipv6Fields& f) noexcept {
  if (uint8_t* p = append(Kind::ipv6, Ipv6View::kHeaderLen)) {  // RFC 8200 §3
    store_be32(p, 6u << 28 | uint32_t{f.traffic_class} << 20 | (f.flow_label & 0xfffff));
    p[6] = f.next_header;
    p[7] = f.hop_limit;
    std::memcpy(p + 8, f.src.data(), 16);
    std::memcpy(p + 24, f.dst.data(), 16);
  }
  return *this;
}

PacketBuilder& PacketBuilder::ipv6_extension(uint8_t type,
                                             std::span<const uint8_t> header) noexcept {
  if (header.size() < 8 || header.size() % 4 != 0) {  // RFC 8200 §4: 8n bytes; AH: 4n
    fail(BuildError::bad_argument);
    return *this;
  }
  if (uint8_t* p = append(Kind::ipv6_ext, header.size(), type)) {
    std::memcpy(p, header.data(), header.size());  // p[0] is replaced if a known layer follows
  }
  return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t src_port, uint16_t dst_port,
                                  bool zero_checksum) noexcept {
  if (uint8_t* p = append(Kind::udp, UdpView::kHeaderLen, zero_checksum ? 1 : 0)) {
    store_be16(p, src_port);
    store_be16(p + 2, dst_port);
  }
  return *this;
}

PacketBuilder& PacketBuilder::tcp(const TcpFields& f) noexcept {
  if (f.options.size() > 40) {
    fail(BuildError::bad_argument);
    return *this;
  }
  const size_t hl = 20 + round_up4(f.options.size());
  if (uint8_t* p = append(Kind::tcp, hl)) {  // RFC 9293 §3.1
    store_be16(p, f.src_port);
    store_be16(p + 2, f.dst_port);
    store_be32(p + 4, f.seq);
    store_be32(p + 8, f.ack);
    p[12] = static_cast<uint8_t>(hl / 4 << 4);
    p[13] = f.flags;
    store_be16(p + 14, f.window);
    store_be16(p + 18, f.urgent_pointer);
    if (!f.options.empty()) std::memcpy(p + 20, f.options.data(), f.options.size());
  }
  return *this;
}

PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code, uint32_t rest) noexcept {
  if (uint8_t* p = append(Kind::icmp, IcmpView::kHeaderLen)) {
    p[0] = type;
    p[1] = code;
    store_be32(p + 4, rest);
  }
  return *this;
}

PacketBuilder& PacketBuilder::vxlan(uint32_t vni) noexcept {
  if (vni > 0xffffff) {
    fail(BuildError::bad_argument);
    return *this;
  }
  if (uint8_t* p = append(Kind::vxlan, VxlanView::kHeaderLen)) {  // RFC 7348 §5
    p[0] = VxlanView::kFlagVni;
    store_be24(p + 4, vni);
  }
  return *this;
}

PacketBuilder& PacketBuilder::gtpu(const GtpuFields& f) noexcept {
  if (f.qfi && *f.qfi > 0x3f) {
    fail(BuildError::bad_argument);
    return *this;
  }
  const bool optional = f.sequence || f.qfi;
  const size_t hl = GtpuView::kHeaderLen + (optional ? 4 : 0) + (f.qfi ? 4 : 0);
  if (uint8_t* p = append(Kind::gtpu, hl)) {  // TS 29.281 §5.1
    p[0] = static_cast<uint8_t>(0x30 | (f.qfi ? GtpuView::kFlagE : 0) |
                                (f.sequence ? GtpuView::kFlagS : 0));
    p[1] = f.message_type;
    store_be32(p + 4, f.teid);
    if (f.sequence) store_be16(p + 8, *f.sequence);
    if (f.qfi) {
      // A 4-byte PDU Session Container (TS 38.415 §5.5.2.1/.2): length 1,
      // PDU type, QFI, no next extension.
      p[11] = gtpu_ext::pdu_session_container;
      p[12] = 1;
      p[13] = static_cast<uint8_t>(f.pdu_type << 4);
      p[14] = *f.qfi;
    }
  }
  return *this;
}

PacketBuilder& PacketBuilder::payload(std::span<const uint8_t> bytes) noexcept {
  uint8_t* p = nullptr;
  if (layer_count_ > 0 && layers_[layer_count_ - 1].kind == Kind::payload) {
    // Extend the payload layer already there.
    if (error_ == BuildError::none && bytes.size() > out_.size() - used_)
      fail(BuildError::no_space);
    if (error_ != BuildError::none) return *this;
    p = out_.data() + used_;
    used_ += bytes.size();
  } else {
    p = append(Kind::payload, bytes.size());
  }
  if (p && !bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return *this;
}

PacketBuilder& PacketBuilder::payload_pattern(size_t n, uint8_t first) noexcept {
  payload({});  // the payload layer, if there is none yet
  if (error_ != BuildError::none) return *this;
  if (n > out_.size() - used_) {
    fail(BuildError::no_space);
    return *this;
  }
  for (size_t i = 0; i < n; ++i) out_[used_ + i] = static_cast<uint8_t>(first + i);
  used_ += n;
  return *this;
}

void PacketBuilder::fill_length(const Layer& layer, size_t end) noexcept {
  uint8_t* p = out_.data() + layer.offset;
  const size_t len = end - layer.offset;
  size_t value = 0, at = 0;
  switch (layer.kind) {
    case Kind::ipv4: value = len, at = 2; break;
    case Kind::ipv6: value = len - Ipv6View::kHeaderLen, at = 4; break;
    case Kind::udp: value = len, at = 4; break;
    case Kind::gtpu: value = len - GtpuView::kHeaderLen, at = 2; break;
    default: return;
  }
  if (value > 0xffff) {
    fail(BuildError::too_long);
    return;
  }
  store_be16(p + at, static_cast<uint16_t>(value));
}

void PacketBuilder::fill_checksum(size_t index, size_t end) noexcept {
  const Layer& layer = layers_[index];
  uint8_t* p = out_.data() + layer.offset;
  if (layer.kind == Kind::ipv4) {
    const size_t hl = size_t{p[0] & 0x0fu} * 4;
    store_be16(p + 10, ipv4_header_checksum(p, hl));
    return;
  }
  size_t at = 0;
  switch (layer.kind) {
    case Kind::udp: at = 6; break;
    case Kind::tcp: at = 16; break;
    case Kind::icmp: at = 2; break;
    default: return;
  }
  store_be16(p + at, 0);
  if (layer.kind == Kind::udp && layer.type == 1) return;  // zero_checksum asked for
  size_t ip = index - 1;  // the rules put an IP header (then extensions) before
  while (layers_[ip].kind == Kind::ipv6_ext) --ip;
  const uint8_t* iph = out_.data() + layers_[ip].offset;
  const size_t len = end - layer.offset;
  const uint8_t proto = layer.kind == Kind::udp          ? ip_proto::udp
                        : layer.kind == Kind::tcp        ? ip_proto::tcp
                        : layers_[ip].kind == Kind::ipv4 ? ip_proto::icmp
                                                         : ip_proto::icmpv6;
  uint16_t sum = 0;
  if (layers_[ip].kind == Kind::ipv6) {
    sum = l4_checksum_ipv6(p, len, iph + 8, iph + 24, proto);
  } else if (proto == ip_proto::icmp) {
    sum = internet_checksum(p, len);  // RFC 792: no pseudo-header
  } else {
    sum = l4_checksum_ipv4(p, len, load_be32(iph + 12), load_be32(iph + 16), proto);
  }
  if (sum == 0 && layer.kind == Kind::udp) sum = 0xffff;  // RFC 768: 0 means "none"
  store_be16(p + at, sum);
}

std::optional<size_t> PacketBuilder::finish(size_t min_len) noexcept {
  if (error_ != BuildError::none) return std::nullopt;
  const size_t end = used_;
  for (size_t i = 0; i < layer_count_; ++i) fill_length(layers_[i], end);
  if (error_ != BuildError::none) return std::nullopt;
  // Innermost first: an outer checksum covers the inner headers' checksums.
  for (size_t i = layer_count_; i-- > 0;) fill_checksum(i, end);
  if (min_len <= end) return end;
  if (min_len > out_.size()) {
    fail(BuildError::no_space);
    return std::nullopt;
  }
  std::memset(out_.data() + end, 0, min_len - end);
  return min_len;
}

}  // namespace nfv::net
