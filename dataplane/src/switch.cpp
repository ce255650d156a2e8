#include "switch.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace nfv::sw {

using control::Json;
using control::RpcError;

namespace {
constexpr unsigned kPoolSize = 32767;  // 2^n - 1 is what rte_mempool sizes best
constexpr unsigned kPoolCache = 256;
constexpr uint32_t kAgingPeriodS = 1;
}  // namespace

Switch::Switch(SwitchConfig cfg, EalPlan plan)
    : cfg_(std::move(cfg)),
      plan_(std::move(plan)),
      captures_([this](const std::string& name) { return find_port(name); }, [this] { publish(); }) {
  for (auto& locks : tx_locks_)
    for (auto& l : locks) rte_spinlock_init(&l);
}

Switch::~Switch() {
  shutdown();
  rte_free(qsbr_);
  if (pool_) rte_mempool_free(pool_);
}

Status Switch::start() {
  pool_ = rte_pktmbuf_pool_create("nfv_mbufs", kPoolSize, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  static_cast<int>(rte_socket_id()));
  if (!pool_)
    return make_error(Errc::resource, fmt::format("cannot create the packet buffer pool ({} buffers): "
                                                  "raise [switch] memory_mb",
                                                  kPoolSize));
  const size_t qsz = rte_rcu_qsbr_get_memsize(pmd_count());
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("nfv_qsbr", qsz, RTE_CACHE_LINE_SIZE));
  if (!qsbr_ || rte_rcu_qsbr_init(qsbr_, pmd_count()) != 0)
    return make_error(Errc::resource, "cannot create the RCU state for the PMD threads");
  snapshots_.set_qsbr(qsbr_);
  vhost_ports_init(qsbr_);

  for (uint16_t i = 0; i < pmd_count(); ++i) counters_.push_back(std::make_unique<PmdCounters>());

  for (const PortConfig& p : cfg_.ports) {
    if (auto r = add_port(p); !r) {
      shutdown();
      return make_error(r.error().code, r.error().message);
    }
  }
  for (const RuleConfig& r : cfg_.rules) {
    if (auto id = rules_.add(r.priority, r.match, r.actions); !id) {  // checked with the file already
      shutdown();
      return make_error(id.error().code, id.error().message);
    }
  }
  if (!cfg_.rules.empty()) {
    publish();
    spdlog::info("{} flow rules installed", cfg_.rules.size());
  }

  for (uint16_t i = 0; i < pmd_count(); ++i) {
    PmdContext ctx;
    ctx.index = i;
    ctx.snapshot = snapshots_.slot();
    ctx.qsbr = qsbr_;
    ctx.macs = &macs_;
    ctx.now_s = &now_s_;
    ctx.pool = pool_;
    ctx.counters = counters_[i].get();
    ctx.idle = cfg_.idle;
    ctx.stop = &stop_;
    workers_.push_back(std::make_unique<PmdWorker>(ctx));
    const unsigned lcore = i + 1u;
    if (int rc = rte_eal_remote_launch(&PmdWorker::lcore_main, workers_.back().get(), lcore); rc != 0) {
      shutdown();
      return make_error(Errc::resource, fmt::format("cannot launch PMD on lcore {}: {}", lcore, rc));
    }
    spdlog::info("PMD {} polling on CPU {} ({} idle mode)", i, plan_.pmd_cpus[i], to_string(cfg_.idle));
  }
  pmds_running_ = true;
  return {};
}

void Switch::shutdown() {
  if (pmds_running_) {
    stop_.store(true);
    rte_eal_mp_wait_lcore();
    pmds_running_ = false;
  }
  workers_.clear();
  for (auto& p : ports_) {
    if (!p) continue;
    spdlog::info("port {}: closing", p->cfg.name);
    close_port(p->dev);
    p.reset();
  }
  snapshots_.publish(nullptr);  // the PMDs are stopped: nothing to wait for
}

bool Switch::port_link_up(uint16_t slot, const DpdkPort& dev) const {
  if (dev.type == PortType::vhost_user) return vhost_state_[slot].vid.load() >= 0;
  return ethdev_link_up(dev.port_id);
}

std::optional<uint16_t> Switch::find_port(const std::string& name) const {
  for (uint16_t s = 0; s < kMaxPorts; ++s)
    if (ports_[s] && ports_[s]->cfg.name == name) return s;
  return std::nullopt;
}

