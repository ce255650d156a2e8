#include "verbs.hpp"

#include <iostream>

#include "nfv/mac_address.hpp"
#include "printers.hpp"

namespace nfvctl {

namespace {

// --- option registration ---------------------------------------------------

void name_argument(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("NAME", o.name, "port name")->required();
}

// The positional names VM and VNF are what the completion script offers names for.
void vm_argument(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("VM", o.name, "VM name (a [[vnf]] with kind = \"vm\"; see nfvctl vm list)")->required();
}

void vnf_argument(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("VNF", o.name, "VNF name (see nfvctl vnf list)")->required();
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

void rule_add_options(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("--priority", o.priority, "0..65535, higher first (default 32768)")
      ->check(CLI::Range(0u, 65535u));
  cmd.add_option("RULE", o.rule_words,
                 "MATCH actions=ACTIONS, e.g. in_port=vm1,udp,tp_dst=2152 actions=output:vnf1")
      ->required();
  cmd.footer(
      "MATCH: comma-separated in_port=PORT dl_vlan=ID|none dl_src=MAC dl_dst=MAC dl_type=N "
      "ip ipv6 tcp udp sctp icmp tcp6 udp6 sctp6 icmp6 nw_src=ADDR[/LEN] nw_dst=ADDR[/LEN] "
      "nw_proto=N tp_src=N tp_dst=N (empty or * : every packet)\n"
      "ACTIONS: comma-separated output:PORT push_vlan:ID pop_vlan normal drop count\n"
      "Example: nfvctl rule add --priority 10 in_port=vm1,ip,nw_dst=10.0.0.0/8,udp,tp_dst=2152 "
      "actions=output:vnf1");
}

void rule_id_argument(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("ID", o.rule_id, "rule id (see nfvctl rule list)")->required();
}

void stats_options(CLI::App& cmd, VerbOptions& o) {
  cmd.add_flag("-w,--watch", o.watch, "refresh a table of rates every --interval seconds");
  cmd.add_option("--interval", o.interval_s, "seconds between refreshes")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd.add_option("--iterations", o.iterations, "stop after this many refreshes (default: until Ctrl-C)");
}

void capture_options(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("PORT", o.port, "port to capture")->required();
  cmd.add_option("-c,--count", o.count, "frames to capture")->check(CLI::Range(1u, 1000000u))->capture_default_str();
  cmd.add_option("-w,--write", o.write_file, "pcap file to write")->required();
  cmd.add_option("--direction", o.direction, "frames received (rx), sent (tx) or both")
      ->check(CLI::IsMember({"rx", "tx", "both"}))
      ->capture_default_str();
  cmd.add_option("--snaplen", o.snaplen, "bytes kept of each frame")->check(CLI::Range(64u, 65535u))->capture_default_str();
  cmd.add_option("--duration", o.duration_s, "stop after this many seconds even if fewer frames came")
      ->check(CLI::Range(0.0, 86400.0));
}

void completion_options(CLI::App& cmd, VerbOptions& o) {
  cmd.add_option("SHELL", o.shell, "shell to print a completion script for")
      ->check(CLI::IsMember({"bash"}))
      ->required();
  cmd.footer("Install: nfvctl completion bash > /etc/bash_completion.d/nfvctl (or source <(nfvctl completion bash))");
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

Json rule_id_params(const CLI::App&, const VerbOptions& o) { return Json{{"id", o.rule_id}}; }

Json call_params(const CLI::App&, const VerbOptions& o) {
  if (o.raw_params.empty()) return nullptr;  // sent without "params"
  return Json::parse(o.raw_params);          // validated by json_params()
}

}  // namespace

Json rule_add_params(const CLI::App& cmd, const VerbOptions& o) {
  // The words are MATCH pieces and one actions=... piece, as ovs-ofctl takes them;
  // "priority=N" among the match pieces works too.
  std::string match, actions;
  unsigned priority = o.priority;
  bool have_priority = cmd.count("--priority") > 0;
  bool in_actions = false;
  for (const std::string& word : o.rule_words) {
    std::string w = word;
    if (!in_actions) {
      const size_t at = w.find("actions=");
      if (at != std::string::npos && (at == 0 || w[at - 1] == ',' || w[at - 1] == ' ')) {
        std::string before = w.substr(0, at);
        actions = w.substr(at + 8);
        in_actions = true;
        w = before;
      }
    } else {
      actions += "," + w;  // "actions=output:a, output:b" split by the shell
      continue;
    }
    // Match pieces, separated by commas or blanks.
    std::string piece;
    auto flush = [&] {
      if (piece.empty()) return;
      if (piece.rfind("priority=", 0) == 0) {
        try {
          priority = static_cast<unsigned>(std::stoul(piece.substr(9)));
        } catch (const std::exception&) {
          throw CLI::ValidationError("RULE", "'" + piece + "': priority must be a number in 0..65535");
        }
        have_priority = true;
      } else {
        match += (match.empty() ? "" : ",") + piece;
      }
      piece.clear();
    };
    for (char c : w) {
      if (c == ',' || c == ' ') flush();
      else piece += c;
    }
    flush();
  }
  if (!in_actions)
    throw CLI::ValidationError("RULE", "no actions=...; e.g. nfvctl rule add in_port=vm1,udp actions=output:vm2");
  Json p{{"match", match}, {"actions", actions}};
  if (have_priority) p["priority"] = priority;
  return p;
}

// status: the switch's, then the VNFs and VMs of the `nfv up` answering on
// --nfv-socket, if one does (left out quietly otherwise: a switch may run alone).
int run_status(const RunContext& ctx, const CLI::App&, const VerbOptions&) {
  auto client = connect_switch(ctx);
  if (!client) return kExitCannotConnect;
  auto r = client->call("switch.status");
  if (!r) return std::cerr << "nfvctl: " << r.error().message << '\n', kExitServerError;
  Json vnfs = nullptr;
  if (auto nfv = nfv::control::JsonRpcClient::connect(ctx.nfv_socket, ctx.timeout))
    if (auto list = nfv->call("vnf.list"); list && list->is_array()) vnfs = std::move(*list);
  if (ctx.json) {
    Json out = std::move(*r);
    if (!vnfs.is_null()) out["vnfs"] = std::move(vnfs);
    print_json(out, std::cout);
    return kExitOk;
  }
  print_status(*r, std::cout);
  if (!vnfs.is_null()) {
    std::cout << "\nVNFs of `nfv up` (" << ctx.nfv_socket << "):\n";
    print_vnf_list(vnfs, std::cout);
  }
  return kExitOk;
}

const std::vector<Verb>& verb_table() {
  static const std::vector<Verb> table = {
      {{"status"},
       "switch.status",
       "show the switch's version, uptime and sizes, and the VNFs of a running `nfv up`",
       nullptr,
       nullptr,
       print_status,
       run_status},
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
      {{"stats"},
       "stats",
       "show the counters of every port (--watch: live rates)",
       stats_options,
       nullptr,
       print_stats,
       run_stats},
      {{"rule", "add"},
       "rule.add",
       "add a flow rule: [--priority N] MATCH actions=ACTIONS",
       rule_add_options,
       rule_add_params,
       print_rule},
      {{"rule", "del"}, "rule.del", "delete a flow rule", rule_id_argument, rule_id_params, print_rule_deleted},
      {{"rule", "list"}, "rule.list", "list the flow rules with their counters", nullptr, nullptr, print_rule_list},
      {{"rule", "flush"}, "rule.flush", "delete every flow rule", nullptr, nullptr, print_rule_deleted},
      {{"capture"},
       "capture.start",
       "capture a port's frames into a pcap file",
       capture_options,
       nullptr,
       print_json,
       run_capture},
      {{"completion"},
       "",
       "print a shell completion script",
       completion_options,
       nullptr,
       print_json,
       run_completion},
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
      {{"vnf", "list"},
       "vnf.list",
       "list the VNFs of a running `nfv up`: state, pid, restarts, counters",
       nullptr,
       nullptr,
       print_vnf_list,
       nullptr,
       Target::launcher_socket},
      {{"vnf", "restart"},
       "vnf.restart",
       "restart a VNF (or start a stopped one) now",
       vnf_argument,
       name_params,
       print_vnf_restarted,
       nullptr,
       Target::launcher_socket},
      {{"vm", "list"},
       "vm.list",
       "list the VMs of a running `nfv up`: state, pid, counters, VM exits by reason",
       nullptr,
       nullptr,
       print_vm_list,
       nullptr,
       Target::launcher_socket},
      {{"vm", "stop"},
       "vm.stop",
       "stop a VM (its guest shuts down; it stays stopped until `vnf restart`)",
       vm_argument,
       name_params,
       print_vm_stopped,
       nullptr,
       Target::launcher_socket},
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
  if (word == "rule") return "manage the flow rules (match, priority, actions)";
  if (word == "vnf") return "the VNFs of a running `nfv up` (its control socket, --nfv-socket)";
  if (word == "vm") return "the VMs of a running `nfv up` (its control socket, --nfv-socket)";
  return word + " commands";
}

}  // namespace nfvctl
