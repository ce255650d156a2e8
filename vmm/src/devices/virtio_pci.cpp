// VirtioPciDevice: PCI identity, capabilities, BAR0 dispatch and interrupts.
// The common configuration register model is in virtio_pci_common.cpp.
// See virtio_pci.hpp for the layout and the rules.
#include "devices/virtio_pci.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "nfv/virtio/ring.hpp"

namespace nfv::vmm {

namespace {

uint16_t clamp_queue_size(uint16_t n) {
  // A power of two in 1..32768 (2.7); round a bad backend value down.
  if (n == 0) return 1;
  return static_cast<uint16_t>(std::bit_floor(std::min<uint32_t>(n, virtio::kMaxQueueSize)));
}

uint32_t class_for(uint16_t type) { return type == 1 ? 0x020000 : 0xff0000; }  // net: Ethernet controller

// struct virtio_pci_cap after cap_vndr/cap_next (4.1.4): cap_len, cfg_type,
// bar, id, padding[2], offset, length, then `extra` (notify multiplier or
// pci_cfg_data).
std::vector<uint8_t> virtio_cap(uint8_t type, uint32_t offset, uint32_t length, std::size_t extra = 0,
                                uint32_t extra_value = 0) {
  std::vector<uint8_t> b(14 + extra, 0);
  b[0] = static_cast<uint8_t>(16 + extra);
  b[1] = type;
  b[2] = 0;  // BAR0
  std::memcpy(&b[6], &offset, 4);
  std::memcpy(&b[10], &length, 4);
  if (extra == 4) std::memcpy(&b[14], &extra_value, 4);
  return b;
}

bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t count) {
  return start != 0 && off < start + count && start < off + len;
}

}  // namespace

Result<std::unique_ptr<VirtioPciDevice>> VirtioPciDevice::create(VirtioDeviceBackend& backend,
                                                                 const GuestMemory& memory, MsiSink& msi,
                                                                 uint64_t bar0_address) {
  if (bar0_address == 0 || (bar0_address & (virtio_bar::size - 1)) != 0) {
    return make_error(Errc::invalid_argument, "virtio-pci BAR0 address must be non-zero and aligned to 0x8000");
  }
  const uint16_t nq = backend.num_queues();
  const uint16_t qmax = backend.max_queue_size();
  if (nq == 0 || nq > kMaxQueues || !virtio::is_valid_queue_size(qmax) ||
      backend.config_size() > virtio_bar::device_cfg_max ||
      !(backend.device_features() & virtio::feature_bit(virtio::VIRTIO_F_VERSION_1))) {
    return make_error(Errc::invalid_argument,
                      "virtio backend out of limits: it needs 1..64 queues, a power-of-two max queue size, "
                      "at most 4096 bytes of config and VIRTIO_F_VERSION_1 among its features");
  }
  return std::make_unique<VirtioPciDevice>(backend, memory, msi, bar0_address);
}

VirtioPciDevice::VirtioPciDevice(VirtioDeviceBackend& backend, const GuestMemory& memory, MsiSink& msi,
                                 uint64_t bar0_address)
    : PciFunction(PciIds{.vendor = 0x1af4,
                         .device = static_cast<uint16_t>(0x1040 + backend.device_type()),  // 4.1.2
                         .revision = 1,  // 4.1.2.1: non-transitional devices SHOULD have revision >= 1
                         .class_code = class_for(backend.device_type()),
                         .subsystem_vendor = 0x1af4,
                         .subsystem_id = 0x1100,  // 4.1.2.1: >= 0x40
                         .interrupt_pin = 0}),    // no INTx line is wired
      backend_(backend),
      memory_(memory),
      msi_(msi),
      num_queues_(std::clamp<uint16_t>(backend.num_queues(), 1, kMaxQueues)),
      max_queue_size_(clamp_queue_size(backend.max_queue_size())),
      device_features_(backend.device_features()),
      device_cfg_size_(std::min(backend.config_size(), virtio_bar::device_cfg_max)),
      msix_(static_cast<uint16_t>(num_queues_ + 1)),
      queues_(num_queues_) {
  (void)set_bar_mem64(0, bar0_address, virtio_bar::size);  // create() checked the address
  bar0_address_ = bar(0).address;
  add_capability(kPciCapIdVendor, virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, virtio_bar::common, common_cfg::size));
  add_capability(kPciCapIdVendor, virtio_cap(VIRTIO_PCI_CAP_NOTIFY_CFG, virtio_bar::notify,
                                             num_queues_ * virtio_bar::notify_off_multiplier, 4,
                                             virtio_bar::notify_off_multiplier));
  add_capability(kPciCapIdVendor, virtio_cap(VIRTIO_PCI_CAP_ISR_CFG, virtio_bar::isr, 1));
  if (device_cfg_size_ > 0) {
    add_capability(kPciCapIdVendor, virtio_cap(VIRTIO_PCI_CAP_DEVICE_CFG, virtio_bar::device, device_cfg_size_));
  }
  // 4.1.4.7: bar, offset, length and pci_cfg_data are driver-writable.
  const std::vector<uint8_t> pci_cfg_mask = {0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  pci_cfg_cap_ = add_capability(kPciCapIdVendor, virtio_cap(VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4), pci_cfg_mask).value_or(0);
  // MSI-X (PCI 3.0 6.8.2): message control (table size - 1; enable and
  // function mask writable), table and PBA offsets in BAR0 (BIR 0).
  const uint16_t control = static_cast<uint16_t>(msix_.size() - 1);
  const uint32_t table = virtio_bar::msix_table, pba = virtio_bar::msix_pba;
  std::vector<uint8_t> msix_body(10, 0), msix_mask(10, 0);
  std::memcpy(&msix_body[0], &control, 2);
  std::memcpy(&msix_body[2], &table, 4);
  std::memcpy(&msix_body[6], &pba, 4);
  msix_mask[1] = 0xc0;
  msix_cap_ = add_capability(kPciCapIdMsix, msix_body, msix_mask).value_or(0);
  clear_state();
}

