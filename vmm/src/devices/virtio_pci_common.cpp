// VirtioPciDevice: the common configuration structure (virtio 1.2 4.1.4.3)
// and the device status state machine (2.1, 3.1.1). Called with mu_ held.
// See virtio_pci.hpp for the rules on bad guest values.
#include <cstring>

#include "devices/virtio_pci.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfv::vmm {

namespace {

namespace cc = common_cfg;

// Natural width of the field starting at `off`, 0 when no field starts there
// (4.1.3.1: each field is accessed with its own width; 64-bit fields as two
// 32-bit halves, or, leniently, one 64-bit access).
uint32_t field_width(uint32_t off) {
  switch (off) {
    case cc::device_feature_select: case cc::device_feature: case cc::driver_feature_select:
    case cc::driver_feature: case cc::queue_desc: case cc::queue_desc + 4: case cc::queue_driver:
    case cc::queue_driver + 4: case cc::queue_device: case cc::queue_device + 4:
      return 4;
    case cc::device_status: case cc::config_generation:
      return 1;
    case cc::config_msix_vector: case cc::num_queues: case cc::queue_select: case cc::queue_size:
    case cc::queue_msix_vector: case cc::queue_enable: case cc::queue_notify_off: case cc::queue_notify_data:
    case cc::queue_reset:
      return 2;
    default:
      return 0;
  }
}

bool is_64bit_field(uint32_t off) { return off == cc::queue_desc || off == cc::queue_driver || off == cc::queue_device; }

bool valid_width(uint32_t off, std::size_t len) {
  return field_width(off) == len || (len == 8 && is_64bit_field(off));
}

uint32_t half(uint64_t v, uint32_t select) {
  return select == 0 ? static_cast<uint32_t>(v) : select == 1 ? static_cast<uint32_t>(v >> 32) : 0;
}

// Replace the 32-bit half at byte `pos` (0 or 4) of v, or all of it (width 8).
void set_part(uint64_t& v, uint32_t pos, uint32_t width, uint64_t value) {
  if (width == 8) {
    v = value;
  } else if (pos == 0) {
    v = (v & 0xffffffff00000000ull) | (value & 0xffffffffu);
  } else {
    v = (v & 0xffffffffull) | (value << 32);
  }
}

}  // namespace

uint16_t VirtioPciDevice::checked_vector(uint16_t v) {
  // 4.1.5.1.2: a vector the device cannot map reads back as NO_VECTOR.
  if (v == VIRTIO_MSI_NO_VECTOR || v < msix_.size()) return v;
  ++counters_.bad_msix_vector;
  return VIRTIO_MSI_NO_VECTOR;
}

void VirtioPciDevice::common_read(uint32_t off, std::span<uint8_t> data) {
  if (!valid_width(off, data.size())) {
    ++counters_.bad_access;
    return;  // stays all-ones
  }
  uint64_t v = 0;
  const bool queue_field = off >= cc::queue_size && off != cc::queue_select;
  const Queue* q = queue_select_ < num_queues_ ? &queues_[queue_select_] : nullptr;
  if (queue_field && q == nullptr) {
    ++counters_.bad_queue_select;  // 4.1.4.3: an unavailable queue reads queue_size 0
  } else {
    switch (off) {
      case cc::device_feature_select: v = device_feature_select_; break;
      case cc::device_feature: v = half(device_features_, device_feature_select_); break;
      case cc::driver_feature_select: v = driver_feature_select_; break;
      case cc::driver_feature: v = half(driver_features_, driver_feature_select_); break;
      case cc::config_msix_vector: v = config_vector_; break;
      case cc::num_queues: v = num_queues_; break;
      case cc::device_status: v = status_; break;
      case cc::config_generation: v = generation_; break;
      case cc::queue_select: v = queue_select_; break;
      case cc::queue_size: v = q->size; break;
      case cc::queue_msix_vector: v = q->msix_vector; break;
      case cc::queue_enable: v = q->enabled ? 1 : 0; break;
      case cc::queue_notify_off: v = queue_select_; break;  // notify address = notify + off * multiplier
      case cc::queue_desc: v = q->desc; break;
      case cc::queue_desc + 4: v = q->desc >> 32; break;
      case cc::queue_driver: v = q->driver; break;
      case cc::queue_driver + 4: v = q->driver >> 32; break;
      case cc::queue_device: v = q->device; break;
      case cc::queue_device + 4: v = q->device >> 32; break;
      default: v = 0; break;  // queue_notify_data, queue_reset: features not offered
    }
  }
  std::memcpy(data.data(), &v, data.size());  // little-endian host (ring.hpp asserts it)
}

