// nfv::run(): the VNF run loop.
//
// A VNF is a small class with one method (STYLE.md: BESS's ProcessBatch):
//
//     struct MacSwap final {
//       void process(nfv::Batch& batch, nfv::Emitter& out) noexcept {
//         for (nfv::Packet* p : batch) { swap_macs(p); out.emit(p->input_port, p); }
//       }
//     };
//     int main(int argc, char** argv) {
//       nfv::RunOptions o = ...;                      // ports, threads, cpus, idle mode
//       return nfv::run(o, [](unsigned thread) { return MacSwap{}; });
//     }
//
// process() gets up to 32 packets received on one port (Packet::input_port)
// and must hand every packet to out.emit(port, p) or out.drop(p). Emitted
// packets are sent per port in bursts when the thread's poll round ends.
//
// Threads: `threads` workers; worker t polls queue pair t of every port and
// owns one packet pool, so ports need `threads` queue pairs (multiqueue).
// Worker t is pinned to cpus[t] when given. The calling thread becomes the
// control thread: it services the ports (connect, reconnect), serves JSON-RPC
// on `control_socket` (methods status, stats, shutdown) and returns when
// SIGINT/SIGTERM arrives or shutdown is called; workers are stopped and
// joined, sockets removed, and run() returns 0 (2 for bad options, 1 when
// start-up failed).
//
// Idle modes: `poll` spins; `adaptive` (default) spins while packets come and,
// after 1024 empty rounds, arms the receive notifications of its queues and
// sleeps in poll(2) on their eventfds (and a wake-up eventfd) until the
// back-end signals new packets, so an idle VNF costs no CPU.
//
// A VNF class may also have `nfv::control::Json stats() const` (read on the
// control thread while the worker runs: use nfv::Counter); it appears under
// "vnf" in the stats answer.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "nfv/control/jsonrpc.hpp"
#include "nfv/counter.hpp"
#include "nfv/cpu.hpp"
#include "nfv/memory/shared_region.hpp"
#include "nfv/packet.hpp"
#include "nfv/packet_memory.hpp"
#include "nfv/packet_pool.hpp"
#include "nfv/port.hpp"
#include "nfv/result.hpp"

namespace nfv {

enum class IdleMode : uint8_t { poll, adaptive };

struct RunOptions {
  std::string name = "vnf";
  std::vector<std::string> ports;  // "vhost-user:PATH[,server][,...]" (see parse_vhost_user_spec)
  unsigned threads = 1;
  std::vector<int> cpus;           // cpus[t] for worker t; empty: not pinned
  IdleMode idle = IdleMode::adaptive;
  std::string control_socket;      // JSON-RPC endpoint; empty: none
  Hugepages hugepages = Hugepages::prefer;
  PacketPoolConfig pool{.count = 0};  // count 0: enough for every ring the thread feeds, x2
  uint32_t adaptive_spin_rounds = 1024;
};

// Parses "poll"/"adaptive", "prefer"/"require"/"never", "0,1,3".
Result<IdleMode> parse_idle_mode(const std::string& s);
Result<Hugepages> parse_hugepages(const std::string& s);
Result<std::vector<int>> parse_cpu_list(const std::string& s);

struct WorkerCounters {
  Counter rounds;        // poll rounds
  Counter busy_rounds;   // rounds that received something
  Counter packets;       // received and handed to process()
  Counter emitted;
  Counter dropped;       // out.drop() by the VNF
  Counter busy_cycles;   // TSC cycles of busy rounds
  Counter idle_cycles;   // TSC cycles of empty rounds (spinning)
  Counter sleeps;        // adaptive sleeps
};

class Runtime;

// What process() sends with. One per worker; per-port batches.
class Emitter {
 public:
  Emitter(std::vector<QueuePair*> queues, WorkerCounters& counters)
      : queues_(std::move(queues)), out_(queues_.size()), counters_(&counters) {}

  // Sends `p` out of port `port` (index in RunOptions::ports); an unknown port drops it.
  void emit(uint16_t port, Packet* p) noexcept {
    if (port >= out_.size()) [[unlikely]] {
      drop(p);
      return;
    }
    Batch& b = out_[port];
    if (b.full()) queues_[port]->tx_burst(b);
    b.push(p);
    ++counters_->emitted;
  }
  void drop(Packet* p) noexcept {
    PacketPool::free(p);
    ++counters_->dropped;
  }
  uint16_t ports() const noexcept { return static_cast<uint16_t>(queues_.size()); }
  // Sends every pending batch (the run loop calls it after each round).
  void flush() noexcept {
    for (std::size_t i = 0; i < out_.size(); ++i) {
      if (!out_[i].empty()) queues_[i]->tx_burst(out_[i]);
    }
  }

 private:
  std::vector<QueuePair*> queues_;
  std::vector<Batch> out_;
  WorkerCounters* counters_;
};

template <typename V>
concept Vnf = requires(V& v, Batch& b, Emitter& e) {
  { v.process(b, e) } noexcept;
};

template <typename V>
concept VnfWithStats = requires(const V& v) {
  { v.stats() } -> std::convertible_to<control::Json>;
};

// The non-template part of run(): memory, pools, ports, workers' shared
// state, the control thread. Usable directly for programs that want their own
// loop (tests, the benchmark), which then call service_ports() themselves.
class Runtime {
 public:
  static Result<std::unique_ptr<Runtime>> create(const RunOptions& options);
  ~Runtime();

