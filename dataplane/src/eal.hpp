// EAL set-up: which CPUs, how much memory, hugepages or not, and DPDK's log
// routed into spdlog.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "nfv/result.hpp"

namespace nfv::sw {

struct EalPlan {
  std::vector<std::string> args;  // argv for rte_eal_init (args[0] is the program name)
  unsigned control_cpu = 0;       // the main lcore (lcore 0): control plane, RPC
  std::vector<unsigned> pmd_cpus; // PMD i runs on lcore i+1, pinned to pmd_cpus[i]
  bool hugepages = false;
};

// Whether `memory_mb` of free hugepages and a hugetlbfs mount exist.
bool hugepages_available(unsigned memory_mb);

// Builds the EAL argument list for `cfg`. Errors: a PMD core this process may
// not run on, or too many PMD cores.
Result<EalPlan> plan_eal(const SwitchConfig& cfg);

// rte_eal_init with the plan; DPDK's log lines go to spdlog.
Status init_eal(const EalPlan& plan);

}  // namespace nfv::sw
