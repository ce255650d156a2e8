// IoBus: see io_bus.hpp.
#include "devices/io_bus.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace nfv::vmm {

namespace {
std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}
// [base, base+size) as inclusive last byte; false when empty or wrapping.
bool last_of(uint64_t base, uint64_t size, uint64_t& last) noexcept {
  if (size == 0 || size - 1 > UINT64_MAX - base) return false;
  last = base + (size - 1);
  return true;
}
}  // namespace

Status IoBus::check_free(uint64_t base, uint64_t size, const Range* ignore) const {
  uint64_t last = 0;
  if (!last_of(base, size, last)) {
    return make_error(Errc::invalid_argument,
                      name_ + " range at " + hex(base) + " is empty or wraps; give it a size that fits");
  }
  for (const Range& r : ranges_) {
    if (&r == ignore) continue;
    const uint64_t r_last = r.base + (r.size - 1);
    if (base <= r_last && r.base <= last) {
      return make_error(Errc::already_exists, name_ + " range " + hex(base) + ".." + hex(last) + " overlaps " +
                                                  r.what + " at " + hex(r.base) + ".." + hex(r_last) +
                                                  "; place the device elsewhere");
    }
  }
  return {};
}

Status IoBus::add(uint64_t base, uint64_t size, IoHandler* handler, std::string what) {
  if (handler == nullptr) return make_error(Errc::invalid_argument, name_ + ": no handler for " + what);
  std::unique_lock lock(mu_);
  if (auto st = check_free(base, size, nullptr); !st) return st;
  Range r{base, size, handler, std::move(what)};
  auto at = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                             [](const Range& x, uint64_t b) { return x.base < b; });
  ranges_.insert(at, std::move(r));
  return {};
}

bool IoBus::remove(const IoHandler* handler) {
  std::unique_lock lock(mu_);
  const auto n = std::erase_if(ranges_, [&](const Range& r) { return r.handler == handler; });
  return n != 0;
}

Status IoBus::move(const IoHandler* handler, uint64_t old_base, uint64_t new_base) {
  std::unique_lock lock(mu_);
  auto it = std::find_if(ranges_.begin(), ranges_.end(),
                         [&](const Range& r) { return r.handler == handler && r.base == old_base; });
  if (it == ranges_.end()) {
    return make_error(Errc::not_found, name_ + ": no range at " + hex(old_base) + " for this device");
  }
  if (auto st = check_free(new_base, it->size, &*it); !st) return st;
  it->base = new_base;
  std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.base < b.base; });
  return {};
}

const IoBus::Range* IoBus::find(uint64_t address, uint64_t len) const noexcept {
  uint64_t last = 0;
  if (len == 0 || len > 8 || !last_of(address, len, last)) return nullptr;
  // Last range with base <= address.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                             [](uint64_t a, const Range& r) { return a < r.base; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  const uint64_t r_last = it->base + (it->size - 1);
  return last <= r_last ? &*it : nullptr;
}

bool IoBus::read(uint64_t address, std::span<uint8_t> data) {
  {
    std::shared_lock lock(mu_);
    if (const Range* r = find(address, data.size())) {
      r->handler->read(address - r->base, data);
      return true;
    }
  }
  std::memset(data.data(), 0xff, data.size());
  unhandled_reads_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool IoBus::write(uint64_t address, std::span<const uint8_t> data) {
  {
    std::shared_lock lock(mu_);
    if (const Range* r = find(address, data.size())) {
      r->handler->write(address - r->base, data);
      return true;
    }
  }
  unhandled_writes_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace nfv::vmm