void Switch::publish() {
  auto snap = std::make_unique<Snapshot>();
  std::vector<RxQueueRef> rxqs;
  for (uint16_t s = 0; s < kMaxPorts; ++s) {
    if (!ports_[s]) continue;
    const PortState& p = *ports_[s];
    PortRuntime& rt = snap->ports[s];
    rt.slot = s;
    rt.dpdk_port = p.dev.port_id;
    rt.nb_txq = p.dev.nb_txq;
    rt.vlan = VlanPolicy::from_config(p.cfg.vlan, p.cfg.trunk);
    rt.n_allowed = static_cast<uint16_t>(std::min<size_t>(p.cfg.allowed_macs.size(), kMaxAllowedMacs));
    for (uint16_t i = 0; i < rt.n_allowed; ++i) rt.allowed_macs[i] = p.cfg.allowed_macs[i].to_u64();
    // Fewer tx queues than PMDs: PMDs share them, under a lock chosen here once.
    rt.tx_locks = p.dev.nb_txq < pmd_count() ? &tx_locks_[s] : nullptr;
    rt.link_up = &link_up_[s];
    rt.vhost = p.cfg.type == PortType::vhost_user ? &vhost_state_[s] : nullptr;
    rt.tap_rx = captures_.tap_rx(s);
    rt.tap_tx = captures_.tap_tx(s);
    snap->present[s] = true;
    snap->active_slots.push_back(s);
    for (uint16_t q = 0; q < p.dev.nb_rxq; ++q) rxqs.push_back({s, q});
  }
  // Spread rx queues over the PMDs round-robin (port order, then queue order).
  for (size_t i = 0; i < rxqs.size(); ++i) snap->pmds[i % pmd_count()].rx_queues.push_back(rxqs[i]);
  snap->rules = rules_.compile(resolver());

  // Returns once no PMD reads the old snapshot (and its flow table) any more.
  snapshots_.publish(std::move(snap));
  captures_.after_publish();  // taps no longer in the snapshot can be freed now
}

Result<Json> Switch::add_port(const PortConfig& cfg) {
  if (find_port(cfg.name)) return make_error(Errc::already_exists, fmt::format("port {} exists", cfg.name));
  if (cfg.type == PortType::vhost_user)
    for (const auto& p : ports_)
      if (p && p->cfg.type == PortType::vhost_user && p->cfg.path == cfg.path)
        return make_error(Errc::already_exists, fmt::format("port {} already uses {}", p->cfg.name, cfg.path));
  uint16_t slot = kMaxPorts;
  for (uint16_t s = 0; s < kMaxPorts; ++s)
    if (!ports_[s]) {
      slot = s;
      break;
    }
  if (slot == kMaxPorts) return make_error(Errc::resource, fmt::format("at most {} ports", kMaxPorts));

  auto dev = open_port(cfg, pool_, pmd_count(), &vhost_state_[slot]);
  if (!dev) return std::move(dev).error();
  // No PMD writes this slot's counters now: start them from zero.
  for (auto& c : counters_) {
    for (auto& q : c->ports[slot].queues) q.rx_packets.reset(), q.rx_bytes.reset(), q.tx_packets.reset(), q.tx_bytes.reset();
    for (auto& d : c->ports[slot].drops) d.reset();
  }
  if (cfg.type == PortType::ethdev) rte_eth_stats_reset(dev->port_id);
  link_up_[slot].store(port_link_up(slot, *dev));
  ports_[slot] = PortState{cfg, *dev};
  publish();
  spdlog::info("port {}: added ({} {}, {} rx / {} tx queues)", cfg.name, to_string(cfg.type),
               cfg.type == PortType::vhost_user ? cfg.path : cfg.devargs, dev->nb_rxq, dev->nb_txq);
  return port_json(slot);
}

Status Switch::del_port(const std::string& name) {
  auto slot = find_port(name);
  if (!slot) return make_error(Errc::not_found, fmt::format("no port named {}", name));
  PortState gone = std::move(*ports_[*slot]);
  ports_[*slot].reset();
  captures_.port_gone(*slot);
  publish();  // after this no PMD polls or sends to the port
  macs_.flush_port(*slot);
  close_port(gone.dev);
  link_up_[*slot].store(false);
  spdlog::info("port {}: deleted", name);
  return {};
}

