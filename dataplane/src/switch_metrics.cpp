// Switch::metrics_text: every counter in the Prometheus text format, rendered
// on the control thread when the metrics endpoint is scraped. Metric names
// start with nfv_switch_; counters end in _total.
#include <rte_cycles.h>

#include "nfv/control/http_metrics.hpp"
#include "switch.hpp"

namespace nfv::sw {

using control::Json;

std::string Switch::metrics_text() const {
  control::MetricsText t;
  std::vector<std::pair<std::string, Json>> ports;  // name, port counters
  for (uint16_t s = 0; s < kMaxPorts; ++s)
    if (ports_[s]) ports.emplace_back(ports_[s]->cfg.name, port_stats_json(s));

  struct PortCounter {
    const char* metric;
    const char* key;
    const char* help;
  };
  static constexpr PortCounter kPortCounters[] = {
      {"nfv_switch_port_rx_packets_total", "rx_packets", "Frames received on the port."},
      {"nfv_switch_port_rx_bytes_total", "rx_bytes", "Bytes received on the port."},
      {"nfv_switch_port_tx_packets_total", "tx_packets", "Frames sent on the port."},
      {"nfv_switch_port_tx_bytes_total", "tx_bytes", "Bytes sent on the port."},
  };
  for (const PortCounter& c : kPortCounters) {
    t.family(c.metric, c.help, "counter");
    for (const auto& [name, st] : ports) t.sample(c.metric, {{"port", name}}, st[c.key].get<uint64_t>());
  }
  t.family("nfv_switch_port_drops_total", "Frames dropped, by port and reason.", "counter");
  for (const auto& [name, st] : ports)
    for (const char* reason : kDropNames)
      t.sample("nfv_switch_port_drops_total", {{"port", name}, {"reason", reason}}, st["drops"][reason].get<uint64_t>());
  t.family("nfv_switch_port_link_up", "1 when the port's link is up.", "gauge");
  for (uint16_t s = 0; s < kMaxPorts; ++s)
    if (ports_[s]) t.sample("nfv_switch_port_link_up", {{"port", ports_[s]->cfg.name}}, uint64_t{link_up_[s].load()});

  struct PmdCounter {
    const char* metric;
    const char* help;
    const Counter PmdCounters::*field;
  };
  static constexpr PmdCounter kPmdCounters[] = {
      {"nfv_switch_pmd_packets_total", "Frames received by the PMD thread.", &PmdCounters::packets},
      {"nfv_switch_pmd_busy_cycles_total", "TSC cycles of PMD iterations that moved frames.", &PmdCounters::busy_cycles},
      {"nfv_switch_pmd_idle_cycles_total", "TSC cycles of empty PMD iterations, sleeps included.", &PmdCounters::idle_cycles},
      {"nfv_switch_pmd_iterations_total", "Poll loop iterations of the PMD thread.", &PmdCounters::iterations},
  };
  for (const PmdCounter& c : kPmdCounters) {
    t.family(c.metric, c.help, "counter");
    for (uint16_t i = 0; i < pmd_count(); ++i) {
      const std::string pmd = std::to_string(i), core = std::to_string(plan_.pmd_cpus[i]);
      t.sample(c.metric, {{"pmd", pmd}, {"core", core}}, ((*counters_[i]).*c.field).get());
    }
  }
  t.family("nfv_switch_tsc_hz", "TSC frequency, to turn cycles into seconds.", "gauge");
  t.sample("nfv_switch_tsc_hz", {}, rte_get_tsc_hz());

  t.family("nfv_switch_rule_packets_total", "Frames that matched the flow rule.", "counter");
  t.family("nfv_switch_rule_bytes_total", "Bytes of the frames that matched the flow rule.", "counter");
  for (const auto& [id, r] : rules_.rules()) {
    const std::string ids = std::to_string(id), prio = std::to_string(r.spec.priority);
    t.sample("nfv_switch_rule_packets_total", {{"id", ids}, {"priority", prio}}, r.counters->packets());
    t.sample("nfv_switch_rule_bytes_total", {{"id", ids}, {"priority", prio}}, r.counters->bytes());
  }
  t.family("nfv_switch_rules", "Flow rules installed.", "gauge");
  t.sample("nfv_switch_rules", {}, uint64_t{rules_.size()});
  t.family("nfv_switch_mac_table_entries", "Learned MAC addresses.", "gauge");
  t.sample("nfv_switch_mac_table_entries", {}, uint64_t{macs_.size()});
  t.family("nfv_switch_ports", "Ports configured.", "gauge");
  t.sample("nfv_switch_ports", {}, uint64_t{ports.size()});
  t.family("nfv_switch_uptime_seconds", "Seconds since the switch started.", "gauge");
  t.sample("nfv_switch_uptime_seconds", {},
           std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  return t.text();
}

}  // namespace nfv::sw
