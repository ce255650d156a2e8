// Packet and Batch: what a VNF's process() sees.
//
// A Packet is the SDK's packet descriptor (DPDK calls it an mbuf): 64 bytes
// of metadata in this process's private memory, pointing at one fixed-size
// buffer in the shared region (nfv/packet_pool.hpp). Keeping the metadata out
// of shared memory means a back-end (or anyone else mapping the region) can
// corrupt packet bytes, never the SDK's bookkeeping.
//
// Buffer layout: [headroom | data ... | tailroom]. The headroom (140 bytes by
// default, see PacketPoolConfig) leaves room for the 12-byte virtio-net header, which the port
// writes/reads right in front of the data (no copy), and for pushing tunnel
// headers. A frame larger than one buffer (mergeable receive, virtio 1.2
// 5.1.6.4) arrives as a chain of segments: next_segment(), total_length().
// Header views (nfv/net) look at the first segment, bytes().
//
// Batch: at most 32 packet pointers, trivially copyable; the unit passed
// between stages (STYLE.md, BESS's PacketBatch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace nfv {

class PacketPool;

class Packet {
 public:
  // ---- this segment ----
  uint8_t* data() const noexcept { return buf_ + data_off_; }
  uint32_t length() const noexcept { return len_; }
  std::span<uint8_t> bytes() const noexcept { return {data(), len_}; }
  uint32_t headroom() const noexcept { return data_off_; }
  uint32_t tailroom() const noexcept { return room_ - data_off_ - len_; }
  uint32_t buffer_size() const noexcept { return room_; }

  // Editing. Each returns nullptr/false and leaves the packet as it was when
  // there is not enough room (or data).
  uint8_t* prepend(uint32_t n) noexcept {  // n more bytes in front; returns the new start
    if (n > data_off_) return nullptr;
    data_off_ -= n;
    len_ += n;
    total_len_ += n;
    return data();
  }
  bool trim_front(uint32_t n) noexcept {  // drop n bytes from the front
    if (n > len_) return false;
    data_off_ += n;
    len_ -= n;
    total_len_ -= n;
    return true;
  }
  uint8_t* append(uint32_t n) noexcept {  // n more bytes at the end; returns where they start
    if (n > tailroom()) return nullptr;
    uint8_t* p = data() + len_;
    len_ += n;
    total_len_ += n;
    return p;
  }
  bool trim_back(uint32_t n) noexcept {
    if (n > len_) return false;
    len_ -= n;
    total_len_ -= n;
    return true;
  }
  // Sets this (single-segment) packet's length; false if above the room after the data start.
  bool set_length(uint32_t n) noexcept {
    if (n > room_ - data_off_) return false;
    total_len_ = total_len_ - len_ + n;
    len_ = n;
    return true;
  }

  // ---- whole frame ----
  Packet* next_segment() const noexcept { return next_; }
  uint16_t segments() const noexcept { return nb_segs_; }
  uint32_t total_length() const noexcept { return total_len_; }  // all segments (first segment holds it)

  // ---- metadata for the VNF ----
  uint16_t input_port = 0;  // set by the run loop: index of the port it came from
  uint16_t user16 = 0;      // free for the VNF
  uint32_t user32 = 0;      // free for the VNF (e.g. a flow hash)
  uint64_t user64 = 0;      // free for the VNF

  PacketPool* pool() const noexcept { return pool_; }
  uint32_t index() const noexcept { return index_; }  // buffer number in its pool

 private:
  friend class PacketPool;
  friend struct PacketAccess;

  uint8_t* buf_ = nullptr;  // start of the buffer (in the shared region)
  PacketPool* pool_ = nullptr;
  Packet* next_ = nullptr;
  uint32_t room_ = 0;       // buffer bytes
  uint32_t len_ = 0;
  uint32_t total_len_ = 0;
  uint16_t data_off_ = 0;
  uint16_t nb_segs_ = 1;
  uint32_t index_ = 0;
  uint32_t free_ = 0;  // 1 while in the pool: catches double frees
};
static_assert(sizeof(Packet) == 64, "one cache line per packet descriptor");

// The SDK's own access to a packet's internals (ports fill them on receive).
struct PacketAccess {
  static uint8_t* buffer(const Packet& p) noexcept { return p.buf_; }
  static void set_segment(Packet& p, uint16_t data_off, uint32_t len) noexcept {
    p.data_off_ = data_off;
    p.len_ = len;
    p.total_len_ = len;
    p.nb_segs_ = 1;
    p.next_ = nullptr;
  }
  // Appends `seg` (a fresh single segment) to the chain that starts at `head`, after `tail`.
  static void chain(Packet& head, Packet& tail, Packet& seg) noexcept {
    tail.next_ = &seg;
    head.total_len_ += seg.len_;
    ++head.nb_segs_;
  }
};

struct Batch {
  static constexpr uint32_t kMax = 32;

  uint32_t count = 0;
  Packet* packets[kMax];

  bool empty() const noexcept { return count == 0; }
  bool full() const noexcept { return count == kMax; }
  uint32_t room() const noexcept { return kMax - count; }
  void clear() noexcept { count = 0; }
  // Precondition: !full().
  void push(Packet* p) noexcept { packets[count++] = p; }
  Packet* operator[](uint32_t i) const noexcept { return packets[i]; }
  Packet** begin() noexcept { return packets; }
  Packet** end() noexcept { return packets + count; }
  Packet* const* begin() const noexcept { return packets; }
  Packet* const* end() const noexcept { return packets + count; }
  std::span<Packet*> span() noexcept { return {packets, count}; }
};
static_assert(std::is_trivially_copyable_v<Batch>);

}  // namespace nfv
