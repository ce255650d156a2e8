#include "eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "datapath.hpp"

namespace nfv::sw {

namespace {

// DPDK's runtime directory for a file prefix (eal_get_runtime_dir: /var/run/dpdk for
// root, $XDG_RUNTIME_DIR/dpdk otherwise).
std::filesystem::path dpdk_runtime_root() {
  if (getuid() == 0) return "/var/run/dpdk";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  return std::filesystem::path(xdg != nullptr ? xdg : "/tmp") / "dpdk";
}

// A switch killed with SIGKILL cannot remove its runtime directory (nfv-switch-PID, empty
// with --in-memory): the next switch removes those whose process is gone.
void remove_dead_switch_runtime_dirs() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dpdk_runtime_root(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("nfv-switch-", 0) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + 11, &end, 10);
    if (end == nullptr || *end != '\0' || pid <= 0 || pid == getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (std::filesystem::remove_all(e.path(), rm) > 0 && !rm)
      spdlog::info("removed {}, left by a switch that is gone (pid {})", e.path().string(), pid);
  }
}

std::vector<unsigned> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<unsigned> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// DPDK writes log lines with fprintf to a stream; this cookie stream turns each
// write into one spdlog record (writes arrive line by line).
ssize_t log_write(void*, const char* buf, size_t size) {
  std::string_view line(buf, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return static_cast<ssize_t>(size);
  // rte_log's current message level tells spdlog's level.
  const uint32_t lvl = rte_log_cur_msg_loglevel();
  spdlog::level::level_enum l = spdlog::level::debug;
  if (lvl <= RTE_LOG_ERR) l = spdlog::level::err;
  else if (lvl == RTE_LOG_WARNING) l = spdlog::level::warn;
  else if (lvl <= RTE_LOG_INFO) l = spdlog::level::info;
  spdlog::log(l, "dpdk: {}", line);
  return static_cast<ssize_t>(size);
}

int dpdk_log_level() {
  switch (spdlog::get_level()) {
    case spdlog::level::trace:
    case spdlog::level::debug: return RTE_LOG_DEBUG;
    case spdlog::level::info: return RTE_LOG_NOTICE;
    case spdlog::level::warn: return RTE_LOG_WARNING;
    default: return RTE_LOG_ERR;
  }
}

bool looks_like_pci(const std::string& devargs) {
  static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]([,].*)?$)");
  return std::regex_match(devargs, pci);
}

}  // namespace

bool hugepages_available(unsigned memory_mb) {
  std::ifstream mounts("/proc/mounts");
  std::string line;
  bool mounted = false;
  while (std::getline(mounts, line))
    if (line.find(" hugetlbfs ") != std::string::npos) mounted = true;
  if (!mounted) return false;
  std::ifstream meminfo("/proc/meminfo");
  unsigned long free_pages = 0, page_kb = 0;
  while (std::getline(meminfo, line)) {
    std::sscanf(line.c_str(), "HugePages_Free: %lu", &free_pages);
    std::sscanf(line.c_str(), "Hugepagesize: %lu kB", &page_kb);
  }
  return page_kb > 0 && free_pages * page_kb >= memory_mb * 1024UL;
}

Result<EalPlan> plan_eal(const SwitchConfig& cfg) {
  EalPlan plan;
  const std::vector<unsigned> cpus = allowed_cpus();
  if (cpus.empty()) return make_error(Errc::resource, "cannot read this process's CPU affinity");

  plan.pmd_cpus = cfg.cores;
  if (plan.pmd_cpus.empty()) plan.pmd_cpus = {cpus.size() > 1 ? cpus[1] : cpus[0]};
  if (plan.pmd_cpus.size() > kMaxPmds)
    return make_error(Errc::invalid_argument, fmt::format("at most {} PMD cores are supported", kMaxPmds));
  for (unsigned c : plan.pmd_cpus)
    if (std::find(cpus.begin(), cpus.end(), c) == cpus.end())
      return make_error(Errc::invalid_argument,
                        fmt::format("PMD core {} is not available to this process (allowed: {})", c,
                                    fmt::join(cpus, ",")));
  // The control plane runs on the first allowed CPU that no PMD uses; with none
  // free it shares the first PMD's CPU (it is idle almost all the time).
  plan.control_cpu = plan.pmd_cpus[0];
  for (unsigned c : cpus)
    if (std::find(plan.pmd_cpus.begin(), plan.pmd_cpus.end(), c) == plan.pmd_cpus.end()) {
      plan.control_cpu = c;
      break;
    }

  std::string lcores = fmt::format("0@{}", plan.control_cpu);
  for (size_t i = 0; i < plan.pmd_cpus.size(); ++i) lcores += fmt::format(",{}@{}", i + 1, plan.pmd_cpus[i]);

  plan.hugepages = hugepages_available(cfg.memory_mb);
  plan.args = {"nfv-switch", "--lcores", lcores, "--main-lcore", "0", "-m", std::to_string(cfg.memory_mb),
               "--file-prefix", fmt::format("nfv-switch-{}", getpid()), fmt::format("--log-level={}", dpdk_log_level()), "--no-telemetry"};
  // Neither mode leaves hugepage files behind, even after a crash (the runtime directory a
  // crash leaves is removed by the next switch).
  // (--no-huge implies legacy memory, which --in-memory refuses; --no-shconf is its part that applies.)
  if (plan.hugepages) {
    plan.args.push_back("--in-memory");
  } else {
    plan.args.push_back("--no-huge");
    plan.args.push_back("--no-shconf");
  }

  // PCI devices are only probed when the configuration names one; otherwise
  // the switch never touches the host's NICs.
  bool any_pci = false;
  for (const auto& p : cfg.ports)
    if (p.type == PortType::ethdev && looks_like_pci(p.devargs)) {
      plan.args.push_back("-a");
      plan.args.push_back(p.devargs);
      any_pci = true;
    }
  const bool user_pci = std::any_of(cfg.eal_args.begin(), cfg.eal_args.end(), [](const std::string& a) {
    return a == "-a" || a == "-b" || a.rfind("--allow", 0) == 0 || a.rfind("--block", 0) == 0 || a == "--no-pci";
  });
  if (!any_pci && !user_pci) plan.args.push_back("--no-pci");
  plan.args.insert(plan.args.end(), cfg.eal_args.begin(), cfg.eal_args.end());
  return plan;
}

Status init_eal(const EalPlan& plan) {
  static cookie_io_functions_t fns{nullptr, log_write, nullptr, nullptr};
  if (FILE* f = fopencookie(nullptr, "w", fns)) {
    setvbuf(f, nullptr, _IOLBF, 0);
    rte_openlog_stream(f);
  }
  remove_dead_switch_runtime_dirs();
  std::vector<std::string> args = plan.args;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  spdlog::info("EAL: {} ({})", fmt::join(plan.args.begin() + 1, plan.args.end(), " "),
               plan.hugepages ? "hugepages" : "no hugepages: normal memory");
  if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0)
    return make_error(Errc::resource, fmt::format("DPDK EAL initialisation failed: {}", rte_strerror(rte_errno)));
  return {};
}

}  // namespace nfv::sw
