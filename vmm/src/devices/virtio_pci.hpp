// VirtioPciDevice: the virtio-pci modern transport (virtio 1.2 section 4.1).
//
// A PCI function with vendor 0x1af4, device 0x1040 + device type (4.1.2),
// revision 1, and one 64-bit memory BAR (BAR0, 32 KiB) laid out as:
//   0x0000 common configuration     (4.1.4.3, VIRTIO_PCI_CAP_COMMON_CFG, 60 bytes)
//   0x1000 ISR status, read-to-clear (4.1.4.5, VIRTIO_PCI_CAP_ISR_CFG, 1 byte)
//   0x2000 device-specific config   (4.1.4.6, VIRTIO_PCI_CAP_DEVICE_CFG, the backend's bytes)
//   0x3000 notifications            (4.1.4.4, VIRTIO_PCI_CAP_NOTIFY_CFG): queue q at
//          0x3000 + q * 4 (queue_notify_off = q, notify_off_multiplier = 4), so the
//          VMM can put one ioeventfd on each queue's address (notify_address(q))
//   0x4000 MSI-X table, 0x5000 MSI-X PBA (capability 0x11; one vector per queue + config)
// plus VIRTIO_PCI_CAP_PCI_CFG (4.1.4.7), the configuration-space window on the BAR.
//
// Register model: every field of struct virtio_pci_common_cfg, accessed with
// its natural width (4.1.3.1; 64-bit fields as two dwords or one qword).
// Device status (2.1, 3.1.1): writing 0 resets the device (backend.reset());
// FEATURES_OK is kept only when the driver accepted a subset of the offered
// features including VERSION_1 (else it reads back clear); DRIVER_OK checks
// every enabled queue (size a power of two <= max, rings wholly inside guest
// RAM, aligned per 2.7: desc 16, avail 2, used 4) and calls backend.activate().
//
// Guest input never crashes the VMM. Every guest write is validated: a write
// the device refuses is ignored, counted per reason (VirtioPciCounters) and
// sets DEVICE_NEEDS_RESET (2.1.2: with DRIVER_OK set, followed by a
// configuration change interrupt) until the driver resets the device (status
// 0). That covers writes of a wrong width or to no register (gaps, doorbells of
// queues that do not exist, bad MSI-X table accesses), read-only fields (ISR,
// PBA, device config the backend does not accept), queue fields of an
// out-of-range queue_select, bad queue sizes, queue and feature writes after
// the queue was enabled / FEATURES_OK / DRIVER_OK, bad status transitions, and
// DRIVER_OK with rings outside RAM, misaligned or overlapping each other
// (which also catches queue_enable before the addresses were written). Two
// refusals are the ones the spec defines instead: FEATURES_OK reads back clear
// when the driver accepted features not offered (3.1.1), and an MSI-X vector
// beyond the table reads back NO_VECTOR (4.1.5.1.2); both are counted. Reads
// of bad offsets/widths return all-ones and are counted. VIRTIO_F_RING_RESET
// is not offered, so queue_reset reads 0 and writes to it are driver errors.
//
// Interrupts: with MSI-X enabled, a queue or config event raises the mapped
// vector (masked -> pending); vectors beyond the table read back as
// VIRTIO_MSI_NO_VECTOR (4.1.5.1.2). Without MSI-X only the ISR bits are set
// (no INTx line is wired; the guests here use MSI-X). The data path does not
// come here: the VMM routes vectors to irqfds using msix_vector() and the
// MsixChanged callback, and puts ioeventfds on the notify addresses.
//
// Threads: BAR accesses (vCPU threads), config-space accesses, and the
// backend's raise_needs_reset()/config_changed() (any thread) serialise on one
// recursive mutex; callbacks and backend calls run under it and may call back
// into this device.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "devices/io_bus.hpp"
#include "devices/msix.hpp"
#include "devices/pci.hpp"
#include "guest_memory.hpp"
#include "nfv/counter.hpp"
#include "nfv/result.hpp"

