// Supervisor (supervisor.hpp).
#include "supervisor.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chain_rules.hpp"

namespace nfv::topo {

namespace {

using control::Json;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr double kStableRunS = 10;  // a VNF up this long has its backoff reset
// A VNF's control socket shares CPUs with busy pollers: give it time, but not
// enough to stall nfv's status line.
constexpr milliseconds kVnfCallTimeout{500};
constexpr milliseconds kOperatorStopGrace{10000};  // vnf.restart, vm.stop: then SIGKILL

void remove_socket(const std::string& path) {
  struct stat st {};
  if (!path.empty() && ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}

}  // namespace

Supervisor::Supervisor(const Topology& t, Programs programs, std::string run_dir)
    : t_(t), programs_(std::move(programs)), run_dir_(std::move(run_dir)) {
  switch_.name = "switch";
  switch_.kind = "switch";
  switch_.spec = switch_command(programs_, run_dir_);
  for (const VnfSpec& v : t_.vnfs) {
    Component c;
    c.name = v.name;
    c.kind = to_string(v.kind);
    c.vnf = &v;
    c.spec = vnf_command(t_, v, programs_, run_dir_);
    vnfs_.push_back(std::move(c));
  }
  if (t_.generator) {
    Component g;
    g.name = "generator";
    g.kind = "nfv-gen";
    g.spec = generator_command(t_, programs_, run_dir_);
    generator_ = std::move(g);
  }
}

double Supervisor::backoff_s(unsigned n) noexcept {
  double s = 0.1;
  for (unsigned i = 0; i < n && s < 5; ++i) s *= 2;
  return std::min(s, 5.0);
}

Status Supervisor::spawn(Component& c) {
  auto p = ChildProcess::spawn(c.spec);
  if (!p) return make_error(p.error().code, c.name + ": " + p.error().message);
  c.proc = std::move(*p);
  c.state = "running";
  c.started = Clock::now();
  c.restart_at.reset();
  return {};
}

Status Supervisor::start_switch() { return spawn(switch_); }
pid_t Supervisor::switch_pid() const noexcept { return switch_.proc ? switch_.proc->pid() : -1; }
std::string Supervisor::switch_state() const { return switch_.state; }

Result<Json> Supervisor::call(const std::string& method, const Json& params) {
  auto client = control::JsonRpcClient::connect(t_.sw.socket, milliseconds(1000));
  if (!client) return std::move(client).error();
  return client->call(method, params);
}

bool Supervisor::switch_ready() {
  auto ports = call("port.list");
  if (!ports || !ports->is_array()) return false;
  for (const sw::PortConfig& p : t_.sw.ports)
    if (std::none_of(ports->begin(), ports->end(), [&](const Json& j) { return j.value("name", "") == p.name; }))
      return false;
  return true;
}

Status Supervisor::install_chains(const Log& log) {
  if (t_.chains.empty()) return {};
  auto methods = call("rpc.methods");
  const bool rules = methods && methods->is_array() &&
                     std::find(methods->begin(), methods->end(), Json("rule.add")) != methods->end();
  for (const ChainSpec& ch : t_.chains) {
    if (!rules) {
      if (!ch.match.empty())
        return make_error(Errc::unsupported,
                          "chain '" + ch.name + "' has a 'match', but this nfv-switch has no rule.add method; "
                          "remove 'match' to let the L2 bridge carry the whole segment VLAN");
      log("chain " + ch.name + ": carried by the switch's L2 bridge (one access VLAN per segment)");
      continue;
    }
    for (const Json& rule : chain_rules(t_, ch)) {
      auto r = call("rule.add", rule);
      if (!r) return make_error(r.error().code, "chain '" + ch.name + "': rule.add " + rule.dump() + ": " + r.error().message);
    }
    log("chain " + ch.name + ": " + std::to_string(ch.hops.size() + 1) + " switch rules installed");
  }
  return {};
}

Status Supervisor::start_vnf(const VnfSpec& v) {
  for (Component& c : vnfs_)
    if (c.vnf == &v) return spawn(c);
  return make_error(Errc::not_found, "vnf '" + v.name + "' is not part of the topology");
}

Status Supervisor::start_generator() { return generator_ ? spawn(*generator_) : Status{}; }

bool Supervisor::ports_up(const std::vector<std::string>& names) {
  auto ports = call("port.list");
  if (!ports || !ports->is_array()) return false;
  for (const Json& p : *ports) links_[p.value("name", "")] = p.value("link", "?");
  return std::all_of(names.begin(), names.end(), [&](const std::string& n) { return links_.value(n, "") == "up"; });
}

bool Supervisor::vnf_ports_up() {
  std::vector<std::string> names;
  for (const VnfSpec& v : t_.vnfs) names.insert(names.end(), v.ports.begin(), v.ports.end());
  return ports_up(names);
}

bool Supervisor::generator_ports_up() {
  if (!t_.generator) return true;
  return ports_up({t_.generator->port, t_.generator->rx_port});
}

std::string Supervisor::log_tail(const Component& c, size_t lines) const {
  std::ifstream in(c.spec.log_file);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) out += "\n    " + l;
  return out;
}

Status Supervisor::check_starting() {
  std::vector<Component*> all{&switch_};
  for (Component& c : vnfs_) all.push_back(&c);
  if (generator_) all.push_back(&*generator_);
  for (Component* c : all)
    if (c->proc && c->proc->poll())
      return make_error(Errc::resource, c->name + " exited during start-up (" + describe_status(*c->proc->status()) +
                                            "); the end of " + c->spec.log_file + ":" + log_tail(*c, 12));
  return {};
}

void Supervisor::on_exit(Component& c, Clock::time_point now) {
  const int st = *c.proc->status();
  const std::string how = describe_status(st);
  const bool failed = !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  const Restart policy = c.vnf->restart;
  if (policy == Restart::never || (policy == Restart::on_failure && !failed)) {
    c.state = "exited (" + how + ")";
    std::fprintf(stderr, "nfv: vnf %s %s; not restarted (restart = \"%s\")\n", c.name.c_str(), how.c_str(),
                 to_string(policy));
    return;
  }
  if (std::chrono::duration<double>(now - c.started).count() >= kStableRunS) c.failures = 0;
  const double wait = backoff_s(c.failures++);
  c.restart_at = now + milliseconds(static_cast<int64_t>(wait * 1000));
  c.state = "restarting";
  std::fprintf(stderr, "nfv: vnf %s %s; restarting in %.1f s\n", c.name.c_str(), how.c_str(), wait);
}

bool Supervisor::supervise() {
  const auto now = Clock::now();
  progress_requests(now);
  for (Component& c : vnfs_) {
    if (!c.proc) continue;
    if (c.state == "running" && c.proc->poll()) on_exit(c, now);
    if (c.restart_at && now >= *c.restart_at) {
      remove_socket(vnf_control_socket(*c.vnf, run_dir_));  // the dead process's control socket
      if (auto st = spawn(c); !st) {
        std::fprintf(stderr, "nfv: vnf %s: restart failed: %s\n", c.name.c_str(), st.error().message.c_str());
        c.state = "exited (restart failed)";
      } else {
        ++c.restarts;
        std::fprintf(stderr, "nfv: vnf %s restarted (pid %d, restart %u)\n", c.name.c_str(), c.proc->pid(), c.restarts);
      }
    }
  }
  if (generator_ && generator_->proc && generator_->state == "running" && generator_->proc->poll())
    generator_->state = "done (" + describe_status(*generator_->proc->status()) + ")";
  if (switch_.proc && switch_.proc->poll()) {
    switch_.state = "exited (" + describe_status(*switch_.proc->status()) + ")";
    return false;
  }
  return true;
}

void Supervisor::read_generator_progress() {
  // nfv-gen writes "[   1.0 s] tx    1.000 Mpps  rx    0.999 Mpps  loss ..." once a second.
  std::ifstream in(generator_->spec.log_file);
  in.seekg(static_cast<std::streamoff>(gen_log_offset_));
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a partial line: read it next time
    gen_log_offset_ += line.size() + 1;
    double t = 0, tx = 0, rx = 0;
    if (std::sscanf(line.c_str(), "[ %lf s] tx %lf Mpps rx %lf Mpps", &t, &tx, &rx) == 3) {
      gen_tx_mpps_ = tx;
      gen_rx_mpps_ = rx;
    }
  }
}

