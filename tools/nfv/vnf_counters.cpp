// VNF counters from their control sockets' stats answers (vnf_counters.hpp).
#include "vnf_counters.hpp"

namespace nfv::topo {

namespace {

using control::Json;

uint64_t u64(const Json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  const auto it = obj.find(key);
  return it != obj.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// rx/tx over ports[], plus each port's `drop_key` counter.
VnfCounters sum_ports(const Json& ports, const char* drop_key) {
  VnfCounters c;
  if (!ports.is_array()) return c;
  for (const Json& p : ports) {
    c.rx_packets += u64(p, "rx_packets");
    c.tx_packets += u64(p, "tx_packets");
    c.drops += u64(p, drop_key);
  }
  return c;
}

}  // namespace

std::optional<VnfCounters> counters_from_stats(VnfKind kind, const Json& stats) {
  if (!stats.is_object()) return std::nullopt;
  if (kind == VnfKind::process) {
    if (!stats.contains("ports")) return std::nullopt;
    VnfCounters c = sum_ports(stats["ports"], "tx_dropped");
    for (const Json& w : stats.value("workers", Json::array())) c.drops += u64(w, "dropped");
    return c;
  }
  const auto guest = stats.find("vnf");  // absent until the guest's poll loop publishes
  if (guest == stats.end() || !guest->is_object() || !guest->contains("ports")) return std::nullopt;
  VnfCounters c = sum_ports((*guest)["ports"], "tx_ring_full");
  c.drops += u64(guest->value("worker", Json::object()), "dropped");
  return c;
}

Json exits_by_reason(const Json& vmm_stats) {
  Json out = Json::object();
  if (!vmm_stats.is_object()) return out;
  for (const Json& vcpu : vmm_stats.value("vcpus", Json::array())) {
    const Json exits = vcpu.is_object() ? vcpu.value("exits", Json::object()) : Json::object();
    for (const auto& [reason, n] : exits.items())
      if (n.is_number_unsigned()) out[reason] = out.value(reason, uint64_t{0}) + n.get<uint64_t>();
  }
  return out;
}

}  // namespace nfv::topo
