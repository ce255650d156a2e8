// Runtime: the non-template half of nfv::run() (see nfv/run.hpp).
#include "nfv/run.hpp"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstring>

#include "nfv/vhost_user/port.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfv {

using control::Json;
using namespace std::chrono_literals;

namespace {

constexpr unsigned kMaxThreads = 64;
constexpr auto kServicePeriod = 10ms;
constexpr int kMaxSleepMs = 100;

Error bad_option(const std::string& what) { return make_error(Errc::invalid_argument, what); }

void drain_eventfd(int fd) noexcept {
  uint64_t v;
  [[maybe_unused]] ssize_t r = ::read(fd, &v, sizeof v);  // non-blocking: EAGAIN when empty
}

}  // namespace

Result<IdleMode> parse_idle_mode(const std::string& s) {
  if (s == "poll") return IdleMode::poll;
  if (s == "adaptive") return IdleMode::adaptive;
  return bad_option("idle mode '" + s + "' is unknown; expected poll or adaptive");
}

Result<Hugepages> parse_hugepages(const std::string& s) {
  if (s == "prefer") return Hugepages::prefer;
  if (s == "require") return Hugepages::require;
  if (s == "never") return Hugepages::never;
  return bad_option("hugepages '" + s + "' is unknown; expected prefer, require or never");
}

Result<std::vector<int>> parse_cpu_list(const std::string& s) {
  std::vector<int> cpus;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const std::size_t comma = std::min(s.find(',', pos), s.size());
    int cpu = -1;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + comma, cpu);
    if (ec != std::errc() || p != s.data() + comma || cpu < 0 || cpu >= CPU_SETSIZE) {
      return bad_option("cpu list '" + s + "' is malformed; expected numbers separated by commas, e.g. 0,1");
    }
    cpus.push_back(cpu);
    pos = comma + 1;
  }
  return cpus;
}

Result<std::unique_ptr<Runtime>> Runtime::create(const RunOptions& o) {
  if (o.threads == 0 || o.threads > kMaxThreads) {
    return bad_option("threads must be 1.." + std::to_string(kMaxThreads));
  }
  if (!o.cpus.empty() && o.cpus.size() != o.threads) {
    return bad_option("give one cpu per thread (" + std::to_string(o.threads) + "), got " +
                      std::to_string(o.cpus.size()));
  }
  if (o.ports.empty()) return bad_option("no ports: give at least one vhost-user:PATH");
  std::vector<VhostUserPortConfig> configs;
  for (std::size_t i = 0; i < o.ports.size(); ++i) {
    auto c = parse_vhost_user_spec(o.ports[i]);
    if (!c) return std::move(c).error();
    if (c->queue_pairs != 1 && c->queue_pairs != o.threads) {
      return bad_option("port '" + o.ports[i] + "' has " + std::to_string(c->queue_pairs) +
                        " queue pairs; each of the " + std::to_string(o.threads) + " threads needs one");
    }
    c->queue_pairs = static_cast<uint16_t>(o.threads);
    c->name = "port" + std::to_string(i);
    configs.push_back(std::move(*c));
  }

  std::unique_ptr<Runtime> rt(new Runtime());
  rt->options_ = o;
  rt->started_ = std::chrono::steady_clock::now();
  PacketPoolConfig pool = o.pool;
  std::size_t ring_bytes = 0;
  uint32_t ring_slots = 0;  // receive + transmit descriptors one thread keeps busy
  for (const auto& c : configs) {
    ring_bytes += 2 * (virtio::split_ring_layout(c.queue_size, virtio::kSeparateUsedAlign).total_size + 4096) * o.threads;
    ring_slots += 2u * c.queue_size;
  }
  if (pool.count == 0) pool.count = 2 * ring_slots + 1024;
  const std::size_t bytes = o.threads * PacketPool::region_bytes(pool) + ring_bytes + (1u << 20);
  auto mem = PacketMemory::create(bytes, o.hugepages, o.name + "-packets");
  if (!mem) return std::move(mem).error();
  rt->memory_ = std::move(*mem);
  for (unsigned t = 0; t < o.threads; ++t) {
    auto p = rt->memory_->create_pool(pool);
    if (!p) return std::move(p).error();
    rt->pools_.push_back(*p);
    rt->worker_counters_.push_back(std::make_unique<WorkerCounters>());
    const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return make_error(Errc::resource, std::string("eventfd: ") + std::strerror(errno));
    rt->wake_fds_.push_back(fd);
  }
  for (const auto& c : configs) {
    auto port = VhostUserPort::create(c, *rt->memory_, rt->pools_);
    if (!port) return std::move(port).error();
    rt->ports_.push_back(std::move(*port));
  }
  rt->link_seen_.assign(rt->ports_.size(), false);

  rt->loop_ = std::make_unique<control::EventLoop>();
  // Before any worker starts, so that they inherit the blocked signals.
  Runtime* self = rt.get();
  if (auto s = rt->loop_->handle_termination_signals([self](int signo) {
        spdlog::info("{}: {} received, stopping", self->options_.name, signo == SIGINT ? "SIGINT" : "SIGTERM");
        self->request_stop();
      });
      !s) {
    return std::move(s).error();
  }
  if (!o.control_socket.empty()) {
    auto srv = control::JsonRpcServer::listen(*rt->loop_, o.control_socket);
    if (!srv) return std::move(srv).error();
    rt->rpc_ = std::move(*srv);
    rt->rpc_->add_method("status", [self](const Json&) { return self->status_json(); });
    rt->rpc_->add_method("stats", [self](const Json&) { return self->stats_json(); });
    rt->rpc_->add_method("shutdown", [self](const Json&) {
      self->request_stop();
      return Json{{"stopping", true}};
    });
  }
  spdlog::info("{}: {} port(s), {} thread(s), {} MiB of packet memory on {} pages, {} buffers per thread", o.name,
               rt->ports_.size(), o.threads, rt->memory_->region().size() >> 20,
               rt->memory_->region().hugepages() ? "2 MiB" : "4 KiB", pool.count);
  return rt;
}

