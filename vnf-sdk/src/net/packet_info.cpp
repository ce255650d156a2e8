// parse_packet(): the whole-stack walk behind PacketInfo. Each layer is one
// function that checks its header with the public view, fills its fields and
// hands the rest on; the first failure records its ParseError and stops.
// Offsets are stored as 16 bits: every header the walk reaches begins within
// the first ~40 KiB (two stacks of Ethernet + 2 tags, IPv4/IPv6 with at most 8
// extensions of at most 2 KiB, UDP, a tunnel header of at most 8 KiB).
#include "nfv/net/packet_info.hpp"

#include <cstring>

#include "nfv/net/arp.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/ethernet.hpp"
#include "nfv/net/gtpu.hpp"
#include "nfv/net/icmp.hpp"
#include "nfv/net/ipv4.hpp"
#include "nfv/net/ipv6.hpp"
#include "nfv/net/tcp.hpp"
#include "nfv/net/udp.hpp"
#include "nfv/net/vxlan.hpp"

namespace nfv::net {

namespace {

constexpr uint16_t off16(size_t v) noexcept { return static_cast<uint16_t>(v); }

// ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
void store_mapped_ip4(uint8_t* out, uint32_t addr) noexcept {
  std::memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  store_be32(out + 12, addr);
}

void parse_tunnel(const uint8_t* base, size_t off, size_t len, uint16_t dst_port,
                  PacketInfo& info) noexcept {
  if (dst_port == VxlanView::kUdpPort) {
    auto vx = VxlanView::parse(base + off, len);
    if (!vx) {
      info.error = vx.error();
      return;
    }
    info.tunnel_type = TunnelType::vxlan;
    info.tunnel_offset = off16(off);
    info.tunnel_id = vx->vni();
    info.inner_offset = off16(off + VxlanView::kHeaderLen);
  } else if (dst_port == GtpuView::kUdpPort) {
    auto gtp = GtpuView::parse(base + off, len);
    if (!gtp) {
      info.error = gtp.error();
      return;
    }
    info.tunnel_type = TunnelType::gtpu;
    info.tunnel_offset = off16(off);
    info.tunnel_id = gtp->teid();
    if (auto qfi = gtp->qfi()) {
      info.qfi = *qfi;
      info.flags |= packet_flag::gtpu_pdu_session;
    }
    if (gtp->is_gpdu() && gtp->payload_len() > 0)
      info.inner_offset = off16(off + gtp->header_len());
  }
}

// The upper-layer header at base + off, `len` bytes as the IP layer bounds it.
void parse_l4(const uint8_t* base, size_t off, size_t len, PacketInfo& info) noexcept {
  const uint8_t* p = base + off;
  switch (info.ip_protocol) {
    case ip_proto::udp: {
      if (info.flags & packet_flag::fragment) {
        // A first fragment: the UDP length covers the whole datagram, so only
        // the header (and its ports) can be checked; no tunnel is parsed.
        if (len < UdpView::kHeaderLen) {
          info.error = ParseError::truncated;
          return;
        }
        info.l4_offset = off16(off);
        info.payload_offset = off16(off + UdpView::kHeaderLen);
        info.src_port = load_be16(p);
        info.dst_port = load_be16(p + 2);
        return;
      }
      auto udp = UdpView::parse(p, len);
      if (!udp) {
        info.error = udp.error();
        return;
      }
      info.l4_offset = off16(off);
      info.payload_offset = off16(off + UdpView::kHeaderLen);
      info.src_port = udp->src_port();
      info.dst_port = udp->dst_port();
      parse_tunnel(base, off + UdpView::kHeaderLen, udp->payload_len(), info.dst_port, info);
      return;
    }
    case ip_proto::tcp: {
      auto tcp = TcpView::parse(p, len);
      if (!tcp) {
        info.error = tcp.error();
        return;
      }
      info.l4_offset = off16(off);
      info.payload_offset = off16(off + tcp->header_len());
      info.src_port = tcp->src_port();
      info.dst_port = tcp->dst_port();
      return;
    }
    case ip_proto::icmp:
    case ip_proto::icmpv6: {
      auto icmp = IcmpView::parse(p, len);
      if (!icmp) {
        info.error = icmp.error();
        return;
      }
      info.l4_offset = off16(off);
      info.payload_offset = off16(off + IcmpView::kHeaderLen);
      info.src_port = icmp->type();
      info.dst_port = icmp->code();
      return;
    }
    case ip_proto::no_next: return;
    default:  // ESP, GRE, SCTP...: where it starts, without ports
      info.l4_offset = off16(off);
      return;
  }
}

void parse_ipv4(const uint8_t* base, size_t off, size_t len, PacketInfo& info) noexcept {
  auto ip = Ipv4View::parse(base + off, len - off);
  if (!ip) {
    info.error = ip.error();
    return;
  }
  info.l3_type = L3Type::ipv4;
  info.l3_offset = off16(off);
  info.ip_protocol = ip->protocol();
  info.ttl = ip->ttl();
  store_mapped_ip4(info.src_ip, ip->src());
  store_mapped_ip4(info.dst_ip, ip->dst());
  if (ip->header_len() > Ipv4View::kMinHeaderLen) info.flags |= packet_flag::ip_options;
  if (ip->is_fragment()) info.flags |= packet_flag::fragment;
  if (ip->is_later_fragment()) {
    info.flags |= packet_flag::later_fragment;
    return;
  }
  parse_l4(base, off + ip->header_len(), ip->payload_len(), info);
}

void parse_ipv6(const uint8_t* base, size_t off, size_t len, PacketInfo& info) noexcept {
  auto ip = Ipv6View::parse(base + off, len - off);
  if (!ip) {
    info.error = ip.error();
    return;
  }
  info.l3_type = L3Type::ipv6;
  info.l3_offset = off16(off);
  info.ip_protocol = ip->upper_protocol();
  info.ttl = ip->hop_limit();
  std::memcpy(info.src_ip, ip->src(), 16);
  std::memcpy(info.dst_ip, ip->dst(), 16);
  if (ip->extension_count() > 0) info.flags |= packet_flag::ipv6_extensions;
  if (ip->is_fragment()) info.flags |= packet_flag::fragment;
  if (ip->is_later_fragment()) {
    info.flags |= packet_flag::later_fragment;
    return;
  }
  parse_l4(base, off + ip->upper_offset(), ip->upper_len(), info);
}

void parse_arp(const uint8_t* base, size_t off, size_t len, PacketInfo& info) noexcept {
  auto arp = ArpView::parse(base + off, len - off);
  if (!arp) {
    info.error = arp.error();
    return;
  }
  info.l3_type = L3Type::arp;
  info.l3_offset = off16(off);
  store_mapped_ip4(info.src_ip, arp->sender_ip());
  store_mapped_ip4(info.dst_ip, arp->target_ip());
}

// Ethernet at base + off; the frame ends at base + len.
void parse_ethernet(const uint8_t* base, size_t off, size_t len, PacketInfo& info) noexcept {
  auto eth = EthernetView::parse(base + off, len - off);
  if (!eth) {
    info.error = eth.error();
    return;
  }
  info.ether_type = eth->ether_type();
  info.vlan_count = static_cast<uint8_t>(eth->tag_count());
  for (size_t i = 0; i < eth->tag_count(); ++i) info.vlan_ids[i] = eth->tag(i).vid();
  const size_t l3 = off + eth->header_len();
  switch (info.ether_type) {
    case ether_type::ipv4: return parse_ipv4(base, l3, len, info);
    case ether_type::ipv6: return parse_ipv6(base, l3, len, info);
    case ether_type::arp: return parse_arp(base, l3, len, info);
    default:
      if (!eth->is_llc()) {
        info.l3_type = L3Type::other;
        info.l3_offset = off16(l3);
      }
      return;
  }
}

// An IP packet at base + off, IPv4 or IPv6 by its version nibble.
void parse_ip(const uint8_t* base, size_t off, size_t len, PacketInfo& info) noexcept {
  if (off >= len) {
    info.error = ParseError::truncated;
    return;
  }
  switch (base[off] >> 4) {
    case 4: info.ether_type = ether_type::ipv4; return parse_ipv4(base, off, len, info);
    case 6: info.ether_type = ether_type::ipv6; return parse_ipv6(base, off, len, info);
    default: info.error = ParseError::bad_version;
  }
}

}  // namespace

PacketInfo parse_packet(const uint8_t* frame, size_t len) noexcept {
  PacketInfo info;
  parse_ethernet(frame, 0, len, info);
  return info;
}

PacketInfo parse_ip_packet(const uint8_t* packet, size_t len) noexcept {
  PacketInfo info;
  parse_ip(packet, 0, len, info);
  return info;
}

PacketInfo parse_inner(const uint8_t* frame, size_t len, const PacketInfo& outer) noexcept {
  PacketInfo info;
  if (outer.inner_offset == PacketInfo::kAbsent || outer.l4_offset == PacketInfo::kAbsent ||
      size_t{outer.l4_offset} + UdpView::kHeaderLen > len) {
    info.error = ParseError::unsupported;
    return info;
  }
  // The inner packet ends where the outer UDP datagram does, not at `len`.
  const size_t udp_end = size_t{outer.l4_offset} + load_be16(frame + outer.l4_offset + 4);
  const size_t end = udp_end < len ? udp_end : len;
  if (outer.inner_offset > end) {
    info.error = ParseError::truncated;
    return info;
  }
  switch (outer.tunnel_type) {
    case TunnelType::vxlan: parse_ethernet(frame, outer.inner_offset, end, info); break;
    case TunnelType::gtpu: parse_ip(frame, outer.inner_offset, end, info); break;
    case TunnelType::none: info.error = ParseError::unsupported; break;
  }
  return info;
}

}  // namespace nfv::net
