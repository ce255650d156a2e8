// Launcher (launcher.hpp): bring-up, supervision, status and teardown.
#include "launcher.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "commands.hpp"
#include "metrics.hpp"
#include "nfv/control/event_loop.hpp"
#include "nfv/control/http_metrics.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "status_view.hpp"
#include "supervisor.hpp"

namespace nfv::topo {

namespace {

using control::Json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

void say(const std::string& line) {
  std::fprintf(stderr, "nfv: %s\n", line.c_str());
  std::fflush(stderr);
}

class Launcher {
 public:
  Launcher(const Topology& t, const UpOptions& o, std::string run_dir, Programs programs)
      : t_(t), o_(o), run_dir_(std::move(run_dir)), sup_(t, programs, run_dir_) {}

  int run() {
    if (auto st = loop_.handle_termination_signals([this](int signo) {
          say(std::string(strsignal(signo)) + ": stopping");
          stop_ = true;
          loop_.stop();
        });
        !st) {
      say(st.error().message);
      return 1;
    }
    auto server = control::JsonRpcServer::listen(loop_, o_.socket);
    if (!server) {
      say("control socket " + o_.socket + ": " + server.error().message +
          (server.error().code == Errc::already_exists ? " (is another `nfv up` running? `nfv down` stops it)" : ""));
      return 1;
    }
    rpc_ = std::move(*server);
    rpc_->add_method("status", [this](const Json&) { return status(); });
    rpc_->add_method("vnf.list", [this](const Json&) { return sup_.vnf_list(); });
    rpc_->add_method("vm.list", [this](const Json&) { return sup_.vm_list(); });
    rpc_->add_async_method("vnf.restart", [this](const Json& p, Reply r) { request(p, r, &Supervisor::restart_vnf); });
    rpc_->add_async_method("vm.stop", [this](const Json& p, Reply r) { request(p, r, &Supervisor::stop_vm); });
    rpc_->add_method("down", [this](const Json&) {
      say("down requested on the control socket: stopping");
      stop_ = true;
      loop_.stop();
      return Json{{"stopping", true}};
    });

    if (!o_.metrics.empty()) {
      auto ms = control::MetricsHttpServer::listen(loop_, o_.metrics, [this] {
        if (!up_) return std::string("# nfv is bringing the topology up\n");
        return metrics_text(status(), sup_.vm_list());
      });
      if (!ms) {
        say("metrics on " + o_.metrics + ": " + ms.error().message);
        return 1;
      }
      metrics_ = std::move(*ms);
      say("metrics on http://" + o_.metrics + "/metrics");
    }

    int rc = 0;
    if (auto st = bring_up(); !st) {
      if (!stop_) {
        say(st.error().message);
        rc = 1;
      }
    } else if (!stop_) {
      started_ = Clock::now();
      up_ = true;
      loop_.add_timer(std::chrono::milliseconds(100), [this] {
        if (!sup_.supervise()) {
          say("the switch exited (" + sup_.switch_state() + "): stopping everything");
          failed_ = true;
          loop_.stop();
        }
      });
      loop_.add_timer(std::chrono::milliseconds(1000), [this] { show(); });
      if (o_.seconds > 0)
        loop_.add_timer(std::chrono::milliseconds(static_cast<int64_t>(o_.seconds * 1000)), [this] {
          say(fmt_seconds() + " elapsed: stopping");
          loop_.stop();
        });
      loop_.run();
      if (failed_) rc = 1;
    }
    metrics_.reset();
    const Json result = sup_.teardown([](const std::string& s) { say(s); });
    rpc_.reset();  // unlinks nfv's control socket
    if (t_.generator) {
      if (o_.json) std::printf("%s\n", Json{{"result", result}}.dump().c_str());
      else std::printf("%s\n", render_result(result).c_str());
    }
    std::fflush(stdout);
    return rc;
  }

 private:
  // {"name": "..."} of vnf.restart and vm.stop.
  static std::string name_param(const Json& p) {
    if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
      throw control::RpcError(control::RpcError::kInvalidParams, "expected params {\"name\": VNF}");
    return p["name"].get<std::string>();
  }

  // Operator requests (vnf.restart, vm.stop); refused until bring-up is done.
  // Answered when the supervisor has finished them (the old process has exited).
  using Reply = control::JsonRpcServer::Reply;
  void request(const Json& params, const Reply& reply, void (Supervisor::*start)(const std::string&, Supervisor::Done)) {
    const std::string name = name_param(params);
    if (!up_ || stop_)
      throw control::RpcError(control::RpcError::kFailed, stop_ ? "nfv is stopping" : "nfv is still bringing the topology up; try again");
    (sup_.*start)(name, [reply](Result<Json> r) {
      if (r) return reply.result(std::move(*r));
      reply.error(r.error().code == Errc::not_found ? control::RpcError::kNotFound : control::RpcError::kFailed,
                  r.error().message);
    });
  }

