// Generator::run(): the send/receive loop of one trial (see generator.hpp).
#include <sched.h>

#include <algorithm>
#include <cstring>

#include "generator.hpp"
#include "nfv/cpu.hpp"

namespace nfvgen {

namespace {
constexpr uint32_t kBurst = kTxBurst;
constexpr uint32_t kYieldAfterIdleRounds = 4;
}  // namespace

// Writes n frames into out[] (fresh from tx_pool_), sets their lengths and
// sid[i] (stream index); advances the round robin and the sequence numbers.
template <>
uint64_t Generator::fill<false>(nfv::Packet** out, uint32_t n, uint32_t* sid, uint64_t now) noexcept {
  std::size_t stream = next_stream_;
  const std::size_t nstreams = templates_.size();
  uint64_t warm = 0;
  for (uint32_t i = 0; i < n; ++i) {
    nfv::Packet* p = out[i];
    BufferStamp& st = stamps_[p->index()];
    const auto owner = static_cast<uint32_t>(stream + 1);
    const bool same = st.owner == owner;
    warm += same;
    st.owner = owner;
    p->set_length(templates_[stream].write(p->data(), p->tailroom(), next_seq_[stream], now, same, st.zero_to));
    sid[i] = static_cast<uint32_t>(stream);
    ++next_seq_[stream];
    if (++stream == nstreams) stream = 0;
  }
  next_stream_ = stream;
  return warm;
}

// Replay: frame next_seq_[0] of the trace, in order, looping; a buffer that
// already holds that frame is sent as it is.
template <>
uint64_t Generator::fill<true>(nfv::Packet** out, uint32_t n, uint32_t* sid, uint64_t) noexcept {
  const PcapTrace& trace = *options_.replay;
  std::size_t k = next_stream_;  // frame position in the trace
  uint64_t warm = 0;
  for (uint32_t i = 0; i < n; ++i) {
    nfv::Packet* p = out[i];
    BufferStamp& st = stamps_[p->index()];
    const auto frame = trace.frame(k);
    const auto owner = static_cast<uint32_t>(k + 1);
    if (st.owner != owner) {
      std::memcpy(p->data(), frame.data(), frame.size());
      st.owner = owner;
    } else {
      ++warm;
    }
    p->set_length(static_cast<uint32_t>(frame.size()));
    sid[i] = 0;
    if (++k == trace.size()) k = 0;
  }
  next_stream_ = k;
  next_seq_[0] += n;
  return warm;
}

template <bool kReplay>
TrialResult Generator::run_impl(const TrialOptions& t) {
  TrialResult r;
  r.offered_pps = t.rate_pps;
  auto made = RxTracker::create(RxConfig{.max_streams = max_stream_id_ + 1, .tsc_hz = tsc_hz_});
  if (!made) return r;  // not reached: tsc_hz > 0 and ids < 65536 were checked
  RxTracker& tracker = *made;
  // Every trial numbers its frames from 0 and starts the round robin (or the
  // trace) from the start: the tracker expects that, and stragglers of an
  // earlier trial are drained before it ends.
  std::fill(next_seq_.begin(), next_seq_.end(), 0);
  next_stream_ = 0;
  warm_writes_ = 0;
  const std::size_t nstreams = kReplay ? 1 : templates_.size();
  r.stream_tx.assign(nstreams, 0);
  nfv::QueuePair& txq = ports_[0]->queue_pair(0);
  nfv::QueuePair& rxq = ports_.back()->queue_pair(0);
  const uint64_t hz = tsc_hz_;
  const double hz_d = static_cast<double>(hz);
  const uint64_t start = nfv::read_tsc();
  const uint64_t send_end = t.count ? UINT64_MAX : start + static_cast<uint64_t>(t.seconds * hz_d);
  const double per_tsc = t.rate_pps / hz_d;
  const auto gap_ticks = static_cast<uint64_t>(t.burst_gap_s * hz_d);
  uint64_t next_service = start + hz / 100, next_progress = start + hz;
  uint64_t last_tx = 0, last_rx = 0, sending_until = 0;
  // Token bucket of the current burst (or of the whole trial): since pace_start, pace_base frames before.
  uint64_t pace_start = start, pace_base = 0;
  uint64_t burst_left = t.burst ? t.burst : UINT64_MAX, idle_until = 0;
  nfv::Packet* out[kBurst];
  nfv::Packet* in[kBurst];
  uint32_t sid[kBurst];
  uint32_t bytes[kBurst];
  bool sending = true;
  uint64_t drain_end = 0;
  uint64_t write_ticks = 0, send_ticks_busy = 0, written = 0;  // the generator's own per-frame work
  const bool yield = options_.idle == GeneratorOptions::Idle::yield;
  uint32_t idle_rounds = 0;
  for (;;) {
    const uint64_t now = nfv::read_tsc();
    uint32_t sent = 0;
    if (sending) {
      uint64_t budget = 0;
      if (now >= idle_until) {
        if (burst_left == 0) {  // the gap is over: a new burst, a new bucket
          burst_left = t.burst;
          pace_start = now;
          pace_base = r.tx_packets;
        }
        budget = std::min<uint64_t>(kBurst, burst_left);
        if (t.rate_pps > 0) {
          const auto allowed = static_cast<uint64_t>(static_cast<double>(now - pace_start) * per_tsc);
          const uint64_t done = r.tx_packets - pace_base;
          budget = allowed > done ? std::min(budget, allowed - done) : 0;
        }
        if (t.count) budget = std::min(budget, t.count - r.tx_packets);
      }
      const auto n = static_cast<uint32_t>(budget);
      if (n > 0 && stage_.take(out, n)) {
        warm_writes_ += fill<kReplay>(out, n, sid, now);
        const uint64_t filled = nfv::read_tsc();
        // Count before sending: the packets belong to the port afterwards.
        for (uint32_t i = 0; i < n; ++i) bytes[i] = out[i]->length();
        sent = txq.tx_burst(out, n);
        write_ticks += filled - now;
        send_ticks_busy += nfv::read_tsc() - now;
        written += n;
        for (uint32_t i = 0; i < sent; ++i) {
          r.tx_bytes += bytes[i];
          ++r.stream_tx[sid[i]];
        }
        r.tx_packets += sent;
        if (burst_left != UINT64_MAX) {
          burst_left -= sent;
          if (burst_left == 0) {
            ++r.bursts;
            idle_until = now + gap_ticks;
          }
        }
        if (sent < n) {
          // Refused frames never went out: give their sequence numbers back
          // (they were the last ones of each stream) so the receiver sees no gap.
          nfv::PacketPool::free_bulk(out + sent, n - sent);
          r.tx_refused += n - sent;
          if constexpr (kReplay) {
            const std::size_t frames = options_.replay->size();
            next_stream_ = (next_stream_ + frames - (n - sent) % frames) % frames;
            next_seq_[0] -= n - sent;
          } else {
            for (uint32_t i = sent; i < n; ++i) --next_seq_[sid[i]];
            next_stream_ = sid[sent];
          }
        }
      } else if (n > 0) {
        ++r.no_buffer;
      }
      if (now >= send_end || (t.count && r.tx_packets >= t.count) || g_stop.load(std::memory_order_relaxed)) {
        sending = false;
        sending_until = now;
        drain_end = now + static_cast<uint64_t>(t.drain_s * hz_d);
      }
    }
    const uint32_t got = rxq.rx_burst(in, kBurst);
    for (uint32_t i = 0; i < got; ++i) {
      r.rx_bytes += in[i]->length();
      if constexpr (!kReplay) tracker.on_frame(in[i]->data(), in[i]->length(), now);
    }
    r.rx_packets += got;
    nfv::PacketPool::free_bulk(in, got);
    if (yield) {
      if (sent || got) {
        idle_rounds = 0;
      } else if (++idle_rounds >= kYieldAfterIdleRounds) {
        idle_rounds = 0;
        sched_yield();
        ++r.yields;
      }
    }
    if (!sending && now >= drain_end) break;
    if (now >= next_service) [[unlikely]] {
      next_service = now + hz / 100;
      service();
      if (t.progress && now >= next_progress && sending) {
        Progress p{.elapsed_s = static_cast<double>(now - start) / hz_d,
                   .tx_pps = static_cast<double>(r.tx_packets - last_tx),
                   .rx_pps = static_cast<double>(r.rx_packets - last_rx),
                   .tx_packets = r.tx_packets,
                   .rx_packets = r.rx_packets};
        LatencyHistogram all;
        for (const auto& tpl : templates_) {
          p.missing += tracker.stats(tpl.id()).missing;
          all.merge(tracker.histogram(tpl.id()));
        }
        p.p99_ns = all.percentile(99);
        t.progress(p);
        last_tx = r.tx_packets, last_rx = r.rx_packets;
        next_progress += hz;
      }
    }
  }
  const uint64_t send_ticks = (sending_until ? sending_until : nfv::read_tsc()) - start;
  r.seconds = static_cast<double>(send_ticks) / hz_d;
  r.tx_pps = r.seconds > 0 ? static_cast<double>(r.tx_packets) / r.seconds : 0;
  r.rx_pps = r.seconds > 0 ? static_cast<double>(r.rx_packets) / r.seconds : 0;
  r.cycles_per_packet = r.tx_packets ? static_cast<double>(send_ticks) / static_cast<double>(r.tx_packets) : 0;
  r.warm_writes = warm_writes_;
  if (written) {
    r.write_cycles_per_packet = static_cast<double>(write_ticks) / static_cast<double>(written);
    r.send_cycles_per_packet = static_cast<double>(send_ticks_busy) / static_cast<double>(written);
  }
  r.untracked = tracker.totals().untracked;
  if constexpr (kReplay) {
    // No signatures: what the port received, against what was sent.
    StreamRxStats s;
    s.sent_known = true;
    s.sent = r.tx_packets;
    s.received = r.rx_packets;
    s.bytes = r.rx_bytes;
    s.lost = r.tx_packets > r.rx_packets ? r.tx_packets - r.rx_packets : 0;
    r.streams.push_back(s);
    r.latency_bins.emplace_back();
    r.untracked = 0;
  } else {
    for (std::size_t s = 0; s < nstreams; ++s) {
      r.streams.push_back(tracker.final_stats(templates_[s].id(), r.stream_tx[s]));
      r.latency_bins.push_back(tracker.histogram(templates_[s].id()).bins());
    }
  }
  return r;
}

template TrialResult Generator::run_impl<false>(const TrialOptions&);
template TrialResult Generator::run_impl<true>(const TrialOptions&);

}  // namespace nfvgen
