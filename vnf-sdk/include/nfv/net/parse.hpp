// ParseError and Parsed<View>: what every header parser in nfv/net returns.
//
// Parsers run on the hot path, on bytes a peer wrote: they never allocate,
// throw or read past the length they are given. A parser either returns a view
// (a pointer into the caller's buffer plus the few lengths it validated) or a
// ParseError a VNF can count as a drop reason. Views do not own memory: they
// are valid while the buffer is.
#pragma once

#include <cstdint>

namespace nfv::net {

enum class ParseError : uint8_t {
  none = 0,
  truncated,          // the buffer ends before the header, or before the length it declares
  bad_version,        // IP version, GTP version: not the one this parser reads
  bad_header_length,  // IPv4 IHL < 5, TCP data offset < 5, a zero-length extension header
  bad_length,         // a length field smaller than the header it covers, or inconsistent
  bad_option,         // an IPv4 or TCP option whose length runs past the options area
  bad_flags,          // VXLAN without its I flag
  bad_order,          // IPv6 hop-by-hop options not directly after the fixed header
  too_many_headers,   // more VLAN tags or extension headers than the parser walks
  unsupported,        // well-formed but not handled (ARP for other media, GTP', jumbograms)
};

// A short name for counters and logs ("truncated", "bad_version", ...).
const char* parse_error_name(ParseError e) noexcept;

// A view or the reason there is none. View must be default-constructible and
// trivially copyable (all views in nfv/net are).
template <typename View>
class [[nodiscard]] Parsed {
 public:
  constexpr Parsed(View v) noexcept : view_(v) {}         // NOLINT: implicit by design
  constexpr Parsed(ParseError e) noexcept : error_(e) {}  // NOLINT

  constexpr bool ok() const noexcept { return error_ == ParseError::none; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr ParseError error() const noexcept { return error_; }

  // Only meaningful when ok(); a default (empty) view otherwise.
  constexpr const View& operator*() const noexcept { return view_; }
  constexpr const View* operator->() const noexcept { return &view_; }

 private:
  View view_{};
  ParseError error_ = ParseError::none;
};

}  // namespace nfv::net
