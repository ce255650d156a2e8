// GuestNetDevice (see the header).
#include "nfv/guest/virtio_net_driver.hpp"

#include <atomic>
#include <cstring>

#include "nfv/guest/interrupts.hpp"
#include "nfv/guest/runtime.hpp"
#include "nfv/virtio/net.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfv::guest {
namespace {
// virtio_pci_common_cfg offsets (4.1.4.3).
constexpr uint32_t kDeviceFeatureSelect = 0, kDeviceFeature = 4, kDriverFeatureSelect = 8, kDriverFeature = 12,
                   kDeviceStatus = 20, kQueueSelect = 22, kQueueSize = 24, kQueueMsixVector = 26, kQueueEnable = 28,
                   kQueueNotifyOff = 30, kQueueDesc = 32, kQueueDriver = 40, kQueueDevice = 48;
constexpr uint32_t kNumQueues = 18;
constexpr uint8_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 0x40, kFailed = 0x80;
constexpr uint32_t kConfigMaxPairs = 8;  // virtio_net_config.max_virtqueue_pairs (5.1.4)
constexpr uint16_t kNoVector = 0xffff;
constexpr uint8_t kPciCapMsix = 0x11;
constexpr uint32_t kMsixEnable = 1u << 31;  // message control bit 15, in the capability's first dword

// Device registers: single loads and stores the hypervisor traps (atomic_ref
// keeps the compiler from merging, splitting or dropping them).
template <typename T>
T mmio_read(uint8_t* p) {
  return std::atomic_ref<T>(*reinterpret_cast<T*>(p)).load(std::memory_order_acquire);
}
template <typename T>
void mmio_write(uint8_t* p, T v) {
  std::atomic_ref<T>(*reinterpret_cast<T*>(p)).store(v, std::memory_order_release);
}
}  // namespace

uint8_t GuestNetDevice::status() const noexcept { return mmio_read<uint8_t>(bar_ + info_->common_offset + kDeviceStatus); }

// MSI-X entries 0 .. entries-1 -> `vector` on vCPU 0 .. entries-1 (entry k for pair k,
// polled by the worker on vCPU k), MSI-X enabled in configuration space. False when the
// function has no MSI-X or too few entries (the device is then polled only).
bool GuestNetDevice::setup_msix(uint8_t vector, unsigned entries) {
  if (info_->msix_vectors < entries || !interrupts_ready()) return false;
  const uint8_t cap = pci_find_capability(info_->pci_bdf, kPciCapMsix);
  if (cap == 0) return false;
  for (unsigned k = 0; k < entries; ++k) {
    uint8_t* entry = bar_ + info_->msix_table_offset + 16u * k;  // address lo/hi, data, control
    // vCPU k's local APIC: the VMM gives vCPU k APIC id k. Entry 0 on a one-pair device is
    // this CPU's (the one that polls it).
    const uint64_t address = entries == 1 ? msi_address() : msi_address(k);
    mmio_write<uint32_t>(entry + 0, static_cast<uint32_t>(address));
    mmio_write<uint32_t>(entry + 4, static_cast<uint32_t>(address >> 32));
    mmio_write<uint32_t>(entry + 8, vector);
    mmio_write<uint32_t>(entry + 12, 0);  // unmasked
  }
  const uint32_t head = pci_config_read32(info_->pci_bdf, cap);
  pci_config_write32(info_->pci_bdf, cap, (head | kMsixEnable) & ~(1u << 30));  // enable, no function mask
  return (pci_config_read32(info_->pci_bdf, cap) & kMsixEnable) != 0;
}

