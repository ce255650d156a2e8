// nfvctl stats [--watch]: the port counters once, or a live table of rates
// refreshed every --interval seconds (the screen is redrawn in place; with
// --json one JSON object per refresh and line, for scripts).
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "printers.hpp"
#include "verbs.hpp"

namespace nfvctl {

namespace {

uint64_t u64(const Json& obj, const char* key) {
  const Json& v = member(obj, key);
  return v.is_number_unsigned() ? v.get<uint64_t>() : 0;
}

uint64_t drops(const Json& port) {
  uint64_t n = 0;
  for (const auto& [reason, count] : member(port, "drops").items())
    if (count.is_number_unsigned()) n += count.get<uint64_t>();
  return n;
}

}  // namespace

int run_stats(const RunContext& ctx, const CLI::App&, const VerbOptions& o) {
  auto client = connect_switch(ctx);
  if (!client) return kExitCannotConnect;
  if (!o.watch) {
    auto r = client->call("stats");
    if (!r) return std::cerr << "nfvctl: " << r.error().message << '\n', kExitServerError;
    if (ctx.json) print_json(*r, std::cout);
    else print_stats(*r, std::cout);
    return kExitOk;
  }
  using Clock = std::chrono::steady_clock;
  std::map<std::string, Json> last;
  Clock::time_point last_t{};
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.interval_s));
  auto next = Clock::now();
  for (unsigned i = 0; o.iterations == 0 || i <= o.iterations; ++i) {
    auto r = client->call("stats");
    if (!r) return std::cerr << "nfvctl: " << r.error().message << '\n', kExitServerError;
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last_t).count();
    Json rates = Json::array();
    TextTable table({"PORT", "RX-PPS", "TX-PPS", "RX-MBIT/S", "TX-MBIT/S", "DROPS/S", "RX-PKTS", "TX-PKTS", "DROPS"});
    for (const Json& p : member(*r, "ports")) {
      const std::string name = cell(p, "name");
      const auto it = last.find(name);
      auto rate = [&](uint64_t now_v, uint64_t then_v) {
        return it == last.end() || now_v < then_v ? 0.0 : static_cast<double>(now_v - then_v) / dt;
      };
      const Json& prev = it == last.end() ? p : it->second;
      const double rx_pps = rate(u64(p, "rx_packets"), u64(prev, "rx_packets"));
      const double tx_pps = rate(u64(p, "tx_packets"), u64(prev, "tx_packets"));
      const double rx_mbps = rate(u64(p, "rx_bytes"), u64(prev, "rx_bytes")) * 8 / 1e6;
      const double tx_mbps = rate(u64(p, "tx_bytes"), u64(prev, "tx_bytes")) * 8 / 1e6;
      const double drop_ps = rate(drops(p), drops(prev));
      rates.push_back({{"name", name}, {"rx_pps", rx_pps}, {"tx_pps", tx_pps}, {"rx_mbps", rx_mbps},
                       {"tx_mbps", tx_mbps}, {"drops_per_s", drop_ps}, {"rx_packets", u64(p, "rx_packets")},
                       {"tx_packets", u64(p, "tx_packets")}, {"drops", drops(p)}});
      table.add_row({name, fmt::format("{:.0f}", rx_pps), fmt::format("{:.0f}", tx_pps), fmt::format("{:.2f}", rx_mbps),
                     fmt::format("{:.2f}", tx_mbps), fmt::format("{:.0f}", drop_ps),
                     std::to_string(u64(p, "rx_packets")), std::to_string(u64(p, "tx_packets")),
                     std::to_string(drops(p))});
      last[name] = p;
    }
    // The first sample only sets the baseline for rates.
    if (i > 0) {
      if (ctx.json) {
        std::cout << Json{{"interval_s", dt}, {"ports", rates}}.dump() << std::endl;
      } else {
        std::cout << "\033[H\033[2J" << fmt::format("nfv-switch port rates, every {:.1f} s (Ctrl-C to stop)\n\n", o.interval_s);
        table.print(std::cout);
        std::cout.flush();
      }
    }
    last_t = now;
    next += period;
    std::this_thread::sleep_until(next);
  }
  return kExitOk;
}

}  // namespace nfvctl
