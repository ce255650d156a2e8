// NetRxQueue / NetTxQueue: virtio-net receive and transmit on a split
// virtqueue, driver side, with zero-copy packet buffers.
//
// Receive (virtio 1.2 5.1.6.3, 5.1.6.4): every free descriptor holds one
// device-writable pool buffer starting 12 bytes before the packet's data
// offset, so the device writes the virtio-net header into the headroom and
// the frame where the VNF expects it. With VIRTIO_NET_F_MRG_RXBUF a frame
// spans `num_buffers` buffers (the first holds the header); they become one
// Packet chain. Without it every frame fits one buffer. receive() refills the
// ring from the pool and publishes once per burst.
//
// Transmit (5.1.6.2): one device-readable descriptor per segment; the 12-byte
// header (all zero: no offloads) is written into the packet's headroom, so a
// single-segment packet is one descriptor and no copy. Completed buffers go
// back to their pools when the ring runs low.
//
// Hostile device: lengths are checked by SplitVirtqueue (a used len beyond the
// buffer reads as 0); a used len shorter than the header, a num_buffers of 0
// or above the queue size, or a chain that runs out is dropped and counted.
// Nothing the device writes can make these classes read or write outside a
// pool buffer.
//
// Single-threaded: one owner thread per queue (the queue pair's thread).
#pragma once

#include <cstdint>
#include <optional>

#include "nfv/counter.hpp"
#include "nfv/packet.hpp"
#include "nfv/packet_pool.hpp"
#include "nfv/virtio/net.hpp"
#include "nfv/virtio/split_queue.hpp"

namespace nfv::virtio {

// How the driver notifies the device (2.7.13.3): an eventfd write (vhost-user
// SET_VRING_KICK), or in a guest a 16-bit write of the queue index to the
// queue's virtio-pci notify address (4.1.4.4), which KVM turns into an
// ioeventfd signal without an exit to the VMM.
struct Doorbell {
  Doorbell() = default;
  Doorbell(int eventfd) noexcept : fd(eventfd) {}  // NOLINT: an eventfd is the common case
  Doorbell(uint16_t* notify, uint16_t queue_index) noexcept : mmio(notify), queue(queue_index) {}
  int fd = -1;
  uint16_t* mmio = nullptr;
  uint16_t queue = 0;
};

struct NetQueueCounters {
  Counter packets;
  Counter bytes;
  Counter kicks;          // eventfd writes to the device
  // receive drops
  Counter no_buffer;      // refill found the pool empty (ring left short)
  Counter bad_length;     // used len shorter than the header or 0
  Counter bad_merge;      // num_buffers 0 or above the queue size
  // transmit drops
  Counter no_headroom;    // less than 12 bytes of headroom for the header
  Counter foreign_buffer; // buffer outside the memory the device knows
  Counter too_many_segments;
  Counter ring_full;      // packets refused because the ring was full (not dropped: returned)
};

class NetRxQueue {
 public:
  NetRxQueue() = default;
  // Takes a fresh queue; `pool` (the owner thread's) supplies receive buffers.
  void attach(SplitVirtqueue queue, PacketPool& pool, bool mergeable, Doorbell kick) noexcept;
  bool attached() const noexcept { return q_.has_value(); }
  // Cold: frees every posted buffer and any partial frame, drops the queue.
  void detach() noexcept;

  // Up to `n` received frames into `out`; refills and publishes.
  uint32_t receive(Packet** out, uint32_t n) noexcept;
  // Posts buffers on every free descriptor (receive() calls it).
  void refill() noexcept;

  bool set_interrupts(bool enable) noexcept { return q_->set_interrupts(enable); }
  const NetQueueCounters& counters() const noexcept { return counters_; }
  // Ring-level counters (device errors...), kept across re-created queues:
  // pass ring_counters() in the SplitQueueConfig of every queue attached here.
  SplitQueueCounters* ring_counters() noexcept { return &ring_counters_; }
  const SplitQueueCounters& ring_counters() const noexcept { return ring_counters_; }

 private:
  void kick() noexcept;

  std::optional<SplitVirtqueue> q_;
  PacketPool* pool_ = nullptr;
  bool mergeable_ = false;
  bool prefetchw_ = false;  // has_prefetchw(), asked once at attach
  Doorbell kick_;
  uint32_t buffer_offset_ = 0;  // where a posted buffer starts (headroom - 12)
  uint32_t buffer_len_ = 0;     // bytes the device may write
  // A mergeable frame whose later buffers are not used yet.
  Packet* partial_head_ = nullptr;
  Packet* partial_tail_ = nullptr;
  uint32_t partial_left_ = 0;
  NetQueueCounters counters_;
  SplitQueueCounters ring_counters_;
};

class NetTxQueue {
 public:
  NetTxQueue() = default;
  // `region_base`: the shared region the device knows; packets from other
  // regions are dropped (foreign_buffer).
  void attach(SplitVirtqueue queue, const std::byte* region_base, Doorbell kick) noexcept;
  bool attached() const noexcept { return q_.has_value(); }
  // Cold: frees every packet still in flight, drops the queue.
  void detach() noexcept;

  // Queues up to `n` packets; returns how many it took (sent or dropped and
  // counted). Packets [ret, n) stay with the caller (ring full).
  uint32_t transmit(Packet* const* pkts, uint32_t n) noexcept;
  // Frees completed buffers; returns how many.
  uint32_t reclaim() noexcept;

  const NetQueueCounters& counters() const noexcept { return counters_; }
  // Ring-level counters (device errors...), kept across re-created queues:
  // pass ring_counters() in the SplitQueueConfig of every queue attached here.
  SplitQueueCounters* ring_counters() noexcept { return &ring_counters_; }
  const SplitQueueCounters& ring_counters() const noexcept { return ring_counters_; }

 private:
  void kick() noexcept;
  bool drop_reason(const Packet* p) noexcept;  // counts and returns true if p cannot be sent

  std::optional<SplitVirtqueue> q_;
  const std::byte* region_base_ = nullptr;
  Doorbell kick_;
  NetQueueCounters counters_;
  SplitQueueCounters ring_counters_;
};

}  // namespace nfv::virtio
