// NetRxQueue against FakeSplitDevice on a real PacketMemory: buffers posted
// at headroom - 12, single-buffer and mergeable frames (also across polls),
// a hostile device's lengths and num_buffers, pool exhaustion, detach, and
// the in-order / event-idx variants. Transmit: net_tx_queue_test.cpp.
#include "nfv/virtio/net_queue.hpp"

#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>

#include "net_rig.hpp"

using namespace nfv;
using namespace nfv::virtio;
using namespace nfv::virtio::test;

namespace {

struct RxRig {
  explicit RxRig(uint32_t size, bool mergeable, uint64_t features = kVersion1, const PacketPoolConfig& pc = kPool,
                 int kick_fd = -1)
      : mem(packet_memory()), pool(packet_pool(*mem, pc)), ring(*mem, size, features) {
    rx.attach(ring.queue(rx.ring_counters()), pool, mergeable, kick_fd);
  }
  FakeSplitDevice& dev() { return ring.device; }
  uint32_t receive() { return rx.receive(out.data(), static_cast<uint32_t>(out.size())); }

  std::unique_ptr<PacketMemory> mem;
  PacketPool& pool;  // created first: its buffers start at offset 0 of the region
  DeviceRing ring;
  NetRxQueue rx;
  std::array<Packet*, 32> out{};
};

}  // namespace

TEST_CASE("rx: refill posts every free descriptor at headroom - 12, in buffer order") {
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  RxRig rig(16, false, kVersion1, kPool, efd);
  rig.rx.refill();
  CHECK(rig.dev().pending() == 16);
  CHECK(rig.pool.available() == 64 - 16);
  CHECK(rig.rx.counters().kicks == 1);
  uint64_t kicks = 0;
  CHECK(::read(efd, &kicks, sizeof kicks) == sizeof kicks);
  CHECK(kicks == 1);
  const uint64_t base = rig.mem->region().driver_base();
  for (uint64_t k = 0; k < 16; ++k) {
    const Posted b = next_posted(rig.dev());
    CHECK(b.flags == VIRTQ_DESC_F_WRITE);
    CHECK(b.addr == base + k * 2048 + kBufferOffset);
    CHECK(b.len == kBufferLen);
  }
  rig.rx.refill();  // ring full: nothing to post, no kick
  CHECK(rig.rx.counters().kicks == 1);
  CHECK(rig.rx.counters().no_buffer == 0);
  rig.rx.detach();
  ::close(efd);
}

TEST_CASE("rx: one frame per buffer, data where the VNF expects it") {
  RxRig rig(16, false);
  rig.rx.refill();
  const Posted a = deliver(rig.dev(), 100, 1, 0);  // num_buffers is ignored without MRG_RXBUF
  deliver(rig.dev(), 1, 2);
  deliver(rig.dev(), kBufferLen - kNetHeaderSize, 3);  // a full buffer
  rig.dev().publish_used();
  REQUIRE(rig.receive() == 3);
  Packet* p = rig.out[0];
  CHECK(p->length() == 100);
  CHECK(p->total_length() == 100);
  CHECK(p->headroom() == 128);
  CHECK(p->segments() == 1);
  CHECK(p->pool() == &rig.pool);
  CHECK(reinterpret_cast<std::byte*>(p->data()) == a.host + kNetHeaderSize);
  CHECK(has_pattern(p->data(), 100, 1));
  CHECK(rig.out[1]->length() == 1);
  CHECK(rig.out[2]->length() == 2048 - 128);
  CHECK(rig.out[2]->tailroom() == 0);
  CHECK(has_pattern(rig.out[2]->data(), 2048 - 128, 3));
  CHECK(rig.rx.counters().packets == 3);
  CHECK(rig.rx.counters().bytes == 100 + 1 + 1920);
  PacketPool::free_bulk(rig.out.data(), 3);
  CHECK(rig.pool.available() == 64 - 16 + 3);
  CHECK(rig.receive() == 0);
  rig.rx.detach();
  CHECK(rig.pool.available() == 64);
}

