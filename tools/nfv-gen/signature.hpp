// The test signature nfv-gen puts in every frame it sends, right after the
// L4 header (UDP/TCP payload), so that the receive side can tell streams
// apart, count loss, reordering and duplicates, and measure latency:
//
//   offset  size  field
//   0       2     magic 0x4e47 ("NG"), network order
//   2       2     stream id, network order
//   4       4     sequence number within the stream (wraps at 2^32), network order
//   8       8     TSC at transmit (host order: sender and receiver share the host)
//
// 16 bytes, so that Ethernet + IPv4 + UDP + signature is 58 bytes and fits a
// 60-byte (64 with FCS) frame; with a VLAN tag it needs 62. A frame too short
// for it (tagged 60 bytes, IPv6 at 64) is sent without one and is counted
// per port only (StreamTemplate::has_signature).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace nfvgen {

inline constexpr uint16_t kSignatureMagic = 0x4e47;
inline constexpr uint32_t kSignatureSize = 16;

struct Signature {
  uint16_t stream;
  uint32_t seq;
  uint64_t tsc;
};

inline void write_signature(uint8_t* p, const Signature& s) noexcept {
  p[0] = static_cast<uint8_t>(kSignatureMagic >> 8);
  p[1] = static_cast<uint8_t>(kSignatureMagic & 0xff);
  p[2] = static_cast<uint8_t>(s.stream >> 8);
  p[3] = static_cast<uint8_t>(s.stream & 0xff);
  p[4] = static_cast<uint8_t>(s.seq >> 24);
  p[5] = static_cast<uint8_t>(s.seq >> 16);
  p[6] = static_cast<uint8_t>(s.seq >> 8);
  p[7] = static_cast<uint8_t>(s.seq);
  std::memcpy(p + 8, &s.tsc, sizeof s.tsc);
}

// The 8 TSC bytes write_signature() stores (host order), read as one
// big-endian number: what the checksum sums for them.
inline uint64_t host_tsc_as_big_endian(uint64_t tsc) noexcept {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(tsc);
  return tsc;
}

// False when the bytes do not start with the magic.
inline bool read_signature(const uint8_t* p, Signature& out) noexcept {
  if (p[0] != (kSignatureMagic >> 8) || p[1] != (kSignatureMagic & 0xff)) return false;
  out.stream = static_cast<uint16_t>(p[2] << 8 | p[3]);
  out.seq = uint32_t{p[4]} << 24 | uint32_t{p[5]} << 16 | uint32_t{p[6]} << 8 | p[7];
  std::memcpy(&out.tsc, p + 8, sizeof out.tsc);
  return true;
}

}  // namespace nfvgen
