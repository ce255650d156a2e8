// nfv::run() in a VM guest: the same VNF class as in a host process
// (`process(Batch&, Emitter&) noexcept`, optionally `stats()`), driven on the
// virtio-net devices the VMM gave the VM (BootInfo) instead of vhost-user
// sockets. Ports are the devices in BootInfo order.
//
// Workers: one per vCPU. The runtime asks every device for cpu_count() queue
// pairs (virtio-net multiqueue); the workers are the fewest pairs any device
// granted (1 when a device has no MQ). Worker w runs on vCPU w (the boot CPU
// is worker 0; the others are started with start_cpu), polls queue pair w of
// every port, owns packet pool w and its own VNF object make_vnf(w), as the
// host nfv::run with several threads does.
//
// The loop: receive up to 32 frames per port, process(), send each port's
// batch (a transmit queue reclaims its completed frames when it runs short;
// the worker also does on its first empty round after traffic); every 2^14
// rounds (and before every idle halt) each worker reclaims and checks whether
// the VMM asked the guest to shut down (BootInfo::shutdown_request); worker 0
// also publishes, about once a second, every worker's and the VNF's counters
// to the VMM (stats RPC, under "vnf": "worker" holds the sums, "workers" each
// worker's). On a stop worker 0 waits (bounded) for the others before run()
// returns.
//
// Idle modes, as for host processes: `poll` spins; `adaptive` (default) spins
// while packets come and, after `adaptive_spin_rounds` empty rounds, arms the
// receive queues of its own pair and halts its vCPU until the back-end's
// notification arrives as that queue's MSI-X interrupt, sent to this vCPU
// (through an irqfd: no VMM thread on the way), or 10 ms pass
// (nfv/guest/interrupts.hpp). A worker whose receive queues cannot interrupt
// keeps polling.
// Packet memory (pools and rings) comes from the heap and is touched once at
// boot (a first touch costs ~6 us per 4 KiB page on PVM).
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

#include "nfv/control/jsonrpc.hpp"
#include "nfv/counter.hpp"
#include "nfv/cpu.hpp"
#include "nfv/guest/cpu.hpp"
#include "nfv/guest/interrupts.hpp"
#include "nfv/guest/runtime.hpp"
#include "nfv/guest/virtio_net_driver.hpp"
#include "nfv/packet.hpp"
#include "nfv/packet_pool.hpp"

namespace nfv {

enum class IdleMode : uint8_t { poll, adaptive };

struct RunOptions {
  const char* name = "vnf";
  uint32_t pool_buffers = 4096;
  uint16_t queue_size = 256;
  IdleMode idle = IdleMode::adaptive;
  // Empty rounds before halting. Lower than a host process's 1024: measured in pvp on a CPU
  // shared with the generator (tests/bench/vsperf.sh --vnf vm), 1024 gave the VM 0.34x the
  // process's rate and 64..256 gave 0.75..0.85x: a spinning vCPU takes the CPU from whoever
  // would fill its rings.
  uint32_t adaptive_spin_rounds = 64;
};

struct WorkerCounters {
  Counter rounds;
  Counter busy_rounds;
  Counter packets;
  Counter emitted;
  Counter dropped;
  Counter busy_cycles;
  Counter idle_cycles;
  Counter sleeps;  // idle halts
};

namespace guest {
inline constexpr unsigned kMaxPorts = kMaxDevices;
inline constexpr unsigned kMaxWorkers = kMaxCpus < GuestNetDevice::kMaxPairs ? kMaxCpus : GuestNetDevice::kMaxPairs;
// Runtime pieces of nfv::run that are not templates (src/run.cpp).
struct GuestPorts {
  GuestNetDevice devices[kMaxPorts];
  unsigned count = 0;
  unsigned workers = 1;                  // queue pairs used on every port
  PacketPool* pools[kMaxWorkers] = {};   // pools[w]: worker w's
  bool can_sleep[kMaxWorkers] = {};      // worker w's receive queues can all interrupt
};
// Arms worker w's receive notifications on every port; true when packets are already waiting.
bool arm_rx(GuestPorts& ports, unsigned worker) noexcept;
void disarm_rx(GuestPorts& ports, unsigned worker) noexcept;
inline constexpr uint64_t kMaxHaltNs = 10'000'000;
// Finds the virtio-net devices, makes packet memory and starts the devices.
bool start_ports(const RunOptions& o, GuestPorts& ports);
// JSON text of the counters (workers, ports, pools, vnf fields summed over the workers) into buf.
std::size_t stats_json(char* buf, std::size_t size, const GuestPorts& ports, const WorkerCounters* workers,
                       const control::Json* vnf);
// Worker 0 waits (at most ~1 s) until workers 1.. returned from their loops.
void wait_workers(const GuestPorts& ports) noexcept;
}  // namespace guest

class Emitter {
 public:
  Emitter(guest::GuestPorts& ports, WorkerCounters& counters, unsigned queue = 0)
      : ports_(&ports), counters_(&counters), queue_(queue) {}
  void emit(uint16_t port, Packet* p) noexcept {
    if (port >= ports_->count) [[unlikely]] {
      drop(p);
      return;
    }
    Batch& b = out_[port];
    if (b.full()) send(port);
    b.push(p);
    ++counters_->emitted;
  }
  void drop(Packet* p) noexcept {
    PacketPool::free(p);
    ++counters_->dropped;
  }
  uint16_t ports() const noexcept { return static_cast<uint16_t>(ports_->count); }
  void flush() noexcept {
    for (uint16_t i = 0; i < ports_->count; ++i) {
      if (!out_[i].empty()) send(i);
    }
  }

