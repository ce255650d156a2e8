// Human-readable output for the `nfv up` launcher's methods (vnf.list,
// vnf.restart, vm.list, vm.stop; docs/topology.md), the verbs `nfvctl vnf ...`
// and `nfvctl vm ...`. Counters are the VNFs' own (their control sockets);
// "-" where a VNF did not answer or has none.
#include <fmt/format.h>

#include <algorithm>

#include "printers.hpp"

namespace nfvctl {

namespace {

std::string rate(const Json& obj, std::string_view key) {
  const Json& v = member(obj, key);
  return v.is_number() ? fmt::format("{:.3f}", v.get<double>()) : std::string("-");
}

// "io 1200, mmio 40": the non-zero exit reasons, largest first.
std::string exit_reasons(const Json& exits) {
  std::vector<std::pair<uint64_t, std::string>> nonzero;
  if (exits.is_object())
    for (const auto& [reason, n] : exits.items())
      if (n.is_number_unsigned() && n.get<uint64_t>() > 0) nonzero.emplace_back(n.get<uint64_t>(), reason);
  std::sort(nonzero.begin(), nonzero.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string text;
  for (const auto& [n, reason] : nonzero) text += (text.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  return text.empty() ? "-" : text;
}

}  // namespace

void print_vnf_list(const Json& result, std::ostream& out) {
  TextTable table({"NAME", "KIND", "STATE", "PID", "RESTARTS", "RX-PKTS", "TX-PKTS", "DROPS", "RX-MPPS",
                   "TX-MPPS", "PORTS"});
  for (const auto& v : result.get_ref<const Json::array_t&>())
    table.add_row({cell(v, "name"), cell(v, "kind"), cell(v, "state"), cell(v, "pid"), cell(v, "restarts"),
                   cell(v, "rx_packets"), cell(v, "tx_packets"), cell(v, "drops"), rate(v, "rx_mpps"),
                   rate(v, "tx_mpps"), cell(v, "ports")});
  table.print(out);
}

void print_vnf_restarted(const Json& result, std::ostream& out) {
  out << "vnf " << cell(result, "name") << " restarted: pid " << cell(result, "pid") << ", restart "
      << cell(result, "restarts") << " (was " << cell(result, "previous") << ")\n";
}

void print_vm_list(const Json& result, std::ostream& out) {
  TextTable table({"NAME", "STATE", "GUEST", "PID", "RESTARTS", "UPTIME(S)", "RX-PKTS", "TX-PKTS", "DROPS",
                   "EXITS", "EXIT-REASONS"});
  for (const auto& v : result.get_ref<const Json::array_t&>())
    table.add_row({cell(v, "name"), cell(v, "state"), cell(v, "vm_state"), cell(v, "pid"), cell(v, "restarts"),
                   cell(v, "uptime_s"), cell(v, "rx_packets"), cell(v, "tx_packets"), cell(v, "drops"),
                   cell(v, "exits_total"), exit_reasons(member(v, "exits"))});
  table.print(out);
}

void print_vm_stopped(const Json& result, std::ostream& out) {
  out << "vm " << cell(result, "name") << ": " << cell(result, "state") << '\n';
}

}  // namespace nfvctl