namespace nfv::vmm {

// Device status bits (2.1).
inline constexpr uint8_t VIRTIO_STATUS_ACKNOWLEDGE = 1;
inline constexpr uint8_t VIRTIO_STATUS_DRIVER = 2;
inline constexpr uint8_t VIRTIO_STATUS_DRIVER_OK = 4;
inline constexpr uint8_t VIRTIO_STATUS_FEATURES_OK = 8;
inline constexpr uint8_t VIRTIO_STATUS_NEEDS_RESET = 0x40;
inline constexpr uint8_t VIRTIO_STATUS_FAILED = 0x80;
inline constexpr uint16_t VIRTIO_MSI_NO_VECTOR = 0xffff;

// Capability cfg_type values (4.1.4).
inline constexpr uint8_t VIRTIO_PCI_CAP_COMMON_CFG = 1;
inline constexpr uint8_t VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
inline constexpr uint8_t VIRTIO_PCI_CAP_ISR_CFG = 3;
inline constexpr uint8_t VIRTIO_PCI_CAP_DEVICE_CFG = 4;
inline constexpr uint8_t VIRTIO_PCI_CAP_PCI_CFG = 5;

// Common configuration field offsets (4.1.4.3, struct virtio_pci_common_cfg).
namespace common_cfg {
inline constexpr uint32_t device_feature_select = 0, device_feature = 4, driver_feature_select = 8,
                          driver_feature = 12, config_msix_vector = 16, num_queues = 18, device_status = 20,
                          config_generation = 21, queue_select = 22, queue_size = 24, queue_msix_vector = 26,
                          queue_enable = 28, queue_notify_off = 30, queue_desc = 32, queue_driver = 40,
                          queue_device = 48, queue_notify_data = 56, queue_reset = 58, size = 60;
}  // namespace common_cfg

// BAR0 layout (see the doc block).
namespace virtio_bar {
inline constexpr uint64_t common = 0x0000, isr = 0x1000, device = 0x2000, notify = 0x3000,
                          msix_table = 0x4000, msix_pba = 0x5000, size = 0x8000;
inline constexpr uint32_t notify_off_multiplier = 4;
inline constexpr uint32_t device_cfg_max = 0x1000;
}  // namespace virtio_bar

// One virtqueue as the driver configured it, handed to activate().
struct VirtqueueConfig {
  uint16_t index = 0;
  uint16_t size = 0;
  uint64_t desc_gpa = 0, avail_gpa = 0, used_gpa = 0;  // driver/device areas = avail/used (split rings)
  uint16_t msix_vector = VIRTIO_MSI_NO_VECTOR;
  uint64_t notify_address = 0;  // guest-physical address of this queue's doorbell
};

// The device-specific part (virtio-net, ...). Called with the device lock held.
class VirtioDeviceBackend {
 public:
  virtual ~VirtioDeviceBackend() = default;
  virtual uint16_t device_type() const = 0;         // 1 = net (5)
  virtual uint64_t device_features() const = 0;     // offered, including VIRTIO_F_VERSION_1
  virtual uint16_t num_queues() const = 0;          // 1..64
  virtual uint16_t max_queue_size() const = 0;      // power of two <= 32768
  virtual uint32_t config_size() const = 0;         // bytes of device-specific config (<= 4096)
  virtual void config_read(uint32_t offset, std::span<uint8_t> data) = 0;  // in range, checked
  virtual void config_write(uint32_t offset, std::span<const uint8_t> data) = 0;
  // Whether the driver may write these config bytes (in range, checked). Most
  // device types have no driver-writable config (virtio-net: 5.1.4); a write
  // the backend refuses is a driver error (read_only_write, NEEDS_RESET).
  virtual bool config_writable(uint32_t /*offset*/, uint32_t /*len*/) const { return false; }
  // DRIVER_OK with valid queues: start the device. An error sets NEEDS_RESET.
  virtual Status activate(uint64_t driver_features, std::span<const VirtqueueConfig> enabled_queues) = 0;
  virtual void reset() = 0;                 // driver wrote 0 to device_status; stop using the rings
  virtual void notify(uint16_t queue) = 0;  // a doorbell no ioeventfd caught (after activate only)
};

struct VirtioPciCounters {
  Counter bad_access;        // wrong width/alignment, or an offset that is no register
  Counter read_only_write;   // write to a read-only field (device_feature, num_queues, ISR...)
  Counter bad_queue_select;  // queue field access while queue_select >= num_queues
  Counter bad_queue_size;    // queue_size 0, not a power of two, or above the maximum
  Counter bad_queue_enable;  // queue_enable written with a value other than 1 (4.1.4.3.2)
  Counter bad_ring;          // DRIVER_OK: a ring outside guest RAM, misaligned (2.7) or overlapping another
  Counter bad_msix_vector;   // vector beyond the MSI-X table (reads back NO_VECTOR)
  Counter refused_features;  // FEATURES_OK refused: bits not offered, or no VERSION_1
  Counter bad_status;        // status write clearing bits, DRIVER_OK without FEATURES_OK...
  Counter late_write;        // queue/feature writes after enable/FEATURES_OK/DRIVER_OK
  Counter activate_failed;   // backend.activate() returned an error
  Counter needs_reset;       // times DEVICE_NEEDS_RESET was raised
  Counter resets;            // driver resets (status 0)
  Counter notifies;          // doorbells that reached the VMM
  Counter interrupts;        // MSI messages sent
  Counter interrupts_lost;   // no vector mapped or MSI-X disabled / masked (left pending)

