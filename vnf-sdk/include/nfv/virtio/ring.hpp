// Split virtqueue memory layout, flags and feature bits.
//
// Source: virtio 1.2, section 2.7 "Split Virtqueues":
//   2.7.5  The Virtqueue Descriptor Table   (16 bytes per descriptor, 16-byte aligned)
//   2.7.6  The Virtqueue Available Ring     (flags, idx, ring[N], used_event; 2-byte aligned)
//   2.7.8  The Virtqueue Used Ring          (flags, idx, ring[N]{id,len}, avail_event; 4-byte aligned)
//   2.7.7.2 / 2.7.10 notification suppression and vring_need_event()
// Feature bits: section 6 "Reserved Feature Bits".
//
// Byte order: virtio 1.x rings are little-endian; this project builds for
// little-endian hosts only, so the structs below are the in-memory format.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace nfv::virtio {

static_assert(std::endian::native == std::endian::little,
              "virtio 1.x rings are little-endian; add byte swaps for big-endian hosts");

// ---- Descriptor flags (2.7.5) -------------------------------------------------
inline constexpr uint16_t VIRTQ_DESC_F_NEXT = 1;      // chain continues in `next`
inline constexpr uint16_t VIRTQ_DESC_F_WRITE = 2;     // device writes (otherwise device reads)
inline constexpr uint16_t VIRTQ_DESC_F_INDIRECT = 4;  // buffer holds a descriptor table (2.7.5.3)

// ---- Ring flags (2.7.6, 2.7.8) ------------------------------------------------
inline constexpr uint16_t VRING_AVAIL_F_NO_INTERRUPT = 1;  // driver: do not interrupt me
inline constexpr uint16_t VRING_USED_F_NO_NOTIFY = 1;      // device: do not kick me

// ---- Feature bit numbers (6) --------------------------------------------------
inline constexpr unsigned VIRTIO_F_INDIRECT_DESC = 28;
inline constexpr unsigned VIRTIO_F_EVENT_IDX = 29;
inline constexpr unsigned VIRTIO_F_VERSION_1 = 32;
inline constexpr unsigned VIRTIO_F_IN_ORDER = 35;

constexpr uint64_t feature_bit(unsigned bit_number) noexcept { return uint64_t{1} << bit_number; }

// Largest split queue size (2.7: "Queue Size ... maximum is 32768").
inline constexpr uint32_t kMaxQueueSize = 32768;

// ---- Ring elements ------------------------------------------------------------
struct VirtqDesc {
  uint64_t addr;  // driver address of the buffer
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(VirtqDesc) == 16);

struct VirtqUsedElem {
  uint32_t id;   // head descriptor index of the used chain (u32 on the wire, u16 range)
  uint32_t len;  // bytes the device wrote into the chain's writable part
};
static_assert(sizeof(VirtqUsedElem) == 8);

// Byte offsets inside the available area: { u16 flags; u16 idx; u16 ring[N]; u16 used_event; }
inline constexpr std::size_t kAvailFlagsOffset = 0;
inline constexpr std::size_t kAvailIdxOffset = 2;
inline constexpr std::size_t kAvailRingOffset = 4;
constexpr std::size_t avail_used_event_offset(uint32_t queue_size) noexcept {
  return kAvailRingOffset + 2 * std::size_t{queue_size};
}

// Byte offsets inside the used area: { u16 flags; u16 idx; VirtqUsedElem ring[N]; u16 avail_event; }
inline constexpr std::size_t kUsedFlagsOffset = 0;
inline constexpr std::size_t kUsedIdxOffset = 2;
inline constexpr std::size_t kUsedRingOffset = 4;
constexpr std::size_t used_avail_event_offset(uint32_t queue_size) noexcept {
  return kUsedRingOffset + 8 * std::size_t{queue_size};
}

// ---- Layout ---------------------------------------------------------------------
inline constexpr std::size_t kDescAlign = 16;
inline constexpr std::size_t kAvailAlign = 2;
inline constexpr std::size_t kUsedAlign = 4;
inline constexpr std::size_t kLegacyUsedAlign = 4096;  // 2.7.2 legacy interfaces: used on its own page
// What the SDK's ports use: the used ring on its own page, so that the
// device's used-ring stores never share a cache line (or the adjacent line an
// x86 spatial prefetcher pairs with it) with the driver's avail-ring stores.
// Measured: sharing one line cost the vhost-user back-end ~40% of its rate.
inline constexpr std::size_t kSeparateUsedAlign = 4096;

// Sizes and offsets of the three areas when they are placed one after the
// other in one block (desc at 0). Sizes include the event-idx fields, which
// 2.7 says are always present in the layout whether or not EVENT_IDX is
// negotiated.
struct SplitRingLayout {
  uint32_t queue_size;
  std::size_t desc_offset;
  std::size_t desc_size;
  std::size_t avail_offset;
  std::size_t avail_size;
  std::size_t used_offset;
  std::size_t used_size;
  std::size_t total_size;  // end of the used area
};

constexpr std::size_t align_up(std::size_t v, std::size_t a) noexcept { return (v + a - 1) & ~(a - 1); }

// `used_align` is kUsedAlign for virtio 1.x (and vhost-user, which takes
// three separate addresses) or kLegacyUsedAlign for the legacy single-PFN
// layout. The caller must place the block at a kDescAlign-aligned address.
constexpr SplitRingLayout split_ring_layout(uint32_t queue_size,
                                            std::size_t used_align = kUsedAlign) noexcept {
  SplitRingLayout l{};
  l.queue_size = queue_size;
  l.desc_offset = 0;
  l.desc_size = sizeof(VirtqDesc) * std::size_t{queue_size};
  l.avail_offset = align_up(l.desc_offset + l.desc_size, kAvailAlign);
  l.avail_size = avail_used_event_offset(queue_size) + 2;
  l.used_offset = align_up(l.avail_offset + l.avail_size, used_align);
  l.used_size = used_avail_event_offset(queue_size) + 2;
  l.total_size = l.used_offset + l.used_size;
  return l;
}

constexpr bool is_valid_queue_size(uint32_t n) noexcept {
  return n != 0 && n <= kMaxQueueSize && std::has_single_bit(n);
}

// 2.7.10 / 2.7.7.2: with EVENT_IDX, the other side wants an event when the
// index moves from old_idx to new_idx past event_idx, i.e. when event_idx is
// in [old_idx, new_idx) modulo 2^16.
constexpr bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) noexcept {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

}  // namespace nfv::virtio
