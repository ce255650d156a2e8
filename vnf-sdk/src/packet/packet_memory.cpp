// PacketMemory (see the header).
#include "nfv/packet_memory.hpp"

namespace nfv {

Result<std::unique_ptr<PacketMemory>> PacketMemory::create(std::size_t bytes, Hugepages hugepages,
                                                           const std::string& name) {
  auto r = SharedRegion::create(bytes, hugepages, name);
  if (!r) return std::move(r).error();
  return std::unique_ptr<PacketMemory>(new PacketMemory(std::move(*r)));
}

Result<PacketPool*> PacketMemory::create_pool(const PacketPoolConfig& config) {
  std::lock_guard lock(mu_);
  auto pool = PacketPool::create(region_, carver_, config);
  if (!pool) return std::move(pool).error();
  pools_.push_back(std::move(*pool));
  return pools_.back().get();
}

Result<std::byte*> PacketMemory::carve(std::size_t bytes, std::size_t align) {
  std::lock_guard lock(mu_);
  std::byte* p = carver_.take(bytes, align);
  if (p == nullptr) {
    return make_error(Errc::resource, "packet memory: no room for " + std::to_string(bytes) +
                                          " more bytes of rings in the shared region; make it larger");
  }
  return p;
}

std::size_t PacketMemory::used() const {
  std::lock_guard lock(mu_);
  return carver_.used();
}

}  // namespace nfv
