// nfv-sdk-loop: the SDK side of the frontend benchmark (tests/bench/sdk_frontend.sh).
//
// A send/receive loop on one vhost-user port, written the way a VNF developer
// would with the SDK's lower layers (PacketMemory, PacketPool, VhostUserPort),
// doing per packet what dpdk-testpmd's flowgen does: take a buffer, write an
// Ethernet/IPv4/UDP header with one of `flows` source addresses and its IPv4
// checksum, send in bursts of 32; receive and free whatever comes back.
//
// Prints one line of JSON: packets and Mpps each way over the measured window
// (after the warm-up), and TSC cycles per sent packet (the loop's cycles over
// the window / packets sent; testpmd's --record-core-cycles counts flowgen the
// same way).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <thread>

#include "nfv/cpu.hpp"
#include "nfv/net/checksum.hpp"
#include "nfv/packet_memory.hpp"
#include "nfv/run.hpp"
#include "nfv/vhost_user/port.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

constexpr uint32_t kBurst = 32;
constexpr std::size_t kHeaders = 14 + 20 + 8;

// Ethernet + IPv4 + UDP for a `len`-byte frame (testpmd's --txpkts counts the same bytes, no FCS).
std::array<uint8_t, kHeaders> make_template(uint32_t len) {
  std::array<uint8_t, kHeaders> t{};
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(&t[0], dst, 6);
  std::memcpy(&t[6], src, 6);
  t[12] = 0x08;  // IPv4
  uint8_t* ip = &t[14];
  const uint16_t ip_len = static_cast<uint16_t>(len - 14);
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_len >> 8);
  ip[3] = static_cast<uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = 17;  // UDP
  const uint8_t sip[4] = {198, 18, 0, 0}, dip[4] = {198, 19, 0, 1};
  std::memcpy(ip + 12, sip, 4);
  std::memcpy(ip + 16, dip, 4);
  const uint16_t cs = nfv::net::ipv4_header_checksum(ip, 20);
  ip[10] = static_cast<uint8_t>(cs >> 8);
  ip[11] = static_cast<uint8_t>(cs);
  uint8_t* udp = ip + 20;
  udp[0] = 0x04, udp[1] = 0xd2, udp[2] = 0x04, udp[3] = 0xd3;  // ports 1234 -> 1235
  const uint16_t udp_len = static_cast<uint16_t>(ip_len - 20);
  udp[4] = static_cast<uint8_t>(udp_len >> 8);
  udp[5] = static_cast<uint8_t>(udp_len);
  return t;  // UDP checksum 0: none (as flowgen)
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nfv-sdk-loop: SDK send/receive loop for the frontend benchmark"};
  std::string spec;
  double seconds = 10, warmup = 2;
  uint32_t length = 64, flows = 1024;
  int cpu = -1;
  app.add_option("--port", spec, "vhost-user:PATH[,...]")->required();
  app.add_option("--seconds", seconds, "measured seconds")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", warmup, "seconds before measuring")->check(CLI::Range(0.0, 60.0));
  app.add_option("--length", length, "frame length in bytes, 60..1518")->check(CLI::Range(60, 1518));
  app.add_option("--flows", flows, "distinct source addresses")->check(CLI::Range(1, 65536));
  app.add_option("--cpu", cpu, "pin to this cpu");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (cpu >= 0) {
    if (auto s = nfv::pin_current_thread(cpu); !s) {
      std::fprintf(stderr, "nfv-sdk-loop: %s\n", s.error().message.c_str());
      return 2;
    }
  }
  auto cfg = nfv::parse_vhost_user_spec(spec);
  if (!cfg) {
    std::fprintf(stderr, "nfv-sdk-loop: %s\n", cfg.error().message.c_str());
    return 2;
  }
  cfg->name = "loop";
  nfv::PacketPoolConfig pc{.count = 4096};
  auto mem = nfv::PacketMemory::create(nfv::PacketPool::region_bytes(pc) + (2 << 20));
  if (!mem) return std::fprintf(stderr, "nfv-sdk-loop: %s\n", mem.error().message.c_str()), 1;
  auto pool = (*mem)->create_pool(pc);
  if (!pool) return std::fprintf(stderr, "nfv-sdk-loop: %s\n", pool.error().message.c_str()), 1;
  nfv::PacketPool* pools[1] = {*pool};
  auto port = nfv::VhostUserPort::create(*cfg, **mem, pools);
  if (!port) return std::fprintf(stderr, "nfv-sdk-loop: %s\n", port.error().message.c_str()), 1;
  nfv::Port& p = **port;
  nfv::QueuePair& q = p.queue_pair(0);
  nfv::PacketPool& pl = **pool;

  for (int i = 0; i < 1000 && !p.link_up() && !g_stop; ++i) {
    p.service();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!p.link_up()) return std::fprintf(stderr, "nfv-sdk-loop: no back-end at %s\n", cfg->path.c_str()), 1;

  const auto tmpl = make_template(length);
  uint16_t base_cs;
  std::memcpy(&base_cs, &tmpl[14 + 10], 2);
  const uint64_t hz = nfv::measure_tsc_hz();
  const uint64_t start = nfv::read_tsc();
  const uint64_t measure_from = start + static_cast<uint64_t>(warmup * hz);
  const uint64_t end = measure_from + static_cast<uint64_t>(seconds * hz);
  uint64_t next_service = start + hz / 100;
  uint64_t tx = 0, rx = 0, tx_full = 0, no_buf = 0, flow = 0;
  uint64_t tx0 = 0, rx0 = 0, c0 = 0;
  bool measuring = false;
  const bool prefetchw = nfv::has_prefetchw();
  nfv::Packet* out[kBurst];
  nfv::Packet* in[kBurst];
  while (!g_stop.load(std::memory_order_relaxed)) {
    if (pl.alloc_bulk(out, kBurst)) {
      // The buffers' first lines were last written by the back-end (received
      // frames): ask for them all at once, exclusive, instead of one miss after another.
      for (uint32_t i = 0; i < kBurst; ++i) nfv::prefetch_for_write(out[i]->data() - 12, prefetchw);
      for (uint32_t i = 0; i < kBurst; ++i) {
        uint8_t* d = out[i]->data();
        std::memcpy(d, tmpl.data(), kHeaders);
        // Flow f: source 198.18.x.y; checksum updated for the changed low 16 bits.
        const auto f = static_cast<uint16_t>(flow++ % flows);
        d[14 + 14] = static_cast<uint8_t>(f >> 8);
        d[14 + 15] = static_cast<uint8_t>(f);
        const uint16_t cs = nfv::net::checksum_update16(static_cast<uint16_t>((base_cs << 8) | (base_cs >> 8)), 0, f);
        d[14 + 10] = static_cast<uint8_t>(cs >> 8);
        d[14 + 11] = static_cast<uint8_t>(cs);
        out[i]->set_length(length);
      }
      const uint32_t sent = q.tx_burst(out, kBurst);
      tx += sent;
      if (sent < kBurst) {
        nfv::PacketPool::free_bulk(out + sent, kBurst - sent);
        tx_full += kBurst - sent;
      }
    } else {
      ++no_buf;
    }
    const uint32_t got = q.rx_burst(in, kBurst);
    rx += got;
    nfv::PacketPool::free_bulk(in, got);

    const uint64_t now = nfv::read_tsc();
    if (now >= next_service) [[unlikely]] {
      next_service = now + hz / 100;
      p.service();
      if (!measuring && now >= measure_from) {
        measuring = true;
        tx0 = tx, rx0 = rx, c0 = now;
      }
      if (now >= end) break;
    }
  }
  const uint64_t c1 = nfv::read_tsc();
  const double secs = measuring ? static_cast<double>(c1 - c0) / hz : 0;
  const uint64_t wtx = tx - tx0, wrx = rx - rx0;
  const nfv::QueuePairCounters qc = q.counters();
  std::printf(
      "{\"frontend\": \"nfv-sdk\", \"length\": %u, \"seconds\": %.3f, \"tx_packets\": %lu, \"rx_packets\": %lu, "
      "\"tx_mpps\": %.3f, \"rx_mpps\": %.3f, \"cycles_per_packet\": %.1f, \"tsc_hz\": %lu, \"tx_ring_full\": %lu, "
      "\"no_buffer_rounds\": %lu, \"kicks\": %lu, \"device_errors\": %lu, \"hugepages\": %s, \"features\": \"%#lx\"}\n",
      length, secs, wtx, wrx, secs > 0 ? wtx / secs / 1e6 : 0.0, secs > 0 ? wrx / secs / 1e6 : 0.0,
      wtx ? static_cast<double>(c1 - c0) / wtx : 0.0, hz, tx_full, no_buf, qc.kicks, qc.device_errors,
      (*mem)->region().hugepages() ? "true" : "false", p.status().features);
  return measuring ? 0 : 1;
}
