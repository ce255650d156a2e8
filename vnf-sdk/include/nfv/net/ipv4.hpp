// Ipv4View: an IPv4 header with its options (RFC 791 §3.1).
//
//   ver/IHL(1) TOS(1) total length(2) id(2) flags/frag offset(2) TTL(1)
//   protocol(1) checksum(2) src(4) dst(4) options(IHL*4 - 20)
//
// parse() refuses: fewer than 20 bytes or than IHL*4 bytes (truncated),
// version != 4 (bad_version), IHL < 5 (bad_header_length), a total length
// below IHL*4 (bad_length) or beyond the buffer (truncated), and options
// whose length byte is < 2 or runs past the header (bad_option; RFC 791 §3.1
// "Options"). Bytes after total length (Ethernet padding) are not payload.
// The header checksum is not checked by parse(): receive paths usually have
// it checked by the NIC; call checksum_ok() where it matters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "nfv/net/byte_order.hpp"
#include "nfv/net/ip_protocol.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

class Ipv4View {
 public:
  static constexpr size_t kMinHeaderLen = 20;
  static constexpr size_t kMaxHeaderLen = 60;

  static Parsed<Ipv4View> parse(const uint8_t* data, size_t len) noexcept;

  uint8_t version() const noexcept { return p_[0] >> 4; }
  size_t header_len() const noexcept { return size_t{p_[0] & 0x0fu} * 4; }
  uint8_t tos() const noexcept { return p_[1]; }
  uint8_t dscp() const noexcept { return p_[1] >> 2; }
  uint8_t ecn() const noexcept { return p_[1] & 0x03; }
  uint16_t total_length() const noexcept { return load_be16(p_ + 2); }
  uint16_t identification() const noexcept { return load_be16(p_ + 4); }

  // Fragmentation (RFC 791 §3.1 "Flags", "Fragment Offset"; RFC 6864).
  bool dont_fragment() const noexcept { return (p_[6] & 0x40) != 0; }
  bool more_fragments() const noexcept { return (p_[6] & 0x20) != 0; }
  uint16_t fragment_offset() const noexcept { return load_be16(p_ + 6) & 0x1fff; }  // 8-byte units
  uint32_t fragment_offset_bytes() const noexcept { return uint32_t{fragment_offset()} * 8; }
  // Any fragment, first or later: the payload is not the whole datagram.
  bool is_fragment() const noexcept { return more_fragments() || fragment_offset() != 0; }
  // A fragment after the first: there is no upper-layer header here.
  bool is_later_fragment() const noexcept { return fragment_offset() != 0; }

  uint8_t ttl() const noexcept { return p_[8]; }
  uint8_t protocol() const noexcept { return p_[9]; }
  uint16_t checksum() const noexcept { return load_be16(p_ + 10); }
  uint32_t src() const noexcept { return load_be32(p_ + 12); }  // host order
  uint32_t dst() const noexcept { return load_be32(p_ + 16); }  // host order
  bool checksum_ok() const noexcept;

  std::span<const uint8_t> options() const noexcept {
    return {p_ + kMinHeaderLen, header_len() - kMinHeaderLen};
  }
  const uint8_t* data() const noexcept { return p_; }
  // The payload ends at total_length, not at the end of the buffer.
  const uint8_t* payload() const noexcept { return p_ + header_len(); }
  size_t payload_len() const noexcept { return size_t{total_length()} - header_len(); }

 private:
  const uint8_t* p_ = nullptr;
};

// "10.0.0.1" as a host-order address, for tests and configuration.
constexpr uint32_t ipv4_address(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

}  // namespace nfv::net