  std::string fmt_seconds() const { return std::to_string(static_cast<int>(o_.seconds)) + " s"; }

  // Runs the loop until `ready()` or the timeout; fails when a component died or a signal came.
  Status wait_for(const std::function<bool()>& ready, const std::string& what) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o_.ready_timeout_s * 1000));
    while (!stop_) {
      if (auto st = sup_.check_starting(); !st) return st;
      if (ready()) return {};
      if (Clock::now() > deadline)
        return make_error(Errc::timeout, "timed out after " + std::to_string(static_cast<int>(o_.ready_timeout_s)) +
                                             " s waiting for " + what + " (logs in " + run_dir_ + ")");
      loop_.run_once(std::chrono::milliseconds(100));
    }
    return make_error(Errc::disconnected, "stopped during bring-up");
  }

  Status bring_up() {
    if (auto st = sup_.start_switch(); !st) return st;
    say("switch starting (pid " + std::to_string(sup_.switch_pid()) + "), control socket " + t_.sw.socket);
    if (auto st = wait_for([this] { return sup_.switch_ready(); }, "the switch's control socket and ports"); !st)
      return st;
    if (auto st = sup_.install_chains([](const std::string& s) { say(s); }); !st) return st;
    for (const VnfSpec& v : t_.vnfs) {
      if (auto st = sup_.start_vnf(v); !st) return st;
      say("vnf " + v.name + " starting (" + to_string(v.kind) + ")");
    }
    if (auto st = wait_for([this] { return sup_.vnf_ports_up(); }, "the VNFs' ports to come up"); !st) return st;
    if (!t_.vnfs.empty()) say("VNFs up: their ports are up in the switch");
    if (t_.generator) {
      if (auto st = sup_.start_generator(); !st) return st;
      if (auto st = wait_for([this] { return sup_.generator_ports_up(); }, "the generator's ports to come up"); !st)
        return st;
      say("generator up: sending");
    }
    return {};
  }

  Json status() {
    Json s = sup_.status();
    s["topology"] = t_.file;
    s["state"] = stop_ ? "stopping" : "running";
    s["uptime_s"] = std::chrono::duration<double>(Clock::now() - started_).count();
    return s;
  }

  void show() {
    const Json s = status();
    if (o_.json) {
      std::printf("%s\n", Json{{"status", s}}.dump().c_str());
    } else if (isatty(STDOUT_FILENO) != 0) {
      const std::string table = render_table(s);
      if (shown_lines_ > 0) std::printf("\033[%dA\033[J", shown_lines_);
      std::fputs(table.c_str(), stdout);
      shown_lines_ = static_cast<int>(std::count(table.begin(), table.end(), '\n'));
    } else {
      std::printf("%s\n", render_line(s).c_str());
    }
    std::fflush(stdout);
  }

  const Topology& t_;
  const UpOptions& o_;
  std::string run_dir_;
  control::EventLoop loop_;
  std::unique_ptr<control::JsonRpcServer> rpc_;
  std::unique_ptr<control::MetricsHttpServer> metrics_;
  Supervisor sup_;
  bool stop_ = false;
  bool failed_ = false;
  bool up_ = false;  // bring-up done: operator requests are served
  int shown_lines_ = 0;
  Clock::time_point started_ = Clock::now();
};

}  // namespace

int run_up(const Topology& t, const CheckEnv& env, const UpOptions& o) {
  auto programs = find_programs(t, env);
  if (!programs) {
    say(programs.error().message);
    return 2;
  }
  if (auto c = control::JsonRpcClient::connect(t.sw.socket, std::chrono::milliseconds(500))) {
    say("a switch already answers on " + t.sw.socket + "; stop it first (or set [switch] socket)");
    return 1;
  }
  std::string run_dir = o.run_dir;
  const bool temporary = run_dir.empty();
  if (temporary) {
    char tmpl[] = "/tmp/nfv-up.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      say(std::string("cannot create a run directory in /tmp: ") + std::strerror(errno));
      return 1;
    }
    run_dir = tmpl;
  } else {
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    if (ec) {
      say(run_dir + ": " + ec.message());
      return 1;
    }
  }
  {
    std::ofstream sw(run_dir + "/switch.toml");
    sw << t.switch_toml << "\n# nfv: the [switch] and [[port]] lines of " << t.file << "\n";
    std::ofstream st(run_dir + "/streams.toml");
    st << t.streams_toml << "\n# nfv: the [[stream]] lines of " << t.file << "\n";
  }
  int rc = Launcher(t, o, run_dir, *programs).run();
  if (temporary) {
    if (rc != 0) say("logs kept in " + run_dir);
    else fs::remove_all(run_dir);
  }
  return rc;
}

}  // namespace nfv::topo
