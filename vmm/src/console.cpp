// Console (see the header).
#include "console.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace nfv::vmm {

Result<std::unique_ptr<Console>> Console::open(const std::string& path) {
  std::unique_ptr<Console> c(new Console());
  if (!path.empty() && path != "-") {
    c->owned_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!c->owned_.valid()) return make_error(Errc::io, path + ": cannot open console log: " + std::strerror(errno));
    c->fd_ = c->owned_.get();
  }
  return c;
}

void Console::write(std::string_view text) {
  std::lock_guard lock(mu_);
  std::size_t done = 0;
  for (int tries = 0; done < text.size() && tries < 100; ++tries) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
      break;
    }
  }
  bytes_.fetch_add(done, std::memory_order_relaxed);
  dropped_.fetch_add(text.size() - done, std::memory_order_relaxed);
}

}  // namespace nfv::vmm
