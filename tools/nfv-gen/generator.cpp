// Generator: set-up, links and stream changes (the send/receive loop is in
// generator_run.cpp; see the header for both).
#include "generator.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "nfv/cpu.hpp"
#include "nfv/vhost_user/port.hpp"
#include "nfv/virtio/ring.hpp"

namespace nfvgen {

std::atomic<bool> g_stop{false};

namespace {

constexpr uint32_t kBufferSize = 2304;
constexpr uint32_t kHeadroom = 140;
static_assert(Generator::kMaxFrame == kBufferSize - kHeadroom);

nfv::Result<std::vector<StreamTemplate>> build_templates(const std::vector<StreamSpec>& specs) {
  std::vector<StreamTemplate> out;
  for (const StreamSpec& s : specs) {
    auto t = StreamTemplate::build(s);
    if (!t) return std::move(t).error();
    if (t->max_frame_size() > Generator::kMaxFrame) {
      return nfv::make_error(nfv::Errc::unsupported, "stream " + s.name + ": frames above " +
                                                         std::to_string(Generator::kMaxFrame) +
                                                         " bytes (one buffer) are not supported yet");
    }
    out.push_back(std::move(*t));
  }
  return out;
}

}  // namespace

nfv::Result<std::unique_ptr<Generator>> Generator::create(const GeneratorOptions& o) {
  if (o.streams.empty() && !o.replay)
    return nfv::make_error(nfv::Errc::invalid_argument, "no streams: give at least one --stream");
  if (!o.streams.empty() && o.replay)
    return nfv::make_error(nfv::Errc::invalid_argument, "--pcap replaces the streams; expected one or the other");
  if (o.streams.size() > 65535) return nfv::make_error(nfv::Errc::invalid_argument, "at most 65535 streams");
  std::unique_ptr<Generator> g(new Generator());
  g->options_ = o;
  auto templates = build_templates(o.streams);
  if (!templates) return std::move(templates).error();
  g->templates_ = std::move(*templates);
  for (const auto& t : g->templates_) g->max_stream_id_ = std::max<uint32_t>(g->max_stream_id_, t.id());
  g->next_seq_.assign(o.replay ? 1 : o.streams.size(), 0);
  if (o.cpu >= 0) {
    if (auto s = nfv::pin_current_thread(o.cpu); !s) return std::move(s).error();
  }
  std::vector<std::string> specs = {o.tx_port};
  if (!o.rx_port.empty() && o.rx_port != o.tx_port) specs.push_back(o.rx_port);
  std::vector<nfv::VhostUserPortConfig> configs;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto c = nfv::parse_vhost_user_spec(specs[i]);
    if (!c) return std::move(c).error();
    c->name = i == 0 ? "tx" : "rx";
    c->queue_pairs = 1;
    // Deep rings by default: they absorb the back-end's pauses (with 256
    // entries testpmd macswap at 2.5 Mpps lost a few frames per million here).
    if (specs[i].find("queue-size=") == std::string::npos) c->queue_size = 1024;
    configs.push_back(std::move(*c));
  }
  // Pools follow the rings (tx_buffers.hpp): the tx pool outlasts a full tx
  // ring, since sent buffers only come back when the ring runs low; the rx
  // pool refills every port's receive ring. Transmit buffers are ours alone,
  // so their contents can be reused (see the header).
  uint32_t rx_ring_total = 0;
  std::size_t ring_bytes = 0;
  for (const auto& c : configs) {
    rx_ring_total += c.queue_size;
    // Each port carves an rx and a tx ring, page aligned.
    ring_bytes += 2 * (nfv::virtio::split_ring_layout(c.queue_size, nfv::virtio::kSeparateUsedAlign).total_size + 4096);
  }
  nfv::PacketPoolConfig rx_pc{
      .count = rx_pool_buffers(rx_ring_total), .buffer_size = kBufferSize, .headroom = kHeadroom};
  nfv::PacketPoolConfig tx_pc{
      .count = tx_pool_buffers(configs[0].queue_size), .buffer_size = kBufferSize, .headroom = kHeadroom};
  const std::size_t bytes =
      nfv::PacketPool::region_bytes(rx_pc) + nfv::PacketPool::region_bytes(tx_pc) + ring_bytes + (1u << 20);
  auto mem = nfv::PacketMemory::create(bytes, nfv::Hugepages::prefer, "nfv-gen");
  if (!mem) {
    return nfv::make_error(mem.error().code, "packet memory for queue-size " + std::to_string(configs[0].queue_size) +
                                                 " (" + std::to_string(tx_pc.count) + " tx and " +
                                                 std::to_string(rx_pc.count) + " rx buffers, " +
                                                 std::to_string(bytes >> 20) + " MiB): " + mem.error().message);
  }
  g->memory_ = std::move(*mem);
  auto pool = g->memory_->create_pool(rx_pc);
  if (!pool) return std::move(pool).error();
  g->pool_ = *pool;
  auto tx_pool = g->memory_->create_pool(tx_pc);
  if (!tx_pool) return std::move(tx_pool).error();
  g->tx_pool_ = *tx_pool;
  // The invariant the sending loop relies on (a pool smaller than this starves: tx_buffers.hpp).
  if (g->tx_pool_->capacity() < tx_pool_buffers(configs[0].queue_size)) {
    return nfv::make_error(nfv::Errc::resource, "tx pool of " + std::to_string(g->tx_pool_->capacity()) +
                                                    " buffers is smaller than the tx ring (" +
                                                    std::to_string(configs[0].queue_size) + ") plus two bursts");
  }
  g->stage_ = TxStage(g->tx_pool_);
  g->stamps_.assign(g->tx_pool_->capacity(), BufferStamp{});
  nfv::PacketPool* pools[1] = {g->pool_};
  for (const auto& c : configs) {
    auto p = nfv::VhostUserPort::create(c, *g->memory_, pools);
    if (!p) return std::move(p).error();
    g->ports_.push_back(std::move(*p));
  }
  g->tsc_hz_ = nfv::measure_tsc_hz();
  return g;
}

