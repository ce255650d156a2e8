// GuestRam: one block of guest memory, a memfd mapped MAP_SHARED so that a
// vhost-user back-end (the switch) can map the very same pages from the fd
// the VMM sends it with SET_MEM_TABLE.
//
// 2 MiB hugepages (MFD_HUGETLB) when enough are free and the size is a whole
// number of them, 4 KiB pages otherwise; pages are not pre-faulted (the guest
// touches only what it uses, which keeps boot fast).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "nfv/result.hpp"
#include "nfv/vhost_user/message.hpp"

namespace nfv::vmm {

enum class RamBacking : uint8_t { prefer_hugepages, hugepages, small_pages };

class GuestRam {
 public:
  static Result<GuestRam> create(uint64_t size, RamBacking backing, const std::string& name);
  GuestRam(GuestRam&& o) noexcept;
  GuestRam& operator=(GuestRam&&) = delete;
  GuestRam(const GuestRam&) = delete;
  ~GuestRam();

  uint8_t* data() const noexcept { return data_; }
  uint64_t size() const noexcept { return size_; }
  int fd() const noexcept { return fd_.get(); }
  bool hugepages() const noexcept { return huge_; }

 private:
  GuestRam() = default;
  vhost_user::UniqueFd fd_;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool huge_ = false;
};

}  // namespace nfv::vmm
