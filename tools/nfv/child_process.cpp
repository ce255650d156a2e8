// ChildProcess (child_process.hpp): fork/exec with only async-signal-safe calls
// in the child; everything it needs is prepared before fork().
#include "child_process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

namespace nfv::topo {

Result<ChildProcess> ChildProcess::spawn(const LaunchSpec& spec) {
  if (spec.argv.empty()) return make_error(Errc::invalid_argument, "no program to start");
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));  // execv does not write them
  argv.push_back(nullptr);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (unsigned c : spec.cpus) CPU_SET(c, &cpus);
  const int log = ::open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0)
    return make_error(Errc::io, spec.log_file + ": cannot open the log file: " + std::strerror(errno));
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(log);
    if (null >= 0) ::close(null);
    return make_error(Errc::resource, "fork: " + std::string(std::strerror(err)));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only until execv.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // nfv died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!spec.cpus.empty()) ::sched_setaffinity(0, sizeof cpus, &cpus);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    static constexpr char kMsg[] = "nfv: execv failed\n";
    (void)!::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    ::_exit(127);
  }
  ::close(log);
  if (null >= 0) ::close(null);
  ChildProcess c;
  c.pid_ = pid;
  return c;
}

bool ChildProcess::poll() {
  if (status_) return true;
  if (pid_ <= 0) return true;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = st;
  return status_.has_value();
}

void ChildProcess::signal(int signo) const noexcept {
  if (pid_ > 0 && !status_) ::kill(pid_, signo);
}

int ChildProcess::stop(int signo, std::chrono::milliseconds grace) {
  signal(signo);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!poll() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!poll()) {
    signal(SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
  }
  return *status_;
}

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const char* name = sigabbrev_np(WTERMSIG(st));
    return std::string("killed by SIG") + (name != nullptr ? name : std::to_string(WTERMSIG(st)).c_str());
  }
  return "status " + std::to_string(st);
}

}  // namespace nfv::topo