std::optional<virtio::SplitVirtqueue> GuestNetDevice::setup_queue(uint8_t* common, uint16_t index, uint16_t want_size,
                                                                  const SharedRegion& region, RegionCarver& carver,
                                                                  virtio::SplitQueueCounters* counters, uint16_t vector,
                                                                  virtio::Doorbell* doorbell, bool* vector_kept) {
  mmio_write<uint16_t>(common + kQueueSelect, index);
  const uint16_t max = mmio_read<uint16_t>(common + kQueueSize);
  const uint16_t size = max < want_size ? max : want_size;
  const virtio::SplitRingLayout layout = virtio::split_ring_layout(size, virtio::kSeparateUsedAlign);
  std::byte* block = size == 0 ? nullptr : carver.take(layout.total_size, 4096);
  if (block == nullptr) {
    print("nfv guest: no room for queue %u (size %u)\n", index, size);
    return std::nullopt;
  }
  pretouch(block, layout.total_size);
  virtio::SplitQueueConfig qc =
      virtio::contiguous_split_queue(size, block, region.driver_memory(), features_, virtio::kSeparateUsedAlign);
  qc.counters = counters;
  auto vq = virtio::SplitVirtqueue::create(qc);
  if (!vq) {
    print("nfv guest: queue %u: %s\n", index, vq.error().message.c_str());
    return std::nullopt;
  }
  mmio_write<uint16_t>(common + kQueueSize, size);
  mmio_write<uint16_t>(common + kQueueMsixVector, vector);
  *vector_kept = vector != kNoVector && mmio_read<uint16_t>(common + kQueueMsixVector) == vector;
  vq->set_interrupts(false);  // polled; the run loop arms receive interrupts to go idle
  mmio_write<uint64_t>(common + kQueueDesc, vq->desc_driver_addr());
  mmio_write<uint64_t>(common + kQueueDriver, vq->avail_driver_addr());
  mmio_write<uint64_t>(common + kQueueDevice, vq->used_driver_addr());
  const uint16_t notify_off = mmio_read<uint16_t>(common + kQueueNotifyOff);
  *doorbell = virtio::Doorbell(
      reinterpret_cast<uint16_t*>(bar_ + info_->notify_offset + uint64_t{notify_off} * info_->notify_multiplier), index);
  mmio_write<uint16_t>(common + kQueueEnable, 1);
  return std::move(*vq);
}

// The control queue (index 2 x max_pairs) and VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (5.1.6.5.5).
// The VMM serves the queue on the doorbell's exit, so the answer is there when the write
// returns; the wait is bounded anyway. False: keep one pair.
bool GuestNetDevice::set_pairs(uint8_t* common, const SharedRegion& region, RegionCarver& carver, uint16_t max_pairs,
                               unsigned pairs) {
  const uint16_t index = static_cast<uint16_t>(2 * max_pairs);
  if (mmio_read<uint16_t>(common + kNumQueues) <= index) return false;
  static virtio::SplitQueueCounters counters;
  virtio::Doorbell doorbell;
  bool kept = false;
  auto vq = setup_queue(common, index, 16, region, carver, &counters, kNoVector, &doorbell, &kept);
  auto* cmd = reinterpret_cast<uint8_t*>(carver.take(64, 64));
  if (!vq || cmd == nullptr) return false;
  mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  // {class, command} {le16 pairs} | {ack}
  cmd[0] = virtio::VIRTIO_NET_CTRL_MQ;
  cmd[1] = virtio::VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
  const uint16_t n = static_cast<uint16_t>(pairs);
  std::memcpy(cmd + 2, &n, 2);
  cmd[8] = 0xff;
  const uint64_t base = reinterpret_cast<uint64_t>(cmd);
  const virtio::BufferSegment segs[3] = {{base, 2, false}, {base + 2, 2, false}, {base + 8, 1, true}};
  if (vq->add_chain(segs, 1) != virtio::AddStatus::ok) return false;
  vq->publish();
  mmio_write<uint16_t>(reinterpret_cast<uint8_t*>(doorbell.mmio), index);  // always: the ring is new and the device polls nothing
  virtio::Completion done[1];
  for (int tries = 0; tries < 1000; ++tries) {
    if (vq->poll_used(done) == 1) {
      return std::atomic_ref<uint8_t>(cmd[8]).load(std::memory_order_acquire) == virtio::VIRTIO_NET_OK;
    }
    if ((mmio_read<uint8_t>(common + kDeviceStatus) & kNeedsReset) != 0) return false;
  }
  return false;
}

