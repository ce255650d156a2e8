// nfv-vmm: runs one VNF virtual machine (the SDK's guest runtime linked with a
// VNF) on KVM, with virtio-net devices served by a vhost-user back-end.
//
//   nfv-vmm --kernel build/sample-vnfs/l2fwd/l2fwd.elf --memory 256M --cpus 1
//           --net path=/run/nfv/vm1.sock,mac=52:54:00:00:00:01 [--cmdline "mode=reflect"]
//           [--console FILE] [--control /run/nfv/vm1-vmm.sock]
//
// Exit status: the guest's exit code when it shuts down by itself; 1 when it
// faulted or could not start (the reason is logged); 2 for a bad command line.
// SIGINT/SIGTERM (or the `shutdown` RPC) tell the guest to stop; when it has
// not shut down within --stop-timeout-ms its vCPUs are stopped, as they are on
// a second signal (500 ms or more after the first).
// JSON-RPC (--control): status, stats, pause, resume, shutdown.
#include <sys/eventfd.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "machine.hpp"
#include "nfv/control/event_loop.hpp"
#include "nfv/control/jsonrpc.hpp"

using namespace nfv;
using namespace nfv::vmm;

namespace {

Result<uint64_t> parse_size(const std::string& s) {
  std::size_t pos = 0;
  uint64_t v = 0;
  try {
    v = std::stoull(s, &pos);
  } catch (const std::exception&) {
    return make_error(Errc::invalid_argument, "'" + s + "' is not a size; expected e.g. 256M, 1G or 268435456");
  }
  const std::string unit = s.substr(pos);
  uint64_t mult = 1;
  if (unit == "K" || unit == "k" || unit == "KiB") mult = 1ull << 10;
  else if (unit == "M" || unit == "m" || unit == "MiB") mult = 1ull << 20;
  else if (unit == "G" || unit == "g" || unit == "GiB") mult = 1ull << 30;
  else if (!unit.empty()) return make_error(Errc::invalid_argument, "'" + s + "': unknown unit; expected K, M or G");
  if (v > (uint64_t{1} << 40) / mult) return make_error(Errc::invalid_argument, "'" + s + "' is too large");
  return v * mult;
}

Result<NetSpec> parse_net(const std::string& s) {
  NetSpec n;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    const std::string item = s.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "path") {
      if (value.empty() || value.size() >= 108) {
        return make_error(Errc::invalid_argument, "--net path: expected a socket path shorter than 108 bytes");
      }
      n.socket = value;
    } else if (key == "mac") {
      auto m = MacAddress::parse(value);
      if (!m) return make_error(Errc::invalid_argument, "--net mac=" + value + ": expected xx:xx:xx:xx:xx:xx");
      n.mac = *m;
      n.mac_set = true;
    } else if (key == "queues") {
      unsigned q = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
      if (ec != std::errc{} || end != value.data() + value.size() || q < 1 || q > VirtioNetDevice::kMaxQueuePairs) {
        return make_error(Errc::invalid_argument, "--net queues=" + value + ": expected 1..8 queue pairs");
      }
      n.queues = static_cast<uint16_t>(q);
    } else {
      return make_error(Errc::invalid_argument,
                        "--net: unknown key '" + key + "'; expected path=SOCKET,mac=MAC,queues=PAIRS");
    }
  }
  if (n.socket.empty()) return make_error(Errc::invalid_argument, "--net: path=SOCKET is required");
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t_start = std::chrono::steady_clock::now();
  CLI::App app{"nfv-vmm: run a VNF virtual machine (the SDK's guest runtime) on KVM"};
  MachineConfig cfg;
  std::string memory = "256M", max_memory, hugepages = "prefer", control, log_level = "info", halt_poll = "host";
  std::vector<std::string> nets;
  int stop_timeout_ms = 2000;
  app.add_option("--kernel", cfg.kernel, "guest ELF (a VNF linked with the SDK's guest runtime)")->required();
  app.add_option("--memory", memory, "guest RAM, e.g. 256M (16M .. 3G)")->capture_default_str();
  app.add_option("--max-memory", max_memory, "limit for the guest's memory requests (default 4 x --memory)");
  app.add_option("--cpus", cfg.cpus, "vCPUs, 1 .. 8 (vCPU 0 boots; the guest starts the others)")
      ->capture_default_str()
      ->check(CLI::Range(1u, guest::kMaxCpus));
  app.add_option("--net", nets,
                 "virtio-net device: path=SOCKET[,mac=MAC][,queues=PAIRS] (vhost-user back-end socket; "
                 "PAIRS 1..8, default --cpus)");
  app.add_option("--cmdline", cfg.cmdline, "guest command line (passed to its guest_main)");
  app.add_option("--console", cfg.console, "guest console output file (default: stdout)");
  app.add_option("--control", control, "JSON-RPC control socket (status, stats, pause, resume, shutdown)");
  app.add_option("--name", cfg.name, "VM name in status answers and memfd names")->capture_default_str();
  app.add_option("--hugepages", hugepages, "guest RAM backing: prefer | require | never")->capture_default_str();
  app.add_option("--stop-timeout-ms", stop_timeout_ms, "how long the guest gets to shut down on SIGTERM")
      ->capture_default_str()->check(CLI::Range(0, 600000));
  app.add_option("--halt-poll-ns", halt_poll,
                 "KVM halt polling after a guest HLT: nanoseconds (0..10000000) or host (the kvm module's "
                 "halt_poll_ns). KVM polls only while nothing else is runnable on that CPU; 0 saves that "
                 "CPU time (the guest runtime polls before it halts) at the cost of slower wake-ups")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail_usage = [](const std::string& msg) {
    std::fprintf(stderr, "nfv-vmm: %s\n", msg.c_str());
    return 2;
  };
  spdlog::set_default_logger(spdlog::stderr_color_mt("nfv-vmm"));  // stdout is the guest console
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("nfv-vmm: [%l] %v");
  auto mem = parse_size(memory);
  if (!mem) return fail_usage("--memory " + mem.error().message);
  cfg.memory = *mem;
  if (!max_memory.empty()) {
    auto mm = parse_size(max_memory);
    if (!mm) return fail_usage("--max-memory " + mm.error().message);
    cfg.max_memory = *mm;
  }
  if (hugepages == "prefer") cfg.backing = RamBacking::prefer_hugepages;
  else if (hugepages == "require") cfg.backing = RamBacking::hugepages;
  else if (hugepages == "never") cfg.backing = RamBacking::small_pages;
  else return fail_usage("--hugepages " + hugepages + ": expected prefer, require or never");
  if (halt_poll == "host") {
    cfg.halt_poll_ns.reset();
  } else {
    uint32_t ns = 0;
    const auto [end, ec] = std::from_chars(halt_poll.data(), halt_poll.data() + halt_poll.size(), ns);
    if (ec != std::errc{} || end != halt_poll.data() + halt_poll.size() || ns > 10'000'000) {
      return fail_usage("--halt-poll-ns " + halt_poll + ": expected 0..10000000 or host");
    }
    cfg.halt_poll_ns = ns;
  }
  for (std::size_t i = 0; i < nets.size(); ++i) {
    auto n = parse_net(nets[i]);
    if (!n) return fail_usage(n.error().message);
    if (!n->mac_set) n->mac = MacAddress::from_u64(0x525400000000ULL | ((getpid() & 0xffff) << 8) | i);
    cfg.nets.push_back(*n);
  }
  if (cfg.nets.size() > 4) return fail_usage("--net: at most 4 devices");

  cfg.process_start = t_start;
  control::EventLoop loop;
  bool signalled = false;
  std::chrono::steady_clock::time_point first_signal;
  std::unique_ptr<Machine> vm;
  if (auto s = loop.handle_termination_signals([&](int) {
        // A second signal forces the stop, unless it follows the first within 500 ms:
        // `timeout` and process-group kills deliver one signal twice.
        if (vm && signalled && std::chrono::steady_clock::now() - first_signal < std::chrono::milliseconds(500)) {
          return;
        }
        if (vm && !signalled) {
          signalled = true;
          first_signal = std::chrono::steady_clock::now();
          spdlog::info("stopping: asking the guest to shut down");
          vm->request_stop();
          loop.add_timer(std::chrono::milliseconds(stop_timeout_ms), [&] {
            vm->force_stop("the guest did not shut down in time; vCPUs stopped");
          });
        } else if (vm) {
          vm->force_stop("second signal");
        }
      });
      !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  auto m = Machine::create(cfg);
  if (!m) {
    spdlog::error("{}", m.error().message);
    return m.error().code == Errc::invalid_argument || m.error().code == Errc::not_found ? 2 : 1;
  }
  vm = std::move(*m);
  std::unique_ptr<control::JsonRpcServer> rpc;
  if (!control.empty()) {
    auto srv = control::JsonRpcServer::listen(loop, control);
    if (!srv) {
      spdlog::error("{}", srv.error().message);
      return 1;
    }
    rpc = std::move(*srv);
    rpc->add_method("status", [&](const control::Json&) { return vm->status(); });
    rpc->add_method("stats", [&](const control::Json&) { return vm->stats(); });
    rpc->add_method("pause", [&](const control::Json&) {
      vm->pause();
      return control::Json{{"state", "paused"}};
    });
    rpc->add_method("resume", [&](const control::Json&) {
      vm->resume();
      return control::Json{{"state", "running"}};
    });
    rpc->add_method("shutdown", [&](const control::Json&) {
      vm->request_stop();
      loop.add_timer(std::chrono::milliseconds(stop_timeout_ms),
                     [&] { vm->force_stop("the guest did not shut down in time; vCPUs stopped"); });
      return control::Json{{"stopping", true}};
    });
  }
  loop.add_fd(vm->stopped_fd(), [&] { loop.stop(); });
  const double setup_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_start).count();
  spdlog::info("{}: starting guest {} ({} MiB, {} net device(s)); set-up took {:.1f} ms", cfg.name, cfg.kernel,
               cfg.memory >> 20, cfg.nets.size(), setup_ms);
  vm->start();
  loop.run();
  const int code = vm->wait();
  const std::string why = vm->stop_reason();
  if (code == kExitVmFault && why.find("exit code") == std::string::npos) {
    spdlog::error("{}: {}", cfg.name, why);
  } else {
    spdlog::info("{}: {}", cfg.name, why);
  }
  rpc.reset();
  vm.reset();
  return code;
}
