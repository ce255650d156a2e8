// PacketBuilder: writes a header stack into a caller's buffer, outermost
// first, then fills every length, next-protocol field and checksum in
// finish(). It allocates nothing and throws nothing, so a traffic generator
// can build a template once (or a packet per send) and tests can make any
// frame the parsers read.
//
//   uint8_t buf[256];
//   PacketBuilder b(buf);
//   b.ethernet(dst_mac, src_mac).vlan(VlanTag::make(100))
//    .ipv4({.src = ipv4_address(10, 0, 0, 1), .dst = ipv4_address(10, 0, 0, 2)})
//    .udp(1234, 5678).payload(bytes);
//   std::optional<size_t> len = b.finish(60);  // pads to the Ethernet minimum
//
// Each layer sets the next-protocol field of the one before it: the EtherType
// of Ethernet and VLAN tags (the next tag's TPID, 0x0800, 0x86dd, 0x0806), the
// IPv4 protocol and IPv6/extension next header (6, 17, 1 or 58, 44...).
// finish() then sets the lengths: IPv4 total length (RFC 791 §3.1), IPv6
// payload length (RFC 8200 §3), UDP length (RFC 768), GTP-U length (TS 29.281
// §5.1); then the checksums from the innermost layer out, since an outer UDP
// checksum covers the inner packet: TCP/UDP over the pseudo-header of the
// enclosing IP header (the IPv6 header's destination, even when a Routing
// header would make the final one another), ICMP (RFC 792), ICMPv6 (RFC 4443
// §2.3), the IPv4 header checksum.
//
// Field variation (a traffic generator's template): build once, then per
// packet rewrite a field and patch the checksums with checksum_update16/32()
// (checksum.hpp), using the offsets parse_packet() reports; or rebuild: a
// build is a few hundred bytes of stores and one pass of checksums.
//
// Layering rules (bad_layering otherwise): Ethernet first or after VXLAN;
// at most two VLAN tags, after Ethernet; IP first, after Ethernet/VLAN or
// after GTP-U; IPv6 extensions after IPv6; UDP/TCP/ICMP after IP; VXLAN and
// GTP-U after UDP; payload last. Errors stick: later calls do nothing and
// finish() returns nullopt, with error() saying why.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "nfv/mac_address.hpp"
#include "nfv/net/ethernet.hpp"
#include "nfv/net/gtpu.hpp"
#include "nfv/net/ip_protocol.hpp"
#include "nfv/net/ipv6.hpp"
#include "nfv/net/tcp.hpp"

namespace nfv::net {

enum class BuildError : uint8_t {
  none = 0,
  no_space,         // the buffer is too small for what was added
  bad_layering,     // a layer where it cannot be (see the rules above)
  too_many_layers,  // more than PacketBuilder::kMaxLayers
  bad_argument,     // options longer than 40 bytes, a VNI over 24 bits...
  too_long,         // a length field would overflow (IPv4 total length > 65535)
};

const char* build_error_name(BuildError e) noexcept;

struct Ipv4Fields {
  uint32_t src = 0;  // host order
  uint32_t dst = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t identification = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;           // 8-byte units
  std::span<const uint8_t> options = {};  // padded with End of Options to 4n bytes, <= 40
  uint8_t protocol = 253;  // used only when no UDP/TCP/ICMP layer follows (253: RFC 3692)
};

struct Ipv6Fields {
  Ipv6Address src = {};
  Ipv6Address dst = {};
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  uint8_t next_header = ip_proto::no_next;  // used only when nothing known follows
};

struct TcpFields {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = tcp_flag::ack;
  uint16_t window = 65535;
  uint16_t urgent_pointer = 0;
  std::span<const uint8_t> options = {};  // padded with End of Option List to 4n bytes, <= 40
};

struct GtpuFields {
  uint32_t teid = 0;
  uint8_t message_type = gtpu_msg::g_pdu;
  std::optional<uint16_t> sequence = {};  // sets S and the optional field
  std::optional<uint8_t> qfi = {};        // adds a PDU Session Container (sets E)
  uint8_t pdu_type = 0;                   // 0: DL, 1: UL (TS 38.415 §5.5.3.1)
};

class PacketBuilder {
 public:
  static constexpr size_t kMaxLayers = 16;

