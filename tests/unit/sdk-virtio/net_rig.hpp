// Test helpers for the virtio-net queues and queue pairs: a real PacketMemory
// (4 KiB pages) with packet pools, split rings carved from it, a
// FakeSplitDevice per ring, and the device side of receive (a virtio-net
// header and frame bytes written into a posted buffer).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "fake_device.hpp"
#include "nfv/packet_memory.hpp"
#include "nfv/packet_pool.hpp"
#include "nfv/virtio/net.hpp"
#include "nfv/virtio/split_queue.hpp"

namespace nfv::virtio::test {

inline constexpr uint64_t kVersion1 = feature_bit(VIRTIO_F_VERSION_1);
inline constexpr uint64_t kEventIdx = feature_bit(VIRTIO_F_EVENT_IDX);
inline constexpr uint64_t kInOrder = feature_bit(VIRTIO_F_IN_ORDER);

// The pool every rig uses unless told otherwise, and where its receive buffers sit.
inline constexpr PacketPoolConfig kPool{64, 2048, 128};
inline constexpr uint32_t kBufferOffset = 128 - kNetHeaderSize;  // posted address: headroom - 12
inline constexpr uint32_t kBufferLen = 2048 - kBufferOffset;     // bytes the device may write

inline std::unique_ptr<PacketMemory> packet_memory(std::size_t bytes = std::size_t{1} << 20) {
  auto m = PacketMemory::create(bytes, Hugepages::never, "nfv-test");
  REQUIRE(m.ok());
  return std::move(*m);
}

inline PacketPool& packet_pool(PacketMemory& m, const PacketPoolConfig& c = kPool) {
  auto p = m.create_pool(c);
  REQUIRE(p.ok());
  return **p;
}

inline SplitQueueConfig carve_ring(PacketMemory& m, uint32_t size, uint64_t features) {
  auto block = m.carve(split_ring_layout(size).total_size, 64);
  REQUIRE(block.ok());
  return contiguous_split_queue(size, *block, m.region().driver_memory(), features);
}

// A split ring in the packet memory and the fake device on its other side.
struct DeviceRing {
  DeviceRing(PacketMemory& m, uint32_t size, uint64_t features)
      : config(carve_ring(m, size, features)), device(config, (features & kEventIdx) != 0) {}
  // A fresh driver queue on the ring, counting into `counters`.
  SplitVirtqueue queue(SplitQueueCounters* counters) {
    SplitQueueConfig c = config;
    c.counters = counters;
    auto q = SplitVirtqueue::create(c);
    REQUIRE(q.ok());
    return std::move(*q);
  }
  SplitQueueConfig config;
  FakeSplitDevice device;
};

// ---- device side ----

struct Posted {
  uint16_t head;
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  std::byte* host;
};

// The next single-descriptor buffer the driver posted.
inline Posted next_posted(FakeSplitDevice& d) {
  auto c = d.pop();
  REQUIRE(c);
  REQUIRE(c->segments.size() == 1);
  const auto& s = c->segments[0];
  std::byte* h = d.host(s.addr, s.len);
  REQUIRE(h != nullptr);
  return Posted{c->head, s.addr, s.len, s.flags, h};
}

inline void write_pattern(std::byte* p, uint32_t n, uint8_t seed) {
  for (uint32_t i = 0; i < n; ++i) p[i] = std::byte(static_cast<uint8_t>(seed + i));
}

inline bool has_pattern(const uint8_t* p, uint32_t n, uint8_t seed) {
  for (uint32_t i = 0; i < n; ++i) {
    if (p[i] != static_cast<uint8_t>(seed + i)) return false;
  }
  return true;
}

// A virtio-net header (no offloads) carrying num_buffers.
inline void write_header(std::byte* p, uint16_t num_buffers) {
  std::memset(p, 0, kNetHeaderSize);
  std::memcpy(p + kNumBuffersOffset, &num_buffers, sizeof num_buffers);
}

// The device receives an `n`-byte frame into the next posted buffer and
// completes it (visible after publish_used()); returns the buffer.
inline Posted deliver(FakeSplitDevice& d, uint32_t n, uint8_t seed, uint16_t num_buffers = 1) {
  Posted b = next_posted(d);
  REQUIRE(n + kNetHeaderSize <= b.len);
  write_header(b.host, num_buffers);
  write_pattern(b.host + kNetHeaderSize, n, seed);
  d.push_used(b.head, n + kNetHeaderSize);
  return b;
}

}  // namespace nfv::virtio::test