bool GuestNetDevice::start(const DeviceInfo& info, const SharedRegion& region, RegionCarver& carver,
                           PacketPool* const* pools, unsigned pairs, uint16_t queue_size, int rx_vector) {
  info_ = &info;
  bar_ = reinterpret_cast<uint8_t*>(info.bar_gpa);  // identity map: GPA == address
  uint8_t* common = bar_ + info.common_offset;
  mmio_write<uint8_t>(common + kDeviceStatus, 0);
  while (mmio_read<uint8_t>(common + kDeviceStatus) != 0) {
  }
  mmio_write<uint8_t>(common + kDeviceStatus, kAck);
  mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver);
  mmio_write<uint32_t>(common + kDeviceFeatureSelect, 0);
  uint64_t offered = mmio_read<uint32_t>(common + kDeviceFeature);
  mmio_write<uint32_t>(common + kDeviceFeatureSelect, 1);
  offered |= uint64_t{mmio_read<uint32_t>(common + kDeviceFeature)} << 32;
  uint64_t want = virtio::feature_bit(virtio::VIRTIO_F_VERSION_1) |
                  virtio::feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF) |
                  virtio::feature_bit(virtio::VIRTIO_NET_F_MAC);
  const uint64_t mq_bits = virtio::feature_bit(virtio::VIRTIO_NET_F_MQ) | virtio::feature_bit(virtio::VIRTIO_NET_F_CTRL_VQ);
  if (pairs > 1 && (offered & mq_bits) == mq_bits) want |= mq_bits;
  features_ = offered & want;
  if ((features_ & virtio::feature_bit(virtio::VIRTIO_F_VERSION_1)) == 0) {
    print("nfv guest: virtio-net device %#x does not offer VERSION_1\n", info.pci_bdf);
    mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver | kFailed);  // 2.1.1: FAILED added to the status
    return false;
  }
  mmio_write<uint32_t>(common + kDriverFeatureSelect, 0);
  mmio_write<uint32_t>(common + kDriverFeature, static_cast<uint32_t>(features_));
  mmio_write<uint32_t>(common + kDriverFeatureSelect, 1);
  mmio_write<uint32_t>(common + kDriverFeature, static_cast<uint32_t>(features_ >> 32));
  mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver | kFeaturesOk);
  if ((mmio_read<uint8_t>(common + kDeviceStatus) & kFeaturesOk) == 0) {
    print("nfv guest: virtio-net device %#x refused features %#lx\n", info.pci_bdf, features_);
    mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver | kFeaturesOk | kFailed);
    return false;
  }
  const bool mergeable = (features_ & virtio::feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF)) != 0;
  const bool mq = (features_ & mq_bits) == mq_bits;
  uint16_t max_pairs = 1;
  if (mq) {
    max_pairs = mmio_read<uint16_t>(bar_ + info.device_offset + kConfigMaxPairs);
    if (max_pairs == 0) max_pairs = 1;
  }
  unsigned n = pairs < max_pairs ? pairs : max_pairs;
  if (n > kMaxPairs) n = kMaxPairs;
  if (n == 0) n = 1;
  const bool msix = rx_vector >= 0 && setup_msix(static_cast<uint8_t>(rx_vector), n);
  rx_interrupts_ = 0;
  for (uint16_t q = 0; q < 2 * n; ++q) {
    const unsigned pair = q / 2;
    const bool is_rx = q % 2 == 0;
    // A receive queue may interrupt (MSI-X entry = its pair) when the runtime arms it to go
    // idle; transmit queues never do (completions are reclaimed by polling).
    const uint16_t vec = is_rx && msix ? static_cast<uint16_t>(pair) : kNoVector;
    virtio::Doorbell doorbell;
    bool kept = false;
    auto vq = setup_queue(common, q, queue_size, region, carver,
                          is_rx ? rx_[pair].ring_counters() : tx_[pair].ring_counters(), vec, &doorbell, &kept);
    if (!vq) return false;
    if (kept) rx_interrupts_ |= 1u << pair;
    if (is_rx) {
      rx_[pair].attach(std::move(*vq), *pools[pair], mergeable, doorbell);
    } else {
      tx_[pair].attach(std::move(*vq), region.data(), doorbell);
    }
  }
  pairs_ = 1;
  if (mq) {
    // set_pairs() sets DRIVER_OK itself once the control queue is enabled.
    if (n > 1 && set_pairs(common, region, carver, max_pairs, n)) {
      pairs_ = n;
    } else if (n > 1) {
      print("nfv guest: virtio-net device %#x refused %u queue pairs; using one\n", info.pci_bdf, n);
    }
    if ((mmio_read<uint8_t>(common + kDeviceStatus) & kDriverOk) == 0) {
      mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
    }
  } else {
    mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  }
  for (unsigned k = 0; k < pairs_; ++k) rx_[k].refill();
  return true;
}

}  // namespace nfv::guest