Runtime::~Runtime() {
  request_stop();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  // Ports before pools and memory: closing them frees what their rings hold.
  ports_.clear();
  rpc_.reset();
  for (int fd : wake_fds_) ::close(fd);
}

void Runtime::request_stop() noexcept {
  stop_.store(true, std::memory_order_relaxed);
  wake_workers();
  if (loop_) loop_->stop();
}

void Runtime::wake_workers() noexcept {
  const uint64_t one = 1;
  for (int fd : wake_fds_) [[maybe_unused]] ssize_t r = ::write(fd, &one, sizeof one);
}

Status Runtime::start_workers(std::function<void(unsigned)> body) {
  for (unsigned t = 0; t < options_.threads; ++t) {
    workers_.emplace_back([this, t, body] {
      const std::string name = (options_.name + "-w" + std::to_string(t)).substr(0, 15);
      pthread_setname_np(pthread_self(), name.c_str());
      if (!options_.cpus.empty()) {
        if (auto s = pin_current_thread(options_.cpus[t]); !s) {
          spdlog::warn("{}: worker {}: {}", options_.name, t, s.error().message);
        }
      }
      body(t);
    });
  }
  return {};
}

void Runtime::service_ports() {
  bool woke = false;
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    ports_[i]->service();
    const bool up = ports_[i]->link_up();
    if (up != link_seen_[i]) {
      link_seen_[i] = up;
      // Sleeping workers must refill new receive rings (up) or drain the old
      // ones so that the port can reconnect (down).
      if (!woke) {
        wake_workers();
        woke = true;
      }
    }
  }
}

int Runtime::run_control() {
  service_ports();
  loop_->add_timer(kServicePeriod, [this] {
    service_ports();
    if (stopping()) loop_->stop();
  });
  if (!stopping()) loop_->run();
  request_stop();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  // Let the ports notice queue pairs that stopped with a back-end gone.
  spdlog::info("{}: stopped", options_.name);
  return 0;
}

