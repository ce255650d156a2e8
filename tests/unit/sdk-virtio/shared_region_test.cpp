// SharedRegion (memfd, page rounding, memory-table entry, driver bases,
// hugepage fallback and `require`) and RegionCarver.
#include "nfv/memory/shared_region.hpp"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <string>

using namespace nfv;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A value from /proc/meminfo ("HugePages_Free:  2048"), or -1.
long meminfo(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  long v = 0;
  while (in >> k >> v) {
    if (k == key + ":") return v;
    in.ignore(256, '\n');
  }
  return -1;
}

}  // namespace

TEST_CASE("SharedRegion: regular pages, rounding, fd, memory-table entry") {
  auto r = SharedRegion::create(5000, Hugepages::never, "nfv-test");
  REQUIRE(r.ok());
  CHECK(r->size() == 8192);
  CHECK(r->page_size() == 4096);
  CHECK_FALSE(r->hugepages());
  REQUIRE(r->fd() >= 0);
  REQUIRE(r->data() != nullptr);
  struct stat st {};
  REQUIRE(::fstat(r->fd(), &st) == 0);
  CHECK(static_cast<std::size_t>(st.st_size) == r->size());

  CHECK(r->driver_base() >= kDriverBase);
  CHECK(r->driver_base() % kDriverSlot == 0);
  const vhost_user::MemoryRegion m = r->memory_region();
  CHECK(m.guest_phys_addr == r->driver_base());
  CHECK(m.memory_size == r->size());
  CHECK(m.userspace_addr == reinterpret_cast<uint64_t>(r->data()));
  CHECK(m.mmap_offset == 0);
  const virtio::DriverMemory dm = r->driver_memory();
  CHECK(dm.host == r->data());
  CHECK(dm.driver_base == r->driver_base());
  CHECK(dm.size == r->size());
  CHECK(r->frontend_address(r->data() + 10) == m.userspace_addr + 10);

  // MAP_SHARED: a second mapping of the fd (what the back-end does) sees our bytes.
  std::memset(r->data() + 100, 0x5a, 16);
  void* peer = ::mmap(nullptr, r->size(), PROT_READ, MAP_SHARED, r->fd(), 0);
  REQUIRE(peer != MAP_FAILED);
  CHECK(std::memcmp(static_cast<std::byte*>(peer) + 100, r->data() + 100, 16) == 0);
  ::munmap(peer, r->size());

  // Every region gets its own driver slot.
  auto r2 = SharedRegion::create(1, Hugepages::never);
  REQUIRE(r2.ok());
  CHECK(r2->size() == 4096);
  CHECK(r2->driver_base() != r->driver_base());
  CHECK(r2->driver_base() % kDriverSlot == 0);

  // Moves carry the mapping; the moved-from region is empty.
  std::byte* data = r->data();
  const uint64_t base = r->driver_base();
  SharedRegion moved(std::move(*r));
  CHECK(moved.data() == data);
  CHECK(moved.driver_base() == base);
  CHECK(moved.fd() >= 0);
  CHECK(r->data() == nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(r->size() == 0);
  moved = std::move(*r2);
  CHECK(moved.size() == 4096);
  CHECK(moved.driver_base() != base);
}

TEST_CASE("SharedRegion: size limits") {
  auto zero = SharedRegion::create(0, Hugepages::never);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().code == Errc::invalid_argument);
  auto huge = SharedRegion::create(kDriverSlot + 1, Hugepages::never);
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().code == Errc::invalid_argument);
}

TEST_CASE("SharedRegion: prefer uses hugepages when free, else 4 KiB pages") {
  auto r = SharedRegion::create(3 * kMiB, Hugepages::prefer, "nfv-test-prefer");
  REQUIRE(r.ok());
  if (r->hugepages()) {
    CHECK(r->page_size() == 2 * kMiB);
    CHECK(r->size() == 4 * kMiB);
  } else {
    CHECK(r->page_size() == 4096);
    CHECK(r->size() == 3 * kMiB);
  }
  r->data()[r->size() - 1] = std::byte{1};  // mapped (and populated) to the end
}

TEST_CASE("SharedRegion: require fails with Errc::resource when hugepages run short") {
  const long total_pages = meminfo("HugePages_Total");
  const long free_pages = meminfo("HugePages_Free");
  const long page_kb = meminfo("Hugepagesize");
  std::ifstream overcommit("/proc/sys/vm/nr_overcommit_hugepages");
  long surplus = -1;
  overcommit >> surplus;
  if (total_pages < 0 || page_kb != 2048 || surplus != 0) {
    MESSAGE("skipped: no 2 MiB hugepage accounting, or surplus hugepages allowed");
    return;
  }
  // One page more than the system has (not merely than is free now, which
  // other processes change): the hugetlb reservation at mmap always fails.
  const std::size_t want = static_cast<std::size_t>(total_pages + 1) * 2 * kMiB;
  if (want > kDriverSlot) {
    MESSAGE("skipped: more than 64 GiB of hugepages");
    return;
  }
  auto r = SharedRegion::create(want, Hugepages::require, "nfv-test-require");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::resource);
  CHECK(r.error().message.find("nr_hugepages") != std::string::npos);

  if (free_pages > 0) {
    auto one = SharedRegion::create(1, Hugepages::require, "nfv-test-require");
    if (one.ok()) {  // another process may have taken the last pages meanwhile
      CHECK(one->hugepages());
      CHECK(one->size() == 2 * kMiB);
    }
  }
}

TEST_CASE("RegionCarver: alignment, exhaustion, no overlap") {
  auto r = SharedRegion::create(8192, Hugepages::never);
  REQUIRE(r.ok());
  RegionCarver c(*r);
  std::byte* a = c.take(10, 1);
  CHECK(a == r->data());
  CHECK(c.used() == 10);
  std::byte* b = c.take(1, 64);
  CHECK(b == r->data() + 64);
  CHECK(c.used() == 65);
  std::byte* p = c.take(100, 4096);
  CHECK(p == r->data() + 4096);
  CHECK(reinterpret_cast<uintptr_t>(p) % 4096 == 0);
  // Too big: refused, nothing consumed.
  CHECK(c.take(8192 - 4196 + 1, 1) == nullptr);
  CHECK(c.used() == 4196);
  // Alignment pushes past the end.
  CHECK(c.take(1, 8192) == nullptr);
  CHECK(c.used() == 4196);
  // Not a power of two, or absurd: refused, never wraps to the start.
  CHECK(c.take(1, 0) == nullptr);
  CHECK(c.take(1, 48) == nullptr);
  CHECK(c.take(1, SIZE_MAX) == nullptr);  // offset rounding used to wrap to 0 here
  CHECK(c.take(1, std::size_t{1} << 63) == nullptr);
  CHECK(c.take(SIZE_MAX, 1) == nullptr);
  CHECK(c.used() == 4196);
  // Exactly the rest.
  std::byte* rest = c.take(8192 - 4196, 1);
  CHECK(rest == r->data() + 4196);
  CHECK(c.used() == 8192);
  CHECK(c.take(1, 1) == nullptr);
}
