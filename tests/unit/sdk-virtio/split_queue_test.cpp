// SplitVirtqueue (driver side) against FakeSplitDevice: layout, construction
// checks, round trips across the 16-bit index wrap, chains, notification
// suppression with and without EVENT_IDX, IN_ORDER, and a hostile device.
#include "nfv/virtio/split_queue.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <vector>

#include "fake_device.hpp"
#include "nfv/virtio/ring.hpp"

using namespace nfv::virtio;
using nfv::virtio::test::FakeRegion;
using nfv::virtio::test::QueueRig;

namespace {
constexpr uint64_t kEventIdx = feature_bit(VIRTIO_F_EVENT_IDX);
constexpr uint64_t kInOrder = feature_bit(VIRTIO_F_IN_ORDER);
constexpr uint64_t kVersion1 = feature_bit(VIRTIO_F_VERSION_1);
}  // namespace

TEST_CASE("split ring layout follows virtio 1.2 section 2.7") {
  constexpr SplitRingLayout l = split_ring_layout(256);
  static_assert(l.desc_offset == 0 && l.desc_size == 4096);
  static_assert(l.avail_offset == 4096 && l.avail_size == 6 + 2 * 256);
  static_assert(l.used_offset == 4616 && l.used_size == 6 + 8 * 256);  // 4614 rounded up to 4
  static_assert(l.total_size == 4616 + 2054);
  constexpr SplitRingLayout legacy = split_ring_layout(256, kLegacyUsedAlign);
  static_assert(legacy.used_offset == 8192);
  CHECK(split_ring_layout(1).used_offset == 16 + 8);
  CHECK(is_valid_queue_size(1));
  CHECK(is_valid_queue_size(32768));
  CHECK_FALSE(is_valid_queue_size(0));
  CHECK_FALSE(is_valid_queue_size(384));
  CHECK_FALSE(is_valid_queue_size(65536));
  CHECK(kVersion1 == uint64_t{1} << 32);
  CHECK(kInOrder == uint64_t{1} << 35);
}

TEST_CASE("vring_need_event: event inside [old, new) modulo 2^16") {
  CHECK(vring_need_event(0, 1, 0));
  CHECK_FALSE(vring_need_event(1, 1, 0));
  CHECK(vring_need_event(5, 10, 3));
  CHECK_FALSE(vring_need_event(2, 10, 3));
  CHECK_FALSE(vring_need_event(10, 10, 3));
  CHECK(vring_need_event(65535, 2, 65534));  // across the wrap
  CHECK(vring_need_event(0, 2, 65534));
  CHECK_FALSE(vring_need_event(2, 2, 65534));
  CHECK_FALSE(vring_need_event(7, 7, 7));  // nothing published
}

TEST_CASE("create validates size, alignment, window and overlap") {
  FakeRegion r(1 << 20);
  auto cfg = [&](uint32_t n) { return contiguous_split_queue(n, r.data(), r.memory(), 0); };
  for (uint32_t bad : {0u, 3u, 100u, 65536u}) {
    auto q = SplitVirtqueue::create(cfg(bad));
    REQUIRE_FALSE(q.ok());
    CHECK(q.error().code == nfv::Errc::invalid_argument);
    CHECK(q.error().message.find("power of two") != std::string::npos);
  }
  CHECK(SplitVirtqueue::create(cfg(32768)).ok());
  CHECK(SplitVirtqueue::create(cfg(1)).ok());

  auto c = cfg(64);
  c.desc = r.data() + 8;  // not 16-byte aligned
  CHECK_FALSE(SplitVirtqueue::create(c).ok());
  c = cfg(64);
  c.memory.size = 1024;  // used ring outside the window
  auto q = SplitVirtqueue::create(c);
  REQUIRE_FALSE(q.ok());
  CHECK(q.error().message.find("window") != std::string::npos);
  c = cfg(64);
  c.avail = r.data() + 512;  // inside the descriptor table
  CHECK_FALSE(SplitVirtqueue::create(c).ok());
  c = cfg(64);
  c.used = nullptr;
  CHECK_FALSE(SplitVirtqueue::create(c).ok());

  c = cfg(64);
  auto ok = SplitVirtqueue::create(c);
  REQUIRE(ok.ok());
  const SplitRingLayout l = split_ring_layout(64);
  CHECK(ok->desc_driver_addr() == r.base);
  CHECK(ok->avail_driver_addr() == r.base + l.avail_offset);
  CHECK(ok->used_driver_addr() == r.base + l.used_offset);
  CHECK(ok->num_free() == 64);
  CHECK(ok->size() == 64);
}