TEST_CASE("rx mergeable: a frame across three buffers is one chained Packet") {
  RxRig rig(16, true);
  rig.rx.refill();
  const uint32_t first = kBufferLen - kNetHeaderSize;  // 1920
  deliver(rig.dev(), first, 0, 3);
  Posted b = next_posted(rig.dev());
  write_pattern(b.host, kBufferLen, static_cast<uint8_t>(first));
  rig.dev().push_used(b.head, kBufferLen);
  Posted c = next_posted(rig.dev());
  write_pattern(c.host, 500, static_cast<uint8_t>(first + kBufferLen));
  rig.dev().push_used(c.head, 500);
  rig.dev().publish_used();

  REQUIRE(rig.receive() == 1);
  Packet* p = rig.out[0];
  CHECK(p->segments() == 3);
  CHECK(p->total_length() == first + kBufferLen + 500);
  CHECK(p->length() == first);
  CHECK(p->headroom() == 128);
  CHECK(has_pattern(p->data(), first, 0));
  Packet* s1 = p->next_segment();
  REQUIRE(s1 != nullptr);
  CHECK(s1->headroom() == kBufferOffset);  // later buffers carry no header
  CHECK(s1->length() == kBufferLen);
  CHECK(reinterpret_cast<std::byte*>(s1->data()) == b.host);
  CHECK(has_pattern(s1->data(), kBufferLen, static_cast<uint8_t>(first)));
  Packet* s2 = s1->next_segment();
  REQUIRE(s2 != nullptr);
  CHECK(s2->length() == 500);
  CHECK(has_pattern(s2->data(), 500, static_cast<uint8_t>(first + kBufferLen)));
  CHECK(s2->next_segment() == nullptr);
  CHECK(rig.rx.counters().packets == 1);
  CHECK(rig.rx.counters().bytes == p->total_length());
  PacketPool::free(p);
  rig.rx.detach();
  CHECK(rig.pool.available() == 64);
}

TEST_CASE("rx mergeable: the later buffers of a frame arrive in a later poll") {
  RxRig rig(16, true);
  rig.rx.refill();
  const uint32_t first = kBufferLen - kNetHeaderSize;  // a merged frame fills all but its last buffer
  deliver(rig.dev(), first, 5, 2);
  rig.dev().publish_used();
  // Only the head of the frame is used: nothing yet.
  CHECK(rig.receive() == 0);
  Posted tail = next_posted(rig.dev());
  write_pattern(tail.host, 30, 7);
  rig.dev().push_used(tail.head, 30);
  rig.dev().publish_used();
  REQUIRE(rig.receive() == 1);
  CHECK(rig.out[0]->segments() == 2);
  CHECK(rig.out[0]->total_length() == first + 30);
  CHECK(has_pattern(rig.out[0]->next_segment()->data(), 30, 7));
  PacketPool::free(rig.out[0]);
  rig.rx.detach();
  CHECK(rig.pool.available() == 64);
}

