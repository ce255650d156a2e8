// Topology schema (tools/nfv/topology.hpp): a valid file in, the structs out;
// each kind of mistake refused with the exact "FILE:LINE:COLUMN: ..." message
// prefix. Files are built from one valid base whose lines are known.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "chain_rules.hpp"
#include "commands.hpp"
#include "metrics.hpp"
#include "topology.hpp"
#include "vnf_counters.hpp"

using nfv::topo::CheckEnv;
using nfv::topo::parse_topology;

namespace {

const CheckEnv kEnv{{0, 1}, "/usr"};

// Line numbers of the base (1-based) are in the comments.
const std::string kSwitch = R"([switch]
cores = [1]
idle = "adaptive"
socket = "/tmp/t/sw.sock"
)";  // lines 1..4

std::string port(const std::string& name, int vlan) {
  return "[[port]]\nname = \"" + name + "\"\ntype = \"vhost-user\"\npath = \"/tmp/t/" + name + ".sock\"\nvlan = " +
         std::to_string(vlan) + "\n";  // 5 lines
}

// lines 5..24: ports a(10) in(10) out(20) b(20)
const std::string kPorts = port("a", 10) + port("in", 10) + port("out", 20) + port("b", 20);

// lines 25..31
const std::string kVnf = R"([[vnf]]
name = "fw"
kind = "process"
binary = "/bin/true"
args = ["--mode", "forward"]
ports = ["in", "out"]
cores = [0]
)";

// lines 32..36
const std::string kChain = R"([[chain]]
name = "c"
from = "a"
hops = ["fw"]
to = "b"
)";

// lines 37..41
const std::string kGen = R"([generator]
port = "a"
rx_port = "b"
rate = "1M"
cpu = 0
)";

// lines 42..44
const std::string kStream = R"([[stream]]
name = "s"
size = 64
)";

const std::string kBase = kSwitch + kPorts + kVnf + kChain + kGen + kStream;

// Replaces the first occurrence of `from` in the base.
std::string edit(const std::string& from, const std::string& to, std::string text = kBase) {
  const size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return text.replace(at, from.size(), to);
}

std::string error_of(const std::string& text, const CheckEnv& env = kEnv) {
  auto t = parse_topology(text, "t.toml", env);
  REQUIRE_MESSAGE(!t.ok(), "accepted:\n" << text);
  return t.error().message;
}

void check_error(const std::string& text, const std::string& prefix) {
  const std::string msg = error_of(text);
  CHECK_MESSAGE(msg.rfind(prefix, 0) == 0, "got: " << msg << "\nwanted: " << prefix);
  CHECK_MESSAGE(msg.find("; expected ") != std::string::npos, msg);
}

}  // namespace

TEST_CASE("a valid topology gives every part") {
  auto t = parse_topology(kBase, "t.toml", kEnv);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  CHECK(t->sw.cores == std::vector<unsigned>{1});
  REQUIRE(t->sw.ports.size() == 4);
  CHECK(t->sw.ports[1].name == "in");
  CHECK(*t->sw.ports[3].vlan == 20);
  REQUIRE(t->vnfs.size() == 1);
  CHECK(t->vnfs[0].binary == "/bin/true");
  CHECK(t->vnfs[0].args == std::vector<std::string>{"--mode", "forward"});
  CHECK(t->vnfs[0].ports == std::vector<std::string>{"in", "out"});
  CHECK(t->vnfs[0].restart == nfv::topo::Restart::on_failure);
  REQUIRE(t->chains.size() == 1);
  CHECK(t->chains[0].hops == std::vector<std::string>{"fw"});
  REQUIRE(t->generator);
  CHECK(t->generator->rate == "1M");
  CHECK(*t->generator->cpu == 0);
  REQUIRE(t->streams.size() == 1);
  CHECK(t->streams[0].name == "s");
  // The cut-out parts keep their lines: line 6 is the first port's name.
  const auto line = [](const std::string& s, int n) {
    size_t pos = 0;
    for (int i = 1; i < n; ++i) pos = s.find('\n', pos) + 1;
    return s.substr(pos, s.find('\n', pos) - pos);
  };
  CHECK(line(t->switch_toml, 6) == "name = \"a\"");
  CHECK(line(t->switch_toml, 26) == "");  // [[vnf]]'s name line is emptied
  CHECK(t->switch_toml.find("vnf") == std::string::npos);
  CHECK(line(t->streams_toml, 42) == "[[stream]]");
  CHECK(t->streams_toml.find("[switch]") == std::string::npos);
}

