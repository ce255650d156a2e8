// nfv: the topology launcher (docs/topology.md).
//
//   nfv check FILE                      check a topology; prints a summary
//   nfv up FILE [--seconds N] [--json]  bring it up, show live status, tear down
//                                       on Ctrl-C/SIGTERM, `nfv down` or after N s
//   nfv status [--json]                 the status of a running `nfv up`
//   nfv down                            stop a running `nfv up`
//
// Exit status: 0 done, 2 bad topology or command line (nothing started),
// 1 when bring-up failed, the switch died or no `nfv up` answers.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "launcher.hpp"
#include "nfv/control/http_metrics.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "status_view.hpp"
#include "topology.hpp"

namespace {

using namespace nfv;
using namespace nfv::topo;

void print_summary(const Topology& t) {
  std::printf("%s: ok: switch with %zu port(s), %zu VNF(s), %zu chain(s), %s\n", t.file.c_str(), t.sw.ports.size(),
              t.vnfs.size(), t.chains.size(),
              t.generator ? ("a generator with " + std::to_string(std::max<size_t>(t.streams.size(), 1)) + " stream(s)").c_str()
                          : "no generator");
  for (const VnfSpec& v : t.vnfs) {
    std::string ports;
    for (const std::string& p : v.ports) ports += (ports.empty() ? "" : ", ") + p;
    std::printf("  vnf %-12s %-7s ports %s  %s\n", v.name.c_str(), to_string(v.kind), ports.c_str(),
                (v.kind == VnfKind::process ? v.binary : v.kernel).c_str());
  }
  for (const ChainSpec& c : t.chains) {
    std::string hops = c.from;
    for (const std::string& h : c.hops) hops += " -> " + h;
    std::printf("  chain %-10s %s -> %s\n", c.name.c_str(), hops.c_str(), c.to.c_str());
  }
}

int client(const std::string& socket, const std::string& method, bool json) {
  auto c = control::JsonRpcClient::connect(socket, std::chrono::seconds(5));
  if (!c) {
    std::fprintf(stderr, "nfv: no `nfv up` answers on %s: %s\n", socket.c_str(), c.error().message.c_str());
    return 1;
  }
  auto r = c->call(method);
  if (!r) {
    std::fprintf(stderr, "nfv: %s: %s\n", method.c_str(), r.error().message.c_str());
    return 1;
  }
  if (method == "status") {
    std::printf("%s", json ? (r->dump(2) + "\n").c_str() : render_table(*r).c_str());
    return 0;
  }
  // down: wait (bounded) until the launcher has torn everything down and closed its socket.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (::access(socket.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (::access(socket.c_str(), F_OK) == 0) {
    std::fprintf(stderr, "nfv: asked to stop, but %s is still there after 60 s\n", socket.c_str());
    return 1;
  }
  std::printf("nfv: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nfv: bring up a topology (switch, VNFs, generator) from a TOML file"};
  app.require_subcommand(1);
  std::string file;
  std::string socket = "/run/nfv/nfv.sock";
  bool json = false;
  UpOptions up_options;

  auto* check = app.add_subcommand("check", "parse and check a topology; nothing is started");
  check->add_option("file", file, "topology (TOML), see docs/topology.md")->required();

  auto* up = app.add_subcommand("up", "bring a topology up until Ctrl-C, SIGTERM, `nfv down` or --seconds");
  up->add_option("file", file, "topology (TOML), see docs/topology.md")->required();
  up->add_option("--seconds", up_options.seconds, "run this long, then tear down")->check(CLI::Range(0.1, 1e7));
  up->add_flag("--json", up_options.json, "status and result as JSON lines on stdout");
  up->add_option("--run-dir", up_options.run_dir, "keep generated configs and logs here (default: a temporary directory)");
  up->add_option("--ready-timeout", up_options.ready_timeout_s, "seconds to wait for each bring-up step")
      ->check(CLI::Range(1.0, 600.0));
  up->add_option("--metrics", up_options.metrics,
                 "serve nfv's Prometheus metrics (VNFs, VMs, restarts) on HOST:PORT (loopback), e.g. 127.0.0.1:9465")
      ->check(CLI::Validator(
          [](std::string& text) {
            auto st = control::MetricsHttpServer::check_address(text);
            return st ? std::string() : st.error().message;
          },
          "HOST:PORT"));

  auto* status = app.add_subcommand("status", "status of a running `nfv up`");
  status->add_flag("--json", json, "the status object as JSON");
  auto* down = app.add_subcommand("down", "stop a running `nfv up` (reverse order, clean)");
  for (CLI::App* sub : {up, status, down})
    sub->add_option("--socket", socket, "nfv's control socket")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*status) return client(socket, "status", json);
  if (*down) return client(socket, "down", false);

  const CheckEnv env = host_env();
  auto t = load_topology(file, env);
  if (!t) {
    std::fprintf(stderr, "nfv: %s\n", t.error().message.c_str());
    return 2;
  }
  if (*check) {
    print_summary(*t);
    return 0;
  }
  up_options.socket = socket;
  return run_up(*t, env, up_options);
}
