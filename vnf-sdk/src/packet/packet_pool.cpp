// PacketPool (see the header).
#include "nfv/packet_pool.hpp"

#include <string>

namespace nfv {
namespace {
constexpr uint32_t kAlign = 64;
constexpr uint32_t kVirtioNetHeader = 12;
// Packet keeps its data offset in 16 bits and the offset may reach the end of
// the buffer (trim_front of everything), so the largest buffer is 65535 bytes
// rounded down to the 64-byte multiple.
constexpr uint32_t kMaxBufferSize = 65472;
}  // namespace

std::size_t PacketPool::region_bytes(const PacketPoolConfig& c) noexcept {
  return std::size_t{c.count} * c.buffer_size + kAlign - 1;
}

Result<std::unique_ptr<PacketPool>> PacketPool::create(const SharedRegion& region, RegionCarver& carver,
                                                       const PacketPoolConfig& c) {
  if (c.count == 0) return make_error(Errc::invalid_argument, "packet pool: count must be above 0");
  if (c.buffer_size % kAlign != 0 || c.buffer_size < 256 || c.buffer_size > kMaxBufferSize) {
    return make_error(Errc::invalid_argument, "packet pool: buffer_size " + std::to_string(c.buffer_size) +
                                                  " must be a multiple of 64 between 256 and 65472");
  }
  if (c.headroom < kVirtioNetHeader || c.headroom + 64u > c.buffer_size) {
    return make_error(Errc::invalid_argument,
                      "packet pool: headroom " + std::to_string(c.headroom) +
                          " must hold the 12-byte virtio-net header and leave at least 64 bytes of data room");
  }
  std::byte* bufs = carver.take(std::size_t{c.count} * c.buffer_size, kAlign);
  if (bufs == nullptr) {
    return make_error(Errc::resource, "packet pool: the shared region has no room for " + std::to_string(c.count) +
                                          " buffers of " + std::to_string(c.buffer_size) +
                                          " bytes; make the region larger");
  }
  std::unique_ptr<PacketPool> pool(new PacketPool());
  pool->config_ = c;
  pool->packets_.resize(c.count);
  pool->stack_.resize(c.count);
  const virtio::DriverMemory mem = region.driver_memory();
  pool->driver_delta_ = mem.driver_base - reinterpret_cast<uint64_t>(mem.host);
  pool->region_base_ = region.data();
  // Stack order: buffer 0 on top, so a fresh pool hands out buffers in address order.
  for (uint32_t i = 0; i < c.count; ++i) {
    Packet& p = pool->packets_[i];
    // Safe: bufs spans count * buffer_size bytes of the mapped region.
    p.buf_ = reinterpret_cast<uint8_t*>(bufs + std::size_t{i} * c.buffer_size);
    p.pool_ = pool.get();
    p.room_ = c.buffer_size;
    p.index_ = i;
    p.free_ = 1;
    pool->stack_[c.count - 1 - i] = &p;
  }
  pool->top_.store(c.count, std::memory_order_relaxed);
  return pool;
}

}  // namespace nfv