TEST_CASE("TOML syntax and unknown keys, in the switch's words") {
  check_error(edit("cores = [0]\n", "cores = [0\n"), "t.toml:32:1: Error while parsing array");  // toml++'s position
  check_error(kBase + "[extra]\nx = 1\n", "t.toml:45:2: unknown top-level key 'extra'");
  check_error(edit("idle = \"adaptive\"", "idle = \"lazy\""), "t.toml:3:8: 'idle' is \"lazy\"");
  check_error(edit("vlan = 10", "vlans = 10"), "t.toml:9:1: unknown port key 'vlans'");
  check_error(edit("args = [", "argz = ["), "t.toml:29:1: unknown vnf key 'argz'");
  check_error(edit("from = \"a\"", "form = \"a\""), "t.toml:34:1: unknown chain key 'form'");
  check_error(edit("rate = \"1M\"", "rat = \"1M\""), "t.toml:40:1: unknown generator key 'rat'");
  check_error(edit("size = 64", "colour = 64"), "t.toml:44:1: unknown stream key \"colour\"");
}

TEST_CASE("wrong types, values and kind-specific keys") {
  check_error(edit("kind = \"process\"", "kind = \"container\""), "t.toml:27:8: 'kind' is \"container\"");
  check_error(edit("ports = [\"in\", \"out\"]", "ports = \"in\""), "t.toml:30:9: 'ports' is a string");
  check_error(edit("ports = [\"in\", \"out\"]", "ports = [\"in\", \"in\"]"), "t.toml:30:16: 'ports' lists port 'in' twice");
  check_error(edit("cores = [0]\n", "cores = [0, 0]\n"), "t.toml:31:13: 'cores' lists CPU 0 twice");
  check_error(edit("args = [", "memory = \"1G\"\nargs = ["), "t.toml:29:1: 'memory' is a vm key but vnf 'fw' has kind \"process\"");
  check_error(edit("args = [", "port_options = \"queue-size=1024, mergeable=0\"\nargs = ["),
              "t.toml:29:16: 'port_options' is \"queue-size=1024, mergeable=0\"");
  {
    auto t = parse_topology(edit("args = [", "port_options = \"queue-size=1024\"\nargs = ["), "t.toml", kEnv);
    REQUIRE_MESSAGE(t.ok(), t.error().message);
    CHECK(t->vnfs[0].port_options == "queue-size=1024");
  }
  check_error(edit("rate = \"1M\"", "rate = \"fast\""), "t.toml:40:8: 'rate' is \"fast\"");
  check_error(edit("cpu = 0", "cpu = 2048"), "t.toml:41:7: 'cpu' is 2048");
  check_error(edit("hops = [\"fw\"]", "hops = []"), "t.toml:35:8: 'hops' is empty");
  check_error(edit("size = 64", "size = 20"), "t.toml:42:1: stream 's': frame size 20");
}

TEST_CASE("missing required keys point at the table") {
  check_error(edit("kind = \"process\"\n", ""), "t.toml:25:1: vnf 'fw' has no 'kind' key");
  check_error(edit("binary = \"/bin/true\"\n", ""), "t.toml:25:1: process vnf 'fw' has no 'binary' key");
  check_error(edit("to = \"b\"\n", ""), "t.toml:32:1: chain 'c' has no 'to' key");
  check_error(edit("port = \"a\"\n", ""), "t.toml:37:1: [generator] has no 'port' key");
  check_error(kSwitch + kPorts + kStream, "t.toml:25:1: [[stream]] tables without a [generator]");
}

