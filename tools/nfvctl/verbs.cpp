#include "verbs.hpp"

#include "nfv/mac_address.hpp"
#include "printers.hpp"

namespace nfvctl {

namespace {

// --- option registration ---------------------------------------------------

void name_argument(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("NAME", o.name, "port name")->required();
}

CLI::Validator mac_address() {
  return CLI::Validator(
      [](std::string& text) {
        return nfv::MacAddress::parse(text)
                   ? std::string()
                   : "'" + text + "' is not a MAC address (aa:bb:cc:dd:ee:ff)";
      },
      "MAC", "MAC address");
}

CLI::Validator json_params() {
  return CLI::Validator(
      [](std::string& text) {
        const Json parsed = Json::parse(text, nullptr, false);
        if (parsed.is_discarded()) return std::string("JSON-PARAMS is not valid JSON");
        if (!parsed.is_object() && !parsed.is_array()) {
          return std::string("JSON-PARAMS must be a JSON object or array");
        }
        return std::string();
      },
      "JSON", "JSON object or array");
}

void port_add_options(CLI::App& cmd, VerbOptions& o) {
  name_argument(cmd, o);
  cmd.add_option("--type", o.type, "port type")
      ->required()
      ->check(CLI::IsMember({"vhost-user", "ethdev"}));
  cmd.add_option("--path", o.path, "vhost-user socket path");
  cmd.add_option("--mode", o.mode, "vhost-user socket role (the switch's side)")
      ->check(CLI::IsMember({"server", "client"}));
  cmd.add_option("--queues", o.queues, "queue pairs")->check(CLI::Range(1u, 64u));
  cmd.add_option("--devargs", o.devargs, "ethdev device arguments (PCI address, vdev string)");
  cmd.add_option("--vlan", o.vlan, "access VLAN")->check(CLI::Range(0u, 4095u));
  cmd.add_option("--trunk", o.trunk, "trunk VLANs, comma separated (10,20)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->check(CLI::Range(0u, 4095u))
      ->excludes("--vlan");
  cmd.add_option("--allowed-mac", o.allowed_macs, "source MAC the port may use (repeatable)")
      ->check(mac_address())
      ->allow_extra_args(false);  // one MAC per --allowed-mac, so NAME is never taken for one
}

void mac_flush_options(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("--port", o.port, "only the entries learned on this port");
}

void call_options(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("METHOD", o.method, "JSON-RPC method, e.g. rpc.methods")->required();
  cmd.add_option("JSON-PARAMS", o.raw_params, "params as a JSON object or array")
      ->check(json_params());
}

// --- params builders -------------------------------------------------------

Json name_params(const CLI::App&, const VerbOptions& o) { return Json{{"name", o.name}}; }

Json port_add_params(const CLI::App& cmd, const VerbOptions& o) {
  Json p{{"name", o.name}, {"type", o.type}};
  if (cmd.count("--path") > 0) p["path"] = o.path;
  if (cmd.count("--mode") > 0) p["mode"] = o.mode;
  if (cmd.count("--queues") > 0) p["queues"] = o.queues;
  if (cmd.count("--devargs") > 0) p["devargs"] = o.devargs;
  if (cmd.count("--vlan") > 0) p["vlan"] = o.vlan;
  if (cmd.count("--trunk") > 0) p["trunk"] = o.trunk;
  if (cmd.count("--allowed-mac") > 0) p["allowed_macs"] = o.allowed_macs;
  return p;
}

Json mac_flush_params(const CLI::App& cmd, const VerbOptions& o) {
  if (cmd.count("--port") == 0) return Json::object();
  return Json{{"port", o.port}};
}

Json call_params(const CLI::App&, const VerbOptions& o) {
  if (o.raw_params.empty()) return nullptr;  // sent without "params"
  return Json::parse(o.raw_params);          // validated by json_params()
}

}  // namespace

const std::vector<Verb>& verb_table() {
  static const std::vector<Verb> table = {
      {{"status"},
       "switch.status",
       "show the switch's version, uptime and sizes",
       nullptr,
       nullptr,
       print_status},
      {{"port", "list"}, "port.list", "list the ports", nullptr, nullptr, print_port_list},
      {{"port", "show"},
       "port.show",
       "show one port with its counters",
       name_argument,
       name_params,
       print_port},
      {{"port", "add"}, "port.add", "add a port", port_add_options, port_add_params, print_port},
      {{"port", "del"},
       "port.del",
       "delete a port",
       name_argument,
       name_params,
       print_port_deleted},
      {{"stats"}, "stats", "show the counters of every port", nullptr, nullptr, print_stats},
      {{"mac", "list"},
       "mac.list",
       "list the learned MAC addresses",
       nullptr,
       nullptr,
       print_mac_list},
      {{"mac", "flush"},
       "mac.flush",
       "forget learned MAC addresses",
       mac_flush_options,
       mac_flush_params,
       print_mac_flushed},
      {{"pmd", "stats"},
       "pmd.stats",
       "show the poll-mode threads' load",
       nullptr,
       nullptr,
       print_pmd_stats},
      {{"call"},
       "",
       "call any method and print its raw result (for debugging)",
       call_options,
       call_params,
       print_json},
  };
  return table;
}

std::string group_help(const std::string& word) {
  if (word == "port") return "manage the switch's ports";
  if (word == "mac") return "inspect or flush the MAC learning table";
  if (word == "pmd") return "inspect the poll-mode driver threads";
  return word + " commands";
}

}  // namespace nfvctl
