// PacketPool (validation, alloc/free balance, double frees, chains), Packet
// editing at its limits, Batch, and PacketMemory exhaustion.
#include "nfv/packet_pool.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "nfv/packet.hpp"
#include "nfv/packet_memory.hpp"

using namespace nfv;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

PacketPoolConfig small_pool(uint32_t count = 8) { return PacketPoolConfig{count, 256, 128}; }

std::unique_ptr<PacketMemory> memory(std::size_t bytes = kMiB) {
  auto m = PacketMemory::create(bytes, Hugepages::never, "nfv-test");
  REQUIRE(m.ok());
  return std::move(*m);
}

}  // namespace

TEST_CASE("PacketPool::create validates the config") {
  auto m = memory();
  auto bad = [&](PacketPoolConfig c) {
    auto p = m->create_pool(c);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().code == Errc::invalid_argument);
    return p.error().message;
  };
  CHECK(bad({0, 256, 128}).find("count") != std::string::npos);
  CHECK(bad({8, 300, 128}).find("multiple of 64") != std::string::npos);
  bad({8, 192, 64});     // below 256
  bad({8, 65536, 128});  // above 65472: the data offset must fit 16 bits
  CHECK(bad({8, 256, 11}).find("12-byte") != std::string::npos);
  bad({8, 256, 193});  // leaves under 64 bytes of data room
  CHECK(m->used() == 0);
  CHECK(m->create_pool({8, 65472, 128}).ok());
  CHECK(m->create_pool({8, 256, 192}).ok());
  CHECK(m->create_pool({8, 256, 12}).ok());
}

TEST_CASE("PacketPool: alloc order, free balance, LIFO, alloc_bulk all-or-nothing") {
  auto m = memory();
  auto pr = m->create_pool(small_pool(8));
  REQUIRE(pr.ok());
  PacketPool& pool = **pr;
  CHECK(pool.capacity() == 8);
  CHECK(pool.available() == 8);
  CHECK(pool.owns_region(m->region()));
  CHECK(pool.region_base() == m->region().data());

  std::vector<Packet*> got;
  for (uint32_t i = 0; i < 8; ++i) {
    Packet* p = pool.alloc();
    REQUIRE(p != nullptr);
    CHECK(p->index() == i);  // a fresh pool hands out buffers in address order
    CHECK(p->pool() == &pool);
    CHECK(p->headroom() == 128);
    CHECK(p->length() == 0);
    CHECK(p->tailroom() == 128);
    CHECK(p->buffer_size() == 256);
    CHECK(p->segments() == 1);
    CHECK(p->next_segment() == nullptr);
    const auto off = reinterpret_cast<std::byte*>(PacketAccess::buffer(*p)) - m->region().data();
    CHECK(off == static_cast<std::ptrdiff_t>(i) * 256);
    CHECK(pool.driver_address(p->data()) == m->region().driver_base() + static_cast<uint64_t>(off) + 128);
    got.push_back(p);
  }
  CHECK(pool.available() == 0);
  CHECK(pool.alloc() == nullptr);
  CHECK(pool.counters().alloc_failures == 1);

  got[3]->user64 = 7;
  got[3]->input_port = 2;
  got[3]->append(10);
  PacketPool::free(got[3]);
  CHECK(pool.available() == 1);
  Packet* again = pool.alloc();
  CHECK(again == got[3]);  // LIFO: warmest buffer first
  CHECK(again->user64 == 0);
  CHECK(again->input_port == 0);
  CHECK(again->length() == 0);

  PacketPool::free_bulk(got.data(), 4);
  CHECK(pool.available() == 4);
  Packet* five[5] = {};
  CHECK_FALSE(pool.alloc_bulk(five, 5));
  CHECK(five[0] == nullptr);  // nothing handed out
  CHECK(pool.available() == 4);
  CHECK(pool.counters().alloc_failures == 2);
  REQUIRE(pool.alloc_bulk(five, 4));
  CHECK(pool.available() == 0);
  CHECK(pool.alloc_bulk(five, 0));

  PacketPool::free(nullptr);
  PacketPool::free_bulk(five, 4);
  PacketPool::free_bulk(got.data() + 4, 4);
  CHECK(pool.available() == 8);
  CHECK(pool.counters().double_frees == 0);
}

TEST_CASE("PacketPool: a double free is counted and ignored") {
  auto m = memory();
  PacketPool& pool = **m->create_pool(small_pool(4));
  Packet* p = pool.alloc();
  Packet* q = pool.alloc();
  PacketPool::free(p);
  PacketPool::free(p);
  CHECK(pool.counters().double_frees == 1);
  CHECK(pool.available() == 3);
  // The stack is intact: the next allocations are p, then two others, never p twice.
  Packet* a = pool.alloc();
  Packet* b = pool.alloc();
  Packet* c = pool.alloc();
  CHECK(a == p);
  CHECK(b != p);
  CHECK(c != p);
  CHECK(b != c);
  CHECK(pool.alloc() == nullptr);
  for (Packet* x : {a, b, c, q}) PacketPool::free(x);
  CHECK(pool.available() == 4);
}