  // Guest writes the device refused (each also raised NEEDS_RESET, or for
  // features / vectors made the refusal visible the spec's way).
  uint64_t bad_writes() const noexcept {
    return bad_access.load() + read_only_write.load() + bad_queue_select.load() + bad_queue_size.load() +
           bad_queue_enable.load() + bad_ring.load() + bad_msix_vector.load() + refused_features.load() +
           bad_status.load() + late_write.load();
  }
};

class VirtioPciDevice final : public PciFunction, public IoHandler {
 public:
  static constexpr uint16_t kAllVectors = 0xffff;
  static constexpr uint16_t kMaxQueues = 64;
  // Called when the guest changes an MSI-X table entry (its index) or the
  // enable/function-mask bits (kAllVectors), so the VMM can update routes.
  // Runs under the device's lock (and possibly the configuration-space
  // lock): it may call this device's getters, not its PciFunction methods.
  using MsixChanged = std::function<void(uint16_t vector)>;

  // backend, memory and msi must outlive the device. Refuses a BAR address
  // not aligned to virtio_bar::size and backends outside the limits above.
  static Result<std::unique_ptr<VirtioPciDevice>> create(VirtioDeviceBackend& backend, const GuestMemory& memory,
                                                          MsiSink& msi, uint64_t bar0_address);
  VirtioPciDevice(VirtioDeviceBackend& backend, const GuestMemory& memory, MsiSink& msi, uint64_t bar0_address);

  // BAR0 accesses (register on the mmio bus at bar0_address(), size virtio_bar::size).
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Backend / VMM side, any thread.
  void raise_needs_reset();     // e.g. the vhost-user back-end refused the rings
  void config_changed();        // device config changed: generation++, ISR bit 1, config vector
  void signal_queue(uint16_t queue);  // used-buffer notification through the transport
  void set_msix_changed_callback(MsixChanged cb);

  uint64_t bar0_address() const;  // follows guest BAR writes
  uint64_t notify_address(uint16_t queue) const;
  uint16_t num_queues() const noexcept { return num_queues_; }
  uint8_t status() const;
  uint64_t driver_features() const;
  bool active() const;  // activate() succeeded and no reset since
  uint16_t queue_vector(uint16_t queue) const;
  uint16_t config_vector() const;
  MsixVector msix_vector(uint16_t vector) const;
  uint16_t msix_size() const;
  const VirtioPciCounters& counters() const noexcept { return counters_; }

 protected:
  void config_read_hook(uint32_t offset, uint32_t len) override;
  void config_written(uint32_t offset, uint32_t len) override;

 private:
  struct Queue {
    uint16_t size = 0;
    uint16_t msix_vector = VIRTIO_MSI_NO_VECTOR;
    bool enabled = false;
    uint64_t desc = 0, driver = 0, device = 0;
  };

  // All below: mu_ held.
  void bar_access(uint64_t offset, std::span<uint8_t> rdata, std::span<const uint8_t> wdata, bool is_write);
  void common_read(uint32_t offset, std::span<uint8_t> data);
  void common_write(uint32_t offset, std::span<const uint8_t> data);
  void queue_write(uint32_t offset, uint32_t width, uint64_t value);
  void status_write(uint8_t value);
  bool queues_valid();
  void reset_device();  // backend reset + clear_state()
  void clear_state();
  void needs_reset_locked();
  void raise_vector(uint16_t vector);
  uint16_t checked_vector(uint16_t v);
  void pci_cfg_window(bool is_write);

  VirtioDeviceBackend& backend_;
  const GuestMemory& memory_;
  MsiSink& msi_;
  const uint16_t num_queues_;
  const uint16_t max_queue_size_;
  const uint64_t device_features_;
  const uint32_t device_cfg_size_;
  uint8_t msix_cap_ = 0;     // config-space offset of the MSI-X capability
  uint8_t pci_cfg_cap_ = 0;  // ... of VIRTIO_PCI_CAP_PCI_CFG

  mutable std::recursive_mutex mu_;
  MsixTable msix_;
  MsixChanged msix_changed_;
  std::vector<Queue> queues_;
  uint32_t device_feature_select_ = 0, driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  bool extra_features_ = false;  // driver set bits beyond 63
  uint16_t config_vector_ = VIRTIO_MSI_NO_VECTOR;
  uint16_t queue_select_ = 0;
  uint8_t status_ = 0;
  uint8_t generation_ = 0;
  uint8_t isr_ = 0;
  bool active_ = false;
  uint64_t bar0_address_ = 0;  // cached: never call PciFunction::bar() under mu_ (lock order: config, then device)
  VirtioPciCounters counters_;
};

}  // namespace nfv::vmm
