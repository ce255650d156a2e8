// C++-safe layouts of the KVM ioctls whose structs end in a flexible array.
//
// Linux's uapi headers declare those arrays with __DECLARE_FLEX_ARRAY, which
// in C++ wraps them in a struct with an empty member: g++ then places the
// array 4 (or 8) bytes later than the kernel does and encodes a wrong size in
// the ioctl numbers built from sizeof (e.g. KVM_GET_SUPPORTED_CPUID fails with
// EINVAL). These fixed-capacity structs have the kernel's layout; the ioctl
// numbers are built from the kernel's header size (8 bytes).
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>

namespace nfv::vmm::kvm_abi {

inline constexpr unsigned kMaxCpuid = 256;
struct CpuidTable {
  uint32_t nent;
  uint32_t padding;
  kvm_cpuid_entry2 entries[kMaxCpuid];
};
static_assert(offsetof(CpuidTable, entries) == 8);

// KVM_SET_GSI_ROUTING: struct kvm_irq_routing { u32 nr; u32 flags; entries[] }.
inline constexpr unsigned kMaxIrqRoutes = 1024;
struct IrqRouting {
  uint32_t nr;
  uint32_t flags;
  kvm_irq_routing_entry entries[kMaxIrqRoutes];
};
static_assert(offsetof(IrqRouting, entries) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
inline constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);
inline constexpr unsigned long kSetGsiRouting = _IOC(_IOC_WRITE, KVMIO, 0x6a, 8);

}  // namespace nfv::vmm::kvm_abi
