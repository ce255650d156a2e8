// The non-template part of the guest's nfv::run (see nfv/run.hpp).
#include "nfv/run.hpp"

#include "nfv/guest/cpu.hpp"

namespace nfv::guest {
namespace {
// Packet memory beyond the buffers: rings (2 per port, a few pages each) and slack.
constexpr std::size_t kRingBytesPerPort = 64 * 1024;

struct Writer {
  char* buf;
  std::size_t size;
  std::size_t n = 0;
  void add(const char* fmt, auto... args) {
    if (n >= size) return;
    const int w = format(buf + n, size - n, fmt, args...);
    n += w > 0 ? static_cast<std::size_t>(w) : 0;
  }
};
}  // namespace

bool start_ports(const RunOptions& o, GuestPorts& ports) {
  const BootInfo& bi = boot_info();
  unsigned nets = 0;
  for (uint32_t i = 0; i < bi.device_count; ++i) nets += bi.devices[i].virtio_type == 1 ? 1 : 0;
  if (nets == 0) {
    print("%s: no virtio-net device; start the VM with --net path=SOCKET\n", o.name);
    return false;
  }
  // One worker per vCPU, if the devices grant as many queue pairs (decided below).
  const unsigned want = cpu_count() < kMaxWorkers ? cpu_count() : kMaxWorkers;
  PacketPoolConfig pc;
  pc.count = o.pool_buffers;
  const std::size_t bytes = want * PacketPool::region_bytes(pc) + nets * want * kRingBytesPerPort + nets * 4096 * 4;
  auto* mem = static_cast<std::byte*>(heap_alloc(bytes, 2u << 20));
  if (mem == nullptr) {
    print("%s: %zu bytes of packet memory for %u worker(s) do not fit in RAM (%zu free); give the VM more --memory\n",
          o.name, bytes, want, heap_free_bytes());
    return false;
  }
  pretouch(mem, bytes);
  static SharedRegion region = SharedRegion::wrap(mem, bytes, reinterpret_cast<uint64_t>(mem));
  static RegionCarver carver(region);
  for (unsigned w = 0; w < want; ++w) {
    auto pool = PacketPool::create(region, carver, pc);
    if (!pool) {
      print("%s: %s\n", o.name, pool.error().message.c_str());
      return false;
    }
    ports.pools[w] = pool->release();
  }
  const bool interrupts = o.idle == IdleMode::adaptive && interrupts_init();
  unsigned workers = want;
  for (uint32_t i = 0; i < bi.device_count && ports.count < kMaxPorts; ++i) {
    if (bi.devices[i].virtio_type != 1) continue;
    GuestNetDevice& d = ports.devices[ports.count];
    const int vector = interrupts ? kQueueVectorBase + static_cast<int>(ports.count) : -1;
    if (!d.start(bi.devices[i], region, carver, ports.pools, want, o.queue_size, vector)) return false;
    if (d.pairs() < workers) workers = d.pairs();
    ++ports.count;
  }
  ports.workers = workers;
  for (unsigned w = 0; w < workers; ++w) {
    ports.can_sleep[w] = interrupts;
    for (unsigned p = 0; p < ports.count; ++p) ports.can_sleep[w] = ports.can_sleep[w] && ports.devices[p].rx_interrupts(w);
  }
  if (workers < want) {
    print("%s: %u vCPU(s) but the devices give %u queue pair(s): %u worker(s)\n", o.name, want, workers, workers);
  }
  if (o.idle == IdleMode::adaptive && !ports.can_sleep[0]) {
    print("%s: the devices cannot interrupt; polling without idle\n", o.name);
  }
  return true;
}

bool arm_rx(GuestPorts& ports, unsigned worker) noexcept {
  bool pending = false;
  for (unsigned i = 0; i < ports.count; ++i) pending = ports.devices[i].rx(worker).set_interrupts(true) || pending;
  return pending;
}

void disarm_rx(GuestPorts& ports, unsigned worker) noexcept {
  for (unsigned i = 0; i < ports.count; ++i) ports.devices[i].rx(worker).set_interrupts(false);
}

void wait_workers(const GuestPorts& ports) noexcept {
  const uint64_t hz = tsc_hz(), t0 = __builtin_ia32_rdtsc();
  for (unsigned w = 1; w < ports.workers; ++w) {
    while (cpu_state(w) == CpuState::running || cpu_state(w) == CpuState::starting) {
      if (__builtin_ia32_rdtsc() - t0 > hz) {
        print("nfv guest: worker %u did not stop within 1 s\n", w);
        return;
      }
      __builtin_ia32_pause();
    }
  }
}

std::size_t stats_json(char* buf, std::size_t size, const GuestPorts& ports, const WorkerCounters* workers,
                       const control::Json* vnf) {
  Writer out{buf, size};
  const InterruptCounters irq = interrupt_counters();
  uint64_t sum[8] = {};
  for (unsigned w = 0; w < ports.workers; ++w) {
    const WorkerCounters& c = workers[w];
    const uint64_t v[8] = {c.rounds.load(),      c.busy_rounds.load(), c.packets.load(),     c.emitted.load(),
                           c.dropped.load(),     c.busy_cycles.load(), c.idle_cycles.load(), c.sleeps.load()};
    for (int i = 0; i < 8; ++i) sum[i] += v[i];
  }
  const char* const worker_fmt =
      "{\"rounds\":%lu,\"busy_rounds\":%lu,\"packets\":%lu,\"emitted\":%lu,\"dropped\":%lu,"
      "\"busy_cycles\":%lu,\"idle_cycles\":%lu,\"sleeps\":%lu}";
  out.add("{\"worker\":");
  out.add(worker_fmt, sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7]);
  out.add(",\"workers\":[");
  for (unsigned w = 0; w < ports.workers; ++w) {
    const WorkerCounters& c = workers[w];
    const InterruptCounters wi = interrupt_counters(w);
    out.add("%s{\"cpu\":%u,\"rounds\":%lu,\"packets\":%lu,\"emitted\":%lu,\"dropped\":%lu,\"sleeps\":%lu,"
            "\"interrupts\":%lu,\"timer\":%lu}",
            w == 0 ? "" : ",", w, c.rounds.load(), c.packets.load(), c.emitted.load(), c.dropped.load(),
            c.sleeps.load(), wi.interrupts, wi.timer);
  }
  out.add("],\"idle\":{\"adaptive\":%s,\"interrupts\":%lu,\"timer\":%lu,\"halts\":%lu,\"halts_skipped\":%lu},\"ports\":[",
          ports.can_sleep[0] ? "true" : "false", irq.interrupts, irq.timer, irq.halts, irq.halts_skipped);
  for (unsigned i = 0; i < ports.count; ++i) {
    uint64_t v[7] = {};
    for (unsigned w = 0; w < ports.workers; ++w) {
      const auto& rx = ports.devices[i].rx(w).counters();
      const auto& tx = ports.devices[i].tx(w).counters();
      v[0] += rx.packets.load();
      v[1] += rx.bytes.load();
      v[2] += tx.packets.load();
      v[3] += tx.bytes.load();
      v[4] += rx.no_buffer.load();
      v[5] += tx.ring_full.load();
      v[6] += rx.kicks.load() + tx.kicks.load();
    }
    out.add("%s{\"rx_packets\":%lu,\"rx_bytes\":%lu,\"tx_packets\":%lu,\"tx_bytes\":%lu,\"rx_no_buffer\":%lu,"
            "\"tx_ring_full\":%lu,\"kicks\":%lu,\"queue_pairs\":%u}",
            i == 0 ? "" : ",", v[0], v[1], v[2], v[3], v[4], v[5], v[6], ports.devices[i].pairs());
  }
  uint32_t capacity = 0, available = 0;
  for (unsigned w = 0; w < ports.workers; ++w) {
    capacity += ports.pools[w]->capacity();
    available += ports.pools[w]->available();
  }
  out.add("],\"pool\":{\"capacity\":%u,\"available\":%u}", capacity, available);
  if (vnf != nullptr && vnf->size() > 0) {
    out.add(",\"vnf\":{");
    for (unsigned i = 0; i < vnf->size(); ++i) out.add("%s\"%s\":%lu", i == 0 ? "" : ",", (*vnf)[i].key, (*vnf)[i].value);
    out.add("}");
  }
  out.add("}");
  return out.n < size ? out.n : size - 1;
}

}  // namespace nfv::guest
