// VirtioNetCtrlQueue: the device side of virtio-net's control virtqueue,
// served by the VMM itself (the vhost-user back-end never sees this queue).
//
// Source: virtio 1.2 5.1.6.5 "Control Virtqueue" and 5.1.6.5.5 "Automatic
// receive steering in multiqueue mode". A command is one descriptor chain:
// device-readable bytes {u8 class, u8 command, data...} then a device-writable
// byte `ack` (VIRTIO_NET_OK / VIRTIO_NET_ERR). The only command served is
// VIRTIO_NET_CTRL_MQ / VQ_PAIRS_SET (le16 pairs, 1 .. max_pairs); every other
// class or command, and a pair count out of range, is answered ERR and
// counted (a driver may probe).
//
// Guest memory is hostile (STYLE.md 5): the avail index is read once per pass
// and at most `size` new heads are taken; a chain walk follows at most `size`
// descriptors; every index and buffer is checked against the ring and guest
// RAM. A malformed chain (head or next out of range, a loop, an unmapped or
// indirect buffer, readable after writable, no writable byte for the ack, a
// command longer than kMaxCommand) is a device error: process() stops and
// returns `broken` (the caller raises NEEDS_RESET); nothing is written for it.
#pragma once

#include <cstdint>

#include "guest_memory.hpp"
#include "nfv/counter.hpp"
#include "nfv/virtio/net.hpp"

namespace nfv::vmm {

using virtio::VIRTIO_NET_CTRL_MQ;
using virtio::VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
using virtio::VIRTIO_NET_ERR;
using virtio::VIRTIO_NET_OK;

struct CtrlQueueCounters {
  Counter commands;     // chains completed
  Counter refused;      // answered VIRTIO_NET_ERR (unknown class/command, pairs out of range)
  Counter bad_chains;   // malformed chains (the device then needs a reset)
  Counter pairs_set;    // accepted VQ_PAIRS_SET
};

class VirtioNetCtrlQueue {
 public:
  static constexpr uint32_t kMaxCommand = 64;  // readable bytes of one command

  // (Re)arms the queue as the driver configured it (DRIVER_OK). size is a power of two
  // and the rings were validated by the transport.
  void configure(uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa, bool event_idx) noexcept;
  void reset() noexcept { size_ = 0; }
  bool configured() const noexcept { return size_ != 0; }

  enum class Outcome : uint8_t { idle, completed, broken };
  struct Result {
    Outcome outcome = Outcome::idle;
    uint16_t pairs = 0;  // non-zero: the driver set this many queue pairs (accepted)
  };
  // Serves every new chain; max_pairs bounds VQ_PAIRS_SET.
  Result process(const GuestMemory& memory, uint16_t max_pairs) noexcept;

  const CtrlQueueCounters& counters() const noexcept { return counters_; }

 private:
  // One chain: its readable bytes into cmd, the ack byte (translated). False: malformed.
  bool read_chain(const GuestMemory& memory, uint16_t head, uint8_t* cmd, uint32_t& cmd_len, uint8_t*& ack) noexcept;

  uint16_t size_ = 0;
  uint64_t desc_ = 0, avail_ = 0, used_ = 0;
  bool event_idx_ = false;
  uint16_t last_avail_ = 0;
  CtrlQueueCounters counters_;
};

}  // namespace nfv::vmm
