// PacketPool: fixed-size packet buffers carved from a SharedRegion.
//
// `count` buffers of `buffer_size` bytes (64-byte aligned) in the shared
// region, and one private Packet descriptor per buffer. Free buffers sit on a
// LIFO stack (the most recently freed buffer is the warmest in cache).
// A pool has ONE owner thread: a VNF thread allocates and frees on its own
// pool with plain loads and stores, the way DPDK's per-lcore mempool cache
// works, without the shared ring behind it. Packets that travel to another
// thread must come back to their owner to be freed (Packet::pool()).
//
// Errors are counted, never fatal: alloc on an empty pool returns nullptr
// (alloc_failures), freeing a packet twice is ignored (double_frees).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "nfv/counter.hpp"
#include "nfv/memory/shared_region.hpp"
#include "nfv/packet.hpp"
#include "nfv/result.hpp"

namespace nfv {

struct PacketPoolConfig {
  uint32_t count = 4096;         // buffers
  uint32_t buffer_size = 2304;   // bytes per buffer, headroom included (multiple of 64, 256..65472)
  // Default data offset after alloc (>= 12 for the virtio-net header). 140 =
  // 128 + 12: the header starts a cache line and the frame's first 52 bytes
  // (Ethernet + IPv4 + UDP/TCP) share that line, so sending a packet whose
  // headers were just written dirties one line, not two (DPDK's 128 puts the
  // header alone on the line before the frame).
  uint16_t headroom = 140;
};

struct PacketPoolCounters {
  Counter alloc_failures;  // alloc found the pool empty
  Counter double_frees;    // free of a packet already free (ignored)
};

class PacketPool {
 public:
  // Bytes of shared region a pool with this config needs (plus 63 for alignment).
  static std::size_t region_bytes(const PacketPoolConfig& c) noexcept;
  // Carves the buffers from `carver` (which hands out pieces of `region`).
  static Result<std::unique_ptr<PacketPool>> create(const SharedRegion& region, RegionCarver& carver,
                                                    const PacketPoolConfig& config = {});

  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // ---- data path (owner thread only) ----
  Packet* alloc() noexcept {
    const uint32_t top = top_.load(std::memory_order_relaxed);
    if (top == 0) {
      ++counters_.alloc_failures;
      return nullptr;
    }
    Packet* p = stack_[top - 1];
    top_.store(top - 1, std::memory_order_relaxed);
    reset(*p);
    return p;
  }
  // Allocates n packets or none (returns false, counted once).
  bool alloc_bulk(Packet** out, uint32_t n) noexcept {
    uint32_t top = top_.load(std::memory_order_relaxed);
    if (n > top) {
      ++counters_.alloc_failures;
      return false;
    }
    for (uint32_t i = 0; i < n; ++i) {
      Packet* p = stack_[--top];
      reset(*p);
      out[i] = p;
    }
    top_.store(top, std::memory_order_relaxed);
    return true;
  }
  // Frees every segment of `p` to its own pool. nullptr is ignored.
  static void free(Packet* p) noexcept {
    while (p != nullptr) {
      Packet* next = p->next_;
      p->pool_->put(p);
      p = next;
    }
  }
  static void free_bulk(Packet* const* pkts, uint32_t n) noexcept {
    for (uint32_t i = 0; i < n; ++i) free(pkts[i]);
  }

  // Driver address of byte `p` inside one of this pool's buffers.
  uint64_t driver_address(const uint8_t* p) const noexcept { return driver_delta_ + reinterpret_cast<uint64_t>(p); }
  bool owns_region(const SharedRegion& r) const noexcept { return region_base_ == r.data(); }
  const std::byte* region_base() const noexcept { return region_base_; }

  // ---- state ----
  // Any thread (a relaxed snapshot).
  uint32_t available() const noexcept { return top_.load(std::memory_order_relaxed); }
  uint32_t capacity() const noexcept { return static_cast<uint32_t>(packets_.size()); }
  uint32_t buffer_size() const noexcept { return config_.buffer_size; }
  uint16_t headroom() const noexcept { return config_.headroom; }
  const PacketPoolCounters& counters() const noexcept { return counters_; }

 private:
  PacketPool() = default;
  void reset(Packet& p) noexcept {
    p.data_off_ = config_.headroom;
    p.len_ = 0;
    p.total_len_ = 0;
    p.nb_segs_ = 1;
    p.next_ = nullptr;
    p.free_ = 0;
    p.input_port = 0;
    p.user16 = 0;
    p.user32 = 0;
    p.user64 = 0;
  }
  void put(Packet* p) noexcept {
    if (p->free_ != 0) {
      ++counters_.double_frees;
      return;
    }
    p->free_ = 1;
    p->next_ = nullptr;
    const uint32_t top = top_.load(std::memory_order_relaxed);
    stack_[top] = p;
    top_.store(top + 1, std::memory_order_relaxed);
  }

  PacketPoolConfig config_;
  std::vector<Packet> packets_;
  std::vector<Packet*> stack_;
  std::atomic<uint32_t> top_{0};  // written by the owner only; atomic so stats readers may look
  uint64_t driver_delta_ = 0;  // driver address - host address (mod 2^64)
  const std::byte* region_base_ = nullptr;
  PacketPoolCounters counters_;
};

}  // namespace nfv
