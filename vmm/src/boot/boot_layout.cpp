// Boot structures (see the header).
#include "boot/boot_layout.hpp"

#include <cstring>

namespace nfv::vmm {
namespace {
using namespace nfv::guest;

constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kHuge = 0x80;
// The user bit: on PVM the guest runs at hardware CPL 3 on shadow tables built
// from these; it does no harm on hardware virtualization (no SMEP/SMAP set).
constexpr uint64_t kTableFlags = kPresent | kWritable | kUser;
constexpr uint64_t kTssAddress = kGdtAddress + 0x100;

template <typename T>
void put(std::span<uint8_t> ram, uint64_t gpa, const T& v) {
  std::memcpy(ram.data() + gpa, &v, sizeof v);  // callers keep gpa + sizeof v below kImageBase <= ram.size()
}
}  // namespace

Result<LongModeEntry> write_boot_structures(std::span<uint8_t> ram, const BootParams& p) {
  if (ram.size() < kImageBase) return make_error(Errc::invalid_argument, "guest RAM smaller than the boot area");
  if (p.cmdline.size() >= kCmdlineMax) {
    return make_error(Errc::invalid_argument,
                      "kernel command line is " + std::to_string(p.cmdline.size()) + " bytes; at most 4095");
  }
  if (p.memory.size() > kMaxMemoryRanges || p.devices.size() > kMaxDevices) {
    return make_error(Errc::invalid_argument, "too many memory ranges or devices for the boot information");
  }
  std::memset(ram.data(), 0, kImageBase);

  // Page tables: PML4[0] -> PDPT; PDPT[i] -> PD i (i < 64); PD entries map 2 MiB each.
  const uint64_t pml4 = kPageTableAddress, pdpt = pml4 + 0x1000, pd0 = pdpt + 0x1000;
  const uint64_t pds = kIdentityMapped >> 30;
  static_assert(kPageTableAddress + 0x2000 + (kIdentityMapped >> 30) * 0x1000 <= kImageBase);
  put<uint64_t>(ram, pml4, pdpt | kTableFlags);
  for (uint64_t i = 0; i < pds; ++i) {
    put<uint64_t>(ram, pdpt + i * 8, (pd0 + i * 0x1000) | kTableFlags);
    for (uint64_t j = 0; j < 512; ++j) {
      const uint64_t addr = (i << 30) | (j << 21);
      put<uint64_t>(ram, pd0 + i * 0x1000 + j * 8, addr | kTableFlags | kHuge);
    }
  }

  // GDT: null, 64-bit code (0x08), data (0x10), 64-bit TSS (0x18, 16 bytes).
  put<uint64_t>(ram, kGdtAddress + 0x00, 0);
  put<uint64_t>(ram, kGdtAddress + kCodeSelector, 0x00af9a000000ffffULL);
  put<uint64_t>(ram, kGdtAddress + kDataSelector, 0x00cf92000000ffffULL);
  const uint64_t tss_limit = 0x67;
  const uint64_t tss_low = (tss_limit & 0xffff) | ((kTssAddress & 0xffffff) << 16) | (uint64_t{0x8b} << 40) |
                           (((tss_limit >> 16) & 0xf) << 48) | (((kTssAddress >> 24) & 0xff) << 56);
  put<uint64_t>(ram, kGdtAddress + kTssSelector, tss_low);
  put<uint64_t>(ram, kGdtAddress + kTssSelector + 8, kTssAddress >> 32);
  // The TSS itself stays zero except the I/O bitmap offset (past the limit: no bitmap).
  put<uint16_t>(ram, kTssAddress + 0x66, 0x68);

  std::memcpy(ram.data() + kCmdlineAddress, p.cmdline.data(), p.cmdline.size());

  BootInfo bi{};
  bi.magic = kBootInfoMagic;
  bi.version = kBootInfoVersion;
  bi.size = sizeof(BootInfo);
  bi.platform = p.platform == Platform::pvm ? guest::Platform::pvm : guest::Platform::hardware;
  bi.tsc_khz = p.tsc_khz;
  bi.cmdline_gpa = kCmdlineAddress;
  bi.cmdline_len = static_cast<uint32_t>(p.cmdline.size());
  bi.cpus = p.cpus;
  bi.memory_count = static_cast<uint32_t>(p.memory.size());
  bi.device_count = static_cast<uint32_t>(p.devices.size());
  for (std::size_t i = 0; i < p.memory.size(); ++i) bi.memory[i] = p.memory[i];
  for (std::size_t i = 0; i < p.devices.size(); ++i) bi.devices[i] = p.devices[i];
  put(ram, kBootInfoAddress, bi);

  LongModeEntry e{};
  e.rip = p.entry;
  e.rdi = kBootInfoAddress;
  e.rsi = 0;
  e.rsp = 0;
  e.cr3 = pml4;
  e.gdt_base = kGdtAddress;
  e.gdt_limit = 0x27;
  e.code_selector = kCodeSelector;
  e.data_selector = kDataSelector;
  e.tss_selector = kTssSelector;
  e.tss_base = kTssAddress;
  return e;
}

}  // namespace nfv::vmm
