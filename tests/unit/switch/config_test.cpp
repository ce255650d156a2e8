// Switch configuration loader (dataplane/src/config.cpp): the example files in
// tests/data/configs/good parse to the expected structs, every file in
// tests/data/configs/bad yields exactly its one message, and the port.add JSON
// front end applies the same rules.
#include "config.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using nfv::Errc;
using nfv::MacAddress;
using nfv::control::Json;
using namespace nfv::sw;

namespace {

const std::string kConfigs = std::string(NFV_TEST_DATA) + "/configs";

MacAddress mac(const char* text) { return *MacAddress::parse(text); }

void check_same(const PortConfig& a, const PortConfig& b) {
  CHECK(a.name == b.name);
  CHECK(a.type == b.type);
  CHECK(a.path == b.path);
  CHECK(a.mode == b.mode);
  CHECK(a.devargs == b.devargs);
  CHECK(a.queues == b.queues);
  CHECK(a.vlan == b.vlan);
  CHECK(a.trunk == b.trunk);
  CHECK(a.allowed_macs == b.allowed_macs);
}

// The message of a failed port_config_from_json, or "OK".
std::string json_error(const char* text) {
  auto r = port_config_from_json(Json::parse(text));
  if (r) return "OK";
  CHECK(r.error().code == Errc::invalid_argument);
  return r.error().message;
}

}  // namespace

TEST_CASE("config: an empty file takes every default") {
  auto r = load_switch_config(kConfigs + "/good/minimal.toml");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  const SwitchConfig& c = *r;
  CHECK(c.cores.empty());
  CHECK(c.idle == IdleMode::adaptive);
  CHECK(c.socket == "/run/nfv/switch.sock");
  CHECK(c.log_level == "info");
  CHECK(c.mac_aging_s == 300);
  CHECK(c.memory_mb == 512);
  CHECK(c.eal_args.empty());
  CHECK(c.ports.empty());
}

TEST_CASE("config: every key set") {
  auto r = load_switch_config(kConfigs + "/good/full.toml");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  const SwitchConfig& c = *r;
  CHECK(c.cores == std::vector<unsigned>{3, 1});  // order kept
  CHECK(c.idle == IdleMode::poll);
  CHECK(c.socket == "/tmp/nfv-test/switch.sock");
  CHECK(c.log_level == "debug");
  CHECK(c.mac_aging_s == 60);
  CHECK(c.memory_mb == 1024);
  CHECK(c.eal_args == std::vector<std::string>{"--no-pci", "--log-level=lib.eal:debug"});
  REQUIRE(c.ports.size() == 3);

  PortConfig vm1;
  vm1.name = "vm1";
  vm1.path = "/run/nfv/vm1.sock";
  vm1.vlan = 10;
  vm1.allowed_macs = {mac("52:54:00:00:00:01"), mac("52:54:00:00:00:0a")};
  check_same(c.ports[0], vm1);

  PortConfig vm2;
  vm2.name = "vm2.client_2";
  vm2.path = "/run/nfv/vm2.sock";
  vm2.mode = VhostMode::client;
  vm2.queues = 8;
  vm2.trunk = std::vector<uint16_t>{1, 20, 30, 4094};  // sorted
  check_same(c.ports[1], vm2);

  PortConfig up;
  up.name = "uplink-0";
  up.type = PortType::ethdev;
  up.devargs = "net_tap0,iface=nfv0";
  up.queues = 2;
  check_same(c.ports[2], up);
}

TEST_CASE("config: inline tables") {
  auto r = load_switch_config(kConfigs + "/good/inline.toml");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->cores == std::vector<unsigned>{0});
  CHECK(r->idle == IdleMode::adaptive);
  REQUIRE(r->ports.size() == 2);
  CHECK(r->ports[0].name == "a");
  CHECK(r->ports[0].mode == VhostMode::server);
  CHECK(r->ports[1].type == PortType::ethdev);
  CHECK(r->ports[1].devargs == "0000:03:00.0");
  CHECK(r->ports[1].vlan == uint16_t{4094});
}