TEST_CASE("round trips across the 16-bit index wrap, any order") {
  QueueRig rig(8, kVersion1);
  REQUIRE(rig.queue.ok());
  SplitVirtqueue& q = *rig.queue;
  constexpr uint32_t kBuf = 128;
  std::array<Completion, 8> out{};
  uint64_t next_token = 0;
  uint64_t expect_token = 0;
  const uint64_t total = 70000;  // > 65536: both indices wrap
  std::vector<uint16_t> pending;
  while (expect_token < total) {
    // Fill whatever is free; slot = token % 8 picks the buffer (distinct while in flight).
    while (next_token < total && q.num_free() > 0) {
      REQUIRE(q.add_buffer(rig.buffer_addr((next_token % 8) * kBuf), kBuf, true, next_token) ==
              AddStatus::ok);
      ++next_token;
    }
    q.publish();
    // The device completes in FIFO order but in varying batch sizes, writing data.
    const uint16_t batch = static_cast<uint16_t>(1 + (expect_token % 5));
    for (uint16_t i = 0; i < batch; ++i) {
      auto c = rig.device.pop();
      if (!c) break;
      REQUIRE(c->segments.size() == 1);
      const auto& s = c->segments[0];
      REQUIRE(s.flags == VIRTQ_DESC_F_WRITE);
      REQUIRE(s.len == kBuf);
      std::byte* p = rig.device.host(s.addr, s.len);
      REQUIRE(p != nullptr);
      const uint32_t len = 1 + static_cast<uint32_t>(s.addr % 97);
      std::memset(p, 0xab, len);
      rig.device.push_used(c->head, len);
    }
    rig.device.publish_used();
    const std::size_t n = q.poll_used(out);
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(out[i].token == expect_token);
      const uint64_t addr = rig.buffer_addr((expect_token % 8) * kBuf);
      REQUIRE(out[i].len == 1 + addr % 97);
      ++expect_token;
    }
  }
  CHECK(q.counters().added == total);
  CHECK(q.counters().published == total);
  CHECK(q.counters().completed == total);
  CHECK(q.counters().bad_used_ids == 0);
  CHECK(q.counters().bad_used_lens == 0);
  CHECK(q.next_avail_idx() == static_cast<uint16_t>(total));
  CHECK(q.last_used_idx() == static_cast<uint16_t>(total));
  CHECK(q.num_free() == 8);
  CHECK(q.in_flight_buffers() == 0);
}

