// Boot structures nfv-vmm writes below the guest image (vmm/src/boot/
// boot_layout): BootInfo as nfv/guest/boot_abi.hpp lays it out, the memory map
// and device list, the command line and its limit, the identity page tables
// (2 MiB pages over the low 64 GiB) and the GDT/TSS descriptors the vCPU's
// long-mode state refers to.
#include "boot/boot_layout.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

using namespace nfv::vmm;
namespace g = nfv::guest;

namespace {

// The ABI, pinned independently of the header: a change here is a change of
// the contract with every guest already built.
static_assert(offsetof(g::BootInfo, magic) == 0 && offsetof(g::BootInfo, version) == 4 &&
              offsetof(g::BootInfo, size) == 8 && offsetof(g::BootInfo, platform) == 12 &&
              offsetof(g::BootInfo, tsc_khz) == 16 && offsetof(g::BootInfo, cmdline_gpa) == 24 &&
              offsetof(g::BootInfo, cmdline_len) == 32 && offsetof(g::BootInfo, cpus) == 36 &&
              offsetof(g::BootInfo, memory_count) == 40 && offsetof(g::BootInfo, device_count) == 44 &&
              offsetof(g::BootInfo, memory) == 48 && offsetof(g::BootInfo, devices) == 48 + 16 * 24 &&
              offsetof(g::BootInfo, shutdown_request) == 48 + 16 * 24 + 8 * 48 && sizeof(g::BootInfo) == 824);
static_assert(offsetof(g::DeviceInfo, bar_gpa) == 8 && offsetof(g::DeviceInfo, common_offset) == 24 &&
              offsetof(g::DeviceInfo, msix_table_offset) == 44);
static_assert(g::kBootInfoAddress + 4096 <= g::kCmdlineAddress &&
              g::kCmdlineAddress + g::kCmdlineMax <= g::kGdtAddress && g::kGdtAddress < g::kPageTableAddress);

constexpr uint64_t kRam = 4u << 20;

template <typename T>
T get(const std::vector<uint8_t>& ram, uint64_t gpa) {
  T v;
  std::memcpy(&v, ram.data() + gpa, sizeof v);
  return v;
}

BootParams params() {
  BootParams p;
  p.platform = Platform::pvm;
  p.tsc_khz = 2450000;
  p.cmdline = "mode=reflect verbose";
  p.cpus = 1;
  p.memory = {{0, kRam, g::MemoryType::ram, 0}, {uint64_t{4} << 30, 2u << 20, g::MemoryType::ram, 0}};
  g::DeviceInfo d{};
  d.virtio_type = 1;
  d.pci_bdf = 1 << 3;
  d.msix_vectors = 3;
  d.bar_gpa = g::kMmioBase;
  d.bar_size = 0x8000;
  d.notify_offset = 0x3000;
  d.notify_multiplier = 4;
  d.msix_table_offset = 0x4000;
  p.devices = {d};
  p.entry = g::kImageBase + 0x40;
  return p;
}

// Walks the VMM's 4-level tables for `va` (2 MiB leaves): the physical address, or ~0 when unmapped.
uint64_t walk(const std::vector<uint8_t>& ram, uint64_t cr3, uint64_t va, uint64_t* flags = nullptr) {
  constexpr uint64_t kAddr = 0x000ffffffffff000ull;
  const uint64_t pml4e = get<uint64_t>(ram, cr3 + ((va >> 39) & 511) * 8);
  if (!(pml4e & 1)) return ~0ull;
  const uint64_t pdpte = get<uint64_t>(ram, (pml4e & kAddr) + ((va >> 30) & 511) * 8);
  if (!(pdpte & 1)) return ~0ull;
  const uint64_t pde = get<uint64_t>(ram, (pdpte & kAddr) + ((va >> 21) & 511) * 8);
  if (!(pde & 1) || !(pde & 0x80)) return ~0ull;
  if (flags) *flags = pde & 0xfff;
  return (pde & 0x000fffffffe00000ull) | (va & 0x1fffff);
}

struct Descriptor {
  uint64_t base, limit;
  unsigned type, s, dpl, p, l, db, gran;
};
Descriptor decode(uint64_t d) {
  return {((d >> 16) & 0xffffff) | ((d >> 56) << 24), (d & 0xffff) | ((d >> 32) & 0xf0000), unsigned(d >> 40) & 0xf,
          unsigned(d >> 44) & 1, unsigned(d >> 45) & 3, unsigned(d >> 47) & 1, unsigned(d >> 53) & 1,
          unsigned(d >> 54) & 1, unsigned(d >> 55) & 1};
}

}  // namespace

