// TcpView::parse and option lookup: RFC 9293 §3.1-3.2.
#include "nfv/net/tcp.hpp"

namespace nfv::net {

namespace {

// Walks the options area: calls visit(kind, option span) for every option but
// End and NOP, stopping at End of Option List or when visit returns true.
// Returns false if an option's length byte is missing, < 2 or past the end.
template <typename Visit>
bool walk_options(const uint8_t* o, size_t n, Visit&& visit) noexcept {
  size_t i = 0;
  while (i < n) {  // bounded: i grows by at least 1 per pass
    const uint8_t kind = o[i];
    if (kind == tcp_option::end) return true;
    if (kind == tcp_option::nop) {
      ++i;
      continue;
    }
    if (n - i < 2) return false;
    const uint8_t olen = o[i + 1];
    if (olen < 2 || olen > n - i) return false;
    if (visit(kind, std::span<const uint8_t>(o + i, olen))) return true;
    i += olen;
  }
  return true;
}

}  // namespace

Parsed<TcpView> TcpView::parse(const uint8_t* data, size_t len) noexcept {
  if (len < kMinHeaderLen) return ParseError::truncated;
  const size_t hl = (size_t{data[12]} >> 4) * 4;
  if (hl < kMinHeaderLen) return ParseError::bad_header_length;
  if (hl > len) return ParseError::truncated;
  const bool ok = walk_options(data + kMinHeaderLen, hl - kMinHeaderLen,
                               [](uint8_t, std::span<const uint8_t>) { return false; });
  if (!ok) return ParseError::bad_option;
  TcpView v;
  v.p_ = data;
  v.len_ = len;
  return v;
}

std::span<const uint8_t> TcpView::find_option(uint8_t kind) const noexcept {
  std::span<const uint8_t> found;
  auto opts = options();
  // parse() already checked the walk succeeds; the result is ignored here.
  (void)walk_options(opts.data(), opts.size(), [&](uint8_t k, std::span<const uint8_t> o) {
    if (k != kind) return false;
    found = o;
    return true;
  });
  return found;
}

std::optional<uint16_t> TcpView::mss() const noexcept {
  auto o = find_option(tcp_option::mss);
  if (o.size() != 4) return std::nullopt;  // RFC 9293 §3.2: kind 2, length 4
  return load_be16(o.data() + 2);
}

}  // namespace nfv::net
