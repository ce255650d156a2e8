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

// Creates a listening AF_UNIX stream socket (non-blocking, close-on-exec) at
// `path` with file mode `mode`, and returns its fd. The file appears only
// once it accepts connections: the socket is bound under a temporary name in
// the same directory, chmod-ed and listening, then renamed onto `path`, so a
// client that sees the file can connect (no ECONNREFUSED window). A stale
// socket at `path` is replaced, a live one refused (reclaim_unix_socket_path).
Result<int> listen_unix_socket(const std::string& path, unsigned mode, int backlog);

}  // namespace nfv
