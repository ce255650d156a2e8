// Console: where the guest's text goes (serial port and console hypercall):
// the VMM's stdout or a log file. Writes are whole (a guest line is never
// interleaved with another vCPU's); a full pipe drops text, counted, rather
// than stalling the vCPU.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "nfv/result.hpp"
#include "nfv/vhost_user/message.hpp"

namespace nfv::vmm {

class Console {
 public:
  // path empty or "-": stdout.
  static Result<std::unique_ptr<Console>> open(const std::string& path);
  void write(std::string_view text);
  uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  Console() = default;
  std::mutex mu_;
  int fd_ = 1;
  vhost_user::UniqueFd owned_;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace nfv::vmm
