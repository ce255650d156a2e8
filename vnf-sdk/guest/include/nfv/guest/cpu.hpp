// SMP in the guest runtime: the vCPUs the VMM gave the VM (BootInfo::cpus),
// per-CPU data, starting the parked ones, and a spinlock for the runtime's
// shared pieces (console and hypercall block, heap, page tables).
//
// vCPU 0 boots; every other vCPU stays parked in the VMM until start_cpu()
// asks for it with the start_cpu hypercall. The runtime gives it a 64 KiB
// stack from the heap, and its entry stub (start.S) registers its own PVM
// virtual-IF page, loads the runtime's IDT and page tables and calls
// fn(arg). When fn returns the CPU parks for good (interrupts masked, halted).
//
// Which CPU am I: every CPU's stack is kCpuStackSize bytes aligned to its
// size, and its lowest word points at the CPU's CpuLocal. this_cpu() masks the
// stack pointer: two instructions, no MSR, no exit, the same on PVM and on
// hardware virtualization. (Consequence: code must not switch to a stack of
// its own.)
//
// Per CPU: the virtual-IF page (PVM), the local APIC (interrupts.hpp: each
// CPU enables its own), the interrupt and idle counters.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "nfv/guest/boot_abi.hpp"

namespace nfv::guest {

inline constexpr std::size_t kCpuStackSize = 64 * 1024;

// Field offsets are used by start.S (checked below).
struct CpuLocal {
  uint8_t* vif;            // this CPU's virtual-IF page (PVM; registered by the entry stub)
  uint64_t vif_status;     // what the registration hypercall returned (0: accepted)
  uint64_t irq_count;      // interrupts handled (queues and timer)
  uint64_t timer_count;    // of which the halt's bounding timer
  uint64_t halts;
  uint64_t halts_skipped;  // an interrupt came between arming and the halt
  uint32_t index;
  uint32_t pvm;            // BootInfo::platform == pvm
  void (*fn)(void*);
  void* arg;
  uint32_t state;          // CpuState, atomic
  uint32_t apic_id;
  uint32_t irq_ready;      // this CPU's local APIC is set up
  uint32_t reserved0;
};
static_assert(offsetof(CpuLocal, vif_status) == 8 && offsetof(CpuLocal, irq_count) == 16 &&
              offsetof(CpuLocal, timer_count) == 24 && offsetof(CpuLocal, halts_skipped) == 40 &&
              offsetof(CpuLocal, index) == 48 && offsetof(CpuLocal, pvm) == 52,
              "start.S uses these offsets");

enum class CpuState : uint32_t {
  parked = 0,    // not started (still parked in the VMM)
  starting = 1,  // start_cpu() asked the VMM
  running = 2,   // fn is running
  finished = 3,  // fn returned; the CPU is halted for good
  failed = 4,    // the VMM refused, or the CPU could not set itself up
};

// Number of vCPUs (BootInfo::cpus, at least 1).
unsigned cpu_count() noexcept;
// This CPU's per-CPU block and index (0 = the boot CPU).
inline CpuLocal& cpu_local() noexcept {
  uintptr_t sp;
  asm("mov %%rsp, %0" : "=r"(sp));
  // Safe: every CPU's stack is kCpuStackSize-aligned and its lowest word holds its CpuLocal*.
  return **reinterpret_cast<CpuLocal**>(sp & ~uintptr_t{kCpuStackSize - 1});
}
inline unsigned this_cpu() noexcept { return cpu_local().index; }
CpuLocal& cpu_local(unsigned cpu) noexcept;

// Starts parked vCPU `cpu` (1 .. cpu_count()-1) running fn(arg) on a stack of
// its own. False (after printing why) when the index is bad, it was started
// already, there is no memory for its stack or the VMM refused. Returns once
// the VMM has started it; fn may not be running yet (see cpu_state()).
bool start_cpu(unsigned cpu, void (*fn)(void*), void* arg) noexcept;
CpuState cpu_state(unsigned cpu) noexcept;

// The raw hypercall (for tests of the VMM's checks): the VMM's answer.
HypercallStatus start_cpu_hypercall(const StartCpu& req) noexcept;

// A test-and-set spinlock that knows its owner: a CPU that takes a lock it
// already holds (a fault report printing from inside console output) passes
// through instead of deadlocking, and the inner guard does not release it.
class SpinLock {
 public:
  // True when this call took the lock (and must unlock), false when this CPU held it.
  bool lock() noexcept {
    const uint32_t me = this_cpu() + 1;
    if (owner_.load(std::memory_order_relaxed) == me) return false;
    uint32_t expected = 0;
    while (!owner_.compare_exchange_weak(expected, me, std::memory_order_acquire, std::memory_order_relaxed)) {
      expected = 0;
      __builtin_ia32_pause();
    }
    return true;
  }
  void unlock() noexcept { owner_.store(0, std::memory_order_release); }

 private:
  std::atomic<uint32_t> owner_{0};
};

class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) noexcept : lock_(l), owned_(l.lock()) {}
  ~SpinGuard() {
    if (owned_) lock_.unlock();
  }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& lock_;
  bool owned_;
};

}  // namespace nfv::guest