TEST_CASE("BootInfo: header, platform, memory map, device list") {
  std::vector<uint8_t> ram(kRam, 0xaa);
  const BootParams p = params();
  auto e = write_boot_structures(ram, p);
  REQUIRE(e);
  const auto bi = get<g::BootInfo>(ram, g::kBootInfoAddress);
  CHECK(bi.magic == g::kBootInfoMagic);
  CHECK(std::memcmp(ram.data() + g::kBootInfoAddress, "BVFN", 4) == 0);
  CHECK(bi.version == g::kBootInfoVersion);
  CHECK(bi.size == sizeof(g::BootInfo));
  CHECK(bi.platform == g::Platform::pvm);
  CHECK(bi.tsc_khz == 2450000);
  CHECK(bi.cpus == 1);
  REQUIRE(bi.memory_count == 2);
  CHECK(bi.memory[0].gpa == 0);
  CHECK(bi.memory[0].size == kRam);
  CHECK(bi.memory[0].type == g::MemoryType::ram);
  CHECK(bi.memory[1].gpa == uint64_t{4} << 30);
  CHECK(bi.memory[2].size == 0);  // unused entries are zero
  REQUIRE(bi.device_count == 1);
  CHECK(std::memcmp(&bi.devices[0], &p.devices[0], sizeof(g::DeviceInfo)) == 0);
  CHECK(bi.shutdown_request == 0);
  // The rest of the BootInfo page is cleared (no stale bytes from before).
  for (uint64_t a = g::kBootInfoAddress + sizeof(g::BootInfo); a < g::kBootInfoAddress + 4096; ++a) {
    REQUIRE(ram[a] == 0);
  }
  // The hardware platform is told as such.
  BootParams h = p;
  h.platform = Platform::hardware;
  REQUIRE(write_boot_structures(ram, h));
  CHECK(get<g::BootInfo>(ram, g::kBootInfoAddress).platform == g::Platform::hardware);
  // The image area above kImageBase is left alone.
  CHECK(ram[g::kImageBase] == 0xaa);
}

TEST_CASE("command line: placement, NUL, length limit") {
  std::vector<uint8_t> ram(kRam, 0xaa);
  BootParams p = params();
  REQUIRE(write_boot_structures(ram, p));
  const auto bi = get<g::BootInfo>(ram, g::kBootInfoAddress);
  CHECK(bi.cmdline_gpa == g::kCmdlineAddress);
  CHECK(bi.cmdline_len == p.cmdline.size());
  CHECK(std::string(reinterpret_cast<const char*>(ram.data() + g::kCmdlineAddress)) == p.cmdline);
  p.cmdline = "";
  REQUIRE(write_boot_structures(ram, p));
  CHECK(ram[g::kCmdlineAddress] == 0);  // the old line is gone
  CHECK(get<g::BootInfo>(ram, g::kBootInfoAddress).cmdline_len == 0);
  p.cmdline.assign(g::kCmdlineMax - 1, 'x');  // the longest that fits with its NUL
  REQUIRE(write_boot_structures(ram, p));
  CHECK(ram[g::kCmdlineAddress + g::kCmdlineMax - 2] == 'x');
  CHECK(ram[g::kCmdlineAddress + g::kCmdlineMax - 1] == 0);
  CHECK(get<uint64_t>(ram, g::kGdtAddress + g::kCodeSelector) != 0);  // the GDT after it is intact
  p.cmdline.assign(g::kCmdlineMax, 'x');
  auto r = write_boot_structures(ram, p);
  REQUIRE(!r);
  CHECK(r.error().message.find("4095") != std::string::npos);
}