  std::size_t num_ports() const noexcept { return ports_.size(); }
  Port& port(std::size_t i) noexcept { return *ports_[i]; }
  PacketPool& pool(unsigned thread) noexcept { return *pools_[thread]; }
  WorkerCounters& worker_counters(unsigned thread) noexcept { return *worker_counters_[thread]; }
  const RunOptions& options() const noexcept { return options_; }
  bool stopping() const noexcept { return stop_.load(std::memory_order_relaxed); }
  void request_stop() noexcept;

  // Starts worker t = 0..threads-1 running body(t) on its own (pinned) thread.
  Status start_workers(std::function<void(unsigned)> body);
  // Control thread: signals, JSON-RPC, port service; returns the exit status.
  int run_control();
  // One service pass over the ports (what run_control does every 10 ms).
  void service_ports();

  // Worker side of adaptive idle: sleeps until a queue of `thread` has
  // packets, a port changes state, or stop (bounded by 100 ms).
  void idle_sleep(unsigned thread, std::span<QueuePair* const> queues) noexcept;

  control::Json status_json() const;
  control::Json stats_json() const;
  void set_vnf_stats(std::function<control::Json()> fn) { vnf_stats_ = std::move(fn); }

 private:
  Runtime() = default;
  void wake_workers() noexcept;

  RunOptions options_;
  std::unique_ptr<control::EventLoop> loop_;
  std::unique_ptr<control::JsonRpcServer> rpc_;
  std::unique_ptr<PacketMemory> memory_;
  std::vector<PacketPool*> pools_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<std::unique_ptr<WorkerCounters>> worker_counters_;
  std::vector<int> wake_fds_;  // eventfd per worker
  std::vector<std::thread> workers_;
  std::vector<bool> link_seen_;
  std::atomic<bool> stop_{false};
  std::function<control::Json()> vnf_stats_;
  std::chrono::steady_clock::time_point started_;
};

// The worker loop for VNF type V (inlined process()).
template <Vnf V>
void run_worker(Runtime& rt, unsigned thread, V& vnf) {
  std::vector<QueuePair*> queues;
  for (std::size_t p = 0; p < rt.num_ports(); ++p) queues.push_back(&rt.port(p).queue_pair(static_cast<uint16_t>(thread)));
  WorkerCounters& c = rt.worker_counters(thread);
  Emitter out(queues, c);
  const bool adaptive = rt.options().idle == IdleMode::adaptive;
  const uint32_t spin_rounds = rt.options().adaptive_spin_rounds;
  uint32_t empty_rounds = 0;
  uint64_t t0 = read_tsc();
  while (!rt.stopping()) {
    uint32_t got = 0;
    for (std::size_t p = 0; p < queues.size(); ++p) {
      Batch b;
      const uint32_t n = queues[p]->rx_burst(b);
      if (n == 0) continue;
      for (Packet* pkt : b) pkt->input_port = static_cast<uint16_t>(p);
      got += n;
      vnf.process(b, out);
    }
    out.flush();
    const uint64_t t1 = read_tsc();
    ++c.rounds;
    if (got != 0) {
      ++c.busy_rounds;
      c.packets += got;
      c.busy_cycles += t1 - t0;
      empty_rounds = 0;
    } else {
      c.idle_cycles += t1 - t0;
      if (adaptive && ++empty_rounds >= spin_rounds) {
        ++c.sleeps;
        rt.idle_sleep(thread, queues);
        empty_rounds = 0;
        t0 = read_tsc();  // the sleep is neither busy nor idle spinning
        continue;
      }
    }
    t0 = t1;
  }
}

// Runs `make_vnf(t)`'s VNFs on the ports of `options` until SIGINT/SIGTERM.
template <typename MakeVnf>
  requires Vnf<std::invoke_result_t<MakeVnf, unsigned>>
int run(const RunOptions& options, MakeVnf make_vnf) {
  using V = std::invoke_result_t<MakeVnf, unsigned>;
  auto rt = Runtime::create(options);
  if (!rt) {
    std::fprintf(stderr, "%s: %s\n", options.name.c_str(), rt.error().message.c_str());
    return rt.error().code == Errc::invalid_argument ? 2 : 1;
  }
  std::vector<std::unique_ptr<V>> vnfs;
  for (unsigned t = 0; t < options.threads; ++t) vnfs.push_back(std::make_unique<V>(make_vnf(t)));
  if constexpr (VnfWithStats<V>) {
    (*rt)->set_vnf_stats([&vnfs] {
      control::Json all = control::Json::array();
      for (const auto& v : vnfs) all.push_back(v->stats());
      return all;
    });
  }
  Runtime& r = **rt;
  if (auto s = r.start_workers([&r, &vnfs](unsigned t) { run_worker(r, t, *vnfs[t]); }); !s) {
    std::fprintf(stderr, "%s: %s\n", options.name.c_str(), s.error().message.c_str());
    return 1;
  }
  return r.run_control();
}

}  // namespace nfv
