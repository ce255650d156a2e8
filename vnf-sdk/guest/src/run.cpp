// The non-template part of the guest's nfv::run (see nfv/run.hpp).
#include "nfv/run.hpp"

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
  PacketPoolConfig pc;
  pc.count = o.pool_buffers;
  const std::size_t bytes = PacketPool::region_bytes(pc) + nets * kRingBytesPerPort;
  auto* mem = static_cast<std::byte*>(heap_alloc(bytes, 2u << 20));
  if (mem == nullptr) {
    print("%s: %zu bytes of packet memory do not fit in RAM (%zu free); give the VM more --memory\n", o.name, bytes,
          heap_free_bytes());
    return false;
  }
  pretouch(mem, bytes);
  static SharedRegion region = SharedRegion::wrap(mem, bytes, reinterpret_cast<uint64_t>(mem));
  static RegionCarver carver(region);
  auto pool = PacketPool::create(region, carver, pc);
  if (!pool) {
    print("%s: %s\n", o.name, pool.error().message.c_str());
    return false;
  }
  ports.pool = pool->release();
  const bool interrupts = o.idle == IdleMode::adaptive && interrupts_init();
  ports.can_sleep = interrupts;
  for (uint32_t i = 0; i < bi.device_count && ports.count < kMaxPorts; ++i) {
    if (bi.devices[i].virtio_type != 1) continue;
    GuestNetDevice& d = ports.devices[ports.count];
    const int vector = interrupts ? kQueueVectorBase + static_cast<int>(ports.count) : -1;
    if (!d.start(bi.devices[i], region, carver, *ports.pool, o.queue_size, vector)) return false;
    ports.can_sleep = ports.can_sleep && d.rx_interrupts();
    ++ports.count;
  }
  if (o.idle == IdleMode::adaptive && !ports.can_sleep) {
    print("%s: the devices cannot interrupt; polling without idle\n", o.name);
  }
  return true;
}

bool arm_rx(GuestPorts& ports) noexcept {
  bool pending = false;
  for (unsigned i = 0; i < ports.count; ++i) pending = ports.devices[i].rx().set_interrupts(true) || pending;
  return pending;
}

void disarm_rx(GuestPorts& ports) noexcept {
  for (unsigned i = 0; i < ports.count; ++i) ports.devices[i].rx().set_interrupts(false);
}

std::size_t stats_json(char* buf, std::size_t size, const GuestPorts& ports, const WorkerCounters& w,
                       const control::Json* vnf) {
  Writer out{buf, size};
  const InterruptCounters irq = interrupt_counters();
  out.add("{\"worker\":{\"rounds\":%lu,\"busy_rounds\":%lu,\"packets\":%lu,\"emitted\":%lu,\"dropped\":%lu,"
          "\"busy_cycles\":%lu,\"idle_cycles\":%lu,\"sleeps\":%lu},"
          "\"idle\":{\"adaptive\":%s,\"interrupts\":%lu,\"timer\":%lu,\"halts\":%lu,\"halts_skipped\":%lu},\"ports\":[",
          w.rounds.load(), w.busy_rounds.load(), w.packets.load(), w.emitted.load(), w.dropped.load(),
          w.busy_cycles.load(), w.idle_cycles.load(), w.sleeps.load(), ports.can_sleep ? "true" : "false",
          irq.interrupts, irq.timer, irq.halts, irq.halts_skipped);
  for (unsigned i = 0; i < ports.count; ++i) {
    const auto& rx = ports.devices[i].rx().counters();
    const auto& tx = ports.devices[i].tx().counters();
    out.add("%s{\"rx_packets\":%lu,\"rx_bytes\":%lu,\"tx_packets\":%lu,\"tx_bytes\":%lu,\"rx_no_buffer\":%lu,"
            "\"tx_ring_full\":%lu,\"kicks\":%lu}",
            i == 0 ? "" : ",", rx.packets.load(), rx.bytes.load(), tx.packets.load(), tx.bytes.load(),
            rx.no_buffer.load(), tx.ring_full.load(), rx.kicks.load() + tx.kicks.load());
  }
  out.add("],\"pool\":{\"capacity\":%u,\"available\":%u}", ports.pool->capacity(), ports.pool->available());
  if (vnf != nullptr && vnf->size() > 0) {
    out.add(",\"vnf\":{");
    for (unsigned i = 0; i < vnf->size(); ++i) out.add("%s\"%s\":%lu", i == 0 ? "" : ",", (*vnf)[i].key, (*vnf)[i].value);
    out.add("}");
  }
  out.add("}");
  return out.n < size ? out.n : size - 1;
}

}  // namespace nfv::guest