TEST_CASE("chains: layout seen by the device, out-of-order completion, full ring") {
  QueueRig rig(8, kVersion1);
  REQUIRE(rig.queue.ok());
  SplitVirtqueue& q = *rig.queue;
  const std::array<BufferSegment, 3> chain{{{rig.buffer_addr(0), 12, false},
                                            {rig.buffer_addr(64), 1500, false},
                                            {rig.buffer_addr(2048), 1, true}}};
  REQUIRE(q.add_chain(chain, 100) == AddStatus::ok);
  REQUIRE(q.add_chain(chain, 101) == AddStatus::ok);
  CHECK(q.num_free() == 2);
  CHECK(q.add_chain(chain, 102) == AddStatus::ring_full);
  CHECK(q.counters().ring_full == 1);
  REQUIRE(q.add_buffer(rig.buffer_addr(4096), 60, false, 103) == AddStatus::ok);
  CHECK(q.publish());  // device did not suppress notifications

  auto a = rig.device.pop();
  auto b = rig.device.pop();
  auto c = rig.device.pop();
  REQUIRE((a && b && c));
  REQUIRE(a->segments.size() == 3);
  CHECK(a->segments[0].flags == VIRTQ_DESC_F_NEXT);
  CHECK(a->segments[1].flags == VIRTQ_DESC_F_NEXT);
  CHECK(a->segments[2].flags == VIRTQ_DESC_F_WRITE);
  CHECK(a->segments[1].len == 1500);
  CHECK(a->segments[2].addr == rig.buffer_addr(2048));
  REQUIRE(c->segments.size() == 1);
  CHECK(c->segments[0].flags == 0);
  CHECK_FALSE(rig.device.pop());

  // Complete in reverse order.
  rig.device.push_used(c->head, 0);
  rig.device.push_used(b->head, 1);
  rig.device.push_used(a->head, 1);
  rig.device.publish_used();
  std::array<Completion, 8> out{};
  REQUIRE(q.poll_used(out) == 3);
  CHECK(out[0].token == 103);
  CHECK(out[1].token == 101);
  CHECK(out[2].token == 100);
  CHECK(out[2].len == 1);
  CHECK(q.num_free() == 8);

  // Freed descriptors make a full-size chain possible again.
  std::array<BufferSegment, 8> eight{};
  for (std::size_t i = 0; i < eight.size(); ++i) eight[i] = {rig.buffer_addr(i * 64), 64, i >= 4};
  REQUIRE(q.add_chain(eight, 7) == AddStatus::ok);
  q.publish();
  auto big = rig.device.pop();
  REQUIRE(big);
  CHECK(big->segments.size() == 8);
  CHECK_FALSE(rig.device.looped);
  rig.device.push_used(big->head, 256);
  rig.device.publish_used();
  REQUIRE(q.poll_used(out) == 1);
  CHECK(out[0].len == 256);

  // Malformed chains are the caller's bug: refused and counted.
  const std::array<BufferSegment, 2> backwards{
      {{rig.buffer_addr(0), 8, true}, {rig.buffer_addr(8), 8, false}}};
  CHECK(q.add_chain(backwards, 1) == AddStatus::bad_chain);
  CHECK(q.add_chain({}, 1) == AddStatus::bad_chain);
  std::array<BufferSegment, 9> nine{};
  for (auto& s : nine) s = {rig.buffer_addr(0), 8, false};
  CHECK(q.add_chain(nine, 1) == AddStatus::bad_chain);
  CHECK(q.counters().bad_chains == 3);
  CHECK(q.num_free() == 8);
}

TEST_CASE("notification suppression without EVENT_IDX") {
  QueueRig rig(16, kVersion1);
  REQUIRE(rig.queue.ok());
  SplitVirtqueue& q = *rig.queue;
  CHECK_FALSE(q.publish());  // nothing added: no kick
  REQUIRE(q.add_buffer(rig.buffer_addr(0), 64, true, 1) == AddStatus::ok);
  CHECK(q.publish());
  rig.device.set_no_notify(true);
  REQUIRE(q.add_buffer(rig.buffer_addr(64), 64, true, 2) == AddStatus::ok);
  CHECK_FALSE(q.publish());
  rig.device.set_no_notify(false);
  REQUIRE(q.add_buffer(rig.buffer_addr(128), 64, true, 3) == AddStatus::ok);
  CHECK(q.publish());
  CHECK(q.counters().notifies == 2);
  CHECK(q.counters().published == 3);

  // Driver side: interrupts off sets VRING_AVAIL_F_NO_INTERRUPT.
  CHECK_FALSE(q.set_interrupts(false));
  CHECK(rig.device.avail_flags() == VRING_AVAIL_F_NO_INTERRUPT);
  auto c = rig.device.pop();
  REQUIRE(c);
  rig.device.push_used(c->head, 10);
  CHECK_FALSE(rig.device.publish_used());
  CHECK(q.set_interrupts(true));  // a completion is already pending
  CHECK(rig.device.avail_flags() == 0);
  std::array<Completion, 4> out{};
  CHECK(q.poll_used(out) == 1);
  CHECK_FALSE(q.set_interrupts(true));
  c = rig.device.pop();
  REQUIRE(c);
  rig.device.push_used(c->head, 10);
  CHECK(rig.device.publish_used());
}

