// Ipv4View::parse: RFC 791 §3.1, options included.
#include "nfv/net/ipv4.hpp"

#include "nfv/net/checksum.hpp"

namespace nfv::net {

namespace {

// RFC 791 §3.1 "Options": End of Option List (0) ends them, No Operation (1)
// is one byte, every other option is type, length (>= 2, counting both), data.
bool options_well_formed(const uint8_t* o, size_t n) noexcept {
  size_t i = 0;
  while (i < n) {  // bounded: i grows by at least 1 per pass
    const uint8_t type = o[i];
    if (type == 0) return true;
    if (type == 1) {
      ++i;
      continue;
    }
    if (n - i < 2) return false;
    const uint8_t olen = o[i + 1];
    if (olen < 2 || olen > n - i) return false;
    i += olen;
  }
  return true;
}

}  // namespace

Parsed<Ipv4View> Ipv4View::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kMinHeaderLen) return ParseError::truncated;
  if ((data[0] >> 4) != 4) return ParseError::bad_version;
  const size_t hl = size_t{data[0] & 0x0fu} * 4;
  if (hl < kMinHeaderLen) return ParseError::bad_header_length;
  if (hl > len) return ParseError::truncated;
  const size_t total = load_be16(data + 2);
  if (total < hl) return ParseError::bad_length;
  if (total > len) return ParseError::truncated;
  if (hl > kMinHeaderLen && !options_well_formed(data + kMinHeaderLen, hl - kMinHeaderLen)) {
    return ParseError::bad_option;
  }
  Ipv4View v;
  v.p_ = data;
  return v;
}

bool Ipv4View::checksum_ok() const noexcept {
  // Summing the header with its checksum gives 0xffff; its complement is 0.
  return checksum_finish(checksum_add(p_, header_len())) == 0;
}

}  // namespace nfv::net
