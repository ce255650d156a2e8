// GtpuView::parse: 3GPP TS 29.281 §5.1 (header) and §5.2 (extension headers),
// the PDU Session Container from TS 38.415 §5.5.2.
#include "nfv/net/gtpu.hpp"

namespace nfv::net {

Parsed<GtpuView> GtpuView::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kHeaderLen) return ParseError::truncated;
  const uint8_t flags = data[0];
  if ((flags >> 5) != 1) return ParseError::bad_version;
  if (!(flags & 0x10)) return ParseError::unsupported;  // PT = 0: GTP' (TS 32.295)
  const size_t total = kHeaderLen + load_be16(data + 2);
  if (total > len) return ParseError::truncated;

  GtpuView v;
  v.p_ = data;
  size_t off = kHeaderLen;
  uint8_t next = gtpu_ext::none;
  if (flags & (kFlagE | kFlagS | kFlagPN)) {
    // §5.1: the 4 optional bytes are present when any of E, S, PN is set;
    // the next extension type counts only when E is.
    if (total - off < kOptionalLen) return ParseError::bad_length;
    off += kOptionalLen;
    if (flags & kFlagE) next = data[off - 1];
  }
  // §5.2.1: each extension is length (4-byte units, never 0), content, next
  // type. Bounded by kMaxExtensions; each is <= 1020 bytes, so `off` fits 16 bits.
  while (next != gtpu_ext::none) {
    if (v.ext_count_ == kMaxExtensions) return ParseError::too_many_headers;
    if (total - off < 1) return ParseError::bad_length;
    const size_t hl = size_t{data[off]} * 4;
    if (hl == 0) return ParseError::bad_header_length;
    if (hl > total - off) return ParseError::bad_length;
    if (next == gtpu_ext::pdu_session_container) v.pdu_off_ = static_cast<uint16_t>(off);
    ++v.ext_count_;
    next = data[off + hl - 1];
    off += hl;
  }
  v.hdr_len_ = static_cast<uint16_t>(off);
  return v;
}

}  // namespace nfv::net
