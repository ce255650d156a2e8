// Vm: one KVM virtual machine: memory slots, the in-kernel irqchip, and the
// eventfd plumbing that keeps devices off the vCPU's exit path:
//   ioeventfd  a guest write to a doorbell address signals an eventfd inside
//              KVM (3-4 us on PVM instead of a 35-43 us exit to user space)
//   irqfd      an eventfd signalled by a back-end (a vhost-user call fd) raises
//              a guest interrupt inside KVM, through a GSI routed to an MSI
//              message (KVM_SET_GSI_ROUTING); no VMM thread on the way
// Control-thread object; the vCPU threads only use the fd through Vcpu.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

  // GSIs from kFirstMsiGsi up are routed to MSI messages. KVM's table then
  // holds only these routes (the first call drops the default irqchip pin
  // routes: nothing in this VMM raises a pin). set_msi_route(gsi, nullopt)
  // removes the route: an irqfd signal on that GSI is dropped. Any thread.
  static constexpr uint32_t kFirstMsiGsi = 32;
  struct MsiMessage {
    uint64_t address = 0;
    uint32_t data = 0;
    bool operator==(const MsiMessage&) const = default;
  };
  Status set_msi_route(uint32_t gsi, std::optional<MsiMessage> msg);
  // Signals on `fd` raise `gsi` (KVM_IRQFD).
  Status assign_irqfd(int fd, uint32_t gsi);

  // Halt polling (KVM_CAP_HALT_POLL): after a guest HLT, KVM spins up to `ns`
  // waiting for a wake-up before it schedules the vCPU thread out (the host
  // default, /sys/module/kvm/parameters/halt_poll_ns, is often 200 us). 0 makes
  // a halt give the CPU away at once. Errc::unsupported on kernels without it.
  Status set_halt_poll_ns(uint32_t ns);

 private:
  explicit Vm(const KvmSystem& kvm) : kvm_(&kvm) {}
  const KvmSystem* kvm_;
  vhost_user::UniqueFd fd_;
  std::mutex mu_;
  uint32_t next_slot_ = 0;
  std::mutex routes_mu_;
  std::map<uint32_t, MsiMessage> routes_;  // the whole table goes to KVM on every change
};

}  // namespace nfv::vmm
