// Vm (see the header).
#include "kvm/vm.hpp"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "kvm/kvm_abi.hpp"

namespace nfv::vmm {
namespace {
Error sys_error(const char* what) { return make_error(Errc::io, std::string(what) + ": " + std::strerror(errno)); }
}  // namespace

Result<std::unique_ptr<Vm>> Vm::create(const KvmSystem& kvm) {
  std::unique_ptr<Vm> vm(new Vm(kvm));
  // KVM_CREATE_VM can fail transiently with EINTR.
  int fd = -1;
  for (int i = 0; i < 10 && fd < 0; ++i) {
    fd = ::ioctl(kvm.fd(), KVM_CREATE_VM, 0);
    if (fd < 0 && errno != EINTR) break;
  }
  if (fd < 0) return sys_error("KVM_CREATE_VM");
  vm->fd_.reset(fd);
  // Intel VMX needs a TSS area below 4 GiB outside RAM; other platforms may refuse it harmlessly.
  (void)::ioctl(fd, KVM_SET_TSS_ADDR, 0xfffbd000UL);
  return vm;
}

Result<uint32_t> Vm::add_memory(uint64_t gpa, uint64_t size, void* host) {
  std::lock_guard lock(mu_);
  if (static_cast<int>(next_slot_) >= kvm_->max_memory_slots()) {
    return make_error(Errc::resource, "no free KVM memory slot (" + std::to_string(next_slot_) + " in use)");
  }
  kvm_userspace_memory_region r{};
  r.slot = next_slot_;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (::ioctl(fd(), KVM_SET_USER_MEMORY_REGION, &r) < 0) return sys_error("KVM_SET_USER_MEMORY_REGION");
  return next_slot_++;
}

Status Vm::create_irqchip() {
  if (::ioctl(fd(), KVM_CREATE_IRQCHIP, 0) < 0) return sys_error("KVM_CREATE_IRQCHIP");
  return {};
}

Status Vm::add_ioeventfd(uint64_t addr, uint32_t len, int efd, bool pio) {
  kvm_ioeventfd io{};
  io.addr = addr;
  io.len = len;
  io.fd = efd;
  io.flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0;
  if (::ioctl(fd(), KVM_IOEVENTFD, &io) < 0) return sys_error("KVM_IOEVENTFD");
  return {};
}

Status Vm::signal_msi(uint64_t address, uint32_t data) {
  kvm_msi m{};
  m.address_lo = static_cast<uint32_t>(address);
  m.address_hi = static_cast<uint32_t>(address >> 32);
  m.data = data;
  if (::ioctl(fd(), KVM_SIGNAL_MSI, &m) < 0) return sys_error("KVM_SIGNAL_MSI");
  return {};
}

Status Vm::set_msi_route(uint32_t gsi, std::optional<MsiMessage> msg) {
  std::lock_guard lock(routes_mu_);
  auto it = routes_.find(gsi);
  if (msg ? (it != routes_.end() && it->second == *msg) : it == routes_.end()) return {};  // no change
  if (msg) {
    if (it == routes_.end() && routes_.size() >= kvm_abi::kMaxIrqRoutes) {
      return make_error(Errc::resource, "no free MSI route");
    }
    routes_[gsi] = *msg;
  } else {
    routes_.erase(it);
  }
  auto table = std::make_unique<kvm_abi::IrqRouting>();
  table->nr = 0;
  table->flags = 0;
  for (const auto& [g, m] : routes_) {
    kvm_irq_routing_entry& e = table->entries[table->nr++];
    e = {};
    e.gsi = g;
    e.type = KVM_IRQ_ROUTING_MSI;
    e.u.msi.address_lo = static_cast<uint32_t>(m.address);
    e.u.msi.address_hi = static_cast<uint32_t>(m.address >> 32);
    e.u.msi.data = m.data;
  }
  if (::ioctl(fd(), kvm_abi::kSetGsiRouting, table.get()) < 0) return sys_error("KVM_SET_GSI_ROUTING");
  return {};
}

Status Vm::assign_irqfd(int efd, uint32_t gsi) {
  kvm_irqfd r{};
  r.fd = static_cast<uint32_t>(efd);
  r.gsi = gsi;
  if (::ioctl(fd(), KVM_IRQFD, &r) < 0) return sys_error("KVM_IRQFD");
  return {};
}

Status Vm::set_halt_poll_ns(uint32_t ns) {
  if (::ioctl(fd(), KVM_CHECK_EXTENSION, KVM_CAP_HALT_POLL) <= 0) {
    return make_error(Errc::unsupported, "this kernel's KVM cannot set halt polling per VM (no KVM_CAP_HALT_POLL)");
  }
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_HALT_POLL;
  cap.args[0] = ns;
  if (::ioctl(fd(), KVM_ENABLE_CAP, &cap) < 0) return sys_error("KVM_ENABLE_CAP(KVM_CAP_HALT_POLL)");
  return {};
}

}  // namespace nfv::vmm
