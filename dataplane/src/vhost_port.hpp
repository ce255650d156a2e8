// vhost-user ports driven through DPDK's vhost library (rte_vhost) directly.
//
// Server mode: the switch owns the socket (a live socket of someone else is
// never taken over; a stale file is replaced). Client mode: the switch connects
// and the vhost library reconnects whenever the peer restarts.
//
// The peer is not trusted. Before any ring is used:
//  - every memory region of SET_MEM_TABLE must lie inside its file (a region
//    larger than its memfd would make the first access a SIGBUS); the
//    connection is refused otherwise (counted in `refused`);
//  - each ring's size caps the burst used on it (rte_vhost in DPDK 22.11 trusts
//    the avail index and overruns its per-ring arrays on rings smaller than a
//    burst when the guest pushes the index far ahead).
// Guest notifications are suppressed: the switch polls.
//
// Lifecycle: the vhost library's thread reports new_device/destroy_device; the
// port's `vid` is published to PMD threads with a release store and withdrawn
// before destroy_device returns, after an RCU grace period, so no PMD is inside
// a burst on a device being torn down.
#pragma once

#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "config.hpp"
#include "datapath.hpp"
#include "nfv/result.hpp"

namespace nfv::sw {

// What PMD threads read about a vhost-user port. Stable storage (per slot).
struct VhostPortState {
  std::atomic<int> vid{-1};                               // -1: no device ready
  std::array<std::atomic<uint16_t>, kMaxQueues> burst{};  // per queue pair: min(kBurst, ring sizes)
  std::atomic<uint64_t> refused{0};                       // connections refused for bad memory tables
  std::atomic<uint64_t> connections{0};                   // devices that became ready
};

// Set once at start-up: the RCU state used to retire a device safely.
void vhost_ports_init(rte_rcu_qsbr* qsbr);

// Registers and starts the socket of `cfg` for `state`.
Status vhost_port_open(const PortConfig& cfg, VhostPortState* state);
// Unregisters it (closing a connected device, unlinking a server socket).
void vhost_port_close(const std::string& path);

}  // namespace nfv::sw