void Switch::tick() {
  const auto up = std::chrono::steady_clock::now() - started_;
  const auto now_s = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(up).count());
  now_s_.store(now_s, std::memory_order_relaxed);
  for (uint16_t s = 0; s < kMaxPorts; ++s) {
    if (!ports_[s]) continue;
    const bool up_now = port_link_up(s, ports_[s]->dev);
    // Store only on a change: PMDs read this flag for every flood.
    if (link_up_[s].load(std::memory_order_relaxed) == up_now) continue;
    link_up_[s].store(up_now, std::memory_order_relaxed);
    spdlog::info("port {}: link {}", ports_[s]->cfg.name, up_now ? "up" : "down");
  }
  if (now_s - last_aging_s_ >= kAgingPeriodS) {
    last_aging_s_ = now_s;
    if (size_t n = macs_.age(now_s, cfg_.mac_aging_s)) spdlog::debug("MAC aging removed {} entries", n);
  }
  captures_.tick();
}

Json Switch::port_json(uint16_t slot) const {
  const PortState& p = *ports_[slot];
  Json j = port_config_to_json(p.cfg);
  j["link"] = link_up_[slot].load() ? "up" : "down";
  if (p.cfg.type == PortType::ethdev) {
    j["dpdk_port"] = p.dev.port_id;
  } else {
    j["dpdk_port"] = nullptr;
    j["connections"] = vhost_state_[slot].connections.load();
    j["refused_connections"] = vhost_state_[slot].refused.load();
  }
  return j;
}

Json Switch::port_stats_json(uint16_t slot) const {
  const PortState& p = *ports_[slot];
  const uint16_t nq = std::max(p.dev.nb_rxq, p.dev.nb_txq);
  std::array<uint64_t, kDropReasons> drops{};
  Json queues = Json::array();
  uint64_t rxp = 0, rxb = 0, txp = 0, txb = 0;
  for (uint16_t i = 0; i < nq; ++i) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (const auto& pc : counters_) {
      const QueueCounters& qc = pc->ports[slot].queues[i];
      a += qc.rx_packets.get(), b += qc.rx_bytes.get(), c += qc.tx_packets.get(), d += qc.tx_bytes.get();
    }
    rxp += a, rxb += b, txp += c, txb += d;
    queues.push_back({{"queue", i}, {"rx_packets", a}, {"rx_bytes", b}, {"tx_packets", c}, {"tx_bytes", d}});
  }
  for (const auto& pc : counters_)
    for (size_t r = 0; r < kDropReasons; ++r) drops[r] += pc->ports[slot].drops[r].get();
  // Buffers the device could not get on receive are DPDK's own count.
  rte_eth_stats es{};
  if (p.cfg.type == PortType::ethdev && rte_eth_stats_get(p.dev.port_id, &es) == 0)
    drops[kDropNoBuffer] += es.rx_nombuf + es.imissed;
  Json dj = Json::object();
  for (size_t r = 0; r < kDropReasons; ++r) dj[kDropNames[r]] = drops[r];
  return {{"name", p.cfg.name}, {"rx_packets", rxp}, {"rx_bytes", rxb}, {"tx_packets", txp},
          {"tx_bytes", txb}, {"drops", dj}, {"queues", queues}};
}

Json Switch::status_json() const {
  size_t nports = 0;
  for (const auto& p : ports_) nports += p.has_value();
  const double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return {{"version", "0.1.0"}, {"uptime_s", up},         {"pmd_cores", plan_.pmd_cpus},
          {"idle", to_string(cfg_.idle)}, {"ports", nports}, {"mac_entries", macs_.size()},
          {"rules", rules_.size()}, {"hugepages", plan_.hugepages},
          {"metrics", cfg_.metrics.empty() ? Json(nullptr) : Json(cfg_.metrics)},
          {"socket_dir", cfg_.socket_dir.empty() ? Json(nullptr) : Json(cfg_.socket_dir)}};
}

Json Switch::mac_list_json() const {
  Json list = Json::array();
  const uint32_t now = now_s_.load();
  macs_.for_each([&](const MacTable::Entry& e) {
    if (e.port >= kMaxPorts || !ports_[e.port]) return;
    list.push_back({{"mac", MacAddress::from_u64(e.mac).to_string()}, {"vlan", e.vlan},
                    {"port", ports_[e.port]->cfg.name}, {"age_s", now >= e.seen_s ? now - e.seen_s : 0}});
  });
  std::sort(list.begin(), list.end(), [](const Json& a, const Json& b) {
    return std::tie(a["port"], a["vlan"], a["mac"]) < std::tie(b["port"], b["vlan"], b["mac"]);
  });
  return list;
}

