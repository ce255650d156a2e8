// GuestNetDevice (see the header).
#include "nfv/guest/virtio_net_driver.hpp"

#include <atomic>

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
constexpr uint8_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kFailed = 0x80;
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

// MSI-X entry 0 -> `vector` on this vCPU, MSI-X enabled in configuration space. False
// when the function has no MSI-X (the device is then polled only).
bool GuestNetDevice::setup_msix(uint8_t vector) {
  if (info_->msix_vectors == 0 || !interrupts_ready()) return false;
  const uint8_t cap = pci_find_capability(info_->pci_bdf, kPciCapMsix);
  if (cap == 0) return false;
  uint8_t* entry = bar_ + info_->msix_table_offset;  // entry 0: address lo/hi, data, control
  const uint64_t address = msi_address();
  mmio_write<uint32_t>(entry + 0, static_cast<uint32_t>(address));
  mmio_write<uint32_t>(entry + 4, static_cast<uint32_t>(address >> 32));
  mmio_write<uint32_t>(entry + 8, vector);
  mmio_write<uint32_t>(entry + 12, 0);  // unmasked
  const uint32_t head = pci_config_read32(info_->pci_bdf, cap);
  pci_config_write32(info_->pci_bdf, cap, (head | kMsixEnable) & ~(1u << 30));  // enable, no function mask
  return (pci_config_read32(info_->pci_bdf, cap) & kMsixEnable) != 0;
}

bool GuestNetDevice::start(const DeviceInfo& info, const SharedRegion& region, RegionCarver& carver, PacketPool& pool,
                           uint16_t queue_size, int rx_vector) {
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
  const uint64_t want = virtio::feature_bit(virtio::VIRTIO_F_VERSION_1) |
                        virtio::feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF) |
                        virtio::feature_bit(virtio::VIRTIO_NET_F_MAC);
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
  const bool msix = rx_vector >= 0 && setup_msix(static_cast<uint8_t>(rx_vector));
  for (uint16_t q = 0; q < 2; ++q) {
    mmio_write<uint16_t>(common + kQueueSelect, q);
    const uint16_t max = mmio_read<uint16_t>(common + kQueueSize);
    const uint16_t size = max < queue_size ? max : queue_size;
    const virtio::SplitRingLayout layout = virtio::split_ring_layout(size, virtio::kSeparateUsedAlign);
    std::byte* block = carver.take(layout.total_size, 4096);
    if (size == 0 || block == nullptr) {
      print("nfv guest: no room for queue %u (size %u)\n", q, size);
      return false;
    }
    pretouch(block, layout.total_size);
    virtio::SplitQueueConfig qc =
        virtio::contiguous_split_queue(size, block, region.driver_memory(), features_, virtio::kSeparateUsedAlign);
    qc.counters = q == 0 ? rx_.ring_counters() : tx_.ring_counters();
    auto vq = virtio::SplitVirtqueue::create(qc);
    if (!vq) {
      print("nfv guest: queue %u: %s\n", q, vq.error().message.c_str());
      return false;
    }
    mmio_write<uint16_t>(common + kQueueSize, size);
    // The receive queue may interrupt (MSI-X entry 0) when the runtime arms it to go idle;
    // the transmit queue never does (completions are reclaimed by polling).
    const uint16_t vec = q == 0 && msix ? 0 : kNoVector;
    mmio_write<uint16_t>(common + kQueueMsixVector, vec);
    if (q == 0) rx_interrupts_ = vec != kNoVector && mmio_read<uint16_t>(common + kQueueMsixVector) == vec;
    vq->set_interrupts(false);  // polling until the run loop arms them
    mmio_write<uint64_t>(common + kQueueDesc, vq->desc_driver_addr());
    mmio_write<uint64_t>(common + kQueueDriver, vq->avail_driver_addr());
    mmio_write<uint64_t>(common + kQueueDevice, vq->used_driver_addr());
    const uint16_t notify_off = mmio_read<uint16_t>(common + kQueueNotifyOff);
    auto* doorbell = reinterpret_cast<uint16_t*>(bar_ + info.notify_offset + uint64_t{notify_off} * info.notify_multiplier);
    mmio_write<uint16_t>(common + kQueueEnable, 1);
    if (q == 0) {
      rx_.attach(std::move(*vq), pool, mergeable, virtio::Doorbell(doorbell, q));
    } else {
      tx_.attach(std::move(*vq), region.data(), virtio::Doorbell(doorbell, q));
    }
  }
  mmio_write<uint8_t>(common + kDeviceStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  rx_.refill();
  return true;
}

}  // namespace nfv::guest