void VirtioPciDevice::common_write(uint32_t off, std::span<const uint8_t> data) {
  if (!valid_width(off, data.size())) {
    ++counters_.bad_access;
    needs_reset_locked();
    return;
  }
  uint64_t v = 0;
  std::memcpy(&v, data.data(), data.size());
  switch (off) {
    case cc::device_feature_select: device_feature_select_ = static_cast<uint32_t>(v); return;
    case cc::driver_feature_select: driver_feature_select_ = static_cast<uint32_t>(v); return;
    case cc::driver_feature:
      // 3.1.1: features are fixed once FEATURES_OK is set.
      if (status_ & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)) {
        ++counters_.late_write;
        needs_reset_locked();
      } else if (driver_feature_select_ < 2) {
        const unsigned shift = 32 * driver_feature_select_;
        driver_features_ = (driver_features_ & ~(0xffffffffull << shift)) | (v << shift);
      } else {
        extra_features_ = extra_features_ || v != 0;  // bits >= 64: never offered
      }
      return;
    case cc::config_msix_vector: config_vector_ = checked_vector(static_cast<uint16_t>(v)); return;
    case cc::device_status: status_write(static_cast<uint8_t>(v)); return;
    case cc::queue_select: queue_select_ = static_cast<uint16_t>(v); return;
    case cc::device_feature: case cc::num_queues: case cc::config_generation: case cc::queue_notify_off:
    case cc::queue_notify_data:
      ++counters_.read_only_write;
      needs_reset_locked();
      return;
    case cc::queue_reset:  // VIRTIO_F_RING_RESET is not offered (2.6.1)
      ++counters_.bad_access;
      needs_reset_locked();
      return;
    default:
      queue_write(off, static_cast<uint32_t>(data.size()), v);
      return;
  }
}

void VirtioPciDevice::queue_write(uint32_t off, uint32_t width, uint64_t v) {
  if (status_ & VIRTIO_STATUS_DRIVER_OK) {
    ++counters_.late_write;  // queues are fixed once the device is live
    needs_reset_locked();
    return;
  }
  if (queue_select_ >= num_queues_) {
    ++counters_.bad_queue_select;
    needs_reset_locked();
    return;
  }
  Queue& q = queues_[queue_select_];
  if (q.enabled) {
    ++counters_.late_write;  // 4.1.4.3.2: configure the queue before enabling it
    needs_reset_locked();
    return;
  }
  switch (off) {
    case cc::queue_size:
      if (!virtio::is_valid_queue_size(static_cast<uint32_t>(v)) || v > max_queue_size_) {
        ++counters_.bad_queue_size;  // 2.7: split queue sizes are powers of two
        needs_reset_locked();
      } else {
        q.size = static_cast<uint16_t>(v);
      }
      return;
    case cc::queue_msix_vector: q.msix_vector = checked_vector(static_cast<uint16_t>(v)); return;
    case cc::queue_enable:
      if (v == 1) {
        q.enabled = true;
      } else {
        ++counters_.bad_queue_enable;  // 4.1.4.3.2: the driver MUST NOT write 0
        needs_reset_locked();
      }
      return;
    case cc::queue_desc: case cc::queue_desc + 4: set_part(q.desc, off - cc::queue_desc, width, v); return;
    case cc::queue_driver: case cc::queue_driver + 4: set_part(q.driver, off - cc::queue_driver, width, v); return;
    case cc::queue_device: case cc::queue_device + 4: set_part(q.device, off - cc::queue_device, width, v); return;
    default: ++counters_.bad_access; return;  // unreachable: valid_width() admitted only fields
  }
}

