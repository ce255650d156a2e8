// Packet capture: PMDs copy a port's frames into a bounded ring, the control
// thread drains it into a session buffer, and `capture.read` hands the frames
// to the client (nfvctl capture writes them to a pcap file).
//
// Data path cost: one pointer test per burst per port while no capture runs.
// While one runs, each frame of the port costs one ring-space check and, if
// there is room, one copy from a dedicated small mempool; when the ring or the
// pool is full the frame is not copied and the session's `dropped` counter
// grows: capture is lossy under load and never slows forwarding much. Copies
// stop after `count` frames. rx copies are taken as the frame arrives, tx
// copies as the PMD hands the frame to the port (after rule and VLAN
// rewrites; frames the port then refuses, counted as tx_full, are included).
//
// A copy carries a CaptureMeta (TSC, original length) in front of the frame.
// Sessions not read for kIdleTimeoutS are stopped (nfvctl was killed).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datapath.hpp"
#include "nfv/control/jsonrpc.hpp"
#include "nfv/result.hpp"

namespace nfv::sw {

struct CaptureMeta {
  uint64_t tsc;
  uint32_t orig_len;
  uint32_t reserved;
};

struct CaptureTap {
  rte_ring* ring = nullptr;
  rte_mempool* pool = nullptr;
  uint32_t snaplen = 0;
  uint64_t limit = 0;  // copies to take in all
  std::atomic<uint64_t> copied{0};
  std::atomic<uint64_t> dropped{0};  // frames seen while the ring or pool was full
};

// PMD side: copies pkts[0..n) into tap's ring, as far as there is room.
void capture_burst(CaptureTap& tap, rte_mbuf* const* pkts, uint16_t n) noexcept;

enum class CaptureDirection { rx, tx, both };

class CaptureManager {
 public:
  using FindPort = std::function<std::optional<uint16_t>(const std::string&)>;
  using Publish = std::function<void()>;

  static constexpr size_t kMaxSessions = 8;
  static constexpr unsigned kRingSize = 4096;
  static constexpr unsigned kPoolSize = 8191;
  static constexpr uint64_t kMaxCount = 1000000;
  static constexpr size_t kMaxBuffered = 8192;  // frames drained but not read yet
  static constexpr int kIdleTimeoutS = 10;

  CaptureManager(FindPort find_port, Publish publish)
      : find_port_(std::move(find_port)), publish_(std::move(publish)) {}
  ~CaptureManager();

  // The taps publish() puts into PortRuntime for `slot`.
  CaptureTap* tap_rx(uint16_t slot) const noexcept;
  CaptureTap* tap_tx(uint16_t slot) const noexcept;

  // After a publish: no PMD uses a retired tap any more; drain and free them.
  void after_publish();
  // The port in `slot` is being deleted: end its sessions (before the publish).
  void port_gone(uint16_t slot);
  // Control loop tick: drain rings, expire sessions nobody reads.
  void tick();

  void register_methods(control::JsonRpcServer& rpc);
  control::Json stats_json() const;  // per session counters (metrics)

 private:
  struct Frame {
    uint64_t ts_ns;
    uint32_t orig_len;
    std::string data;
  };
  struct Session {
    uint32_t id;
    std::string port;
    uint16_t slot;
    CaptureDirection dir;
    uint64_t count;
    std::unique_ptr<CaptureTap> tap;  // null once ended
    std::deque<Frame> frames;
    uint64_t delivered = 0;
    uint64_t dropped_buffer = 0;
    uint64_t tsc0 = 0;
    uint64_t realtime0_ns = 0;
    std::chrono::steady_clock::time_point last_read;
    std::string ended;  // why, once ended
  };

  Result<control::Json> start(const control::Json& params);
  control::Json read(Session& s, size_t max_frames, size_t max_bytes);
  void drain(Session& s);
  void end(Session& s, std::string why);
  Session* find(const control::Json& params);
  control::Json session_json(const Session& s) const;

  FindPort find_port_;
  Publish publish_;
  rte_mempool* pool_ = nullptr;
  std::map<uint32_t, Session> sessions_;
  std::vector<std::unique_ptr<CaptureTap>> retired_;
  uint32_t next_id_ = 1;
};

}  // namespace nfv::sw
