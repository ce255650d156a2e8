// Supervisor (supervisor.hpp).
#include "supervisor.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
  for (const Component& c : vnfs_)
    vnfs.push_back({{"name", c.name}, {"kind", c.kind}, {"state", c.state},
                    {"pid", c.proc && c.state == "running" ? Json(c.proc->pid()) : Json(nullptr)},
                    {"restarts", c.restarts}, {"ports", c.vnf->ports}});
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