TEST_CASE("config: the shipped configs/switch.toml") {
  auto r = load_switch_config(std::string(NFV_TEST_DATA) + "/../../configs/switch.toml");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->cores == std::vector<unsigned>{1});
  CHECK(r->idle == IdleMode::adaptive);
  REQUIRE(r->ports.size() == 2);
  CHECK(r->ports[0].name == "vm1");
  CHECK(r->ports[0].path == "/run/nfv/vm1.sock");
  CHECK(r->ports[0].mode == VhostMode::server);
  CHECK(r->ports[1].name == "vm2");
  CHECK(r->ports[1].path == "/run/nfv/vm2.sock");
}

TEST_CASE("config: the commented-out examples in configs/switch.toml are valid") {
  // Uncomment every "# [[port]]" and "# key = value" line and load the result.
  std::ifstream in(std::string(NFV_TEST_DATA) + "/../../configs/switch.toml");
  REQUIRE(in.good());
  auto is_example = [](std::string_view l) {  // "[[port]]" or "key = ..."
    if (l == "[[port]]") return true;
    const size_t eq = l.find(" = ");
    return eq != std::string_view::npos && eq > 0 &&
           l.substr(0, eq).find_first_not_of("abcdefghijklmnopqrstuvwxyz_") ==
               std::string_view::npos;
  };
  std::string text, line;
  while (std::getline(in, line)) {
    const bool uncomment = line.rfind("# ", 0) == 0 && is_example(std::string_view(line).substr(2));
    text += (uncomment ? line.substr(2) : line) + "\n";
  }
  auto r = parse_switch_config(text, "switch.toml uncommented");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->ports.size() == 7);
  CHECK(r->eal_args == std::vector<std::string>{"--no-pci"});
}

