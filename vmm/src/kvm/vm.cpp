// Vm (see the header).
#include "kvm/vm.hpp"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <memory>
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

Status Vm::remove_ioeventfd(uint64_t addr, uint32_t len, int efd, bool pio) {
  kvm_ioeventfd io{};
  io.addr = addr;
  io.len = len;
  io.fd = efd;
  io.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | KVM_IOEVENTFD_FLAG_DEASSIGN;
  if (::ioctl(fd(), KVM_IOEVENTFD, &io) < 0) return sys_error("KVM_IOEVENTFD deassign");
  return {};
}

Status Vm::add_irqfd(uint32_t gsi, int efd) {
  kvm_irqfd f{};
  f.fd = static_cast<uint32_t>(efd);
  f.gsi = gsi;
  if (::ioctl(fd(), KVM_IRQFD, &f) < 0) return sys_error("KVM_IRQFD");
  return {};
}

Status Vm::remove_irqfd(uint32_t gsi, int efd) {
  kvm_irqfd f{};
  f.fd = static_cast<uint32_t>(efd);
  f.gsi = gsi;
  f.flags = KVM_IRQFD_FLAG_DEASSIGN;
  if (::ioctl(fd(), KVM_IRQFD, &f) < 0) return sys_error("KVM_IRQFD deassign");
  return {};
}

Status Vm::set_msi_routes(const std::vector<MsiRoute>& routes) {
  if (routes.size() > kvm_abi::kMaxRoutes) return make_error(Errc::resource, "too many MSI routes");
  auto table = std::make_unique<kvm_abi::IrqRouting>();
  table->nr = static_cast<uint32_t>(routes.size());
  table->flags = 0;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    kvm_irq_routing_entry& e = table->entries[i];
    e = kvm_irq_routing_entry{};
    e.gsi = routes[i].gsi;
    e.type = KVM_IRQ_ROUTING_MSI;
    e.u.msi.address_lo = static_cast<uint32_t>(routes[i].address);
    e.u.msi.address_hi = static_cast<uint32_t>(routes[i].address >> 32);
    e.u.msi.data = routes[i].data;
  }
  if (::ioctl(fd(), kvm_abi::kSetGsiRouting, table.get()) < 0) return sys_error("KVM_SET_GSI_ROUTING");
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

}  // namespace nfv::vmm
