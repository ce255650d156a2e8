// QueuePair's state machine (down, running, stop_requested, stopped) with
// real NetRxQueue/NetTxQueue on FakeSplitDevices: bursts while down, traffic
// and summed counters while running, the drain on stop_requested that gives
// every buffer back, reconnecting, and tx_burst(Batch&) freeing what it
// could not send. The transport (VhostUserPort) is played by
// QueuePairTestAccess, as the control thread would.
#include "nfv/port.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <optional>

#include "net_rig.hpp"

using namespace nfv::virtio::test;

namespace nfv {

// Test-only access to a QueuePair's internals (a friend in port.hpp).
struct QueuePairTestAccess {
  // What VhostUserPort::attach does for one queue pair, before `running`.
  static void attach(QueuePair& qp, DeviceRing& rx, DeviceRing& tx, PacketPool& pool, const std::byte* region) {
    qp.pool_ = &pool;
    qp.rx_.attach(rx.queue(qp.rx_.ring_counters()), pool, false, -1);
    qp.tx_.attach(tx.queue(qp.tx_.ring_counters()), region, -1);
  }
  static void set_state(QueuePair& qp, QueuePair::State s) { qp.state_.store(s, std::memory_order_release); }
  static bool rx_attached(const QueuePair& qp) { return qp.rx_.attached(); }
  static bool tx_attached(const QueuePair& qp) { return qp.tx_.attached(); }
};

}  // namespace nfv

using namespace nfv;
using Access = QueuePairTestAccess;
using State = QueuePair::State;

namespace {

struct QpRig {
  explicit QpRig(uint32_t size = 8) : mem(packet_memory()), pool(packet_pool(*mem)) { rings(size); }
  // Fresh rings and devices (a reconnect re-creates the queues from zero).
  void rings(uint32_t size) {
    rx.emplace(*mem, size, kVersion1);
    tx.emplace(*mem, size, kVersion1);
  }
  void start() {
    Access::attach(qp, *rx, *tx, pool, mem->region().data());
    Access::set_state(qp, State::running);
  }
  void fill(Batch& b, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      Packet* p = pool.alloc();
      REQUIRE(p != nullptr);
      REQUIRE(p->append(60) != nullptr);
      b.push(p);
    }
  }

  std::unique_ptr<PacketMemory> mem;
  PacketPool& pool;
  std::optional<DeviceRing> rx, tx;
  QueuePair qp;  // last: destroyed first, gives its buffers back to the pool
};

}  // namespace

TEST_CASE("QueuePair down: bursts return 0; tx_burst(Batch&) frees and counts") {
  QpRig rig;
  CHECK(rig.qp.state() == State::down);
  CHECK_FALSE(rig.qp.link_up());
  Batch b;
  CHECK(rig.qp.rx_burst(b) == 0);
  CHECK(b.empty());
  rig.fill(b, 5);
  CHECK(rig.qp.tx_burst(b) == 0);
  CHECK(b.empty());
  CHECK(rig.pool.available() == 64);
  CHECK(rig.qp.counters().tx_dropped == 5);
  Packet* p = rig.pool.alloc();
  CHECK(rig.qp.tx_burst(&p, 1) == 0);  // the raw form leaves the packet with the caller
  PacketPool::free(p);
  CHECK(rig.qp.counters().tx_dropped == 5);
  CHECK_FALSE(rig.qp.arm_rx_notify());
  CHECK(rig.qp.state() == State::down);  // bursts never move a queue pair out of down
}

