// RegionCarver (see nfv/memory/shared_region.hpp); shared by the host and guest builds.
#include <cstdint>

#include "nfv/memory/shared_region.hpp"

namespace nfv {

std::byte* RegionCarver::take(std::size_t bytes, std::size_t align) noexcept {
  if (align == 0 || (align & (align - 1)) != 0) return nullptr;
  // Align the address, not the offset: the region itself is only page-aligned.
  // No overflow: used_ <= size() and pad < align are checked before they are added.
  const auto next = reinterpret_cast<uintptr_t>(region_->data()) + used_;
  const std::size_t pad = (align - (next & (align - 1))) & (align - 1);
  const std::size_t left = region_->size() - used_;
  if (pad > left || bytes > left - pad) return nullptr;
  const std::size_t start = used_ + pad;
  used_ = start + bytes;
  return region_->data() + start;
}

}  // namespace nfv