TEST_CASE("notification suppression with EVENT_IDX") {
  QueueRig rig(16, kVersion1 | kEventIdx);
  REQUIRE(rig.queue.ok());
  SplitVirtqueue& q = *rig.queue;
  CHECK(q.event_idx());
  // avail_event = 0: the device wants a kick when idx moves past 0.
  REQUIRE(q.add_buffer(rig.buffer_addr(0), 64, true, 0) == AddStatus::ok);
  CHECK(q.publish());  // 0 -> 1 crosses 0
  REQUIRE(q.add_buffer(rig.buffer_addr(64), 64, true, 1) == AddStatus::ok);
  CHECK_FALSE(q.publish());  // 1 -> 2 does not cross 0
  rig.device.set_avail_event(4);
  for (uint64_t t = 2; t < 4; ++t)
    REQUIRE(q.add_buffer(rig.buffer_addr(t * 64), 64, true, t) == AddStatus::ok);
  CHECK_FALSE(q.publish());  // 2 -> 4 does not cross 4
  REQUIRE(q.add_buffer(rig.buffer_addr(256), 64, true, 4) == AddStatus::ok);
  REQUIRE(q.add_buffer(rig.buffer_addr(320), 64, true, 5) == AddStatus::ok);
  CHECK(q.publish());  // 4 -> 6 crosses 4: one kick for the batch
  CHECK(q.counters().notifies == 2);
  CHECK(rig.device.avail_flags() == 0);  // flags stay 0 with EVENT_IDX (2.7.7)

  // Interrupts: enabled means used_event = last_used.
  CHECK_FALSE(q.set_interrupts(true));
  CHECK(rig.device.used_event() == 0);
  auto c = rig.device.pop();
  rig.device.push_used(c->head, 1);
  CHECK(rig.device.publish_used());  // used 0 -> 1 crosses used_event 0
  std::array<Completion, 8> out{};
  CHECK(q.poll_used(out) == 1);
  CHECK_FALSE(q.set_interrupts(false));
  CHECK(rig.device.avail_flags() == 0);
  for (int i = 0; i < 5; ++i) {
    c = rig.device.pop();
    REQUIRE(c);
    rig.device.push_used(c->head, 1);
    CHECK_FALSE(rig.device.publish_used());  // suppressed
  }
  CHECK(q.set_interrupts(true));  // 5 pending: poll before sleeping
  CHECK(rig.device.used_event() == 1);
  CHECK(q.poll_used(out) == 5);
}

TEST_CASE("IN_ORDER: descriptors reused in ring order, one used entry completes a batch") {
  QueueRig rig(8, kVersion1 | kInOrder);
  REQUIRE(rig.queue.ok());
  SplitVirtqueue& q = *rig.queue;
  CHECK(q.in_order());
  std::array<Completion, 8> out{};
  const std::array<BufferSegment, 2> pair{
      {{rig.buffer_addr(0), 10, false}, {rig.buffer_addr(64), 100, true}}};
  uint16_t expect_desc = 0;
  uint64_t token = 0;
  uint64_t done = 0;
  for (int round = 0; round < 40; ++round) {
    // Alternate single buffers and 2-descriptor chains so heads wrap unevenly.
    while (true) {
      const AddStatus st =
          (token % 3 == 2) ? q.add_chain(pair, token) : q.add_buffer(rig.buffer_addr(128), 100, true, token);
      if (st != AddStatus::ok) break;
      ++token;
    }
    q.publish();
    std::vector<uint16_t> heads;
    while (auto c = rig.device.pop()) {
      for (const auto& s : c->segments) {  // descriptors come in ring order
        CHECK(s.index == expect_desc);
        expect_desc = static_cast<uint16_t>((expect_desc + 1) & 7);
      }
      heads.push_back(c->head);
    }
    REQUIRE_FALSE(heads.empty());
    // One used entry for the whole batch, naming the last buffer.
    rig.device.push_used(heads.back(), 7);
    rig.device.publish_used();
    // A small out span: the batch is delivered over several calls.
    std::size_t got = 0;
    while (got < heads.size()) {
      const std::size_t n = q.poll_used(std::span<Completion>(out.data(), 2));
      REQUIRE(n > 0);
      for (std::size_t i = 0; i < n; ++i) {
        CHECK(out[i].token == done);
        const bool last = got + i + 1 == heads.size();
        CHECK(out[i].len == (last ? 7u : 100u));
        ++done;
      }
      got += n;
    }
    CHECK(q.num_free() == 8);
  }
  CHECK(done == token);
  CHECK(q.counters().bad_used_ids == 0);
}

