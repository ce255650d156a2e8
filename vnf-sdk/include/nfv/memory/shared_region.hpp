// SharedRegion: one block of memory this process shares with a vhost-user
// back-end (rings and packet buffers live in it).
//
// A memfd, mapped MAP_SHARED and pre-touched (MAP_POPULATE), so that the
// back-end can map the same pages from the fd we send with SET_MEM_TABLE.
// Hugepages are used when the system has free ones (MFD_HUGETLB, 2 MiB; the
// size is rounded up to a whole page) and regular 4 KiB pages otherwise, so
// VNFs need no hugepage set-up; `Hugepages::require` makes their absence an error.
//
// Addresses. Each region has a "driver base": the address a descriptor uses
// for its first byte (the guest-physical address of the memory table). It is
// a fixed base plus a per-region slot (kDriverBase + n * kDriverSlot), never a
// pointer of this process, so that a back-end never sees our address layout
// in descriptors and a VNF behaves the same as a host process and as a guest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "nfv/result.hpp"
#include "nfv/vhost_user/message.hpp"   // UniqueFd
#include "nfv/vhost_user/protocol.hpp"  // MemoryRegion
#include "nfv/virtio/split_queue.hpp"   // DriverMemory

namespace nfv {

enum class Hugepages : uint8_t {
  prefer,   // hugepages when available, else regular pages
  require,  // error (Errc::resource) when none are free
  never,    // regular pages only
};

inline constexpr uint64_t kDriverBase = uint64_t{1} << 36;  // 64 GiB
inline constexpr uint64_t kDriverSlot = uint64_t{1} << 36;  // each region gets 64 GiB of driver space

class SharedRegion {
 public:
  // `size` bytes (rounded up to the page size); `name` shows in /proc/PID/fd.
  static Result<SharedRegion> create(std::size_t size, Hugepages hugepages = Hugepages::prefer,
                                     const std::string& name = "nfv-sdk");

  // A view of memory this process does not own or map (the guest runtime's
  // RAM, where driver addresses are guest-physical: driver_base == address).
  static SharedRegion wrap(std::byte* data, std::size_t size, uint64_t driver_base) noexcept;

  SharedRegion(SharedRegion&& o) noexcept;
  SharedRegion& operator=(SharedRegion&& o) noexcept;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  ~SharedRegion();

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  int fd() const noexcept { return fd_.get(); }
  bool hugepages() const noexcept { return page_size_ > 4096; }
  std::size_t page_size() const noexcept { return page_size_; }
  uint64_t driver_base() const noexcept { return driver_base_; }

  // The window descriptors address (for SplitVirtqueue and packet buffers).
  virtio::DriverMemory driver_memory() const noexcept { return {data_, driver_base_, size_}; }
  // The memory-table entry for SET_MEM_TABLE: guest_phys_addr = driver base,
  // userspace_addr = our mapping, offset 0.
  vhost_user::MemoryRegion memory_region() const noexcept;
  // Front-end address (SET_VRING_ADDR) of a pointer inside the region.
  uint64_t frontend_address(const void* p) const noexcept { return reinterpret_cast<uint64_t>(p); }

 private:
  SharedRegion() = default;
  vhost_user::UniqueFd fd_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t page_size_ = 0;
  uint64_t driver_base_ = 0;
};

// Hands out consecutive, aligned pieces of a region (cold; not thread-safe).
class RegionCarver {
 public:
  explicit RegionCarver(const SharedRegion& r) noexcept : region_(&r) {}
  // `bytes` at an address that is a multiple of `align` (a power of two);
  // nullptr when the region has no room for them, or `align` is not a power of two.
  std::byte* take(std::size_t bytes, std::size_t align) noexcept;
  std::size_t used() const noexcept { return used_; }

 private:
  const SharedRegion* region_;
  std::size_t used_ = 0;
};

}  // namespace nfv
