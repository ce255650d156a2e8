// SplitVirtqueue: the DRIVER side of a virtio 1.2 split virtqueue (section 2.7).
//
// The queue drives rings in memory the caller provides and shares with the
// device: a vhost-user backend (host process mode: one memfd region) or a VMM
// (guest mode: guest RAM). Addresses written into descriptors and reported
// for SET_VRING_ADDR are "driver addresses": for a process, a fixed base plus
// the offset in the shared region; for a guest, the guest-physical address.
// DriverMemory says how a pointer in this process becomes a driver address.
//
// Data path (all noexcept, no allocation, lock, exception or log):
//   add_buffer()/add_chain()  write descriptors and avail ring slots (2.7.13)
//   publish()                 ONE release store of avail->idx, returns "kick?"
//                             (2.7.13.3-4: VRING_USED_F_NO_NOTIFY or avail_event)
//   poll_used()               acquire load of used->idx, validate, free (2.7.14)
//   set_interrupts()          VRING_AVAIL_F_NO_INTERRUPT or used_event (2.7.7)
//
// The device is hostile: the driver keeps its own copy of every chain (head,
// length, writable bytes) and never reads descriptors back from shared
// memory. A used entry with an id out of range or not in flight (duplicate) is
// counted and skipped; a len above the chain's writable bytes is counted and
// completed with len 0 (the buffer comes back, the data is dropped); a used
// index that runs more than the queue size ahead marks the queue needs_reset().
//
// VIRTIO_F_IN_ORDER (2.7.9): descriptors are handed out in ring order, and one
// used entry completes every in-flight buffer up to it; earlier buffers of such
// a batch report their full writable length (the device used them entirely).
//
// Counters: see SplitQueueCounters. Single-threaded: one owner thread drives a
// queue (the device is the only other party).
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nfv/counter.hpp"
#include "nfv/result.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfv::virtio {

// A window of this process's memory and the driver address of its first byte.
struct DriverMemory {
  std::byte* host = nullptr;
  uint64_t driver_base = 0;
  std::size_t size = 0;

  bool contains(const void* p, std::size_t len) const noexcept;
  // Precondition: contains(p, 0). Pointer difference inside one window.
  uint64_t to_driver(const void* p) const noexcept {
    return driver_base + static_cast<uint64_t>(static_cast<const std::byte*>(p) - host);
  }
};

struct SplitQueueCounters;

struct SplitQueueConfig {
  uint32_t size = 0;      // power of two, 1..32768
  void* desc = nullptr;   // descriptor table, 16-byte aligned, 16*size bytes
  void* avail = nullptr;  // available ring, 2-byte aligned, 6+2*size bytes
  void* used = nullptr;   // used ring, 4-byte aligned, 6+8*size bytes
  DriverMemory memory;    // must contain the three areas
  uint64_t features = 0;  // negotiated; EVENT_IDX and IN_ORDER change behaviour
  // Where to count (must outlive the queue), e.g. to keep totals across
  // re-created queues; null: the queue keeps its own.
  SplitQueueCounters* counters = nullptr;
};

// Builds a config for the three areas laid out by split_ring_layout(size, used_align) at `block`.
SplitQueueConfig contiguous_split_queue(uint32_t size, std::byte* block, const DriverMemory& memory,
                                        uint64_t features, std::size_t used_align = kUsedAlign) noexcept;

// One buffer of a chain. Device-readable segments must come before
// device-writable ones (2.7.4.2).
struct BufferSegment {
  uint64_t addr;  // driver address
  uint32_t len;
  bool writable;  // device writes into it
};

struct Completion {
  uint64_t token;  // what the caller passed to add_*
  uint32_t len;    // bytes written by the device (validated)
};

enum class AddStatus : uint8_t {
  ok,
  ring_full,  // not enough free descriptors: poll_used() first
  bad_chain,  // empty chain, longer than the queue, or writable before readable
};

struct SplitQueueCounters {
  Counter added = 0;           // buffers handed to add_* successfully
  Counter published = 0;       // buffers made visible by publish()
  Counter notifies = 0;        // publish() calls that asked for a kick
  Counter completed = 0;       // buffers returned by poll_used()
  Counter ring_full = 0;       // add_* refused: no free descriptors
  Counter bad_chains = 0;      // add_chain refused: malformed chain (caller bug)
  Counter bad_used_ids = 0;    // used id out of range or not in flight (incl. duplicates)
  Counter bad_used_lens = 0;   // used len above the chain's writable bytes
  Counter bad_used_index = 0;  // used->idx ran more than the queue size ahead
};

