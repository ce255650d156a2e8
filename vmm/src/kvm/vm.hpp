// Vm: one KVM virtual machine: memory slots, the in-kernel irqchip, and the
// eventfd plumbing that keeps devices off the vCPU's exit path:
//   ioeventfd  a guest write to a doorbell address signals an eventfd inside
//              KVM (3-4 us on PVM instead of a 35-43 us exit to user space)
// (irqfd/MSI routing comes with guest interrupts; the guest runtime polls today.)
// Control-thread object; the vCPU threads only use the fd through Vcpu.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "kvm/kvm_system.hpp"
#include "nfv/result.hpp"
#include "nfv/vhost_user/message.hpp"

namespace nfv::vmm {

class Vm {
 public:
  static Result<std::unique_ptr<Vm>> create(const KvmSystem& kvm);

  int fd() const noexcept { return fd_.get(); }
  const KvmSystem& kvm() const noexcept { return *kvm_; }

  // Maps [gpa, gpa+size) to `host` (page aligned). Returns the slot used.
  Result<uint32_t> add_memory(uint64_t gpa, uint64_t size, void* host);
  // In-kernel LAPIC/IOAPIC/PIC (must come before the first vCPU).
  Status create_irqchip();
  // A guest write of `len` bytes at `addr` (port I/O when `pio`) signals `fd`.
  Status add_ioeventfd(uint64_t addr, uint32_t len, int fd, bool pio);
  // Injects one MSI now (for interrupts raised by the VMM itself).
  Status signal_msi(uint64_t address, uint32_t data);

 private:
  explicit Vm(const KvmSystem& kvm) : kvm_(&kvm) {}
  const KvmSystem* kvm_;
  vhost_user::UniqueFd fd_;
  std::mutex mu_;
  uint32_t next_slot_ = 0;
};

}  // namespace nfv::vmm
