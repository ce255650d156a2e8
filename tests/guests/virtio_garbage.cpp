// Test guest: a hostile virtio driver. It finds the first virtio-net-pci device
// in BootInfo and, class by class, writes nonsense into its registers: bad
// queue sizes, rings outside RAM / in the MMIO hole / misaligned / overlapping,
// queue_enable before the addresses, feature bits the device never offered,
// out-of-range queue_select, writes to read-only fields, odd-width accesses,
// MSI-X table garbage (including a message outside the APIC window that the
// device must drop), doorbells of queues that do not exist, writes past the
// registers and past the BAR, bad status transitions.
//
// After each class it reads device_status and prints whether NEEDS_RESET (0x40)
// is set and whether that is what the device model promises (vmm/src/devices/
// virtio_pci.hpp), resets the device (status 0) and proves the device still
// works: a proper initialisation up to DRIVER_OK with valid queues.
//
// Command line: `wait` keeps the guest alive after the run (the device left
// live) until the VMM asks it to shut down, so a test can read the VMM's
// counters over its control socket. Exit code: 0 when every expectation held,
// 1 otherwise, 2 without a virtio-net device.
#include <cstring>

#include "nfv/guest/runtime.hpp"

using namespace nfv::guest;

namespace {

// virtio_pci_common_cfg offsets (virtio 1.2, 4.1.4.3).
constexpr uint32_t kDeviceFeatureSelect = 0, kDeviceFeature = 4, kDriverFeatureSelect = 8, kDriverFeature = 12,
                   kConfigMsixVector = 16, kNumQueues = 18, kDeviceStatus = 20, kConfigGeneration = 21,
                   kQueueSelect = 22, kQueueSize = 24, kQueueMsixVector = 26, kQueueEnable = 28,
                   kQueueNotifyOff = 30, kQueueDesc = 32, kQueueDriver = 40, kQueueDevice = 48, kQueueReset = 58;
constexpr uint8_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 0x40;
constexpr uint64_t kVersion1 = uint64_t{1} << 32;
constexpr uint16_t kQueueEntries = 256;

// Device registers are MMIO: every access must reach the device exactly once
// with its width, which is what volatile (not atomics) expresses for MMIO.
template <typename T>
T rd(uint64_t addr) {
  return *reinterpret_cast<volatile T*>(addr);
}
template <typename T>
void wr(uint64_t addr, T v) {
  *reinterpret_cast<volatile T*>(addr) = v;
}

void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
uint32_t inl(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

struct Device {
  const DeviceInfo* info = nullptr;
  uint64_t bar = 0, common = 0, notify = 0, isr = 0, config = 0, msix = 0;
  uint64_t ram_end = 0;
  uint8_t* rings = nullptr;  // 64 KiB: two queues' rings, 4 KiB aligned

  uint8_t status() const { return rd<uint8_t>(common + kDeviceStatus); }
  void set_status(uint8_t s) const { wr<uint8_t>(common + kDeviceStatus, s); }
  uint64_t desc(uint16_t q) const { return reinterpret_cast<uint64_t>(rings) + q * 0x8000ull; }
  uint64_t avail(uint16_t q) const { return desc(q) + 16ull * kQueueEntries; }
  uint64_t used(uint16_t q) const { return desc(q) + 0x2000; }

  // PCI configuration mechanism #1 (bus 0).
  uint32_t cfg_addr(uint32_t reg) const { return 0x80000000u | uint32_t{info->pci_bdf} << 8 | (reg & 0xfc); }
  uint32_t cfg_read32(uint32_t reg) const {
    outl(0xcf8, cfg_addr(reg));
    return inl(0xcfc);
  }
  void cfg_write32(uint32_t reg, uint32_t v) const {
    outl(0xcf8, cfg_addr(reg));
    outl(0xcfc, v);
  }
  uint32_t msix_cap() const {
    uint32_t at = cfg_read32(0x34) & 0xfc;
    for (int hops = 0; at >= 0x40 && hops < 48; ++hops) {
      const uint32_t head = cfg_read32(at);
      if ((head & 0xff) == 0x11) return at;
      at = (head >> 8) & 0xfc;
    }
    return 0;
  }

  void reset() const { set_status(0); }
  void negotiate(uint64_t features) const {
    set_status(kAck);
    set_status(kAck | kDriver);
    wr<uint32_t>(common + kDriverFeatureSelect, 0);
    wr<uint32_t>(common + kDriverFeature, static_cast<uint32_t>(features));
    wr<uint32_t>(common + kDriverFeatureSelect, 1);
    wr<uint32_t>(common + kDriverFeature, static_cast<uint32_t>(features >> 32));
    set_status(kAck | kDriver | kFeaturesOk);
  }
  void setup_queue(uint16_t q, uint64_t d, uint64_t a, uint64_t u) const {
    wr<uint16_t>(common + kQueueSelect, q);
    wr<uint16_t>(common + kQueueSize, kQueueEntries);
    wr<uint16_t>(common + kQueueMsixVector, 0xffff);
    wr<uint64_t>(common + kQueueDesc, d);
    wr<uint64_t>(common + kQueueDriver, a);
    wr<uint64_t>(common + kQueueDevice, u);
    wr<uint16_t>(common + kQueueEnable, 1);
  }
  void driver_ok() const { set_status(kAck | kDriver | kFeaturesOk | kDriverOk); }

  // The proper sequence (3.1.1): true when the device ends up live.
  bool proper_init() const {
    reset();
    if (status() != 0) return false;
    std::memset(rings, 0, 0x10000);
    negotiate(kVersion1);
    if (!(status() & kFeaturesOk)) return false;
    const uint16_t n = rd<uint16_t>(common + kNumQueues);
    for (uint16_t q = 0; q < n && q < 2; ++q) setup_queue(q, desc(q), avail(q), used(q));
    driver_ok();
    return status() == (kAck | kDriver | kFeaturesOk | kDriverOk);
  }
};

int g_failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    ++g_failures;
    print("virtio_garbage:   FAILED: %s\n", what);
  }
}

