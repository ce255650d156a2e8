// SMP in the guest runtime (see nfv/guest/cpu.hpp).
#include "nfv/guest/cpu.hpp"

#include <atomic>

#include "nfv/guest/interrupts.hpp"
#include "nfv/guest/runtime.hpp"

extern "C" {
// Per-CPU blocks; [0] is wired to the boot stack by start.S.
nfv::guest::CpuLocal nfv_guest_cpus[nfv::guest::kMaxCpus];
extern uint8_t nfv_guest_vif[nfv::guest::kMaxCpus][4096];
void nfv_guest_ap_entry();
[[noreturn]] void nfv_guest_ap_main(nfv::guest::CpuLocal* c);
}

namespace nfv::guest {
namespace {
std::atomic_ref<uint32_t> state_of(CpuLocal& c) noexcept { return std::atomic_ref<uint32_t>(c.state); }

[[noreturn]] void park() noexcept {
  for (;;) asm volatile("cli; hlt" ::: "memory");  // nothing unmasks: halted until the VM ends
}
}  // namespace

unsigned cpu_count() noexcept {
  const uint32_t n = boot_info().cpus;
  return n == 0 ? 1 : n > kMaxCpus ? kMaxCpus : n;
}

CpuLocal& cpu_local(unsigned cpu) noexcept { return nfv_guest_cpus[cpu < kMaxCpus ? cpu : 0]; }

CpuState cpu_state(unsigned cpu) noexcept {
  if (cpu >= cpu_count()) return CpuState::failed;
  return static_cast<CpuState>(state_of(nfv_guest_cpus[cpu]).load(std::memory_order_acquire));
}

// Runtime internal (boot.cpp): the per-CPU fields of the boot CPU.
void init_boot_cpu(bool pvm, uint64_t vif_status) noexcept {
  CpuLocal& c = nfv_guest_cpus[0];
  c.vif = nfv_guest_vif[0];
  c.vif_status = vif_status;
  c.index = 0;
  c.pvm = pvm ? 1 : 0;
  state_of(c).store(static_cast<uint32_t>(CpuState::running), std::memory_order_release);
}

bool start_cpu(unsigned cpu, void (*fn)(void*), void* arg) noexcept {
  if (cpu == 0 || cpu >= cpu_count()) {
    print("nfv guest: start_cpu(%u): this VM has cpus 0 .. %u and cpu 0 is running\n", cpu, cpu_count() - 1);
    return false;
  }
  CpuLocal& c = nfv_guest_cpus[cpu];
  uint32_t expected = static_cast<uint32_t>(CpuState::parked);
  if (!state_of(c).compare_exchange_strong(expected, static_cast<uint32_t>(CpuState::starting),
                                           std::memory_order_acq_rel)) {
    print("nfv guest: start_cpu(%u): started already\n", cpu);
    return false;
  }
  auto* stack = static_cast<uint8_t*>(heap_alloc(kCpuStackSize, kCpuStackSize));
  if (stack == nullptr) {
    print("nfv guest: start_cpu(%u): no memory for its stack\n", cpu);
    state_of(c).store(static_cast<uint32_t>(CpuState::failed), std::memory_order_release);
    return false;
  }
  *reinterpret_cast<CpuLocal**>(stack) = &c;  // this_cpu() finds it at the stack's base
  c.vif = nfv_guest_vif[cpu];
  c.index = cpu;
  c.pvm = boot_info().platform == Platform::pvm ? 1 : 0;
  c.fn = fn;
  c.arg = arg;
  const StartCpu req{cpu, 0, reinterpret_cast<uint64_t>(&nfv_guest_ap_entry),
                     reinterpret_cast<uint64_t>(stack + kCpuStackSize), reinterpret_cast<uint64_t>(&c)};
  const HypercallStatus st = start_cpu_hypercall(req);
  if (st != HypercallStatus::ok) {
    print("nfv guest: start_cpu(%u): the VMM refused (status %d)\n", cpu, static_cast<int>(st));
    state_of(c).store(static_cast<uint32_t>(CpuState::failed), std::memory_order_release);
    return false;
  }
  return true;
}

}  // namespace nfv::guest

using namespace nfv::guest;

// Called by nfv_guest_ap_entry (start.S) on the new CPU's stack, after its vIF registration.
extern "C" void nfv_guest_ap_main(CpuLocal* c) {
  auto st = std::atomic_ref<uint32_t>(c->state);
  if (c->pvm != 0 && c->vif_status != 0) {
    print("nfv guest: cpu %u: PVM refused the virtual-IF page registration\n", c->index);
    st.store(static_cast<uint32_t>(CpuState::failed), std::memory_order_release);
    park();
  }
  load_runtime_tables();
  st.store(static_cast<uint32_t>(CpuState::running), std::memory_order_release);
  c->fn(c->arg);
  st.store(static_cast<uint32_t>(CpuState::finished), std::memory_order_release);
  park();
}
