#include "nfv/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

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

Result<int> listen_unix_socket(const std::string& path, unsigned mode, int backlog) {
  sockaddr_un addr{};
  static std::atomic<unsigned> seq{0};
  const std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(seq.fetch_add(1));
  if (path.empty() || tmp.size() >= sizeof addr.sun_path) {
    return make_error(Errc::invalid_argument, "socket path '" + path + "' is empty or longer than " +
                                                  std::to_string(sizeof addr.sun_path - 24) +
                                                  " bytes; choose a shorter one");
  }
  if (Status st = reclaim_unix_socket_path(path); !st) return std::move(st).error();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, std::string("cannot create a unix socket: ") + std::strerror(errno));
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(Errc::io, what + ": " + std::strerror(err));
  };
  addr.sun_family = AF_UNIX;
  tmp.copy(addr.sun_path, tmp.size());
  ::unlink(tmp.c_str());  // a leftover of a crashed earlier run with our pid
  // Safe cast: sockaddr_un is one of the address types bind() accepts.
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return fail("cannot bind " + tmp);
  if (::chmod(tmp.c_str(), mode) != 0) return fail("cannot set the mode of " + tmp);
  if (::listen(fd, backlog) != 0) return fail("cannot listen on " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename " + tmp + " to " + path);
  return fd;
}

}  // namespace nfv