class SplitVirtqueue {
 public:
  // Cold: validates the config, zeroes the three areas, allocates per-descriptor state.
  static Result<SplitVirtqueue> create(const SplitQueueConfig& config);

  // ---- data path ----
  AddStatus add_buffer(uint64_t addr, uint32_t len, bool writable, uint64_t token) noexcept;
  AddStatus add_chain(std::span<const BufferSegment> segments, uint64_t token) noexcept;
  // Makes every buffer added since the last publish() visible; true when the
  // device asked to be notified (kick its eventfd / doorbell).
  bool publish() noexcept;
  // Returns how many completions were written to `out` (at most out.size()).
  std::size_t poll_used(std::span<Completion> out) noexcept;
  // Enables or suppresses used-buffer notifications. After enabling, returns
  // true if completions are already pending (poll again before sleeping).
  bool set_interrupts(bool enable) noexcept;

  // Calls f(token) for every buffer still in flight (added and not
  // completed), e.g. to free them once the device has gone away. No allocation.
  template <typename F>
  void for_each_in_flight(F&& f) const {
    for (const DescState& s : state_) {
      if (s.in_flight_head) f(s.token);
    }
  }

  // ---- state ----
  uint32_t size() const noexcept { return size_; }
  uint32_t num_free() const noexcept { return num_free_; }
  uint32_t in_flight_buffers() const noexcept { return in_flight_; }
  bool event_idx() const noexcept { return event_idx_; }
  bool in_order() const noexcept { return in_order_; }
  bool needs_reset() const noexcept { return needs_reset_; }
  uint16_t next_avail_idx() const noexcept { return avail_shadow_; }  // for SET_VRING_BASE
  uint16_t last_used_idx() const noexcept { return last_used_; }
  uint64_t desc_driver_addr() const noexcept { return desc_addr_; }
  uint64_t avail_driver_addr() const noexcept { return avail_addr_; }
  uint64_t used_driver_addr() const noexcept { return used_addr_; }
  const SplitQueueCounters& counters() const noexcept { return *counters_; }

 private:
  // Driver-private per-descriptor state; never read back from shared memory.
  struct DescState {
    uint64_t token;
    uint64_t writable_len;  // sum of writable segment lengths (heads only)
    uint16_t next;          // free list link, or chain link while in flight
    uint16_t chain_len;     // descriptors in the chain (heads only)
    uint16_t avail_pos;     // avail index the head was exposed at (heads only)
    bool in_flight_head;
  };

  SplitVirtqueue() = default;
  uint16_t take_descriptors(uint32_t n) noexcept;           // precondition: 1 <= n <= num_free_
  void expose(uint16_t head, uint16_t chain_len) noexcept;  // writes the avail ring slot
  bool completable(uint32_t id) const noexcept;             // in range, in flight and published
  uint32_t checked_len(uint16_t head, uint32_t len) noexcept;
  std::size_t poll_any_order(std::span<Completion> out, uint16_t used_idx) noexcept;
  std::size_t poll_in_order(std::span<Completion> out, uint16_t used_idx) noexcept;

  VirtqDesc* desc_ = nullptr;
  uint16_t* avail_flags_ = nullptr;
  uint16_t* avail_idx_ = nullptr;
  uint16_t* avail_ring_ = nullptr;
  uint16_t* used_event_ = nullptr;
  uint16_t* used_flags_ = nullptr;
  uint16_t* used_idx_ = nullptr;
  VirtqUsedElem* used_ring_ = nullptr;
  uint16_t* avail_event_ = nullptr;

  std::vector<DescState> state_;
  uint32_t size_ = 0;
  uint16_t mask_ = 0;
  uint32_t num_free_ = 0;
  uint32_t in_flight_ = 0;     // buffers (chains) added and not completed
  uint16_t free_head_ = 0;     // any order: LIFO free list head; in order: next descriptor
  uint16_t avail_shadow_ = 0;  // avail idx including unpublished buffers
  uint16_t avail_published_ = 0;
  uint16_t last_used_ = 0;
  uint16_t in_order_next_head_ = 0;  // in order: oldest in-flight head
  uint16_t avail_flags_shadow_ = 0;
  bool event_idx_ = false;
  bool in_order_ = false;
  bool needs_reset_ = false;
  uint64_t desc_addr_ = 0;
  uint64_t avail_addr_ = 0;
  uint64_t used_addr_ = 0;
  std::unique_ptr<SplitQueueCounters> own_counters_;
  SplitQueueCounters* counters_ = nullptr;
};

