// GuestNetDevice: the guest runtime's virtio-pci (modern) driver for one
// virtio-net device, on the SDK's own virtqueue classes with guest-physical
// addresses (identity-mapped, so a pointer is its own driver address).
//
// Bring-up (virtio 1.2 3.1.1, 4.1.5.1): reset, ACKNOWLEDGE, DRIVER, features
// (VERSION_1 and, when offered, MRG_RXBUF), FEATURES_OK (checked), receiveq1
// and transmitq1 (size min(256, max), rings carved from packet memory),
// DRIVER_OK. With `rx_vector` >= 0 the receive queue gets MSI-X entry 0, sent
// to that vector on this vCPU (for adaptive idle; notifications stay off until
// the run loop arms them); the transmit queue has no vector. The capability offsets come
// from BootInfo, so no PCI configuration cycle is needed. Every register
// access is a VM exit (~40 us on PVM): this runs once at boot; the data path
// touches only the rings in memory and, when the device asks, the doorbell
// (which KVM routes to an ioeventfd).
#pragma once

#include <cstdint>

#include "nfv/guest/boot_abi.hpp"
#include "nfv/memory/shared_region.hpp"
#include "nfv/packet_pool.hpp"
#include "nfv/virtio/net_queue.hpp"

namespace nfv::guest {

class GuestNetDevice {
 public:
  // Returns false (after printing why) when the device refuses.
  bool start(const DeviceInfo& info, const SharedRegion& region, RegionCarver& carver, PacketPool& pool,
             uint16_t queue_size, int rx_vector = -1);
  virtio::NetRxQueue& rx() noexcept { return rx_; }
  virtio::NetTxQueue& tx() noexcept { return tx_; }
  const virtio::NetRxQueue& rx() const noexcept { return rx_; }
  const virtio::NetTxQueue& tx() const noexcept { return tx_; }
  uint64_t features() const noexcept { return features_; }
  // The receive queue can interrupt (its MSI-X vector was accepted).
  bool rx_interrupts() const noexcept { return rx_interrupts_; }
  // Device status register (one exit): NEEDS_RESET (0x40) means the device gave up.
  uint8_t status() const noexcept;

 private:
  uint8_t* bar_ = nullptr;
  const DeviceInfo* info_ = nullptr;
  bool setup_msix(uint8_t vector);
  uint64_t features_ = 0;
  bool rx_interrupts_ = false;
  virtio::NetRxQueue rx_;
  virtio::NetTxQueue tx_;
};

}  // namespace nfv::guest
