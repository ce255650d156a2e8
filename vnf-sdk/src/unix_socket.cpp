#include "nfv/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nfv {

namespace {

// True when something accepts connections on `path`. ECONNREFUSED means the
// file is a leftover of a server that is gone; EAGAIN a live one whose backlog is full.
bool socket_is_live(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  path.copy(addr.sun_path, path.size());
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) return true;  // cannot tell: do not remove someone else's socket
  // Safe cast: sockaddr_un is one of the address types connect() accepts.
  const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::close(probe);
  return rc == 0 || (err != ECONNREFUSED && err != ENOENT);
}

}  // namespace

Status reclaim_unix_socket_path(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return {};  // nothing there
  if (!S_ISSOCK(st.st_mode))
    return make_error(Errc::already_exists, path + " exists and is not a socket; remove it or choose another path");
  if (socket_is_live(path))
    return make_error(Errc::already_exists,
                      path + " is in use by a running process; stop it or choose another path");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return make_error(Errc::io, "cannot remove the stale socket " + path + ": " + std::strerror(errno));
  return {};
}

}  // namespace nfv