TEST_CASE("config: each bad file yields its one message") {
  // File (in tests/data/configs/bad, without .toml) -> message after "FILE".
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"syntax",
       R"(:2:13: Error while parsing string: unescaped control characters other than TAB (U+0009) are explicitly prohibited; expected valid TOML (https://toml.io/en/v1.0.0))"},
      {"unknown_table",
       R"(:4:2: unknown top-level key 'ports'; expected only a [switch] table, [[port]] tables and [[rule]] tables)"},
      {"switch_not_table", R"(:1:10: 'switch' is a string; expected a [switch] table)"},
      {"port_not_array",
       R"(:2:1: 'port' is a table; expected an array of tables ([[port]] sections))"},
      // [switch]
      {"unknown_switch_key",
       R"(:3:1: unknown [switch] key 'threads'; expected one of cores, idle, socket, log_level, mac_aging_s, memory_mb, eal_args, metrics, socket_dir)"},
      {"cores_type",
       R"(:2:9: 'cores' is an integer; expected a non-empty list of distinct CPU numbers in 0..1023)"},
      {"cores_empty",
       R"(:2:9: 'cores' is empty (omit it for the default); expected a non-empty list of distinct CPU numbers in 0..1023)"},
      {"cores_negative", R"(:2:13: a 'cores' element is -2; expected a CPU number in 0..1023)"},
      {"cores_too_large", R"(:2:10: a 'cores' element is 1024; expected a CPU number in 0..1023)"},
      {"cores_duplicate",
       R"(:2:16: 'cores' lists CPU 1 twice; expected a non-empty list of distinct CPU numbers in 0..1023)"},
      {"idle_invalid", R"(:2:8: 'idle' is "busy"; expected "adaptive" or "poll")"},
      {"log_level_invalid",
       R"(:2:13: 'log_level' is "warning"; expected "trace", "debug", "info", "warn", "error", "critical" or "off")"},
      {"socket_relative",
       R"(:2:10: 'socket' is "run/nfv/switch.sock", not an absolute path; expected an absolute path shorter than 108 bytes (the unix socket limit))"},
      {"socket_too_long",
       R"(:3:10: 'socket' is 108 bytes long; expected an absolute path shorter than 108 bytes (the unix socket limit))"},
      {"mac_aging_range",
       R"(:2:15: 'mac_aging_s' is 5; expected an integer in 10..86400 (seconds))"},
      {"memory_type",
       R"(:2:13: 'memory_mb' is a floating-point number; expected an integer in 64..65536 (MiB))"},
      {"eal_args_type",
       R"(:2:25: an 'eal_args' element is an integer; expected a string (one EAL argument, passed verbatim))"},
      // [[port]]
      {"unknown_port_key",
       R"(:5:1: unknown port key 'vlans'; expected one of name, type, path, mode, devargs, queues, vlan, trunk, allowed_macs)"},
      {"missing_name",
       R"(:6:1: port has no 'name' key; expected a 'name' key: 1..31 characters from A-Z a-z 0-9 _ . -)"},
      {"missing_type",
       R"(:1:1: port 'vm1' has no 'type' key; expected a 'type' key: "vhost-user" or "ethdev")"},
      {"missing_path",
       R"(:4:3: vhost-user port 'vm1' has no 'path' key; expected a 'path' key: an absolute path shorter than 108 bytes (the unix socket limit) (or a [switch] 'socket_dir'))"},
      {"missing_devargs",
       R"(:1:9: ethdev port 'eth0' has no 'devargs' key; expected a 'devargs' key: DPDK devargs such as "net_tap0,iface=t0" or a PCI address)"},
      {"name_invalid",
       R"(:2:8: 'name' is "vm 1"; expected 1..31 characters from A-Z a-z 0-9 _ . -)"},
      {"name_too_long",
       R"(:3:8: 'name' is "port-name-of-thirty-two-bytes-xx" (32 characters); expected 1..31 characters from A-Z a-z 0-9 _ . -)"},
      {"name_duplicate",
       R"(:7:8: port name 'vm1' is already used by the port at line 1; expected a unique port name)"},
      {"type_invalid", R"(:3:8: 'type' is "vhost_user"; expected "vhost-user" or "ethdev")"},
      {"mode_invalid", R"(:5:8: 'mode' is "listen"; expected "server" or "client")"},
      {"path_relative",
       R"(:4:8: 'path' is "vm1.sock", not an absolute path; expected an absolute path shorter than 108 bytes (the unix socket limit))"},
      {"path_too_long",
       R"(:4:8: 'path' is 108 bytes long; expected an absolute path shorter than 108 bytes (the unix socket limit))"},
      {"path_duplicate",
       R"(:10:8: vhost-user path "/run/nfv/vm.sock" is already used by port 'vm1'; expected a different socket path for each vhost-user port)"},
      {"path_on_ethdev",
       R"(:5:1: 'path' is a vhost-user key but port 'eth0' has type "ethdev"; expected only ethdev keys: name, type, devargs, queues, vlan, trunk, allowed_macs)"},
      {"mode_on_ethdev",
       R"(:4:1: 'mode' is a vhost-user key but port 'eth0' has type "ethdev"; expected only ethdev keys: name, type, devargs, queues, vlan, trunk, allowed_macs)"},
      {"devargs_on_vhost",
       R"(:5:1: 'devargs' is an ethdev key but port 'vm1' has type "vhost-user"; expected only vhost-user keys: name, type, path, mode, queues, vlan, trunk, allowed_macs)"},
      {"devargs_empty",
       R"(:4:11: 'devargs' is empty; expected DPDK devargs such as "net_tap0,iface=t0" or a PCI address)"},
      {"queues_type", R"(:5:10: 'queues' is a string; expected an integer in 1..8 (queue pairs))"},
      {"queues_range", R"(:5:10: 'queues' is 9; expected an integer in 1..8 (queue pairs))"},
      {"vlan_range", R"(:5:8: 'vlan' is 0; expected a VLAN id in 1..4094)"},
      {"vlan_and_trunk",
       R"(:6:1: port 'vm1' sets both 'vlan' and 'trunk'; expected either an access 'vlan' or a 'trunk' list, not both)"},
      {"trunk_empty",
       R"(:5:9: 'trunk' is empty (omit it to carry every VLAN); expected a non-empty list of distinct VLAN ids in 1..4094)"},
      {"trunk_range", R"(:5:14: a 'trunk' element is 4095; expected a VLAN id in 1..4094)"},
      {"trunk_duplicate",
       R"(:5:18: 'trunk' lists VLAN 10 twice; expected a non-empty list of distinct VLAN ids in 1..4094)"},
      {"mac_type",
       R"(:5:16: 'allowed_macs' is a string; expected a list of unicast MAC addresses like "52:54:00:00:00:01")"},
      {"mac_invalid",
       R"(:5:38: 'allowed_macs' element "52:54:00:00:00" is not a MAC address; expected a unicast MAC address like "52:54:00:00:00:01")"},
      {"mac_multicast",
       R"(:5:17: 'allowed_macs' element "ff:ff:ff:ff:ff:ff" is a multicast address; expected a unicast MAC address like "52:54:00:00:00:01")"},
  };

  // Every file in bad/ has a case, and every case a file.
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kConfigs + "/bad"))
    files.insert(entry.path().stem().string());
  std::set<std::string> listed;
  for (const auto& [name, message] : cases) listed.insert(name);
  CHECK(files == listed);

  for (const auto& [name, message] : cases) {
    const std::string file = kConfigs + "/bad/" + name + ".toml";
    CAPTURE(file);
    auto r = load_switch_config(file);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_argument);
    CHECK(r.error().message == file + message);
  }
}

