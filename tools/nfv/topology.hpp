// Topology: one TOML file that names a whole test bed or node (docs/topology.md).
//
//   [switch]   [[port]]       the switch's own configuration (docs/switch-config.md),
//                             checked by the switch's own loader
//   [[vnf]]                   VNF processes and VMs attached to switch ports
//   [[chain]]                 ordered VNF hops for a traffic class
//   [generator] [[stream]]    nfv-gen and its streams (nfv-gen's own stream keys)
//
// Every key is checked; an error reads "FILE:LINE:COLUMN: what is wrong;
// expected what" and only the first one is reported. The [switch]/[[port]]
// and [[stream]] parts are cut out of the file line by line (every other line
// emptied, so positions stay right) and given to the switch's and nfv-gen's
// loaders: a topology accepts exactly what those programs accept, with their
// words, and the cut-out text is what nfv hands them at run time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"         // nfv::sw::SwitchConfig (dataplane/src)
#include "nfv/control/jsonrpc.hpp"
#include "nfv/mac_address.hpp"
#include "nfv/result.hpp"
#include "stream.hpp"         // nfvgen::StreamSpec (tools/nfv-gen)

namespace nfv::topo {

struct Where {  // 1-based position in the topology file
  uint32_t line = 0;
  uint32_t column = 0;
};

enum class VnfKind { process, vm };
enum class Restart { on_failure, always, never };

struct VnfSpec {
  std::string name;
  VnfKind kind = VnfKind::process;
  std::vector<std::string> ports;     // switch port names, in the VNF's port order
  std::vector<unsigned> cores;        // CPUs (the process is pinned to them)
  Restart restart = Restart::on_failure;
  sw::IdleMode idle = sw::IdleMode::adaptive;
  // kind = "process"
  std::string binary;                 // resolved path
  std::vector<std::string> args;
  bool sdk = true;                    // nfv adds the SDK run loop's --port/--cpus/--idle/--control
  std::string port_options;           // appended to each --port spec (SDK), e.g. "queue-size=1024"
  // kind = "vm"
  std::string kernel;                 // resolved path of the guest ELF
  std::string memory = "256M";        // nfv-vmm --memory: N followed by M or G, 16M..3G
  unsigned cpus = 1;                  // vCPUs: nfv-vmm runs 1 in this version
  std::string cmdline;                // the guest's command line (nfv-vmm --cmdline)
  std::vector<MacAddress> macs;       // one per port
  std::string console;
  // positions for the cross-checks
  Where at;                           // the [[vnf]] header
  std::vector<Where> ports_at;
  Where cores_at, idle_at;
};

struct ChainSpec {
  std::string name;
  std::string from;                   // switch port where the class enters
  std::vector<std::string> hops;      // VNF names, in order
  std::string to;                     // switch port where it leaves
  uint32_t priority = 100;
  control::Json match = control::Json::object();  // rule.add match fields (besides in_port)
  Where at, from_at, to_at;
  std::vector<Where> hops_at;
};

struct GeneratorSpec {
  std::string port;                   // switch port nfv-gen sends on
  std::string rx_port;                // and receives on (default: port)
  std::string rate = "max";           // nfv-gen --rate syntax; "max": as fast as possible
  std::optional<double> seconds;      // sending time; none: until nfv stops
  std::optional<unsigned> cpu;
  bool yield = false;                 // idle = "yield": nfv-gen --idle yield, not a busy poller
  std::vector<std::string> args;      // extra nfv-gen arguments
  Where at, port_at, rx_port_at, cpu_at;
};

struct Topology {
  std::string file;
  sw::SwitchConfig sw;
  std::string switch_toml;            // [switch] and [[port]] lines only: nfv-switch --config
  std::vector<VnfSpec> vnfs;
  std::vector<ChainSpec> chains;
  std::optional<GeneratorSpec> generator;
  std::vector<nfvgen::StreamSpec> streams;
  std::string streams_toml;           // [[stream]] lines only: nfv-gen --streams
  std::vector<Where> port_at;         // each [[port]] header
  Where switch_idle_at;               // [switch] idle value (or the [switch] header)
  Where switch_cores_at;              // [switch] cores value (or the [switch] header)
};

// What the checks need to know about the machine.
struct CheckEnv {
  std::vector<unsigned> cpus;         // CPUs nfv may use; empty: not checked
  std::string build_dir;              // base of relative 'binary'/'kernel' paths
};

// This process's CPUs and build directory: $NFV_BUILD_DIR, else the build tree
// the running nfv binary sits in (<build>/tools/nfv/nfv), else the current directory.
CheckEnv host_env();

// A 'binary'/'kernel' value as a path: absolute as is, with a '/' relative to
// build_dir, a bare name searched in $PATH (empty when not found).
std::string resolve_path(const std::string& value, const std::string& build_dir, bool search_path);

Result<Topology> parse_topology(std::string_view toml_text, const std::string& source_name,
                                const CheckEnv& env);
// Reads FILE (at most 16 MiB); "FILE: cannot read: ..." when it cannot.
Result<Topology> load_topology(const std::string& file, const CheckEnv& env);

const char* to_string(VnfKind k) noexcept;
const char* to_string(Restart r) noexcept;

}  // namespace nfv::topo
