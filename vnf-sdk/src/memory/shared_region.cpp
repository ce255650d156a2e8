// SharedRegion (see the header).
#include "nfv/memory/shared_region.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

namespace nfv {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kSmallPage = 4096;

std::atomic<uint64_t> g_next_slot{0};

Error sys_error(const std::string& what) {
  return make_error(Errc::resource, "shared region: " + what + ": " + std::strerror(errno));
}

// memfd + ftruncate + mmap(MAP_POPULATE). For hugetlb the mmap reserves the
// pages, so a shortage fails here (ENOMEM), not later with SIGBUS.
Result<std::pair<vhost_user::UniqueFd, std::byte*>> map_memfd(const std::string& name, std::size_t size,
                                                               bool huge) {
  const unsigned flags = MFD_CLOEXEC | (huge ? MFD_HUGETLB : 0U);
  vhost_user::UniqueFd fd(::memfd_create(name.c_str(), flags));
  if (!fd.valid()) return sys_error(huge ? "memfd_create(MFD_HUGETLB)" : "memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return sys_error("ftruncate");
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
  if (p == MAP_FAILED) return sys_error("mmap of " + std::to_string(size) + " bytes");
  return std::pair{std::move(fd), static_cast<std::byte*>(p)};
}

}  // namespace

Result<SharedRegion> SharedRegion::create(std::size_t size, Hugepages hugepages, const std::string& name) {
  if (size == 0) return make_error(Errc::invalid_argument, "shared region: size must be above 0");
  if (size > kDriverSlot) {
    return make_error(Errc::invalid_argument, "shared region: " + std::to_string(size) +
                                                  " bytes is more than one region may hold (64 GiB)");
  }
  SharedRegion r;
  if (hugepages != Hugepages::never) {
    const std::size_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
    auto m = map_memfd(name, rounded, true);
    if (m) {
      r.fd_ = std::move(m->first);
      r.data_ = m->second;
      r.size_ = rounded;
      r.page_size_ = kHugePage;
    } else if (hugepages == Hugepages::require) {
      return make_error(Errc::resource, m.error().message +
                                            " (no free 2 MiB hugepages? raise /proc/sys/vm/nr_hugepages)");
    }
  }
  if (r.data_ == nullptr) {
    const std::size_t rounded = (size + kSmallPage - 1) / kSmallPage * kSmallPage;
    auto m = map_memfd(name, rounded, false);
    if (!m) return std::move(m).error();
    r.fd_ = std::move(m->first);
    r.data_ = m->second;
    r.size_ = rounded;
    r.page_size_ = kSmallPage;
  }
  r.driver_base_ = kDriverBase + g_next_slot.fetch_add(1, std::memory_order_relaxed) * kDriverSlot;
  return r;
}

SharedRegion SharedRegion::wrap(std::byte* data, std::size_t size, uint64_t driver_base) noexcept {
  SharedRegion r;
  r.data_ = data;
  r.size_ = size;
  r.page_size_ = 4096;
  r.driver_base_ = driver_base;
  return r;
}

SharedRegion::SharedRegion(SharedRegion&& o) noexcept
    : fd_(std::move(o.fd_)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      page_size_(o.page_size_),
      driver_base_(o.driver_base_) {}

SharedRegion& SharedRegion::operator=(SharedRegion&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr && fd_.valid()) ::munmap(data_, size_);  // wrap()ped views own nothing
    fd_ = std::move(o.fd_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    page_size_ = o.page_size_;
    driver_base_ = o.driver_base_;
  }
  return *this;
}

SharedRegion::~SharedRegion() {
  if (data_ != nullptr && fd_.valid()) ::munmap(data_, size_);
}

vhost_user::MemoryRegion SharedRegion::memory_region() const noexcept {
  return vhost_user::MemoryRegion{driver_base_, size_, frontend_address(data_), 0};
}


}  // namespace nfv
