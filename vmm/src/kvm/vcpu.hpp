// Vcpu: one KVM vCPU and its run loop (kvmtool's kvm-cpu.c: one switch on the
// exit reason). Port I/O and MMIO exits go to the IoBus handlers; everything
// else either continues (a signal asked the loop to look at its stop flag) or
// stops the VM with a report (triple fault, emulation failure, failed entry).
//
// Counters: exits that reached the VMM, by reason (ExitCounters), and the
// kernel's own per-vCPU statistics (KVM_GET_STATS_FD: every exit, including
// the ones KVM handles itself such as ioeventfd doorbells), so a test can see
// that forwarding packets costs no exit at all.
#pragma once

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "devices/io_bus.hpp"
#include "kvm/vm.hpp"
#include "nfv/counter.hpp"
#include "nfv/result.hpp"

namespace nfv::vmm {

struct ExitCounters {
  Counter io;              // port I/O handled by the VMM
  Counter mmio;            // MMIO handled by the VMM
  Counter hlt;
  Counter interrupted;     // KVM_RUN returned EINTR / KVM_EXIT_INTR (stop or pause requests)
  Counter shutdown;        // triple fault
  Counter internal_error;  // emulation failure
  Counter fail_entry;
  Counter system_event;
  Counter other;
};

// What the long-mode entry state is built from.
struct LongModeEntry {
  uint64_t rip;
  uint64_t rdi;   // first argument (boot information address)
  uint64_t rsi;   // second argument (vCPU index)
  uint64_t rsp;
  uint64_t cr3;
  uint64_t gdt_base;
  uint16_t gdt_limit;
  uint16_t code_selector;
  uint16_t data_selector;
  uint16_t tss_selector;
  uint64_t tss_base;
};

enum class VcpuStop : uint8_t {
  requested,  // stop() was called
  halted,     // the guest halted with nothing to wake it (no in-kernel irqchip)
  fault,      // triple fault / internal error / failed entry: see report()
  error,      // KVM_RUN failed
};

class Vcpu {
 public:
  static Result<std::unique_ptr<Vcpu>> create(Vm& vm, unsigned index);
  ~Vcpu();

  unsigned index() const noexcept { return index_; }
  int fd() const noexcept { return fd_.get(); }
  // Cold: CPUID (host-supported, APIC id = index), FPU, and the long-mode registers.
  Status setup_long_mode(const LongModeEntry& e);
  // Cold: marks the vCPU runnable (KVM_SET_MP_STATE). With the in-kernel
  // irqchip KVM creates every vCPU but 0 waiting for INIT/SIPI; the VMM starts
  // them itself (the start_cpu hypercall), so it makes them runnable instead.
  Status set_runnable();

  // Runs on the calling thread until stop() or a fatal exit.
  VcpuStop run(IoBus& pio, IoBus& mmio);
  // Any thread: makes run() return `requested` soon (signals the vCPU thread).
  void stop() noexcept;
  // Pause: run() parks between KVM_RUN calls until resume().
  void pause() noexcept;
  void resume() noexcept;
  bool paused() const noexcept { return parked_.load(std::memory_order_acquire); }

  const ExitCounters& exits() const noexcept { return exits_; }
  // Non-zero kernel statistics of this vCPU (name -> value).
  std::map<std::string, uint64_t> kernel_stats() const;
  // After a `fault` or `error` stop: what happened, with the registers.
  const std::string& report() const noexcept { return report_; }
  std::string registers() const;

  // Installs the (empty) signal handler stop() relies on; call once per process.
  static void install_signal_handler();

 private:
  Vcpu(unsigned index) : index_(index) {}
  void kick() noexcept;
  bool handle_io(IoBus& pio);

  unsigned index_;
  vhost_user::UniqueFd fd_;
  vhost_user::UniqueFd stats_fd_;
  kvm_run* run_ = nullptr;
  std::size_t run_size_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> pause_{false};
  std::atomic<bool> parked_{false};
  std::atomic<pthread_t> thread_{};
  std::atomic<bool> running_{false};
  ExitCounters exits_;
  std::string report_;
};

}  // namespace nfv::vmm