// One class of garbage: run it, report NEEDS_RESET against the promise,
// reset, and prove the device still works.
void run_class(const Device& d, const char* name, bool want_needs_reset, void (*garbage)(const Device&)) {
  garbage(d);
  const uint8_t s = d.status();
  const bool nr = (s & kNeedsReset) != 0;
  print("virtio_garbage: %s: status %#04x NEEDS_RESET %s (expected %s)%s\n", name, s, nr ? "set" : "clear",
        want_needs_reset ? "set" : "clear", nr == want_needs_reset ? "" : "  <-- MISMATCH");
  expect(nr == want_needs_reset, name);
  d.reset();
  expect(d.status() == 0, "status reads 0 after reset");
  expect(d.proper_init(), "a proper initialisation reaches DRIVER_OK after the garbage");
  d.reset();
}

// ---- the classes ---------------------------------------------------------------
void begin_queue(const Device& d) {
  d.negotiate(kVersion1);
  wr<uint16_t>(d.common + kQueueSelect, 0);
}

void queue_size_zero(const Device& d) {
  begin_queue(d);
  wr<uint16_t>(d.common + kQueueSize, 0);
}
void queue_size_not_pow2(const Device& d) {
  begin_queue(d);
  wr<uint16_t>(d.common + kQueueSize, 100);
}
void queue_size_huge(const Device& d) {
  begin_queue(d);
  wr<uint16_t>(d.common + kQueueSize, 0xffff);
}
void queue_size_above_max(const Device& d) {
  begin_queue(d);
  wr<uint16_t>(d.common + kQueueSize, 0x8000);
}

