// CPU helpers shared by the run loop, the generator and the benchmarks: the
// time-stamp counter and thread pinning.
#pragma once

#include <cstdint>

#include "nfv/result.hpp"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace nfv {

// The TSC (constant-rate on every x86 host this project supports). Inline:
// the poll loops read it every round.
inline uint64_t read_tsc() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
#error "read_tsc: port to this architecture (e.g. CNTVCT_EL0 on arm64)"
#endif
}

// Cold: TSC ticks per second, measured against the steady clock over `ms`.
uint64_t measure_tsc_hz(unsigned ms = 100);

// Pins the calling thread to `cpu`; Errc::invalid_argument if that fails
// (no such cpu, or outside the process's allowed set).
Status pin_current_thread(int cpu);

}  // namespace nfv