// ---- configuration-space hooks (configuration lock held) ------------------------

void VirtioPciDevice::config_read_hook(uint32_t offset, uint32_t len) {
  if (overlaps(offset, len, pci_cfg_cap_ + 16u, 4)) pci_cfg_window(false);
}

void VirtioPciDevice::config_written(uint32_t offset, uint32_t len) {
  std::lock_guard lock(mu_);
  if (overlaps(offset, len, kPciBar0, 8)) bar0_address_ = uint64_t{cfg32(kPciBar0 + 4)} << 32 | (cfg32(kPciBar0) & ~0xfu);
  if (overlaps(offset, len, msix_cap_ + 2u, 2)) {
    const uint16_t control = cfg16(msix_cap_ + 2u);
    msix_.set_control(control & 0x8000, control & 0x4000, &msi_);
    if (msix_changed_) msix_changed_(kAllVectors);
  }
  if (overlaps(offset, len, pci_cfg_cap_ + 16u, 4)) pci_cfg_window(true);
}

// 4.1.4.7 VIRTIO_PCI_CAP_PCI_CFG: an access to pci_cfg_data is performed at
// cap.offset in the BAR selected by cap.bar, cap.length bytes (1, 2 or 4,
// aligned). Anything else is a driver error and does nothing.
void VirtioPciDevice::pci_cfg_window(bool is_write) {
  std::lock_guard lock(mu_);
  const uint32_t cap = pci_cfg_cap_;
  const uint8_t bar_index = cfg8(cap + 4);
  const uint32_t offset = cfg32(cap + 8), length = cfg32(cap + 12);
  if (bar_index != 0 || (length != 1 && length != 2 && length != 4) || offset % length != 0 ||
      offset > virtio_bar::size - length) {
    ++counters_.bad_access;
    return;
  }
  uint8_t data[4] = {};
  if (is_write) {
    for (uint32_t i = 0; i < length; ++i) data[i] = cfg8(cap + 16 + i);
    bar_access(offset, {}, std::span<const uint8_t>(data, length), true);
  } else {
    bar_access(offset, std::span<uint8_t>(data, length), {}, false);
    set_cfg(cap + 16, std::span<const uint8_t>(data, 4));
  }
}

// ---- BAR0 ----------------------------------------------------------------------

void VirtioPciDevice::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  bar_access(offset, data, {}, false);
}

void VirtioPciDevice::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  bar_access(offset, {}, data, true);
}

