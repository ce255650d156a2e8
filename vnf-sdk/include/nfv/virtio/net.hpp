// virtio-net: feature bits and the per-packet header.
//
// Source: virtio 1.2 section 5.1 "Network Device": 5.1.3 feature bits,
// 5.1.6 "Device Operation" (struct virtio_net_hdr), 5.1.6.3.1 / 5.1.6.4
// (mergeable receive buffers: num_buffers). With VIRTIO_F_VERSION_1 the header
// is always 12 bytes (num_buffers is present whether or not MRG_RXBUF is
// negotiated); this SDK requires VERSION_1, so there is one header layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nfv/virtio/ring.hpp"

namespace nfv::virtio {

// ---- virtio-net feature bit numbers (5.1.3) -----------------------------------
inline constexpr unsigned VIRTIO_NET_F_CSUM = 0;
inline constexpr unsigned VIRTIO_NET_F_GUEST_CSUM = 1;
inline constexpr unsigned VIRTIO_NET_F_MTU = 3;
inline constexpr unsigned VIRTIO_NET_F_MAC = 5;
inline constexpr unsigned VIRTIO_NET_F_MRG_RXBUF = 15;
inline constexpr unsigned VIRTIO_NET_F_STATUS = 16;
inline constexpr unsigned VIRTIO_NET_F_CTRL_VQ = 17;
inline constexpr unsigned VIRTIO_NET_F_MQ = 22;

// ---- control virtqueue (5.1.6.5): the multiqueue class and the ack values --------
inline constexpr uint8_t VIRTIO_NET_CTRL_MQ = 4;
inline constexpr uint8_t VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET = 0;
inline constexpr uint8_t VIRTIO_NET_OK = 0;
inline constexpr uint8_t VIRTIO_NET_ERR = 1;

// ---- struct virtio_net_hdr (5.1.6) --------------------------------------------
struct VirtioNetHeader {
  uint8_t flags;        // VIRTIO_NET_HDR_F_*
  uint8_t gso_type;     // VIRTIO_NET_HDR_GSO_*
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
  uint16_t num_buffers;  // receive: buffers this packet spans (mergeable)
};
static_assert(sizeof(VirtioNetHeader) == 12);
inline constexpr uint32_t kNetHeaderSize = sizeof(VirtioNetHeader);
inline constexpr std::size_t kNumBuffersOffset = 10;

inline constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
inline constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;

// Virtqueue numbering (5.1.2): receiveq1, transmitq1, ..., receiveqN, transmitqN.
constexpr uint32_t rx_queue_index(uint32_t pair) noexcept { return 2 * pair; }
constexpr uint32_t tx_queue_index(uint32_t pair) noexcept { return 2 * pair + 1; }

}  // namespace nfv::virtio
