// SplitVirtqueue: driver side of a virtio 1.2 split virtqueue (see the header).
#include "nfv/virtio/split_queue.hpp"

#include <atomic>
#include <cstring>
#include <string>

namespace nfv::virtio {
using split_queue_detail::load_relaxed;
using split_queue_detail::store_relaxed;

namespace {

// Reinterprets a byte offset of a caller-provided ring area as a ring field.
// Safe: create() checked the area is inside the caller's window, large enough
// for the queue size and aligned for the field type; the field types are
// trivially copyable integers/PODs living in plain shared memory.
template <typename T>
T* field(void* area, std::size_t offset) noexcept {
  return reinterpret_cast<T*>(static_cast<std::byte*>(area) + offset);
}

bool aligned(const void* p, std::size_t a) noexcept {
  return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0;
}

bool overlap(const void* a, std::size_t alen, const void* b, std::size_t blen) noexcept {
  auto x = reinterpret_cast<uintptr_t>(a);
  auto y = reinterpret_cast<uintptr_t>(b);
  return x < y + blen && y < x + alen;
}

Error config_error(std::string what) {
  return make_error(Errc::invalid_argument, "split virtqueue: " + std::move(what));
}

}  // namespace

bool DriverMemory::contains(const void* p, std::size_t len) const noexcept {
  // Compared as integers: p may point outside the window.
  auto base = reinterpret_cast<uintptr_t>(host);
  auto q = reinterpret_cast<uintptr_t>(p);
  return host != nullptr && q >= base && q - base <= size && len <= size - (q - base);
}

SplitQueueConfig contiguous_split_queue(uint32_t size, std::byte* block, const DriverMemory& memory,
                                        uint64_t features, std::size_t used_align) noexcept {
  const SplitRingLayout l = split_ring_layout(size, used_align);
  SplitQueueConfig c;
  c.size = size;
  c.desc = block + l.desc_offset;
  c.avail = block + l.avail_offset;
  c.used = block + l.used_offset;
  c.memory = memory;
  c.features = features;
  return c;
}

Result<SplitVirtqueue> SplitVirtqueue::create(const SplitQueueConfig& c) {
  if (!is_valid_queue_size(c.size)) {
    return config_error("queue size " + std::to_string(c.size) +
                        " is invalid; use a power of two from 1 to 32768 (virtio 1.2 section 2.7)");
  }
  const SplitRingLayout l = split_ring_layout(c.size);
  struct Area {
    const char* name;
    void* p;
    std::size_t len;
    std::size_t align;
  };
  const Area areas[3] = {{"descriptor table", c.desc, l.desc_size, kDescAlign},
                         {"available ring", c.avail, l.avail_size, kAvailAlign},
                         {"used ring", c.used, l.used_size, kUsedAlign}};
  for (const Area& a : areas) {
    if (a.p == nullptr) return config_error(std::string(a.name) + " pointer is null");
    if (!aligned(a.p, a.align)) {
      return config_error(std::string(a.name) + " is not " + std::to_string(a.align) + "-byte aligned");
    }
    if (!c.memory.contains(a.p, a.len)) {
      return config_error(std::string(a.name) + " (" + std::to_string(a.len) +
                          " bytes) is not inside the driver memory window; place it in the shared region");
    }
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = i + 1; j < 3; ++j) {
      if (overlap(areas[i].p, areas[i].len, areas[j].p, areas[j].len)) {
        return config_error(std::string(areas[i].name) + " overlaps the " + areas[j].name);
      }
    }
  }

