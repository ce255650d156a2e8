// VNF counters as nfv shows them (`nfv status`, the vnf.list and vm.list
// methods), taken from the `stats` answer of each VNF's own control socket:
//
//   kind = "process" (SDK run loop)  rx/tx: the sum of ports[].rx_packets/tx_packets;
//                                    drops: workers[].dropped (the VNF's own drops)
//                                    + ports[].tx_dropped (ring full or link down)
//   kind = "vm" (nfv-vmm)            the guest's published counters under "vnf"
//                                    (about once a second): ports[] likewise, drops:
//                                    worker.dropped + ports[].tx_ring_full; and the VM
//                                    exits of every vCPU summed by reason
//
// Pure functions on the JSON, so the unit tests can feed them answers.
#pragma once

#include <cstdint>
#include <optional>

#include "nfv/control/jsonrpc.hpp"
#include "topology.hpp"

namespace nfv::topo {

struct VnfCounters {
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  uint64_t drops = 0;
};

// None when the answer has no counters (yet): a guest publishes its first
// counters when its poll loop starts.
std::optional<VnfCounters> counters_from_stats(VnfKind kind, const control::Json& stats);

// nfv-vmm's stats: {"io": N, "mmio": N, ...} summed over its vCPUs.
control::Json exits_by_reason(const control::Json& vmm_stats);

}  // namespace nfv::topo