TEST_CASE("a missing binary or ELF is refused before anything starts") {
  check_error(edit("/bin/true", "/nonexistent/l2fwd"),
              "t.toml:28:10: 'binary' is \"/nonexistent/l2fwd\": \"/nonexistent/l2fwd\" does not exist");
  check_error(edit("/bin/true", "bin/nope"), "t.toml:28:10: 'binary' is \"bin/nope\": \"/usr/bin/nope\" does not exist");
  const std::string vm = edit("kind = \"process\"\nbinary = \"/bin/true\"\nargs = [\"--mode\", \"forward\"]",
                              "kind = \"vm\"\nkernel = \"/nonexistent/guest.elf\"\nmemory = \"256M\"");
  check_error(vm, "t.toml:28:10: 'kernel' is \"/nonexistent/guest.elf\"");
  // An existing file that is not an ELF.
  check_error(edit("/nonexistent/guest.elf", "/etc/hostname", vm), "t.toml:28:10: 'kernel' is \"/etc/hostname\"");
  // An ELF is accepted as a kernel; the VM's keys are read.
  auto t = parse_topology(edit("/nonexistent/guest.elf", "/bin/true", vm), "t.toml", kEnv);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  CHECK(t->vnfs[0].kind == nfv::topo::VnfKind::vm);
  CHECK(t->vnfs[0].memory == "256M");
  check_error(edit("memory = \"256M\"", "memory = \"256\"", edit("/nonexistent/guest.elf", "/bin/true", vm)),
              "t.toml:29:10: 'memory' is \"256\"");
}

TEST_CASE("duplicate names") {
  check_error(edit("name = \"in\"", "name = \"a\""), "t.toml:11:8: port name 'a' is already used by the port at line 5");
  check_error(edit("[[chain]]", kVnf + "[[chain]]"), "t.toml:33:8: vnf name 'fw' is already used by the vnf at line 25");
  check_error(edit("[generator]", kChain + "[generator]"), "t.toml:38:8: chain name 'c' is already used by the chain at line 32");
}

TEST_CASE("references: unknown ports and hops, one peer per socket") {
  check_error(edit("ports = [\"in\", \"out\"]", "ports = [\"in\", \"exit\"]"),
              "t.toml:30:16: vnf 'fw' names port 'exit', which is not a [[port]] of the switch; expected one of a, in, out, b");
  check_error(edit("from = \"a\"", "from = \"x\""), "t.toml:34:8: chain 'c' names port 'x', which is not a [[port]]");
  check_error(edit("hops = [\"fw\"]", "hops = [\"fx\"]"), "t.toml:35:9: chain 'c' hop 'fx' is not a [[vnf]]");
  // Two VNFs on one socket.
  const std::string second = "[[vnf]]\nname = \"fw2\"\nkind = \"process\"\nbinary = \"/bin/true\"\nports = [\"out\"]\n";
  check_error(edit("[[chain]]", second + "[[chain]]"),
              "t.toml:36:10: vnf 'fw2' names port 'out' (socket \"/tmp/t/out.sock\"), which vnf 'fw' already uses");
  // The generator on a VNF's port.
  check_error(edit("port = \"a\"", "port = \"in\""), "t.toml:38:8: the generator names port 'in'");
}