void Runtime::idle_sleep(unsigned thread, std::span<QueuePair* const> queues) noexcept {
  constexpr std::size_t kMaxFds = 64;
  pollfd fds[kMaxFds];
  std::size_t n = 0;
  bool pending = false;
  for (QueuePair* q : queues) {
    pending = q->arm_rx_notify() || pending;
    if (q->link_up() && q->rx_notify_fd() >= 0 && n + 1 < kMaxFds) fds[n++] = pollfd{q->rx_notify_fd(), POLLIN, 0};
  }
  fds[n++] = pollfd{wake_fds_[thread], POLLIN, 0};
  if (!pending && !stopping()) {
    if (::poll(fds, n, kMaxSleepMs) > 0) {
      for (std::size_t i = 0; i < n; ++i) {
        if (fds[i].revents & POLLIN) drain_eventfd(fds[i].fd);
      }
    }
  }
  for (QueuePair* q : queues) q->disarm_rx_notify();
}

Json Runtime::status_json() const {
  Json ports = Json::array();
  for (const auto& p : ports_) {
    const PortStatus s = p->status();
    ports.push_back({{"name", s.name}, {"type", s.type}, {"path", s.path}, {"mode", s.mode},
                     {"link", s.link_up ? "up" : "down"}, {"queue_pairs", s.queue_pairs},
                     {"features", s.features}, {"connects", s.connects}, {"disconnects", s.disconnects},
                     {"failed_attempts", s.failed_attempts}, {"last_error", s.last_error}});
  }
  const auto up = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return {{"name", options_.name}, {"pid", ::getpid()}, {"uptime_s", up}, {"threads", options_.threads},
          {"idle", options_.idle == IdleMode::poll ? "poll" : "adaptive"},
          {"hugepages", memory_->region().hugepages()}, {"memory_bytes", memory_->region().size()},
          {"ports", ports}};
}

Json Runtime::stats_json() const {
  Json ports = Json::array();
  for (const auto& p : ports_) {
    const QueuePairCounters c = p->counters();
    ports.push_back({{"name", p->name()}, {"link", p->link_up() ? "up" : "down"},
                     {"rx_packets", c.rx_packets}, {"rx_bytes", c.rx_bytes}, {"tx_packets", c.tx_packets},
                     {"tx_bytes", c.tx_bytes}, {"rx_no_buffer", c.rx_no_buffer}, {"rx_errors", c.rx_errors},
                     {"tx_dropped", c.tx_dropped}, {"tx_errors", c.tx_errors}, {"kicks", c.kicks},
                     {"device_errors", c.device_errors}});
  }
  Json workers = Json::array();
  for (unsigned t = 0; t < options_.threads; ++t) {
    const WorkerCounters& w = *worker_counters_[t];
    const uint64_t pk = w.packets;
    workers.push_back({{"thread", t}, {"cpu", options_.cpus.empty() ? -1 : options_.cpus[t]},
                       {"rounds", w.rounds.load()}, {"busy_rounds", w.busy_rounds.load()}, {"packets", pk},
                       {"emitted", w.emitted.load()}, {"dropped", w.dropped.load()},
                       {"busy_cycles", w.busy_cycles.load()}, {"idle_cycles", w.idle_cycles.load()},
                       {"sleeps", w.sleeps.load()},
                       {"cycles_per_packet", pk == 0 ? 0.0 : static_cast<double>(w.busy_cycles) / pk}});
  }
  Json pools = Json::array();
  for (unsigned t = 0; t < options_.threads; ++t) {
    const PacketPool& p = *pools_[t];
    pools.push_back({{"thread", t}, {"capacity", p.capacity()}, {"available", p.available()},
                     {"alloc_failures", p.counters().alloc_failures.load()},
                     {"double_frees", p.counters().double_frees.load()}});
  }
  Json out = {{"ports", ports}, {"workers", workers}, {"pools", pools}};
  if (vnf_stats_) out["vnf"] = vnf_stats_();
  return out;
}

}  // namespace nfv
