// Human forms of the status object (status_view.hpp).
#include "status_view.hpp"

#include <fmt/format.h>

namespace nfv::topo {

namespace {

using control::Json;

double num(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string str(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string render_table(const Json& s) {
  std::string out = fmt::format("nfv: {}  {}  up {:.0f} s\n", str(s, "topology"), str(s, "state"), num(s, "uptime_s"));
  out += fmt::format("{:<16} {:<6} {:>10} {:>10} {:>14} {:>14} {:>10}\n", "PORT", "LINK", "RX_MPPS", "TX_MPPS",
                     "RX_PACKETS", "TX_PACKETS", "DROPS");
  for (const Json& p : s.value("ports", Json::array()))
    out += fmt::format("{:<16} {:<6} {:>10.3f} {:>10.3f} {:>14} {:>14} {:>10}\n", str(p, "name"), str(p, "link"),
                       num(p, "rx_mpps"), num(p, "tx_mpps"), str(p, "rx_packets"), str(p, "tx_packets"),
                       str(p, "drops"));
  // Components; VNFs with their own counters (from their control sockets), the generator with its rates.
  constexpr const char* kRow = "{:<16} {:<8} {:<24} {:>8} {:>9} {:>10} {:>10} {:>14} {:>14} {:>10}\n";
  auto rate = [](const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? fmt::format("{:.3f}", it->get<double>()) : std::string("-");
  };
  out += fmt::format(kRow, "COMPONENT", "KIND", "STATE", "PID", "RESTARTS", "RX_MPPS", "TX_MPPS", "RX_PACKETS",
                     "TX_PACKETS", "DROPS");
  if (s.contains("switch"))
    out += fmt::format(kRow, "switch", "switch", str(s["switch"], "state"), str(s["switch"], "pid"), "-", "-", "-",
                       "-", "-", "-");
  for (const Json& v : s.value("vnfs", Json::array()))
    out += fmt::format(kRow, str(v, "name"), str(v, "kind"), str(v, "state"), str(v, "pid"), str(v, "restarts"),
                       rate(v, "rx_mpps"), rate(v, "tx_mpps"), str(v, "rx_packets"), str(v, "tx_packets"),
                       str(v, "drops"));
  if (const Json& g = s.value("generator", Json()); g.is_object())
    out += fmt::format(kRow, "generator", "nfv-gen", str(g, "state"), str(g, "pid"), "-", rate(g, "rx_mpps"),
                       rate(g, "tx_mpps"), "-", "-", "-");
  return out;
}

std::string render_line(const Json& s) {
  std::string out = fmt::format("[{:5.0f} s]", num(s, "uptime_s"));
  for (const Json& p : s.value("ports", Json::array()))
    out += fmt::format(" {} {} rx {:.3f} tx {:.3f} drops {} |", str(p, "name"), str(p, "link"), num(p, "rx_mpps"),
                       num(p, "tx_mpps"), str(p, "drops"));
  for (const Json& v : s.value("vnfs", Json::array()))
    out += fmt::format(" {} {} restarts {} rx {} tx {} drops {} |", str(v, "name"), str(v, "state"),
                       str(v, "restarts"), str(v, "rx_packets"), str(v, "tx_packets"), str(v, "drops"));
  if (const Json& g = s.value("generator", Json()); g.is_object())
    out += fmt::format(" generator {} tx {:.3f} rx {:.3f} Mpps", str(g, "state"), num(g, "tx_mpps"), num(g, "rx_mpps"));
  return out;
}

std::string render_result(const Json& r) {
  if (!r.is_object() || !r.contains("tx_packets")) return "nfv: the generator left no result";
  const double tx = num(r, "tx_packets");
  const double rx = num(r, "rx_packets");
  uint64_t lost = 0;
  for (const Json& st : r.value("streams", Json::array())) lost += st.value("lost", uint64_t{0});
  return fmt::format(
      "nfv: generator sent {:.0f} frames in {:.2f} s ({:.3f} Mpps), received {:.0f} ({:.3f} Mpps), lost {} ({:.3f} %)",
      tx, num(r, "seconds"), num(r, "tx_pps") / 1e6, rx, num(r, "rx_pps") / 1e6, lost,
      tx > 0 ? 100.0 * static_cast<double>(lost) / tx : 0.0);
}

}  // namespace nfv::topo
