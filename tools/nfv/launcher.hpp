// Launcher: `nfv up` for one checked topology.
//
// Bring-up, in dependency order, each step bounded in time:
//   1. nfv-switch with the topology's [switch]/[[port]] part; ready when its
//      control socket answers switch.status and port.list shows every port;
//   2. chains: switch rules (rule.add) when the switch has them, otherwise
//      the L2 bridge (the checked VLAN segments);
//   3. VNF processes and VMs; ready when the switch sees their ports up;
//   4. the generator (nfv-gen), ready when its ports are up.
// Then it supervises: a VNF that exits is restarted by its restart policy
// after a backoff of 0.1 s doubling to 5 s (reset after 10 s of running);
// restarts are counted. Status is printed once a second (a table on a
// terminal, a line otherwise, JSON lines with --json) and served on nfv's own
// control socket (methods status, down, vnf.list, vnf.restart, vm.list,
// vm.stop; docs/topology.md).
// With --metrics, nfv's own counters (metrics.hpp) are served as Prometheus
// text from the start of supervision.
// Teardown, on SIGINT/SIGTERM, `nfv down`, --seconds or a switch that died:
// generator (SIGINT, it prints its result), VNFs in reverse order (SIGTERM),
// the switch (SIGTERM); SIGKILL after a grace period; then the files the
// programs could leave (vhost-user sockets, control sockets, DPDK runtime
// directory) and nfv's run directory are removed.
#pragma once

#include <string>

#include "topology.hpp"

namespace nfv::topo {

struct UpOptions {
  double seconds = 0;                       // 0: until a signal or `nfv down`
  bool json = false;                        // status and result as JSON lines
  std::string socket = "/run/nfv/nfv.sock"; // nfv's control socket
  std::string run_dir;                      // empty: a temporary directory, removed at the end
  double ready_timeout_s = 30;
  std::string metrics;                      // HOST:PORT of the Prometheus endpoint; empty: none
};

// Exit status: 0 after a clean run, 1 when bring-up failed or the switch died.
int run_up(const Topology& t, const CheckEnv& env, const UpOptions& options);

}  // namespace nfv::topo
