// VirtioNetCtrlQueue (vmm/src/devices/virtio_net_ctrl.hpp): VQ_PAIRS_SET
// accepted within 1..max, everything else answered ERR, and malformed chains
// (loops, out-of-range heads and nexts, unmapped buffers, indirect, writable
// before readable, no ack byte, oversize commands, a runaway avail index)
// reported as broken without writing anything.
#include "devices/virtio_net_ctrl.hpp"

#include <doctest/doctest.h>

#include <cstring>

#include "device_rig.hpp"
#include "nfv/virtio/ring.hpp"

using namespace nfv::vmm;
using nfv::vmm::test::FakeRam;
using Outcome = VirtioNetCtrlQueue::Outcome;

namespace {
constexpr uint16_t kSize = 8;
constexpr uint64_t kBase = FakeRam::kRamBase;
constexpr uint64_t kDesc = kBase + 0x1000, kAvail = kBase + 0x2000, kUsed = kBase + 0x3000, kBuf = kBase + 0x4000;
constexpr uint16_t F_NEXT = nfv::virtio::VIRTQ_DESC_F_NEXT, F_WRITE = nfv::virtio::VIRTQ_DESC_F_WRITE;

struct Rig {
  FakeRam ram;
  VirtioNetCtrlQueue q;
  uint16_t avail_idx = 0;
  Rig(bool event_idx = false) { q.configure(kSize, kDesc, kAvail, kUsed, event_idx); }
  uint8_t* at(uint64_t gpa) { return ram.bytes.data() + (gpa - kBase); }
  template <typename T>
  void put(uint64_t gpa, T v) { std::memcpy(at(gpa), &v, sizeof v); }
  template <typename T>
  T get(uint64_t gpa) {
    T v;
    std::memcpy(&v, at(gpa), sizeof v);
    return v;
  }
  void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    put(kDesc + 16u * i, addr);
    put(kDesc + 16u * i + 8, len);
    put(kDesc + 16u * i + 12, flags);
    put(kDesc + 16u * i + 14, next);
  }
  void offer(uint16_t head) {
    put<uint16_t>(kAvail + 4 + 2u * (avail_idx % kSize), head);
    put<uint16_t>(kAvail + 2, ++avail_idx);
  }
  // The usual 3-descriptor command: header, data, ack; returns the ack's address.
  uint64_t command(uint16_t first, uint8_t cls, uint8_t cmd, uint16_t pairs) {
    const uint64_t hdr = kBuf + 0x100u * first, data = hdr + 0x10, ack = hdr + 0x20;
    put<uint8_t>(hdr, cls);
    put<uint8_t>(hdr + 1, cmd);
    put<uint16_t>(data, pairs);
    put<uint8_t>(ack, 0xee);
    desc(first, hdr, 2, F_NEXT, static_cast<uint16_t>(first + 1));
    desc(static_cast<uint16_t>(first + 1), data, 2, F_NEXT, static_cast<uint16_t>(first + 2));
    desc(static_cast<uint16_t>(first + 2), ack, 1, F_WRITE);
    offer(first);
    return ack;
  }
  uint16_t used_idx() { return get<uint16_t>(kUsed + 2); }
};
}  // namespace

TEST_CASE("VQ_PAIRS_SET within range is acknowledged and reported") {
  Rig r;
  const uint64_t ack = r.command(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2);
  const auto res = r.q.process(r.ram.memory, 4);
  CHECK(res.outcome == Outcome::completed);
  CHECK(res.pairs == 2);
  CHECK(r.get<uint8_t>(ack) == VIRTIO_NET_OK);
  CHECK(r.used_idx() == 1);
  CHECK(r.get<uint32_t>(kUsed + 4) == 0);  // id = head
  CHECK(r.get<uint32_t>(kUsed + 8) == 1);  // len = the ack byte
  CHECK(r.q.counters().pairs_set.load() == 1);
  // Nothing new: idle.
  CHECK(r.q.process(r.ram.memory, 4).outcome == Outcome::idle);
}

TEST_CASE("pairs out of range, other classes and commands are answered ERR") {
  Rig r;
  const uint64_t a0 = r.command(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0);
  auto res = r.q.process(r.ram.memory, 4);
  CHECK(res.outcome == Outcome::completed);
  CHECK(res.pairs == 0);
  CHECK(r.get<uint8_t>(a0) == VIRTIO_NET_ERR);
  const uint64_t a1 = r.command(3, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 5);
  CHECK(r.q.process(r.ram.memory, 4).pairs == 0);
  CHECK(r.get<uint8_t>(a1) == VIRTIO_NET_ERR);
  const uint64_t a2 = r.command(0, 0 /* RX mode */, 0, 1);
  CHECK(r.q.process(r.ram.memory, 4).pairs == 0);
  CHECK(r.get<uint8_t>(a2) == VIRTIO_NET_ERR);
  const uint64_t a3 = r.command(3, VIRTIO_NET_CTRL_MQ, 1 /* RSS config */, 1);
  CHECK(r.q.process(r.ram.memory, 4).pairs == 0);
  CHECK(r.get<uint8_t>(a3) == VIRTIO_NET_ERR);
  CHECK(r.used_idx() == 4);
  CHECK(r.q.counters().refused.load() == 4);
  CHECK(r.q.counters().commands.load() == 4);
  CHECK(r.q.counters().bad_chains.load() == 0);
}

