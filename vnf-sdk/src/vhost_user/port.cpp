// VhostUserPort (see the header).
#include "nfv/vhost_user/port.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include <charconv>
#include <thread>

#include "nfv/virtio/net.hpp"

namespace nfv {

using namespace std::chrono_literals;
using vhost_user::UniqueFd;
using virtio::feature_bit;

namespace {

Result<UniqueFd> make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) return make_error(Errc::resource, std::string("eventfd: ") + std::strerror(errno));
  return fd;
}

Error port_error(const VhostUserPortConfig& c, Errc code, const std::string& what) {
  return make_error(code, "port " + c.name + " (" + c.path + "): " + what);
}

bool parse_number(std::string_view s, unsigned long& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<VhostUserPortConfig> parse_vhost_user_spec(const std::string& spec) {
  const std::string prefix = "vhost-user:";
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "port '" + spec + "': " + why +
                                                  "; expected vhost-user:PATH[,server][,queues=N][,queue-size=N]"
                                                  "[,mergeable=0|1][,event-idx=0|1][,in-order=0|1]");
  };
  if (spec.rfind(prefix, 0) != 0) return bad("unknown port type");
  VhostUserPortConfig c;
  std::string_view rest(spec);
  rest.remove_prefix(prefix.size());
  bool first = true;
  while (first || !rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (first) {
      if (item.empty()) return bad("the socket path is empty");
      c.path = std::string(item);
      first = false;
      continue;
    }
    if (item == "server") {
      c.server = true;
      continue;
    }
    if (item == "client") {
      c.server = false;
      continue;
    }
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return bad("unknown option '" + std::string(item) + "'");
    const std::string_view key = item.substr(0, eq);
    if (key != "queues" && key != "queue-size" && key != "mergeable" && key != "event-idx" && key != "in-order") {
      return bad("unknown option '" + std::string(key) + "'");
    }
    unsigned long v = 0;
    if (!parse_number(item.substr(eq + 1), v)) return bad("'" + std::string(item) + "' needs a number");
    if (key == "queues") {
      if (v < 1 || v > 64) return bad("queues must be 1..64");
      c.queue_pairs = static_cast<uint16_t>(v);
    } else if (key == "queue-size") {
      if (v < 2 || v > 32768 || (v & (v - 1)) != 0) return bad("queue-size must be a power of two, 2..32768");
      c.queue_size = static_cast<uint16_t>(v);
    } else if (key == "mergeable" || key == "event-idx" || key == "in-order") {
      if (v > 1) return bad(std::string(key) + " must be 0 or 1");
      (key == "mergeable" ? c.mergeable : key == "event-idx" ? c.event_idx : c.in_order) = v == 1;
    } else {
      return bad("unknown option '" + std::string(key) + "'");
    }
  }
  return c;
}

Result<std::unique_ptr<VhostUserPort>> VhostUserPort::create(const VhostUserPortConfig& config, PacketMemory& memory,
                                                             std::span<PacketPool* const> pools) {
  if (config.queue_pairs == 0 || pools.size() != config.queue_pairs) {
    return port_error(config, Errc::invalid_argument,
                      "needs one packet pool per queue pair (" + std::to_string(config.queue_pairs) + "), got " +
                          std::to_string(pools.size()));
  }
  if (!virtio::is_valid_queue_size(config.queue_size)) {
    return port_error(config, Errc::invalid_argument, "queue size must be a power of two up to 32768");
  }
  std::unique_ptr<VhostUserPort> port(new VhostUserPort(config, memory));
  const std::size_t ring_bytes = virtio::split_ring_layout(config.queue_size, virtio::kSeparateUsedAlign).total_size;
  for (uint16_t i = 0; i < config.queue_pairs; ++i) {
    if (pools[i] == nullptr || !pools[i]->owns_region(memory.region())) {
      return port_error(config, Errc::invalid_argument, "packet pool of queue pair " + std::to_string(i) +
                                                            " is not in this port's packet memory");
    }
    auto qp = std::make_unique<QueuePair>();
    qp->pool_ = pools[i];
    auto rx = memory.carve(ring_bytes, 4096);
    auto tx = memory.carve(ring_bytes, 4096);
    if (!rx || !tx) return port_error(config, Errc::resource, (rx ? tx : rx).error().message);
    qp->rx_ring_ = *rx;
    qp->tx_ring_ = *tx;
    for (UniqueFd* fd : {&qp->rx_kick_, &qp->tx_kick_, &qp->rx_call_}) {
      auto e = make_eventfd();
      if (!e) return port_error(config, Errc::resource, e.error().message);
      *fd = std::move(*e);
    }
    port->qps_.push_back(std::move(qp));
  }
  if (config.server) {
    auto l = vhost_user::UnixListener::listen(config.path);
    if (!l) return port_error(config, l.error().code, l.error().message);
    port->listener_.emplace(std::move(*l));
  }
  return port;
}

