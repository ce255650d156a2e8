// SplitVirtqueue: driver side of a virtio 1.2 split virtqueue (see the header).
#include "nfv/virtio/split_queue.hpp"

#include <atomic>
#include <cstring>
#include <string>

namespace nfv::virtio {
namespace {

// The rings live in memory the device writes concurrently; every access to a
// field the other side reads or writes goes through std::atomic_ref so that
// the compiler loads/stores it exactly once. The fields are naturally aligned
// (checked in create()), which is all atomic_ref<uint16_t/uint32_t> requires.
uint16_t load_relaxed(uint16_t* p) noexcept {
  return std::atomic_ref<uint16_t>(*p).load(std::memory_order_relaxed);
}
uint32_t load_relaxed(uint32_t* p) noexcept {
  return std::atomic_ref<uint32_t>(*p).load(std::memory_order_relaxed);
}
void store_relaxed(uint16_t* p, uint16_t v) noexcept {
  std::atomic_ref<uint16_t>(*p).store(v, std::memory_order_relaxed);
}

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

uint32_t clamp_u32(uint64_t v) noexcept { return v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v); }

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
                                        uint64_t features) noexcept {
  const SplitRingLayout l = split_ring_layout(size);
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

uint16_t SplitVirtqueue::take_descriptors(uint32_t n) noexcept {
  const uint16_t head = free_head_;
  if (in_order_) {
    free_head_ = static_cast<uint16_t>((head + n) & mask_);
  } else {
    uint16_t tail = head;
    for (uint32_t i = 1; i < n; ++i) tail = state_[tail].next;
    free_head_ = state_[tail].next;
  }
  num_free_ -= n;
  return head;
}

void SplitVirtqueue::expose(uint16_t head, uint16_t chain_len) noexcept {
  DescState& s = state_[head];
  s.chain_len = chain_len;
  s.avail_pos = avail_shadow_;
  s.in_flight_head = true;
  // Plain-ordered store: the device reads this slot only after it observes the
  // release store of avail->idx in publish().
  store_relaxed(&avail_ring_[avail_shadow_ & mask_], head);
  ++avail_shadow_;
  ++in_flight_;
  ++counters_->added;
}

AddStatus SplitVirtqueue::add_buffer(uint64_t addr, uint32_t len, bool writable, uint64_t token) noexcept {
  if (num_free_ == 0) {
    ++counters_->ring_full;
    return AddStatus::ring_full;
  }
  const uint16_t head = take_descriptors(1);
  desc_[head] = VirtqDesc{addr, len, writable ? VIRTQ_DESC_F_WRITE : uint16_t{0}, 0};
  state_[head].token = token;
  state_[head].writable_len = writable ? len : 0;
  expose(head, 1);
  return AddStatus::ok;
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

bool SplitVirtqueue::publish() noexcept {
  const uint16_t old_idx = avail_published_;
  const uint16_t new_idx = avail_shadow_;
  if (old_idx == new_idx) return false;
  // Release: the descriptors and avail ring slots written by add_*() become
  // visible to the device no later than the new index (2.7.13.3).
  std::atomic_ref<uint16_t>(*avail_idx_).store(new_idx, std::memory_order_release);
  avail_published_ = new_idx;
  counters_->published += static_cast<uint16_t>(new_idx - old_idx);
  // Full fence: our idx store must be visible before we read the device's
  // suppression state; otherwise the device may go to sleep after reading the
  // old idx while we read its stale "don't notify" and skip the kick (2.7.13.4).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool need;
  if (event_idx_) {
    need = vring_need_event(load_relaxed(avail_event_), new_idx, old_idx);
  } else {
    need = (load_relaxed(used_flags_) & VRING_USED_F_NO_NOTIFY) == 0;
  }
  if (need) ++counters_->notifies;
  return need;
}

bool SplitVirtqueue::completable(uint32_t id) const noexcept {
  if (id >= size_) return false;
  const DescState& s = state_[id];
  // A head added but not yet published is not the device's to complete.
  const uint16_t unpublished = static_cast<uint16_t>(avail_shadow_ - avail_published_);
  return s.in_flight_head && static_cast<uint16_t>(s.avail_pos - avail_published_) >= unpublished;
}

uint32_t SplitVirtqueue::checked_len(uint16_t head, uint32_t len) noexcept {
  if (len > state_[head].writable_len) {
    ++counters_->bad_used_lens;  // the device claims to have written past the buffer
    return 0;
  }
  return len;
}

std::size_t SplitVirtqueue::poll_used(std::span<Completion> out) noexcept {
  if (needs_reset_ || out.empty()) return 0;
  // Acquire: the used entries the device wrote before storing idx are visible
  // to the loads below (2.7.14, pairs with the device's release of used->idx).
  const uint16_t used_idx = std::atomic_ref<uint16_t>(*used_idx_).load(std::memory_order_acquire);
  if (static_cast<uint16_t>(used_idx - last_used_) > size_) {
    // More entries than the ring holds: the device is broken or hostile and
    // the ring content is meaningless. Stop until the owner resets the queue.
    ++counters_->bad_used_index;
    needs_reset_ = true;
    return 0;
  }
  return in_order_ ? poll_in_order(out, used_idx) : poll_any_order(out, used_idx);
}

std::size_t SplitVirtqueue::poll_any_order(std::span<Completion> out, uint16_t used_idx) noexcept {
  std::size_t n = 0;
  while (last_used_ != used_idx && n < out.size()) {
    VirtqUsedElem& e = used_ring_[last_used_ & mask_];
    const uint32_t id = load_relaxed(&e.id);  // read once: the device may rewrite it
    const uint32_t len = load_relaxed(&e.len);
    ++last_used_;
    if (!completable(id)) {
      ++counters_->bad_used_ids;  // out of range, duplicate, or never published
      continue;
    }
    const auto head = static_cast<uint16_t>(id);
    DescState& s = state_[head];
    out[n++] = Completion{s.token, checked_len(head, len)};
    s.in_flight_head = false;
    // Return the chain to the free list: walk the driver's own links (bounded
    // by chain_len <= size) to the tail and splice the chain in front.
    uint16_t tail = head;
    for (uint32_t i = 1; i < s.chain_len; ++i) tail = state_[tail].next;
    state_[tail].next = free_head_;
    free_head_ = head;
    num_free_ += s.chain_len;
    --in_flight_;
  }
  counters_->completed += n;
  return n;
}

std::size_t SplitVirtqueue::poll_in_order(std::span<Completion> out, uint16_t used_idx) noexcept {
  std::size_t n = 0;
  while (last_used_ != used_idx && n < out.size()) {
    VirtqUsedElem& e = used_ring_[last_used_ & mask_];
    const uint32_t id = load_relaxed(&e.id);
    const uint32_t len = load_relaxed(&e.len);
    if (!completable(id)) {
      ++counters_->bad_used_ids;
      ++last_used_;
      continue;
    }
    // 2.7.9: this entry completes every in-flight buffer up to and including
    // `id`. In-flight heads form one sequence from in_order_next_head_, and id
    // is one of them, so the walk ends at id after at most in_flight_ steps.
    // If `out` fills first, the entry stays unconsumed and the next call resumes.
    while (n < out.size()) {
      const uint16_t h = in_order_next_head_;
      DescState& s = state_[h];
      const bool last = h == id;
      out[n++] = Completion{s.token, last ? checked_len(h, len) : clamp_u32(s.writable_len)};
      s.in_flight_head = false;
      in_order_next_head_ = static_cast<uint16_t>((h + s.chain_len) & mask_);
      num_free_ += s.chain_len;
      --in_flight_;
      if (last) {
        ++last_used_;
        break;
      }
    }
  }
  counters_->completed += n;
  return n;
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
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return std::atomic_ref<uint16_t>(*used_idx_).load(std::memory_order_acquire) != last_used_;
}

}  // namespace nfv::virtio
