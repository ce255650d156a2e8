// Guest runtime boot: BootInfo check, IDT with fault reports, own page tables,
// heap, static constructors, then guest_main() (see nfv/guest/runtime.hpp).
#include <atomic>
#include <cstring>

#include "nfv/guest/cpu.hpp"
#include "nfv/guest/interrupts.hpp"
#include "nfv/guest/runtime.hpp"

extern "C" {
extern const uint64_t nfv_guest_exception_stubs[32];
extern uint8_t nfv_guest_vif[nfv::guest::kMaxCpus][4096];
extern uint64_t nfv_guest_vif_status;
extern uint8_t __image_end[];
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
[[noreturn]] void nfv_guest_boot(const nfv::guest::BootInfo* bi);
struct FaultFrame;
[[noreturn]] void nfv_guest_fault(const FaultFrame* f);
}

namespace nfv::guest {
bool request_memory(uint64_t bytes, uint64_t* gpa, uint64_t* size) noexcept;  // hypercall.cpp
void init_boot_cpu(bool pvm, uint64_t vif_status) noexcept;                     // cpu.cpp

namespace {
const BootInfo* g_boot = nullptr;
uint64_t g_tsc_hz = 0;

// ---- IDT ---------------------------------------------------------------------
struct IdtGate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attr;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t zero;
};
static_assert(sizeof(IdtGate) == 16);
alignas(4096) IdtGate g_idt[256];

struct [[gnu::packed]] DescriptorPointer {
  uint16_t limit;
  uint64_t base;
};

void setup_idt() noexcept {
  for (int v = 0; v < 32; ++v) {
    const uint64_t a = nfv_guest_exception_stubs[v];
    g_idt[v] = IdtGate{static_cast<uint16_t>(a), kCodeSelector, 0, 0x8e, static_cast<uint16_t>(a >> 16),
                       static_cast<uint32_t>(a >> 32), 0};
  }
  const DescriptorPointer p{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt)};
  asm volatile("lidt %0" : : "m"(p));
}

// ---- page tables ---------------------------------------------------------------
constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kWriteThrough = 8, kNoCache = 16, kHuge = 0x80;
constexpr uint64_t kFlags = kPresent | kWritable | kUser;  // user bit: see the VMM's tables (boot_layout.cpp)
constexpr unsigned kPdPool = 40;                              // page directories: 1 GiB each
alignas(4096) uint64_t g_pml4[512];
alignas(4096) uint64_t g_pdpt[512];
alignas(4096) uint64_t g_pt0[512];  // the first 2 MiB in 4 KiB pages, page 0 left out
alignas(4096) uint64_t g_pd[kPdPool][512];
unsigned g_pd_used = 0;
SpinLock g_paging_lock;  // the tables are shared by every CPU

bool map_2m(uint64_t addr, uint64_t extra) noexcept {
  const uint64_t gi = addr >> 30;
  if (gi >= 512) return false;
  if ((g_pdpt[gi] & kPresent) == 0) {
    if (g_pd_used == kPdPool) return false;
    g_pdpt[gi] = reinterpret_cast<uint64_t>(g_pd[g_pd_used++]) | kFlags;
  }
  auto* pd = reinterpret_cast<uint64_t*>(g_pdpt[gi] & ~uint64_t{0xfff});  // identity map: GPA == VA
  const uint64_t pi = (addr >> 21) & 511;
  if (addr == 0) {
    for (unsigned i = 1; i < 512; ++i) g_pt0[i] = (uint64_t{i} << 12) | kFlags;
    pd[pi] = reinterpret_cast<uint64_t>(g_pt0) | kFlags;
  } else {
    pd[pi] = addr | kFlags | kHuge | extra;
  }
  return true;
}

bool map_range(uint64_t gpa, uint64_t size, uint64_t extra) noexcept {
  const uint64_t start = gpa & ~uint64_t{(2u << 20) - 1};
  for (uint64_t a = start; a < gpa + size; a += 2u << 20) {
    if (!map_2m(a, extra)) return false;
  }
  return true;
}

void load_cr3() noexcept { asm volatile("mov %0, %%cr3" : : "r"(reinterpret_cast<uint64_t>(g_pml4)) : "memory"); }