VhostUserPort::~VhostUserPort() {
  if (pending_.valid()) pending_.wait();  // bounded by the reply timeout
  // Close the connection first: the back-end stops using our memory.
  frontend_.reset();
}

Result<vhost_user::VhostUserFrontend> VhostUserPort::attach(vhost_user::UnixChannel channel) {
  vhost_user::FrontendOptions fo;
  fo.reply_timeout = config_.reply_timeout;
  auto fe = vhost_user::VhostUserFrontend::start(std::move(channel), fo);
  if (!fe) return std::move(fe).error();
  const uint64_t offered = fe->device_features();
  if ((offered & feature_bit(virtio::VIRTIO_F_VERSION_1)) == 0) {
    return make_error(Errc::unsupported, "the back-end does not offer VIRTIO_F_VERSION_1 (legacy-only devices are not supported)");
  }
  uint64_t want = feature_bit(virtio::VIRTIO_F_VERSION_1);
  if (config_.mergeable) want |= feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF);
  if (config_.event_idx) want |= feature_bit(virtio::VIRTIO_F_EVENT_IDX);
  if (config_.in_order) want |= feature_bit(virtio::VIRTIO_F_IN_ORDER);
  if (config_.queue_pairs > 1) {
    if ((offered & feature_bit(virtio::VIRTIO_NET_F_MQ)) == 0 || !fe->has(vhost_user::ProtocolFeature::mq) ||
        fe->max_queue_pairs() < config_.queue_pairs) {
      return make_error(Errc::unsupported, "the back-end supports " + std::to_string(fe->max_queue_pairs()) +
                                               " queue pair(s), the port wants " +
                                               std::to_string(config_.queue_pairs));
    }
    want |= feature_bit(virtio::VIRTIO_NET_F_MQ);
  }
  const uint64_t features = want & offered;
  if (auto s = fe->set_features(features); !s) return std::move(s).error();
  const SharedRegion& region = memory_->region();
  const vhost_user::SharedMemory table[1] = {{region.memory_region(), region.fd()}};
  if (auto s = fe->set_mem_table(table); !s) return std::move(s).error();

  const bool mergeable = (features & feature_bit(virtio::VIRTIO_NET_F_MRG_RXBUF)) != 0;
  for (uint32_t i = 0; i < qps_.size(); ++i) {
    QueuePair& qp = *qps_[i];
    for (bool is_rx : {true, false}) {
      std::byte* block = is_rx ? qp.rx_ring_ : qp.tx_ring_;
      virtio::SplitQueueConfig qc =
          virtio::contiguous_split_queue(config_.queue_size, block, region.driver_memory(), features,
                                         virtio::kSeparateUsedAlign);
      qc.counters = is_rx ? qp.rx_.ring_counters() : qp.tx_.ring_counters();
      auto q = virtio::SplitVirtqueue::create(qc);
      if (!q) return std::move(q).error();
      q->set_interrupts(false);  // poll mode: no calls unless the run loop arms them
      vhost_user::VringSetup v;
      v.index = is_rx ? virtio::rx_queue_index(i) : virtio::tx_queue_index(i);
      v.size = config_.queue_size;
      v.desc_addr = region.frontend_address(qc.desc);
      v.avail_addr = region.frontend_address(qc.avail);
      v.used_addr = region.frontend_address(qc.used);
      v.base = 0;
      v.kick_fd = is_rx ? qp.rx_kick_.get() : qp.tx_kick_.get();
      v.call_fd = is_rx ? qp.rx_call_.get() : -1;
      if (auto s = fe->setup_vring(v); !s) return std::move(s).error();
      // The data-path thread does not touch the queues in state down/stopped.
      if (is_rx) {
        qp.rx_.attach(std::move(*q), *qp.pool_, mergeable, qp.rx_kick_.get());
      } else {
        qp.tx_.attach(std::move(*q), region.data(), qp.tx_kick_.get());
      }
    }
  }
  for (uint32_t i = 0; i < qps_.size(); ++i) {
    if (auto s = fe->enable_vring(virtio::rx_queue_index(i), true); !s) return std::move(s).error();
    if (auto s = fe->enable_vring(virtio::tx_queue_index(i), true); !s) return std::move(s).error();
  }
  // Release: the rings attached above are visible to each data-path thread
  // before it sees `running` (its acquire load in rx_burst/tx_burst).
  for (auto& qp : qps_) qp->state_.store(QueuePair::State::running, std::memory_order_release);
  return std::move(*fe);
}

