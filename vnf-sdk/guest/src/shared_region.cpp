// The guest build's SharedRegion: only views of guest RAM (wrap()); there is no
// memfd or mmap in a guest, and no file descriptors to close.
#include <utility>

#include "nfv/memory/shared_region.hpp"

namespace nfv {

void vhost_user::UniqueFd::reset(int fd) noexcept { fd_ = fd; }

SharedRegion SharedRegion::wrap(std::byte* data, std::size_t size, uint64_t driver_base) noexcept {
  SharedRegion r;
  r.data_ = data;
  r.size_ = size;
  r.page_size_ = 4096;
  r.driver_base_ = driver_base;
  return r;
}

SharedRegion::SharedRegion(SharedRegion&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      page_size_(o.page_size_),
      driver_base_(o.driver_base_) {}

SharedRegion::~SharedRegion() = default;

}  // namespace nfv
