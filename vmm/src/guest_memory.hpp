// GuestMemory: the guest-physical memory map as the VMM's devices see it.
//
// A list of regions {gpa, size, host pointer, memfd, offset in the memfd}.
// Devices turn guest addresses (ring addresses, buffers) into host pointers
// with translate(), which succeeds only when the whole range lies inside ONE
// region: a range straddling two regions, wrapping past 2^64 or touching a
// hole is refused (nullptr), so callers never index past a mapping.
//
// Concurrency: regions are appended at run time (the guest's memory-request
// hypercall adds one) by the control thread while vCPU threads translate.
// Storage is a fixed-capacity array; a new region is written completely and
// then published by a release store of the count, and readers load the count
// with acquire, so a reader sees either the old list or the new one, never a
// half-written entry. Regions are never removed or changed once published.
// Only one thread may call add_region() at a time (the control thread).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "nfv/result.hpp"

namespace nfv::vmm {

struct GuestMemoryRegion {
  uint64_t gpa = 0;        // guest-physical start
  uint64_t size = 0;       // bytes, > 0
  uint8_t* host = nullptr;  // where the VMM mapped it
  int fd = -1;             // memfd backing it (shared with vhost-user back-ends); -1 in tests
  uint64_t fd_offset = 0;  // offset of `gpa` inside fd
};

class GuestMemory {
 public:
  static constexpr std::size_t kMaxRegions = 16;

  GuestMemory() = default;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Control thread. Refuses an empty region, a null host pointer, a range
  // that wraps past 2^64, one overlapping an existing region, and a 17th one.
  Status add_region(const GuestMemoryRegion& region);

  // Any thread. Host pointer for [gpa, gpa+len), or nullptr when that range is
  // not wholly inside one region. len == 0 is treated as len == 1 (the address
  // itself must be mapped).
  uint8_t* translate(uint64_t gpa, uint64_t len) const noexcept;

  // Any thread: a snapshot of the published regions.
  std::span<const GuestMemoryRegion> regions() const noexcept {
    return {regions_.data(), count_.load(std::memory_order_acquire)};
  }
  // Sum of region sizes (for the boot information).
  uint64_t total_size() const noexcept;

 private:
  std::array<GuestMemoryRegion, kMaxRegions> regions_{};
  std::atomic<std::size_t> count_{0};
};

}  // namespace nfv::vmm
