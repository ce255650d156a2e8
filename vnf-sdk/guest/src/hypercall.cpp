// Guest side of the VMM's hypercalls (nfv/guest/boot_abi.hpp): one block in
// low memory, its address written to the hypercall port.
#include <atomic>
#include <cstring>

#include "nfv/guest/cpu.hpp"
#include "nfv/guest/runtime.hpp"

namespace nfv::guest {
namespace {
alignas(64) Hypercall g_call;  // in the image, so below 4 GiB (the port takes 32 bits)
// One block for every CPU: a call holds the lock from filling it to reading the
// answer. (Hypercalls are exits of ~40 us; they are never on the data path.)
SpinLock g_call_lock;

struct Answer {
  HypercallStatus status;
  uint64_t ret[2];
};

Answer call(HypercallOp op, uint64_t a0 = 0, uint64_t a1 = 0) noexcept {
  SpinGuard guard(g_call_lock);
  g_call.op = op;
  g_call.status = HypercallStatus::bad_op;
  g_call.arg[0] = a0;
  g_call.arg[1] = a1;
  g_call.arg[2] = 0;
  g_call.ret[0] = g_call.ret[1] = 0;
  const auto gpa = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&g_call));
  // The out instruction is the exit; the "memory" clobber orders the block's
  // stores before it and the VMM's answer before our loads.
  asm volatile("outl %0, %1" : : "a"(gpa), "Nd"(kHypercallPort) : "memory");
  return {g_call.status, {g_call.ret[0], g_call.ret[1]}};
}

SpinLock g_console_lock;  // whole writes stay together on the console
}  // namespace

void console_write(const char* text, std::size_t len) noexcept {
  SpinGuard guard(g_console_lock);
  while (len > 0) {
    const std::size_t n = len < kConsoleMax ? len : kConsoleMax;
    call(HypercallOp::console_write, reinterpret_cast<uintptr_t>(text), n);
    text += n;
    len -= n;
  }
}

void shutdown(int exit_code) noexcept {
  for (;;) {
    call(HypercallOp::shutdown, static_cast<uint64_t>(exit_code) & 0xff);
    asm volatile("cli; hlt");
  }
}

uint64_t wall_clock_ns() noexcept { return call(HypercallOp::wall_clock).ret[0]; }

bool publish_stats(const char* json, std::size_t len) noexcept {
  if (len > kStatsMax) return false;
  return call(HypercallOp::publish_stats, reinterpret_cast<uintptr_t>(json), len).status == HypercallStatus::ok;
}

// Used by more_memory() in boot.cpp (which maps what the VMM adds).
bool request_memory(uint64_t bytes, uint64_t* gpa, uint64_t* size) noexcept {
  const Answer a = call(HypercallOp::memory_request, bytes);
  if (a.status != HypercallStatus::ok) return false;
  *gpa = a.ret[0];
  *size = a.ret[1];
  return true;
}

HypercallStatus start_cpu_hypercall(const StartCpu& req) noexcept {
  return call(HypercallOp::start_cpu, reinterpret_cast<uintptr_t>(&req)).status;
}

bool shutdown_requested(int* code) noexcept {
  // The VMM writes this field while we run: an atomic load (no tearing, not cached in a register).
  const uint32_t v = std::atomic_ref<const uint32_t>(boot_info().shutdown_request).load(std::memory_order_relaxed);
  if (v == 0) return false;
  if (code != nullptr) *code = static_cast<int>(v - 1);
  return true;
}

}  // namespace nfv::guest
