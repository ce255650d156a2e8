// EthernetView: an Ethernet II header (IEEE 802.3 §3.2.6 type interpretation)
// with up to two VLAN tags in front of the EtherType: a customer tag (802.1Q,
// TPID 0x8100) and, for QinQ, a service tag first (802.1ad, TPID 0x88a8; the
// pre-standard 0x8100-in-0x8100 stacking is accepted too).
//
//   dst(6) src(6) [TPID(2) TCI(2)]{0,2} EtherType(2) payload...
//
// A third tag is refused (too_many_headers) rather than reported as an
// EtherType of 0x8100 that a classifier would take for an unknown protocol.
// A type/length field below 0x0600 is an 802.3 length (LLC frame): the view
// parses and ether_type() returns that length; is_llc() says so.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nfv/mac_address.hpp"
#include "nfv/net/byte_order.hpp"
#include "nfv/net/parse.hpp"

namespace nfv::net {

namespace ether_type {
inline constexpr uint16_t ipv4 = 0x0800;
inline constexpr uint16_t arp = 0x0806;
inline constexpr uint16_t vlan = 0x8100;  // 802.1Q C-tag
inline constexpr uint16_t ipv6 = 0x86dd;
inline constexpr uint16_t qinq = 0x88a8;      // 802.1ad S-tag
inline constexpr uint16_t min_type = 0x0600;  // below: an 802.3 length
}  // namespace ether_type

// An 802.1Q tag: TPID and the Tag Control Information (PCP 3 | DEI 1 | VID 12).
struct VlanTag {
  uint16_t tpid = ether_type::vlan;
  uint16_t tci = 0;

  constexpr uint16_t vid() const noexcept { return tci & 0x0fff; }
  constexpr uint8_t pcp() const noexcept { return static_cast<uint8_t>(tci >> 13); }
  constexpr bool dei() const noexcept { return (tci & 0x1000) != 0; }
  static constexpr VlanTag make(uint16_t vid, uint8_t pcp = 0, bool dei = false,
                                uint16_t tpid = ether_type::vlan) noexcept {
    return VlanTag{tpid,
                   static_cast<uint16_t>((pcp & 7) << 13 | (dei ? 0x1000 : 0) | (vid & 0x0fff))};
  }
  friend constexpr bool operator==(const VlanTag&, const VlanTag&) = default;
};

constexpr bool is_vlan_tpid(uint16_t type) noexcept {
  return type == ether_type::vlan || type == ether_type::qinq;
}

class EthernetView {
 public:
  static constexpr size_t kHeaderLen = 14;
  static constexpr size_t kTagLen = 4;
  static constexpr size_t kMaxTags = 2;

  static Parsed<EthernetView> parse(const uint8_t* data, size_t len) noexcept;

  MacAddress dst() const noexcept { return MacAddress::from_bytes(p_); }
  MacAddress src() const noexcept { return MacAddress::from_bytes(p_ + 6); }

  // Tags, outermost first; tag(i) for i < tag_count().
  size_t tag_count() const noexcept { return tags_; }
  VlanTag tag(size_t i) const noexcept {
    const uint8_t* t = p_ + 12 + i * kTagLen;
    return VlanTag{load_be16(t), load_be16(t + 2)};
  }
  // The VID of the innermost tag (the customer VLAN), 0 when untagged.
  uint16_t inner_vid() const noexcept { return tags_ ? tag(tags_ - 1u).vid() : 0; }

  // The EtherType after the tags (or the 802.3 length of an LLC frame).
  uint16_t ether_type() const noexcept { return load_be16(p_ + header_len() - 2); }
  bool is_llc() const noexcept { return ether_type() < ether_type::min_type; }

  size_t header_len() const noexcept { return kHeaderLen + tags_ * kTagLen; }
  const uint8_t* data() const noexcept { return p_; }
  const uint8_t* payload() const noexcept { return p_ + header_len(); }
  size_t payload_len() const noexcept { return len_ - header_len(); }

 private:
  const uint8_t* p_ = nullptr;
  size_t len_ = 0;
  uint8_t tags_ = 0;
};

}  // namespace nfv::net