Json Supervisor::status() {
  Json s;
  s["switch"] = {{"pid", switch_pid()}, {"state", switch_.state}, {"socket", t_.sw.socket}};
  Json ports = Json::array();
  auto stats = call("stats");
  auto list = call("port.list");
  if (list && list->is_array())
    for (const Json& p : *list) links_[p.value("name", "")] = p.value("link", "?");
  const auto now = Clock::now();
  const double dt = std::chrono::duration<double>(now - last_stats_at_).count();
  if (stats && stats->contains("ports")) {
    for (const Json& p : (*stats)["ports"]) {
      const std::string name = p.value("name", "");
      uint64_t drops = 0;
      const Json reasons = p.value("drops", Json::object());
      for (const auto& [reason, n] : reasons.items())
        if (n.is_number_unsigned()) drops += n.get<uint64_t>();
      Json row = {{"name", name},           {"link", links_.value(name, "?")},
                  {"rx_packets", p.value("rx_packets", uint64_t{0})},
                  {"tx_packets", p.value("tx_packets", uint64_t{0})},
                  {"drops", drops},         {"rx_mpps", 0.0}, {"tx_mpps", 0.0}};
      if (last_stats_.is_object() && dt > 0.05)
        for (const Json& q : last_stats_.value("ports", Json::array()))
          if (q.value("name", "") == name)
            for (const char* dir : {"rx", "tx"}) {
              const uint64_t a = q.value(std::string(dir) + "_packets", uint64_t{0});
              const uint64_t b = row[std::string(dir) + "_packets"].get<uint64_t>();
              row[std::string(dir) + "_mpps"] = b >= a ? static_cast<double>(b - a) / dt / 1e6 : 0.0;
            }
      ports.push_back(std::move(row));
    }
    last_stats_ = *stats;
    last_stats_at_ = now;
  }
  s["ports"] = std::move(ports);
  Json vnfs = Json::array();
  for (Component& c : vnfs_) vnfs.push_back(vnf_row(c));
  s["vnfs"] = std::move(vnfs);
  if (generator_) {
    if (generator_->proc) read_generator_progress();
    s["generator"] = {{"state", generator_->state},
                      {"pid", generator_->proc ? Json(generator_->proc->pid()) : Json(nullptr)},
                      {"tx_mpps", gen_tx_mpps_}, {"rx_mpps", gen_rx_mpps_}};
  } else {
    s["generator"] = nullptr;
  }
  return s;
}