void VirtioPciDevice::status_write(uint8_t value) {
  if (value == 0) {  // 2.4 / 4.1.4.3: writing 0 resets the device
    ++counters_.resets;
    reset_device();
    return;
  }
  const uint8_t old = status_ & static_cast<uint8_t>(~VIRTIO_STATUS_NEEDS_RESET);
  const uint8_t want = value & static_cast<uint8_t>(~VIRTIO_STATUS_NEEDS_RESET);  // device-owned bit
  if (old & ~want) {  // 2.1.1: the driver MUST NOT clear a status bit
    ++counters_.bad_status;
    needs_reset_locked();
    return;
  }
  uint8_t added = want & static_cast<uint8_t>(~old);
  if (added & VIRTIO_STATUS_FAILED) status_ |= VIRTIO_STATUS_FAILED;
  if ((status_ & VIRTIO_STATUS_NEEDS_RESET) && (added & ~VIRTIO_STATUS_FAILED)) {
    ++counters_.bad_status;  // 2.1.1: after NEEDS_RESET the driver must reset
    return;
  }
  status_ |= added & (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  if (added & VIRTIO_STATUS_FEATURES_OK) {
    // 2.2.1 / 3.1.1: accept only offered features; a modern device needs VERSION_1 (6.1).
    const bool subset = (driver_features_ & ~device_features_) == 0 && !extra_features_;
    if (subset && (driver_features_ & virtio::feature_bit(virtio::VIRTIO_F_VERSION_1))) {
      status_ |= VIRTIO_STATUS_FEATURES_OK;
    } else {
      ++counters_.refused_features;  // FEATURES_OK reads back clear
    }
  }
  if (added & VIRTIO_STATUS_DRIVER_OK) {
    if (!(status_ & VIRTIO_STATUS_FEATURES_OK)) {
      ++counters_.bad_status;
      needs_reset_locked();
      return;
    }
    status_ |= VIRTIO_STATUS_DRIVER_OK;
    if (!queues_valid()) {
      needs_reset_locked();
      return;
    }
    std::vector<VirtqueueConfig> live;
    for (uint16_t i = 0; i < num_queues_; ++i) {
      const Queue& q = queues_[i];
      if (!q.enabled) continue;
      live.push_back({i, q.size, q.desc, q.driver, q.device, q.msix_vector,
                      bar0_address_ + virtio_bar::notify + uint64_t{i} * virtio_bar::notify_off_multiplier});
    }
    if (auto st = backend_.activate(driver_features_, live); !st) {
      ++counters_.activate_failed;
      needs_reset_locked();
      return;
    }
    active_ = true;
  }
}

// DRIVER_OK: every enabled queue must have a valid size and rings wholly
// inside guest RAM with the alignment of 2.7 (desc 16, avail 2, used 4), and
// no two rings (of any enabled queues) may overlap: the device writes the used
// rings, so an overlap would let it corrupt what it reads. Rings left at 0
// (queue_enable before the addresses) overlap each other and are caught here.
bool VirtioPciDevice::queues_valid() {
  struct Area {
    uint64_t start, bytes;
  };
  Area areas[3 * kMaxQueues];
  std::size_t n_areas = 0;
  for (const Queue& q : queues_) {
    if (!q.enabled) continue;
    if (!virtio::is_valid_queue_size(q.size) || q.size > max_queue_size_) {
      ++counters_.bad_queue_size;
      return false;
    }
    const uint64_t n = q.size;
    const bool aligned = q.desc % virtio::kDescAlign == 0 && q.driver % virtio::kAvailAlign == 0 &&
                         q.device % virtio::kUsedAlign == 0;
    const bool mapped = memory_.translate(q.desc, 16 * n) != nullptr &&
                        memory_.translate(q.driver, virtio::avail_used_event_offset(q.size) + 2) != nullptr &&
                        memory_.translate(q.device, virtio::used_avail_event_offset(q.size) + 2) != nullptr;
    if (!aligned || !mapped) {
      ++counters_.bad_ring;
      return false;
    }
    // Sizes bounded by 32768 entries and the starts checked by translate(): no overflow.
    const Area mine[3] = {{q.desc, 16 * n},
                          {q.driver, virtio::avail_used_event_offset(q.size) + 2ull},
                          {q.device, virtio::used_avail_event_offset(q.size) + 2ull}};
    for (const Area& a : mine) {
      for (std::size_t i = 0; i < n_areas; ++i) {
        if (a.start < areas[i].start + areas[i].bytes && areas[i].start < a.start + a.bytes) {
          ++counters_.bad_ring;
          return false;
        }
      }
      areas[n_areas++] = a;
    }
  }
  return true;
}

void VirtioPciDevice::reset_device() {
  backend_.reset();
  clear_state();
}

// Device reset (2.4): everything the driver set goes back to its initial
// value. The MSI-X table is PCI function state and survives (4.1.5.1.2).
void VirtioPciDevice::clear_state() {
  for (Queue& q : queues_) q = Queue{max_queue_size_, VIRTIO_MSI_NO_VECTOR, false, 0, 0, 0};
  device_feature_select_ = driver_feature_select_ = 0;
  driver_features_ = 0;
  extra_features_ = false;
  config_vector_ = VIRTIO_MSI_NO_VECTOR;
  queue_select_ = 0;
  status_ = 0;
  isr_ = 0;
  active_ = false;
}

}  // namespace nfv::vmm
