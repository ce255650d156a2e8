// IoBus: dispatch by range with offsets, overlap refusal, unknown and
// range-crossing accesses (all-ones, counted), remove and move.
#include "devices/io_bus.hpp"

#include <doctest/doctest.h>

#include <vector>

using nfv::vmm::IoBus;
using nfv::vmm::IoHandler;

namespace {
struct Recorder final : IoHandler {
  uint8_t fill = 0;
  std::vector<std::pair<uint64_t, std::size_t>> reads, writes;
  void read(uint64_t off, std::span<uint8_t> d) override {
    reads.emplace_back(off, d.size());
    for (auto& b : d) b = fill;
  }
  void write(uint64_t off, std::span<const uint8_t> d) override { writes.emplace_back(off, d.size()); }
};
}  // namespace

TEST_CASE("accesses reach the handler with the offset inside its range") {
  IoBus bus("mmio");
  Recorder a, b;
  a.fill = 0x11;
  b.fill = 0x22;
  REQUIRE(bus.add(0x1000, 0x100, &a, "a"));
  REQUIRE(bus.add(0x2000, 0x10, &b, "b"));
  uint8_t d[4];
  CHECK(bus.read(0x1010, d));
  CHECK(d[0] == 0x11);
  CHECK(bus.read(0x200c, d));
  CHECK(d[3] == 0x22);
  const uint8_t w[2] = {1, 2};
  CHECK(bus.write(0x10fe, w));
  REQUIRE(a.reads.size() == 1);
  CHECK(a.reads[0] == std::make_pair(uint64_t{0x10}, std::size_t{4}));
  CHECK(b.reads[0].first == 0xc);
  CHECK(a.writes[0].first == 0xfe);
}

TEST_CASE("overlapping ranges are refused") {
  IoBus bus("pio");
  Recorder a;
  REQUIRE(bus.add(0x3f8, 8, &a, "serial"));
  auto st = bus.add(0x3ff, 1, &a, "other");
  REQUIRE(!st);
  CHECK(st.error().message.find("serial") != std::string::npos);
  CHECK(!bus.add(0x3f0, 9, &a, "other"));
  CHECK(!bus.add(0x500, 0, &a, "empty"));
  CHECK(!bus.add(UINT64_MAX, 2, &a, "wraps"));
  CHECK(bus.add(0x3f0, 8, &a, "adjacent"));
}

TEST_CASE("unknown or crossing accesses read all-ones and are counted") {
  IoBus bus("mmio");
  Recorder a;
  REQUIRE(bus.add(0x1000, 0x10, &a, "a"));
  uint8_t d[4] = {};
  CHECK(!bus.read(0x2000, d));
  CHECK(d[0] == 0xff);
  CHECK(d[3] == 0xff);
  CHECK(!bus.read(0x100e, d));  // runs past the end of the range
  CHECK(!bus.read(0xffe, d));   // starts before it
  CHECK(!bus.write(0x2000, std::span<const uint8_t>(d, 4)));
  CHECK(!bus.read(UINT64_MAX - 1, d));
  uint8_t big[16];
  CHECK(!bus.read(0x1000, big));  // wider than any KVM exit
  CHECK(bus.unhandled_reads() == 5);
  CHECK(bus.unhandled_writes() == 1);
  CHECK(a.reads.empty());
}

TEST_CASE("remove and move") {
  IoBus bus("mmio");
  Recorder a, b;
  REQUIRE(bus.add(0x1000, 0x10, &a, "a"));
  REQUIRE(bus.add(0x2000, 0x10, &b, "b"));
  CHECK(!bus.move(&a, 0x1000, 0x2008));  // would overlap b
  CHECK(!bus.move(&a, 0x5000, 0x6000));  // no such range
  REQUIRE(bus.move(&a, 0x1000, 0x3000));
  uint8_t d[1];
  CHECK(!bus.read(0x1000, d));
  CHECK(bus.read(0x3004, d));
  CHECK(a.reads.back().first == 4);
  CHECK(bus.remove(&b));
  CHECK(!bus.remove(&b));
  CHECK(!bus.read(0x2000, d));
}
