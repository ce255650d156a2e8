// KvmSystem (see the header).
#include "kvm/kvm_system.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>

#include "kvm/kvm_abi.hpp"

namespace nfv::vmm {

const char* platform_name(Platform p) noexcept { return p == Platform::pvm ? "pvm" : "hardware"; }

namespace {
Platform detect_platform() {
  if (const char* o = std::getenv("NFV_VMM_PLATFORM")) {
    if (std::strcmp(o, "pvm") == 0) return Platform::pvm;
    if (std::strcmp(o, "hardware") == 0) return Platform::hardware;
  }
  return ::access("/sys/module/kvm_pvm", F_OK) == 0 ? Platform::pvm : Platform::hardware;
}
}  // namespace

Result<KvmSystem> KvmSystem::open(const char* path) {
  KvmSystem k;
  k.fd_.reset(::open(path, O_RDWR | O_CLOEXEC));
  if (!k.fd_.valid()) {
    return make_error(Errc::io, std::string("cannot open ") + path + ": " + std::strerror(errno) +
                                    " (is the kvm module loaded and are you root or in group kvm?)");
  }
  const int version = ::ioctl(k.fd(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return make_error(Errc::unsupported, "KVM API version " + std::to_string(version) + ", expected " +
                                             std::to_string(KVM_API_VERSION));
  }
  struct Need {
    int cap;
    const char* name;
  };
  for (const Need& n : {Need{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"}, Need{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
                        Need{KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"}, Need{KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
                        Need{KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"}}) {
    if (::ioctl(k.fd(), KVM_CHECK_EXTENSION, n.cap) <= 0) {
      return make_error(Errc::unsupported, std::string("this KVM lacks ") + n.name + ", which nfv-vmm needs");
    }
  }
  k.vcpu_mmap_size_ = ::ioctl(k.fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (k.vcpu_mmap_size_ < static_cast<int>(sizeof(kvm_run))) {
    return make_error(Errc::io, std::string("KVM_GET_VCPU_MMAP_SIZE: ") + std::strerror(errno));
  }
  k.max_slots_ = ::ioctl(k.fd(), KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
  if (k.max_slots_ <= 0) k.max_slots_ = 32;
  // KVM_GET_SUPPORTED_CPUID (see kvm_abi.hpp for why not the uapi struct).
  auto table = std::make_unique<kvm_abi::CpuidTable>();
  table->nent = kvm_abi::kMaxCpuid;
  if (::ioctl(k.fd(), kvm_abi::kGetSupportedCpuid, table.get()) < 0) {
    return make_error(Errc::io, std::string("KVM_GET_SUPPORTED_CPUID: ") + std::strerror(errno));
  }
  k.cpuid_.assign(table->entries, table->entries + std::min(table->nent, kvm_abi::kMaxCpuid));
  k.platform_ = detect_platform();
  return k;
}

}  // namespace nfv::vmm
