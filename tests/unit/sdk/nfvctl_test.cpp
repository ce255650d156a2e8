// nfvctl end to end: the real binary against a fake switch that answers the
// methods of docs/switch-rpc.md with fixed data. Checks the params each verb
// sends, the tables it prints, --json, and the exit codes.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "rpc_harness.hpp"

using nfv::control::Json;
using nfv::control::RpcError;
using namespace nfv::test;

namespace {

const Json kPort = Json::parse(R"({"name": "vm1", "type": "vhost-user", "path": "/run/nfv/vm1.sock",
  "mode": "server", "devargs": null, "queues": 1, "link": "up", "vlan": 10, "trunk": null,
  "allowed_macs": ["52:54:00:00:00:01"], "dpdk_port": 0})");

const Json kCounters = Json::parse(R"({"name": "vm1", "rx_packets": 1200, "rx_bytes": 76800,
  "tx_packets": 7, "tx_bytes": 448,
  "drops": {"no_buffer": 0, "tx_full": 2, "spoofed": 1, "vlan": 0, "malformed": 0},
  "queues": [{"queue": 0, "rx_packets": 1200, "rx_bytes": 76800, "tx_packets": 7, "tx_bytes": 448}]})");

struct FakeSwitch : RunningServer {
  std::mutex mutex;
  std::string last_method;
  Json last_params;

  FakeSwitch() {
    REQUIRE(server);
    answer("switch.status", Json{{"version", "0.1.0"},
                                 {"uptime_s", 12.5},
                                 {"pmd_cores", {1}},
                                 {"idle", "adaptive"},
                                 {"ports", 1},
                                 {"mac_entries", 4}});
    answer("port.list", Json::array({kPort}));
    answer("port.add", kPort);
    answer("stats", Json{{"ports", {kCounters}}});
    answer("mac.flush", Json{{"flushed", 3}});
    answer("pmd.stats", Json::parse(R"([{"core": 1, "lcore": 1, "rx_queues": ["vm1:0"],
      "packets": 5, "busy_cycles": 1, "idle_cycles": 9, "cycles_per_packet": 80.25,
      "busy_pct": 10.0}])"));
    server->add_method("port.show", [this](const Json& params) {
      record("port.show", params);
      if (params.value("name", "") != "vm1") throw RpcError(RpcError::kNotFound, "no port 'vm2'");
      Json port = kPort;
      port["stats"] = kCounters;
      return port;
    });
    start();
  }
  ~FakeSwitch() {  // stop the loop before the members the handlers use go away
    loop.stop();
    if (thread.joinable()) thread.join();
  }

  void answer(const std::string& method, const Json& result) {
    server->add_method(method, [this, method, result](const Json& params) {
      record(method, params);
      return result;
    });
  }
  void record(const std::string& method, const Json& params) {
    std::lock_guard lock(mutex);
    last_method = method;
    last_params = params;
  }
  std::pair<std::string, Json> last_call() {
    std::lock_guard lock(mutex);
    return {last_method, last_params};
  }
};

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs nfvctl with `args` (shell syntax) against `socket`.
Outcome nfvctl(const FakeSwitch& sw, const std::string& args) {
  const std::string out = sw.dir.file("out");
  const std::string err = sw.dir.file("err");
  const std::string command = "NFV_SWITCH_SOCKET='" + sw.path() + "' " NFVCTL_PATH " " + args +
                              " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return Outcome{WEXITSTATUS(status), slurp(out), slurp(err)};
}

}  // namespace

TEST_CASE("nfvctl prints tables") {
  FakeSwitch sw;

  auto status = nfvctl(sw, "status");
  CHECK(status.code == 0);
  CHECK(status.out ==
        "version      0.1.0\n"
        "uptime (s)   12.5\n"
        "pmd cores    1\n"
        "idle mode    adaptive\n"
        "ports        1\n"
        "mac entries  4\n");
  CHECK(sw.last_call().first == "switch.status");

  auto ports = nfvctl(sw, "port list");
  CHECK(ports.code == 0);
  CHECK(ports.out ==
        "NAME  TYPE        LINK  QUEUES  VLAN  TRUNK  ALLOWED-MACS       ENDPOINT\n"
        "vm1   vhost-user  up         1    10  -      52:54:00:00:00:01  /run/nfv/vm1.sock "
        "(server)\n");

  auto stats = nfvctl(sw, "stats");
  CHECK(stats.code == 0);
  CHECK(stats.out ==
        "PORT  RX-PKTS  RX-BYTES  TX-PKTS  TX-BYTES  DROPS\n"
        "vm1      1200     76800        7       448      3\n"
        "\n"
        "drops by reason\n"
        "  vm1: spoofed 1, tx_full 2\n");

  auto pmd = nfvctl(sw, "pmd stats");
  CHECK(pmd.code == 0);
  CHECK(pmd.out ==
        "CORE  LCORE  PACKETS  BUSY%  CYCLES/PKT  RX-QUEUES\n"
        "   1      1        5   10.0        80.2  vm1:0\n");

  auto show = nfvctl(sw, "port show vm1");
  CHECK(show.code == 0);
  CHECK(show.out.find("allowed macs  52:54:00:00:00:01\n") != std::string::npos);
  CHECK(show.out.find("total     1200     76800        7       448\n") != std::string::npos);
  CHECK(show.out.find("drops  spoofed 1, tx_full 2\n") != std::string::npos);
  CHECK(sw.last_call().second == Json{{"name", "vm1"}});
}