Supervisor::Component* Supervisor::find_vnf(const std::string& name) {
  for (Component& c : vnfs_)
    if (c.name == name) return &c;
  return nullptr;
}

Json Supervisor::vnf_call(const Component& c, const std::string& method) {
  const bool has_socket = c.vnf->kind == VnfKind::vm || c.vnf->sdk;
  if (!has_socket || !c.proc || c.state != "running") return nullptr;
  auto client = control::JsonRpcClient::connect(vnf_control_socket(*c.vnf, run_dir_), kVnfCallTimeout);
  if (!client) return nullptr;
  auto r = client->call(method);
  return r ? std::move(*r) : Json(nullptr);
}

Json Supervisor::vnf_row(Component& c) {
  const bool running = c.proc && c.state == "running";
  Json row = {{"name", c.name}, {"kind", c.kind}, {"state", c.state},
              {"pid", running ? Json(c.proc->pid()) : Json(nullptr)}, {"restarts", c.restarts},
              {"ports", c.vnf->ports}, {"control", vnf_control_socket(*c.vnf, run_dir_)},
              {"rx_packets", nullptr}, {"tx_packets", nullptr}, {"drops", nullptr},
              {"rx_mpps", nullptr}, {"tx_mpps", nullptr}};
  const auto now = Clock::now();
  const std::optional<VnfCounters> k = counters_from_stats(c.vnf->kind, vnf_call(c, "stats"));
  if (!k) {
    if (!running) c.counters.reset();  // a restarted VNF counts from 0 again
    return row;
  }
  // Rates from the previous reading at least half a second old (status runs once a second;
  // a vnf.list in between reuses the rates). Counters that went down: a restart.
  const double dt = std::chrono::duration<double>(now - c.counters_at).count();
  if (!c.counters || dt >= 0.5) {
    if (c.counters && k->rx_packets >= c.counters->rx_packets && k->tx_packets >= c.counters->tx_packets) {
      c.rx_mpps = static_cast<double>(k->rx_packets - c.counters->rx_packets) / dt / 1e6;
      c.tx_mpps = static_cast<double>(k->tx_packets - c.counters->tx_packets) / dt / 1e6;
    } else {
      c.rx_mpps = c.tx_mpps = 0;
    }
    c.counters = k;
    c.counters_at = now;
  }
  row["rx_packets"] = k->rx_packets;
  row["tx_packets"] = k->tx_packets;
  row["drops"] = k->drops;
  row["rx_mpps"] = c.rx_mpps;
  row["tx_mpps"] = c.tx_mpps;
  return row;
}

