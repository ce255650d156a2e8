// virtio-net device configuration layout and the features nfv-vmm offers.
//
// Source: virtio 1.2 section 5.1 "Network Device": 5.1.3 feature bits, 5.1.4
// "Device configuration layout" (struct virtio_net_config: mac, status,
// max_virtqueue_pairs, mtu; later fields are gated by features this VMM does
// not offer and are not exposed). Feature bit numbers come from the SDK
// (nfv/virtio/net.hpp, ring.hpp); only the ones the SDK does not define yet
// are defined here. The virtio-net backend (the VMM's vhost-user frontend)
// uses this struct as the bytes behind VIRTIO_PCI_CAP_DEVICE_CFG.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "nfv/virtio/net.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfv::vmm {

// 5.1.3: status field bit (with VIRTIO_NET_F_STATUS).
inline constexpr uint16_t VIRTIO_NET_S_LINK_UP = 1;

// 5.1.4 struct virtio_net_config (little-endian; packed: mac is 6 bytes).
struct VirtioNetConfig {
  std::array<uint8_t, 6> mac{};     // valid with VIRTIO_NET_F_MAC
  uint16_t status = 0;              // VIRTIO_NET_S_*, with VIRTIO_NET_F_STATUS
  uint16_t max_virtqueue_pairs = 1;  // with VIRTIO_NET_F_MQ
  uint16_t mtu = 0;                 // with VIRTIO_NET_F_MTU
};
static_assert(offsetof(VirtioNetConfig, status) == 6 && offsetof(VirtioNetConfig, max_virtqueue_pairs) == 8 &&
              offsetof(VirtioNetConfig, mtu) == 10 && sizeof(VirtioNetConfig) == 12);
inline constexpr uint32_t kVirtioNetConfigSize = sizeof(VirtioNetConfig);
inline constexpr uint16_t kVirtioNetDeviceType = 1;  // 5: device ID 1 -> PCI device 0x1041

// What nfv-vmm offers a guest: the ring features the SDK's driver uses and the
// vhost-user back-end (nfv-switch) supports, plus the config fields above.
// The backend ANDs this with what the vhost-user back-end offers.
inline constexpr uint64_t kVirtioNetOfferedFeatures =
    virtio::feature_bit(virtio::VIRTIO_F_VERSION_1) | virtio::feature_bit(virtio::VIRTIO_F_EVENT_IDX) |
    virtio::feature_bit(virtio::VIRTIO_F_INDIRECT_DESC) | virtio::feature_bit(virtio::VIRTIO_F_IN_ORDER) |
    virtio::feature_bit(virtio::VIRTIO_NET_F_MAC) | virtio::feature_bit(virtio::VIRTIO_NET_F_STATUS) |
    virtio::feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF) | virtio::feature_bit(virtio::VIRTIO_NET_F_MTU) |
    virtio::feature_bit(virtio::VIRTIO_NET_F_MQ);

// Reads config bytes [offset, offset+out.size()) into out; bytes past the
// structure read as zero. Safe for any offset/length.
inline void read_net_config(const VirtioNetConfig& cfg, uint32_t offset, std::span<uint8_t> out) {
  uint8_t bytes[kVirtioNetConfigSize];
  std::memcpy(bytes, &cfg, sizeof bytes);  // trivially copyable, little-endian host
  for (std::size_t i = 0; i < out.size(); ++i) {
    const uint64_t at = uint64_t{offset} + i;
    out[i] = at < sizeof bytes ? bytes[at] : 0;
  }
}

}  // namespace nfv::vmm
