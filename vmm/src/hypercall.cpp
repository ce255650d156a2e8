// HypercallPort (see the header).
#include "hypercall.hpp"

#include <time.h>

#include <cstring>

namespace nfv::vmm {
using guest::Hypercall;
using guest::HypercallOp;
using guest::HypercallStatus;

void HypercallPort::read(uint64_t, std::span<uint8_t> data) {
  std::memset(data.data(), 0xff, data.size());  // nothing to read: the answer is in the block
}

void HypercallPort::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.size() != 4) {
    ++counters_.bad_calls;
    return;
  }
  uint32_t gpa = 0;
  std::memcpy(&gpa, data.data(), 4);
  std::lock_guard lock(mu_);
  uint8_t* block = memory_.translate(gpa, sizeof(Hypercall));
  if (block == nullptr) {
    ++counters_.bad_calls;
    return;
  }
  Hypercall h;
  std::memcpy(&h, block, sizeof h);  // one copy: the guest cannot change what we check
  ++counters_.calls;
  h.status = handle(h);
  if (h.status != HypercallStatus::ok) ++counters_.bad_calls;
  std::memcpy(block, &h, sizeof h);
}

HypercallStatus HypercallPort::handle(Hypercall& h) {
  switch (h.op) {
    case HypercallOp::console_write: {
      if (h.arg[1] > guest::kConsoleMax) return HypercallStatus::bad_argument;
      const uint8_t* text = memory_.translate(h.arg[0], h.arg[1]);
      if (text == nullptr) return HypercallStatus::bad_argument;
      console_.write(std::string_view(reinterpret_cast<const char*>(text), h.arg[1]));
      counters_.console_bytes += h.arg[1];
      return HypercallStatus::ok;
    }
    case HypercallOp::shutdown:
      if (h.arg[0] > 255) return HypercallStatus::bad_argument;
      if (hooks_.shutdown) hooks_.shutdown(static_cast<int>(h.arg[0]));
      return HypercallStatus::ok;
    case HypercallOp::wall_clock: {
      timespec ts{};
      clock_gettime(CLOCK_REALTIME, &ts);
      h.ret[0] = static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
      return HypercallStatus::ok;
    }
    case HypercallOp::memory_request: {
      if (!hooks_.add_memory || h.arg[0] == 0) return HypercallStatus::bad_argument;
      auto added = hooks_.add_memory(h.arg[0]);
      if (!added) return HypercallStatus::no_memory;
      h.ret[0] = added->gpa;
      h.ret[1] = added->size;
      counters_.memory_added += added->size;
      return HypercallStatus::ok;
    }
    case HypercallOp::publish_stats: {
      if (h.arg[1] > guest::kStatsMax) return HypercallStatus::bad_argument;
      const uint8_t* text = memory_.translate(h.arg[0], h.arg[1]);
      if (text == nullptr) return HypercallStatus::bad_argument;
      std::lock_guard lock(stats_mu_);
      stats_.assign(reinterpret_cast<const char*>(text), h.arg[1]);
      if (!first_publish_) first_publish_ = std::chrono::steady_clock::now();
      ++counters_.stats_published;
      return HypercallStatus::ok;
    }
    case HypercallOp::start_cpu: {
      const uint8_t* block = memory_.translate(h.arg[0], sizeof(guest::StartCpu));
      HypercallStatus st = HypercallStatus::bad_argument;
      if (block != nullptr && hooks_.start_cpu) {
        guest::StartCpu req;
        std::memcpy(&req, block, sizeof req);  // one copy: checked and used as copied
        st = hooks_.start_cpu(req);
      }
      if (st == HypercallStatus::ok) {
        ++counters_.cpus_started;
      } else {
        ++counters_.cpu_start_refused;
      }
      return st;
    }
  }
  return HypercallStatus::bad_op;
}

std::optional<std::chrono::steady_clock::time_point> HypercallPort::first_publish() const {
  std::lock_guard lock(stats_mu_);
  return first_publish_;
}

std::string HypercallPort::published_stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

}  // namespace nfv::vmm