TEST_CASE("chains must be realisable by the L2 bridge") {
  // The VNF's out port in the same VLAN as its in port: a loop.
  check_error(edit("vlan = 20", "vlan = 10"), "t.toml:34:8: chain 'c' segment a -> in is VLAN 10, which port 'out' also carries");
  // A segment across two VLANs.
  check_error(edit("vlan = 10", "vlan = 30"), "t.toml:34:8: chain 'c' segment a -> in: port 'a' has VLAN 30, port 'in' has VLAN 10");
  // A one-port hop.
  check_error(edit("ports = [\"in\", \"out\"]", "ports = [\"in\"]"), "t.toml:35:9: chain 'c' hop 'fw' has 1 port(s)");
}

TEST_CASE("CPUs and busy pollers") {
  check_error(edit("cores = [0]\n", "cores = [5]\n"), "t.toml:31:9: vnf 'fw' uses CPU 5, which is not available here");
  check_error(edit("cores = [1]", "cores = [7]"), "t.toml:2:9: [switch] 'cores' uses CPU 7");
  // A polling VNF on the generator's CPU.
  check_error(edit("cores = [0]\n", "cores = [0]\nidle = \"poll\"\n"),
              "t.toml:42:7: the generator polls on CPU 0, where vnf 'fw' polls");
  // Three busy pollers (switch, VNF, generator) on two CPUs.
  check_error(edit("idle = \"adaptive\"", "idle = \"poll\"", edit("cores = [0]\n", "cores = [0]\nidle = \"poll\"\n")),
              "t.toml:42:7: 3 busy pollers up to the generator for 2 CPUs");
  // A polling VNF on another CPU than the generator is fine with an adaptive switch.
  auto t = parse_topology(edit("cpu = 0", "cpu = 1", edit("cores = [0]\n", "cores = [0]\nidle = \"poll\"\n")), "t.toml", kEnv);
  CHECK_MESSAGE(t.ok(), t.error().message);
  // A yielding generator is no busy poller: beside a polling VNF, and as a third poller.
  auto y = parse_topology(edit("cpu = 0", "cpu = 0\nidle = \"yield\"", edit("cores = [0]\n", "cores = [0]\nidle = \"poll\"\n")),
                          "t.toml", kEnv);
  REQUIRE_MESSAGE(y.ok(), y.error().message);
  CHECK(y->generator->yield);
  const auto argv = nfv::topo::generator_command(*y, nfv::topo::Programs{.nfv_gen = "nfv-gen"}, "/run/x").argv;
  const auto idle = std::find(argv.begin(), argv.end(), "--idle");
  REQUIRE(idle != argv.end());
  REQUIRE(idle + 1 != argv.end());
  CHECK(*(idle + 1) == "yield");
  const auto polling = nfv::topo::generator_command(*t, nfv::topo::Programs{.nfv_gen = "nfv-gen"}, "/run/x").argv;
  CHECK(std::find(polling.begin(), polling.end(), "--idle") == polling.end());
  check_error(edit("cpu = 0", "cpu = 0\nidle = \"spin\""),
              "t.toml:42:8: 'idle' is \"spin\"; expected \"poll\" (spins) or \"yield\"");
  check_error(edit("cpu = 0", "cpu = 0\nidle = 1"), "t.toml:42:8: 'idle'");
}

TEST_CASE("a chain's match becomes switch rules hop by hop") {
  auto t = parse_topology(edit("to = \"b\"", "to = \"b\"\npriority = 200\nmatch = { proto = \"udp\", dst_ip = \"10.1.0.0/16\", dst_port = 2152 }"),
                          "t.toml", kEnv);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  const auto rules = nfv::topo::chain_rules(*t, t->chains[0]);
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].dump() == R"({"actions":"output:in","match":"in_port=a,udp,nw_dst=10.1.0.0/16,tp_dst=2152","priority":200})");
  CHECK(rules[1].dump() == R"({"actions":"output:b","match":"in_port=out,udp,nw_dst=10.1.0.0/16,tp_dst=2152","priority":200})");
  check_error(edit("to = \"b\"", "to = \"b\"\nmatch = { dst_port = 80 }"), "t.toml:37:9: 'match' has a port but no 'proto'");
  check_error(edit("to = \"b\"", "to = \"b\"\nmatch = { dst_ip = \"10.1.0.0/33\" }"), "t.toml:37:20: 'match.dst_ip' is \"10.1.0.0/33\"");
  check_error(edit("to = \"b\"", "to = \"b\"\nmatch = { colour = 1 }"), "t.toml:37:11: unknown match key 'colour'");
}

