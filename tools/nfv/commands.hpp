// The command lines nfv runs for a topology's components, and where the
// programs are (the build tree nfv comes from, else $PATH).
//
//   switch     nfv-switch --config RUN/switch.toml
//   process    BINARY ARGS... [--port vhost-user:PATH[,server]]... [--control RUN/NAME.sock]
//              [--idle MODE] [--cpus LIST [--threads N]]   (the SDK's options unless sdk = false)
//   vm         nfv-vmm --name NAME --kernel ELF --memory M --cpus N --net path=PATH,mac=MAC...
//              --control RUN/NAME.sock [--cmdline "ARGS"] [--console FILE]   (pinned to `cores`)
//   generator  nfv-gen --port vhost-user:PATH[,server] [--rx-port ...] [--streams RUN/streams.toml]
//              --rate R --seconds S [--cpu N] --json RUN/generator.json ARGS...
//
// A VNF or the generator is the vhost-user client of a switch port in server
// mode and the server of a port in client mode.
#pragma once

#include <string>
#include <vector>

#include "child_process.hpp"
#include "topology.hpp"

namespace nfv::topo {

struct Programs {
  std::string nfv_switch, nfv_gen, nfv_vmm;  // empty when not found
};

// Finds the programs a topology needs; an error names the missing one and how to build it.
Result<Programs> find_programs(const Topology& t, const CheckEnv& env);

LaunchSpec switch_command(const Programs& p, const std::string& run_dir);
LaunchSpec vnf_command(const Topology& t, const VnfSpec& v, const Programs& p, const std::string& run_dir);
LaunchSpec generator_command(const Topology& t, const Programs& p, const std::string& run_dir);

// The control socket nfv gives a VNF (SDK processes and VMs).
std::string vnf_control_socket(const VnfSpec& v, const std::string& run_dir);
// Where nfv-gen writes its result.
std::string generator_result_file(const std::string& run_dir);

}  // namespace nfv::topo
