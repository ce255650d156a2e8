// Generator: nfv-gen's engine. One pinned thread sends the configured streams
// out of the tx port at a paced rate and counts what comes back on the rx
// port (the same port or another), with the signature each frame carries.
//
// Pacing: a TSC token bucket. At every round the generator may send
// floor((now - start) * rate / tsc_hz) - sent frames, at most 32 (one burst);
// rate 0 means as fast as the port takes them. Frames the port refuses (ring
// full) are freed and counted as tx_refused, never as sent.
//
// Transmit modes: continuous (for `seconds`), a fixed `count`, and bursts:
// `burst` frames back to back (paced at the rate, or unpaced), then
// `burst_gap_s` idle, repeated; each burst restarts the token bucket.
//
// What goes out: the streams round robin (StreamTemplate::write), or the
// frames of a pcap trace in order, looping (one pseudo-stream "pcap", counted
// per port: its frames carry no signature).
//
// Per-packet work: tx buffers come from a pool of their own (the ports refill
// their rx rings from another), so a buffer holds exactly what the generator
// last wrote into it. A table indexed by buffer number remembers which stream
// (or pcap frame) that was and how much of its tail is zero; a reused buffer
// only gets the bytes that change (StreamTemplate's reuse write: no padding
// to clear, and no header copy when the same stream wrote it; nothing at all
// for the same pcap frame). Buffers are allocated a round ahead and their
// first two cache lines prefetched then: the back-end (another core) read
// them last, and the round in between hides the transfer.
//
// Pools follow the rings: the tx pool holds the tx ring's queue-size plus two
// bursts, since the SDK reclaims sent buffers only when the ring runs low (a
// smaller pool ran dry first and sending stopped; see tx_buffers.hpp); the rx
// pool holds every port's receive ring plus two bursts.
//
// A trial (run()) sends for `seconds` (or `count` frames), then keeps
// receiving for `drain` so that frames in flight are counted, and returns the
// counters per stream. The control work (port service, progress line) runs on
// the same thread every 10 ms: a generator has no other thread to share the
// core with.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nfv/packet_memory.hpp"
#include "nfv/port.hpp"
#include "nfv/result.hpp"
#include "pcap_trace.hpp"
#include "rx_tracker.hpp"
#include "stream.hpp"
#include "tx_buffers.hpp"

namespace nfvgen {

struct GeneratorOptions {
  std::string tx_port;             // "vhost-user:PATH[,server]..."
  std::string rx_port;             // empty: the tx port
  std::vector<StreamSpec> streams;
  std::shared_ptr<const PcapTrace> replay;  // set: send these frames instead of streams
  int cpu = -1;                    // pin the generator thread
  // poll: spin whatever happens. yield: after kYieldAfterIdleRounds rounds in a row that sent
  // and received nothing (the tx ring full, or pacing), sched_yield() so that a switch or VNF
  // sharing this CPU runs at once rather than at the scheduler's next tick.
  enum class Idle { poll, yield } idle = Idle::poll;
  double connect_timeout_s = 30;
};

// What the progress callback gets about once a second while sending.
struct Progress {
  double elapsed_s = 0;
  double tx_pps = 0, rx_pps = 0;  // over the last second
  uint64_t tx_packets = 0, rx_packets = 0;
  uint64_t missing = 0;  // gaps in the sequence numbers so far (tracked streams)
  uint64_t p99_ns = 0;   // latency p99 so far over all streams
};

struct TrialOptions {
  double rate_pps = 0;   // total over all streams; 0: unpaced
  double seconds = 10;
  uint64_t count = 0;    // frames to send (0: by seconds)
  uint64_t burst = 0;    // frames per burst (0: continuous)
  double burst_gap_s = 0;  // idle time after each burst
  double drain_s = 0.5;
  std::function<void(const Progress&)> progress;
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
  uint64_t bursts = 0;       // bursts completed (burst mode)
  uint64_t warm_writes = 0;  // frames written into a buffer that already held their stream's headers
  uint64_t yields = 0;       // sched_yield() calls (--idle yield)
  double cycles_per_packet = 0;  // TSC cycles of the sending phase per frame sent (unpaced: the cost)
  // The generator's own work per frame written (refused ones included), whatever the peer's speed:
  double write_cycles_per_packet = 0;  // building frames (from the alloc's return to the last write)
  double send_cycles_per_packet = 0;   // building and handing them to the port (tx_burst included)
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
  // Mean frame size over the streams (sent round robin) or the pcap frames, without FCS.
  double mean_frame_size() const noexcept;
  // Rebuilds every stream with fixed frames of `size` bytes (RFC 2544 over
  // frame sizes). Errc::invalid_argument when a stream's headers do not fit.
  nfv::Status set_frame_size(uint32_t size);
  bool replaying() const noexcept { return options_.replay != nullptr; }
  const std::vector<StreamSpec>& streams() const noexcept { return options_.streams; }

  static constexpr uint32_t kMaxFrame = 2304 - 140;  // one buffer, without headroom

 private:
  // What a tx buffer holds: owner 0 nothing known, s + 1 stream s's headers,
  // or (replay) pcap frame owner - 1; zero_to: StreamTemplate::write()'s.
  struct BufferStamp {
    uint32_t owner = 0;
    uint32_t zero_to = 0;
  };

  Generator() = default;
  void service() noexcept;
  template <bool kReplay>
  TrialResult run_impl(const TrialOptions& trial);
  template <bool kReplay>
  uint64_t fill(nfv::Packet** out, uint32_t n, uint32_t* sid, uint64_t now) noexcept;

  GeneratorOptions options_;
  std::unique_ptr<nfv::PacketMemory> memory_;
  nfv::PacketPool* pool_ = nullptr;     // the ports' receive buffers
  nfv::PacketPool* tx_pool_ = nullptr;  // ours only: contents survive reuse
  std::vector<BufferStamp> stamps_;     // per tx buffer (Packet::index())
  TxStage stage_;                       // tx buffers allocated a round ahead (tx_buffers.hpp)
  std::size_t next_stream_ = 0;         // round robin position
  uint64_t warm_writes_ = 0;
  std::vector<std::unique_ptr<nfv::Port>> ports_;  // [0] tx, [1] rx when different
  std::vector<StreamTemplate> templates_;
  std::vector<uint64_t> next_seq_;  // per stream (replay: one, the frame number)
  uint64_t tsc_hz_ = 0;
  uint32_t max_stream_id_ = 0;
};

}  // namespace nfvgen
