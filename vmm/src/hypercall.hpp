// HypercallPort: the paravirtual interface of nfv/guest/boot_abi.hpp.
//
// The guest writes the guest-physical address of a Hypercall block to port
// kHypercallPort (a 32-bit `out`). The port copies the block out of guest
// memory before looking at it (the guest may change it meanwhile), checks
// every address and length against RAM, acts, and writes status and results
// back. Operations: console_write, shutdown (exit code), wall_clock,
// memory_request (the VMM adds a memory slot), publish_stats (JSON the VMM
// serves in its stats answer), start_cpu (the StartCpu block is copied out
// and handed to the Machine, which validates it: cpu_start.hpp). A bad block is answered with a status and
// counted; it never stops the VMM.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "console.hpp"
#include "devices/io_bus.hpp"
#include "guest_memory.hpp"
#include "nfv/counter.hpp"
#include "nfv/guest/boot_abi.hpp"
#include "nfv/result.hpp"

namespace nfv::vmm {

struct HypercallCounters {
  Counter calls;
  Counter console_bytes;
  Counter bad_calls;       // unreadable block, unknown op, bad argument
  Counter memory_added;    // bytes
  Counter stats_published;
  Counter cpus_started;
  Counter cpu_start_refused;  // start_cpu requests refused (also in bad_calls)
};

struct AddedMemory {
  uint64_t gpa;
  uint64_t size;
};

class HypercallPort final : public IoHandler {
 public:
  struct Hooks {
    std::function<void(int exit_code)> shutdown;
    std::function<Result<AddedMemory>(uint64_t bytes)> add_memory;
    // Validates and starts the vCPU; returns ok, bad_argument or cpu_started.
    std::function<guest::HypercallStatus(const guest::StartCpu&)> start_cpu;
  };
  HypercallPort(const GuestMemory& memory, Console& console, Hooks hooks)
      : memory_(memory), console_(console), hooks_(std::move(hooks)) {}

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  const HypercallCounters& counters() const noexcept { return counters_; }
  // The last JSON text the guest published ("" when none).
  std::string published_stats() const;
  // When the guest first published (its poll loop's "ready"), if it has.
  std::optional<std::chrono::steady_clock::time_point> first_publish() const;

 private:
  guest::HypercallStatus handle(guest::Hypercall& h);

  const GuestMemory& memory_;
  Console& console_;
  Hooks hooks_;
  std::mutex mu_;  // one call at a time (vCPUs may call concurrently)
  mutable std::mutex stats_mu_;
  std::string stats_;
  std::optional<std::chrono::steady_clock::time_point> first_publish_;
  HypercallCounters counters_;
};

}  // namespace nfv::vmm
