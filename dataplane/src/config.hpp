// Switch configuration: the TOML file (`nfv-switch --config FILE`) and the
// `port.add` RPC both produce these structs through the same validation.
//
// [switch]
//   cores     = [1]            PMD thread CPUs (default [1] when the machine has >1 CPU, else [0])
//   idle      = "adaptive"     "adaptive" (back off to short sleeps when idle) or "poll"
//   socket    = "/run/nfv/switch.sock"   control socket (the CLI's --socket wins)
//   log_level = "info"         trace|debug|info|warn|error|critical|off (the CLI's --log-level wins)
//   mac_aging_s = 300          MAC entry lifetime in seconds (10..86400)
//   memory_mb = 512            DPDK memory (64..65536)
//   eal_args  = []             extra DPDK EAL arguments, appended verbatim
//   metrics   = "127.0.0.1:9464"  Prometheus endpoint on loopback (off when absent; --metrics wins)
// [[port]]
//   name   = "vm1"             [A-Za-z0-9_.-]{1,31}, unique
//   type   = "vhost-user"      or "ethdev"
//   path   = "/run/nfv/vm1.sock"  vhost-user only: socket path (required, unique)
//   mode   = "server"          vhost-user only: "server" (switch owns the socket) or "client"
//   queues = 1                 1..8 queue pairs
//   devargs = "net_tap0,iface=t0"  ethdev only (required): DPDK devargs or a PCI address
//   vlan   = 10                optional access VLAN (1..4094)
//   trunk  = [10, 20]          optional allowed VLANs of a trunk (1..4094); not with vlan
//   allowed_macs = ["52:54:00:00:00:01"]  optional port security: accepted source MACs
// [[rule]]                     a flow rule (syntax in flow_rule.hpp); ports must be [[port]]s
//   priority = 32768           0..65535, higher first
//   match    = "in_port=vm1,udp,tp_dst=2152"   optional, default every packet
//   actions  = "output:vnf1"   required
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nfv/control/jsonrpc.hpp"
#include "nfv/mac_address.hpp"
#include "nfv/result.hpp"

namespace nfv::sw {

enum class PortType { vhost_user, ethdev };
enum class VhostMode { server, client };
enum class IdleMode { adaptive, poll };

struct PortConfig {
  std::string name;
  PortType type = PortType::vhost_user;
  std::string path;                       // vhost-user
  VhostMode mode = VhostMode::server;     // vhost-user
  std::string devargs;                    // ethdev
  uint16_t queues = 1;
  std::optional<uint16_t> vlan;           // access VLAN
  std::optional<std::vector<uint16_t>> trunk;  // allowed VLANs (sorted, unique)
  std::vector<MacAddress> allowed_macs;   // empty: any source MAC
};

struct RuleConfig {
  uint32_t priority = 32768;
  std::string match;
  std::string actions;
};

struct SwitchConfig {
  std::vector<unsigned> cores;            // PMD CPUs; empty means "pick the default"
  IdleMode idle = IdleMode::adaptive;
  std::string socket = "/run/nfv/switch.sock";
  std::string log_level = "info";
  uint32_t mac_aging_s = 300;
  uint32_t memory_mb = 512;
  std::vector<std::string> eal_args;
  std::vector<PortConfig> ports;
  std::vector<RuleConfig> rules;
  std::string metrics;                    // "HOST:PORT" on loopback; empty: off
  // Where vhost-user ports without a 'path' get their socket (DIR/NAME.sock),
  // and the control socket when 'socket' is not given (DIR/switch.sock);
  // empty: every vhost-user port needs its 'path'.
  std::string socket_dir;
};

// Checks a metrics listen address: "127.0.0.1:9464", "[::1]:9464" or "localhost:9464".
Status check_metrics_address(std::string_view address);

// Parses and checks a whole file. On error the message is
// "FILE:LINE:COLUMN: <what is wrong>; expected <what is accepted>" and nothing
// has been started. Unknown keys, wrong types, out-of-range values, duplicate
// port names or socket paths, vlan together with trunk, vhost-user keys on an
// ethdev port (and the reverse) are all errors.
Result<SwitchConfig> load_switch_config(const std::string& file);
Result<SwitchConfig> parse_switch_config(std::string_view toml_text, const std::string& source_name);

// The same checks for one port given as JSON (the port.add RPC's params).
// Error messages name the offending key.
// A vhost-user port without "path" gets SOCKET_DIR/NAME.sock when socket_dir is set.
Result<PortConfig> port_config_from_json(const control::Json& params, const std::string& socket_dir = {});
control::Json port_config_to_json(const PortConfig& port);

const char* to_string(PortType t) noexcept;
const char* to_string(VhostMode m) noexcept;
const char* to_string(IdleMode m) noexcept;

}  // namespace nfv::sw