TEST_CASE("rx hostile device: lengths and num_buffers are checked, buffers come back") {
  RxRig rig(16, true);
  rig.rx.refill();
  auto complete = [&](uint32_t len, uint16_t num_buffers) {
    Posted b = next_posted(rig.dev());
    write_header(b.host, num_buffers);
    rig.dev().push_used(b.head, len);
  };
  complete(0, 1);                    // empty
  complete(kNetHeaderSize, 1);       // a header and no frame
  complete(kBufferLen + 1, 1);       // beyond the buffer: the ring makes it 0
  complete(0xffff'ffff, 1);          // far beyond
  complete(kBufferLen, 0);           // num_buffers 0
  complete(kBufferLen, 17);          // more buffers than the queue has
  complete(kBufferLen, 2);           // a merge whose second buffer is empty
  complete(0, 1);
  deliver(rig.dev(), 64, 9, 2);      // a short buffer is a whole frame (5.1.6.4.2): num_buffers ignored
  deliver(rig.dev(), 64, 9);         // and a good frame still gets through
  rig.dev().publish_used();
  REQUIRE(rig.receive() == 2);
  for (int i = 0; i < 2; ++i) {
    CHECK(rig.out[i]->length() == 64);
    CHECK(rig.out[i]->segments() == 1);
    CHECK(has_pattern(rig.out[i]->data(), 64, 9));
  }
  CHECK(rig.rx.counters().bad_length == 4);
  CHECK(rig.rx.counters().bad_merge == 3);
  CHECK(rig.rx.counters().packets == 2);
  CHECK(rig.rx.ring_counters()->bad_used_lens == 2);
  PacketPool::free(rig.out[1]);
  PacketPool::free(rig.out[0]);
  rig.rx.detach();
  CHECK(rig.pool.available() == 64);
  CHECK(rig.pool.counters().double_frees == 0);
}

TEST_CASE("rx: a pool that runs dry leaves the ring short, refills later") {
  RxRig rig(16, false, kVersion1, PacketPoolConfig{10, 2048, 128});
  rig.rx.refill();
  CHECK(rig.dev().pending() == 10);
  CHECK(rig.pool.available() == 0);
  CHECK(rig.rx.counters().no_buffer == 1);
  for (uint8_t i = 0; i < 10; ++i) deliver(rig.dev(), 50, i);
  rig.dev().publish_used();
  REQUIRE(rig.receive() == 10);  // the refill after it finds the pool empty
  CHECK(rig.rx.counters().no_buffer == 2);
  CHECK(rig.dev().pending() == 0);
  PacketPool::free_bulk(rig.out.data(), 10);
  CHECK(rig.receive() == 0);  // 16 free descriptors: refill
  CHECK(rig.dev().pending() == 10);
  CHECK(rig.pool.available() == 0);
  rig.rx.detach();
  CHECK(rig.pool.available() == 10);
}

TEST_CASE("rx detach returns posted, completed-unpolled and partial buffers") {
  RxRig rig(16, true);
  rig.rx.refill();
  deliver(rig.dev(), kBufferLen - kNetHeaderSize, 1, 3);  // head of a 3-buffer frame (a full buffer)
  rig.dev().publish_used();
  CHECK(rig.receive() == 0);
  deliver(rig.dev(), 100, 2);  // used but never polled
  rig.dev().publish_used();
  CHECK(rig.pool.available() == 64 - 16);
  rig.rx.detach();
  CHECK_FALSE(rig.rx.attached());
  CHECK(rig.pool.available() == 64);
  CHECK(rig.pool.counters().double_frees == 0);

  // A new queue on the same ring: nothing of the old frame leaks into it.
  rig.rx.attach(rig.ring.queue(rig.rx.ring_counters()), rig.pool, true, -1);
  FakeSplitDevice fresh(rig.ring.config, false);
  rig.rx.refill();
  deliver(fresh, 80, 3);
  fresh.publish_used();
  REQUIRE(rig.receive() == 1);
  CHECK(rig.out[0]->segments() == 1);
  CHECK(rig.out[0]->length() == 80);
  PacketPool::free(rig.out[0]);
  rig.rx.detach();
  CHECK(rig.pool.available() == 64);
}

TEST_CASE("rx in-order: one used entry completes the buffers of a merged frame") {
  RxRig rig(8, true, kVersion1 | kInOrder);
  rig.rx.refill();
  const Posted a = next_posted(rig.dev());
  const Posted b = next_posted(rig.dev());
  const Posted c = next_posted(rig.dev());
  write_header(a.host, 3);
  write_pattern(a.host + kNetHeaderSize, kBufferLen - kNetHeaderSize, 0);
  write_pattern(b.host, kBufferLen, 1);
  write_pattern(c.host, 10, 2);
  rig.dev().push_used(c.head, 10);  // earlier buffers were used entirely (2.7.9)
  rig.dev().publish_used();
  REQUIRE(rig.receive() == 1);
  Packet* p = rig.out[0];
  CHECK(p->segments() == 3);
  CHECK(p->total_length() == (kBufferLen - kNetHeaderSize) + kBufferLen + 10);
  CHECK(has_pattern(p->next_segment()->data(), kBufferLen, 1));
  PacketPool::free(p);
  rig.rx.detach();
  CHECK(rig.pool.available() == 64);
}

TEST_CASE("rx event-idx: refills kick only when the device's avail_event is crossed") {
  RxRig rig(16, false, kVersion1 | kEventIdx);
  rig.rx.refill();  // 0 -> 16 crosses avail_event 0
  CHECK(rig.rx.counters().kicks == 1);
  for (uint8_t i = 0; i < 8; ++i) deliver(rig.dev(), 20, i);
  rig.dev().publish_used();
  REQUIRE(rig.receive() == 8);  // refill 16 -> 24: event 0 not crossed
  PacketPool::free_bulk(rig.out.data(), 8);
  CHECK(rig.rx.counters().kicks == 1);
  rig.dev().set_avail_event(24);
  for (uint8_t i = 0; i < 8; ++i) deliver(rig.dev(), 20, i);
  rig.dev().publish_used();
  REQUIRE(rig.receive() == 8);  // refill 24 -> 32 crosses 24
  PacketPool::free_bulk(rig.out.data(), 8);
  CHECK(rig.rx.counters().kicks == 2);
  rig.rx.detach();
  CHECK(rig.pool.available() == 64);
}
