// PacketMemory: the one shared region of a VNF process and what is carved
// from it: packet pools (one per VNF thread) and the virtqueue rings of every
// port. Every vhost-user port describes this single region to its back-end,
// so a packet received on one port can be sent on any other without a copy.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nfv/memory/shared_region.hpp"
#include "nfv/packet_pool.hpp"
#include "nfv/result.hpp"

namespace nfv {

class PacketMemory {
 public:
  static Result<std::unique_ptr<PacketMemory>> create(std::size_t bytes, Hugepages hugepages = Hugepages::prefer,
                                                      const std::string& name = "nfv-packets");
  // Cold, thread-safe. The pool lives as long as this PacketMemory.
  Result<PacketPool*> create_pool(const PacketPoolConfig& config = {});
  // Cold, thread-safe: `bytes` of ring memory; Errc::resource when full.
  Result<std::byte*> carve(std::size_t bytes, std::size_t align);

  const SharedRegion& region() const noexcept { return region_; }
  std::size_t used() const;

 private:
  explicit PacketMemory(SharedRegion r) : region_(std::move(r)), carver_(region_) {}
  SharedRegion region_;
  RegionCarver carver_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<PacketPool>> pools_;
};

}  // namespace nfv