void VhostUserPort::finish_attach() {
  auto fe = pending_.get();
  if (!fe) {
    ++failed_;
    last_error_ = fe.error().message;
    spdlog::warn("port {}: handshake failed: {}; retrying", name_, fe.error().message);
    // The handshake thread is done and never set them running: nobody else touches the rings.
    for (auto& qp : qps_) {
      qp->rx_.detach();
      qp->tx_.detach();
    }
    phase_ = Phase::disconnected;
    next_attempt_ = std::chrono::steady_clock::now() + config_.reconnect_interval;
    return;
  }
  frontend_.emplace(std::move(*fe));
  features_ = frontend_->acked_features();
  ++connects_;
  index_errors_at_connect_ = ring_index_errors();
  last_error_.clear();
  phase_ = Phase::connected;
  spdlog::info("port {}: connected to {} ({} queue pair(s), features {:#x})", name_, config_.path, qps_.size(),
               features_);
}


void VhostUserPort::lost(const Error& why) {
  spdlog::warn("port {}: back-end lost ({}); draining queues, then reconnecting", name_, why.message);
  last_error_ = why.message;
  ++disconnects_;
  frontend_.reset();
  for (auto& qp : qps_) qp->state_.store(QueuePair::State::stop_requested, std::memory_order_release);
  phase_ = Phase::draining;
}

void VhostUserPort::refuse_extra_connections() {
  // One back-end at a time: later connections are accepted and closed.
  while (listener_) {
    auto extra = listener_->accept(0ms);
    if (!extra) return;
    ++failed_;
    spdlog::warn("port {}: refused a second back-end connection on {}", name_, config_.path);
  }
}

void VhostUserPort::service() {
  switch (phase_) {
    case Phase::connected: {
      if (auto s = frontend_->check_alive(); !s) {
        lost(s.error());
      } else if (ring_index_errors() != index_errors_at_connect_) {
        // A used index that ran ahead stops the queue (needs_reset): only a
        // reconnect, which re-creates the rings, brings it back.
        lost(make_error(Errc::protocol, "the back-end corrupted a used ring index; resetting the rings"));
      }
      if (config_.server && phase_ == Phase::connected) refuse_extra_connections();
      return;
    }
    case Phase::draining: {
      for (auto& qp : qps_) {
        if (qp->state_.load(std::memory_order_acquire) != QueuePair::State::stopped) return;
      }
      phase_ = Phase::disconnected;
      next_attempt_ = std::chrono::steady_clock::now();
      [[fallthrough]];
    }
    case Phase::disconnected: {
      const auto now = std::chrono::steady_clock::now();
      if (now < next_attempt_) return;
      Result<vhost_user::UnixChannel> ch =
          config_.server ? listener_->accept(0ms) : vhost_user::connect_unix(config_.path, 0ms);
      if (!ch) {
        if (!config_.server && ch.error().message != last_error_) {
          spdlog::info("port {}: waiting for the back-end at {} ({})", name_, config_.path, ch.error().message);
          last_error_ = ch.error().message;
        }
        next_attempt_ = now + config_.reconnect_interval;
        return;
      }
      // Queue pairs in `stopped` or `down` are not touched by their threads:
      // the handshake thread may (re)attach them.
      pending_ = std::async(std::launch::async,
                            [this, c = std::move(*ch)]() mutable { return attach(std::move(c)); });
      phase_ = Phase::connecting;
      return;
    }
    case Phase::connecting: {
      if (pending_.wait_for(0ms) == std::future_status::ready) finish_attach();
      return;
    }
  }
}

uint64_t VhostUserPort::ring_index_errors() const noexcept {
  uint64_t n = 0;
  for (const auto& qp : qps_) n += qp->rx_.ring_counters()->bad_used_index + qp->tx_.ring_counters()->bad_used_index;
  return n;
}

PortStatus VhostUserPort::status() const {
  PortStatus s;
  s.name = name_;
  s.type = "vhost-user";
  s.path = config_.path;
  s.mode = config_.server ? "server" : "client";
  s.link_up = phase_ == Phase::connected;
  s.queue_pairs = static_cast<uint32_t>(qps_.size());
  s.features = features_;
  s.connects = connects_;
  s.disconnects = disconnects_;
  s.failed_attempts = failed_;
  s.last_error = last_error_;
  return s;
}

}  // namespace nfv
