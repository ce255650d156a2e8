// PacketInfo and parse_packet(): one call per packet that walks Ethernet,
// VLAN tags, ARP/IPv4/IPv6 (with extension headers), UDP/TCP/ICMP/ICMPv6 and
// a VXLAN or GTP-U tunnel header, and fills the 64-byte POD a classifier
// reads. It allocates nothing and throws nothing; every header is checked by
// the same views the rest of nfv/net exports (ethernet.hpp, ipv4.hpp...).
//
// What is filled: offsets from the start of the buffer given (kAbsent when a
// layer is not there), the EtherType after the tags, VLAN ids (outer first),
// the final IP protocol and the 5-tuple. IPv4 addresses are stored
// IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) so that IPv4 and IPv6 keys
// have one shape; src_ip4()/dst_ip4() return them as host-order integers.
// For ICMP and ICMPv6, src_port holds the type and dst_port the code (as Open
// vSwitch does), so a classifier can match them without a special case.
//
// Where parsing stops: a header that fails its view's checks sets `error`
// and leaves the fields of that layer and the ones inside it unset; all that
// was parsed before stays valid (a VNF can still switch on L2 what it could
// not route). A later IP fragment has no L4 header: l4_offset stays kAbsent
// and the flag says why. In a first fragment, UDP's length covers the whole
// datagram, so only its 8-byte header is checked and no tunnel is looked for.
// Checksums are not verified (NICs and vhost do it, or the VNF calls
// checksum.hpp where it matters).
//
// Tunnels: a UDP datagram to port 4789 is read as VXLAN, to port 2152 as
// GTP-U; tunnel_* and inner_offset are set but the inner packet is not
// parsed: call parse_inner() for that (inner offsets stay relative to the
// same buffer). GTP-U signalling (echo, error indication) has no inner packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "nfv/net/parse.hpp"

namespace nfv::net {

enum class L3Type : uint8_t { none, ipv4, ipv6, arp, other };
enum class TunnelType : uint8_t { none, vxlan, gtpu };

namespace packet_flag {
inline constexpr uint8_t fragment = 0x01;          // an IP fragment (first or later)
inline constexpr uint8_t later_fragment = 0x02;    // not the first: no L4 header
inline constexpr uint8_t ip_options = 0x04;        // IPv4 options present
inline constexpr uint8_t ipv6_extensions = 0x08;   // IPv6 extension headers present
inline constexpr uint8_t gtpu_pdu_session = 0x10;  // qfi is valid
}  // namespace packet_flag

struct PacketInfo {
  static constexpr uint16_t kAbsent = 0xffff;

  // Offsets of each header from the start of the parsed buffer. The L2
  // header, when there is one, starts at 0 for parse_packet() and at the
  // outer packet's inner_offset for parse_inner() on VXLAN.
  uint16_t l3_offset = kAbsent;
  uint16_t l4_offset = kAbsent;
  uint16_t payload_offset = kAbsent;  // after the L4 header
  uint16_t tunnel_offset = kAbsent;   // VXLAN or GTP-U header
  uint16_t inner_offset = kAbsent;    // inner Ethernet (VXLAN) or T-PDU (GTP-U)

  uint16_t ether_type = 0;        // after the tags; from the IP version for parse_ip_packet()
  uint16_t vlan_ids[2] = {0, 0};  // outer first
  uint8_t vlan_count = 0;
  L3Type l3_type = L3Type::none;
  uint8_t ip_protocol = 0;  // IPv4 protocol or IPv6 upper-layer protocol
  uint8_t flags = 0;        // packet_flag bits
  ParseError error = ParseError::none;
  TunnelType tunnel_type = TunnelType::none;
  uint8_t qfi = 0;  // GTP-U PDU Session Container QFI (flags says if valid)
  uint8_t ttl = 0;  // IPv4 TTL or IPv6 hop limit

  uint16_t src_port = 0;   // host order; ICMP type
  uint16_t dst_port = 0;   // host order; ICMP code
  uint32_t tunnel_id = 0;  // VXLAN VNI or GTP-U TEID

  uint8_t src_ip[16] = {};  // IPv6, or IPv4-mapped IPv6
  uint8_t dst_ip[16] = {};

  bool ok() const noexcept { return error == ParseError::none; }
  bool has_l4() const noexcept { return l4_offset != kAbsent; }
  uint32_t src_ip4() const noexcept { return load_ip4(src_ip); }
  uint32_t dst_ip4() const noexcept { return load_ip4(dst_ip); }

 private:
  static uint32_t load_ip4(const uint8_t* a) noexcept {
    return uint32_t{a[12]} << 24 | uint32_t{a[13]} << 16 | uint32_t{a[14]} << 8 | a[15];
  }
};

static_assert(std::is_trivially_copyable_v<PacketInfo>);
static_assert(sizeof(PacketInfo) == 64, "PacketInfo is one cache line");

// Parses an Ethernet frame.
PacketInfo parse_packet(const uint8_t* frame, size_t len) noexcept;

// Parses a packet that starts with its IP header (IPv4 or IPv6 by the version
// nibble): TUN ports, GTP-U T-PDUs. ether_type is set from the version.
PacketInfo parse_ip_packet(const uint8_t* packet, size_t len) noexcept;

// Parses the packet inside `outer`'s tunnel: an Ethernet frame for VXLAN, an
// IP packet for a GTP-U G-PDU (for Ethernet PDU sessions, call parse_packet()
// on frame + outer.inner_offset instead). It ends where the outer UDP
// datagram ends. Offsets are from the start of `frame` (the
// same buffer `outer` was parsed from). Returns error `unsupported` when
// `outer` has no tunnel with a packet inside.
PacketInfo parse_inner(const uint8_t* frame, size_t len, const PacketInfo& outer) noexcept;

}  // namespace nfv::net
