#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "mac_table.hpp"

using nfv::sw::MacTable;

TEST_CASE("mac table: learn and look up per VLAN") {
  MacTable t(1024);
  CHECK(t.lookup(0x020000000001, 0) == MacTable::kNoPort);
  t.learn(0x020000000001, 0, 3, 10);
  CHECK(t.lookup(0x020000000001, 0) == 3);
  // The same MAC in another VLAN is a different entry.
  CHECK(t.lookup(0x020000000001, 10) == MacTable::kNoPort);
  t.learn(0x020000000001, 10, 5, 10);
  CHECK(t.lookup(0x020000000001, 10) == 5);
  CHECK(t.lookup(0x020000000001, 0) == 3);
  CHECK(t.size() == 2);
}

TEST_CASE("mac table: a MAC that moves follows its new port") {
  MacTable t(1024);
  t.learn(0xaabbccddeeff, 1, 0, 1);
  t.learn(0xaabbccddeeff, 1, 7, 2);
  CHECK(t.lookup(0xaabbccddeeff, 1) == 7);
  CHECK(t.size() == 1);
}

TEST_CASE("mac table: aging removes only entries older than the limit") {
  MacTable t(1024);
  t.learn(1, 0, 1, 100);
  t.learn(2, 0, 1, 150);
  CHECK(t.age(200, 300) == 0);
  CHECK(t.age(420, 300) == 1);  // entry seen at 100 is 320 s old
  CHECK(t.lookup(1, 0) == MacTable::kNoPort);
  CHECK(t.lookup(2, 0) == 1);
  // Refreshing an entry keeps it alive.
  t.learn(2, 0, 1, 440);
  CHECK(t.age(700, 300) == 0);
  CHECK(t.age(741, 300) == 1);
  CHECK(t.size() == 0);
}

TEST_CASE("mac table: flush and per-port flush") {
  MacTable t(1024);
  for (uint64_t m = 1; m <= 20; ++m) t.learn(m, 0, static_cast<uint16_t>(m % 2), 1);
  CHECK(t.flush_port(1) == 10);
  CHECK(t.size() == 10);
  for (uint64_t m = 1; m <= 20; ++m) CHECK(t.lookup(m, 0) == (m % 2 ? MacTable::kNoPort : 0));
  CHECK(t.flush() == 10);
  CHECK(t.size() == 0);
}

TEST_CASE("mac table: full buckets replace the stalest entry, never fail") {
  MacTable t(64);  // 16 buckets of 4
  for (uint64_t m = 0; m < 1000; ++m) t.learn(m + 1, 0, 1, static_cast<uint32_t>(m));
  CHECK(t.size() <= t.capacity());
  // The most recently learnt address is always present.
  CHECK(t.lookup(1000, 0) == 1);
  size_t n = 0;
  t.for_each([&](const MacTable::Entry& e) {
    CHECK(e.port == 1);
    ++n;
  });
  CHECK(n == t.size());
}

TEST_CASE("mac table: concurrent learners and an ager never return a wrong port") {
  MacTable t(256);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong{0};
  // Port of MAC m is always m % 4 in VLAN m % 3: any other answer is a bug.
  auto worker = [&](uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 200000; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const uint64_t m = (x >> 33) % 2000 + 1;
      t.learn(m, static_cast<uint16_t>(m % 3), static_cast<uint16_t>(m % 4), static_cast<uint32_t>(i / 1000));
      const uint64_t q = (x >> 17) % 2000 + 1;
      const uint16_t p = t.lookup(q, static_cast<uint16_t>(q % 3));
      if (p != MacTable::kNoPort && p != q % 4) wrong.fetch_add(1);
    }
  };
  std::thread ager([&] {
    uint32_t now = 0;
    while (!stop.load()) {
      t.age(now += 1, 1);
      if (now % 16 == 0) t.flush();
    }
  });
  std::thread a(worker, 1), b(worker, 2);
  a.join();
  b.join();
  stop = true;
  ager.join();
  CHECK(wrong.load() == 0);
}