TEST_CASE("config: unreadable files") {
  const std::string missing = kConfigs + "/no-such-file.toml";
  auto r = load_switch_config(missing);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::io);
  CHECK(r.error().message == missing + ": cannot read: No such file or directory");

  const std::string dir = kConfigs + "/good";
  auto d = load_switch_config(dir);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == dir + ": cannot read: Is a directory");
}

TEST_CASE("config: parse_switch_config names the given source") {
  auto r = parse_switch_config("[switch]\nidle = 1\n", "inline");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == R"(inline:2:8: 'idle' is an integer; expected "adaptive" or "poll")");

  // Keys written in quotes are reported escaped, so a message stays one line.
  auto q = parse_switch_config("[switch]\n\"a'\\nb\" = 1\n", "inline");
  REQUIRE_FALSE(q.ok());
  CHECK(q.error().message.rfind(R"(inline:2:1: unknown [switch] key 'a\'\x0ab'; expected one of)",
                                0) == 0);

  auto t = parse_switch_config("[switch]\nmac_aging_s = 1979-05-27\n", "inline");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message ==
        "inline:2:15: 'mac_aging_s' is a date/time; expected an integer in 10..86400 (seconds)");
}

TEST_CASE("config: range limits are inclusive") {
  const std::string path107 = "/" + std::string(106, 'p');
  const std::string name31(31, 'n');
  std::string text = "[switch]\ncores = [0, 1023]\nmac_aging_s = 86400\nmemory_mb = 64\n";
  text += "socket = \"" + path107 + "\"\n";
  text += "[[port]]\nname = \"" + name31 + "\"\ntype = \"vhost-user\"\n";
  text += "path = \"" + path107 + "\"\nqueues = 8\nvlan = 4094\n";
  auto r = parse_switch_config(text, "limits");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->cores == std::vector<unsigned>{0, 1023});
  CHECK(r->mac_aging_s == 86400);
  CHECK(r->memory_mb == 64);
  CHECK(r->socket.size() == 107);
  CHECK(r->ports.at(0).name.size() == 31);
  CHECK(r->ports.at(0).queues == 8);
}

TEST_CASE("config: port JSON round trip") {
  PortConfig vhost;
  vhost.name = "vm1";
  vhost.path = "/run/nfv/vm1.sock";
  vhost.mode = VhostMode::client;
  vhost.queues = 4;
  vhost.trunk = std::vector<uint16_t>{10, 20};
  vhost.allowed_macs = {mac("52:54:00:00:00:01")};

  const Json j = port_config_to_json(vhost);
  CHECK(j == Json::parse(R"({"name": "vm1", "type": "vhost-user", "path": "/run/nfv/vm1.sock",
      "mode": "client", "devargs": null, "queues": 4, "vlan": null, "trunk": [10, 20],
      "allowed_macs": ["52:54:00:00:00:01"]})"));
  auto back = port_config_from_json(j);
  REQUIRE_MESSAGE(back.ok(), back.error().message);
  check_same(*back, vhost);

  PortConfig eth;
  eth.name = "eth0";
  eth.type = PortType::ethdev;
  eth.devargs = "net_tap0,iface=t0";
  eth.vlan = 7;
  const Json e = port_config_to_json(eth);
  CHECK(e == Json::parse(R"({"name": "eth0", "type": "ethdev", "path": null, "mode": null,
      "devargs": "net_tap0,iface=t0", "queues": 1, "vlan": 7, "trunk": null, "allowed_macs": []})"));
  auto eback = port_config_from_json(e);
  REQUIRE_MESSAGE(eback.ok(), eback.error().message);
  check_same(*eback, eth);

  // The minimal port.add call, and the trunk sorted as in the file front end.
  auto small = port_config_from_json(Json::parse(
      R"({"name": "vm2", "type": "vhost-user", "path": "/run/nfv/vm2.sock", "trunk": [9, 3]})"));
  REQUIRE_MESSAGE(small.ok(), small.error().message);
  CHECK(small->mode == VhostMode::server);
  CHECK(small->queues == 1);
  CHECK(small->trunk == std::vector<uint16_t>{3, 9});
}

