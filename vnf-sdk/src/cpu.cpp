// CPU helpers (see the header).
#include "nfv/cpu.hpp"

#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

namespace nfv {

uint64_t measure_tsc_hz(unsigned ms) {
  const uint64_t c0 = read_tsc();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  const uint64_t c1 = read_tsc();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<uint64_t>(static_cast<double>(c1 - c0) / s);
}

Status pin_current_thread(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    return make_error(Errc::invalid_argument, "cpu " + std::to_string(cpu) + " is out of range");
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int e = pthread_setaffinity_np(pthread_self(), sizeof set, &set); e != 0) {
    return make_error(Errc::invalid_argument, "cannot pin to cpu " + std::to_string(cpu) + ": " + std::strerror(e));
  }
  return {};
}

}  // namespace nfv
