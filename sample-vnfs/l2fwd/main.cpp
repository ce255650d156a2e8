// nfv-l2fwd: a two-port forwarder or a MAC-swapping reflector on the SDK.
//
//   nfv-l2fwd --port vhost-user:/run/nfv/a.sock --port vhost-user:/run/nfv/b.sock
//   nfv-l2fwd --mode reflect --port vhost-user:/tmp/vhost0,server --cpus 1
//
// Exit status: 0 after SIGINT/SIGTERM or the shutdown RPC, 2 for bad
// arguments, 1 when start-up fails.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "l2fwd.hpp"

int main(int argc, char** argv) {
  CLI::App app{"nfv-l2fwd: forwards between two vhost-user ports, or reflects with MAC swap"};
  nfv::RunOptions o;
  o.name = "l2fwd";
  std::string mode = "forward", idle = "adaptive", cpus, hugepages = "prefer", log_level = "info";
  app.add_option("--port,-p", o.ports, "vhost-user:PATH[,server][,queue-size=N][,mergeable=0|1]...")->required();
  app.add_option("--mode,-m", mode, "forward (2 ports) or reflect (MAC swap, back out the same port)")
      ->check(CLI::IsMember({"forward", "reflect"}));
  app.add_option("--threads,-t", o.threads, "worker threads (each polls its own queue pair of every port)")
      ->check(CLI::Range(1, 64));
  app.add_option("--cpus,-c", cpus, "pin worker i to the i-th cpu of this list, e.g. 1 or 0,1");
  app.add_option("--idle", idle, "poll or adaptive")->check(CLI::IsMember({"poll", "adaptive"}));
  app.add_option("--control,-s", o.control_socket, "JSON-RPC socket (status, stats, shutdown)");
  app.add_option("--hugepages", hugepages, "prefer, require or never")
      ->check(CLI::IsMember({"prefer", "require", "never"}));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (mode == "forward" && o.ports.size() != 2) {
    std::fprintf(stderr, "l2fwd: --mode forward needs exactly two ports, got %zu\n", o.ports.size());
    return 2;
  }
  o.idle = *nfv::parse_idle_mode(idle);
  o.hugepages = *nfv::parse_hugepages(hugepages);
  if (!cpus.empty()) {
    auto c = nfv::parse_cpu_list(cpus);
    if (!c) {
      std::fprintf(stderr, "l2fwd: %s\n", c.error().message.c_str());
      return 2;
    }
    o.cpus = *c;
  }
  if (mode == "forward") return nfv::run(o, [](unsigned) { return l2fwd::Forward{}; });
  return nfv::run(o, [](unsigned) { return l2fwd::Reflect{}; });
}
