// nfv::Port: a virtio-net interface a VNF receives from and sends to.
//
// Data path: a port has 1..N queue pairs (one receive + one transmit
// virtqueue); each is driven by exactly one thread:
//     QueuePair& q = port.queue_pair(i);
//     q.rx_burst(batch);             // appends received packets
//     q.tx_burst(batch);             // sends; what cannot go is freed and counted
// The raw forms rx_burst(Packet**, n) / tx_burst(Packet* const*, n) work like
// DPDK's: tx returns how many it took, the rest stay with the caller.
//
// Control: the transport (vhost-user here, virtio-pci in a guest later) lives
// in a subclass whose service() the control thread calls every few
// milliseconds: it connects, negotiates, notices a lost back-end and
// reconnects. Queue pairs move through four states; the data-path thread
// reads the state once per burst (one acquire load):
//   down            no back-end: bursts return 0
//   running         rings attached (published by the control thread's release store)
//   stop_requested  the back-end went away; the data-path thread frees every
//                   buffer still in the rings and answers `stopped`
//   stopped         the control thread may re-create the rings and reconnect
// So rings and buffers are only ever touched by one thread at a time, without
// locks, and a reconnect loses no buffer (the pool count is the same after).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nfv/counter.hpp"
#include "nfv/packet.hpp"
#include "nfv/vhost_user/message.hpp"  // UniqueFd
#include "nfv/virtio/net_queue.hpp"

namespace nfv {

struct QueuePairCounters {
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t rx_no_buffer = 0;   // receive ring could not be refilled (pool empty)
  uint64_t rx_errors = 0;      // bad lengths / merges from the device
  uint64_t tx_dropped = 0;     // dropped by tx_burst(Batch&): ring full or link down
  uint64_t tx_errors = 0;      // unsendable packets (headroom, foreign buffer, segments)
  uint64_t kicks = 0;
  uint64_t device_errors = 0;  // bad used ids/lens/index written by the device
  QueuePairCounters& operator+=(const QueuePairCounters& o) noexcept;
};

class QueuePair {
 public:
  enum class State : uint32_t { down, running, stop_requested, stopped };

  QueuePair() = default;
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;
  ~QueuePair();

  // ---- data path (the queue pair's thread) ----
  uint32_t rx_burst(Packet** out, uint32_t n) noexcept {
    if (state_.load(std::memory_order_acquire) != State::running) [[unlikely]] {
      on_not_running();
      return 0;
    }
    return rx_.receive(out, n);
  }
  uint32_t tx_burst(Packet* const* pkts, uint32_t n) noexcept {
    if (state_.load(std::memory_order_acquire) != State::running) [[unlikely]] {
      on_not_running();
      return 0;
    }
    return tx_.transmit(pkts, n);
  }
  uint32_t rx_burst(Batch& b) noexcept {
    const uint32_t k = rx_burst(b.packets + b.count, b.room());
    b.count += k;
    return k;
  }
  // Sends the batch and empties it; packets that could not be queued are freed and counted.
  uint32_t tx_burst(Batch& b) noexcept;

  bool link_up() const noexcept { return state_.load(std::memory_order_relaxed) == State::running; }
  State state() const noexcept { return state_.load(std::memory_order_acquire); }

  // Adaptive idle: the eventfd the device signals when it fills the receive
  // ring (-1: none), and arming/disarming that signal. arm() returns true if
  // packets are already waiting (do not sleep then).
  int rx_notify_fd() const noexcept { return rx_call_.get(); }
  bool arm_rx_notify() noexcept;
  void disarm_rx_notify() noexcept;

  // ---- any thread ----
  QueuePairCounters counters() const noexcept;

 protected:
  friend class VhostUserPort;
  friend struct QueuePairTestAccess;  // unit tests only (tests/unit/sdk-virtio/port_test.cpp)
  void on_not_running() noexcept;  // stop_requested -> free everything -> stopped

  std::atomic<State> state_{State::down};
  virtio::NetRxQueue rx_;
  virtio::NetTxQueue tx_;
  Counter tx_dropped_;
  PacketPool* pool_ = nullptr;  // receive buffers (the thread's pool)
  std::byte* rx_ring_ = nullptr;  // ring memory in the shared region
  std::byte* tx_ring_ = nullptr;
  vhost_user::UniqueFd rx_kick_, tx_kick_, rx_call_;
};

struct PortStatus {
  std::string name;
  std::string type;        // "vhost-user"
  std::string path;        // socket
  std::string mode;        // "client" (we connect) or "server" (we listen)
  bool link_up = false;
  uint32_t queue_pairs = 0;
  uint64_t features = 0;   // negotiated virtio features
  uint64_t connects = 0;
  uint64_t disconnects = 0;
  uint64_t failed_attempts = 0;  // connections refused or handshakes that failed
  std::string last_error;
};

class Port {
 public:
  virtual ~Port() = default;
  const std::string& name() const noexcept { return name_; }
  uint16_t queue_pairs() const noexcept { return static_cast<uint16_t>(qps_.size()); }
  QueuePair& queue_pair(uint16_t i) noexcept { return *qps_[i]; }
  bool link_up() const noexcept { return qps_[0]->link_up(); }

  // Control thread: connect / notice a lost peer / reconnect. Non-blocking
  // except for a handshake in progress (bounded by its reply timeout).
  virtual void service() = 0;
  virtual PortStatus status() const = 0;
  // Sum over the queue pairs (any thread).
  QueuePairCounters counters() const noexcept;

 protected:
  explicit Port(std::string name) : name_(std::move(name)) {}
  std::string name_;
  std::vector<std::unique_ptr<QueuePair>> qps_;
};

}  // namespace nfv