void rings_then_driver_ok(const Device& d, uint64_t desc, uint64_t avail, uint64_t used) {
  d.negotiate(kVersion1);
  d.setup_queue(0, desc, avail, used);
  d.setup_queue(1, d.desc(1), d.avail(1), d.used(1));
  d.driver_ok();
}
void ring_outside_ram(const Device& d) { rings_then_driver_ok(d, d.ram_end + 0x100000, d.avail(0), d.used(0)); }
void ring_straddles_ram_end(const Device& d) { rings_then_driver_ok(d, d.desc(0), d.avail(0), d.ram_end - 64); }
void ring_in_mmio_hole(const Device& d) { rings_then_driver_ok(d, d.desc(0), kMmioBase, d.used(0)); }
void ring_on_own_bar(const Device& d) { rings_then_driver_ok(d, d.bar, d.avail(0), d.used(0)); }
void ring_wraps_address_space(const Device& d) { rings_then_driver_ok(d, ~uint64_t{0xfff}, d.avail(0), d.used(0)); }
void ring_misaligned(const Device& d) { rings_then_driver_ok(d, d.desc(0) + 8, d.avail(0), d.used(0) + 2); }
void rings_overlap(const Device& d) { rings_then_driver_ok(d, d.desc(0), d.desc(0) + 0x800, d.used(0)); }
void rings_shared_between_queues(const Device& d) { rings_then_driver_ok(d, d.desc(1), d.avail(0), d.used(0)); }

void enable_before_addresses(const Device& d) {
  d.negotiate(kVersion1);
  wr<uint16_t>(d.common + kQueueSelect, 0);
  wr<uint16_t>(d.common + kQueueEnable, 1);
  wr<uint64_t>(d.common + kQueueDesc, d.desc(0));  // too late: the queue is enabled
}
void enable_without_addresses(const Device& d) {
  d.negotiate(kVersion1);
  wr<uint16_t>(d.common + kQueueSelect, 0);
  wr<uint16_t>(d.common + kQueueEnable, 1);
  wr<uint16_t>(d.common + kQueueSelect, 1);
  wr<uint16_t>(d.common + kQueueEnable, 1);
  d.driver_ok();  // every ring at 0: they overlap
}
void queue_enable_zero(const Device& d) {
  begin_queue(d);
  wr<uint16_t>(d.common + kQueueEnable, 0);
}
void queue_reset_write(const Device& d) {
  begin_queue(d);
  wr<uint16_t>(d.common + kQueueReset, 1);
}

void unknown_features(const Device& d) {
  d.negotiate(kVersion1 | (uint64_t{1} << 63) | (uint64_t{1} << 41) | 0x7fff0000ull);
  expect(!(d.status() & kFeaturesOk), "FEATURES_OK reads back clear for unknown feature bits");
}
void features_beyond_63(const Device& d) {
  d.set_status(kAck);
  d.set_status(kAck | kDriver);
  wr<uint32_t>(d.common + kDriverFeatureSelect, 1);
  wr<uint32_t>(d.common + kDriverFeature, 1);  // VERSION_1
  wr<uint32_t>(d.common + kDriverFeatureSelect, 7);
  wr<uint32_t>(d.common + kDriverFeature, 0xdeadbeef);
  d.set_status(kAck | kDriver | kFeaturesOk);
  expect(!(d.status() & kFeaturesOk), "FEATURES_OK reads back clear for feature bits beyond 63");
}
void driver_ok_after_refused_features(const Device& d) {
  d.negotiate(kVersion1 | (uint64_t{1} << 50));
  d.setup_queue(0, d.desc(0), d.avail(0), d.used(0));
  d.driver_ok();
}
void features_after_features_ok(const Device& d) {
  d.negotiate(kVersion1);
  wr<uint32_t>(d.common + kDriverFeatureSelect, 0);
  wr<uint32_t>(d.common + kDriverFeature, 0xffffffff);
}

void queue_select_out_of_range(const Device& d) {
  d.negotiate(kVersion1);
  wr<uint16_t>(d.common + kQueueSelect, 7);
  expect(rd<uint16_t>(d.common + kQueueSize) == 0, "an unavailable queue reads queue_size 0");
  wr<uint16_t>(d.common + kQueueSize, 256);
  wr<uint16_t>(d.common + kQueueSelect, 0xffff);
  wr<uint64_t>(d.common + kQueueDesc, 0x1234);
}

