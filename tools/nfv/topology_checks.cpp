// Cross-checks between the sections of a topology (topology_checker.hpp):
//
//   - every port a VNF, chain or the generator names is a [[port]]; attached
//     ports are vhost-user and each has one peer (VNF or generator);
//   - chains name VNFs with two ports (in, out) and are realisable by the
//     switch's L2 bridge: each segment (from -> first hop, hop -> hop, last
//     hop -> to) is an access VLAN that no other port carries;
//   - CPUs exist, and busy pollers (idle = "poll", and a generator without idle = "yield") fit:
//     at most one per CPU.
#include <algorithm>
#include <map>

#include "topology_checker.hpp"

namespace nfv::topo {

namespace {

struct Ctx {
  const Checker& c;
  const Topology& t;
  const CheckEnv& env;
  const std::vector<Where>& port_at;

  const sw::PortConfig* port(const std::string& name) const {
    for (const sw::PortConfig& p : t.sw.ports)
      if (p.name == name) return &p;
    return nullptr;
  }

  std::string port_names() const {
    std::string out;
    for (const sw::PortConfig& p : t.sw.ports) out += (out.empty() ? "" : ", ") + p.name;
    return out.empty() ? "a [[port]] (there is none)" : "one of " + out;
  }

  Result<const sw::PortConfig*> existing(const std::string& name, Where at, std::string_view who) const {
    const sw::PortConfig* p = port(name);
    if (p == nullptr)
      return c.fail(at, std::string(who) + " names port '" + name + "', which is not a [[port]] of the switch",
                    port_names());
    return p;
  }
};

// Ports with a peer, and who it is.
using Owners = std::map<std::string, std::string>;

Status attach(const Ctx& x, Owners& owners, const std::string& name, Where at, const std::string& who) {
  auto p = x.existing(name, at, who);
  if (!p) return std::move(p).error();
  if ((*p)->type != sw::PortType::vhost_user)
    return x.c.fail(at, who + " names port '" + name + "', an ethdev port",
                    "a vhost-user port (VNFs and the generator attach to vhost-user sockets)");
  if (auto it = owners.find(name); it != owners.end())
    return x.c.fail(at,
                    who + " names port '" + name + "' (socket " + quote((*p)->path) +
                        "), which " + it->second + " already uses",
                    "one peer per vhost-user socket: give each VNF its own [[port]]");
  owners.emplace(name, who);
  return {};
}

Status check_attachments(const Ctx& x) {
  Owners owners;
  for (const VnfSpec& v : x.t.vnfs)
    for (size_t i = 0; i < v.ports.size(); ++i)
      if (auto st = attach(x, owners, v.ports[i], v.ports_at[i], "vnf '" + v.name + "'"); !st) return st;
  if (const auto& g = x.t.generator) {
    if (auto st = attach(x, owners, g->port, g->port_at, "the generator"); !st) return st;
    if (g->rx_port != g->port)
      if (auto st = attach(x, owners, g->rx_port, g->rx_port_at, "the generator"); !st) return st;
  }
  return {};
}

// One chain segment a -> b through the L2 bridge: both access ports of one
// VLAN that no other port carries (a trunk with it, or a port without VLAN
// settings, which carries every VLAN, would also receive the segment's floods).
Status check_segment(const Ctx& x, const ChainSpec& ch, const std::string& a, const std::string& b, Where at) {
  constexpr std::string_view kExpected =
      "both ports in one access VLAN ('vlan = N') that no other port carries: the switch's L2 bridge "
      "realises a chain segment as a two-port VLAN";
  const std::string seg = "chain '" + ch.name + "' segment " + a + " -> " + b;
  const sw::PortConfig* pa = x.port(a);
  const sw::PortConfig* pb = x.port(b);
  if (a == b) return x.c.fail(at, seg + " goes from a port to itself", "distinct ports");
  if (!pa->vlan || !pb->vlan || *pa->vlan != *pb->vlan) {
    auto show = [](const sw::PortConfig* p) {
      return p->vlan ? "VLAN " + std::to_string(*p->vlan) : p->trunk ? std::string("a trunk") : std::string("no VLAN");
    };
    return x.c.fail(at, seg + ": port '" + a + "' has " + show(pa) + ", port '" + b + "' has " + show(pb),
                    kExpected);
  }
  const uint16_t v = *pa->vlan;
  for (const sw::PortConfig& p : x.t.sw.ports) {
    if (p.name == a || p.name == b) continue;
    const bool carries = p.vlan ? *p.vlan == v
                                : !p.trunk || std::find(p.trunk->begin(), p.trunk->end(), v) != p.trunk->end();
    if (carries)
      return x.c.fail(at, seg + " is VLAN " + std::to_string(v) + ", which port '" + p.name + "' also carries",
                      kExpected);
  }
  return {};
}

Status check_chain_refs(const Ctx& x, const ChainSpec& ch) {
  const std::string who = "chain '" + ch.name + "'";
  if (auto p = x.existing(ch.from, ch.from_at, who); !p) return std::move(p).error();
  if (auto p = x.existing(ch.to, ch.to_at, who); !p) return std::move(p).error();
  std::vector<const VnfSpec*> hops;
  for (size_t i = 0; i < ch.hops.size(); ++i) {
    const auto it = std::find_if(x.t.vnfs.begin(), x.t.vnfs.end(), [&](const VnfSpec& v) { return v.name == ch.hops[i]; });
    if (it == x.t.vnfs.end()) {
      std::string names;
      for (const VnfSpec& v : x.t.vnfs) names += (names.empty() ? "" : ", ") + v.name;
      return x.c.fail(ch.hops_at[i], who + " hop '" + ch.hops[i] + "' is not a [[vnf]]",
                      names.empty() ? "a [[vnf]] name (there is none)" : "one of " + names);
    }
    if (it->ports.size() != 2)
      return x.c.fail(ch.hops_at[i],
                      who + " hop '" + it->name + "' has " + std::to_string(it->ports.size()) + " port(s)",
                      "a VNF with two ports: 'ports = [IN, OUT]'");
    for (size_t j = 0; j < i; ++j)
      if (ch.hops[j] == ch.hops[i])
        return x.c.fail(ch.hops_at[i], who + " lists hop '" + ch.hops[i] + "' twice", "each VNF once per chain");
    hops.push_back(&*it);
  }
  if (auto st = check_segment(x, ch, ch.from, hops.front()->ports[0], ch.from_at); !st) return st;
  for (size_t i = 1; i < hops.size(); ++i)
    if (auto st = check_segment(x, ch, hops[i - 1]->ports[1], hops[i]->ports[0], ch.hops_at[i]); !st) return st;
  return check_segment(x, ch, hops.back()->ports[1], ch.to, ch.to_at);
}

struct Poller {
  std::string who;
  std::vector<unsigned> cpus;  // pinned CPUs; empty: not pinned
  unsigned threads;
  Where at;
};

Status check_cpus(const Ctx& x) {
  const std::vector<unsigned>& allowed = x.env.cpus;
  if (allowed.empty()) return {};
  auto available = [&](const std::vector<unsigned>& cpus, Where at, const std::string& who) -> Status {
    for (unsigned cpu : cpus)
      if (std::find(allowed.begin(), allowed.end(), cpu) == allowed.end()) {
        std::string list;
        for (unsigned a : allowed) list += (list.empty() ? "" : ",") + std::to_string(a);
        return x.c.fail(at, who + " uses CPU " + std::to_string(cpu) + ", which is not available here",
                        "CPUs this process may use: " + list);
      }
    return {};
  };
  std::vector<Poller> busy;
  std::vector<unsigned> pmd = x.t.sw.cores;
  if (pmd.empty()) pmd = {allowed.size() > 1 ? allowed[1] : allowed[0]};
  if (auto st = available(x.t.sw.cores, x.t.switch_cores_at, "[switch] 'cores'"); !st) return st;
  if (x.t.sw.idle == sw::IdleMode::poll)
    busy.push_back({"the switch's PMD threads", pmd, static_cast<unsigned>(pmd.size()), x.t.switch_idle_at});
  for (const VnfSpec& v : x.t.vnfs) {
    if (auto st = available(v.cores, v.cores_at, "vnf '" + v.name + "'"); !st) return st;
    const unsigned threads = v.kind == VnfKind::vm ? v.cpus : std::max<unsigned>(1, static_cast<unsigned>(v.cores.size()));
    if (v.idle == sw::IdleMode::poll) busy.push_back({"vnf '" + v.name + "'", v.cores, threads, v.idle_at});
  }
  if (const auto& g = x.t.generator) {
    std::vector<unsigned> cpu;
    if (g->cpu) cpu.push_back(*g->cpu);
    if (auto st = available(cpu, g->cpu_at, "the generator"); !st) return st;
    if (!g->yield) busy.push_back({"the generator", cpu, 1, g->cpu ? g->cpu_at : g->at});
  }
  std::stable_sort(busy.begin(), busy.end(), [](const Poller& a, const Poller& b) { return before(a.at, b.at); });
  constexpr std::string_view kExpected =
      "at most one busy poller per CPU: idle = \"adaptive\" (sleeps when there is no traffic; \"yield\" for the "
      "generator) or other CPUs";
  unsigned total = 0;
  std::map<unsigned, std::string> pinned;
  for (const Poller& p : busy) {
    total += p.threads;
    if (total > allowed.size())
      return x.c.fail(p.at,
                      std::to_string(total) + " busy pollers up to " + p.who + " for " + std::to_string(allowed.size()) +
                          " CPUs",
                      kExpected);
    for (unsigned cpu : p.cpus) {
      if (auto it = pinned.find(cpu); it != pinned.end())
        return x.c.fail(p.at, p.who + " polls on CPU " + std::to_string(cpu) + ", where " + it->second + " polls",
                        kExpected);
      pinned.emplace(cpu, p.who);
    }
  }
  return {};
}

}  // namespace

Status cross_check(const Checker& c, const Topology& t, const CheckEnv& env, const std::vector<Where>& port_at) {
  const Ctx x{c, t, env, port_at};
  if (auto st = check_attachments(x); !st) return st;
  for (const ChainSpec& ch : t.chains)
    if (auto st = check_chain_refs(x, ch); !st) return st;
  return check_cpus(x);
}

}  // namespace nfv::topo