TEST_CASE("a file that cannot be read") {
  auto t = nfv::topo::load_topology("/nonexistent/topology.toml", kEnv);
  REQUIRE(!t.ok());
  CHECK(t.error().message == "/nonexistent/topology.toml: cannot read: No such file or directory");
}

namespace {

// The base with its VNF as a VM whose kernel is /bin/true (an ELF): lines 25..31 become
// [[vnf]] name kind kernel memory ports cores, and `extra` goes before `ports` (line 30).
std::string vm_base(const std::string& extra = "") {
  return edit("kind = \"process\"\nbinary = \"/bin/true\"\nargs = [\"--mode\", \"forward\"]\n",
              "kind = \"vm\"\nkernel = \"/bin/true\"\nmemory = \"256M\"\n" + extra);
}

}  // namespace

TEST_CASE("VM keys: memory and cpus within nfv-vmm's limits, cmdline") {
  check_error(edit("memory = \"256M\"", "memory = \"4G\"", vm_base()),
              "t.toml:29:10: 'memory' is \"4G\", outside 16M..3G");
  check_error(edit("memory = \"256M\"", "memory = \"8M\"", vm_base()), "t.toml:29:10: 'memory' is \"8M\", outside 16M..3G");
  check_error(edit("memory = \"256M\"", "memory = \"M\"", vm_base()), "t.toml:29:10: 'memory' is \"M\"");
  check_error(edit("memory = \"256M\"", "memory = \"1.5G\"", vm_base()), "t.toml:29:10: 'memory' is \"1.5G\"");
  check_error(edit("memory = \"256M\"", "memory = 256", vm_base()), "t.toml:29:10: 'memory' is an integer");
  {
    auto t = parse_topology(edit("memory = \"256M\"", "memory = \"3G\"", vm_base()), "t.toml", kEnv);
    REQUIRE_MESSAGE(t.ok(), t.error().message);
    CHECK(t->vnfs[0].memory == "3G");
  }
  // nfv-vmm's range, 1..8, pointing at the value.
  const std::string nine = error_of(vm_base("cpus = 9\n"));
  CHECK_MESSAGE(nine.rfind("t.toml:30:8: 'cpus' is 9; expected an integer in 1..8 (vCPUs", 0) == 0, nine);
  check_error(vm_base("cpus = 0\n"), "t.toml:30:8: 'cpus' is 0");
  check_error(vm_base("cmdline = [\"mode=forward\"]\n"), "t.toml:30:11: 'cmdline' is an array");
  check_error(vm_base("cmdline = \"mode=forward\\npool=1\"\n"),
              "t.toml:30:11: 'cmdline' is \"mode=forward\\x0apool=1\", which has a control or non-ASCII character");
  check_error(vm_base("cmdline = \"" + std::string(4096, 'x') + "\"\n"), "t.toml:30:11: 'cmdline' is 4096 bytes long");
  check_error(vm_base("args = [\"x\"]\n"), "t.toml:30:1: 'args' is a process key but vnf 'fw' has kind \"vm\"");
  check_error(edit("args = [", "cmdline = \"x\"\nargs = ["), "t.toml:29:1: 'cmdline' is a vm key but vnf 'fw' has kind \"process\"");
  auto t = parse_topology(vm_base("cmdline = \"mode=forward queue-size=1024\"\ncpus = 1\n"), "t.toml", kEnv);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  CHECK(t->vnfs[0].cmdline == "mode=forward queue-size=1024");
  CHECK(t->vnfs[0].cpus == 1);
}

