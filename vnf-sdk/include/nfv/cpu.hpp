// CPU helpers shared by the run loop, the generator and the benchmarks: the
// time-stamp counter, prefetching for a write, and thread pinning.
#pragma once

#include <cstdint>

#include "nfv/result.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
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

// True when the CPU has PREFETCHW (CPUID 0x80000001 ECX bit 8, "3dnowprefetch"
// in /proc/cpuinfo): every x86-64 CPU since Broadwell and all of AMD's. Cold
// (CPUID may exit to the hypervisor): ask once and keep the answer.
inline bool has_prefetchw() noexcept {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001u, &a, &b, &c, &d) != 0 && (c & (1u << 8)) != 0;
#else
  return false;
#endif
}

// Brings the line holding `p` into this core's cache in the exclusive state,
// ready for a store (prefetchw: the answer of has_prefetchw()). For lines
// another core read last (a vhost-user back-end copying our frames), a plain
// prefetch (what __builtin_prefetch(p, 1) is without -mprfchw) fetches them
// shared, and the stores then wait for the other core's copy to be invalidated.
inline void prefetch_for_write(const void* p, bool prefetchw) noexcept {
#if defined(__x86_64__)
  if (prefetchw) {
    asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
    return;
  }
#endif
  __builtin_prefetch(p, 1);
}

// Cold: TSC ticks per second, measured against the steady clock over `ms`.
uint64_t measure_tsc_hz(unsigned ms = 100);

// Pins the calling thread to `cpu`; Errc::invalid_argument if that fails
// (no such cpu, or outside the process's allowed set).
Status pin_current_thread(int cpu);

}  // namespace nfv
