// VxlanView::parse: RFC 7348 §5.
#include "nfv/net/vxlan.hpp"

namespace nfv::net {

Parsed<VxlanView> VxlanView::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kHeaderLen) return ParseError::truncated;
  if (!(data[0] & kFlagVni)) return ParseError::bad_flags;
  VxlanView v;
  v.p_ = data;
  v.len_ = len;
  return v;
}

}  // namespace nfv::net