TEST_CASE("a relative kernel is found in the build directory") {
  // kEnv's build directory is /usr: "bin/true" is /usr/bin/true.
  auto t = parse_topology(edit("kernel = \"/bin/true\"", "kernel = \"bin/true\"", vm_base()), "t.toml", kEnv);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  CHECK(t->vnfs[0].kernel == "/usr/bin/true");
  check_error(edit("kernel = \"/bin/true\"", "kernel = \"sample-vnfs/l2fwd/l2fwd.elf\"", vm_base()),
              "t.toml:28:10: 'kernel' is \"sample-vnfs/l2fwd/l2fwd.elf\": \"/usr/sample-vnfs/l2fwd/l2fwd.elf\" does not exist");
}

TEST_CASE("a VM's nfv-vmm command line: name, kernel, cmdline, nets with MACs, control socket, pinning") {
  auto t = parse_topology(vm_base("cmdline = \"mode=forward\"\n"), "t.toml", kEnv);
  REQUIRE_MESSAGE(t.ok(), t.error().message);
  const nfv::topo::Programs programs{"/x/nfv-switch", "/x/nfv-gen", "/x/nfv-vmm"};
  const nfv::topo::LaunchSpec s = nfv::topo::vnf_command(*t, t->vnfs[0], programs, "/run/x");
  const std::vector<std::string> want = {
      "/x/nfv-vmm", "--name", "fw", "--kernel", "/bin/true", "--memory", "256M", "--cpus", "1",
      "--net", "path=/tmp/t/in.sock,mac=52:54:00:00:00:00,queues=1",
      "--net", "path=/tmp/t/out.sock,mac=52:54:00:00:00:01,queues=1",
      "--control", "/run/x/fw.sock", "--cmdline", "mode=forward idle=adaptive"};
  CHECK(s.argv == want);
  CHECK(s.cpus == std::vector<unsigned>{0});
  CHECK(s.log_file == "/run/x/fw.log");
  // More vCPUs: a queue pair per vCPU, as many as the switch's port has.
  auto t4 = parse_topology(vm_base("cpus = 4\n"), "t.toml", kEnv);
  REQUIRE_MESSAGE(t4.ok(), t4.error().message);
  t4->sw.ports[1].queues = 2;
  t4->sw.ports[2].queues = 8;
  const nfv::topo::LaunchSpec s4 = nfv::topo::vnf_command(*t4, t4->vnfs[0], programs, "/run/x");
  CHECK(s4.argv[8] == "4");
  CHECK(s4.argv[10] == "path=/tmp/t/in.sock,mac=52:54:00:00:00:00,queues=2");
  CHECK(s4.argv[12] == "path=/tmp/t/out.sock,mac=52:54:00:00:00:01,queues=4");
}

