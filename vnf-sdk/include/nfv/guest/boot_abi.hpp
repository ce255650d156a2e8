// The contract between nfv-vmm and the SDK's guest runtime: where the guest
// finds things at boot, and how it talks to the VMM (hypercalls).
//
// Entry. The VMM loads a static ELF (x86-64, ET_EXEC, PT_LOAD segments at or
// above kImageBase) and starts vCPU 0 at its entry point in 64-bit mode, CPL 0:
//   rdi = guest-physical address of BootInfo (kBootInfoAddress),
//   CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT, EFER = LME|LMA|NXE,
//   CS = kCodeSelector (64-bit code), DS/ES/SS = kDataSelector, TR = a 64-bit TSS,
//   CR3 = identity page tables (2 MiB pages, user bit set) of the low 64 GiB,
//   interrupts disabled, rsp = 0 (the guest sets its own stack first).
// The GDT the VMM built stays valid (at kGdtAddress): IDT gates use kCodeSelector.
// Memory below kImageBase is the VMM's (boot info, command line, GDT, page
// tables); the guest does not write it except BootInfo it may read.
//
// Platforms. On PVM (kvm_pvm: no VT-x/AMD-V) guest CPL 0 code is emulated until
// the guest registers its virtual-IF page (reference/pvm/README.md), so the
// guest's first act there is that registration; on hardware-virt hosts it must
// not (the hypercall would fault). The VMM says which in BootInfo::platform.
//
// SMP. BootInfo::cpus vCPUs exist (1 .. kMaxCpus). Only vCPU 0 runs at boot;
// the others stay parked until the guest starts each one with the start_cpu
// hypercall (no INIT/SIPI: the same on PVM and hardware virtualization). A
// started vCPU enters at the given RIP in the same 64-bit state as vCPU 0 (the
// VMM's GDT, TSS and page tables, interrupts disabled) with rsp = the given
// stack, rdi = the given argument, rsi = its index. On PVM it registers its own
// virtual-IF page first, as vCPU 0 did.
//
// Hypercalls. The guest fills a Hypercall block (in the first 4 GiB) and writes
// its guest-physical address with a 32-bit `out` to kHypercallPort: one VM exit
// per call (~40 us on PVM), so they are for control, never for packets.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nfv::guest {

inline constexpr uint32_t kBootInfoMagic = 0x4e465642;  // "BVFN" little-endian: "NFVB"
inline constexpr uint32_t kBootInfoVersion = 1;

// Guest-physical layout set up by the VMM.
inline constexpr uint64_t kBootInfoAddress = 0x1000;   // BootInfo (one page)
inline constexpr uint64_t kCmdlineAddress = 0x2000;    // NUL-terminated, < kCmdlineMax bytes
inline constexpr uint64_t kCmdlineMax = 4096;
inline constexpr uint64_t kGdtAddress = 0x3000;
inline constexpr uint64_t kPageTableAddress = 0x10000; // PML4, PDPT, then 64 PDs
inline constexpr uint64_t kImageBase = 0x200000;       // lowest address an ELF segment may use
inline constexpr uint64_t kIdentityMapped = uint64_t{64} << 30;  // what the VMM's tables map
inline constexpr uint16_t kCodeSelector = 0x08;
inline constexpr uint16_t kDataSelector = 0x10;
inline constexpr uint16_t kTssSelector = 0x18;

// Device MMIO (PCI BARs) lives in [kMmioBase, kMmioBase + kMmioSize); RAM stays below kMmioBase
// and memory added at run time starts at kHotplugBase.
inline constexpr uint64_t kMmioBase = 0xc000'0000;
inline constexpr uint64_t kMmioSize = 0x1000'0000;
inline constexpr uint64_t kHotplugBase = uint64_t{4} << 30;

inline constexpr uint16_t kHypercallPort = 0x0700;
inline constexpr uint32_t kMaxCpus = 8;

enum class Platform : uint32_t {
  hardware = 1,  // VT-x / AMD-V: CPL 0 runs natively
  pvm = 2,       // kvm_pvm: register the virtual-IF page first
};

enum class MemoryType : uint32_t { ram = 1, reserved = 2 };

struct MemoryRange {
  uint64_t gpa;
  uint64_t size;
  MemoryType type;
  uint32_t reserved0;
};

