#include "printers.hpp"

#include <fmt/format.h>

namespace nfvctl {

namespace {

// The array a result must be; throws Json::type_error otherwise (the caller then
// prints the JSON). `optional`: a missing (null) member is an empty list.
const Json::array_t& as_list(const Json& value, bool optional = false) {
  static const Json::array_t kEmpty;
  if (optional && value.is_null()) return kEmpty;
  return value.get_ref<const Json::array_t&>();
}

// "path (mode)" for vhost-user, the devargs for ethdev.
std::string endpoint(const Json& port) {
  const Json& path = member(port, "path");
  if (!path.is_null()) {
    const Json& mode = member(port, "mode");
    return mode.is_null() ? cell(path) : cell(path) + " (" + cell(mode) + ")";
  }
  return cell(port, "devargs");
}

uint64_t drop_total(const Json& counters) {
  uint64_t total = 0;
  for (const auto& [reason, count] : member(counters, "drops").items()) {
    if (count.is_number_unsigned()) total += count.get<uint64_t>();
  }
  return total;
}

// "spoofed 3, vlan 2": the non-zero drop reasons, or "" when there are none.
std::string drop_reasons(const Json& counters) {
  std::string text;
  for (const auto& [reason, count] : member(counters, "drops").items()) {
    if (!count.is_number() || count.get<double>() == 0) continue;
    if (!text.empty()) text += ", ";
    text += reason + " " + cell(count);
  }
  return text;
}

std::vector<std::string> traffic_cells(std::string first, const Json& counters) {
  return {std::move(first), cell(counters, "rx_packets"), cell(counters, "rx_bytes"),
          cell(counters, "tx_packets"), cell(counters, "tx_bytes")};
}

}  // namespace

void print_status(const Json& result, std::ostream& out) {
  print_fields(result,
               {{"version", "version"},
                {"uptime_s", "uptime (s)"},
                {"pmd_cores", "pmd cores"},
                {"idle", "idle mode"},
                {"ports", "ports"},
                {"mac_entries", "mac entries"}},
               out);
}

void print_port_list(const Json& result, std::ostream& out) {
  TextTable table({"NAME", "TYPE", "LINK", "QUEUES", "VLAN", "TRUNK", "ALLOWED-MACS", "ENDPOINT"});
  for (const auto& port : as_list(result)) {
    table.add_row({cell(port, "name"), cell(port, "type"), cell(port, "link"), cell(port, "queues"),
                   cell(port, "vlan"), cell(port, "trunk"), cell(port, "allowed_macs"),
                   endpoint(port)});
  }
  table.print(out);
}

void print_port(const Json& result, std::ostream& out) {
  print_fields(result,
               {{"name", "name"},
                {"type", "type"},
                {"link", "link"},
                {"path", "path"},
                {"mode", "mode"},
                {"devargs", "devargs"},
                {"queues", "queues"},
                {"vlan", "vlan"},
                {"trunk", "trunk"},
                {"allowed_macs", "allowed macs"},
                {"dpdk_port", "dpdk port"}},
               out);
  const Json& stats = member(result, "stats");
  if (!stats.is_object()) return;
  out << '\n';
  TextTable table({"QUEUE", "RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES"});
  table.add_row(traffic_cells("total", stats));
  for (const auto& queue : as_list(member(stats, "queues"), true)) {
    table.add_row(traffic_cells(cell(queue, "queue"), queue));
  }
  table.print(out);
  const std::string reasons = drop_reasons(stats);
  out << "\ndrops  " << (reasons.empty() ? "none" : reasons) << '\n';
}

void print_port_deleted(const Json& result, std::ostream& out) {
  out << "deleted port " << cell(result, "deleted") << '\n';
}

void print_stats(const Json& result, std::ostream& out) {
  const Json& ports = member(result, "ports");
  TextTable table({"PORT", "RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES", "DROPS"});
  std::vector<std::string> reasons;
  for (const auto& counters : as_list(ports)) {
    auto row = traffic_cells(cell(counters, "name"), counters);
    row.push_back(std::to_string(drop_total(counters)));
    table.add_row(std::move(row));
    if (auto text = drop_reasons(counters); !text.empty()) {
      reasons.push_back(cell(counters, "name") + ": " + text);
    }
  }
  table.print(out);
  if (!reasons.empty()) out << "\ndrops by reason\n";
  for (const auto& line : reasons) out << "  " << line << '\n';
}

void print_mac_list(const Json& result, std::ostream& out) {
  TextTable table({"MAC", "VLAN", "PORT", "AGE(S)"});
  for (const auto& entry : as_list(result)) {
    table.add_row(
        {cell(entry, "mac"), cell(entry, "vlan"), cell(entry, "port"), cell(entry, "age_s")});
  }
  table.print(out);
}

void print_mac_flushed(const Json& result, std::ostream& out) {
  const Json& count = member(result, "flushed");
  out << "flushed " << cell(count) << (count == 1 ? " MAC entry" : " MAC entries") << '\n';
}

void print_pmd_stats(const Json& result, std::ostream& out) {
  TextTable table({"CORE", "LCORE", "PACKETS", "BUSY%", "CYCLES/PKT", "RX-QUEUES"});
  for (const auto& pmd : as_list(result)) {
    table.add_row({cell(pmd, "core"), cell(pmd, "lcore"), cell(pmd, "packets"),
                   cell(pmd, "busy_pct"), cell(pmd, "cycles_per_packet"), cell(pmd, "rx_queues")});
  }
  table.print(out);
}

void print_rule_list(const Json& result, std::ostream& out) {
  TextTable table({"ID", "PRIORITY", "MATCH", "ACTIONS", "PACKETS", "BYTES"});
  for (const auto& rule : as_list(result)) {
    std::string actions = cell(rule, "actions");
    if (member(rule, "active") == false) actions += " (inactive: a port is missing)";
    table.add_row({cell(rule, "id"), cell(rule, "priority"), cell(rule, "match"), actions,
                   cell(rule, "packets"), cell(rule, "bytes")});
  }
  table.print(out);
}

void print_rule(const Json& result, std::ostream& out) {
  out << "rule " << cell(result, "id") << " added\n";
  print_rule_list(Json::array({result}), out);
}

void print_rule_deleted(const Json& result, std::ostream& out) {
  if (const Json& n = member(result, "flushed"); !n.is_null()) {
    out << "deleted " << cell(n) << (n == 1 ? " rule" : " rules") << '\n';
    return;
  }
  out << "deleted rule " << cell(result, "deleted") << '\n';
}

void print_json(const Json& result, std::ostream& out) {
  out << result.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace nfvctl
