// IcmpView::parse: RFC 792 and RFC 4443 §2.1.
#include "nfv/net/icmp.hpp"

namespace nfv::net {

Parsed<IcmpView> IcmpView::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kHeaderLen) return ParseError::truncated;
  IcmpView v;
  v.p_ = data;
  v.len_ = len;
  return v;
}

}  // namespace nfv::net
