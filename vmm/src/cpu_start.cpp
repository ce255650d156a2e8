// CpuStartCheck (see the header).
#include "cpu_start.hpp"

namespace nfv::vmm {

std::string_view to_string(CpuStartVerdict v) noexcept {
  switch (v) {
    case CpuStartVerdict::ok: return "ok";
    case CpuStartVerdict::bad_cpu: return "cpu index outside 1 .. cpus-1";
    case CpuStartVerdict::already_started: return "cpu already started";
    case CpuStartVerdict::bad_reserved: return "reserved field not zero";
    case CpuStartVerdict::bad_rip: return "entry point outside the guest image";
    case CpuStartVerdict::bad_stack: return "stack misaligned or outside RAM";
  }
  return "?";
}

CpuStartVerdict check_cpu_start(const guest::StartCpu& req, const CpuStartLimits& limits,
                                const GuestMemory& memory) noexcept {
  if (req.cpu == 0 || req.cpu >= limits.cpus || req.cpu >= guest::kMaxCpus) return CpuStartVerdict::bad_cpu;
  if (limits.started.test(req.cpu)) return CpuStartVerdict::already_started;
  if (req.reserved0 != 0) return CpuStartVerdict::bad_reserved;
  if (req.rip < limits.image_lowest || req.rip >= limits.image_end) return CpuStartVerdict::bad_rip;
  constexpr uint64_t kMin = guest::kStartCpuStackMin;
  // Order matters: rsp >= kImageBase + kMin first, so rsp - kMin cannot wrap.
  if ((req.rsp & 15) != 0 || req.rsp < guest::kImageBase + kMin) return CpuStartVerdict::bad_stack;
  if (memory.translate(req.rsp - kMin, kMin) == nullptr) return CpuStartVerdict::bad_stack;
  return CpuStartVerdict::ok;
}

}  // namespace nfv::vmm