void write_num_queues(const Device& d) { wr<uint16_t>(d.common + kNumQueues, 60); }
void write_device_feature(const Device& d) { wr<uint32_t>(d.common + kDeviceFeature, 0xffffffff); }
void write_config_generation(const Device& d) { wr<uint8_t>(d.common + kConfigGeneration, 0x55); }
void write_queue_notify_off(const Device& d) { wr<uint16_t>(d.common + kQueueNotifyOff, 9); }
void write_isr(const Device& d) { wr<uint8_t>(d.isr, 0xff); }
void write_device_config(const Device& d) {
  const uint32_t mac_lo = rd<uint32_t>(d.config);
  wr<uint32_t>(d.config, ~mac_lo);
  expect(rd<uint32_t>(d.config) == mac_lo, "the MAC in the device config is unchanged");
}

void odd_width_reads(const Device& d) {
  expect(rd<uint32_t>(d.common + kQueueSelect) == 0xffffffff, "a dword read of queue_select reads all-ones");
  expect(rd<uint64_t>(d.common + kDeviceStatus) == ~uint64_t{0}, "a qword read of device_status reads all-ones");
  expect(rd<uint16_t>(d.common + kDeviceFeature + 1) == 0xffff, "a misaligned read reads all-ones");
  expect(rd<uint16_t>(d.isr) == 0xffff, "a word read of the ISR reads all-ones");
}
void byte_write_queue_size(const Device& d) {
  begin_queue(d);
  wr<uint8_t>(d.common + kQueueSize, 128);
}
void word_write_feature_select(const Device& d) { wr<uint16_t>(d.common + kDeviceFeatureSelect, 1); }
void dword_write_status(const Device& d) { wr<uint32_t>(d.common + kDeviceStatus, kAck); }
void misaligned_ring_address_write(const Device& d) {
  begin_queue(d);
  wr<uint32_t>(d.common + kQueueDesc + 2, 0x1000);
}

void msix_garbage_entries(const Device& d) {
  // Aligned writes of any value are valid PCI writes: stored, read back, no reset.
  wr<uint32_t>(d.msix + 0, 0xdeadbeef);
  wr<uint32_t>(d.msix + 4, 0xcafef00d);
  wr<uint32_t>(d.msix + 8, 0x12345678);
  wr<uint32_t>(d.msix + 12, 0xfffffffe);  // unmask; reserved bits
  expect(rd<uint32_t>(d.msix + 0) == 0xdeadbeef, "an MSI-X entry reads back what was written");
  expect(rd<uint32_t>(d.msix + 12) == 0, "MSI-X vector control keeps only the mask bit");
  wr<uint32_t>(d.msix + 12, 1);
}
void msix_bad_access(const Device& d) {
  wr<uint16_t>(d.msix + 2, 0xffff);
  wr<uint8_t>(d.msix + 5, 0xff);
}
void msix_past_table(const Device& d) { wr<uint32_t>(d.msix + 16u * d.info->msix_vectors, 0x11111111); }
void msix_pba_write(const Device& d) { wr<uint64_t>(d.msix + 0x1000, ~uint64_t{0}); }
void msix_vector_out_of_range(const Device& d) {
  wr<uint16_t>(d.common + kConfigMsixVector, 999);
  expect(rd<uint16_t>(d.common + kConfigMsixVector) == 0xffff, "a vector beyond the table reads NO_VECTOR");
  begin_queue(d);
  wr<uint16_t>(d.common + kQueueMsixVector, 0x7ff);
  expect(rd<uint16_t>(d.common + kQueueMsixVector) == 0xffff, "a queue vector beyond the table reads NO_VECTOR");
}
// A live device with MSI-X enabled and vector 0 pointing outside the APIC
// window: NEEDS_RESET with DRIVER_OK sends a configuration interrupt (2.1.2),
// which the device must drop instead of handing KVM a garbage message.
void msix_garbage_message(const Device& d) {
  const uint32_t cap = d.msix_cap();
  expect(cap != 0, "the MSI-X capability is in the list");
  if (cap == 0) return;
  wr<uint32_t>(d.msix + 0, 0xdead0000);
  wr<uint32_t>(d.msix + 4, 0x1);
  wr<uint32_t>(d.msix + 8, 0x42);
  wr<uint32_t>(d.msix + 12, 0);
  d.cfg_write32(cap, (d.cfg_read32(cap) & 0xffff) | 0x8000u << 16);  // MSI-X enable
  d.proper_init();
  wr<uint16_t>(d.common + kConfigMsixVector, 0);
  wr<uint16_t>(d.common + kNumQueues, 1);  // read-only: NEEDS_RESET + config interrupt on vector 0
  d.cfg_write32(cap, d.cfg_read32(cap) & 0xffff);  // MSI-X off again
  wr<uint32_t>(d.msix + 12, 1);
}

