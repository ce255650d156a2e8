// FlowKey: the header fields the flow table matches on, packed into eight
// 64-bit words so that a rule is a (value, mask) pair of the same shape and
// matching is eight AND/XOR/OR steps with no branches (see flow_table.hpp).
//
//   w0  in_port << 48 | vlan << 32 | dl_type << 16 | nw_proto << 8 | flags
//         vlan: 0x1000 | VID of the outer 802.1Q tag, 0 when untagged
//         dl_type: the EtherType after the outer tag (if any)
//         flags: kFlagIp (an IPv4/IPv6 header was read), kFlagL4 (tp_src/tp_dst are valid:
//                TCP, UDP or SCTP, not a non-first fragment, header inside the first segment)
//   w1  dl_dst (48 bits, first octet highest)    w2  dl_src
//   w3  nw_src: IPv6 bytes 0..7, or the IPv4 address in the low 32 bits
//   w4  nw_src: IPv6 bytes 8..15 (0 for IPv4)
//   w5, w6  nw_dst, the same way
//   w7  tp_src << 16 | tp_dst
//
// extract_flow_key reads only the first `len` bytes it is given (the frame's
// first segment); what does not fit leaves its fields zero and its flag clear,
// so a rule on those fields does not match. IPv6 extension headers are not
// walked: nw_proto is the base header's Next Header.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nfv::sw {

inline constexpr size_t kKeyWords = 8;
using KeyWords = std::array<uint64_t, kKeyWords>;

namespace flow_key {

enum Word : size_t { kMeta = 0, kDlDst = 1, kDlSrc = 2, kNwSrc = 3, kNwDst = 5, kTp = 7 };

inline constexpr uint64_t kFlagIp = 1;
inline constexpr uint64_t kFlagL4 = 2;
inline constexpr int kInPortShift = 48, kVlanShift = 32, kDlTypeShift = 16, kNwProtoShift = 8;
inline constexpr uint16_t kVlanPresent = 0x1000;

inline constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100;
inline constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17, kProtoSctp = 132;

inline uint16_t be16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint64_t be_bytes(const uint8_t* p, size_t n) noexcept {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace flow_key

// Fills the key of the frame `d` (len bytes of its first segment) received on port `in_port`.
inline KeyWords extract_flow_key(const uint8_t* d, size_t len, uint16_t in_port) noexcept {
  using namespace flow_key;
  KeyWords k{};
  uint64_t meta = uint64_t{in_port} << kInPortShift;
  if (len < 14) {
    k[kMeta] = meta;
    return k;
  }
  uint64_t raw[2] = {0, 0};
  std::memcpy(raw, d, 12);  // the two addresses, as two loads
  k[kDlDst] = __builtin_bswap64(raw[0]) >> 16;
  k[kDlSrc] = (__builtin_bswap64(raw[0]) << 32 | __builtin_bswap64(raw[1]) >> 32) & 0xffffffffffffULL;
  size_t off = 12;
  uint16_t type = be16(d + off);
  if (type == kEthVlan && len >= 18) {
    meta |= uint64_t{static_cast<uint16_t>(kVlanPresent | (be16(d + 14) & 0xfff))} << kVlanShift;
    off += 4;
    type = be16(d + off);
  }
  off += 2;
  meta |= uint64_t{type} << kDlTypeShift;
  uint8_t proto = 0;
  size_t l4 = 0;  // offset of the L4 header, 0: none
  if (type == kEthIpv4 && len >= off + 20) {
    const uint8_t* ip = d + off;
    const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
    if ((ip[0] >> 4) == 4 && ihl >= 20) {
      proto = ip[9];
      meta |= kFlagIp;
      k[kNwSrc] = be_bytes(ip + 12, 4);
      k[kNwDst] = be_bytes(ip + 16, 4);
      const bool later_fragment = (be16(ip + 6) & 0x1fff) != 0;
      if (!later_fragment) l4 = off + ihl;
    }
  } else if (type == kEthIpv6 && len >= off + 40) {
    const uint8_t* ip = d + off;
    if ((ip[0] >> 4) == 6) {
      proto = ip[6];
      meta |= kFlagIp;
      k[kNwSrc] = be_bytes(ip + 8, 8);
      k[kNwSrc + 1] = be_bytes(ip + 16, 8);
      k[kNwDst] = be_bytes(ip + 24, 8);
      k[kNwDst + 1] = be_bytes(ip + 32, 8);
      l4 = off + 40;
    }
  }
  meta |= uint64_t{proto} << kNwProtoShift;
  if (l4 != 0 && (proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp) && len >= l4 + 4) {
    meta |= kFlagL4;
    k[kTp] = uint64_t{be16(d + l4)} << 16 | be16(d + l4 + 2);
  }
  k[kMeta] = meta;
  return k;
}

// True when `key` matches the rule (value, mask): every masked bit equal.
inline bool key_matches(const KeyWords& key, const KeyWords& value, const KeyWords& mask) noexcept {
  uint64_t diff = 0;
  for (size_t i = 0; i < kKeyWords; ++i) diff |= (key[i] ^ value[i]) & mask[i];
  return diff == 0;
}

}  // namespace nfv::sw
