// [[chain]] and [generator] keys (topology_keys.hpp, docs/topology.md).
#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "topology_keys.hpp"

namespace nfv::topo {

namespace {

constexpr std::string_view kArgsExpected = "a list of strings (arguments, passed verbatim)";

bool name_ok(std::string_view s) { return valid_name(s); }

}  // namespace

// ---------------------------------------------------------------------------
// [[chain]]

namespace {

constexpr std::string_view kMatchKeys =
    "vlan, src_mac, dst_mac, src_ip, dst_ip, proto, src_port, dst_port";

// "10.0.0.0/24", "10.0.0.1", "2001:db8::/32": returns false when not one.
bool ip_prefix(std::string_view s) {
  const size_t slash = s.find('/');
  const std::string addr(s.substr(0, slash));
  unsigned char buf[16];
  int bits = 0;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) bits = 32;
  else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) bits = 128;
  else return false;
  if (slash == std::string_view::npos) return true;
  const std::string_view len = s.substr(slash + 1);
  int n = -1;
  const auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  return ec == std::errc() && p == len.data() + len.size() && n >= 0 && n <= bits;
}

Result<control::Json> check_match(const Checker& c, const toml::node& node) {
  const auto* t = node.as_table();
  if (t == nullptr) return c.wrong_kind(node, "'match'", "a table with some of " + std::string(kMatchKeys));
  control::Json out = control::Json::object();
  for (const Member& m : members_in_order(*t)) {
    const std::string subject = "'match." + std::string(m.key) + "'";
    const Where at = where_of(m.value->source());
    if (m.key == "vlan") {
      auto id = c.integer(*m.value, subject, 1, 4094, "a VLAN id in 1..4094");
      if (!id) return std::move(id).error();
      out["vlan"] = *id;
    } else if (m.key == "src_mac" || m.key == "dst_mac") {
      auto s = c.string(*m.value, subject, "a MAC address like \"02:00:00:00:00:01\"");
      if (!s) return std::move(s).error();
      const auto mac = MacAddress::parse(*s);
      if (!mac) return c.fail(at, subject + " is " + quote(*s), "a MAC address like \"02:00:00:00:00:01\"");
      out[std::string(m.key)] = mac->to_string();
    } else if (m.key == "src_ip" || m.key == "dst_ip") {
      constexpr std::string_view kExpected = "an IPv4 or IPv6 address or prefix like \"10.0.0.0/24\"";
      auto s = c.string(*m.value, subject, kExpected);
      if (!s) return std::move(s).error();
      if (!ip_prefix(*s)) return c.fail(at, subject + " is " + quote(*s), kExpected);
      out[std::string(m.key)] = *s;
    } else if (m.key == "proto") {
      static constexpr std::array<std::string_view, 3> kProtos = {"udp", "tcp", "icmp"};
      auto i = c.choice(*m.value, subject, kProtos);
      if (!i) return std::move(i).error();
      out["proto"] = std::string(kProtos[*i]);
    } else if (m.key == "src_port" || m.key == "dst_port") {
      auto port = c.integer(*m.value, subject, 0, 65535, "a port number in 0..65535");
      if (!port) return std::move(port).error();
      out[std::string(m.key)] = *port;
    } else {
      return c.fail(m.at, "unknown match key " + key_subject(m.key), "one of " + std::string(kMatchKeys));
    }
  }
  if ((out.contains("src_port") || out.contains("dst_port")) && !out.contains("proto"))
    return c.fail(where_of(node.source()), "'match' has a port but no 'proto'",
                  "'proto = \"udp\"' or \"tcp\" with 'src_port'/'dst_port'");
  return out;
}

Result<std::pair<std::string, Where>> port_name(const Checker& c, const Member& m) {
  auto s = c.string(*m.value, key_subject(m.key), "a switch port name");
  if (!s) return std::move(s).error();
  const Where at = where_of(m.value->source());
  if (!valid_name(*s))
    return c.fail(at, key_subject(m.key) + " is " + quote(*s), "a switch port name: " + std::string(kNameExpected));
  return std::pair{std::move(*s), at};
}

}  // namespace

