// PMD threads: poll rx queues in bursts of 32, bridge, flush per-port tx batches.
//
// One PmdWorker per PMD lcore. Each iteration: load the current Snapshot, poll
// every rx queue of its plan, classify each burst against the flow table when
// there are rules (pmd_rules.cpp: matched packets take their rule's actions,
// the rest go on) and run the L2 bridge on the rest, flush the tx batches it
// filled, report an RCU quiescent state. In adaptive idle mode a
// PMD that found nothing for kEmptyPollsBeforeSleep iterations sleeps, doubling
// the sleep up to kMaxSleepUs and going back to full polling on the first
// packet; it is RCU-offline while asleep so the control plane never waits for it.
//
// Counters (per PMD, summed by the control thread): per port and queue rx/tx
// packets and bytes; drops by reason: tx_full (the port did not take a packet),
// spoofed (source MAC not in allowed_macs), vlan (tag not allowed on the port),
// malformed (runt frame, truncated tag, multicast source), no_buffer (no mbuf
// to copy a flooded frame or for a pushed tag), rule (a rule's drop action, or
// its output port is gone); busy and idle TSC cycles; per rule packets and bytes.
#pragma once

#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>

#include "config.hpp"
#include "datapath.hpp"
#include "mac_table.hpp"

namespace nfv::sw {

struct PmdContext {
  uint16_t index = 0;  // PMD number: RCU thread id, tx queue selector
  const std::atomic<const Snapshot*>* snapshot = nullptr;
  rte_rcu_qsbr* qsbr = nullptr;
  MacTable* macs = nullptr;
  const std::atomic<uint32_t>* now_s = nullptr;  // coarse clock kept by the control thread
  rte_mempool* pool = nullptr;                   // for copies of flooded frames
  PmdCounters* counters = nullptr;
  IdleMode idle = IdleMode::adaptive;
  const std::atomic<bool>* stop = nullptr;
};

class PmdWorker final {
 public:
  static constexpr uint32_t kEmptyPollsBeforeSleep = 1024;
  static constexpr uint32_t kMaxSleepUs = 250;

  explicit PmdWorker(const PmdContext& ctx) : ctx_(ctx) {}
  void run() noexcept;

  // For rte_eal_remote_launch: arg is a PmdWorker*.
  static int lcore_main(void* arg) noexcept;

 private:
  struct TxBatch {
    uint16_t n = 0;
    rte_mbuf* pkts[kBurst];
  };
  struct FrameVlan;

  uint16_t poll_queue(const Snapshot& snap, RxQueueRef rxq) noexcept;
  // Flow rules (pmd_rules.cpp): classifies a burst, runs the matched packets'
  // actions and bridges the others.
  void classify(const Snapshot& snap, const PortRuntime& in, rte_mbuf** pkts, uint16_t n) noexcept;
  void apply_rule(const Snapshot& snap, const PortRuntime& in, const FlowEntry& rule, rte_mbuf* m) noexcept;
  void bridge(const Snapshot& snap, const PortRuntime& in, rte_mbuf* m) noexcept;
  void flood(const Snapshot& snap, const PortRuntime& in, rte_mbuf* m, const FrameVlan& f) noexcept;
  // Queues m for `out`, rewriting its VLAN tag as the port wants; m must not be shared.
  void emit(const Snapshot& snap, const PortRuntime& out, rte_mbuf* m, const FrameVlan& f) noexcept;
  void enqueue(const Snapshot& snap, uint16_t slot, rte_mbuf* m) noexcept;
  void flush(const Snapshot& snap, uint16_t slot) noexcept;
  // Sends up to n packets on tx queue q of `out`; returns how many it took (and freed).
  uint16_t transmit(const PortRuntime& out, uint16_t q, rte_mbuf** pkts, uint16_t n) noexcept;
  void flush_all(const Snapshot& snap) noexcept;
  void drop(uint16_t slot, DropReason why, rte_mbuf* m) noexcept;

  // Where a flooded frame of one VLAN/tag state goes, for the current burst.
  struct FloodTargets {
    static uint32_t key_of(const FrameVlan& f) noexcept;
    uint32_t key = 0;  // 0: not computed
    uint16_t nshare = 0, ncopy = 0;
    uint16_t share[kMaxPorts];  // take the frame as it is (shared mbuf)
    uint16_t copy[kMaxPorts];   // need a re-tagged copy
  };

  // The last source learnt and destination looked up in the current burst.
  struct BurstCache {
    uint64_t src = ~uint64_t{0};
    uint64_t dst = ~uint64_t{0};
    uint16_t src_vid = 0;
    uint16_t dst_vid = 0;
    uint16_t out = MacTable::kNoPort;
    FloodTargets flood;
  };

  PmdContext ctx_;
  BurstCache burst_;
  TxBatch tx_[kMaxPorts];
  uint16_t dirty_[kMaxPorts];        // slots with queued packets, in order
  bool dirty_mark_[kMaxPorts] = {};  // slot is in dirty_
  uint16_t ndirty_ = 0;
  uint32_t now_s_ = 0;
};

}  // namespace nfv::sw
