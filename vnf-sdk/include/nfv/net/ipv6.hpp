// Ipv6View: the IPv6 fixed header (RFC 8200 §3) and a walk of its extension
// header chain (RFC 8200 §4) to the upper-layer protocol.
//
//   ver/TC/flow label(4) payload length(2) next header(1) hop limit(1)
//   src(16) dst(16) [extension headers] upper-layer header...
//
// Extension headers walked: Hop-by-Hop Options (0, only directly after the
// fixed header, RFC 8200 §4.1), Routing (43), Fragment (44), Destination
// Options (60), each (Hdr Ext Len + 1) * 8 bytes, and Authentication Header
// (51, (Payload Len + 2) * 4 bytes, RFC 4302 §2.2). At most kMaxExtensions
// are walked (too_many_headers beyond, which also stops crafted long chains);
// every length is checked against the payload length before it is followed.
// The walk stops at the first other value (TCP, UDP, ICMPv6, ESP, No Next
// Header...), which is reported as upper_protocol(). A Fragment header with a
// non-zero offset stops the walk too: what follows is not a header.
//
// parse() refuses fewer than 40 bytes or a payload beyond the buffer
// (truncated), version != 6 (bad_version), and a payload length of zero with
// a Hop-by-Hop header (a jumbogram, RFC 2675: unsupported).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/ip_protocol.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

using Ipv6Address = std::array<uint8_t, 16>;

class Ipv6View {
 public:
  static constexpr size_t kHeaderLen = 40;
  static constexpr size_t kMaxExtensions = 8;

  static Parsed<Ipv6View> parse(const uint8_t* data, size_t len) noexcept;

  uint8_t version() const noexcept { return p_[0] >> 4; }
  uint8_t traffic_class() const noexcept { return static_cast<uint8_t>(load_be16(p_) >> 4); }
  uint32_t flow_label() const noexcept { return load_be32(p_) & 0xfffff; }
  uint16_t payload_length() const noexcept { return load_be16(p_ + 4); }
  uint8_t next_header() const noexcept { return p_[6]; }  // of the fixed header
  uint8_t hop_limit() const noexcept { return p_[7]; }
  const uint8_t* src() const noexcept { return p_ + 8; }   // 16 bytes
  const uint8_t* dst() const noexcept { return p_ + 24; }  // 16 bytes
  Ipv6Address src_address() const noexcept { return copy_address(p_ + 8); }
  Ipv6Address dst_address() const noexcept { return copy_address(p_ + 24); }

  // The result of the extension header walk.
  size_t extension_count() const noexcept { return ext_count_; }
  uint8_t upper_protocol() const noexcept { return upper_proto_; }
  // Offset of the upper-layer header from the start of the IPv6 header.
  size_t upper_offset() const noexcept { return upper_off_; }
  const uint8_t* upper() const noexcept { return p_ + upper_off_; }
  size_t upper_len() const noexcept { return kHeaderLen + payload_length() - upper_off_; }

  // Fragment header (RFC 8200 §4.5), when the chain has one.
  bool is_fragment() const noexcept { return frag_off_ != 0; }
  bool is_later_fragment() const noexcept { return is_fragment() && fragment_offset() != 0; }
  uint16_t fragment_offset() const noexcept {  // 8-byte units
    return frag_off_ ? static_cast<uint16_t>(load_be16(p_ + frag_off_ + 2) >> 3) : 0;
  }
  bool more_fragments() const noexcept { return frag_off_ && (p_[frag_off_ + 3] & 1) != 0; }
  uint32_t fragment_id() const noexcept { return frag_off_ ? load_be32(p_ + frag_off_ + 4) : 0; }

  const uint8_t* data() const noexcept { return p_; }
  const uint8_t* payload() const noexcept { return p_ + kHeaderLen; }
  size_t payload_len() const noexcept { return payload_length(); }

 private:
  static Ipv6Address copy_address(const uint8_t* a) noexcept {
    Ipv6Address out;
    for (size_t i = 0; i < out.size(); ++i) out[i] = a[i];
    return out;
  }

  const uint8_t* p_ = nullptr;
  uint16_t upper_off_ = 0;
  uint16_t frag_off_ = 0;  // offset of the Fragment header; 0: none (it cannot be at 0)
  uint8_t upper_proto_ = 0;
  uint8_t ext_count_ = 0;
};

}  // namespace nfv::net
