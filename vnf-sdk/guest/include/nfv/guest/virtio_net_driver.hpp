// GuestNetDevice: the guest runtime's virtio-pci (modern) driver for one
// virtio-net device, on the SDK's own virtqueue classes with guest-physical
// addresses (identity-mapped, so a pointer is its own driver address).
//
// Bring-up (virtio 1.2 3.1.1, 4.1.5.1): reset, ACKNOWLEDGE, DRIVER, features
// (VERSION_1 and, when offered, MRG_RXBUF), FEATURES_OK (checked), receiveq1
// and transmitq1 (size min(256, max), rings carved from packet memory),
// DRIVER_OK. With `rx_vector` >= 0 the receive queue gets MSI-X entry 0, sent
// to that vector on this vCPU (for adaptive idle; notifications stay off until
// the run loop arms them); the transmit queue has no vector.
//
// Multiqueue (5.1.6.5.5): asked for `pairs` > 1 and offered VIRTIO_NET_F_MQ and
// VIRTIO_NET_F_CTRL_VQ, the driver negotiates both, sets up min(pairs,
// max_virtqueue_pairs) receive/transmit pairs (pair k on pool k) and the
// control queue (index 2 x max_virtqueue_pairs), and after DRIVER_OK sends
// VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET; if the device answers ERR it keeps one pair.
// Pair k's receive queue gets MSI-X entry k, sent to `rx_vector` on vCPU k (the
// worker that polls it halts there). The capability offsets come
// from BootInfo, so no PCI configuration cycle is needed. Every register
// access is a VM exit (~40 us on PVM): this runs once at boot; the data path
// touches only the rings in memory and, when the device asks, the doorbell
// (which KVM routes to an ioeventfd).
#pragma once

#include <cstdint>
#include <optional>

#include "nfv/guest/boot_abi.hpp"
#include "nfv/memory/shared_region.hpp"
#include "nfv/packet_pool.hpp"
#include "nfv/virtio/net_queue.hpp"

namespace nfv::guest {

class GuestNetDevice {
 public:
  // Returns false (after printing why) when the device refuses.
  static constexpr unsigned kMaxPairs = 8;
  bool start(const DeviceInfo& info, const SharedRegion& region, RegionCarver& carver, PacketPool& pool,
             uint16_t queue_size, int rx_vector = -1) {
    PacketPool* pools[1] = {&pool};
    return start(info, region, carver, pools, 1, queue_size, rx_vector);
  }
  // pools[k] feeds pair k; `pairs` (1 .. kMaxPairs) is what the caller wants.
  bool start(const DeviceInfo& info, const SharedRegion& region, RegionCarver& carver, PacketPool* const* pools,
             unsigned pairs, uint16_t queue_size, int rx_vector = -1);
  unsigned pairs() const noexcept { return pairs_; }  // queue pairs in use
  virtio::NetRxQueue& rx(unsigned pair = 0) noexcept { return rx_[pair]; }
  virtio::NetTxQueue& tx(unsigned pair = 0) noexcept { return tx_[pair]; }
  const virtio::NetRxQueue& rx(unsigned pair = 0) const noexcept { return rx_[pair]; }
  const virtio::NetTxQueue& tx(unsigned pair = 0) const noexcept { return tx_[pair]; }
  uint64_t features() const noexcept { return features_; }
  // Pair k's receive queue can interrupt (its MSI-X vector was accepted).
  bool rx_interrupts(unsigned pair = 0) const noexcept { return (rx_interrupts_ >> pair & 1) != 0; }
  // Device status register (one exit): NEEDS_RESET (0x40) means the device gave up.
  uint8_t status() const noexcept;

 private:
  uint8_t* bar_ = nullptr;
  const DeviceInfo* info_ = nullptr;
  bool setup_msix(uint8_t vector, unsigned entries);
  // Queue `index`: size min(the device's maximum, want_size), rings carved from packet
  // memory and touched once, MSI-X entry `vector` (0xffff: none), its addresses, enabled.
  // Empty (after printing why) on failure. *doorbell: its notify address; *vector_kept:
  // the device accepted the vector.
  std::optional<virtio::SplitVirtqueue> setup_queue(uint8_t* common, uint16_t index, uint16_t want_size,
                                                    const SharedRegion& region, RegionCarver& carver,
                                                    virtio::SplitQueueCounters* counters, uint16_t vector,
                                                    virtio::Doorbell* doorbell, bool* vector_kept);
  bool set_pairs(uint8_t* common, const SharedRegion& region, RegionCarver& carver, uint16_t max_pairs,
                 unsigned pairs);
  uint64_t features_ = 0;
  unsigned pairs_ = 1;
  uint32_t rx_interrupts_ = 0;  // bit k: pair k
  virtio::NetRxQueue rx_[kMaxPairs];
  virtio::NetTxQueue tx_[kMaxPairs];
};

}  // namespace nfv::guest
