// PCI: the configuration space of a type-0 function, and the host bridge that
// lets the guest reach it through configuration mechanism #1.
//
// PciFunction holds the 256-byte configuration header of one function
// (PCI Local Bus 3.0, 6.1): ids, command/status, class, BARs, the capability
// list, interrupt pin/line. Every byte has a write mask; a write changes only
// writable bits, so read-only fields stay as the device set them. BAR sizing
// works as guests do it: write all-ones, read back ~(size-1) | flags, restore.
// Only 64-bit non-prefetchable memory BARs are offered (virtio-pci needs no
// more). Guests here do not move BARs, but when one is rewritten the function
// follows it and calls the BarMoved callback (outside its lock) so the VMM can
// move the MMIO range (IoBus::move); the VMM should only map a BAR while the
// command register's memory-space bit is set.
//
// PciHostBridge is an IoHandler for ports 0xCF8..0xCFF: a 32-bit address
// register at 0xCF8 (bit 31 enable, bus 23:16, device 15:11, function 10:8,
// register 7:2) and byte/word/dword data accesses at 0xCFC..0xCFF. Bus 0 only,
// up to 32 single-function devices; the bridge itself is 00:00.0 (class
// 0x0600). Absent devices, other buses and functions read as all-ones.
// Counters: bad_accesses (wrong width on 0xCF8, access crossing the data
// dword), absent_reads.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "devices/io_bus.hpp"
#include "nfv/counter.hpp"
#include "nfv/result.hpp"

namespace nfv::vmm {

// Configuration header offsets (type 0).
inline constexpr uint32_t kPciVendorId = 0x00;
inline constexpr uint32_t kPciDeviceId = 0x02;
inline constexpr uint32_t kPciCommand = 0x04;
inline constexpr uint32_t kPciStatus = 0x06;
inline constexpr uint32_t kPciRevision = 0x08;
inline constexpr uint32_t kPciClassProg = 0x09;  // prog-if, subclass, class at 0x09..0x0b
inline constexpr uint32_t kPciHeaderType = 0x0e;
inline constexpr uint32_t kPciBar0 = 0x10;
inline constexpr uint32_t kPciSubsystemVendor = 0x2c;
inline constexpr uint32_t kPciSubsystemId = 0x2e;
inline constexpr uint32_t kPciCapabilityList = 0x34;
inline constexpr uint32_t kPciInterruptLine = 0x3c;
inline constexpr uint32_t kPciInterruptPin = 0x3d;
inline constexpr uint16_t kPciCommandMemory = 0x0002;
inline constexpr uint16_t kPciStatusCapList = 0x0010;
inline constexpr uint8_t kPciCapIdMsix = 0x11;
inline constexpr uint8_t kPciCapIdVendor = 0x09;
inline constexpr uint32_t kPciConfigSize = 256;
inline constexpr unsigned kPciBarCount = 6;

struct PciIds {
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint8_t revision = 0;
  uint32_t class_code = 0;  // class << 16 | subclass << 8 | prog-if
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_id = 0;
  uint8_t interrupt_pin = 0;  // 0 none, 1 INTA#
};

struct PciBar {
  uint64_t address = 0;  // 0 and size 0: not implemented
  uint64_t size = 0;
};

class PciFunction {
 public:
  using BarMoved = std::function<void(unsigned bar, uint64_t old_address, uint64_t new_address)>;

  explicit PciFunction(const PciIds& ids);
  virtual ~PciFunction() = default;
  PciFunction(const PciFunction&) = delete;
  PciFunction& operator=(const PciFunction&) = delete;

  // Guest accesses: width 1, 2 or 4, not crossing a dword (what mechanism #1
  // can express). Anything else reads all-ones / is ignored and counted.
  void config_read(uint32_t offset, std::span<uint8_t> data);
  void config_write(uint32_t offset, std::span<const uint8_t> data);