TEST_CASE("config: port JSON errors name the key") {
  CHECK(json_error(R"([1])") ==
        "the port parameters are an array; expected an object with the keys name, type, path, "
        "mode, devargs, queues, vlan, trunk, allowed_macs");
  CHECK(json_error(R"({})") ==
        "port has no 'name' key; expected a 'name' key: 1..31 characters from A-Z a-z 0-9 _ . -");
  CHECK(json_error(R"({"name": null, "type": "ethdev"})") ==
        "port has no 'name' key; expected a 'name' key: 1..31 characters from A-Z a-z 0-9 _ . -");
  CHECK(json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "link": "up"})") ==
        "unknown port key 'link'; expected one of name, type, path, mode, devargs, queues, vlan, "
        "trunk, allowed_macs");
  CHECK(json_error(R"({"name": "e", "type": "ethdev"})") ==
        "ethdev port 'e' has no 'devargs' key; expected a 'devargs' key: DPDK devargs such as "
        "\"net_tap0,iface=t0\" or a PCI address");
  CHECK(json_error(R"({"name": "v", "type": "vhost-user"})") ==
        "vhost-user port 'v' has no 'path' key; expected a 'path' key: an absolute path shorter "
        "than 108 bytes (the unix socket limit) (or a [switch] 'socket_dir')");
  CHECK(json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "path": "/a"})") ==
        "'path' is a vhost-user key but port 'e' has type \"ethdev\"; expected only ethdev keys: "
        "name, type, devargs, queues, vlan, trunk, allowed_macs");
  CHECK(json_error(R"({"name": "v", "type": "vhost-user", "path": "/a", "devargs": "x"})") ==
        "'devargs' is an ethdev key but port 'v' has type \"vhost-user\"; expected only vhost-user "
        "keys: name, type, path, mode, queues, vlan, trunk, allowed_macs");
  CHECK(json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "queues": "2"})") ==
        "'queues' is a string; expected an integer in 1..8 (queue pairs)");
  CHECK(json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "queues": 2.0})") ==
        "'queues' is a floating-point number; expected an integer in 1..8 (queue pairs)");
  CHECK(json_error(
            R"({"name": "e", "type": "ethdev", "devargs": "x", "queues": 18446744073709551615})") ==
        "'queues' is 18446744073709551615; expected an integer in 1..8 (queue pairs)");
  CHECK(
      json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "vlan": 1, "trunk": [2]})") ==
      "port 'e' sets both 'vlan' and 'trunk'; expected either an access 'vlan' or a 'trunk' list, "
      "not both");
  CHECK(json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "trunk": {"a": 1}})") ==
        "'trunk' is an object; expected a non-empty list of distinct VLAN ids in 1..4094");
  CHECK(json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "trunk": [5, null]})") ==
        "a 'trunk' element is null; expected a VLAN id in 1..4094");
  CHECK(json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "trunk": [5, 5]})") ==
        "'trunk' lists VLAN 5 twice; expected a non-empty list of distinct VLAN ids in 1..4094");
  CHECK(
      json_error(R"({"name": "e", "type": "ethdev", "devargs": "x", "allowed_macs": ["nope"]})") ==
      "'allowed_macs' element \"nope\" is not a MAC address; expected a unicast MAC address like "
      "\"52:54:00:00:00:01\"");
  CHECK(json_error(R"({"name": "bad/name", "type": "ethdev", "devargs": "x"})") ==
        "'name' is \"bad/name\"; expected 1..31 characters from A-Z a-z 0-9 _ . -");
  CHECK(json_error(R"({"name": "v", "type": "tap", "path": "/a"})") ==
        "'type' is \"tap\"; expected \"vhost-user\" or \"ethdev\"");
  CHECK(json_error(R"({"name": "v", "type": "vhost-user", "path": "rel"})") ==
        "'path' is \"rel\", not an absolute path; expected an absolute path shorter than 108 bytes "
        "(the unix socket limit)");
}