bool setup_paging(const BootInfo& bi) noexcept {
  g_pml4[0] = reinterpret_cast<uint64_t>(g_pdpt) | kFlags;
  for (uint32_t i = 0; i < bi.memory_count; ++i) {
    if (bi.memory[i].type == MemoryType::ram && !map_range(bi.memory[i].gpa, bi.memory[i].size, 0)) return false;
  }
  for (uint32_t i = 0; i < bi.device_count; ++i) {
    if (!map_range(bi.devices[i].bar_gpa, bi.devices[i].bar_size, kNoCache | kWriteThrough)) return false;
  }
  load_cr3();
  return true;
}

// ---- heap ----------------------------------------------------------------------
SpinLock g_heap_lock;
uint64_t g_heap_next = 0;
uint64_t g_heap_end = 0;

void setup_heap(const BootInfo& bi) noexcept {
  const uint64_t start = (reinterpret_cast<uint64_t>(__image_end) + 4095) & ~uint64_t{4095};
  for (uint32_t i = 0; i < bi.memory_count; ++i) {
    const MemoryRange& m = bi.memory[i];
    if (m.type == MemoryType::ram && start >= m.gpa && start < m.gpa + m.size) {
      g_heap_next = start;
      g_heap_end = m.gpa + m.size;
    }
  }
}

[[noreturn]] void fail(int code, const char* why) noexcept {
  print("nfv guest: %s\n", why);
  shutdown(code);
}
}  // namespace

const BootInfo& boot_info() noexcept { return *g_boot; }

void* heap_alloc(std::size_t bytes, std::size_t align) noexcept {
  if (align == 0 || (align & (align - 1)) != 0) return nullptr;
  SpinGuard guard(g_heap_lock);
  const uint64_t p = (g_heap_next + align - 1) & ~uint64_t{align - 1};
  if (p < g_heap_next || p > g_heap_end || g_heap_end - p < bytes) return nullptr;
  g_heap_next = p + bytes;
  return reinterpret_cast<void*>(p);
}

std::size_t heap_free_bytes() noexcept {
  SpinGuard guard(g_heap_lock);
  return g_heap_end - g_heap_next;
}

void pretouch(void* p, std::size_t len) noexcept {
  auto* b = static_cast<uint8_t*>(p);
  for (std::size_t off = 0; off < len; off += 4096) {
    std::atomic_ref<uint8_t> cell(b[off]);
    cell.store(cell.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
}

// Mappings are only ever added (not present -> present), so other CPUs need no
// TLB shootdown; this CPU reloads CR3 for its own stale entries.
bool map_device(uint64_t gpa, uint64_t size) noexcept {
  SpinGuard guard(g_paging_lock);
  if (!map_range(gpa, size, kNoCache | kWriteThrough)) return false;
  load_cr3();
  return true;
}

void load_runtime_tables() noexcept {
  const DescriptorPointer p{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt)};
  asm volatile("lidt %0" : : "m"(p));
  load_cr3();
}

void set_interrupt_gate(uint8_t vector, uint64_t handler) noexcept {
  g_idt[vector] = IdtGate{static_cast<uint16_t>(handler), kCodeSelector, 0, 0x8e, static_cast<uint16_t>(handler >> 16),
                          static_cast<uint32_t>(handler >> 32), 0};
}

void* more_memory(uint64_t bytes, uint64_t* got) noexcept {
  uint64_t gpa = 0, size = 0;
  if (!request_memory(bytes, &gpa, &size) || size == 0) return nullptr;
  SpinGuard guard(g_paging_lock);
  if (!map_range(gpa, size, 0)) return nullptr;
  load_cr3();  // flush stale translations
  if (got != nullptr) *got = size;
  return reinterpret_cast<void*>(gpa);
}

uint64_t tsc_hz() noexcept {
  if (g_tsc_hz != 0) return g_tsc_hz;
  if (g_boot->tsc_khz != 0) {
    g_tsc_hz = g_boot->tsc_khz * 1000;
  } else {  // calibrate against the VMM's clock over ~20 ms
    const uint64_t w0 = wall_clock_ns(), t0 = __builtin_ia32_rdtsc();
    uint64_t w1 = w0;
    while (w1 - w0 < 20'000'000) w1 = wall_clock_ns();
    const uint64_t t1 = __builtin_ia32_rdtsc();
    g_tsc_hz = (t1 - t0) * 1'000'000'000 / (w1 - w0);
  }
  return g_tsc_hz;
}

}  // namespace nfv::guest

