// GuestMemory: translate() only inside one region (edges, straddling,
// overflow), add_region() refusals, and a reader racing an appender.
#include "guest_memory.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

using nfv::vmm::GuestMemory;
using nfv::vmm::GuestMemoryRegion;

TEST_CASE("translate stays inside one region") {
  std::vector<uint8_t> a(0x1000), b(0x2000);
  GuestMemory m;
  REQUIRE(m.add_region({0x10000, a.size(), a.data(), -1, 0}));
  REQUIRE(m.add_region({0x11000, b.size(), b.data(), 7, 0x1000}));  // adjacent, separate mapping
  CHECK(m.translate(0x10000, 0x1000) == a.data());
  CHECK(m.translate(0x10fff, 1) == a.data() + 0xfff);
  CHECK(m.translate(0x10fff, 2) == nullptr);  // straddles a and b
  CHECK(m.translate(0x11000, 0x2000) == b.data());
  CHECK(m.translate(0x12fff, 1) == b.data() + 0x1fff);
  CHECK(m.translate(0x13000, 1) == nullptr);
  CHECK(m.translate(0xffff, 1) == nullptr);
  CHECK(m.translate(0x10000, 0) == a.data());            // len 0: the address itself
  CHECK(m.translate(0x10000, UINT64_MAX) == nullptr);    // wraps
  CHECK(m.translate(UINT64_MAX, 2) == nullptr);
  CHECK(m.regions().size() == 2);
  CHECK(m.regions()[1].fd == 7);
  CHECK(m.total_size() == 0x3000);
}

TEST_CASE("add_region refuses bad regions with a message") {
  std::vector<uint8_t> a(0x1000);
  GuestMemory m;
  REQUIRE(m.add_region({0x10000, a.size(), a.data(), -1, 0}));
  auto overlap = m.add_region({0x10800, a.size(), a.data(), -1, 0});
  REQUIRE(!overlap);
  CHECK(overlap.error().message.find("overlaps") != std::string::npos);
  CHECK(!m.add_region({0x0f800, a.size(), a.data(), -1, 0}));      // overlaps the start
  CHECK(!m.add_region({0x20000, 0, a.data(), -1, 0}));             // empty
  CHECK(!m.add_region({0x20000, 0x1000, nullptr, -1, 0}));         // not mapped
  CHECK(!m.add_region({UINT64_MAX - 0x10, 0x1000, a.data(), -1, 0}));  // wraps
  CHECK(m.regions().size() == 1);
  for (uint64_t i = 1; i < GuestMemory::kMaxRegions; ++i) {
    REQUIRE(m.add_region({0x100000 * i, a.size(), a.data(), -1, 0}));
  }
  CHECK(!m.add_region({0x7000000, a.size(), a.data(), -1, 0}));  // full
}

TEST_CASE("vCPU threads translate while the control thread appends") {
  std::vector<uint8_t> ram(0x1000);
  GuestMemory m;
  REQUIRE(m.add_region({0, ram.size(), ram.data(), -1, 0}));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      for (const auto& r : m.regions()) {
        if (r.host != ram.data() || r.size != 0x1000) bad.fetch_add(1);  // a half-written entry
      }
    }
  });
  for (uint64_t i = 1; i < GuestMemory::kMaxRegions; ++i) {
    REQUIRE(m.add_region({0x1000 * i, ram.size(), ram.data(), -1, 0}));
  }
  stop = true;
  reader.join();
  CHECK(bad.load() == 0);
  CHECK(m.translate(0x1000 * (GuestMemory::kMaxRegions - 1), 0x1000) == ram.data());
}