void notify_missing_queue(const Device& d) { wr<uint16_t>(d.notify + 5u * d.info->notify_multiplier, 5); }
void notify_odd_width(const Device& d) { wr<uint8_t>(d.notify + 1, 0); }
void write_register_gap(const Device& d) { wr<uint32_t>(d.bar + 0x7000, 0x12345678); }
void write_past_common(const Device& d) { wr<uint32_t>(d.common + 60, 1); }
void write_past_bar(const Device& d) {
  // Not the device's: the VMM's bus counts it, the device is untouched.
  wr<uint32_t>(d.bar + d.info->bar_size, 0xffffffff);
  wr<uint64_t>(d.bar + d.info->bar_size + 0x1000, ~uint64_t{0});
  expect(rd<uint32_t>(d.bar + d.info->bar_size) == 0xffffffff, "past the BAR reads all-ones");
}

void driver_ok_without_features_ok(const Device& d) {
  d.set_status(kAck);
  d.set_status(kAck | kDriver);
  d.driver_ok();
}
void status_clears_bits(const Device& d) {
  d.negotiate(kVersion1);
  d.set_status(kAck);
}
void status_after_needs_reset(const Device& d) {
  wr<uint16_t>(d.common + kNumQueues, 1);  // NEEDS_RESET
  d.set_status(kAck | kDriver | kFeaturesOk | kDriverOk | 0x30);
  expect(!(d.status() & kDriverOk), "DRIVER_OK is refused while NEEDS_RESET is set");
}
void late_queue_write_when_live(const Device& d) {
  d.proper_init();
  wr<uint16_t>(d.common + kQueueSelect, 0);
  wr<uint64_t>(d.common + kQueueDesc, d.ram_end + 0x1000);
}

struct Class {
  const char* name;
  bool needs_reset;
  void (*garbage)(const Device&);
};