TEST_CASE("PacketPool: freeing a chain returns every segment, to its own pool") {
  auto m = memory();
  PacketPool& p1 = **m->create_pool(small_pool(4));
  PacketPool& p2 = **m->create_pool(small_pool(4));
  Packet* head = p1.alloc();
  Packet* s1 = p2.alloc();
  Packet* s2 = p1.alloc();
  REQUIRE(head->append(100) != nullptr);
  REQUIRE(s1->append(50) != nullptr);
  REQUIRE(s2->append(7) != nullptr);
  PacketAccess::chain(*head, *head, *s1);
  PacketAccess::chain(*head, *s1, *s2);
  CHECK(head->segments() == 3);
  CHECK(head->total_length() == 157);
  CHECK(head->length() == 100);
  CHECK(head->next_segment() == s1);
  CHECK(s1->next_segment() == s2);
  CHECK(p1.available() == 2);
  CHECK(p2.available() == 3);
  PacketPool::free(head);
  CHECK(p1.available() == 4);
  CHECK(p2.available() == 4);
  PacketPool::free(head);  // the chain is gone: only the head is a double free
  CHECK(p1.counters().double_frees == 1);
  CHECK(p2.counters().double_frees == 0);
}

TEST_CASE("Packet editing at its limits; refusals change nothing") {
  auto m = memory();
  PacketPool& pool = **m->create_pool(small_pool(2));
  Packet* p = pool.alloc();
  uint8_t* start = p->data();

  CHECK(p->append(129) == nullptr);
  CHECK(p->length() == 0);
  uint8_t* t = p->append(128);
  CHECK(t == start);
  CHECK(p->length() == 128);
  CHECK(p->tailroom() == 0);
  CHECK(p->append(1) == nullptr);

  CHECK(p->prepend(129) == nullptr);
  CHECK(p->headroom() == 128);
  uint8_t* front = p->prepend(128);
  CHECK(front == PacketAccess::buffer(*p));
  CHECK(p->headroom() == 0);
  CHECK(p->length() == 256);
  CHECK(p->total_length() == 256);
  CHECK(p->prepend(1) == nullptr);
  CHECK(p->bytes().size() == 256);

  CHECK_FALSE(p->trim_front(257));
  CHECK(p->trim_front(56));
  CHECK(p->headroom() == 56);
  CHECK(p->length() == 200);
  CHECK_FALSE(p->trim_back(201));
  CHECK(p->trim_back(100));
  CHECK(p->length() == 100);
  CHECK(p->tailroom() == 100);
  CHECK(p->total_length() == 100);

  CHECK_FALSE(p->set_length(201));
  CHECK(p->length() == 100);
  CHECK(p->set_length(200));
  CHECK(p->tailroom() == 0);
  CHECK(p->total_length() == 200);
  CHECK(p->set_length(0));
  CHECK(p->total_length() == 0);

  // Trim everything from the front: the data start sits at the end of the buffer.
  CHECK(p->set_length(200));
  CHECK(p->trim_front(200));
  CHECK(p->headroom() == 256);
  CHECK(p->length() == 0);
  CHECK(p->tailroom() == 0);
  CHECK_FALSE(p->trim_back(1));
  CHECK_FALSE(p->trim_front(1));
  CHECK(p->prepend(256) == PacketAccess::buffer(*p));
  PacketPool::free(p);
}

TEST_CASE("Packet editing: the largest buffer keeps its data offset") {
  auto m = memory(2 * kMiB);
  PacketPool& pool = **m->create_pool({2, 65472, 128});
  Packet* p = pool.alloc();
  REQUIRE(p->set_length(65472 - 128));
  REQUIRE(p->trim_front(65472 - 128));
  CHECK(p->headroom() == 65472);
  CHECK(p->tailroom() == 0);
  CHECK(p->length() == 0);
  PacketPool::free(p);
}

TEST_CASE("Batch basics") {
  auto m = memory();
  PacketPool& pool = **m->create_pool(small_pool(40));
  Batch b;
  CHECK(b.empty());
  CHECK(b.room() == Batch::kMax);
  while (!b.full()) b.push(pool.alloc());
  CHECK(b.count == 32);
  CHECK(b.room() == 0);
  CHECK(pool.available() == 8);
  uint32_t i = 0;
  for (Packet* p : b) CHECK(p == b[i++]);
  CHECK(b.span().size() == 32);
  const Batch copy = b;  // trivially copyable: a plain copy of 32 pointers
  CHECK(copy[31] == b[31]);
  PacketPool::free_bulk(b.packets, b.count);
  b.clear();
  CHECK(b.empty());
  CHECK(pool.available() == 40);
}

TEST_CASE("PacketMemory: pools and rings until the region is full") {
  auto m = memory(64 * 1024);
  CHECK(m->region().size() == 64 * 1024);
  auto pool = m->create_pool(small_pool(128));  // 32 KiB
  REQUIRE(pool.ok());
  CHECK(m->used() == 32 * 1024);
  auto too_big = m->create_pool(small_pool(129));
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().code == Errc::resource);
  CHECK(m->used() == 32 * 1024);  // a refused pool takes nothing

  std::vector<std::byte*> rings;
  for (;;) {
    auto r = m->carve(5000, 64);
    if (!r.ok()) {
      CHECK(r.error().code == Errc::resource);
      break;
    }
    CHECK(reinterpret_cast<uintptr_t>(*r) % 64 == 0);
    rings.push_back(*r);
  }
  CHECK(rings.size() == 6);  // 6 * 5056 fits in the remaining 32 KiB, 7 does not
  auto last = m->create_pool(small_pool(10));  // 2560 bytes; 2432 are left
  REQUIRE_FALSE(last.ok());
  CHECK(last.error().code == Errc::resource);
}
