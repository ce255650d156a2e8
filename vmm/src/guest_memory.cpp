// GuestMemory: see guest_memory.hpp.
#include "guest_memory.hpp"

#include <cstdio>
#include <string>

namespace nfv::vmm {

namespace {
// Last byte of [start, start+len); false when it wraps past 2^64.
bool last_byte(uint64_t start, uint64_t len, uint64_t& last) noexcept {
  if (len == 0) len = 1;
  if (len - 1 > UINT64_MAX - start) return false;
  last = start + (len - 1);
  return true;
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

Status GuestMemory::add_region(const GuestMemoryRegion& r) {
  const std::size_t n = count_.load(std::memory_order_relaxed);  // only this thread writes it
  uint64_t last = 0;
  if (r.size == 0 || r.host == nullptr) {
    return make_error(Errc::invalid_argument, "guest memory region at " + hex(r.gpa) +
                                                  " has no size or no host mapping; map it before adding it");
  }
  if (!last_byte(r.gpa, r.size, last)) {
    return make_error(Errc::invalid_argument, "guest memory region at " + hex(r.gpa) + " of size " + hex(r.size) +
                                                  " wraps past the top of the address space; use a lower address");
  }
  for (std::size_t i = 0; i < n; ++i) {
    const GuestMemoryRegion& o = regions_[i];
    const uint64_t o_last = o.gpa + (o.size - 1);  // cannot wrap: checked when o was added
    if (r.gpa <= o_last && o.gpa <= last) {
      return make_error(Errc::already_exists, "guest memory region " + hex(r.gpa) + ".." + hex(last) +
                                                  " overlaps region " + hex(o.gpa) + ".." + hex(o_last) +
                                                  "; choose a free guest-physical range");
    }
  }
  if (n == kMaxRegions) {
    return make_error(Errc::resource, "guest memory already has " + std::to_string(kMaxRegions) +
                                          " regions; request fewer, larger regions");
  }
  regions_[n] = r;
  // Release: the entry above is complete before a reader can see count > n.
  count_.store(n + 1, std::memory_order_release);
  return {};
}

uint8_t* GuestMemory::translate(uint64_t gpa, uint64_t len) const noexcept {
  uint64_t last = 0;
  if (!last_byte(gpa, len, last)) return nullptr;
  for (const GuestMemoryRegion& r : regions()) {
    const uint64_t r_last = r.gpa + (r.size - 1);
    if (gpa >= r.gpa && last <= r_last) return r.host + (gpa - r.gpa);
  }
  return nullptr;
}

uint64_t GuestMemory::total_size() const noexcept {
  uint64_t sum = 0;
  for (const GuestMemoryRegion& r : regions()) sum += r.size;
  return sum;
}

}  // namespace nfv::vmm