Generator::~Generator() = default;

double Generator::mean_frame_size() const noexcept {
  if (options_.replay) return options_.replay->mean_frame_size();
  // Every size mode repeats within 12 * 9000 frames at most; sample one cycle of each.
  double sum = 0;
  constexpr uint64_t kSample = 12 * 1024;
  for (const auto& t : templates_) {
    double s = 0;
    for (uint64_t q = 0; q < kSample; ++q) s += t.frame_size(q);
    sum += s / kSample;
  }
  return templates_.empty() ? 0 : sum / static_cast<double>(templates_.size());
}

nfv::Status Generator::set_frame_size(uint32_t size) {
  if (options_.replay) return nfv::make_error(nfv::Errc::invalid_argument, "a pcap replay has the frame sizes it has");
  std::vector<StreamSpec> specs = options_.streams;
  for (StreamSpec& s : specs) s.size = {SizeMode::fixed, size, size};
  auto templates = build_templates(specs);
  if (!templates) return std::move(templates).error();
  templates_ = std::move(*templates);
  options_.streams = std::move(specs);
  // The constant bytes did not change, but the high-water marks are per size: start afresh.
  std::fill(stamps_.begin(), stamps_.end(), BufferStamp{});
  return {};
}

void Generator::service() noexcept {
  for (auto& p : ports_) p->service();
}

nfv::Status Generator::connect() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.connect_timeout_s);
  for (;;) {
    service();
    if (std::all_of(ports_.begin(), ports_.end(), [](const auto& p) { return p->link_up(); })) return {};
    if (g_stop.load() || std::chrono::steady_clock::now() > deadline) {
      std::string why;
      for (const auto& p : ports_) {
        if (!p->link_up()) why += " " + p->status().path + ": " + p->status().last_error;
      }
      return nfv::make_error(nfv::Errc::timeout, "no back-end answered on" + why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TrialResult Generator::run(const TrialOptions& t) {
  return options_.replay ? run_impl<true>(t) : run_impl<false>(t);
}

}  // namespace nfvgen
