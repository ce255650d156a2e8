// The Internet checksum (RFC 1071) and its uses: IPv4 header (RFC 791 §3.1),
// UDP (RFC 768) and TCP (RFC 9293 §3.1) over the IPv4 pseudo-header, UDP/TCP
// and ICMPv6 over the IPv6 pseudo-header (RFC 8200 §8.1, RFC 4443 §2.3), and
// incremental updates for a rewritten field (RFC 1624 §3, eqn. 3).
//
// Conventions: a "sum" is a one's-complement partial sum kept in a uint32_t,
// in host order as if every 16-bit word had been read big-endian (RFC 1071
// §2(B) lets the byte order be chosen freely as long as it is consistent).
// Sums can be added together and folded later; a checksum is the folded sum's
// complement, in host order, ready for store_be16().
//
// To fill a checksum field: zero it, compute, store. To verify: compute over
// the header as received (checksum included); the result is 0 when it is right.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nfv::net {

// One's-complement sum of `len` bytes starting at `data`, added to `sum`.
// An odd final byte is padded with zero on the right (RFC 1071 §4.1). When a
// buffer is summed in pieces, every piece but the last must have even length.
// Returns the sum folded to 16 bits (so sums can be added without overflow).
uint32_t checksum_add(const uint8_t* data, size_t len, uint32_t sum = 0) noexcept;

// Folds the carries of a partial sum into 16 bits (no complement).
constexpr uint16_t checksum_fold(uint64_t sum) noexcept {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The checksum to store: the complement of the folded sum.
constexpr uint16_t checksum_finish(uint64_t sum) noexcept {
  return static_cast<uint16_t>(~checksum_fold(sum));
}

// RFC 1071 over a whole buffer.
inline uint16_t internet_checksum(const uint8_t* data, size_t len) noexcept {
  return checksum_finish(checksum_add(data, len));
}

// The IPv4 header checksum over `header_len` bytes (20..60), computed as if the
// checksum field (bytes 10..11) were zero, whatever it holds.
uint16_t ipv4_header_checksum(const uint8_t* header, size_t header_len) noexcept;

// Sums of the pseudo-headers. Addresses are host order for IPv4 (as Ipv4View
// returns them) and 16 raw bytes for IPv6; `l4_len` is the upper-layer length.
// With an IPv6 Routing header, the pseudo-header's destination is the final
// one (the last segment, RFC 8200 §8.1): the caller passes that address.
constexpr uint32_t ipv4_pseudo_header_sum(uint32_t src, uint32_t dst, uint8_t protocol,
                                          uint16_t l4_len) noexcept {
  return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + protocol + l4_len;
}
uint32_t ipv6_pseudo_header_sum(const uint8_t* src, const uint8_t* dst, uint8_t next_header,
                                uint32_t l4_len) noexcept;

// The UDP/TCP/ICMPv6 checksum over `l4_len` bytes of an upper-layer header
// and payload plus its pseudo-header. To fill, zero the checksum field first.
// UDP only: a computed 0 is sent as 0xffff (RFC 768), and 0 received over IPv4
// means "no checksum" (callers check for it before verifying).
inline uint16_t l4_checksum_ipv4(const uint8_t* l4, size_t l4_len, uint32_t src, uint32_t dst,
                                 uint8_t protocol) noexcept {
  return checksum_finish(checksum_add(
      l4, l4_len, ipv4_pseudo_header_sum(src, dst, protocol, static_cast<uint16_t>(l4_len))));
}
inline uint16_t l4_checksum_ipv6(const uint8_t* l4, size_t l4_len, const uint8_t* src,
                                 const uint8_t* dst, uint8_t next_header) noexcept {
  return checksum_finish(checksum_add(
      l4, l4_len, ipv6_pseudo_header_sum(src, dst, next_header, static_cast<uint32_t>(l4_len))));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). The new checksum after a 16-bit
// field of the covered data changes from `old_value` to `new_value`.
constexpr uint16_t checksum_update16(uint16_t checksum, uint16_t old_value,
                                     uint16_t new_value) noexcept {
  uint32_t sum = uint32_t{static_cast<uint16_t>(~checksum)} +
                 uint32_t{static_cast<uint16_t>(~old_value)} + new_value;
  return static_cast<uint16_t>(~checksum_fold(sum));
}

// The same for a 32-bit field aligned on a 16-bit boundary of the covered
// data (an IPv4 address, a TCP sequence number, a GTP-U TEID).
constexpr uint16_t checksum_update32(uint16_t checksum, uint32_t old_value,
                                     uint32_t new_value) noexcept {
  uint64_t sum = uint64_t{static_cast<uint16_t>(~checksum)} +
                 uint64_t{static_cast<uint16_t>(~(old_value >> 16))} +
                 uint64_t{static_cast<uint16_t>(~old_value)} + (new_value >> 16) +
                 (new_value & 0xffffu);
  return static_cast<uint16_t>(~checksum_fold(sum));
}

// The same for `len` bytes (even, 16-bit aligned in the covered data) changing
// from `old_bytes` to `new_bytes`: an IPv6 address in a NAT66/NPTv6 rewrite.
uint16_t checksum_update_bytes(uint16_t checksum, const uint8_t* old_bytes,
                               const uint8_t* new_bytes, size_t len) noexcept;

}  // namespace nfv::net
