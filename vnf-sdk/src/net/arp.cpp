// ArpView::parse: RFC 826 for Ethernet (htype 1) and IPv4 (ptype 0x0800).
#include "nfv/net/arp.hpp"

namespace nfv::net {

Parsed<ArpView> ArpView::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kLen) return ParseError::truncated;
  if (load_be16(data) != 1 || load_be16(data + 2) != 0x0800 || data[4] != 6 || data[5] != 4) {
    return ParseError::unsupported;
  }
  ArpView v;
  v.p_ = data;
  return v;
}

}  // namespace nfv::net
