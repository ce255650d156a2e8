// Ipv6View::parse: the fixed header (RFC 8200 §3) and the extension header
// walk (RFC 8200 §4, AH from RFC 4302 §2.2).
#include "nfv/net/ipv6.hpp"

namespace nfv::net {

Parsed<Ipv6View> Ipv6View::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kHeaderLen) return ParseError::truncated;
  if ((data[0] >> 4) != 6) return ParseError::bad_version;
  const size_t end = kHeaderLen + load_be16(data + 4);
  if (end > len) return ParseError::truncated;
  uint8_t next = data[6];
  if (end == kHeaderLen && next == ip_proto::hop_by_hop)
    return ParseError::unsupported;  // RFC 2675

  Ipv6View v;
  v.p_ = data;
  size_t off = kHeaderLen;
  // Bounded by kMaxExtensions; every header is at least 8 bytes, so `off`
  // stays below 40 + 8 * 2048 and fits the view's 16-bit offsets.
  for (;;) {
    const bool is_ext = next == ip_proto::hop_by_hop || next == ip_proto::routing ||
                        next == ip_proto::fragment || next == ip_proto::dest_opts ||
                        next == ip_proto::ah;
    if (!is_ext) break;
    if (next == ip_proto::hop_by_hop && off != kHeaderLen) return ParseError::bad_order;
    if (v.ext_count_ == kMaxExtensions) return ParseError::too_many_headers;
    if (end - off < 8) return ParseError::truncated;  // every extension is >= 8 bytes
    size_t hl = 8;
    if (next == ip_proto::ah) {
      hl = (size_t{data[off + 1]} + 2) * 4;
      if (hl < 12) return ParseError::bad_header_length;  // SPI and sequence are mandatory
    } else if (next != ip_proto::fragment) {
      hl = (size_t{data[off + 1]} + 1) * 8;
    }
    if (hl > end - off) return ParseError::truncated;
    ++v.ext_count_;
    const uint8_t following = data[off];
    if (next == ip_proto::fragment) {
      v.frag_off_ = static_cast<uint16_t>(off);
      if ((load_be16(data + off + 2) >> 3) != 0) {  // a later fragment: no header follows
        off += hl;
        next = following;
        break;
      }
    }
    off += hl;
    next = following;
  }
  v.upper_proto_ = next;
  v.upper_off_ = static_cast<uint16_t>(off);
  return v;
}

}  // namespace nfv::net