TEST_CASE("refusals: small RAM, too many ranges or devices") {
  std::vector<uint8_t> small(g::kImageBase - 1);
  CHECK(!write_boot_structures(small, params()));
  std::vector<uint8_t> ram(kRam);
  BootParams p = params();
  p.memory.assign(g::kMaxMemoryRanges + 1, {0, kRam, g::MemoryType::ram, 0});
  CHECK(!write_boot_structures(ram, p));
  p.memory.assign(g::kMaxMemoryRanges, {0, kRam, g::MemoryType::ram, 0});
  CHECK(write_boot_structures(ram, p));
  p.devices.assign(g::kMaxDevices + 1, g::DeviceInfo{});
  CHECK(!write_boot_structures(ram, p));
  p.devices.assign(g::kMaxDevices, g::DeviceInfo{});
  CHECK(write_boot_structures(ram, p));
  CHECK(get<g::BootInfo>(ram, g::kBootInfoAddress).device_count == g::kMaxDevices);
}

TEST_CASE("page tables: identity map of the low 64 GiB in 2 MiB pages") {
  std::vector<uint8_t> ram(kRam);
  auto e = write_boot_structures(ram, params());
  REQUIRE(e);
  CHECK(e->cr3 == g::kPageTableAddress);
  for (uint64_t va : {uint64_t{0}, uint64_t{0x1000}, g::kImageBase, g::kImageBase + 0x12345, kRam - 1,
                      uint64_t{1} << 30, g::kMmioBase, g::kMmioBase + 0x3004, uint64_t{4} << 30,
                      (uint64_t{4} << 30) + (3u << 20) + 7, g::kIdentityMapped - 1}) {
    uint64_t flags = 0;
    CHECK_MESSAGE(walk(ram, e->cr3, va, &flags) == va, "va ", va);
    CHECK((flags & 0x87) == 0x87);  // present, writable, user (PVM runs CPL 0 code at CPL 3), 2 MiB
  }
  CHECK(walk(ram, e->cr3, g::kIdentityMapped) == ~0ull);  // nothing above 64 GiB
  CHECK(walk(ram, e->cr3, uint64_t{1} << 47) == ~0ull);
  // The tables lie inside the boot area, below the image.
  CHECK(g::kPageTableAddress + 0x2000 + (g::kIdentityMapped >> 30) * 0x1000 <= g::kImageBase);
}

TEST_CASE("GDT: 64-bit code, data and TSS descriptors at the ABI selectors") {
  std::vector<uint8_t> ram(kRam);
  auto e = write_boot_structures(ram, params());
  REQUIRE(e);
  CHECK(e->gdt_base == g::kGdtAddress);
  CHECK(e->gdt_limit == 5 * 8 - 1);  // null, code, data, 16-byte TSS
  CHECK(e->code_selector == g::kCodeSelector);
  CHECK(e->data_selector == g::kDataSelector);
  CHECK(e->tss_selector == g::kTssSelector);
  CHECK(get<uint64_t>(ram, g::kGdtAddress) == 0);
  const Descriptor code = decode(get<uint64_t>(ram, g::kGdtAddress + g::kCodeSelector));
  CHECK(code.p == 1);
  CHECK(code.s == 1);
  CHECK(code.dpl == 0);
  CHECK((code.type & 0x8) != 0);  // code
  CHECK(code.l == 1);
  CHECK(code.db == 0);  // L=1 requires D=0
  const Descriptor data = decode(get<uint64_t>(ram, g::kGdtAddress + g::kDataSelector));
  CHECK(data.p == 1);
  CHECK(data.s == 1);
  CHECK(data.dpl == 0);
  CHECK((data.type & 0xa) == 0x2);  // data, writable
  const Descriptor tss = decode(get<uint64_t>(ram, g::kGdtAddress + g::kTssSelector));
  CHECK(tss.p == 1);
  CHECK(tss.s == 0);
  CHECK(tss.type == 0xb);  // 64-bit TSS, busy (as KVM_SET_SREGS loads TR)
  CHECK(tss.limit == 0x67);
  const uint64_t tss_base = tss.base | get<uint64_t>(ram, g::kGdtAddress + g::kTssSelector + 8) << 32;
  CHECK(tss_base == e->tss_base);
  CHECK(e->tss_base >= g::kGdtAddress + 0x28);  // not inside the GDT
  CHECK(e->tss_base + 0x68 <= g::kPageTableAddress);
  CHECK(get<uint16_t>(ram, e->tss_base + 0x66) == 0x68);  // I/O bitmap offset past the limit: no bitmap
  // Entry state.
  CHECK(e->rip == params().entry);
  CHECK(e->rdi == g::kBootInfoAddress);
}
