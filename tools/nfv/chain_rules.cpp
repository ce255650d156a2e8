// Chain -> switch rules (chain_rules.hpp).
#include "chain_rules.hpp"

#include <algorithm>

namespace nfv::topo {

std::string chain_match_text(const control::Json& m) {
  std::string out;
  auto add = [&](const std::string& field) { out += (out.empty() ? "" : ",") + field; };
  auto text = [&](const char* key) { return m.contains(key) ? m[key].get<std::string>() : std::string(); };
  const bool v6 = text("src_ip").find(':') != std::string::npos || text("dst_ip").find(':') != std::string::npos;
  if (m.contains("proto")) add(text("proto") + (v6 ? "6" : ""));
  else if (m.contains("src_ip") || m.contains("dst_ip")) add(v6 ? "ipv6" : "ip");
  if (m.contains("vlan")) add("dl_vlan=" + std::to_string(m["vlan"].get<int>()));
  if (m.contains("src_mac")) add("dl_src=" + text("src_mac"));
  if (m.contains("dst_mac")) add("dl_dst=" + text("dst_mac"));
  if (m.contains("src_ip")) add("nw_src=" + text("src_ip"));
  if (m.contains("dst_ip")) add("nw_dst=" + text("dst_ip"));
  if (m.contains("src_port")) add("tp_src=" + std::to_string(m["src_port"].get<int>()));
  if (m.contains("dst_port")) add("tp_dst=" + std::to_string(m["dst_port"].get<int>()));
  return out;
}

std::vector<control::Json> chain_rules(const Topology& t, const ChainSpec& ch) {
  const std::string cls = chain_match_text(ch.match);
  std::vector<std::pair<std::string, std::string>> steps;  // in_port -> output
  std::string at = ch.from;
  for (const std::string& hop : ch.hops) {
    const auto v = std::find_if(t.vnfs.begin(), t.vnfs.end(), [&](const VnfSpec& s) { return s.name == hop; });
    steps.emplace_back(at, v->ports[0]);
    at = v->ports[1];
  }
  steps.emplace_back(at, ch.to);
  std::vector<control::Json> rules;
  for (const auto& [in, out] : steps)
    rules.push_back({{"priority", ch.priority},
                     {"match", "in_port=" + in + (cls.empty() ? "" : "," + cls)},
                     {"actions", "output:" + out}});
  return rules;
}

}  // namespace nfv::topo
