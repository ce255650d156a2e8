// VirtioNetCtrlQueue (see the header).
#include "devices/virtio_net_ctrl.hpp"

#include <atomic>
#include <cstring>

#include "nfv/virtio/ring.hpp"

namespace nfv::vmm {
namespace {
struct Desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(Desc) == 16);

// Ring fields the driver writes while we read: single atomic loads (acquire on the
// avail index orders the ring entries and descriptors after it, 2.7.13.2).
uint16_t load16(uint8_t* p, std::memory_order o = std::memory_order_relaxed) {
  return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(p)).load(o);
}
}  // namespace

void VirtioNetCtrlQueue::configure(uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa,
                                   bool event_idx) noexcept {
  size_ = size;
  desc_ = desc_gpa;
  avail_ = avail_gpa;
  used_ = used_gpa;
  event_idx_ = event_idx;
  last_avail_ = 0;
}

bool VirtioNetCtrlQueue::read_chain(const GuestMemory& memory, uint16_t head, uint8_t* cmd, uint32_t& cmd_len,
                                    uint8_t*& ack) noexcept {
  cmd_len = 0;
  ack = nullptr;
  bool writable_seen = false;
  uint16_t i = head;
  for (uint32_t hops = 0; hops < size_; ++hops) {  // bounded: a loop ends here
    if (i >= size_) return false;
    uint8_t* dp = memory.translate(desc_ + 16ull * i, sizeof(Desc));
    if (dp == nullptr) return false;
    Desc d;
    std::memcpy(&d, dp, sizeof d);  // one copy: the driver cannot change it under the checks
    if ((d.flags & virtio::VIRTQ_DESC_F_INDIRECT) != 0 || d.len == 0) return false;
    uint8_t* data = memory.translate(d.addr, d.len);
    if (data == nullptr) return false;
    if ((d.flags & virtio::VIRTQ_DESC_F_WRITE) != 0) {
      if (!writable_seen) ack = data;  // the ack is the first writable byte
      writable_seen = true;
    } else {
      if (writable_seen) return false;  // 2.7.4.2: readable descriptors come first
      if (d.len > kMaxCommand - cmd_len) return false;
      std::memcpy(cmd + cmd_len, data, d.len);
      cmd_len += d.len;
    }
    if ((d.flags & virtio::VIRTQ_DESC_F_NEXT) == 0) return writable_seen && cmd_len >= 2;
    i = d.next;
  }
  return false;  // longer than the ring: a loop
}

VirtioNetCtrlQueue::Result VirtioNetCtrlQueue::process(const GuestMemory& memory, uint16_t max_pairs) noexcept {
  Result r;
  if (size_ == 0) return r;
  uint8_t* avail = memory.translate(avail_, 4 + 2ull * size_);
  uint8_t* used = memory.translate(used_, 4 + 8ull * size_ + (event_idx_ ? 2 : 0));
  if (avail == nullptr || used == nullptr) {  // the transport validated them; memory never shrinks
    ++counters_.bad_chains;
    r.outcome = Outcome::broken;
    return r;
  }
  const uint16_t avail_idx = load16(avail + 2, std::memory_order_acquire);
  const uint16_t pending = static_cast<uint16_t>(avail_idx - last_avail_);
  if (pending > size_) {  // the driver cannot have more chains out than entries
    ++counters_.bad_chains;
    r.outcome = Outcome::broken;
    return r;
  }
  uint16_t used_idx = load16(used + 2);
  for (uint16_t n = 0; n < pending; ++n) {
    const uint16_t head = load16(avail + 4 + 2u * (last_avail_ % size_));
    uint8_t cmd[kMaxCommand];
    uint32_t len = 0;
    uint8_t* ack_byte = nullptr;
    if (!read_chain(memory, head, cmd, len, ack_byte)) {
      ++counters_.bad_chains;
      r.outcome = Outcome::broken;
      break;
    }
    uint8_t ack = VIRTIO_NET_ERR;
    if (cmd[0] == VIRTIO_NET_CTRL_MQ && cmd[1] == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET && len == 4) {
      uint16_t pairs = 0;
      std::memcpy(&pairs, cmd + 2, 2);  // le16, little-endian host
      if (pairs >= 1 && pairs <= max_pairs) {
        ack = VIRTIO_NET_OK;
        r.pairs = pairs;
        ++counters_.pairs_set;
      }
    }
    if (ack != VIRTIO_NET_OK) ++counters_.refused;
    *ack_byte = ack;  // translated and checked in read_chain
    // Used element {id, len = bytes written}, then the index with release (2.7.8).
    const uint32_t elem[2] = {head, 1};
    std::memcpy(used + 4 + 8u * (used_idx % size_), elem, sizeof elem);
    ++used_idx;
    std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(used + 2)).store(used_idx, std::memory_order_release);
    ++last_avail_;
    ++counters_.commands;
    r.outcome = Outcome::completed;
  }
  if (event_idx_) {
    // avail_event (after the used ring): kick us for the next chain (2.7.10).
    std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(used + 4 + 8u * size_))
        .store(last_avail_, std::memory_order_release);
  }
  return r;
}

}  // namespace nfv::vmm
