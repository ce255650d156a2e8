// Unix socket paths shared by every server of the project (control sockets,
// vhost-user sockets of the switch, the VMM and the SDK).
#pragma once

#include <string>

#include "nfv/result.hpp"

namespace nfv {

// Frees `path` for a new listening socket. Nothing there: ok. A socket file
// nobody accepts on (left by a server that died): removed. A socket someone
// accepts on, or a file that is not a socket: Errc::already_exists, and the
// file is left alone.
Status reclaim_unix_socket_path(const std::string& path);

}  // namespace nfv
