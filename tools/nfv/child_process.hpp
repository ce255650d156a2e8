// ChildProcess: one program nfv started (switch, VNF, VMM, generator).
//
// The child gets its own process group (a Ctrl-C at the terminal reaches nfv
// only, which then stops the children in order), SIGTERM when nfv dies
// (PR_SET_PDEATHSIG, so nothing outlives a killed launcher), an unblocked
// signal mask (nfv's EventLoop blocks SIGINT/SIGTERM and a mask survives
// exec), its CPU affinity, stdin from /dev/null and stdout/stderr in a log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "nfv/result.hpp"

namespace nfv::topo {

struct LaunchSpec {
  std::vector<std::string> argv;  // argv[0]: the program's path
  std::vector<unsigned> cpus;     // affinity; empty: inherited
  std::string log_file;           // stdout and stderr, appended
};

class ChildProcess {
 public:
  static Result<ChildProcess> spawn(const LaunchSpec& spec);

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0 && !status_; }
  // The wait status once reaped.
  std::optional<int> status() const noexcept { return status_; }

  // waitpid(WNOHANG): true when the process has exited (now or before).
  bool poll();
  void signal(int signo) const noexcept;
  // Sends `signo`, waits up to `grace`, then SIGKILL. Returns the wait status.
  int stop(int signo, std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exit 0", "exit 2", "killed by SIGKILL".
std::string describe_status(int wait_status);

}  // namespace nfv::topo
