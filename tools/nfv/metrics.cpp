// metrics_text (metrics.hpp).
#include "metrics.hpp"

#include "nfv/control/http_metrics.hpp"

namespace nfv::topo {

using control::Json;

namespace {

std::string str(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// A counter from the answers when it is there: a VNF that has not answered yet has null.
bool counter(const Json& j, const char* key, uint64_t& out) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_unsigned()) return false;
  out = j[key].get<uint64_t>();
  return true;
}

}  // namespace

std::string metrics_text(const Json& status, const Json& vm_list) {
  control::MetricsText t;
  const Json vnfs = status.value("vnfs", Json::array());

  t.family("nfv_uptime_seconds", "Seconds since the topology came up.", "gauge");
  if (status.contains("uptime_s") && status["uptime_s"].is_number())
    t.sample("nfv_uptime_seconds", {}, status["uptime_s"].get<double>());

  t.family("nfv_component_running", "1 while the component's process runs (the switch, each VNF, the generator).",
           "gauge");
  const Json sw = status.value("switch", Json::object());
  t.sample("nfv_component_running", {{"component", "switch"}, {"kind", "switch"}},
           uint64_t{str(sw, "state") == "running"});
  for (const Json& v : vnfs)
    t.sample("nfv_component_running", {{"component", str(v, "name")}, {"kind", str(v, "kind")}},
             uint64_t{str(v, "state") == "running"});
  if (const Json& g = status.value("generator", Json(nullptr)); g.is_object())
    t.sample("nfv_component_running", {{"component", "generator"}, {"kind", "nfv-gen"}},
             uint64_t{str(g, "state") == "running"});

  struct VnfCounter {
    const char* metric;
    const char* key;
    const char* help;
  };
  static constexpr VnfCounter kVnfCounters[] = {
      {"nfv_vnf_restarts_total", "restarts", "Restarts of the VNF (by its restart policy or an operator)."},
      {"nfv_vnf_rx_packets_total", "rx_packets", "Frames the VNF received on all its ports (since its last start)."},
      {"nfv_vnf_tx_packets_total", "tx_packets", "Frames the VNF sent on all its ports (since its last start)."},
      {"nfv_vnf_drops_total", "drops", "Frames the VNF dropped: its own drops and full or down tx rings."},
  };
  for (const VnfCounter& c : kVnfCounters) {
    t.family(c.metric, c.help, "counter");
    for (const Json& v : vnfs) {
      uint64_t n = 0;
      if (counter(v, c.key, n)) t.sample(c.metric, {{"vnf", str(v, "name")}, {"kind", str(v, "kind")}}, n);
    }
  }

  t.family("nfv_vm_exits_total", "VM exits of all the VM's vCPUs, by reason.", "counter");
  for (const Json& vm : vm_list.is_array() ? vm_list : Json::array()) {
    const Json exits = vm.value("exits", Json(nullptr));
    if (!exits.is_object()) continue;
    for (const auto& [reason, n] : exits.items())
      if (n.is_number_unsigned()) t.sample("nfv_vm_exits_total", {{"vnf", str(vm, "name")}, {"reason", reason}}, n.get<uint64_t>());
  }
  t.family("nfv_vm_uptime_seconds", "Seconds since the VM's VMM started.", "gauge");
  for (const Json& vm : vm_list.is_array() ? vm_list : Json::array())
    if (vm.contains("uptime_s") && vm["uptime_s"].is_number())
      t.sample("nfv_vm_uptime_seconds", {{"vnf", str(vm, "name")}}, vm["uptime_s"].get<double>());

  if (const Json& g = status.value("generator", Json(nullptr)); g.is_object()) {
    t.family("nfv_generator_tx_mpps", "The generator's send rate over its last second, in Mpps.", "gauge");
    t.family("nfv_generator_rx_mpps", "The generator's receive rate over its last second, in Mpps.", "gauge");
    if (g.contains("tx_mpps") && g["tx_mpps"].is_number())
      t.sample("nfv_generator_tx_mpps", {}, g["tx_mpps"].get<double>());
    if (g.contains("rx_mpps") && g["rx_mpps"].is_number())
      t.sample("nfv_generator_rx_mpps", {}, g["rx_mpps"].get<double>());
  }
  return t.text();
}

}  // namespace nfv::topo