TEST_CASE("QueuePair running: traffic both ways, counters summed, ring full dropped") {
  QpRig rig;
  rig.start();
  CHECK(rig.qp.link_up());
  Batch b;
  CHECK(rig.qp.rx_burst(b) == 0);  // the first burst fills the receive ring
  CHECK(rig.rx->device.pending() == 8);
  CHECK(rig.pool.available() == 56);
  CHECK_FALSE(rig.qp.arm_rx_notify());  // nothing waiting
  for (uint8_t i = 0; i < 3; ++i) deliver(rig.rx->device, 100, i);
  rig.rx->device.publish_used();
  CHECK(rig.qp.arm_rx_notify());  // packets already waiting: do not sleep
  rig.qp.disarm_rx_notify();
  CHECK(rig.qp.rx_burst(b) == 3);
  CHECK(b.count == 3);
  CHECK(has_pattern(b[2]->data(), 100, 2));

  CHECK(rig.qp.tx_burst(b) == 3);  // forward them
  CHECK(b.empty());
  CHECK(rig.tx->device.pending() == 3);
  QueuePairCounters c = rig.qp.counters();
  CHECK(c.rx_packets == 3);
  CHECK(c.rx_bytes == 300);
  CHECK(c.tx_packets == 3);
  CHECK(c.tx_bytes == 300);
  CHECK(c.kicks == 2);
  CHECK(c.tx_dropped == 0);

  // The transmit ring (8) takes 8 of 10 after reclaiming the 3 completed; 2 are dropped.
  while (auto ch = rig.tx->device.pop()) rig.tx->device.push_used(ch->head, 0);
  rig.tx->device.publish_used();
  rig.fill(b, 10);
  CHECK(rig.qp.tx_burst(b) == 8);
  CHECK(b.empty());
  c = rig.qp.counters();
  CHECK(c.tx_dropped == 2);
  CHECK(c.tx_packets == 11);
  CHECK(rig.pool.available() == 64 - 5 - 8);  // 5 receive buffers left posted, 8 in the transmit ring

  // Device errors and bad frames land in the summed counters.
  const Posted bad = next_posted(rig.rx->device);
  rig.rx->device.push_used(bad.head, 0);  // empty frame
  rig.rx->device.push_used(100, 0);       // id out of range
  rig.rx->device.publish_used();
  CHECK(rig.qp.rx_burst(b) == 0);
  c = rig.qp.counters();
  CHECK(c.rx_errors == 1);
  CHECK(c.device_errors == 1);
}

TEST_CASE("QueuePair stop_requested: the next burst frees every buffer and answers stopped") {
  for (bool via_rx : {true, false}) {
    CAPTURE(via_rx);
    QpRig rig;
    rig.start();
    Batch b;
    CHECK(rig.qp.rx_burst(b) == 0);  // 8 receive buffers posted
    deliver(rig.rx->device, 80, 1);  // one completed, never polled
    rig.rx->device.publish_used();
    rig.fill(b, 4);
    CHECK(rig.qp.tx_burst(b) == 4);  // 4 in flight
    CHECK(rig.pool.available() == 64 - 12);

    Access::set_state(rig.qp, State::stop_requested);  // the control thread saw the back-end go
    CHECK_FALSE(rig.qp.link_up());
    if (via_rx) {
      CHECK(rig.qp.rx_burst(b) == 0);
    } else {
      rig.fill(b, 2);
      CHECK(rig.qp.tx_burst(b) == 0);
      CHECK(b.empty());
      CHECK(rig.qp.counters().tx_dropped == 2);
    }
    CHECK(rig.qp.state() == State::stopped);
    CHECK_FALSE(Access::rx_attached(rig.qp));
    CHECK_FALSE(Access::tx_attached(rig.qp));
    CHECK(rig.pool.available() == 64);  // a reconnect loses no buffer
    CHECK(rig.pool.counters().double_frees == 0);

    // Stopped stays stopped and quiet until the control thread re-attaches.
    CHECK(rig.qp.rx_burst(b) == 0);
    CHECK(rig.qp.state() == State::stopped);
    CHECK_FALSE(rig.qp.arm_rx_notify());

    rig.rings(8);
    rig.start();
    CHECK(rig.qp.rx_burst(b) == 0);
    deliver(rig.rx->device, 70, 3);
    rig.rx->device.publish_used();
    CHECK(rig.qp.rx_burst(b) == 1);
    CHECK(b[0]->length() == 70);
    CHECK(rig.qp.tx_burst(b) == 1);
    CHECK(rig.tx->device.pending() == 1);
    CHECK(rig.qp.counters().rx_packets == 1);  // the frame completed before the stop was dropped
  }
}

TEST_CASE("QueuePair: destroying a running queue pair gives its buffers back") {
  auto mem = packet_memory();
  PacketPool& pool = packet_pool(*mem);
  DeviceRing rx(*mem, 16, kVersion1);
  DeviceRing tx(*mem, 16, kVersion1);
  {
    QueuePair qp;
    Access::attach(qp, rx, tx, pool, mem->region().data());
    Access::set_state(qp, State::running);
    Batch b;
    CHECK(qp.rx_burst(b) == 0);
    b.push(pool.alloc());
    CHECK(qp.tx_burst(b) == 1);
    CHECK(pool.available() == 64 - 17);
  }
  CHECK(pool.available() == 64);
}