// ---- data path, defined here so that callers in other files inline it ----

namespace split_queue_detail {
// The rings live in memory the device writes concurrently; every access to a
// field the other side reads or writes goes through std::atomic_ref so that
// the compiler loads/stores it exactly once. The fields are naturally aligned
// (checked in create()), which is all atomic_ref<uint16_t/uint32_t> requires.
inline uint16_t load_relaxed(uint16_t* p) noexcept {
  return std::atomic_ref<uint16_t>(*p).load(std::memory_order_relaxed);
}
inline uint32_t load_relaxed(uint32_t* p) noexcept {
  return std::atomic_ref<uint32_t>(*p).load(std::memory_order_relaxed);
}
inline void store_relaxed(uint16_t* p, uint16_t v) noexcept {
  std::atomic_ref<uint16_t>(*p).store(v, std::memory_order_relaxed);
}

inline uint32_t clamp_u32(uint64_t v) noexcept { return v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v); }

// Full barrier for the notification checks (2.7.13.4, 2.7.7): a locked add
// on the stack orders earlier stores before later loads like mfence does, at
// a fraction of its cost (DPDK's rte_smp_mb does the same on x86).
inline void full_barrier() noexcept {
#if defined(__x86_64__)
  asm volatile("lock addl $0, -128(%%rsp)" ::: "memory", "cc");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}
}  // namespace split_queue_detail

inline uint16_t SplitVirtqueue::take_descriptors(uint32_t n) noexcept {
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

inline void SplitVirtqueue::expose(uint16_t head, uint16_t chain_len) noexcept {
  DescState& s = state_[head];
  s.chain_len = chain_len;
  s.avail_pos = avail_shadow_;
  s.in_flight_head = true;
  // Plain-ordered store: the device reads this slot only after it observes the
  // release store of avail->idx in publish().
  split_queue_detail::store_relaxed(&avail_ring_[avail_shadow_ & mask_], head);
  ++avail_shadow_;
  ++in_flight_;
  ++counters_->added;
}

inline AddStatus SplitVirtqueue::add_buffer(uint64_t addr, uint32_t len, bool writable, uint64_t token) noexcept {
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

inline bool SplitVirtqueue::publish() noexcept {
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
  split_queue_detail::full_barrier();
  bool need;
  if (event_idx_) {
    need = vring_need_event(split_queue_detail::load_relaxed(avail_event_), new_idx, old_idx);
  } else {
    need = (split_queue_detail::load_relaxed(used_flags_) & VRING_USED_F_NO_NOTIFY) == 0;
  }
  if (need) ++counters_->notifies;
  return need;
}

inline bool SplitVirtqueue::completable(uint32_t id) const noexcept {
  if (id >= size_) return false;
  const DescState& s = state_[id];
  // A head added but not yet published is not the device's to complete.
  const uint16_t unpublished = static_cast<uint16_t>(avail_shadow_ - avail_published_);
  return s.in_flight_head && static_cast<uint16_t>(s.avail_pos - avail_published_) >= unpublished;
}

inline uint32_t SplitVirtqueue::checked_len(uint16_t head, uint32_t len) noexcept {
  if (len > state_[head].writable_len) {
    ++counters_->bad_used_lens;  // the device claims to have written past the buffer
    return 0;
  }
  return len;
}

inline std::size_t SplitVirtqueue::poll_used(std::span<Completion> out) noexcept {
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

inline std::size_t SplitVirtqueue::poll_any_order(std::span<Completion> out, uint16_t used_idx) noexcept {
  std::size_t n = 0;
  while (last_used_ != used_idx && n < out.size()) {
    VirtqUsedElem& e = used_ring_[last_used_ & mask_];
    const uint32_t id = split_queue_detail::load_relaxed(&e.id);  // read once: the device may rewrite it
    const uint32_t len = split_queue_detail::load_relaxed(&e.len);
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

inline std::size_t SplitVirtqueue::poll_in_order(std::span<Completion> out, uint16_t used_idx) noexcept {
  std::size_t n = 0;
  while (last_used_ != used_idx && n < out.size()) {
    VirtqUsedElem& e = used_ring_[last_used_ & mask_];
    const uint32_t id = split_queue_detail::load_relaxed(&e.id);
    const uint32_t len = split_queue_detail::load_relaxed(&e.len);
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
      out[n++] = Completion{s.token, last ? checked_len(h, len) : split_queue_detail::clamp_u32(s.writable_len)};
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

}  // namespace nfv::virtio
