// Boot structures the VMM writes below the guest image (nfv/guest/boot_abi.hpp
// is the contract): identity page tables for the low 64 GiB (2 MiB pages), a
// GDT with a 64-bit code segment and a TSS, the command line and BootInfo.
// Returns the long-mode entry state for vCPU 0.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kvm/kvm_system.hpp"
#include "kvm/vcpu.hpp"
#include "nfv/guest/boot_abi.hpp"
#include "nfv/result.hpp"

namespace nfv::vmm {

struct BootParams {
  Platform platform = Platform::hardware;
  uint64_t tsc_khz = 0;
  std::string cmdline;
  unsigned cpus = 1;
  std::vector<guest::MemoryRange> memory;
  std::vector<guest::DeviceInfo> devices;
  uint64_t entry = 0;
};

// RAM must be at least kImageBase bytes (checked).
Result<LongModeEntry> write_boot_structures(std::span<uint8_t> ram, const BootParams& p);

}  // namespace nfv::vmm
