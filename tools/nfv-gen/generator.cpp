// Generator (see the header).
#include "generator.hpp"


#include <algorithm>
#include <chrono>
#include <thread>

#include "nfv/cpu.hpp"
#include "nfv/vhost_user/port.hpp"

namespace nfvgen {

std::atomic<bool> g_stop{false};

namespace {

constexpr uint32_t kBurst = 32;
constexpr uint32_t kBufferSize = 2304;
constexpr uint32_t kHeadroom = 140;
constexpr uint32_t kMaxFrame = kBufferSize - kHeadroom;

}  // namespace

nfv::Result<std::unique_ptr<Generator>> Generator::create(const GeneratorOptions& o) {
  if (o.streams.empty()) return nfv::make_error(nfv::Errc::invalid_argument, "no streams: give at least one --stream");
  if (o.streams.size() > 65535) return nfv::make_error(nfv::Errc::invalid_argument, "at most 65535 streams");
  std::unique_ptr<Generator> g(new Generator());
  g->options_ = o;
  for (const StreamSpec& s : o.streams) {
    auto t = StreamTemplate::build(s);
    if (!t) return std::move(t).error();
    if (t->max_frame_size() > kMaxFrame) {
      return nfv::make_error(nfv::Errc::unsupported, "stream " + s.name + ": frames above " +
                                                         std::to_string(kMaxFrame) +
                                                         " bytes (one buffer) are not supported yet");
    }
    g->max_stream_id_ = std::max<uint32_t>(g->max_stream_id_, t->id());
    g->templates_.push_back(std::move(*t));
  }
  g->next_seq_.assign(o.streams.size(), 0);
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
  nfv::PacketPoolConfig pc;
  pc.count = 8192;
  pc.buffer_size = kBufferSize;
  pc.headroom = kHeadroom;
  auto mem = nfv::PacketMemory::create(nfv::PacketPool::region_bytes(pc) + (4u << 20), nfv::Hugepages::prefer,
                                       "nfv-gen");
  if (!mem) return std::move(mem).error();
  g->memory_ = std::move(*mem);
  auto pool = g->memory_->create_pool(pc);
  if (!pool) return std::move(pool).error();
  g->pool_ = *pool;
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
  TrialResult r;
  r.offered_pps = t.rate_pps;
  auto made = RxTracker::create(RxConfig{.max_streams = max_stream_id_ + 1, .tsc_hz = tsc_hz_});
  if (!made) return r;  // not reached: tsc_hz > 0 and ids < 65536 were checked
  RxTracker& tracker = *made;
  // Every trial numbers its frames from 0: the tracker expects that, and
  // stragglers of an earlier trial are drained before it ends.
  std::fill(next_seq_.begin(), next_seq_.end(), 0);
  r.stream_tx.assign(templates_.size(), 0);
  nfv::QueuePair& txq = ports_[0]->queue_pair(0);
  nfv::QueuePair& rxq = ports_.back()->queue_pair(0);
  const uint64_t hz = tsc_hz_;
  const uint64_t start = nfv::read_tsc();
  const uint64_t send_end = t.count ? UINT64_MAX : start + static_cast<uint64_t>(t.seconds * static_cast<double>(hz));
  const double per_tsc = t.rate_pps / static_cast<double>(hz);
  uint64_t next_service = start + hz / 100, next_progress = start + hz;
  uint64_t last_tx = 0, last_rx = 0, sending_until = 0;
  std::size_t stream = 0;
  const std::size_t nstreams = templates_.size();
  nfv::Packet* out[kBurst];
  nfv::Packet* in[kBurst];
  bool sending = true;
  uint64_t drain_end = 0;
  for (;;) {
    const uint64_t now = nfv::read_tsc();
    if (sending) {
      uint64_t budget = kBurst;
      if (t.rate_pps > 0) {
        const auto allowed = static_cast<uint64_t>(static_cast<double>(now - start) * per_tsc);
        budget = allowed > r.tx_packets ? std::min<uint64_t>(kBurst, allowed - r.tx_packets) : 0;
      }
      if (t.count) budget = std::min(budget, t.count - r.tx_packets);
      const auto n = static_cast<uint32_t>(budget);
      if (n > 0 && pool_->alloc_bulk(out, n)) {
        // The buffers were last read by the back-end (another core): ask for
        // all their first two lines at once rather than miss on each in turn.
        for (uint32_t i = 0; i < n; ++i) {
          __builtin_prefetch(out[i]->data() - 12, 1);
          __builtin_prefetch(out[i]->data() + 52, 1);
        }
        for (uint32_t i = 0; i < n; ++i) {
          nfv::Packet* p = out[i];
          const uint32_t len = templates_[stream].write(p->data(), p->tailroom(), next_seq_[stream], now);
          p->set_length(len);
          p->user32 = static_cast<uint32_t>(stream);
          ++next_seq_[stream];
          if (++stream == nstreams) stream = 0;
        }
        // Count before sending: the packets belong to the port afterwards.
        uint64_t bytes[kBurst];
        uint32_t sid[kBurst];
        for (uint32_t i = 0; i < n; ++i) bytes[i] = out[i]->length(), sid[i] = out[i]->user32;
        const uint32_t sent = txq.tx_burst(out, n);
        for (uint32_t i = 0; i < sent; ++i) {
          r.tx_bytes += bytes[i];
          ++r.stream_tx[sid[i]];
        }
        r.tx_packets += sent;
        if (sent < n) {
          // Refused frames never went out: give their sequence numbers back
          // (they were the last ones of each stream) so the receiver sees no gap.
          nfv::PacketPool::free_bulk(out + sent, n - sent);
          r.tx_refused += n - sent;
          for (uint32_t i = sent; i < n; ++i) --next_seq_[sid[i]];
          stream = sid[sent];
        }
      } else if (n > 0) {
        ++r.no_buffer;
      }
      if (now >= send_end || (t.count && r.tx_packets >= t.count) || g_stop.load(std::memory_order_relaxed)) {
        sending = false;
        sending_until = now;
        drain_end = now + static_cast<uint64_t>(t.drain_s * static_cast<double>(hz));
      }
    }
    const uint32_t got = rxq.rx_burst(in, kBurst);
    for (uint32_t i = 0; i < got; ++i) {
      r.rx_bytes += in[i]->length();
      tracker.on_frame(in[i]->data(), in[i]->length(), now);
    }
    r.rx_packets += got;
    nfv::PacketPool::free_bulk(in, got);
    if (!sending && now >= drain_end) break;
    if (now >= next_service) [[unlikely]] {
      next_service = now + hz / 100;
      service();
      if (t.progress && now >= next_progress) {
        const double el = static_cast<double>(now - start) / static_cast<double>(hz);
        t.progress(el, static_cast<double>(r.tx_packets - last_tx), static_cast<double>(r.rx_packets - last_rx));
        last_tx = r.tx_packets, last_rx = r.rx_packets;
        next_progress += hz;
      }
    }
  }
  r.seconds = static_cast<double>((sending_until ? sending_until : nfv::read_tsc()) - start) / static_cast<double>(hz);
  r.tx_pps = r.seconds > 0 ? static_cast<double>(r.tx_packets) / r.seconds : 0;
  r.rx_pps = r.seconds > 0 ? static_cast<double>(r.rx_packets) / r.seconds : 0;
  r.untracked = tracker.totals().untracked;
  for (std::size_t s = 0; s < nstreams; ++s) {
    r.streams.push_back(tracker.final_stats(templates_[s].id(), r.stream_tx[s]));
    r.latency_bins.push_back(tracker.histogram(templates_[s].id()).bins());
  }
  return r;
}

}  // namespace nfvgen