 private:
  void send(uint16_t port) noexcept {
    Batch& b = out_[port];
    virtio::NetTxQueue& tx = ports_->devices[port].tx(queue_);
    uint32_t done = tx.transmit(b.packets, b.count);
    if (done < b.count) {  // ring full: reclaim once and retry, then drop the rest (counted by the queue)
      tx.reclaim();
      done += tx.transmit(b.packets + done, b.count - done);
      for (uint32_t i = done; i < b.count; ++i) drop(b.packets[i]);
    }
    b.count = 0;
  }
  guest::GuestPorts* ports_;
  WorkerCounters* counters_;
  unsigned queue_;
  Batch out_[guest::kMaxPorts];
};

namespace guest {
template <typename Vnf>
concept HasStats = requires(const Vnf& v) { v.stats(); };

template <typename Vnf>
struct Worker {
  const RunOptions* options;
  GuestPorts* ports;
  Vnf* vnfs[kMaxWorkers];
  WorkerCounters* counters;  // [ports->workers]
  unsigned index;
  int exit_code;
};

// The poll loop of worker w.index on this vCPU; returns the exit code the VMM asked for.
template <typename Vnf>
int worker_loop(Worker<Vnf>& w) {
  const RunOptions& options = *w.options;
  GuestPorts& ports = *w.ports;
  const unsigned q = w.index;
  Vnf& vnf = *w.vnfs[q];
  WorkerCounters& counters = w.counters[q];
  Emitter out(ports, counters, q);
  Packet* rx[Batch::kMax];
  static char stats[8192];  // worker 0's
  const uint64_t tsc_hz = guest::tsc_hz();
  uint64_t next_publish = read_tsc();
  const bool adaptive = options.idle == IdleMode::adaptive && ports.can_sleep[q];
  uint32_t empty_rounds = 0;
  int exit_code = 0;
  // Shutdown check and (worker 0) stats publication: true when the VMM asked us to stop.
  auto housekeeping = [&](uint64_t now) {
    if (guest::shutdown_requested(&exit_code)) {
      if (q == 0) {
        guest::print("%s: stopping (%lu packets)\n", options.name, counters.packets.load());
      } else {
        guest::print("%s: worker %u stopping (%lu packets)\n", options.name, q, counters.packets.load());
      }
      return true;
    }
    if (q == 0 && now >= next_publish) {
      next_publish = now + tsc_hz;
      control::Json vnf_stats;
      if constexpr (HasStats<Vnf>) {
        // The same class on every worker: the same fields in the same order, summed.
        control::JsonField sum[control::Json::kMaxFields];
        unsigned fields = 0;
        for (unsigned i = 0; i < ports.workers; ++i) {
          const control::Json j = w.vnfs[i]->stats();
          fields = j.size();
          for (unsigned f = 0; f < j.size(); ++f) {
            sum[f].key = j[f].key;
            sum[f].value = (i == 0 ? 0 : sum[f].value) + j[f].value;
          }
        }
        vnf_stats = control::Json::from(sum, fields);
      }
      const std::size_t len = guest::stats_json(stats, sizeof stats, ports, w.counters, &vnf_stats);
      guest::publish_stats(stats, len);
    }
    return false;
  };
  // Transmit reclaims completed frames when its ring runs short, as the host SDK's does;
  // reading every used ring every round cost a cache miss per port per round (the switch
  // writes those indices from its own CPU). Otherwise the worker reclaims on its first
  // empty round after traffic, before halting and every 2^14 rounds.
  bool reclaimed = true;
  auto reclaim_tx = [&] {
    for (uint16_t port = 0; port < ports.count; ++port) ports.devices[port].tx(q).reclaim();
  };
  if (q == 0) {
    guest::print("%s: polling %u port(s) with %u worker(s)\n", options.name, ports.count, ports.workers);
    guest::publish_stats(stats, guest::stats_json(stats, sizeof stats, ports, w.counters, nullptr));  // "ready"
  }

  for (uint64_t round = 1;; ++round) {
    const uint64_t t0 = read_tsc();
    uint32_t got = 0;
    for (uint16_t port = 0; port < ports.count; ++port) {
      const uint32_t n = ports.devices[port].rx(q).receive(rx, Batch::kMax);
      if (n == 0) continue;
      Batch batch;
      for (uint32_t i = 0; i < n; ++i) {
        rx[i]->input_port = port;
        batch.push(rx[i]);
      }
      got += n;
      vnf.process(batch, out);
    }
    out.flush();
    if (got == 0 && !reclaimed) {  // the first empty round after traffic
      reclaim_tx();
      reclaimed = true;
    }
    const uint64_t t1 = read_tsc();
    ++counters.rounds;
    if (got != 0) {
      ++counters.busy_rounds;
      counters.packets += got;
      counters.busy_cycles += t1 - t0;
      empty_rounds = 0;
      reclaimed = false;
    } else {
      counters.idle_cycles += t1 - t0;
      if (adaptive && ++empty_rounds >= options.adaptive_spin_rounds) {
        empty_rounds = 0;
        if (housekeeping(t1)) return exit_code;
        reclaim_tx();  // the frames sent before the pause go back to the pool while we sleep
        if (!guest::arm_rx(ports, q)) {
          ++counters.sleeps;
          guest::halt_until_interrupt(guest::kMaxHaltNs);
        }
        guest::disarm_rx(ports, q);
        continue;
      }
    }
    if ((round & 0x3fff) == 0) [[unlikely]] {
      if (housekeeping(t1)) return exit_code;
      reclaim_tx();
    }
  }
}

// Entry of workers 1.. on their vCPUs (start_cpu).
template <typename Vnf>
void worker_entry(void* arg) {
  auto* w = static_cast<Worker<Vnf>*>(arg);
  // This vCPU's local APIC, for its own receive queues' interrupts and halt timer.
  if (w->options->idle == IdleMode::adaptive && w->ports->can_sleep[w->index]) {
    if (!interrupts_init()) w->ports->can_sleep[w->index] = false;
  }
  w->exit_code = worker_loop(*w);
}
}  // namespace guest

// Runs the VNFs made by make_vnf(w), one per worker, until the VMM asks the guest to stop.
// Returns the exit code the VMM asked for (0 normally), or 1 when start-up failed.
template <typename MakeVnf>
int run(const RunOptions& options, MakeVnf&& make_vnf) {
  using Vnf = std::remove_cvref_t<decltype(make_vnf(0u))>;
  static guest::GuestPorts ports;  // large; lives as long as the VM
  if (!guest::start_ports(options, ports)) return 1;
  static WorkerCounters counters[guest::kMaxWorkers];
  static guest::Worker<Vnf> workers[guest::kMaxWorkers];
  Vnf* vnfs[guest::kMaxWorkers] = {};
  for (unsigned w = 0; w < ports.workers; ++w) vnfs[w] = new Vnf(make_vnf(w));  // the heap never frees
  for (unsigned w = 0; w < ports.workers; ++w) {
    workers[w] = guest::Worker<Vnf>{&options, &ports, {}, counters, w, 0};
    for (unsigned i = 0; i < ports.workers; ++i) workers[w].vnfs[i] = vnfs[i];
  }
  for (unsigned w = 1; w < ports.workers; ++w) {
    if (!guest::start_cpu(w, &guest::worker_entry<Vnf>, &workers[w])) return 1;
  }
  const int code = guest::worker_loop(workers[0]);
  guest::wait_workers(ports);
  return code;
}

}  // namespace nfv
