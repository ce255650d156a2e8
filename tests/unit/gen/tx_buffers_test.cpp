// nfv-gen's transmit buffers (tools/nfv-gen/tx_buffers.hpp) against the SDK's
// real NetTxQueue and a fake device (tests/unit/sdk-virtio): the generator's
// round (stage.take of a burst, transmit, refused frames freed) keeps sending
// past queue-size frames for rings of 256..32768 when the pool is sized from
// the ring, and a pool no larger than the ring starves after `pool` frames
// (the queue-size=4096 report: no_buffer grows, tx_refused stays 0).
#include "tx_buffers.hpp"

#include <doctest/doctest.h>

#include "net_rig.hpp"
#include "nfv/virtio/net_queue.hpp"

using namespace nfv;
using namespace nfv::virtio;
using namespace nfv::virtio::test;
using nfvgen::kTxBurst;
using nfvgen::TxStage;

namespace {

struct GenRig {
  GenRig(uint32_t queue_size, uint32_t pool_count)
      : mem(packet_memory(PacketPool::region_bytes({pool_count, 2304, 140}) +
                          split_ring_layout(queue_size).total_size + (1u << 20))),
        pool(packet_pool(*mem, {pool_count, 2304, 140})),
        ring(*mem, queue_size, kVersion1),
        stage(&pool) {
    tx.attach(ring.queue(tx.ring_counters()), mem->region().data(), -1);
  }
  ~GenRig() { tx.detach(); }

  // One generator round: a burst from the stage, sent, refused frames freed.
  void round() {
    Packet* out[kTxBurst];
    if (!stage.take(out, kTxBurst)) {
      ++no_buffer;
      return;
    }
    for (Packet* p : out) p->set_length(60);
    const uint32_t n = tx.transmit(out, kTxBurst);
    PacketPool::free_bulk(out + n, kTxBurst - n);
    sent += n;
    refused += kTxBurst - n;
  }
  // The device reads every published frame and completes it (testpmd rxonly).
  void device_completes_all() {
    while (auto c = ring.device.pop()) ring.device.push_used(c->head, 0);
    ring.device.publish_used();
  }
  // Every buffer is in the pool, the stage or the ring: none is lost.
  void check_accounting() {
    CHECK(pool.available() + stage.staged() + tx.ring_counters()->added.load() - tx.ring_counters()->completed.load() ==
          pool.capacity());
  }

  std::unique_ptr<PacketMemory> mem;
  PacketPool& pool;
  DeviceRing ring;
  NetTxQueue tx;
  TxStage stage;
  uint64_t sent = 0, refused = 0, no_buffer = 0;
};

}  // namespace

TEST_CASE("tx pool: sized from the ring, sending goes on well past queue-size frames") {
  static_assert(nfvgen::tx_pool_buffers(4096) >= 4096 + 2 * kTxBurst);
  for (uint32_t q : {256u, 1024u, 4096u, 32768u}) {
    CAPTURE(q);
    GenRig rig(q, nfvgen::tx_pool_buffers(q));
    const uint64_t rounds = 4ull * q / kTxBurst + 100;  // four ring laps and more
    for (uint64_t i = 0; i < rounds; ++i) {
      rig.round();
      // The device completes what it saw, but only every few rounds: the
      // ring fills up and the queue has to reclaim.
      if (i % 7 == 6) rig.device_completes_all();
    }
    CHECK(rig.no_buffer == 0);
    CHECK(rig.sent + rig.refused == rounds * kTxBurst);
    CHECK(rig.sent > 4ull * q);
    rig.check_accounting();
  }
}

TEST_CASE("tx pool: a stalled device is a full ring (refused frames), never an empty pool") {
  constexpr uint32_t q = 1024;
  GenRig rig(q, nfvgen::tx_pool_buffers(q));
  for (int i = 0; i < 100; ++i) rig.round();  // the device reads nothing
  CHECK(rig.sent == q);
  CHECK(rig.refused == 100ull * kTxBurst - q);
  CHECK(rig.no_buffer == 0);
  rig.device_completes_all();  // it wakes up: sending resumes at once
  for (int i = 0; i < 10; ++i) {
    rig.round();
    rig.device_completes_all();
  }
  CHECK(rig.sent == q + 10ull * kTxBurst);
  CHECK(rig.no_buffer == 0);
  rig.check_accounting();
}

TEST_CASE("tx pool: a pool no larger than the ring starves after `pool` frames (the old fixed 4096)") {
  // What nfv-gen did with queue-size=4096: its 4096 buffers all went into the
  // ring with room left, so transmit() (which reclaims only when the ring runs
  // low) was never called again, although the device had completed them all.
  constexpr uint32_t q = 4096;
  GenRig rig(q, 4096);
  for (int i = 0; i < 1000; ++i) {
    rig.round();
    rig.device_completes_all();
  }
  CHECK(rig.sent == 4096);
  CHECK(rig.refused == 0);
  CHECK(rig.no_buffer == 1000 - 4096 / kTxBurst);
  // The ring size is the threshold: one ring lap smaller and it works.
  GenRig ok(q / 2, 4096);
  for (int i = 0; i < 1000; ++i) {
    ok.round();
    ok.device_completes_all();
  }
  CHECK(ok.sent == 1000ull * kTxBurst);
  CHECK(ok.no_buffer == 0);
}