TEST_CASE("several chains in one pass; the ring index wraps") {
  Rig r;
  for (int round = 0; round < 6; ++round) {  // 6 x 2 commands over an 8-entry ring: the indices wrap
    r.command(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1);
    r.command(3, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3);
    const auto res = r.q.process(r.ram.memory, 4);
    CHECK(res.outcome == Outcome::completed);
    CHECK(res.pairs == 3);  // the last one wins
  }
  CHECK(r.used_idx() == 12);
  CHECK(r.q.counters().commands.load() == 12);
}

TEST_CASE("event idx: avail_event follows the processed chains") {
  Rig r(true);
  r.command(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1);
  r.command(3, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1);
  r.q.process(r.ram.memory, 4);
  CHECK(r.get<uint16_t>(kUsed + 4 + 8 * kSize) == 2);
}

TEST_CASE("malformed chains are broken and nothing is written") {
  auto broken = [](auto&& build) {
    Rig r;
    build(r);
    const auto res = r.q.process(r.ram.memory, 4);
    CHECK(res.outcome == Outcome::broken);
    CHECK(r.used_idx() == 0);
    CHECK(r.q.counters().bad_chains.load() == 1);
    return r.get<uint8_t>(kBuf + 0x20);
  };
  SUBCASE("a loop") {
    broken([](Rig& r) {
      r.desc(0, kBuf, 2, F_NEXT, 1);
      r.desc(1, kBuf + 0x10, 2, F_NEXT, 0);
      r.offer(0);
    });
  }
  SUBCASE("head out of range") { broken([](Rig& r) { r.offer(kSize); }); }
  SUBCASE("next out of range") {
    broken([](Rig& r) {
      r.desc(0, kBuf, 2, F_NEXT, 200);
      r.offer(0);
    });
  }
  SUBCASE("buffer outside RAM") {
    broken([](Rig& r) {
      r.desc(0, 0xdead0000, 2, F_NEXT, 1);
      r.desc(1, kBuf + 0x20, 1, F_WRITE);
      r.offer(0);
    });
  }
  SUBCASE("buffer straddling the end of RAM") {
    broken([](Rig& r) {
      r.desc(0, kBase + r.ram.bytes.size() - 1, 2, F_NEXT, 1);
      r.desc(1, kBuf + 0x20, 1, F_WRITE);
      r.offer(0);
    });
  }
  SUBCASE("indirect descriptor") {
    broken([](Rig& r) {
      r.desc(0, kBuf, 16, nfv::virtio::VIRTQ_DESC_F_INDIRECT);
      r.offer(0);
    });
  }
  SUBCASE("no writable ack") {
    broken([](Rig& r) {
      r.desc(0, kBuf, 4, 0);
      r.offer(0);
    });
  }
  SUBCASE("readable after writable") {
    const uint8_t ack = broken([](Rig& r) {
      r.put<uint8_t>(kBuf + 0x20, 0xee);
      r.desc(0, kBuf + 0x20, 1, F_WRITE | F_NEXT, 1);
      r.desc(1, kBuf, 4, 0);
      r.offer(0);
    });
    CHECK(ack == 0xee);  // untouched
  }
  SUBCASE("command longer than kMaxCommand") {
    broken([](Rig& r) {
      r.desc(0, kBuf, VirtioNetCtrlQueue::kMaxCommand + 1, F_NEXT, 1);
      r.desc(1, kBuf + 0x200, 1, F_WRITE);
      r.offer(0);
    });
  }
  SUBCASE("zero-length descriptor") {
    broken([](Rig& r) {
      r.desc(0, kBuf, 0, F_NEXT, 1);
      r.desc(1, kBuf + 0x20, 1, F_WRITE);
      r.offer(0);
    });
  }
  SUBCASE("one-byte command") {
    broken([](Rig& r) {
      r.desc(0, kBuf, 1, F_NEXT, 1);
      r.desc(1, kBuf + 0x20, 1, F_WRITE);
      r.offer(0);
    });
  }
  SUBCASE("avail index runs ahead of the ring") {
    broken([](Rig& r) { r.put<uint16_t>(kAvail + 2, kSize + 1); });
  }
}

TEST_CASE("an unconfigured or reset queue does nothing") {
  Rig r;
  r.q.reset();
  r.command(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1);
  CHECK(r.q.process(r.ram.memory, 4).outcome == Outcome::idle);
  CHECK(r.used_idx() == 0);
}
