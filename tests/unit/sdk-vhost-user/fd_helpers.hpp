// Test helpers: real descriptors to pass around, and checks that none leak.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <vector>

#include "nfv/vhost_user/message.hpp"

namespace vu_test {

inline bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

inline int make_eventfd() { return ::eventfd(0, EFD_CLOEXEC); }

inline int make_memfd(std::size_t size) {
  const int fd = ::memfd_create("vu-test", MFD_CLOEXEC);
  if (fd >= 0 && ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Open descriptors of this process (the directory stream's own fd included,
// which is the same in every call, so counts compare).
inline std::size_t count_open_fds() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

// n fresh eventfds, owned, plus their numbers for checking after a hand-over.
struct FdSet {
  std::vector<nfv::vhost_user::UniqueFd> owned;
  std::vector<int> numbers;
};
inline FdSet make_fds(std::size_t n) {
  FdSet s;
  for (std::size_t i = 0; i < n; ++i) {
    s.owned.emplace_back(make_eventfd());
    s.numbers.push_back(s.owned.back().get());
  }
  return s;
}

inline bool all_closed(const std::vector<int>& fds) {
  for (int fd : fds) {
    if (fd_is_open(fd)) return false;
  }
  return true;
}

}  // namespace vu_test
