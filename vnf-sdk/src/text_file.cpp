// read_text_file (see the header).
#include "nfv/text_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace nfv {

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes) {
  auto fail = [&](int err) {
    return make_error(Errc::io, path + ": cannot read: " + std::error_code(err, std::generic_category()).message());
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || text.size() + static_cast<std::size_t>(n) > max_bytes) {
      const int err = n < 0 ? errno : EFBIG;
      ::close(fd);
      return fail(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace nfv
