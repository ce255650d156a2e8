// IcmpView: an ICMP (RFC 792) or ICMPv6 (RFC 4443 §2.1) message header. Both
// share the layout, so one view serves both; the IP layer says which it is.
//
//   type(1) code(1) checksum(2) rest of header(4) body...
//
// parse() refuses fewer than 8 bytes (truncated): every ICMP message and every
// ICMPv6 message RFC 4443 defines has the 4-byte field after the checksum.
// The checksum is not verified here: ICMP sums the message only
// (internet_checksum), ICMPv6 adds the IPv6 pseudo-header (l4_checksum_ipv6).
#pragma once

#include <cstddef>
#include <cstdint>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

namespace icmp_type {  // RFC 792
inline constexpr uint8_t echo_reply = 0;
inline constexpr uint8_t dest_unreachable = 3;
inline constexpr uint8_t echo_request = 8;
inline constexpr uint8_t time_exceeded = 11;
}  // namespace icmp_type

namespace icmpv6_type {  // RFC 4443 §2.1, RFC 4861 §4
inline constexpr uint8_t dest_unreachable = 1;
inline constexpr uint8_t packet_too_big = 2;
inline constexpr uint8_t time_exceeded = 3;
inline constexpr uint8_t echo_request = 128;
inline constexpr uint8_t echo_reply = 129;
inline constexpr uint8_t neighbor_solicitation = 135;
inline constexpr uint8_t neighbor_advertisement = 136;
}  // namespace icmpv6_type

class IcmpView {
 public:
  static constexpr size_t kHeaderLen = 8;

  static Parsed<IcmpView> parse(const uint8_t* data, size_t len) noexcept;

  uint8_t type() const noexcept { return p_[0]; }
  uint8_t code() const noexcept { return p_[1]; }
  uint16_t checksum() const noexcept { return load_be16(p_ + 2); }
  uint32_t rest_of_header() const noexcept { return load_be32(p_ + 4); }
  // Echo request/reply fields (RFC 792 "Echo", RFC 4443 §4.1).
  uint16_t echo_id() const noexcept { return load_be16(p_ + 4); }
  uint16_t echo_sequence() const noexcept { return load_be16(p_ + 6); }
  // Packet Too Big MTU (RFC 4443 §3.2).
  uint32_t mtu() const noexcept { return rest_of_header(); }

  const uint8_t* data() const noexcept { return p_; }
  size_t len() const noexcept { return len_; }  // the whole message
  const uint8_t* body() const noexcept { return p_ + kHeaderLen; }
  size_t body_len() const noexcept { return len_ - kHeaderLen; }

 private:
  const uint8_t* p_ = nullptr;
  size_t len_ = 0;
};

}  // namespace nfv::net
