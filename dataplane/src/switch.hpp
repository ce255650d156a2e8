// Switch: the control side of nfv-switch. Owns the ports, the MAC table, the
// flow rules, the capture sessions, the PMD threads and their counters;
// publishes Snapshots to the PMDs (see datapath.hpp) and serves the JSON-RPC
// methods of docs/switch-rpc.md and the Prometheus metrics text.
// Every method runs on the control thread. switch_rules.cpp holds the rule
// methods, switch_metrics.cpp the metrics text.
#pragma once

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture.hpp"
#include "config.hpp"
#include "datapath.hpp"
#include "eal.hpp"
#include "mac_table.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "pmd.hpp"
#include "ports.hpp"
#include "rcu_publisher.hpp"
#include "rule_set.hpp"

namespace nfv::sw {

class Switch {
 public:
  Switch(SwitchConfig cfg, EalPlan plan);
  ~Switch();
  Switch(const Switch&) = delete;
  Switch& operator=(const Switch&) = delete;

  // Creates the mempool, opens the configured ports and launches the PMDs.
  // On error nothing is left running.
  Status start();
  // Stops the PMDs and closes every port (server sockets are unlinked).
  void shutdown();

  // Called every kTickMs by the control loop: coarse clock, link states, MAC aging.
  static constexpr int kTickMs = 100;
  void tick();

  void register_methods(control::JsonRpcServer& rpc);

  Result<control::Json> add_port(const PortConfig& cfg);
  Status del_port(const std::string& name);

  // Prometheus text exposition of every counter (served by the metrics endpoint).
  std::string metrics_text() const;

 private:
  struct PortState {
    PortConfig cfg;
    DpdkPort dev;
  };

  std::optional<uint16_t> find_port(const std::string& name) const;
  bool port_link_up(uint16_t slot, const DpdkPort& dev) const;
  // Builds a Snapshot of ports_, publishes it and waits until no PMD uses the old one.
  void publish();
  uint16_t pmd_count() const noexcept { return static_cast<uint16_t>(plan_.pmd_cpus.size()); }

  control::Json port_json(uint16_t slot) const;
  control::Json port_stats_json(uint16_t slot) const;
  control::Json status_json() const;
  control::Json mac_list_json() const;
  control::Json pmd_stats_json() const;
  // switch_rules.cpp
  uint16_t resolve_port(const std::string& name) const;  // slot or kNoSlot
  RuleSet::Resolve resolver() const;
  void register_rule_methods(control::JsonRpcServer& rpc);

  SwitchConfig cfg_;
  EalPlan plan_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  uint32_t last_aging_s_ = 0;

  std::array<std::optional<PortState>, kMaxPorts> ports_;
  std::array<std::atomic<bool>, kMaxPorts> link_up_{};
  std::array<VhostPortState, kMaxPorts> vhost_state_{};
  std::array<std::array<rte_spinlock_t, kMaxPmds>, kMaxPorts> tx_locks_{};

  rte_mempool* pool_ = nullptr;
  rte_rcu_qsbr* qsbr_ = nullptr;
  MacTable macs_;
  RuleSet rules_;
  CaptureManager captures_;
  std::atomic<uint32_t> now_s_{0};
  std::atomic<bool> stop_{false};
  RcuPublisher<Snapshot> snapshots_;  // what the PMDs read
  std::vector<std::unique_ptr<PmdCounters>> counters_;
  std::vector<std::unique_ptr<PmdWorker>> workers_;
  bool pmds_running_ = false;
};

}  // namespace nfv::sw
