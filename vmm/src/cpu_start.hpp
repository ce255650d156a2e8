// CpuStartCheck: validation of the guest's start_cpu hypercall
// (nfv/guest/boot_abi.hpp, StartCpu). Pure (no KVM) so that it is unit-tested
// by itself; Machine applies it under its lock and then sets the vCPU's state.
//
// A request is accepted only when:
//   - cpu is in 1 .. cpus-1 (vCPU 0 is the boot CPU) and not started yet;
//   - reserved0 is zero;
//   - rip lies inside the loaded image [image_lowest, image_end);
//   - rsp is 16-byte aligned and [rsp - kStartCpuStackMin, rsp) lies wholly
//     inside one RAM region and at or above kImageBase (below it are the VMM's
//     boot structures).
// `arg` is the guest's own value and is not checked. Everything comes from a
// copy of the guest's block, so the guest cannot change it after the check.
#pragma once

#include <bitset>
#include <cstdint>
#include <string_view>

#include "guest_memory.hpp"
#include "nfv/guest/boot_abi.hpp"

namespace nfv::vmm {

enum class CpuStartVerdict : uint8_t {
  ok,
  bad_cpu,          // outside 1 .. cpus-1
  already_started,
  bad_reserved,
  bad_rip,          // outside the image
  bad_stack,        // misaligned, outside RAM or below the image base
};

std::string_view to_string(CpuStartVerdict v) noexcept;

struct CpuStartLimits {
  unsigned cpus = 1;
  std::bitset<guest::kMaxCpus> started;  // bit 0 (the boot CPU) is always treated as started
  uint64_t image_lowest = 0;
  uint64_t image_end = 0;
};

CpuStartVerdict check_cpu_start(const guest::StartCpu& req, const CpuStartLimits& limits,
                                const GuestMemory& memory) noexcept;

}  // namespace nfv::vmm