Json Switch::pmd_stats_json() const {
  Json list = Json::array();
  const Snapshot* snap = snapshots_.current();
  for (uint16_t i = 0; i < pmd_count(); ++i) {
    const PmdCounters& c = *counters_[i];
    Json rxqs = Json::array();
    if (snap)
      for (const RxQueueRef& r : snap->pmds[i].rx_queues)
        if (ports_[r.slot]) rxqs.push_back(fmt::format("{}:{}", ports_[r.slot]->cfg.name, r.queue));
    const uint64_t pk = c.packets.get(), busy = c.busy_cycles.get(), idle = c.idle_cycles.get();
    list.push_back({{"core", plan_.pmd_cpus[i]},
                    {"lcore", i + 1},
                    {"rx_queues", rxqs},
                    {"packets", pk},
                    {"busy_cycles", busy},
                    {"idle_cycles", idle},
                    {"cycles_per_packet", pk ? static_cast<double>(busy) / static_cast<double>(pk) : 0.0},
                    {"busy_pct", busy + idle ? 100.0 * static_cast<double>(busy) / static_cast<double>(busy + idle) : 0.0},
                    {"tsc_hz", rte_get_tsc_hz()}});
  }
  return list;
}

void Switch::register_methods(control::JsonRpcServer& rpc) {
  auto name_param = [](const Json& params, const char* key) -> std::string {
    if (!params.is_object() || !params.contains(key) || !params[key].is_string())
      throw RpcError(RpcError::kInvalidParams, fmt::format("missing string parameter '{}'", key));
    return params[key].get<std::string>();
  };
  rpc.add_method("switch.status", [this](const Json&) { return status_json(); });
  rpc.add_method("port.list", [this](const Json&) {
    Json list = Json::array();
    for (uint16_t s = 0; s < kMaxPorts; ++s)
      if (ports_[s]) list.push_back(port_json(s));
    return list;
  });
  rpc.add_method("port.show", [this, name_param](const Json& params) {
    const std::string name = name_param(params, "name");
    auto slot = find_port(name);
    if (!slot) throw RpcError(RpcError::kNotFound, fmt::format("no port named {}", name));
    Json j = port_json(*slot);
    j["stats"] = port_stats_json(*slot);
    return j;
  });
  rpc.add_method("port.add", [this](const Json& params) {
    auto cfg = port_config_from_json(params, cfg_.socket_dir);
    if (!cfg) throw RpcError(RpcError::kInvalidParams, cfg.error().message);
    auto r = add_port(*cfg);
    if (!r)
      throw RpcError(r.error().code == Errc::already_exists ? RpcError::kAlreadyExists : RpcError::kFailed,
                     r.error().message);
    return *r;
  });
  rpc.add_method("port.del", [this, name_param](const Json& params) {
    const std::string name = name_param(params, "name");
    if (auto r = del_port(name); !r) throw RpcError(RpcError::kNotFound, r.error().message);
    return Json{{"deleted", name}};
  });
  rpc.add_method("stats", [this](const Json&) {
    Json ports = Json::array();
    for (uint16_t s = 0; s < kMaxPorts; ++s)
      if (ports_[s]) ports.push_back(port_stats_json(s));
    return Json{{"ports", ports}};
  });
  rpc.add_method("mac.list", [this](const Json&) { return mac_list_json(); });
  rpc.add_method("mac.flush", [this](const Json& params) {
    if (params.is_object() && params.contains("port")) {
      if (!params["port"].is_string()) throw RpcError(RpcError::kInvalidParams, "'port' must be a string");
      auto slot = find_port(params["port"].get<std::string>());
      if (!slot) throw RpcError(RpcError::kNotFound, fmt::format("no port named {}", params["port"].get<std::string>()));
      return Json{{"flushed", macs_.flush_port(*slot)}};
    }
    return Json{{"flushed", macs_.flush()}};
  });
  rpc.add_method("pmd.stats", [this](const Json&) { return pmd_stats_json(); });
  register_rule_methods(rpc);
  captures_.register_methods(rpc);
}

}  // namespace nfv::sw