Json Supervisor::vnf_list() {
  Json out = Json::array();
  for (Component& c : vnfs_) out.push_back(vnf_row(c));
  return out;
}

Json Supervisor::vm_list() {
  Json out = Json::array();
  for (Component& c : vnfs_) {
    if (c.vnf->kind != VnfKind::vm) continue;
    Json row = vnf_row(c);
    const VnfSpec& v = *c.vnf;
    row.erase("kind");
    row["kernel"] = v.kernel;
    row["memory"] = v.memory;
    row["cpus"] = v.cpus;
    row["cores"] = v.cores;
    row["cmdline"] = v.cmdline;
    // The VMM's own view: nfv's "running" is the process, its "state" the guest (running or paused).
    const Json st = vnf_call(c, "status");
    const Json stats = vnf_call(c, "stats");
    row["vm_state"] = st.is_object() ? st.value("state", Json(nullptr)) : Json(nullptr);
    row["platform"] = st.is_object() ? st.value("platform", Json(nullptr)) : Json(nullptr);
    row["uptime_s"] = st.is_object() ? st.value("uptime_s", Json(nullptr)) : Json(nullptr);
    row["hugepages"] = st.is_object() ? st.value("hugepages", Json(nullptr)) : Json(nullptr);
    Json exits = exits_by_reason(stats);
    uint64_t total = 0;
    for (const auto& [reason, n] : exits.items()) total += n.get<uint64_t>();
    row["exits"] = stats.is_object() ? std::move(exits) : Json(nullptr);
    row["exits_total"] = stats.is_object() ? Json(total) : Json(nullptr);
    out.push_back(std::move(row));
  }
  return out;
}

void Supervisor::restart_vnf(const std::string& name, Done done) {
  Component* c = find_vnf(name);
  if (c == nullptr) return done(make_error(Errc::not_found, "no vnf '" + name + "' in this topology"));
  begin_request(*c, true, std::move(done));
}

void Supervisor::stop_vm(const std::string& name, Done done) {
  Component* c = find_vnf(name);
  if (c == nullptr) return done(make_error(Errc::not_found, "no vm '" + name + "' in this topology"));
  if (c->vnf->kind != VnfKind::vm)
    return done(make_error(Errc::invalid_argument,
                           "vnf '" + name + "' is a process, not a VM; `nfvctl vnf restart` restarts it"));
  begin_request(*c, false, std::move(done));
}

void Supervisor::begin_request(Component& c, bool restart, Done done) {
  if (c.request) {
    if (c.request->restart != restart)
      return done(make_error(Errc::already_exists, std::string(c.request->restart ? "a restart" : "a stop") + " of '" + c.name +
                                             "' is in progress; try again when it is " +
                                             (c.request->restart ? "running" : "stopped")));
    c.request->waiting.push_back(std::move(done));  // the same request twice: both get its answer
    return;
  }
  c.restart_at.reset();  // a pending restart by policy is replaced (or, for a stop, cancelled)
  if (c.proc && !c.proc->poll()) {
    c.proc->signal(SIGTERM);
    c.state = "stopping";
    c.request = Component::Request{restart, Clock::now() + kOperatorStopGrace, false, {}};
    c.request->waiting.push_back(std::move(done));
    return;
  }
  done(finish_request(c, restart, c.state));
}

