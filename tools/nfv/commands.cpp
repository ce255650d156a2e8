// Component command lines (commands.hpp).
#include "commands.hpp"

#include <unistd.h>

#include <cstdio>

namespace nfv::topo {

namespace {

const sw::PortConfig& port_of(const Topology& t, const std::string& name) {
  for (const sw::PortConfig& p : t.sw.ports)
    if (p.name == name) return p;
  return t.sw.ports.front();  // unreachable: the cross-checks found every name
}

// The peer's side of a switch port: client of a server port, server of a client port.
std::string peer_spec(const Topology& t, const std::string& port) {
  const sw::PortConfig& p = port_of(t, port);
  return "vhost-user:" + p.path + (p.mode == sw::VhostMode::client ? ",server" : "");
}

// Build-tree location first (build_dir/relative), then $PATH (name).
std::string find_program(const CheckEnv& env, const std::string& relative, const std::string& name) {
  const std::string in_build = env.build_dir + "/" + relative;
  if (::access(in_build.c_str(), X_OK) == 0) return in_build;
  return resolve_path(name, env.build_dir, true);
}

std::string cpu_list(const std::vector<unsigned>& cpus) {
  std::string out;
  for (unsigned c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

}  // namespace

Result<Programs> find_programs(const Topology& t, const CheckEnv& env) {
  Programs p;
  p.nfv_switch = find_program(env, "dataplane/nfv-switch", "nfv-switch");
  if (p.nfv_switch.empty())
    return make_error(Errc::not_found, "nfv-switch not found in " + env.build_dir +
                                           "/dataplane or $PATH; build it (ninja -C BUILD dataplane/nfv-switch) "
                                           "or set NFV_BUILD_DIR to the build directory");
  if (t.generator) {
    p.nfv_gen = find_program(env, "tools/nfv-gen/nfv-gen", "nfv-gen");
    if (p.nfv_gen.empty())
      return make_error(Errc::not_found, "nfv-gen not found in " + env.build_dir +
                                             "/tools/nfv-gen or $PATH; build it (ninja -C BUILD tools/nfv-gen/nfv-gen)");
  }
  for (const VnfSpec& v : t.vnfs)
    if (v.kind == VnfKind::vm && p.nfv_vmm.empty()) {
      p.nfv_vmm = find_program(env, "vmm/nfv-vmm", "nfv-vmm");
      if (p.nfv_vmm.empty())
        return make_error(Errc::not_found, "vnf '" + v.name + "' is a VM but nfv-vmm is not found in " + env.build_dir +
                                               "/vmm or $PATH; build it (ninja -C BUILD vmm/nfv-vmm)");
    }
  return p;
}

LaunchSpec switch_command(const Programs& p, const std::string& run_dir) {
  return LaunchSpec{{p.nfv_switch, "--config", run_dir + "/switch.toml"}, {}, run_dir + "/switch.log"};
}

std::string vnf_control_socket(const VnfSpec& v, const std::string& run_dir) {
  return run_dir + "/" + v.name + ".sock";
}

std::string generator_result_file(const std::string& run_dir) { return run_dir + "/generator.json"; }

LaunchSpec vnf_command(const Topology& t, const VnfSpec& v, const Programs& p, const std::string& run_dir) {
  LaunchSpec s;
  s.cpus = v.cores;
  s.log_file = run_dir + "/" + v.name + ".log";
  if (v.kind == VnfKind::vm) {
    // The VMM is pinned (LaunchSpec::cpus) to `cores`: its vCPU threads inherit the mask.
    s.argv = {p.nfv_vmm, "--name", v.name, "--kernel", v.kernel, "--memory", v.memory,
              "--cpus", std::to_string(v.cpus)};
    for (size_t i = 0; i < v.ports.size(); ++i) {
      char mac[18];
      if (i < v.macs.size()) {
        std::snprintf(mac, sizeof mac, "%s", v.macs[i].to_string().c_str());
      } else {  // 52:54:00 (QEMU's prefix), then the VNF's and the port's index
        const size_t index = static_cast<size_t>(&v - t.vnfs.data());
        std::snprintf(mac, sizeof mac, "52:54:00:00:%02zx:%02zx", index & 0xff, i & 0xff);
      }
      // One queue pair per vCPU, as many as the switch's port has (nfv-vmm's default is --cpus).
      const sw::PortConfig& port = port_of(t, v.ports[i]);
      const unsigned queues = std::max(1u, std::min<unsigned>(v.cpus, port.queues));
      s.argv.push_back("--net");
      s.argv.push_back("path=" + port.path + ",mac=" + mac + ",queues=" + std::to_string(queues));
    }
    s.argv.push_back("--control");
    s.argv.push_back(vnf_control_socket(v, run_dir));
    // The guest runtime's idle mode goes on the guest's command line (guest_main sees
    // idle=poll|adaptive, as an SDK process sees --idle).
    s.argv.push_back("--cmdline");
    s.argv.push_back((v.cmdline.empty() ? "" : v.cmdline + " ") + "idle=" +
                     (v.idle == sw::IdleMode::poll ? "poll" : "adaptive"));
    if (!v.console.empty()) {
      s.argv.push_back("--console");
      s.argv.push_back(v.console);
    }
    return s;
  }
  s.argv.push_back(v.binary);
  s.argv.insert(s.argv.end(), v.args.begin(), v.args.end());
  if (!v.sdk) return s;
  for (const std::string& port : v.ports) {
    s.argv.push_back("--port");
    s.argv.push_back(peer_spec(t, port) + (v.port_options.empty() ? "" : "," + v.port_options));
  }
  s.argv.insert(s.argv.end(), {"--control", vnf_control_socket(v, run_dir), "--idle",
                               v.idle == sw::IdleMode::poll ? "poll" : "adaptive"});
  if (!v.cores.empty()) {
    s.argv.push_back("--cpus");
    s.argv.push_back(cpu_list(v.cores));
    if (v.cores.size() > 1) {
      s.argv.push_back("--threads");
      s.argv.push_back(std::to_string(v.cores.size()));
    }
  }
  return s;
}

LaunchSpec generator_command(const Topology& t, const Programs& p, const std::string& run_dir) {
  const GeneratorSpec& g = *t.generator;
  LaunchSpec s;
  s.log_file = run_dir + "/generator.log";
  s.argv = {p.nfv_gen, "--port", peer_spec(t, g.port)};
  if (g.rx_port != g.port) s.argv.insert(s.argv.end(), {"--rx-port", peer_spec(t, g.rx_port)});
  if (!t.streams.empty()) s.argv.insert(s.argv.end(), {"--streams", run_dir + "/streams.toml"});
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", g.seconds.value_or(86400));
  // --progress: the once-a-second line nfv reads from the log for its status.
  s.argv.insert(s.argv.end(),
                {"--rate", g.rate, "--seconds", seconds, "--json", generator_result_file(run_dir), "--progress"});
  if (g.cpu) {
    s.argv.push_back("--cpu");
    s.argv.push_back(std::to_string(*g.cpu));
    s.cpus = {*g.cpu};
  }
  if (g.yield) s.argv.insert(s.argv.end(), {"--idle", "yield"});
  s.argv.insert(s.argv.end(), g.args.begin(), g.args.end());
  return s;
}

}  // namespace nfv::topo
