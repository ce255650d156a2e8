// Generator: nfv-gen's engine. One pinned thread sends the configured streams
// out of the tx port at a paced rate and counts what comes back on the rx
// port (the same port or another), with the signature each frame carries.
//
// Pacing: a TSC token bucket. At every round the generator may send
// floor((now - start) * rate / tsc_hz) - sent frames, at most 32 (one burst);
// rate 0 means as fast as the port takes them. Frames the port refuses (ring
// full) are freed and counted as tx_refused, never as sent.
//
// A trial (run()) sends for `seconds` (or `count` frames), then keeps
// receiving for `drain` so that frames in flight are counted, and returns the
// counters per stream. The control work (port service, progress line) runs on
// the same thread every 10 ms: a generator has no other thread to share the
// core with.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nfv/packet_memory.hpp"
#include "nfv/port.hpp"
#include "nfv/result.hpp"
#include "rx_tracker.hpp"
#include "stream.hpp"

namespace nfvgen {

struct GeneratorOptions {
  std::string tx_port;             // "vhost-user:PATH[,server]..."
  std::string rx_port;             // empty: the tx port
  std::vector<StreamSpec> streams;
  int cpu = -1;                    // pin the generator thread
  double connect_timeout_s = 30;
};

struct TrialOptions {
  double rate_pps = 0;   // total over all streams; 0: unpaced
  double seconds = 10;
  uint64_t count = 0;    // frames to send (0: by seconds)
  double drain_s = 0.5;
  // Called about every second while sending: (elapsed s, tx pps, rx pps over the last second).
  std::function<void(double, double, double)> progress;
};

struct TrialResult {
  double seconds = 0;        // sending time
  double offered_pps = 0;    // requested (0: unpaced)
  double tx_pps = 0;         // achieved
  double rx_pps = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, rx_packets = 0, rx_bytes = 0;
  uint64_t tx_refused = 0;   // the port's ring was full: freed, not sent
  uint64_t no_buffer = 0;    // rounds the pool had no free buffer
  uint64_t untracked = 0;    // received frames without a known signature
  std::vector<StreamRxStats> streams;
  std::vector<std::vector<LatencyHistogram::Bin>> latency_bins;  // per stream, for plots
  std::vector<uint64_t> stream_tx;  // frames sent per stream
};

extern std::atomic<bool> g_stop;  // set by SIGINT/SIGTERM handlers of the program

class Generator {
 public:
  static nfv::Result<std::unique_ptr<Generator>> create(const GeneratorOptions& options);
  ~Generator();
  // Waits for the links (bounded by connect_timeout_s).
  nfv::Status connect();
  TrialResult run(const TrialOptions& trial);
  uint64_t tsc_hz() const noexcept { return tsc_hz_; }
  // Mean frame size over the streams (sent round robin), without FCS.
  double mean_frame_size() const noexcept;

 private:
  Generator() = default;
  void service() noexcept;

  GeneratorOptions options_;
  std::unique_ptr<nfv::PacketMemory> memory_;
  nfv::PacketPool* pool_ = nullptr;
  std::vector<std::unique_ptr<nfv::Port>> ports_;  // [0] tx, [1] rx when different
  std::vector<StreamTemplate> templates_;
  std::vector<uint64_t> next_seq_;  // per stream, across trials
  uint64_t tsc_hz_ = 0;
  uint32_t max_stream_id_ = 0;
};

}  // namespace nfvgen