TEST_CASE("VNF counters from a process's and a VM's stats answers") {
  using nfv::control::Json;
  using nfv::topo::VnfKind;
  const Json process = Json::parse(R"({"ports": [
      {"name": "p0", "rx_packets": 10, "tx_packets": 7, "tx_dropped": 1},
      {"name": "p1", "rx_packets": 5, "tx_packets": 8, "tx_dropped": 2}],
    "workers": [{"thread": 0, "dropped": 3}], "pools": []})");
  auto c = nfv::topo::counters_from_stats(VnfKind::process, process);
  REQUIRE(c);
  CHECK(c->rx_packets == 15);
  CHECK(c->tx_packets == 15);
  CHECK(c->drops == 6);
  // A VM: the guest's published counters under "vnf"; none before the guest publishes.
  const Json vm = Json::parse(R"({"vcpus": [{"index": 0, "exits": {"io": 4, "mmio": 6, "hlt": 0}}],
    "vnf": {"worker": {"packets": 9, "dropped": 1},
            "ports": [{"rx_packets": 9, "tx_packets": 4, "tx_ring_full": 2}, {"rx_packets": 0, "tx_packets": 5}],
            "vnf": {"forwarded": 9}}})");
  c = nfv::topo::counters_from_stats(VnfKind::vm, vm);
  REQUIRE(c);
  CHECK(c->rx_packets == 9);
  CHECK(c->tx_packets == 9);
  CHECK(c->drops == 3);
  CHECK_FALSE(nfv::topo::counters_from_stats(VnfKind::vm, Json::parse(R"({"vcpus": []})")));
  CHECK_FALSE(nfv::topo::counters_from_stats(VnfKind::process, Json(nullptr)));
  CHECK_FALSE(nfv::topo::counters_from_stats(VnfKind::vm, Json::parse(R"({"vnf": "not json"})")));
  const Json exits = nfv::topo::exits_by_reason(vm);
  CHECK(exits.value("io", 0) == 4);
  CHECK(exits.value("mmio", 0) == 6);
  CHECK(nfv::topo::exits_by_reason(Json::parse(R"({"vcpus": [{"exits": {"io": 1}}, {"exits": {"io": 2}}]})"))
            .value("io", 0) == 3);
}

TEST_CASE("nfv's Prometheus text from the status and vm.list answers") {
  using nfv::control::Json;
  const Json status = Json::parse(R"({"uptime_s": 12.5, "switch": {"state": "running"},
    "vnfs": [{"name": "fw", "kind": "process", "state": "running", "restarts": 2,
              "rx_packets": 100, "tx_packets": 99, "drops": 1},
             {"name": "fw-vm", "kind": "vm", "state": "restarting", "restarts": 0,
              "rx_packets": null, "tx_packets": null, "drops": null}],
    "generator": {"state": "running", "tx_mpps": 0.25, "rx_mpps": 0.24}})");
  const Json vms = Json::parse(R"([{"name": "fw-vm", "uptime_s": null, "exits": {"io": 9, "mmio": 66}},
                                    {"name": "vm2", "exits": null}])");
  const std::string text = nfv::topo::metrics_text(status, vms);
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  };
  has("# TYPE nfv_vnf_restarts_total counter");
  has("nfv_uptime_seconds 12.5");
  has(R"(nfv_component_running{component="switch",kind="switch"} 1)");
  has(R"(nfv_component_running{component="fw",kind="process"} 1)");
  has(R"(nfv_component_running{component="fw-vm",kind="vm"} 0)");
  has(R"(nfv_component_running{component="generator",kind="nfv-gen"} 1)");
  has(R"(nfv_vnf_restarts_total{vnf="fw",kind="process"} 2)");
  has(R"(nfv_vnf_restarts_total{vnf="fw-vm",kind="vm"} 0)");
  has(R"(nfv_vnf_rx_packets_total{vnf="fw",kind="process"} 100)");
  has(R"(nfv_vnf_tx_packets_total{vnf="fw",kind="process"} 99)");
  has(R"(nfv_vnf_drops_total{vnf="fw",kind="process"} 1)");
  has(R"(nfv_vm_exits_total{vnf="fw-vm",reason="io"} 9)");
  has(R"(nfv_vm_exits_total{vnf="fw-vm",reason="mmio"} 66)");
  has("nfv_generator_tx_mpps 0.25");
  // A VNF that has not answered yet has no packet samples (rather than a false 0).
  CHECK(text.find(R"(nfv_vnf_rx_packets_total{vnf="fw-vm")") == std::string::npos);
  CHECK(text.find("vm2") == std::string::npos);
  // Nothing at all: still valid text, no samples.
  const std::string empty = nfv::topo::metrics_text(Json::object(), Json(nullptr));
  CHECK(empty.find("# TYPE nfv_vnf_rx_packets_total counter") != std::string::npos);
  CHECK(empty.find(R"(nfv_component_running{component="switch",kind="switch"} 0)") != std::string::npos);
}