// ---- entry and faults ----------------------------------------------------------
using namespace nfv::guest;

struct FaultFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern "C" void nfv_guest_fault(const FaultFrame* f) {
  static const char* const names[32] = {
      "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
      "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
      "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
      "#PF page fault", "reserved", "#MF x87 error", "#AC alignment check", "#MC machine check",
      "#XM SIMD error", "#VE virtualization", "#CP control protection"};
  // Which CPU: from the interrupted stack pointer (this CPU's stack, see cpu.hpp), checked
  // against the table in case the fault came from a broken stack.
  unsigned cpu = 0;
  const uint64_t base = f->rsp & ~uint64_t{kCpuStackSize - 1};
  const bool readable = g_boot != nullptr && g_boot->memory_count > 0 && base >= kImageBase &&
                        base + 8 <= g_boot->memory[0].gpa + g_boot->memory[0].size;
  for (unsigned i = 0; readable && i < kMaxCpus; ++i) {
    if (*reinterpret_cast<const CpuLocal* const*>(base) == &cpu_local(i)) cpu = i;
  }
  uint64_t cr2 = 0;
  if (g_boot != nullptr && g_boot->platform == Platform::pvm) {
    std::memcpy(&cr2, nfv_guest_vif[cpu] + 8, 8);  // PVM keeps the fault address in the vIF cell
  } else {
    asm volatile("mov %%cr2, %0" : "=r"(cr2));
  }
  const char* name = f->vector < 32 && names[f->vector] != nullptr ? names[f->vector] : "exception";
  print("nfv guest: CPU exception %s (vector %lu) on cpu %u, error code %#lx\n"
        "  rip=%#lx rsp=%#lx rflags=%#lx cr2=%#lx\n"
        "  rax=%#lx rbx=%#lx rcx=%#lx rdx=%#lx rsi=%#lx rdi=%#lx rbp=%#lx\n",
        name, f->vector, cpu, f->error, f->rip, f->rsp, f->rflags, cr2, f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi,
        f->rbp);
  shutdown(kExitFault);
}

extern "C" void nfv_guest_boot(const BootInfo* bi) {
  g_boot = bi;
  if (bi->magic != kBootInfoMagic || bi->version != kBootInfoVersion || bi->size < sizeof(BootInfo) ||
      bi->memory_count > kMaxMemoryRanges || bi->device_count > kMaxDevices || bi->cmdline_len >= kCmdlineMax) {
    fail(kExitBadBootInfo, "boot information is missing or of another version; was this started by nfv-vmm?");
  }
  init_boot_cpu(bi->platform == Platform::pvm, nfv_guest_vif_status);
  if (bi->platform == Platform::pvm && nfv_guest_vif_status != 0) {
    fail(kExitStartFailed, "PVM refused the virtual-IF page registration");
  }
  setup_idt();
  if (!setup_paging(*bi)) fail(kExitStartFailed, "memory map too large for the boot page tables");
  setup_heap(*bi);
  for (void (**c)() = __init_array_start; c != __init_array_end; ++c) (*c)();

  // Command line -> argv (argv[0] = "guest"), in the heap.
  char* line = static_cast<char*>(heap_alloc(bi->cmdline_len + 1, 1));
  char** argv = static_cast<char**>(heap_alloc(sizeof(char*) * (bi->cmdline_len / 2 + 2), 8));
  if (line == nullptr || argv == nullptr) fail(kExitStartFailed, "no memory for the command line");
  std::memcpy(line, reinterpret_cast<const char*>(bi->cmdline_gpa), bi->cmdline_len);
  line[bi->cmdline_len] = '\0';
  int argc = 0;
  argv[argc++] = const_cast<char*>("guest");
  for (char* p = line; *p != '\0';) {
    while (*p == ' ') *p++ = '\0';
    if (*p == '\0') break;
    argv[argc++] = p;
    while (*p != '\0' && *p != ' ') ++p;
  }
  argv[argc] = nullptr;
  shutdown(guest_main(argc, argv));
}
