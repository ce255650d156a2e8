// UdpView::parse: RFC 768.
#include "nfv/net/udp.hpp"

namespace nfv::net {

Parsed<UdpView> UdpView::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kHeaderLen) return ParseError::truncated;
  const size_t length = load_be16(data + 4);
  if (length < kHeaderLen) return ParseError::bad_length;
  if (length > len) return ParseError::truncated;
  UdpView v;
  v.p_ = data;
  return v;
}

}  // namespace nfv::net