TEST_CASE("nfvctl builds each method's params from its options") {
  FakeSwitch sw;
  auto add = nfvctl(sw,
                    "port add vm1 --type vhost-user --path /run/nfv/vm1.sock --mode server "
                    "--queues 2 --trunk 10,20 --allowed-mac 52:54:00:00:00:01 "
                    "--allowed-mac 52:54:00:00:00:02");
  CHECK(add.code == 0);
  CHECK(add.out.find("name          vm1\n") != std::string::npos);
  CHECK(sw.last_call() ==
        std::pair<std::string, Json>{
            "port.add", Json{{"name", "vm1"},
                             {"type", "vhost-user"},
                             {"path", "/run/nfv/vm1.sock"},
                             {"mode", "server"},
                             {"queues", 2},
                             {"trunk", {10, 20}},
                             {"allowed_macs", {"52:54:00:00:00:01", "52:54:00:00:00:02"}}}});

  CHECK(nfvctl(sw, "port add up0 --type ethdev --devargs 0000:03:00.0 --vlan 7").code == 0);
  CHECK(sw.last_call().second ==
        Json{{"name", "up0"}, {"type", "ethdev"}, {"devargs", "0000:03:00.0"}, {"vlan", 7}});

  auto flush_all = nfvctl(sw, "mac flush");
  CHECK(flush_all.out == "flushed 3 MAC entries\n");
  CHECK(sw.last_call() == std::pair<std::string, Json>{"mac.flush", Json::object()});
  CHECK(nfvctl(sw, "mac flush --port vm1").code == 0);
  CHECK(sw.last_call().second == Json{{"port", "vm1"}});

  auto raw = nfvctl(sw, "call mac.flush '{\"port\": \"vm2\"}'");
  CHECK(raw.code == 0);
  CHECK(Json::parse(raw.out) == Json{{"flushed", 3}});
  CHECK(sw.last_call() == std::pair<std::string, Json>{"mac.flush", Json{{"port", "vm2"}}});
}

TEST_CASE("nfvctl --json prints the result verbatim, wherever the option is") {
  FakeSwitch sw;
  auto before = nfvctl(sw, "--json port list");
  CHECK(before.code == 0);
  CHECK(Json::parse(before.out) == Json::array({kPort}));
  CHECK(before.out.find("\n  {\n") != std::string::npos);  // pretty-printed
  auto after = nfvctl(sw, "stats --json --timeout 2");
  CHECK(after.code == 0);
  CHECK(Json::parse(after.out) == Json{{"ports", {kCounters}}});
}

TEST_CASE("nfvctl exit codes") {
  FakeSwitch sw;
  auto missing = nfvctl(sw, "port show vm2");
  CHECK(missing.code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err == "nfvctl: no port 'vm2' (code 1)\n");

  auto unknown_method = nfvctl(sw, "call no.such.method");
  CHECK(unknown_method.code == 1);
  CHECK(unknown_method.err.find("(code -32601)") != std::string::npos);

  for (const char* bad :
       {"", "frob", "port", "port show", "port add vm3", "port add vm3 --type tap",
        "port add vm3 --type ethdev --allowed-mac 52:54", "call m '[1'", "--timeout 0 status",
        "status extra"}) {
    CAPTURE(bad);
    auto usage = nfvctl(sw, bad);
    CHECK(usage.code == 2);
    CHECK_FALSE(usage.err.empty());
  }
  CHECK(nfvctl(sw, "--help").code == 0);

  const std::string absent = sw.dir.file("absent.sock");
  auto no_switch = nfvctl(sw, "--socket " + absent + " status");
  CHECK(no_switch.code == 3);
  CHECK(no_switch.err.find(absent) != std::string::npos);
  CHECK(no_switch.err.find("is nfv-switch running?") != std::string::npos);
}