TEST_CASE("hostile device: bad ids, duplicates, unpublished ids, huge lengths") {
  for (uint64_t features : {kVersion1, kVersion1 | kInOrder}) {
    CAPTURE(features);
    QueueRig rig(8, features);
    REQUIRE(rig.queue.ok());
    SplitVirtqueue& q = *rig.queue;
    REQUIRE(q.add_buffer(rig.buffer_addr(0), 100, true, 10) == AddStatus::ok);
    REQUIRE(q.add_buffer(rig.buffer_addr(128), 100, false, 11) == AddStatus::ok);
    q.publish();
    REQUIRE(q.add_buffer(rig.buffer_addr(256), 100, true, 12) == AddStatus::ok);  // not published
    auto a = rig.device.pop();
    auto b = rig.device.pop();
    REQUIRE((a && b));
    CHECK_FALSE(rig.device.pop());
    // The device scribbles over the descriptor table: the driver never reads it back.
    rig.device.desc_table()[a->head].next = 5;
    rig.device.desc_table()[a->head].flags = VIRTQ_DESC_F_NEXT;

    rig.device.push_used(8, 1);                  // out of range
    rig.device.push_used(0xffff'ffff, 1);        // far out of range
    rig.device.push_used(2, 1);                  // added but never published
    rig.device.push_used(a->head, 0x7fff'ffff);  // huge length
    rig.device.push_used(a->head, 1);            // duplicate
    rig.device.push_used(b->head, 5);            // device-readable buffer: len must be 0
    rig.device.publish_used();
    std::array<Completion, 8> out{};
    REQUIRE(q.poll_used(out) == 2);
    CHECK(out[0].token == 10);
    CHECK(out[0].len == 0);
    CHECK(out[1].token == 11);
    CHECK(out[1].len == 0);
    CHECK(q.counters().bad_used_ids == 4);
    CHECK(q.counters().bad_used_lens == 2);
    CHECK(q.in_flight_buffers() == 1);
    CHECK(q.num_free() == 7);
    CHECK_FALSE(q.needs_reset());

    // Still works: publish the third buffer and complete it properly.
    q.publish();
    auto c = rig.device.pop();
    REQUIRE(c);
    CHECK(c->head == 2);
    rig.device.push_used(c->head, 64);
    rig.device.publish_used();
    REQUIRE(q.poll_used(out) == 1);
    CHECK(out[0].token == 12);
    CHECK(out[0].len == 64);
    CHECK(q.num_free() == 8);
    for (uint64_t t = 0; t < 8; ++t) {
      CHECK(q.add_buffer(rig.buffer_addr(t * 64), 64, true, t) == AddStatus::ok);
    }
    q.publish();
    for (uint64_t t = 0; t < 8; ++t) {
      auto d = rig.device.pop();
      REQUIRE(d);
      REQUIRE(d->segments.size() == 1);  // the scribbled NEXT flag was rewritten
      rig.device.push_used(d->head, 64);
    }
    rig.device.publish_used();
    CHECK(q.poll_used(out) == 8);
    CHECK(q.num_free() == 8);
  }
}

TEST_CASE("hostile device: used index runs ahead of the ring") {
  QueueRig rig(8, kVersion1);
  REQUIRE(rig.queue.ok());
  SplitVirtqueue& q = *rig.queue;
  REQUIRE(q.add_buffer(rig.buffer_addr(0), 64, true, 1) == AddStatus::ok);
  q.publish();
  rig.device.set_used_idx_raw(9);  // 9 entries in an 8-entry ring
  std::array<Completion, 16> out{};
  CHECK(q.poll_used(out) == 0);
  CHECK(q.needs_reset());
  CHECK(q.counters().bad_used_index == 1);
  CHECK(q.poll_used(out) == 0);  // stays stopped, no second count
  CHECK(q.counters().bad_used_index == 1);
}

TEST_CASE("driver addresses: same queue over a process region and a guest-physical window") {
  for (uint64_t base : {uint64_t{0x7f00'0000'0000}, uint64_t{0x10'0000}}) {
    FakeRegion r(1 << 16, base);
    auto q = SplitVirtqueue::create(contiguous_split_queue(32, r.data() + 4096, r.memory(), 0));
    REQUIRE(q.ok());
    const SplitRingLayout l = split_ring_layout(32);
    CHECK(q->desc_driver_addr() == base + 4096);
    CHECK(q->avail_driver_addr() == base + 4096 + l.avail_offset);
    CHECK(q->used_driver_addr() == base + 4096 + l.used_offset);
    const DriverMemory m = r.memory();
    CHECK(m.to_driver(r.data() + 100) == base + 100);
    CHECK(m.contains(r.data(), r.size()));
    CHECK_FALSE(m.contains(r.data() + 1, r.size()));
  }
}
