// What the control thread hands to PMD threads, and what PMD threads count.
//
// The control thread builds an immutable Snapshot (ports, their VLAN and
// security policy, which rx queues each PMD polls), publishes it with one
// release store and frees the previous one after an RCU grace period
// (rte_rcu_qsbr): every PMD reports a quiescent state once per poll iteration,
// between bursts, so no PMD ever waits for the control plane.
//
// The flow table (flow_table.hpp) rides in the Snapshot: a rule change builds
// a new table and publishes a new Snapshot, so PMDs switch tables between
// bursts and the old one is freed after the same grace period. Capture taps
// (capture.hpp) are per-port pointers in PortRuntime published the same way.
//
// Counters are single-writer: each PMD owns its PmdCounters and the control
// thread sums them. Counter::add is a relaxed load+store (no lock prefix).
#pragma once

#include <rte_spinlock.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "flow_table.hpp"
#include "mac_table.hpp"
#include "vlan.hpp"

namespace nfv::sw {

struct VhostPortState;
struct CaptureTap;

inline constexpr uint16_t kMaxPorts = 32;    // RTE_MAX_ETHPORTS in Debian's DPDK build
inline constexpr uint16_t kMaxQueues = 8;
inline constexpr uint16_t kMaxPmds = 16;
inline constexpr uint16_t kBurst = 32;
inline constexpr uint16_t kMaxAllowedMacs = 16;
static_assert(kMaxPmds == kRulePmds, "rule counters are per PMD");

struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
  void reset() noexcept { v.store(0, std::memory_order_relaxed); }
};

// rule: dropped by a rule's drop action, or its output port is gone.
enum DropReason : uint8_t { kDropNoBuffer, kDropTxFull, kDropSpoofed, kDropVlan, kDropMalformed, kDropRule, kDropReasons };
inline constexpr const char* kDropNames[kDropReasons] = {"no_buffer", "tx_full", "spoofed", "vlan", "malformed", "rule"};

struct QueueCounters {
  Counter rx_packets, rx_bytes, tx_packets, tx_bytes;
};

struct PortCounters {
  std::array<QueueCounters, kMaxQueues> queues;
  std::array<Counter, kDropReasons> drops;
};

struct alignas(64) PmdCounters {
  std::array<PortCounters, kMaxPorts> ports;
  Counter packets;      // packets received by this PMD
  Counter busy_cycles;  // TSC cycles of iterations that moved packets
  Counter idle_cycles;  // TSC cycles of empty iterations, sleeps included
  Counter iterations;
};

// One port as the data path sees it. Immutable once published.
struct PortRuntime {
  uint16_t slot = 0;       // index in Snapshot::ports, MacTable port number
  uint16_t dpdk_port = 0;  // ethdev port id
  uint16_t nb_txq = 1;
  VlanPolicy vlan;
  uint16_t n_allowed = 0;  // 0: no port security
  std::array<uint64_t, kMaxAllowedMacs> allowed_macs{};
  // When this port has fewer tx queues than PMDs, PMDs share queues under these
  // locks (chosen at build time; a PMD with a queue of its own never locks).
  std::array<rte_spinlock_t, kMaxPmds>* tx_locks = nullptr;
  const std::atomic<bool>* link_up = nullptr;  // owned by the Switch, per slot
  VhostPortState* vhost = nullptr;             // vhost-user port (else an ethdev)
  CaptureTap* tap_rx = nullptr;                // copies of received frames go here
  CaptureTap* tap_tx = nullptr;                // copies of frames sent
};

struct RxQueueRef {
  uint16_t slot;
  uint16_t queue;
};

struct PmdPlan {
  std::vector<RxQueueRef> rx_queues;
};

struct Snapshot {
  std::array<PortRuntime, kMaxPorts> ports{};
  std::array<bool, kMaxPorts> present{};  // ports[slot] is in use
  std::vector<uint16_t> active_slots;     // slots in use, for flooding
  std::array<PmdPlan, kMaxPmds> pmds;
  std::unique_ptr<const FlowTable> rules;  // null: no rules, every packet goes to the bridge
};

}  // namespace nfv::sw
