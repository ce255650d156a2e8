// RxTracker: the generator's receive side. For every frame it finds the test
// signature (signature.hpp) right after the L4 header, and per stream counts
// packets and bytes, analyses the sequence numbers and records the latency:
//
//     auto rx = RxTracker::create({.max_streams = 256, .tsc_hz = tsc_hz});
//     for (each received frame) rx->on_frame(data, len, rdtsc());
//     StreamRxStats s = rx->final_stats(stream, sent_by_the_tx_side);
//
// Sequence analysis, per stream, in 32-bit wrapping arithmetic: the stream
// expects `first_seq` first (0: the sender's first number), then one more
// than the highest number seen. A frame with
//   - seq == expected is in order;
//   - seq ahead of expected (by less than 2^31) opens a gap: the numbers
//     skipped are "missing so far";
//   - seq behind expected (by at most 2^31) is late. A window of the last
//     kWindow numbers passed (a ring bitmap of seen flags) tells a reordered
//     frame (it was missing: missing goes down by one) from a duplicate (it
//     was seen). Late by more than the window, or from before the stream's
//     first number, it cannot be told apart: late_unknown.
// Loss is only final once the sender's count is known:
//   lost = sent - (received - duplicates), never below 0.
// "missing" is the running estimate (it does not see frames lost at the end).
//
// Latency is now_tsc - tsc (the sender and the receiver share the host's
// TSC), converted to ns with tsc_hz. A TSC from the future, or a latency over
// max_latency_ns (10 s), is counted as bad_timestamp and not recorded; the
// frame still counts for the sequence analysis.
//
// GTP-U G-PDUs are looked into: the signature follows the inner packet's
// UDP/TCP header.
//
// Frames that carry no signature (not UDP/TCP, not parsed, fewer than 16
// bytes of L4 payload: Ethernet padding does not count), a wrong magic or a stream id >= max_streams are counted as untracked (with
// the reason) and otherwise ignored.
//
// on_frame() allocates nothing, throws nothing and is O(1) (a gap of more
// than kWindow clears the 512-byte window once). One tracker per receive
// thread, not shared: read stats() from that thread or after it stopped. A
// stream should reach a single tracker (RSS keeps a 5-tuple on one queue),
// otherwise each tracker sees gaps the other one filled.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "latency_histogram.hpp"
#include "nfv/result.hpp"

namespace nfvgen {

struct RxConfig {
  uint32_t max_streams = 256;                   // stream ids 0..max_streams-1, at most 65536
  uint64_t tsc_hz = 0;                          // TSC frequency, required
  uint32_t first_seq = 0;                       // the first sequence number of every stream
  uint64_t max_latency_ns = 10'000'000'000ull;  // above this a timestamp is bad
};

// Latency summary in ns (0 when nothing was recorded). Percentiles are the
// upper edge of their histogram bucket (at most ~3% high, see LatencyHistogram).
struct LatencySummary {
  uint64_t count = 0;
  uint64_t min_ns = 0;
  uint64_t p50_ns = 0;
  uint64_t p90_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t p999_ns = 0;
  uint64_t max_ns = 0;
  double mean_ns = 0;
  double jitter_ns = 0;  // RFC 3550 6.4.1 over consecutive arrivals
};

// What the tracker counts per stream (kept by the tracker, reported in StreamRxStats).
struct StreamCounters {
  uint64_t received = 0;       // frames with this stream's signature, duplicates included
  uint64_t bytes = 0;          // their frame lengths as received (no FCS)
  uint64_t in_order = 0;       // seq == expected
  uint64_t gaps = 0;           // times seq jumped ahead
  uint64_t missing = 0;        // skipped numbers not (yet) arrived late: running loss estimate
  uint64_t reordered = 0;      // arrived after a higher number, first time seen
  uint64_t duplicates = 0;     // seen before (within the window)
  uint64_t late_unknown = 0;   // late beyond the window: reordered or duplicate, unknown
  uint64_t bad_timestamp = 0;  // TSC in the future or latency > max_latency_ns: not recorded
};

// One stream's receive counters: plain data, for JSON/CSV.
struct StreamRxStats : StreamCounters {
  uint16_t stream = 0;
  LatencySummary latency;
  // Set by final_stats(): what the sender sent and what did not arrive.
  bool sent_known = false;
  uint64_t sent = 0;
  uint64_t lost = 0;  // sent - (received - duplicates), never below 0
};

// Frames that could not be attributed to a stream, and totals of all frames.
struct RxTotals {
  uint64_t frames = 0;  // every frame given to on_frame()
  uint64_t bytes = 0;
  uint64_t untracked = 0;  // sum of the three below
  uint64_t untracked_no_signature = 0;   // not UDP/TCP, or fewer than 16 bytes of payload
  uint64_t untracked_bad_magic = 0;      // 16 bytes there, but not our magic
  uint64_t untracked_unknown_stream = 0;  // stream id >= max_streams
};

class RxTracker {
 public:
  static constexpr uint32_t kWindow = 4096;  // sequence numbers remembered per stream

  // Errc::invalid_argument for tsc_hz 0, max_streams 0 or over 65536, or a
  // max_latency_ns of 0.
  [[gnu::cold]] static nfv::Result<RxTracker> create(const RxConfig& config);

  void on_frame(const uint8_t* frame, uint32_t len, uint64_t now_tsc) noexcept;

  // Counters so far (sent_known false). A stream id >= max_streams gives zeros.
  StreamRxStats stats(uint16_t stream) const noexcept;
  // The same with the sender's count for this stream: sets sent and lost.
  StreamRxStats final_stats(uint16_t stream, uint64_t sent) const noexcept;
  // Bins, merging across streams or trackers.
  const LatencyHistogram& histogram(uint16_t stream) const noexcept;
  const RxTotals& totals() const noexcept { return totals_; }
  uint32_t max_streams() const noexcept { return static_cast<uint32_t>(streams_.size()); }

  // Clears every counter and window (between trials); keeps the configuration.
  void reset() noexcept;

 private:
  struct StreamState : StreamCounters {
    uint32_t expected = 0;  // next sequence number in order
    uint32_t passed = 0;    // numbers behind `expected` the window knows about, <= kWindow
    // Bit (s % kWindow) is set when s in [expected - passed, expected) was seen.
    std::array<uint64_t, kWindow / 64> seen{};
    LatencyHistogram latency;
  };

  explicit RxTracker(const RxConfig& c);
  void on_sequence(StreamState& s, uint32_t seq) noexcept;
  void on_latency(StreamState& s, uint64_t tx_tsc, uint64_t now_tsc) noexcept;

  RxConfig config_;
  double ns_per_tick_;
  uint64_t max_latency_ticks_;  // max_latency_ns in TSC ticks
  std::vector<StreamState> streams_;
  RxTotals totals_;
};

}  // namespace nfvgen