// A virtio-pci device (modern transport): where its capabilities are in BAR 0,
// so the guest needs no PCI configuration cycles (each one a VM exit) to start it.
struct DeviceInfo {
  uint32_t virtio_type;         // 1 = net
  uint16_t pci_bdf;             // bus << 8 | device << 3 | function
  uint16_t msix_vectors;
  uint64_t bar_gpa;             // BAR 0
  uint64_t bar_size;
  uint32_t common_offset;       // virtio_pci_common_cfg (4.1.4.3)
  uint32_t notify_offset;       // notification area (4.1.4.4)
  uint32_t notify_multiplier;   // notify_off_multiplier
  uint32_t isr_offset;
  uint32_t device_offset;       // device-specific configuration
  uint32_t msix_table_offset;
};

inline constexpr uint32_t kMaxMemoryRanges = 16;
inline constexpr uint32_t kMaxDevices = 8;

struct BootInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t size;                // sizeof(BootInfo) as the VMM built it
  Platform platform;
  uint64_t tsc_khz;             // guest TSC frequency (0: unknown; calibrate)
  uint64_t cmdline_gpa;
  uint32_t cmdline_len;         // bytes before the NUL
  uint32_t cpus;
  uint32_t memory_count;
  uint32_t device_count;
  MemoryRange memory[kMaxMemoryRanges];
  DeviceInfo devices[kMaxDevices];
  // Written by the VMM while the guest runs (read it with an atomic load):
  // non-zero asks the guest to stop its VNF and shut down with this code - 1.
  uint32_t shutdown_request;
  uint32_t reserved0;
};
static_assert(sizeof(BootInfo) <= 4096, "BootInfo must fit its page");
static_assert(offsetof(BootInfo, memory) == 48, "BootInfo layout is an ABI");
static_assert(sizeof(MemoryRange) == 24 && sizeof(DeviceInfo) == 48, "BootInfo layout is an ABI");

// ---- hypercalls --------------------------------------------------------------
enum class HypercallOp : uint32_t {
  console_write = 1,   // arg0 = gpa of text, arg1 = bytes (<= kConsoleMax)
  shutdown = 2,        // arg0 = exit code (0..255); does not return
  wall_clock = 3,      // ret0 = CLOCK_REALTIME in ns when the VMM handled it
  memory_request = 4,  // arg0 = bytes wanted (rounded up to 2 MiB) -> ret0 = gpa, ret1 = bytes added
  publish_stats = 5,   // arg0 = gpa of a JSON object, arg1 = bytes (<= kStatsMax): the VMM serves it
  start_cpu = 6,       // arg0 = gpa of a StartCpu block: starts that parked vCPU
};
inline constexpr uint64_t kConsoleMax = 4096;
inline constexpr uint64_t kStatsMax = 16384;

enum class HypercallStatus : int32_t {
  ok = 0,
  bad_op = -1,        // unknown op
  bad_argument = -2,  // address outside RAM, length too large, ...
  no_memory = -3,     // memory_request refused (limit reached)
  cpu_started = -4,   // start_cpu: that vCPU was started already (or is vCPU 0)
};

// The start_cpu request. The VMM refuses (bad_argument) a cpu outside
// 1 .. BootInfo::cpus - 1, a non-zero reserved field, an rip outside the
// loaded image, and a stack (rsp, 16-byte aligned, with kStartCpuStackMin
// bytes below it) that is not wholly inside RAM at or above kImageBase.
// `arg` is the guest's own and not checked.
struct StartCpu {
  uint32_t cpu;
  uint32_t reserved0;
  uint64_t rip;
  uint64_t rsp;
  uint64_t arg;  // in rdi at entry
};
static_assert(sizeof(StartCpu) == 32, "StartCpu layout is an ABI");
inline constexpr uint64_t kStartCpuStackMin = 4096;

struct Hypercall {
  HypercallOp op;
  HypercallStatus status;  // written by the VMM
  uint64_t arg[3];
  uint64_t ret[2];
};
static_assert(sizeof(Hypercall) == 48, "Hypercall layout is an ABI");

// Exit codes the guest runtime uses when it stops on its own.
inline constexpr int kExitFault = 100;      // CPU exception: 100 + vector is not used; the report says which
inline constexpr int kExitBadBootInfo = 101;
inline constexpr int kExitStartFailed = 102;

}  // namespace nfv::guest
