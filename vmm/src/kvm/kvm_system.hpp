// KvmSystem: /dev/kvm, the host's virtualization platform and what KVM offers.
//
// Platform detection: a host whose KVM is PVM (module kvm_pvm, no VT-x/AMD-V)
// runs guest CPL 0 code natively only after the guest registers its
// virtual-IF page; hardware virtualization (kvm_intel/kvm_amd) runs it
// natively from the start. The VMM tells the guest which in its boot
// information (reference/pvm/README.md). NFV_VMM_PLATFORM=pvm|hardware
// overrides the detection (for tests of the other path's set-up code).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "nfv/result.hpp"
#include "nfv/vhost_user/message.hpp"  // UniqueFd

namespace nfv::vmm {

enum class Platform : uint8_t { hardware, pvm };
const char* platform_name(Platform p) noexcept;

class KvmSystem {
 public:
  // Opens `path` and checks the KVM API version and the capabilities the VMM
  // needs (user memory, irqchip, ioeventfd, irqfd, GSI routing).
  static Result<KvmSystem> open(const char* path = "/dev/kvm");

  int fd() const noexcept { return fd_.get(); }
  Platform platform() const noexcept { return platform_; }
  int vcpu_mmap_size() const noexcept { return vcpu_mmap_size_; }
  int max_memory_slots() const noexcept { return max_slots_; }
  // CPUID entries KVM supports on this host (for KVM_SET_CPUID2).
  const std::vector<kvm_cpuid_entry2>& supported_cpuid() const noexcept { return cpuid_; }

 private:
  vhost_user::UniqueFd fd_;
  Platform platform_ = Platform::hardware;
  int vcpu_mmap_size_ = 0;
  int max_slots_ = 0;
  std::vector<kvm_cpuid_entry2> cpuid_;
};

}  // namespace nfv::vmm
