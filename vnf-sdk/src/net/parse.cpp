// ParseError names for counters and logs.
#include "nfv/net/parse.hpp"

namespace nfv::net {

const char* parse_error_name(ParseError e) noexcept {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::truncated: return "truncated";
    case ParseError::bad_version: return "bad_version";
    case ParseError::bad_header_length: return "bad_header_length";
    case ParseError::bad_length: return "bad_length";
    case ParseError::bad_option: return "bad_option";
    case ParseError::bad_flags: return "bad_flags";
    case ParseError::bad_order: return "bad_order";
    case ParseError::too_many_headers: return "too_many_headers";
    case ParseError::unsupported: return "unsupported";
  }
  return "unknown";
}

}  // namespace nfv::net
