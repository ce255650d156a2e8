// EthernetView::parse: the MAC header and up to two VLAN tags (IEEE 802.1Q §9).
#include "nfv/net/ethernet.hpp"

namespace nfv::net {

Parsed<EthernetView> EthernetView::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kHeaderLen) return ParseError::truncated;
  uint16_t type = load_be16(data + 12);
  uint8_t tags = 0;
  // Bounded: each pass adds a tag and the loop refuses a third.
  while (is_vlan_tpid(type)) {
    if (tags == kMaxTags) return ParseError::too_many_headers;
    ++tags;
    const size_t need = kHeaderLen + tags * kTagLen;
    if (len < need) return ParseError::truncated;
    type = load_be16(data + need - 2);
  }
  EthernetView v;
  v.p_ = data;
  v.len_ = len;
  v.tags_ = tags;
  return v;
}

}  // namespace nfv::net