  // Setup (before the guest runs). `index` is the BAR's low dword (0..4), the
  // next one holds the high half; size is a power of two >= 16.
  Status set_bar_mem64(unsigned index, uint64_t address, uint64_t size);
  // Appends a capability with `body` following its id/next bytes and returns
  // its offset (dword aligned), or nullopt when the space is full.
  // `writable` (same length as body, optional) gives writable bits per byte.
  std::optional<uint8_t> add_capability(uint8_t id, std::span<const uint8_t> body,
                                        std::span<const uint8_t> writable = {});
  void set_bar_moved_callback(BarMoved cb);

  PciBar bar(unsigned index) const;
  uint16_t vendor_id() const;
  uint16_t device_id() const;
  uint16_t command() const;
  // Offset of the first capability with `id`, as a guest walks the list (bounded).
  std::optional<uint8_t> find_capability(uint8_t id) const;
  uint64_t bad_accesses() const noexcept { return bad_accesses_.load(); }

 protected:
  // Subclass hooks, called with the configuration lock held. The read hook
  // runs before the bytes are copied out (to refresh registers backed by
  // device state); `written` runs after a write has been applied.
  virtual void config_read_hook(uint32_t /*offset*/, uint32_t /*len*/) {}
  virtual void config_written(uint32_t /*offset*/, uint32_t /*len*/) {}
  // Subclasses may read and change config bytes from inside the hooks.
  uint8_t cfg8(uint32_t off) const { return cfg_[off]; }
  uint16_t cfg16(uint32_t off) const;
  uint32_t cfg32(uint32_t off) const;
  void set_cfg(uint32_t off, std::span<const uint8_t> bytes);

 private:
  PciBar bar_locked(unsigned index) const;

  // Recursive: subclass hooks run under it and may call the getters.
  mutable std::recursive_mutex mu_;
  std::array<uint8_t, kPciConfigSize> cfg_{};
  std::array<uint8_t, kPciConfigSize> wmask_{};
  std::array<uint64_t, kPciBarCount> bar_size_{};
  uint8_t next_cap_ = 0x40;   // where the next capability goes
  uint8_t last_cap_ = 0;      // offset of the last capability (0: none)
  BarMoved bar_moved_;
  Counter bad_accesses_;
};

// What the VMM puts in the boot information for each device.
struct PciDeviceInfo {
  uint8_t bus = 0, device = 0, function = 0;
  uint16_t vendor = 0, device_id = 0;
  uint64_t bar0_address = 0, bar0_size = 0;
  uint64_t msix_table_address = 0;  // guest-physical; 0 when there is no MSI-X
  uint16_t msix_entries = 0;
  uint16_t bdf() const noexcept { return static_cast<uint16_t>(bus << 8 | device << 3 | function); }
};

class PciHostBridge final : public IoHandler {
 public:
  static constexpr uint16_t kPortBase = 0xcf8;
  static constexpr uint16_t kPortCount = 8;
  static constexpr unsigned kSlots = 32;

  PciHostBridge();
  // Puts `fn` (not owned) in slot 1..31; slot 0 is the bridge.
  Status add_device(uint8_t slot, PciFunction* fn);
  // Lowest free slot, or an error when all 31 are used.
  Result<uint8_t> add_device(PciFunction* fn);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  std::vector<PciDeviceInfo> devices() const;  // bridge excluded
  uint64_t bad_accesses() const noexcept { return bad_accesses_.load(); }
  uint64_t absent_reads() const noexcept { return absent_reads_.load(); }

 private:
  // Target of the current address register, or nullptr (disabled/absent).
  PciFunction* target(uint32_t address) const;

  mutable std::mutex mu_;  // the address register is shared by all vCPUs
  uint32_t address_ = 0;
  PciFunction bridge_;
  std::array<PciFunction*, kSlots> slots_{};
  Counter bad_accesses_;
  Counter absent_reads_;
};

// Reads ids, BAR0 and the MSI-X capability the way a guest would.
PciDeviceInfo pci_device_info(PciFunction& fn, uint8_t slot);

}  // namespace nfv::vmm