void VirtioPciDevice::bar_access(uint64_t offset, std::span<uint8_t> rdata, std::span<const uint8_t> wdata,
                                 bool is_write) {
  const std::size_t len = is_write ? wdata.size() : rdata.size();
  if (!is_write) std::memset(rdata.data(), 0xff, len);  // what an unclaimed byte reads as
  auto inside = [&](uint64_t start, uint64_t size) {
    return offset >= start && offset - start < size && len <= size - (offset - start);
  };
  if (len == 0 || len > 8) {
    ++counters_.bad_access;
    if (is_write) needs_reset_locked();
  } else if (inside(virtio_bar::common, common_cfg::size)) {
    const auto off = static_cast<uint32_t>(offset - virtio_bar::common);
    is_write ? common_write(off, wdata) : common_read(off, rdata);
  } else if (offset == virtio_bar::isr && len == 1) {
    // 4.1.4.5: reading clears the ISR status.
    if (is_write) {
      ++counters_.read_only_write;
      needs_reset_locked();
    } else {
      rdata[0] = isr_;
      isr_ = 0;
    }
  } else if (inside(virtio_bar::device, device_cfg_size_) && std::has_single_bit(len)) {
    const auto off = static_cast<uint32_t>(offset - virtio_bar::device);
    if (!is_write) {
      backend_.config_read(off, rdata);
    } else if (backend_.config_writable(off, static_cast<uint32_t>(len))) {
      backend_.config_write(off, wdata);
    } else {
      ++counters_.read_only_write;  // e.g. virtio-net: the whole config is read-only (5.1.4)
      needs_reset_locked();
    }
  } else if (inside(virtio_bar::notify, num_queues_ * virtio_bar::notify_off_multiplier) &&
             offset % virtio_bar::notify_off_multiplier == 0 && (len == 2 || len == 4)) {
    // 4.1.5.2: the driver writes the queue index to the queue's notify address.
    const auto q = static_cast<uint16_t>((offset - virtio_bar::notify) / virtio_bar::notify_off_multiplier);
    if (!is_write) {
      std::memset(rdata.data(), 0, len);
    } else {
      ++counters_.notifies;
      if (active_) backend_.notify(q);
    }
  } else if (inside(virtio_bar::msix_table, msix_.table_bytes())) {
    if (is_write) {
      const int v = msix_.table_write(offset - virtio_bar::msix_table, wdata, &msi_);
      if (v >= 0 && msix_changed_) msix_changed_(static_cast<uint16_t>(v));
      if (v < 0) {
        ++counters_.bad_access;  // not an aligned dword/qword (PCI 3.0 6.8.2)
        needs_reset_locked();
      }
    } else {
      msix_.table_read(offset - virtio_bar::msix_table, rdata);
    }
  } else if (inside(virtio_bar::msix_pba, msix_.pba_bytes())) {
    if (is_write) {
      ++counters_.read_only_write;
      needs_reset_locked();
    } else {
      msix_.pba_read(offset - virtio_bar::msix_pba, rdata);
    }
  } else {
    // No register here (a gap, past the MSI-X arrays, a doorbell of a queue
    // that does not exist, a wrong width): reads stay all-ones; a write is a
    // driver error.
    ++counters_.bad_access;
    if (is_write) needs_reset_locked();
  }
}

// ---- interrupts and backend-side events ------------------------------------------

void VirtioPciDevice::raise_vector(uint16_t vector) {
  if (vector != VIRTIO_MSI_NO_VECTOR && msix_.raise(vector, &msi_)) {
    ++counters_.interrupts;
  } else {
    ++counters_.interrupts_lost;
  }
}

void VirtioPciDevice::needs_reset_locked() {
  ++counters_.needs_reset;
  if (status_ & VIRTIO_STATUS_NEEDS_RESET) return;
  status_ |= VIRTIO_STATUS_NEEDS_RESET;
  // 2.1.2: with DRIVER_OK set, the device MUST send a configuration change notification.
  if (status_ & VIRTIO_STATUS_DRIVER_OK) {
    isr_ |= 2;
    raise_vector(config_vector_);
  }
}

void VirtioPciDevice::raise_needs_reset() {
  std::lock_guard lock(mu_);
  needs_reset_locked();
}

void VirtioPciDevice::config_changed() {
  std::lock_guard lock(mu_);
  ++generation_;  // 2.5: config_generation changes whenever the config may have changed
  isr_ |= 2;      // 4.1.4.5: set before the notification
  raise_vector(config_vector_);
}

void VirtioPciDevice::signal_queue(uint16_t queue) {
  std::lock_guard lock(mu_);
  if (queue >= num_queues_) return;
  if (!msix_.enabled()) isr_ |= 1;
  raise_vector(msix_.enabled() ? queues_[queue].msix_vector : VIRTIO_MSI_NO_VECTOR);
}

void VirtioPciDevice::set_msix_changed_callback(MsixChanged cb) {
  std::lock_guard lock(mu_);
  msix_changed_ = std::move(cb);
}

// ---- getters ---------------------------------------------------------------------

uint64_t VirtioPciDevice::bar0_address() const {
  std::lock_guard lock(mu_);
  return bar0_address_;
}
uint64_t VirtioPciDevice::notify_address(uint16_t queue) const {
  return bar0_address() + virtio_bar::notify + uint64_t{queue} * virtio_bar::notify_off_multiplier;
}
uint8_t VirtioPciDevice::status() const {
  std::lock_guard lock(mu_);
  return status_;
}
uint64_t VirtioPciDevice::driver_features() const {
  std::lock_guard lock(mu_);
  return driver_features_;
}
bool VirtioPciDevice::active() const {
  std::lock_guard lock(mu_);
  return active_;
}
uint16_t VirtioPciDevice::queue_vector(uint16_t queue) const {
  std::lock_guard lock(mu_);
  return queue < num_queues_ ? queues_[queue].msix_vector : VIRTIO_MSI_NO_VECTOR;
}
uint16_t VirtioPciDevice::config_vector() const {
  std::lock_guard lock(mu_);
  return config_vector_;
}
MsixVector VirtioPciDevice::msix_vector(uint16_t vector) const {
  std::lock_guard lock(mu_);
  return msix_.vector(vector);
}
uint16_t VirtioPciDevice::msix_size() const {
  std::lock_guard lock(mu_);
  return msix_.size();
}

}  // namespace nfv::vmm
