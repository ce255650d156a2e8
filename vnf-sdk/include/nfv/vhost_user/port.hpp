// VhostUserPort: an nfv::Port whose back-end is a vhost-user device (the
// nfv-switch, DPDK's net_vhost / vhost library, any vhost-user-net back-end).
//
// The VNF is the vhost-user FRONT-END: it owns the memory (PacketMemory, one
// memfd region holding rings and buffers) and drives the rings as the virtio
// driver. Modes:
//   client (default)  we connect to `path`; the back-end listens (DPDK
//                     net_vhost default, nfv-switch `mode = "server"`).
//   server            we listen on `path`; the back-end connects (DPDK
//                     net_vhost client=1, nfv-switch `mode = "client"`).
// The handshake runs on a thread of its own, so service() never blocks.
// Either way a lost back-end is noticed by service() (EOF on the socket), the
// queue pairs are drained (see nfv/port.hpp), and the port reconnects: the
// client retries every `reconnect_interval`, the server waits for the next
// connection. A second back-end connecting to a busy server port is refused.
// A back-end that corrupts a used ring index (the queue stops: needs_reset)
// is disconnected the same way, so that the rings are re-created.
//
// Features: VERSION_1 is required; MRG_RXBUF, EVENT_IDX, IN_ORDER and MQ are
// used when the back-end offers them and the config allows. No offloads: the
// transmit header is all zero and received frames are complete.
//
// Counters: per queue pair (QueuePairCounters) and per port (PortStatus:
// connects, disconnects, failed attempts, last error).
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "nfv/packet_memory.hpp"
#include "nfv/port.hpp"
#include "nfv/result.hpp"
#include "nfv/vhost_user/channel.hpp"
#include "nfv/vhost_user/frontend.hpp"

namespace nfv {

struct VhostUserPortConfig {
  std::string name;
  std::string path;
  bool server = false;
  uint16_t queue_pairs = 1;
  uint16_t queue_size = 256;  // power of two, 2..32768
  bool mergeable = true;      // VIRTIO_NET_F_MRG_RXBUF
  bool event_idx = true;      // VIRTIO_F_EVENT_IDX
  bool in_order = true;       // VIRTIO_F_IN_ORDER
  std::chrono::milliseconds reconnect_interval{100};
  std::chrono::milliseconds reply_timeout{2000};
};

// Parses "vhost-user:PATH[,server][,queues=N][,queue-size=N][,mergeable=0|1]
// [,event-idx=0|1][,in-order=0|1]" (the form VNF command lines use).
Result<VhostUserPortConfig> parse_vhost_user_spec(const std::string& spec);

class VhostUserPort final : public Port {
 public:
  // Carves the rings from `memory`; `pools[i]` refills queue pair i's receive
  // ring and must be used by the thread that drives queue pair i. In server
  // mode the socket is listening when this returns. No back-end is needed yet.
  static Result<std::unique_ptr<VhostUserPort>> create(const VhostUserPortConfig& config, PacketMemory& memory,
                                                       std::span<PacketPool* const> pools);
  ~VhostUserPort() override;

  // Both on the control thread.
  void service() override;
  PortStatus status() const override;
  const VhostUserPortConfig& config() const noexcept { return config_; }

 private:
  enum class Phase { disconnected, connecting, connected, draining };
  VhostUserPort(const VhostUserPortConfig& c, PacketMemory& m) : Port(c.name), config_(c), memory_(&m) {}
  // The handshake and ring set-up; runs on a short-lived thread of its own
  // (back-ends may take ~1 s to answer the first message) so that service()
  // never blocks the control thread. Touches only queue pairs that are down or
  // stopped, and sets them running at the end.
  Result<vhost_user::VhostUserFrontend> attach(vhost_user::UnixChannel channel);
  void finish_attach();                            // connecting -> connected / disconnected
  void lost(const Error& why);                     // connected -> draining
  void refuse_extra_connections();
  uint64_t ring_index_errors() const noexcept;  // bad used indexes over all rings (any thread may count)

  VhostUserPortConfig config_;
  PacketMemory* memory_;
  std::optional<vhost_user::UnixListener> listener_;
  std::optional<vhost_user::VhostUserFrontend> frontend_;
  std::future<Result<vhost_user::VhostUserFrontend>> pending_;  // handshake in progress
  Phase phase_ = Phase::disconnected;
  std::chrono::steady_clock::time_point next_attempt_{};
  uint64_t features_ = 0;
  uint64_t connects_ = 0, disconnects_ = 0, failed_ = 0;
  uint64_t index_errors_at_connect_ = 0;
  std::string last_error_;
};

}  // namespace nfv