  explicit PacketBuilder(std::span<uint8_t> out) noexcept : out_(out) {}

  // ether_type is used only when no IP/VLAN/ARP layer follows.
  PacketBuilder& ethernet(const MacAddress& dst, const MacAddress& src,
                          uint16_t ether_type = 0) noexcept;
  PacketBuilder& vlan(VlanTag tag) noexcept;  // tag.tpid is written before the TCI
  // An ARP packet for IPv4 over Ethernet (RFC 826); addresses host order.
  PacketBuilder& arp(uint16_t operation, const MacAddress& sender_mac, uint32_t sender_ip,
                     const MacAddress& target_mac, uint32_t target_ip) noexcept;
  PacketBuilder& ipv4(const Ipv4Fields& f) noexcept;
  PacketBuilder& ipv6(const Ipv6Fields& f) noexcept;
  // A whole extension header as it goes on the wire (its length byte and
  // padding are the caller's); its first byte, Next Header, is replaced when
  // a known layer follows (not for a payload: a later fragment keeps it).
  // `type` is its own protocol number (0, 43, 44, 51, 60...).
  PacketBuilder& ipv6_extension(uint8_t type, std::span<const uint8_t> header) noexcept;
  PacketBuilder& udp(uint16_t src_port, uint16_t dst_port, bool zero_checksum = false) noexcept;
  PacketBuilder& tcp(const TcpFields& f) noexcept;
  // ICMP after IPv4, ICMPv6 after IPv6; `rest` is the 4 bytes after the checksum.
  PacketBuilder& icmp(uint8_t type, uint8_t code, uint32_t rest = 0) noexcept;
  PacketBuilder& vxlan(uint32_t vni) noexcept;
  PacketBuilder& gtpu(const GtpuFields& f) noexcept;
  PacketBuilder& payload(std::span<const uint8_t> bytes) noexcept;
  // n bytes counting up from `first` (0x00, 0x01, ... wrapping): recognisable in dumps.
  PacketBuilder& payload_pattern(size_t n, uint8_t first = 0) noexcept;

  // Fills lengths and checksums, then pads with zeros to min_len (not
  // counted in any length: Ethernet padding). Returns the frame length, or
  // nullopt with error() set. Calling it again gives the same bytes.
  std::optional<size_t> finish(size_t min_len = 0) noexcept;

  BuildError error() const noexcept { return error_; }
  size_t size() const noexcept { return used_; }  // bytes written so far, without padding

 private:
  enum class Kind : uint8_t {
    ethernet,
    vlan,
    arp,
    ipv4,
    ipv6,
    ipv6_ext,
    udp,
    tcp,
    icmp,
    vxlan,
    gtpu,
    payload
  };
  struct Layer {
    Kind kind;
    uint8_t type;  // ipv6_ext: its protocol number; udp: 1 = leave the checksum zero
    uint16_t offset;
  };

  uint8_t* append(Kind kind, size_t len, uint8_t type = 0, uint16_t tpid = 0) noexcept;
  bool may_follow(Kind kind) const noexcept;
  void link_previous(Kind kind, uint8_t type, uint16_t tpid) noexcept;
  void fill_length(const Layer& layer, size_t end) noexcept;
  void fill_checksum(size_t index, size_t end) noexcept;
  void fail(BuildError e) noexcept {
    if (error_ == BuildError::none) error_ = e;
  }

  std::span<uint8_t> out_;
  size_t used_ = 0;
  std::array<Layer, kMaxLayers> layers_{};
  size_t layer_count_ = 0;
  BuildError error_ = BuildError::none;
};

}  // namespace nfv::net
