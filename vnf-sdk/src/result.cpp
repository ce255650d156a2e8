#include "nfv/result.hpp"

namespace nfv {

const char* errc_name(Errc c) noexcept {
  switch (c) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::already_exists: return "already exists";
    case Errc::io: return "I/O error";
    case Errc::protocol: return "protocol error";
    case Errc::unsupported: return "unsupported";
    case Errc::resource: return "out of resources";
    case Errc::timeout: return "timed out";
    case Errc::disconnected: return "disconnected";
  }
  return "unknown error";
}

}  // namespace nfv