constexpr Class kClasses[] = {
    {"queue_size 0", true, queue_size_zero},
    {"queue_size 100 (not a power of two)", true, queue_size_not_pow2},
    {"queue_size 0xffff", true, queue_size_huge},
    {"queue_size 32768 (above the maximum)", true, queue_size_above_max},
    {"ring outside RAM", true, ring_outside_ram},
    {"ring straddling the end of RAM", true, ring_straddles_ram_end},
    {"ring in the MMIO hole", true, ring_in_mmio_hole},
    {"ring on the device's own BAR", true, ring_on_own_bar},
    {"ring at the top of the address space", true, ring_wraps_address_space},
    {"misaligned rings", true, ring_misaligned},
    {"overlapping rings", true, rings_overlap},
    {"rings shared between queues", true, rings_shared_between_queues},
    {"queue_enable before the addresses", true, enable_before_addresses},
    {"queue_enable with no addresses, DRIVER_OK", true, enable_without_addresses},
    {"queue_enable 0", true, queue_enable_zero},
    {"queue_reset (not offered)", true, queue_reset_write},
    {"unknown driver feature bits, FEATURES_OK", false, unknown_features},
    {"driver feature bits beyond 63", false, features_beyond_63},
    {"DRIVER_OK after refused FEATURES_OK", true, driver_ok_after_refused_features},
    {"driver_feature after FEATURES_OK", true, features_after_features_ok},
    {"out-of-range queue_select", true, queue_select_out_of_range},
    {"write num_queues (read-only)", true, write_num_queues},
    {"write device_feature (read-only)", true, write_device_feature},
    {"write config_generation (read-only)", true, write_config_generation},
    {"write queue_notify_off (read-only)", true, write_queue_notify_off},
    {"write ISR (read-only)", true, write_isr},
    {"write device config (read-only)", true, write_device_config},
    {"odd-width reads", false, odd_width_reads},
    {"byte write of queue_size", true, byte_write_queue_size},
    {"word write of device_feature_select", true, word_write_feature_select},
    {"dword write of device_status", true, dword_write_status},
    {"misaligned write of queue_desc", true, misaligned_ring_address_write},
    {"MSI-X entries of garbage (aligned)", false, msix_garbage_entries},
    {"MSI-X table: misaligned accesses", true, msix_bad_access},
    {"MSI-X table: write past the table", true, msix_past_table},
    {"MSI-X PBA write", true, msix_pba_write},
    {"MSI-X vectors beyond the table", false, msix_vector_out_of_range},
    {"MSI-X message outside the APIC window", true, msix_garbage_message},
    {"notify a queue that does not exist", true, notify_missing_queue},
    {"notify with a byte write", true, notify_odd_width},
    {"write to a gap in the BAR", true, write_register_gap},
    {"write past the common config", true, write_past_common},
    {"write past the BAR", false, write_past_bar},
    {"DRIVER_OK without FEATURES_OK", true, driver_ok_without_features_ok},
    {"status write clearing bits", true, status_clears_bits},
    {"status writes after NEEDS_RESET", true, status_after_needs_reset},
    {"queue write after DRIVER_OK", true, late_queue_write_when_live},
};

}  // namespace

extern "C" int guest_main(int argc, char** argv) {
  bool wait = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "wait") == 0) wait = true;
  }
  const BootInfo& bi = boot_info();
  Device d;
  for (uint32_t i = 0; i < bi.device_count; ++i) {
    if (bi.devices[i].virtio_type == 1) {
      d.info = &bi.devices[i];
      break;
    }
  }
  if (d.info == nullptr) {
    print("virtio_garbage: no virtio-net device; start the VM with --net\n");
    return 2;
  }
  for (uint32_t i = 0; i < bi.memory_count; ++i) {
    if (bi.memory[i].type == MemoryType::ram) d.ram_end = bi.memory[i].gpa + bi.memory[i].size;  // the last range
  }
  d.bar = d.info->bar_gpa;
  d.common = d.bar + d.info->common_offset;
  d.notify = d.bar + d.info->notify_offset;
  d.isr = d.bar + d.info->isr_offset;
  d.config = d.bar + d.info->device_offset;
  d.msix = d.bar + d.info->msix_table_offset;
  d.rings = static_cast<uint8_t*>(heap_alloc(0x10000, 4096));
  if (d.rings == nullptr) {
    print("virtio_garbage: no memory for the rings\n");
    return 1;
  }
  print("virtio_garbage: device %02x:%02x.%x BAR %#lx, %u MSI-X vectors, RAM ends at %#lx\n", d.info->pci_bdf >> 8,
        (d.info->pci_bdf >> 3) & 0x1f, d.info->pci_bdf & 7, d.bar, d.info->msix_vectors, d.ram_end);
  expect(d.proper_init(), "the device works before any garbage");
  d.reset();
  unsigned n = 0;
  for (const Class& c : kClasses) {
    run_class(d, c.name, c.needs_reset, c.garbage);
    ++n;
  }
  // Leave the device live, as a driver would.
  expect(d.proper_init(), "the device works after all the garbage");
  print("virtio_garbage: %u classes, %d failed expectation(s)\n", n, g_failures);
  if (wait) {
    print("virtio_garbage: waiting for shutdown\n");
    int code = 0;
    while (!shutdown_requested(&code)) asm volatile("pause");
  }
  print("virtio_garbage: exiting with %d\n", g_failures == 0 ? 0 : 1);
  return g_failures == 0 ? 0 : 1;
}
