// The Internet checksum (RFC 1071) and RFC 1624 incremental updates.
//
// checksum_add() sums the buffer as native-order 32-bit words into a 64-bit
// accumulator, eight words per step: with 64 bits no carry can be lost before
// 2^32 words (16 GiB), so the loop has no carry handling at all, and folding
// the native sum to 16 bits gives the byte-swapped big-endian sum (RFC 1071
// §2(B), "byte order independence"): one swap at the end puts it right.
#include "nfv/net/checksum.hpp"

#include <bit>
#include <cstring>

namespace nfv::net {

namespace {

// memcpy is how to read an unaligned word without UB; it compiles to one load.
inline uint32_t load_native32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

uint32_t checksum_add(const uint8_t* data, size_t len, uint32_t sum) noexcept {
  uint64_t acc = 0;
  while (len >= 32) {
    acc += uint64_t{load_native32(data)} + load_native32(data + 4) + load_native32(data + 8) +
           load_native32(data + 12) + load_native32(data + 16) + load_native32(data + 20) +
           load_native32(data + 24) + load_native32(data + 28);
    data += 32;
    len -= 32;
  }
  while (len >= 4) {
    acc += load_native32(data);
    data += 4;
    len -= 4;
  }
  if (len > 0) {
    // The last 1..3 bytes, zero-padded on the right (RFC 1071 §4.1).
    uint8_t tail[4] = {0, 0, 0, 0};
    std::memcpy(tail, data, len);
    acc += load_native32(tail);
  }
  uint16_t folded = checksum_fold(acc);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<uint16_t>(folded << 8 | folded >> 8);
  }
  return checksum_fold(uint64_t{sum} + folded);
}

uint16_t ipv4_header_checksum(const uint8_t* header, size_t header_len) noexcept {
  // Skip the checksum field (bytes 10..11) rather than copy the header to zero it.
  uint32_t sum = checksum_add(header, 10);
  return checksum_finish(checksum_add(header + 12, header_len - 12, sum));
}

uint32_t ipv6_pseudo_header_sum(const uint8_t* src, const uint8_t* dst, uint8_t next_header,
                                uint32_t l4_len) noexcept {
  // RFC 8200 §8.1: src(16) dst(16) upper-layer length(4) zero(3) next header(1).
  uint32_t sum = checksum_add(src, 16);
  sum = checksum_add(dst, 16, sum);
  return sum + (l4_len >> 16) + (l4_len & 0xffffu) + next_header;
}

uint16_t checksum_update_bytes(uint16_t checksum, const uint8_t* old_bytes,
                               const uint8_t* new_bytes, size_t len) noexcept {
  // RFC 1624 eqn. 3 with m and m' the one's-complement sums of the old and new
  // bytes: the sum of complements is the complement of the sum.
  uint16_t old_sum = checksum_fold(checksum_add(old_bytes, len));
  uint16_t new_sum = checksum_fold(checksum_add(new_bytes, len));
  return checksum_update16(checksum, old_sum, new_sum);
}

}  // namespace nfv::net
