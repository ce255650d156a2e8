// Test guest for SMP (nfv-vmm --cpus N): starts every other vCPU with
// nfv::guest::start_cpu, each prints its index and does some work (a
// checksum loop, heap allocations from every CPU at once, and idle halts woken
// by its own local APIC timer: per-CPU vIF page and APIC), and exits 0 only
// when all N reported with the right results (else 10 + the number missing).
// Modes (command line):
//   spin   the started CPUs spin for ever; the boot CPU waits for the VMM's
//          shutdown request (SIGTERM) and exits with the code it asks for
//   bad    sends malformed start_cpu requests first and checks each is refused
//          with the expected status; then waits for the shutdown request
//          (exit 0 when every answer was as expected, else 20)
//   deaf   starts only cpu 1 (the others stay parked); both spin and never
//          look at the shutdown request (the VMM must stop them itself)
//   fault  cpu 1 reads address 0 (the fault report names cpu 1)
#include <atomic>
#include <cstring>

#include "nfv/guest/cpu.hpp"
#include "nfv/guest/interrupts.hpp"
#include "nfv/guest/runtime.hpp"

using namespace nfv::guest;

namespace {
constexpr unsigned kAllocs = 200;

struct Slot {
  uint64_t sum;
  uint32_t cpu_seen;
  uint32_t heap_ok;
  uint32_t reported;
  uint32_t timer_wakeups;
};
Slot g_slots[kMaxCpus];
std::atomic<bool> g_spin{false};
uint64_t* g_blocks[kMaxCpus][kAllocs];

uint64_t expected_sum(unsigned cpu) {
  uint64_t s = 0;
  for (uint64_t k = 0; k < 2'000'000; ++k) s += (k ^ cpu) * 0x9e3779b97f4a7c15ULL;
  return s;
}

void work(void* arg) {
  auto* slot = static_cast<Slot*>(arg);
  const unsigned me = this_cpu();
  print("smp: cpu %u of %u running\n", me, cpu_count());
  uint64_t s = 0;
  for (uint64_t k = 0; k < 2'000'000; ++k) s += (k ^ me) * 0x9e3779b97f4a7c15ULL;
  // Heap from every CPU at once: each block gets this CPU's pattern, checked afterwards.
  bool ok = true;
  for (unsigned i = 0; i < kAllocs; ++i) {
    auto* b = static_cast<uint64_t*>(heap_alloc(64 + 8 * (i % 7), 8));
    if (b == nullptr) {
      ok = false;
      break;
    }
    for (unsigned w = 0; w < 8; ++w) b[w] = (uint64_t{me} << 32) | i;
    g_blocks[me][i] = b;
  }
  // Halts on this CPU, each ended by this CPU's APIC timer (nothing else interrupts it).
  uint32_t wakeups = 0;
  if (interrupts_init()) {
    for (int i = 0; i < 3; ++i) halt_until_interrupt(1'000'000);
    wakeups = static_cast<uint32_t>(interrupt_counters(me).timer);
  }
  slot->timer_wakeups = wakeups;
  slot->sum = s;
  slot->cpu_seen = this_cpu();
  slot->heap_ok = ok ? 1 : 0;
  std::atomic_ref<uint32_t>(slot->reported).store(1, std::memory_order_release);
  while (me != 0 && g_spin.load(std::memory_order_acquire)) __builtin_ia32_pause();
}

// Waits until CPUs [first, n) reported.
bool wait_all(unsigned first, unsigned n, uint64_t timeout_ns) {
  const uint64_t hz = tsc_hz(), t0 = __builtin_ia32_rdtsc();
  for (;;) {
    unsigned done = 0;
    for (unsigned i = first; i < n; ++i) {
      done += std::atomic_ref<uint32_t>(g_slots[i].reported).load(std::memory_order_acquire);
    }
    if (done == n - first) return true;
    if ((__builtin_ia32_rdtsc() - t0) * 1'000'000'000 / hz > timeout_ns) return false;
    __builtin_ia32_pause();
  }
}

int wait_for_shutdown() {
  int code = 0;
  while (!shutdown_requested(&code)) __builtin_ia32_pause();
  print("smp: shutdown requested\n");
  return code;
}

extern "C" void nfv_guest_ap_entry();

int bad_requests(unsigned n) {
  int wrong = 0;
  const auto entry = reinterpret_cast<uint64_t>(&nfv_guest_ap_entry);
  auto* stack = static_cast<uint8_t*>(heap_alloc(kCpuStackSize, kCpuStackSize));
  const uint64_t top = reinterpret_cast<uint64_t>(stack) + kCpuStackSize;
  const uint64_t ram_end = boot_info().memory[0].gpa + boot_info().memory[0].size;
  struct Case {
    const char* what;
    StartCpu req;
    HypercallStatus want;
  };
  const Case cases[] = {
      {"cpu 0", {0, 0, entry, top, 0}, HypercallStatus::bad_argument},
      {"cpu n", {n, 0, entry, top, 0}, HypercallStatus::bad_argument},
      {"cpu 99", {99, 0, entry, top, 0}, HypercallStatus::bad_argument},
      {"cpu ~0", {0xffffffffu, 0, entry, top, 0}, HypercallStatus::bad_argument},
      {"reserved", {1, 7, entry, top, 0}, HypercallStatus::bad_argument},
      {"rip 0", {1, 0, 0, top, 0}, HypercallStatus::bad_argument},
      {"rip in boot area", {1, 0, 0x3000, top, 0}, HypercallStatus::bad_argument},
      {"rip past the image", {1, 0, ram_end - 16, top, 0}, HypercallStatus::bad_argument},
      {"rip noncanonical", {1, 0, 0xffff'8000'0000'0000ull, top, 0}, HypercallStatus::bad_argument},
      {"rsp misaligned", {1, 0, entry, top - 8, 0}, HypercallStatus::bad_argument},
      {"rsp in boot area", {1, 0, entry, 0x3000, 0}, HypercallStatus::bad_argument},
      {"rsp 0", {1, 0, entry, 0, 0}, HypercallStatus::bad_argument},
      {"rsp past RAM", {1, 0, entry, ram_end + 0x100000, 0}, HypercallStatus::bad_argument},
      {"rsp wraps", {1, 0, entry, 0x10, 0}, HypercallStatus::bad_argument},
  };
  for (const Case& c : cases) {
    const HypercallStatus got = start_cpu_hypercall(c.req);
    const bool ok = got == c.want;
    wrong += ok ? 0 : 1;
    print("smp: bad request %s: status %d%s\n", c.what, static_cast<int>(got), ok ? "" : " WRONG");
  }
  // A good start, then the same CPU again.
  if (n >= 2) {
    if (!start_cpu(1, work, &g_slots[1]) || !wait_all(1, 2, 10'000'000'000ull)) ++wrong;
    const HypercallStatus again = start_cpu_hypercall({1, 0, entry, top, 0});
    print("smp: second start of cpu 1: status %d\n", static_cast<int>(again));
    if (again != HypercallStatus::cpu_started) ++wrong;
  }
  print("smp: %d unexpected answer(s)\n", wrong);
  return wrong;
}

void spin_for_ever(void*) {
  print("smp: cpu %u spinning\n", this_cpu());
  for (;;) __builtin_ia32_pause();
}

void read_null(void*) {
  print("smp: cpu %u reading address 0\n", this_cpu());
  (void)*reinterpret_cast<volatile int*>(0);
}
}  // namespace

extern "C" int guest_main(int argc, char** argv) {
  bool spin = false, bad = false, deaf = false, fault = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "spin") == 0) spin = true;
    if (std::strcmp(argv[i], "bad") == 0) bad = true;
    if (std::strcmp(argv[i], "deaf") == 0) deaf = true;
    if (std::strcmp(argv[i], "fault") == 0) fault = true;
  }
  const unsigned n = cpu_count();
  print("smp: %u cpu(s), boot cpu %u\n", n, this_cpu());
  if ((deaf || fault) && n >= 2) {
    if (!start_cpu(1, deaf ? spin_for_ever : read_null, nullptr)) return 30;
    spin_for_ever(nullptr);
  }
  if (bad) {
    const int wrong = bad_requests(n);
    const int code = wait_for_shutdown();
    return wrong != 0 ? 20 : code;
  }
  g_spin.store(spin, std::memory_order_release);
  const uint64_t t0 = wall_clock_ns();
  for (unsigned i = 1; i < n; ++i) {
    if (!start_cpu(i, work, &g_slots[i])) return 30;
  }
  work(&g_slots[0]);  // the boot CPU reports like the others (it never spins in work)
  const bool all = wait_all(0, n, 10'000'000'000ull);
  unsigned missing = 0;
  for (unsigned i = 0; i < n; ++i) {
    const Slot& s = g_slots[i];
    const bool good = s.reported != 0 && s.cpu_seen == i && s.heap_ok != 0 && s.sum == expected_sum(i) &&
                      s.timer_wakeups >= 1;
    if (!good) {
      print("smp: cpu %u did not report correctly (reported %u, saw cpu %u, heap %u, timer wake-ups %u)\n", i,
            s.reported, s.cpu_seen, s.heap_ok, s.timer_wakeups);
      ++missing;
    }
  }
  // Blocks from different CPUs must not overlap: every block still holds its own pattern.
  for (unsigned c = 0; c < n; ++c) {
    for (unsigned i = 0; i < kAllocs && g_slots[c].heap_ok != 0; ++i) {
      for (unsigned w = 0; w < 8; ++w) {
        if (g_blocks[c][i][w] != ((uint64_t{c} << 32) | i)) {
          print("smp: heap block %u of cpu %u overwritten\n", i, c);
          ++missing;
          w = 8;
          i = kAllocs;
        }
      }
    }
  }
  print("smp: %u of %u cpu(s) reported in %lu us%s\n", n - missing, n, (wall_clock_ns() - t0) / 1000,
        all ? "" : " (timed out)");
  if (spin) return wait_for_shutdown();
  return missing == 0 ? 0 : 10 + static_cast<int>(missing);
}