Result<ChainSpec> check_chain(const Checker& c, const toml::table& table) {
  static constexpr std::string_view kKeys = "name, from, hops, to, priority, match";
  ChainSpec ch;
  ch.at = where_of(table.source());
  for (const Member& m : members_in_order(table)) {
    if (m.key == "name") {
      auto s = c.string(*m.value, "'name'", kNameExpected);
      if (!s) return std::move(s).error();
      if (!valid_name(*s)) return c.fail(where_of(m.value->source()), "'name' is " + quote(*s), kNameExpected);
      ch.name = std::move(*s);
    } else if (m.key == "from" || m.key == "to") {
      auto p = port_name(c, m);
      if (!p) return std::move(p).error();
      (m.key == "from" ? ch.from : ch.to) = std::move(p->first);
      (m.key == "from" ? ch.from_at : ch.to_at) = p->second;
    } else if (m.key == "hops") {
      constexpr std::string_view kExpected = "a non-empty list of [[vnf]] names, in the order traffic crosses them";
      auto hops = c.strings(*m.value, "'hops'", kExpected, false, name_ok);
      if (!hops) return std::move(hops).error();
      for (const toml::node& e : *m.value->as_array()) ch.hops_at.push_back(where_of(e.source()));
      ch.hops = std::move(*hops);
    } else if (m.key == "priority") {
      auto p = c.integer(*m.value, "'priority'", 0, 65535, "an integer in 0..65535 (higher wins)");
      if (!p) return std::move(p).error();
      ch.priority = static_cast<uint32_t>(*p);
    } else if (m.key == "match") {
      auto match = check_match(c, *m.value);
      if (!match) return std::move(match).error();
      ch.match = std::move(*match);
    } else {
      return c.fail(m.at, "unknown chain key " + key_subject(m.key), "one of " + std::string(kKeys));
    }
  }
  for (auto [key, have] : {std::pair{"name", !ch.name.empty()}, std::pair{"from", !ch.from.empty()},
                           std::pair{"hops", !ch.hops.empty()}, std::pair{"to", !ch.to.empty()}})
    if (!have)
      return c.fail(ch.at, "chain" + (ch.name.empty() ? std::string() : " '" + ch.name + "'") +
                               " has no '" + key + "' key",
                    "the keys name, from, hops and to");
  return ch;
}

// ---------------------------------------------------------------------------
// [generator]

namespace {

// nfv-gen's --rate: "1000", "1.5M", "200k" (pps), "10Gbps", "500Mbps", "50%".
bool rate_ok(std::string s) {
  if (s == "max") return true;
  bool percent = false;
  if (s.size() > 3 && s.compare(s.size() - 3, 3, "bps") == 0) {
    s.resize(s.size() - 3);
  } else if (!s.empty() && s.back() == '%') {
    percent = true;
    s.pop_back();
  }
  if (!s.empty() && !percent && std::strchr("kKmMgG", s.back()) != nullptr) s.pop_back();
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && v > 0 && std::isfinite(v) && (!percent || v <= 100);
}

}  // namespace

Result<GeneratorSpec> check_generator(const Checker& c, const toml::table& table) {
  static constexpr std::string_view kKeys = "port, rx_port, rate, seconds, cpu, idle, args";
  constexpr std::string_view kRateExpected =
      "packets/s (\"1.5M\", 200000), bits/s on the wire (\"10Gbps\") or a percentage of 10 Gbit/s (\"5%\"), above 0; \"max\": as fast as possible";
  GeneratorSpec g;
  g.at = where_of(table.source());
  for (const Member& m : members_in_order(table)) {
    const Where at = where_of(m.value->source());
    if (m.key == "port" || m.key == "rx_port") {
      auto p = port_name(c, m);
      if (!p) return std::move(p).error();
      (m.key == "port" ? g.port : g.rx_port) = std::move(p->first);
      (m.key == "port" ? g.port_at : g.rx_port_at) = p->second;
    } else if (m.key == "rate") {
      std::string text;
      if (const auto* i = m.value->as_integer(); i != nullptr && i->get() >= 0) text = std::to_string(i->get());
      else if (const auto* s = m.value->as_string()) text = s->get();
      else return c.wrong_kind(*m.value, "'rate'", kRateExpected);
      if (!rate_ok(text)) return c.fail(at, "'rate' is " + quote(text), kRateExpected);
      g.rate = std::move(text);
    } else if (m.key == "seconds") {
      constexpr std::string_view kExpected = "a number of seconds in 0.01..86400";
      double s = 0;
      if (const auto* i = m.value->as_integer()) s = static_cast<double>(i->get());
      else if (const auto* f = m.value->as_floating_point()) s = f->get();
      else return c.wrong_kind(*m.value, "'seconds'", kExpected);
      if (!(s >= 0.01 && s <= 86400)) return c.fail(at, "'seconds' is " + std::to_string(s), kExpected);
      g.seconds = s;
    } else if (m.key == "cpu") {
      auto cpu = c.integer(*m.value, "'cpu'", 0, 1023, "a CPU number in 0..1023");
      if (!cpu) return std::move(cpu).error();
      g.cpu = static_cast<unsigned>(*cpu);
      g.cpu_at = at;
    } else if (m.key == "idle") {
      constexpr std::string_view kExpected =
          "\"poll\" (spins) or \"yield\" (gives its CPU away while its ring is full or it waits to send)";
      const auto* v = m.value->as_string();
      if (v == nullptr) return c.wrong_kind(*m.value, "'idle'", kExpected);
      if (v->get() != "poll" && v->get() != "yield") return c.fail(at, "'idle' is " + quote(v->get()), kExpected);
      g.yield = v->get() == "yield";
    } else if (m.key == "args") {
      auto a = c.strings(*m.value, "'args'", kArgsExpected, true, nullptr);
      if (!a) return std::move(a).error();
      g.args = std::move(*a);
    } else {
      return c.fail(m.at, "unknown generator key " + key_subject(m.key), "one of " + std::string(kKeys));
    }
  }
  if (g.port.empty())
    return c.fail(g.at, "[generator] has no 'port' key", "a 'port' key: the switch port nfv-gen sends on");
  if (g.rx_port.empty()) {
    g.rx_port = g.port;
    g.rx_port_at = g.port_at;
  }
  return g;
}

}  // namespace nfv::topo
