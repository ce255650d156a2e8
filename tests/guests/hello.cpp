// Test guest: prints a banner and what the VMM told it, then exits with the
// code given as `exit=N` on the command line (default 0). `fault=null|ud|gp`
// makes it take that CPU exception instead; `grow=MIB` asks the VMM for more
// memory, writes a pattern over all of it and checks it back.
#include <cstring>

#include "nfv/guest/runtime.hpp"

using namespace nfv::guest;

namespace {
int number(const char* s) {
  int v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}
}  // namespace

extern "C" int guest_main(int argc, char** argv) {
  const BootInfo& bi = boot_info();
  print("nfv guest hello: platform %s, %u cpu(s), %u memory range(s), %u device(s), tsc %lu kHz\n",
        bi.platform == Platform::pvm ? "pvm" : "hardware", bi.cpus, bi.memory_count, bi.device_count, bi.tsc_khz);
  int code = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "exit=", 5) == 0) code = number(argv[i] + 5);
    if (std::strcmp(argv[i], "fault=null") == 0) {
      print("hello: reading address 0\n");
      return *reinterpret_cast<volatile int*>(0);
    }
    if (std::strcmp(argv[i], "fault=ud") == 0) asm volatile("ud2");
    if (std::strncmp(argv[i], "grow=", 5) == 0) {
      const uint64_t want = uint64_t(number(argv[i] + 5)) << 20;
      uint64_t got = 0;
      auto* p = static_cast<uint64_t*>(more_memory(want, &got));
      if (p == nullptr) {
        print("hello: memory request refused\n");
        return 3;
      }
      for (uint64_t k = 0; k < got / 8; ++k) p[k] = k * 0x9e3779b97f4a7c15ULL;
      for (uint64_t k = 0; k < got / 8; ++k) {
        if (p[k] != k * 0x9e3779b97f4a7c15ULL) {
          print("hello: added memory reads back wrong at %p\n", static_cast<void*>(p + k));
          return 4;
        }
      }
      print("hello: got %lu MiB at %p, written and verified\n", got >> 20, static_cast<void*>(p));
    }
  }
  print("hello: exiting with %d\n", code);
  return code;
}
