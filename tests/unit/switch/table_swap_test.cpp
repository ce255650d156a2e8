// RcuPublisher: reader threads that behave like PMDs (load, use, report a
// quiescent state) never see a table that has been freed, while the control
// thread replaces it thousands of times. Uses rte_rcu_qsbr without an EAL
// (the QSBR functions need none); every freed table is poisoned first, so a
// reader that used a freed one would see the poison (and ASan would report it).
#include <doctest/doctest.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "rcu_publisher.hpp"

namespace {

constexpr uint64_t kAlive = 0x600dcafe;
constexpr uint64_t kDead = 0xdeadbeef;

struct Table {
  std::vector<uint64_t> words = std::vector<uint64_t>(64, kAlive);
  uint64_t version = 0;
  ~Table() {
    for (auto& w : words) w = kDead;
  }
};

}  // namespace

TEST_CASE("table swap: readers never see a freed table, and always move on") {
  constexpr unsigned kReaders = 2;
  const size_t sz = rte_rcu_qsbr_get_memsize(kReaders);
  auto* qsbr = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(64, (sz + 63) / 64 * 64));
  REQUIRE(qsbr != nullptr);
  REQUIRE(rte_rcu_qsbr_init(qsbr, kReaders) == 0);

  nfv::sw::RcuPublisher<Table> pub;
  pub.set_qsbr(qsbr);
  pub.publish(std::make_unique<Table>());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, reads{0};
  std::atomic<uint64_t> max_seen[kReaders] = {};

  std::vector<std::thread> readers;
  for (unsigned id = 0; id < kReaders; ++id)
    readers.emplace_back([&, id] {
      rte_rcu_qsbr_thread_register(qsbr, id);
      rte_rcu_qsbr_thread_online(qsbr, id);
      while (!stop.load(std::memory_order_relaxed)) {
        const Table* t = pub.slot()->load(std::memory_order_acquire);
        uint64_t sum = 0;
        for (uint64_t w : t->words) sum += w != kAlive;
        if (sum) bad.fetch_add(1);
        max_seen[id].store(t->version, std::memory_order_relaxed);
        reads.fetch_add(1, std::memory_order_relaxed);
        rte_rcu_qsbr_quiescent(qsbr, id);  // nothing of t is used past here
        std::this_thread::yield();           // the machine may have fewer free CPUs than threads
      }
      rte_rcu_qsbr_thread_offline(qsbr, id);
      rte_rcu_qsbr_thread_unregister(qsbr, id);
    });

  constexpr uint64_t kSwaps = 200;
  for (uint64_t v = 1; v <= kSwaps; ++v) {
    auto t = std::make_unique<Table>();
    t->version = v;
    pub.publish(std::move(t));  // returns only after both readers passed a quiescent state
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  for (auto& r : readers) r.join();
  CHECK(bad.load() == 0);
  CHECK(reads.load() > kSwaps);
  for (auto& m : max_seen) CHECK(m.load() == kSwaps);
  CHECK(pub.current()->version == kSwaps);
  pub.publish(nullptr);
  std::free(qsbr);
}
