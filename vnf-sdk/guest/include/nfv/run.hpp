// nfv::run() in a VM guest: the same VNF class as in a host process
// (`process(Batch&, Emitter&) noexcept`, optionally `stats()`), driven on the
// virtio-net devices the VMM gave the VM (BootInfo) instead of vhost-user
// sockets. One worker on the boot vCPU; ports are the devices in BootInfo order.
//
// The loop: receive up to 32 frames per port, process(), send each port's
// batch, reclaim; every 2^14 rounds (and before every idle halt) it checks
// whether the VMM asked it to shut down (BootInfo::shutdown_request) and, about
// once a second, publishes the worker's and the VNF's counters to the VMM
// (stats RPC, under "vnf").
//
// Idle modes, as for host processes: `poll` spins; `adaptive` (default) spins
// while packets come and, after `adaptive_spin_rounds` empty rounds, arms the
// receive queues' notifications and halts the vCPU until the back-end's
// notification arrives as an MSI-X interrupt (through an irqfd: no VMM thread
// on the way) or 10 ms pass (nfv/guest/interrupts.hpp). A device whose receive
// queue cannot interrupt keeps the worker polling.
// Packet memory (pools and rings) comes from the heap and is touched once at
// boot (a first touch costs ~6 us per 4 KiB page on PVM).
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

#include "nfv/control/jsonrpc.hpp"
#include "nfv/counter.hpp"
#include "nfv/cpu.hpp"
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
// Runtime pieces of nfv::run that are not templates (src/run.cpp).
struct GuestPorts {
  GuestNetDevice devices[kMaxPorts];
  unsigned count = 0;
  PacketPool* pool = nullptr;
  bool can_sleep = false;  // every receive queue can interrupt
};
// Arms every port's receive notifications; true when packets are already waiting.
bool arm_rx(GuestPorts& ports) noexcept;
void disarm_rx(GuestPorts& ports) noexcept;
inline constexpr uint64_t kMaxHaltNs = 10'000'000;
// Finds the virtio-net devices, makes packet memory and starts the devices.
bool start_ports(const RunOptions& o, GuestPorts& ports);
// JSON text of the counters (worker, ports, pool, vnf fields) into buf.
std::size_t stats_json(char* buf, std::size_t size, const GuestPorts& ports, const WorkerCounters& w,
                       const control::Json* vnf);
}  // namespace guest

class Emitter {
 public:
  Emitter(guest::GuestPorts& ports, WorkerCounters& counters) : ports_(&ports), counters_(&counters) {}
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
    virtio::NetTxQueue& tx = ports_->devices[port].tx();
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
  Batch out_[guest::kMaxPorts];
};

namespace guest {
template <typename Vnf>
concept HasStats = requires(const Vnf& v) { v.stats(); };
}

// Runs the VNF made by make_vnf(0) until the VMM asks the guest to stop.
// Returns the exit code the VMM asked for (0 normally), or 1 when start-up failed.
template <typename MakeVnf>
int run(const RunOptions& options, MakeVnf&& make_vnf) {
  static guest::GuestPorts ports;  // large; lives as long as the VM
  if (!guest::start_ports(options, ports)) return 1;
  auto vnf = make_vnf(0u);
  static WorkerCounters counters;
  Emitter out(ports, counters);
  Packet* rx[Batch::kMax];
  static char stats[4096];
  const uint64_t tsc_hz = guest::tsc_hz();
  uint64_t next_publish = read_tsc();
  guest::print("%s: polling %u port(s)\n", options.name, ports.count);
  guest::publish_stats(stats, guest::stats_json(stats, sizeof stats, ports, counters, nullptr));  // "ready"

  const bool adaptive = options.idle == IdleMode::adaptive && ports.can_sleep;
  uint32_t empty_rounds = 0;
  int exit_code = 0;
  // Shutdown check and stats publication: true when the VMM asked us to stop.
  auto housekeeping = [&](uint64_t now) {
    if (guest::shutdown_requested(&exit_code)) {
      guest::print("%s: stopping (%lu packets)\n", options.name, counters.packets.load());
      return true;
    }
    if (now >= next_publish) {
      next_publish = now + tsc_hz;
      control::Json vnf_stats;
      if constexpr (guest::HasStats<std::remove_cvref_t<decltype(vnf)>>) vnf_stats = vnf.stats();
      const std::size_t len = guest::stats_json(stats, sizeof stats, ports, counters, &vnf_stats);
      guest::publish_stats(stats, len);
    }
    return false;
  };

  for (uint64_t round = 1;; ++round) {
    const uint64_t t0 = read_tsc();
    uint32_t got = 0;
    for (uint16_t port = 0; port < ports.count; ++port) {
      const uint32_t n = ports.devices[port].rx().receive(rx, Batch::kMax);
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
    for (uint16_t port = 0; port < ports.count; ++port) ports.devices[port].tx().reclaim();
    const uint64_t t1 = read_tsc();
    ++counters.rounds;
    if (got != 0) {
      ++counters.busy_rounds;
      counters.packets += got;
      counters.busy_cycles += t1 - t0;
      empty_rounds = 0;
    } else {
      counters.idle_cycles += t1 - t0;
      if (adaptive && ++empty_rounds >= options.adaptive_spin_rounds) {
        empty_rounds = 0;
        if (housekeeping(t1)) return exit_code;
        if (!guest::arm_rx(ports)) {
          ++counters.sleeps;
          guest::halt_until_interrupt(guest::kMaxHaltNs);
        }
        guest::disarm_rx(ports);
        continue;
      }
    }
    if ((round & 0x3fff) == 0 && housekeeping(t1)) return exit_code;
  }
}

}  // namespace nfv
