// Supervisor: the running components of one topology (the switch, the VNFs,
// the generator), their states and restart policy, the switch's view of
// their ports, and the teardown. The Launcher drives it from its event loop.
//
// Component states: "starting", "running", "restarting" (waiting for its
// backoff), "exited (STATUS)" (restart = "never", or "on-failure" after exit
// 0), "done (STATUS)" for the generator, "stopped (STATUS)" after teardown or
// an operator's stop (vm.stop; not restarted until vnf.restart).
//
// Operator requests (nfv's control socket, nfvctl vnf/vm ...): restart a VNF
// now (SIGTERM, then started again as soon as it has exited, counted as a
// restart), stop a VM (SIGTERM, the guest shuts down; it stays stopped). The
// old process gets kOperatorStopGrace, then SIGKILL. Neither blocks: the
// component is "stopping" meanwhile, supervise() finishes the request once
// the process has exited and only then calls its Done (which answers the
// operator), so nfv keeps supervising and answering while a VM shuts down.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "commands.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "topology.hpp"
#include "vnf_counters.hpp"

namespace nfv::topo {

class Supervisor {
 public:
  using Log = std::function<void(const std::string&)>;
  using Clock = std::chrono::steady_clock;

  Supervisor(const Topology& t, Programs programs, std::string run_dir);

  Status start_switch();
  pid_t switch_pid() const noexcept;
  std::string switch_state() const;
  // The switch answers switch.status and port.list lists every configured port.
  bool switch_ready();
  // Chains as switch rules (rule.add) when the switch has them; see launcher.hpp.
  Status install_chains(const Log& log);
  Status start_vnf(const VnfSpec& v);
  bool vnf_ports_up();
  Status start_generator();
  bool generator_ports_up();
  // During bring-up: an error (with the end of its log) when a component exited.
  Status check_starting();

  // Reaps exited children, restarts VNFs by policy. False when the switch is gone.
  bool supervise();
  control::Json status();
  // Per VNF: state, pid, restarts, ports, control socket and counters (vnf.list).
  control::Json vnf_list();
  // Per VM: the above plus the VMM's view: its state, platform, uptime, exits by reason (vm.list).
  control::Json vm_list();
  // vnf.restart / vm.stop. `done` gets the result (or an error naming what is
  // wrong: unknown name, not a VM, another request in progress), at once or
  // from a later supervise().
  using Done = std::function<void(Result<control::Json>)>;
  void restart_vnf(const std::string& name, Done done);
  void stop_vm(const std::string& name, Done done);
  // Stops everything in reverse order and removes leftovers; returns the
  // generator's result (null without one).
  control::Json teardown(const Log& log);

  // Backoff before restart number n (0-based): 0.1 s doubling, at most 5 s.
  static double backoff_s(unsigned consecutive_failures) noexcept;

 private:
  struct Component {
    std::string name;
    std::string kind;                 // "switch", "process", "vm", "nfv-gen"
    const VnfSpec* vnf = nullptr;
    LaunchSpec spec;
    std::optional<ChildProcess> proc;
    std::string state = "not started";
    unsigned restarts = 0;
    unsigned failures = 0;            // consecutive quick failures (for the backoff)
    Clock::time_point started{};
    std::optional<Clock::time_point> restart_at;
    // The last counters read from its control socket, for rates.
    std::optional<VnfCounters> counters;
    Clock::time_point counters_at{};
    double rx_mpps = 0, tx_mpps = 0;
    // An operator's restart or stop waiting for the old process to exit.
    struct Request {
      bool restart = false;  // false: vm.stop
      Clock::time_point kill_at;
      bool killed = false;
      std::vector<Done> waiting;
    };
    std::optional<Request> request;
  };

  Result<control::Json> call(const std::string& method, const control::Json& params = control::Json::object());
  bool ports_up(const std::vector<std::string>& names);
  Status spawn(Component& c);
  void on_exit(Component& c, Clock::time_point now);
  void stop_component(Component& c, int signo, std::chrono::milliseconds grace, const Log& log);
  // Starts (or joins) an operator request on c.
  void begin_request(Component& c, bool restart, Done done);
  // The request's second half, once c's process is gone (or it had none).
  Result<control::Json> finish_request(Component& c, bool restart, std::string previous);
  void progress_requests(Clock::time_point now);
  std::string log_tail(const Component& c, size_t lines) const;
  void read_generator_progress();
  Component* find_vnf(const std::string& name);
  // A stats call on a VNF's control socket (null when it has none or does not answer).
  control::Json vnf_call(const Component& c, const std::string& method);
  control::Json vnf_row(Component& c);

  const Topology& t_;
  Programs programs_;
  std::string run_dir_;
  Component switch_;
  std::vector<Component> vnfs_;
  std::optional<Component> generator_;
  // Rates: the previous `stats` answer and when it came.
  control::Json last_stats_;
  Clock::time_point last_stats_at_{};
  control::Json links_ = control::Json::object();
  double gen_tx_mpps_ = 0, gen_rx_mpps_ = 0;
  size_t gen_log_offset_ = 0;
};

}  // namespace nfv::topo
