// check_cpu_start (vmm/src/cpu_start.hpp): the start_cpu hypercall's checks
// on the cpu index, the reserved field, the entry point and the stack; and the
// hypercall port's handling of the block (unreadable block, refusal counted).
#include "cpu_start.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "console.hpp"
#include "hypercall.hpp"

using namespace nfv::vmm;
using nfv::guest::HypercallStatus;
using nfv::guest::StartCpu;

namespace {
constexpr uint64_t kRam = 16u << 20;
constexpr uint64_t kImageLo = 0x200000, kImageHi = 0x280000;
constexpr uint64_t kStack = 0x800000;  // a stack top inside RAM

struct Rig {
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRam);
  GuestMemory memory;
  CpuStartLimits limits;
  Rig() {
    REQUIRE(memory.add_region({0, ram.size(), ram.data(), -1, 0}));
    limits.cpus = 4;
    limits.started.set(0);
    limits.image_lowest = kImageLo;
    limits.image_end = kImageHi;
  }
  CpuStartVerdict check(const StartCpu& r) const { return check_cpu_start(r, limits, memory); }
};
}  // namespace

TEST_CASE("a well-formed request for a parked cpu is accepted") {
  Rig r;
  CHECK(r.check({1, 0, kImageLo, kStack, 0}) == CpuStartVerdict::ok);
  CHECK(r.check({3, 0, kImageHi - 1, kRam, 0xdeadbeef}) == CpuStartVerdict::ok);  // stack top = end of RAM
  CHECK(r.check({2, 0, kImageLo + 0x40, nfv::guest::kImageBase + nfv::guest::kStartCpuStackMin, 0}) ==
        CpuStartVerdict::ok);
}

TEST_CASE("cpu index: not 0, not past the count, not started twice") {
  Rig r;
  CHECK(r.check({0, 0, kImageLo, kStack, 0}) == CpuStartVerdict::bad_cpu);
  CHECK(r.check({4, 0, kImageLo, kStack, 0}) == CpuStartVerdict::bad_cpu);
  CHECK(r.check({8, 0, kImageLo, kStack, 0}) == CpuStartVerdict::bad_cpu);
  CHECK(r.check({0xffffffffu, 0, kImageLo, kStack, 0}) == CpuStartVerdict::bad_cpu);
  r.limits.started.set(2);
  CHECK(r.check({2, 0, kImageLo, kStack, 0}) == CpuStartVerdict::already_started);
  r.limits.cpus = 100;  // a limit above kMaxCpus still cannot index past the vCPUs that exist
  CHECK(r.check({8, 0, kImageLo, kStack, 0}) == CpuStartVerdict::bad_cpu);
}

TEST_CASE("reserved field must be zero") {
  Rig r;
  CHECK(r.check({1, 1, kImageLo, kStack, 0}) == CpuStartVerdict::bad_reserved);
}

TEST_CASE("entry point must be inside the image") {
  Rig r;
  CHECK(r.check({1, 0, 0, kStack, 0}) == CpuStartVerdict::bad_rip);
  CHECK(r.check({1, 0, kImageLo - 1, kStack, 0}) == CpuStartVerdict::bad_rip);
  CHECK(r.check({1, 0, kImageHi, kStack, 0}) == CpuStartVerdict::bad_rip);
  CHECK(r.check({1, 0, UINT64_MAX, kStack, 0}) == CpuStartVerdict::bad_rip);
  CHECK(r.check({1, 0, 0x3000, kStack, 0}) == CpuStartVerdict::bad_rip);  // the VMM's GDT
}

TEST_CASE("stack must be aligned, in RAM and above the boot area") {
  Rig r;
  CHECK(r.check({1, 0, kImageLo, kStack - 8, 0}) == CpuStartVerdict::bad_stack);
  CHECK(r.check({1, 0, kImageLo, kStack + 1, 0}) == CpuStartVerdict::bad_stack);
  CHECK(r.check({1, 0, kImageLo, 0, 0}) == CpuStartVerdict::bad_stack);
  CHECK(r.check({1, 0, kImageLo, 0x10, 0}) == CpuStartVerdict::bad_stack);  // rsp - 4096 would wrap
  CHECK(r.check({1, 0, kImageLo, 0x3000, 0}) == CpuStartVerdict::bad_stack);
  CHECK(r.check({1, 0, kImageLo, nfv::guest::kImageBase, 0}) == CpuStartVerdict::bad_stack);
  CHECK(r.check({1, 0, kImageLo, kRam + 16, 0}) == CpuStartVerdict::bad_stack);
  CHECK(r.check({1, 0, kImageLo, 0xffff'ffff'ffff'fff0ull, 0}) == CpuStartVerdict::bad_stack);
  CHECK(r.check({1, 0, kImageLo, 0x1'0000'0000ull, 0}) == CpuStartVerdict::bad_stack);  // a hole
}

TEST_CASE("every verdict has a text") {
  for (auto v : {CpuStartVerdict::ok, CpuStartVerdict::bad_cpu, CpuStartVerdict::already_started,
                 CpuStartVerdict::bad_reserved, CpuStartVerdict::bad_rip, CpuStartVerdict::bad_stack}) {
    CHECK(!to_string(v).empty());
    CHECK(to_string(v) != "?");
  }
}

TEST_CASE("hypercall port: start_cpu block copied, refusals counted, unreadable block refused") {
  Rig r;
  auto console = Console::open("/dev/null");
  REQUIRE(console);
  std::vector<StartCpu> seen;
  HypercallPort port(r.memory, **console,
                     HypercallPort::Hooks{nullptr, nullptr, [&](const StartCpu& req) {
                                            seen.push_back(req);
                                            return req.cpu == 1 ? HypercallStatus::ok : HypercallStatus::bad_argument;
                                          }});
  auto call = [&](uint64_t block_gpa) {
    nfv::guest::Hypercall h{};
    h.op = nfv::guest::HypercallOp::start_cpu;
    h.arg[0] = block_gpa;
    std::memcpy(r.ram.data() + 0x1000, &h, sizeof h);
    const uint32_t gpa = 0x1000;
    uint8_t bytes[4];
    std::memcpy(bytes, &gpa, 4);
    port.write(0, bytes);
    std::memcpy(&h, r.ram.data() + 0x1000, sizeof h);
    return h.status;
  };
  const StartCpu good{1, 0, kImageLo, kStack, 42};
  std::memcpy(r.ram.data() + 0x5000, &good, sizeof good);
  CHECK(call(0x5000) == HypercallStatus::ok);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].arg == 42);
  CHECK(seen[0].rsp == kStack);
  const StartCpu refused{2, 0, kImageLo, kStack, 0};
  std::memcpy(r.ram.data() + 0x5000, &refused, sizeof refused);
  CHECK(call(0x5000) == HypercallStatus::bad_argument);
  CHECK(call(kRam - 8) == HypercallStatus::bad_argument);       // block straddles the end of RAM
  CHECK(call(0xffff'ffff'0000ull) == HypercallStatus::bad_argument);  // outside RAM
  CHECK(seen.size() == 2);                                        // the hook never saw the bad blocks
  CHECK(port.counters().cpus_started.load() == 1);
  CHECK(port.counters().cpu_start_refused.load() == 3);
  CHECK(port.counters().bad_calls.load() == 3);
}
