// GuestRam (see the header).
#include "boot/guest_ram.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

namespace nfv::vmm {
namespace {
constexpr uint64_t kHugePage = 2u << 20;

uint64_t free_hugepages() {
  std::ifstream f("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
  uint64_t n = 0;
  f >> n;
  return f ? n : 0;
}
}  // namespace

Result<GuestRam> GuestRam::create(uint64_t size, RamBacking backing, const std::string& name) {
  if (size == 0 || size % 4096 != 0) {
    return make_error(Errc::invalid_argument, "guest memory size must be a non-zero multiple of 4 KiB");
  }
  const bool can_huge = size % kHugePage == 0 && free_hugepages() >= size / kHugePage;
  if (backing == RamBacking::hugepages && !can_huge) {
    return make_error(Errc::resource, "not enough free 2 MiB hugepages for " + std::to_string(size >> 20) +
                                          " MiB of guest memory (see /proc/sys/vm/nr_hugepages)");
  }
  GuestRam r;
  r.huge_ = backing != RamBacking::small_pages && can_huge;
  r.fd_.reset(::memfd_create(name.c_str(), MFD_CLOEXEC | (r.huge_ ? MFD_HUGETLB : 0u)));
  if (!r.fd_.valid()) return make_error(Errc::io, std::string("memfd_create: ") + std::strerror(errno));
  if (::ftruncate(r.fd(), static_cast<off_t>(size)) < 0) {
    return make_error(Errc::io, std::string("ftruncate of guest memory: ") + std::strerror(errno));
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd(), 0);
  if (p == MAP_FAILED) return make_error(Errc::io, std::string("mmap of guest memory: ") + std::strerror(errno));
  r.data_ = static_cast<uint8_t*>(p);
  r.size_ = size;
  return r;
}

GuestRam::GuestRam(GuestRam&& o) noexcept
    : fd_(std::move(o.fd_)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      huge_(o.huge_) {}

GuestRam::~GuestRam() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace nfv::vmm