  SplitVirtqueue q;
  q.size_ = c.size;
  q.mask_ = static_cast<uint16_t>(c.size - 1);
  q.num_free_ = c.size;
  q.event_idx_ = (c.features & feature_bit(VIRTIO_F_EVENT_IDX)) != 0;
  q.in_order_ = (c.features & feature_bit(VIRTIO_F_IN_ORDER)) != 0;
  if (c.counters != nullptr) {
    q.counters_ = c.counters;
  } else {
    q.own_counters_ = std::make_unique<SplitQueueCounters>();
    q.counters_ = q.own_counters_.get();
  }
  // The driver initialises the rings before DRIVER_OK (2.7.13: idx starts at 0).
  for (const Area& a : areas) std::memset(a.p, 0, a.len);
  q.desc_ = static_cast<VirtqDesc*>(c.desc);
  q.avail_flags_ = field<uint16_t>(c.avail, kAvailFlagsOffset);
  q.avail_idx_ = field<uint16_t>(c.avail, kAvailIdxOffset);
  q.avail_ring_ = field<uint16_t>(c.avail, kAvailRingOffset);
  q.used_event_ = field<uint16_t>(c.avail, avail_used_event_offset(c.size));
  q.used_flags_ = field<uint16_t>(c.used, kUsedFlagsOffset);
  q.used_idx_ = field<uint16_t>(c.used, kUsedIdxOffset);
  q.used_ring_ = field<VirtqUsedElem>(c.used, kUsedRingOffset);
  q.avail_event_ = field<uint16_t>(c.used, used_avail_event_offset(c.size));
  q.desc_addr_ = c.memory.to_driver(c.desc);
  q.avail_addr_ = c.memory.to_driver(c.avail);
  q.used_addr_ = c.memory.to_driver(c.used);
  // Free list: 0 -> 1 -> ... -> size-1 (-> 0). In in-order mode the links are
  // never changed: descriptors go out and come back in ring order.
  q.state_.resize(c.size);
  for (uint32_t i = 0; i < c.size; ++i) q.state_[i].next = static_cast<uint16_t>((i + 1) & q.mask_);
  return q;
}

AddStatus SplitVirtqueue::add_chain(std::span<const BufferSegment> segments, uint64_t token) noexcept {
  const std::size_t n = segments.size();
  bool seen_writable = false;
  bool order_ok = true;
  for (const BufferSegment& s : segments) {
    order_ok = order_ok && (s.writable || !seen_writable);  // 2.7.4.2: readable first
    seen_writable = seen_writable || s.writable;
  }
  if (n == 0 || n > size_ || !order_ok) {
    ++counters_->bad_chains;
    return AddStatus::bad_chain;
  }
  if (n > num_free_) {
    ++counters_->ring_full;
    return AddStatus::ring_full;
  }
  const uint16_t head = take_descriptors(static_cast<uint32_t>(n));
  uint16_t d = head;
  uint64_t writable_len = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const BufferSegment& s = segments[i];
    const bool last = i + 1 == n;
    const uint16_t next = state_[d].next;  // the free list links are the chain links
    uint16_t flags = s.writable ? VIRTQ_DESC_F_WRITE : uint16_t{0};
    if (!last) flags |= VIRTQ_DESC_F_NEXT;
    desc_[d] = VirtqDesc{s.addr, s.len, flags, last ? uint16_t{0} : next};
    if (s.writable) writable_len += s.len;
    d = next;
  }
  state_[head].token = token;
  state_[head].writable_len = writable_len;
  expose(head, static_cast<uint16_t>(n));
  return AddStatus::ok;
}

bool SplitVirtqueue::set_interrupts(bool enable) noexcept {
  if (!enable) {
    if (event_idx_) {
      // 2.7.7: with EVENT_IDX the flags stay 0; put used_event just behind the
      // device so it is not crossed until the used index wraps.
      store_relaxed(used_event_, static_cast<uint16_t>(last_used_ - 1));
    } else {
      avail_flags_shadow_ |= VRING_AVAIL_F_NO_INTERRUPT;
      store_relaxed(avail_flags_, avail_flags_shadow_);
    }
    return false;
  }
  if (event_idx_) {
    store_relaxed(used_event_, last_used_);  // interrupt on the next used entry
  } else {
    avail_flags_shadow_ &= static_cast<uint16_t>(~VRING_AVAIL_F_NO_INTERRUPT);
    store_relaxed(avail_flags_, avail_flags_shadow_);
  }
  // Full fence: the re-enable must be visible before we re-read used->idx, or
  // a completion landing in between is neither seen here nor interrupted.
  split_queue_detail::full_barrier();
  return std::atomic_ref<uint16_t>(*used_idx_).load(std::memory_order_acquire) != last_used_;
}

}  // namespace nfv::virtio