Result<Json> Supervisor::finish_request(Component& c, bool restart, std::string previous) {
  remove_socket(vnf_control_socket(*c.vnf, run_dir_));
  c.counters.reset();
  if (!restart) {
    if (c.state.rfind("stopped", 0) != 0) c.state = "stopped";  // it had exited (or was waiting to be restarted)
    return Json{{"name", c.name}, {"state", c.state}};
  }
  c.failures = 0;
  if (auto st = spawn(c); !st) {
    c.state = "exited (restart failed)";
    return make_error(st.error().code, "vnf '" + c.name + "': restart failed: " + st.error().message);
  }
  ++c.restarts;
  std::fprintf(stderr, "nfv: vnf %s restarted on request (%s; pid %d, restart %u)\n", c.name.c_str(),
               previous.c_str(), c.proc->pid(), c.restarts);
  return Json{{"name", c.name}, {"previous", previous}, {"state", c.state}, {"pid", c.proc->pid()},
              {"restarts", c.restarts}};
}

void Supervisor::progress_requests(Clock::time_point now) {
  for (Component& c : vnfs_) {
    if (!c.request) continue;
    if (!c.proc->poll()) {
      if (now >= c.request->kill_at && !c.request->killed) {
        std::fprintf(stderr, "nfv: %s %s did not stop within %lld s of SIGTERM: SIGKILL\n", c.kind.c_str(),
                     c.name.c_str(), static_cast<long long>(kOperatorStopGrace.count() / 1000));
        c.proc->signal(SIGKILL);
        c.request->killed = true;
      }
      continue;
    }
    Component::Request r = std::move(*c.request);
    c.request.reset();
    const std::string how = describe_status(*c.proc->status());
    c.state = "stopped (" + how + ")";
    if (!r.restart)
      std::fprintf(stderr, "nfv: vm %s stopped on request (%s); not restarted until `nfvctl vnf restart %s`\n",
                   c.name.c_str(), how.c_str(), c.name.c_str());
    const Result<Json> result = finish_request(c, r.restart, c.state);
    for (const Done& d : r.waiting) d(result);
  }
}

void Supervisor::stop_component(Component& c, int signo, milliseconds grace, const Log& log) {
  if (!c.proc) return;
  const bool was_running = !c.proc->poll();
  const int st = c.proc->stop(signo, grace);
  if (was_running) {
    c.state = "stopped (" + describe_status(st) + ")";
    log(c.name + " stopped (" + describe_status(st) + ")");
  }
  c.restart_at.reset();
}

Json Supervisor::teardown(const Log& log) {
  Json result = nullptr;
  if (generator_) {
    stop_component(*generator_, SIGINT, milliseconds(5000), log);  // it drains, prints and writes its result
    std::ifstream in(generator_result_file(run_dir_));
    if (in) result = Json::parse(in, nullptr, false);
    if (result.is_discarded()) result = nullptr;
  }
  for (auto it = vnfs_.rbegin(); it != vnfs_.rend(); ++it) {
    if (it->request) {  // an operator's request that teardown overtakes
      for (const Done& d : it->request->waiting) d(make_error(Errc::unsupported, "nfv is stopping"));
      it->request.reset();
    }
    stop_component(*it, SIGTERM, milliseconds(10000), log);
    remove_socket(vnf_control_socket(*it->vnf, run_dir_));
  }
  stop_component(switch_, SIGTERM, milliseconds(15000), log);
  if (switch_.proc) {
    // A switch that was killed leaves its DPDK runtime directory and its
    // vhost-user server sockets; a clean one removes them itself.
    std::error_code ec;
    fs::remove_all("/var/run/dpdk/nfv-switch-" + std::to_string(switch_.proc->pid()), ec);
    for (const sw::PortConfig& p : t_.sw.ports)
      if (p.type == sw::PortType::vhost_user) remove_socket(p.path);
    remove_socket(t_.sw.socket);
  }
  return result;
}

}  // namespace nfv::topo
