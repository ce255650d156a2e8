// QueuePair and Port: the transport-independent half of nfv::Port (see port.hpp).
#include "nfv/port.hpp"

namespace nfv {

QueuePairCounters& QueuePairCounters::operator+=(const QueuePairCounters& o) noexcept {
  rx_packets += o.rx_packets;
  rx_bytes += o.rx_bytes;
  tx_packets += o.tx_packets;
  tx_bytes += o.tx_bytes;
  rx_no_buffer += o.rx_no_buffer;
  rx_errors += o.rx_errors;
  tx_dropped += o.tx_dropped;
  tx_errors += o.tx_errors;
  kicks += o.kicks;
  device_errors += o.device_errors;
  return *this;
}

QueuePair::~QueuePair() {
  // The owner thread has stopped (ports outlive no thread): give the buffers back.
  rx_.detach();
  tx_.detach();
}

void QueuePair::on_not_running() noexcept {
  if (state_.load(std::memory_order_acquire) != State::stop_requested) return;
  // The back-end is gone: every buffer in the rings is ours again.
  rx_.detach();
  tx_.detach();
  // Release: the control thread's acquire of `stopped` sees the rings unused.
  state_.store(State::stopped, std::memory_order_release);
}

uint32_t QueuePair::tx_burst(Batch& b) noexcept {
  const uint32_t sent = tx_burst(b.packets, b.count);
  if (sent < b.count) {
    PacketPool::free_bulk(b.packets + sent, b.count - sent);
    tx_dropped_ += b.count - sent;
  }
  b.clear();
  return sent;
}

bool QueuePair::arm_rx_notify() noexcept {
  if (!link_up() || !rx_.attached()) return false;
  return rx_.set_interrupts(true);
}

void QueuePair::disarm_rx_notify() noexcept {
  if (link_up() && rx_.attached()) rx_.set_interrupts(false);
}

QueuePairCounters QueuePair::counters() const noexcept {
  const virtio::NetQueueCounters& r = rx_.counters();
  const virtio::NetQueueCounters& t = tx_.counters();
  QueuePairCounters c;
  c.rx_packets = r.packets;
  c.rx_bytes = r.bytes;
  c.tx_packets = t.packets;
  c.tx_bytes = t.bytes;
  c.rx_no_buffer = r.no_buffer;
  c.rx_errors = r.bad_length + r.bad_merge;
  c.tx_dropped = tx_dropped_;
  c.tx_errors = t.no_headroom + t.foreign_buffer + t.too_many_segments;
  c.kicks = r.kicks + t.kicks;
  for (const virtio::SplitQueueCounters* q : {&rx_.ring_counters(), &tx_.ring_counters()}) {
    c.device_errors += q->bad_used_ids + q->bad_used_lens + q->bad_used_index;
  }
  return c;
}

QueuePairCounters Port::counters() const noexcept {
  QueuePairCounters sum;
  for (const auto& q : qps_) sum += q->counters();
  return sum;
}

}  // namespace nfv
