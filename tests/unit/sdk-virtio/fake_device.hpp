// FakeSplitDevice: the DEVICE side of a split virtqueue, for tests only.
//
// It works on the same three ring areas as the SplitVirtqueue under test, the
// way a vhost-user backend would: reads avail->idx with acquire, walks the
// descriptor chains (bounded by the queue size), writes used entries and
// publishes used->idx with release. It also exposes the device's levers
// (VRING_USED_F_NO_NOTIFY, avail_event) and raw writes for hostile-device
// tests. Deliberately simple and allocation-happy: it is a test double.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "nfv/virtio/ring.hpp"
#include "nfv/virtio/split_queue.hpp"

namespace nfv::virtio::test {

// A zeroed, 16-byte aligned block standing in for the shared region, with
// the driver address of its first byte.
struct FakeRegion {
  explicit FakeRegion(std::size_t bytes, uint64_t driver_base = 0x1'0000'0000)
      : storage((bytes + 15) / 16), base(driver_base) {}
  std::byte* data() { return reinterpret_cast<std::byte*>(storage.data()); }
  std::size_t size() const { return storage.size() * 16; }
  DriverMemory memory() { return DriverMemory{data(), base, size()}; }

  struct alignas(16) Chunk {
    std::byte b[16];
  };
  std::vector<Chunk> storage;
  uint64_t base;
};

class FakeSplitDevice {
 public:
  struct Segment {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t index;  // descriptor index
  };
  struct Chain {
    uint16_t head;
    std::vector<Segment> segments;
  };

  FakeSplitDevice(const SplitQueueConfig& c, bool event_idx)
      : size_(c.size), memory_(c.memory), event_idx_(event_idx) {
    auto* avail = static_cast<std::byte*>(c.avail);
    auto* used = static_cast<std::byte*>(c.used);
    desc_ = static_cast<VirtqDesc*>(c.desc);
    avail_flags_ = reinterpret_cast<uint16_t*>(avail + kAvailFlagsOffset);
    avail_idx_ = reinterpret_cast<uint16_t*>(avail + kAvailIdxOffset);
    avail_ring_ = reinterpret_cast<uint16_t*>(avail + kAvailRingOffset);
    used_event_ = reinterpret_cast<uint16_t*>(avail + avail_used_event_offset(c.size));
    used_flags_ = reinterpret_cast<uint16_t*>(used + kUsedFlagsOffset);
    used_idx_ = reinterpret_cast<uint16_t*>(used + kUsedIdxOffset);
    used_ring_ = reinterpret_cast<VirtqUsedElem*>(used + kUsedRingOffset);
    avail_event_ = reinterpret_cast<uint16_t*>(used + used_avail_event_offset(c.size));
  }

  // Buffers the driver has published and the device has not popped yet.
  uint16_t pending() const {
    return static_cast<uint16_t>(std::atomic_ref<uint16_t>(*avail_idx_).load(std::memory_order_acquire) -
                                 last_avail_);
  }

  // Pops the next available chain, or nothing. Chains longer than the queue
  // size (a looping table) come back truncated with `looped` set.
  std::optional<Chain> pop() {
    if (pending() == 0) return std::nullopt;
    Chain c;
    c.head = avail_ring_[last_avail_ & (size_ - 1)];
    ++last_avail_;
    uint16_t d = c.head;
    for (uint32_t n = 0; n < size_; ++n) {
      const VirtqDesc& e = desc_[d];
      c.segments.push_back(Segment{e.addr, e.len, e.flags, d});
      if ((e.flags & VIRTQ_DESC_F_NEXT) == 0) return c;
      d = e.next;
    }
    looped = true;
    return c;
  }

  // Host pointer of a driver address range, or nullptr if outside the region.
  std::byte* host(uint64_t addr, uint32_t len) const {
    if (addr < memory_.driver_base || addr - memory_.driver_base > memory_.size ||
        len > memory_.size - (addr - memory_.driver_base)) {
      return nullptr;
    }
    return memory_.host + (addr - memory_.driver_base);
  }

  // Writes a used entry (not visible until publish_used()).
  void push_used(uint32_t id, uint32_t len) {
    used_ring_[used_shadow_ & (size_ - 1)] = VirtqUsedElem{id, len};
    ++used_shadow_;
  }

  // Release-stores used->idx; true if the driver wants an interrupt.
  bool publish_used() {
    const uint16_t old_idx = used_published_;
    const uint16_t new_idx = used_shadow_;
    std::atomic_ref<uint16_t>(*used_idx_).store(new_idx, std::memory_order_release);
    used_published_ = new_idx;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (old_idx == new_idx) return false;
    if (event_idx_) return vring_need_event(*used_event_, new_idx, old_idx);
    return (*avail_flags_ & VRING_AVAIL_F_NO_INTERRUPT) == 0;
  }

  // ---- device levers and raw access ----
  void set_no_notify(bool on) { *used_flags_ = on ? VRING_USED_F_NO_NOTIFY : uint16_t{0}; }
  void set_avail_event(uint16_t v) { *avail_event_ = v; }
  void set_used_idx_raw(uint16_t v) {  // hostile: jump the used index
    used_shadow_ = used_published_ = v;
    std::atomic_ref<uint16_t>(*used_idx_).store(v, std::memory_order_release);
  }
  uint16_t avail_flags() const { return *avail_flags_; }
  uint16_t used_event() const { return *used_event_; }
  uint16_t last_avail() const { return last_avail_; }
  VirtqDesc* desc_table() { return desc_; }

  bool looped = false;

 private:
  uint32_t size_;
  DriverMemory memory_;
  bool event_idx_;
  VirtqDesc* desc_;
  uint16_t* avail_flags_;
  uint16_t* avail_idx_;
  uint16_t* avail_ring_;
  uint16_t* used_event_;
  uint16_t* used_flags_;
  uint16_t* used_idx_;
  VirtqUsedElem* used_ring_;
  uint16_t* avail_event_;
  uint16_t last_avail_ = 0;
  uint16_t used_shadow_ = 0;
  uint16_t used_published_ = 0;
};

// A driver queue plus its fake device over one FakeRegion: ring block at the
// start, then `buffer_bytes` of packet buffers.
struct QueueRig {
  QueueRig(uint32_t size, uint64_t features, std::size_t buffer_bytes = 64 * 1024)
      : layout(split_ring_layout(size)),
        region(align_up(layout.total_size, 64) + buffer_bytes),
        config(contiguous_split_queue(size, region.data(), region.memory(), features)),
        queue(SplitVirtqueue::create(config)),
        device(config, (features & feature_bit(VIRTIO_F_EVENT_IDX)) != 0) {}

  // Driver address of byte `offset` of the buffer area.
  uint64_t buffer_addr(std::size_t offset) const {
    return region.base + align_up(layout.total_size, 64) + offset;
  }

  SplitRingLayout layout;
  FakeRegion region;
  SplitQueueConfig config;
  Result<SplitVirtqueue> queue;
  FakeSplitDevice device;
};

}  // namespace nfv::virtio::test
