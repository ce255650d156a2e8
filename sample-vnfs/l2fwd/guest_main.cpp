// nfv-l2fwd as a VM guest: the same Forward/Reflect classes (l2fwd.hpp) run by
// the guest runtime's nfv::run on the VM's virtio-net devices.
// Kernel command line: mode=forward|reflect (default reflect with one device,
// forward with two), pool=BUFFERS, queue-size=N, idle=adaptive|poll (default
// adaptive: the vCPU halts when no traffic comes), spin=ROUNDS (empty rounds
// before it halts, default 64).
#include <cstring>

#include "l2fwd.hpp"

namespace {
uint32_t number(const char* s) {
  uint32_t v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + static_cast<uint32_t>(*s++ - '0');
  return v;
}
}  // namespace

extern "C" int guest_main(int argc, char** argv) {
  nfv::RunOptions o;
  o.name = "l2fwd";
  const char* mode = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "mode=", 5) == 0) mode = argv[i] + 5;
    else if (std::strncmp(argv[i], "pool=", 5) == 0) o.pool_buffers = number(argv[i] + 5);
    else if (std::strncmp(argv[i], "queue-size=", 11) == 0) o.queue_size = static_cast<uint16_t>(number(argv[i] + 11));
    else if (std::strncmp(argv[i], "spin=", 5) == 0) o.adaptive_spin_rounds = number(argv[i] + 5);
    else if (std::strcmp(argv[i], "idle=poll") == 0) o.idle = nfv::IdleMode::poll;
    else if (std::strcmp(argv[i], "idle=adaptive") == 0) o.idle = nfv::IdleMode::adaptive;
    else {
      nfv::guest::print("l2fwd: unknown argument '%s'; expected mode=forward|reflect, pool=N, queue-size=N, "
                        "idle=adaptive|poll, spin=N\n", argv[i]);
      return 2;
    }
  }
  if (mode == nullptr) mode = nfv::guest::boot_info().device_count >= 2 ? "forward" : "reflect";
  nfv::guest::print("l2fwd guest: mode %s\n", mode);
  if (std::strcmp(mode, "forward") == 0) return nfv::run(o, [](unsigned) { return l2fwd::Forward{}; });
  if (std::strcmp(mode, "reflect") == 0) return nfv::run(o, [](unsigned) { return l2fwd::Reflect{}; });
  nfv::guest::print("l2fwd: mode '%s'; expected forward or reflect\n", mode);
  return 2;
}