TEST_CASE("config: deeply nested JSON is refused without deep recursion") {
  const std::string deep = std::string(100000, '[') + "1" + std::string(100000, ']');
  const Json params =
      Json::parse(R"({"name": "e", "type": "ethdev", "devargs": "x", "trunk": )" + deep + "}");
  auto r = port_config_from_json(params);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "a 'trunk' element is an array; expected a VLAN id in 1..4094");
}

TEST_CASE("config: to_string names") {
  CHECK(std::string(to_string(PortType::vhost_user)) == "vhost-user");
  CHECK(std::string(to_string(PortType::ethdev)) == "ethdev");
  CHECK(std::string(to_string(VhostMode::server)) == "server");
  CHECK(std::string(to_string(VhostMode::client)) == "client");
  CHECK(std::string(to_string(IdleMode::adaptive)) == "adaptive");
  CHECK(std::string(to_string(IdleMode::poll)) == "poll");
}

TEST_CASE("config: socket_dir gives vhost-user ports without 'path' a socket, and the control socket") {
  using nfv::sw::parse_switch_config;
  // [switch] may come after the ports; explicit paths win; ethdev ports are left alone.
  auto r = parse_switch_config(R"(
[[port]]
name = "vm1"
type = "vhost-user"
[[port]]
name = "vm2"
type = "vhost-user"
path = "/tmp/elsewhere/vm2.sock"
[[port]]
name = "tap0"
type = "ethdev"
devargs = "net_tap0"
[switch]
socket_dir = "/run/nfv/node1/"
)",
                               "t.toml");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->socket_dir == "/run/nfv/node1");
  CHECK(r->socket == "/run/nfv/node1/switch.sock");
  CHECK(r->ports[0].path == "/run/nfv/node1/vm1.sock");
  CHECK(r->ports[1].path == "/tmp/elsewhere/vm2.sock");
  CHECK(r->ports[2].path.empty());

  // An explicit 'socket' wins over socket_dir's.
  r = parse_switch_config("[switch]\nsocket_dir = \"/run/a\"\nsocket = \"/run/b/ctl.sock\"\n", "t.toml");
  REQUIRE(r.ok());
  CHECK(r->socket == "/run/b/ctl.sock");

  // A generated socket that another port names explicitly; one that is too long; a relative dir.
  r = parse_switch_config(R"([switch]
socket_dir = "/run/a"
[[port]]
name = "x"
type = "vhost-user"
path = "/run/a/vm1.sock"
[[port]]
name = "vm1"
type = "vhost-user"
)",
                          "t.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "t.toml:7:1: vhost-user port 'vm1' would get the socket \"/run/a/vm1.sock\" from 'socket_dir', which port 'x' "
        "already uses; expected a different socket path for each vhost-user port");
  r = parse_switch_config("[switch]\nsocket_dir = \"/" + std::string(90, 'd') +
                              "\"\n[[port]]\nname = \"a-rather-long-port-name\"\ntype = \"vhost-user\"\n",
                          "t.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("would get the socket") != std::string::npos);
  CHECK(r.error().message.find("bytes long; expected a 'path' key") != std::string::npos);
  r = parse_switch_config("[switch]\nsocket_dir = \"run/nfv\"\n", "t.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "t.toml:2:14: 'socket_dir' is \"run/nfv\", not an absolute path; expected an absolute path "
                             "shorter than 108 bytes (the unix socket limit)");

  // port.add's JSON: with the running switch's socket_dir, 'path' may be left out.
  auto p = nfv::sw::port_config_from_json(nfv::control::Json::parse(R"({"name": "vm3", "type": "vhost-user"})"),
                                          "/run/nfv/node1");
  REQUIRE_MESSAGE(p.ok(), p.error().message);
  CHECK(p->path == "/run/nfv/node1/vm3.sock");
}
