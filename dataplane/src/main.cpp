// nfv-switch: the DPDK poll-mode vSwitch.
//
//   nfv-switch [--config FILE] [--socket PATH] [--log-level LEVEL] [--metrics HOST:PORT]
//
// --metrics (or [switch] metrics) serves Prometheus text on http://HOST:PORT/metrics
// (loopback only), from the control thread's event loop.
//
// Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when start-up
// fails (DPDK, a port, the control socket), 2 for a bad command line or
// configuration file (nothing has been started then).
#include <rte_eal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>

#include "config.hpp"
#include "eal.hpp"
#include "nfv/control/event_loop.hpp"
#include "nfv/control/http_metrics.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "switch.hpp"

namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitBadInput = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace nfv;
  CLI::App app{"nfv-switch: DPDK poll-mode vSwitch with vhost-user ports"};
  std::string config_file, socket, log_level, metrics;
  app.add_option("-c,--config", config_file, "topology of the switch (TOML), see docs/switch-config.md")
      ->check(CLI::ExistingFile);
  app.add_option("-s,--socket", socket, "control socket (default /run/nfv/switch.sock)");
  app.add_option("-l,--log-level", log_level, "trace|debug|info|warn|error|critical|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--metrics", metrics, "serve Prometheus metrics on HOST:PORT (loopback), e.g. 127.0.0.1:9464")
      ->check(CLI::Validator(
          [](std::string& text) {
            auto st = sw::check_metrics_address(text);
            return st ? std::string() : st.error().message;
          },
          "HOST:PORT"));
  app.set_version_flag("--version", "nfv-switch 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitBadInput;
  }

  sw::SwitchConfig cfg;
  if (!config_file.empty()) {
    auto loaded = sw::load_switch_config(config_file);
    if (!loaded) {
      fmt::print(stderr, "nfv-switch: {}\n", loaded.error().message);
      return kExitBadInput;
    }
    cfg = std::move(loaded).value();
  }
  if (!socket.empty()) cfg.socket = socket;
  if (!log_level.empty()) cfg.log_level = log_level;
  if (!metrics.empty()) cfg.metrics = metrics;
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  auto plan = sw::plan_eal(cfg);
  if (!plan) {
    fmt::print(stderr, "nfv-switch: {}\n", plan.error().message);
    return kExitBadInput;
  }

  // Signals are blocked here, before DPDK starts its threads, so that every
  // thread inherits the mask and SIGINT/SIGTERM reach only the control loop.
  control::EventLoop loop;
  if (auto st = loop.handle_termination_signals([&](int signo) {
        spdlog::info("{}: shutting down", strsignal(signo));
        loop.stop();
      });
      !st) {
    spdlog::error("{}", st.error().message);
    return kExitStartFailed;
  }

  if (auto st = sw::init_eal(*plan); !st) {
    spdlog::error("{}", st.error().message);
    return kExitStartFailed;
  }

  int rc = 0;
  {
    sw::Switch sw(cfg, *plan);
    std::unique_ptr<control::JsonRpcServer> rpc;
    std::unique_ptr<control::MetricsHttpServer> metrics_server;
    if (auto st = sw.start(); !st) {
      spdlog::error("{}", st.error().message);
      rc = kExitStartFailed;
    } else if (auto server = control::JsonRpcServer::listen(loop, cfg.socket); !server) {
      spdlog::error("control socket {}: {}", cfg.socket, server.error().message);
      rc = kExitStartFailed;
    } else if (auto ms = cfg.metrics.empty()
                             ? Result<std::unique_ptr<control::MetricsHttpServer>>(nullptr)
                             : control::MetricsHttpServer::listen(loop, cfg.metrics, [&] { return sw.metrics_text(); });
               !ms) {
      spdlog::error("{}", ms.error().message);
      rc = kExitStartFailed;
    } else {
      metrics_server = std::move(ms).value();
      if (metrics_server) spdlog::info("metrics: http://{}/metrics", cfg.metrics);
      rpc = std::move(server).value();
      sw.register_methods(*rpc);
      loop.add_timer(std::chrono::milliseconds(sw::Switch::kTickMs), [&] { sw.tick(); });
      sw.tick();
      spdlog::info("ready: control socket {}", cfg.socket);
      loop.run();
    }
    metrics_server.reset();
    rpc.reset();  // unlinks the control socket
    sw.shutdown();
  }
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  // EAL leaves its (empty) runtime directory behind; it is ours alone (per-pid prefix).
  std::error_code ec;
  std::filesystem::remove_all(runtime_dir, ec);
  spdlog::info("stopped");
  return rc;
}
