// NetRxQueue / NetTxQueue (see the header).
#include "nfv/virtio/net_queue.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "nfv/cpu.hpp"

namespace nfv::virtio {
namespace {

constexpr uint32_t kBurst = 32;
constexpr uint32_t kMaxTxSegments = 16;

// Tokens are the Packet pointers we posted; SplitVirtqueue hands back only
// tokens of buffers it has in flight, never a value the device wrote.
Packet* packet_of(uint64_t token) noexcept { return reinterpret_cast<Packet*>(token); }
uint64_t token_of(Packet* p) noexcept { return reinterpret_cast<uint64_t>(p); }

void write_kick(const Doorbell& d) noexcept {
  if (d.mmio != nullptr) {
    // A device register: one 16-bit store the hypervisor traps (not a memory location we share).
    std::atomic_ref<uint16_t>(*d.mmio).store(d.queue, std::memory_order_release);
    return;
  }
  const int fd = d.fd;
  if (fd < 0) return;
  const uint64_t one = 1;
  // An eventfd write only fails if the counter would overflow; the device
  // then has a notification pending anyway.
  [[maybe_unused]] ssize_t r = ::write(fd, &one, sizeof one);
}

}  // namespace

// ---------------------------------------------------------------- receive

void NetRxQueue::attach(SplitVirtqueue queue, PacketPool& pool, bool mergeable, Doorbell kick) noexcept {
  q_.emplace(std::move(queue));
  pool_ = &pool;
  mergeable_ = mergeable;
  kick_ = kick;
  buffer_offset_ = pool.headroom() - kNetHeaderSize;  // pool guarantees headroom >= 12
  buffer_len_ = pool.buffer_size() - buffer_offset_;
  prefetchw_ = has_prefetchw();
}

void NetRxQueue::detach() noexcept {
  if (!q_) return;
  q_->for_each_in_flight([](uint64_t t) { PacketPool::free(packet_of(t)); });
  PacketPool::free(partial_head_);
  partial_head_ = partial_tail_ = nullptr;
  partial_left_ = 0;
  q_.reset();
}

void NetRxQueue::kick() noexcept {
  write_kick(kick_);
  ++counters_.kicks;
}

void NetRxQueue::refill() noexcept {
  uint32_t want = q_->num_free();
  while (want > 0) {
    const uint32_t n = std::min({want, kBurst, pool_->available()});
    Packet* bufs[kBurst];
    if (n == 0 || !pool_->alloc_bulk(bufs, n)) {
      ++counters_.no_buffer;
      break;
    }
    for (uint32_t i = 0; i < n; ++i) {
      uint8_t* start = PacketAccess::buffer(*bufs[i]) + buffer_offset_;
      // Cannot be ring_full: n <= num_free.
      q_->add_buffer(pool_->driver_address(start), buffer_len_, true, token_of(bufs[i]));
    }
    want -= n;
  }
  if (q_->publish()) kick();
}

uint32_t NetRxQueue::receive(Packet** out, uint32_t n) noexcept {
  Completion done[kBurst];
  const std::size_t k = q_->poll_used({done, std::min(n, kBurst)});
  // The device (another core) wrote these lines last, and the VNF reads and
  // usually rewrites the headers next: ask for every first line of the burst
  // at once, exclusive, instead of one miss (and one upgrade) after another.
  for (std::size_t i = 0; i < k; ++i) {
    prefetch_for_write(PacketAccess::buffer(*packet_of(done[i].token)) + buffer_offset_, prefetchw_);
  }
  uint32_t got = 0;
  for (std::size_t i = 0; i < k; ++i) {
    Packet* p = packet_of(done[i].token);
    const uint32_t len = done[i].len;
    if (partial_left_ > 0) {  // a later buffer of a mergeable frame: data only, no header
      if (len == 0) {
        ++counters_.bad_merge;
        PacketPool::free(partial_head_);
        PacketPool::free(p);
        partial_head_ = partial_tail_ = nullptr;
        partial_left_ = 0;
        continue;
      }
      PacketAccess::set_segment(*p, static_cast<uint16_t>(buffer_offset_), len);
      PacketAccess::chain(*partial_head_, *partial_tail_, *p);
      partial_tail_ = p;
      if (--partial_left_ == 0) {
        ++counters_.packets;
        counters_.bytes += partial_head_->total_length();
        out[got++] = partial_head_;
        partial_head_ = partial_tail_ = nullptr;
      }
      continue;
    }
    if (len <= kNetHeaderSize) {
      ++counters_.bad_length;
      PacketPool::free(p);
      continue;
    }
    PacketAccess::set_segment(*p, static_cast<uint16_t>(buffer_offset_ + kNetHeaderSize), len - kNetHeaderSize);
    // 5.1.6.4.2: every buffer of a merged frame but the last is used up to
    // its full length, so a frame shorter than one buffer is one buffer:
    // read num_buffers (a cache line the frame itself does not share) only then.
    if (mergeable_ && len == buffer_len_) {
      uint16_t num_buffers;
      std::memcpy(&num_buffers, PacketAccess::buffer(*p) + buffer_offset_ + kNumBuffersOffset, sizeof num_buffers);
      if (num_buffers == 0 || num_buffers > q_->size()) {
        ++counters_.bad_merge;
        PacketPool::free(p);
        continue;
      }
      if (num_buffers > 1) {
        partial_head_ = partial_tail_ = p;
        partial_left_ = num_buffers - 1u;
        continue;
      }
    }
    ++counters_.packets;
    counters_.bytes += len - kNetHeaderSize;
    out[got++] = p;
  }
  if (q_->num_free() >= std::min<uint32_t>(kBurst, q_->size() / 2)) refill();
  return got;
}

// ---------------------------------------------------------------- transmit

void NetTxQueue::attach(SplitVirtqueue queue, const std::byte* region_base, Doorbell kick) noexcept {
  q_.emplace(std::move(queue));
  region_base_ = region_base;
  kick_ = kick;
}

void NetTxQueue::detach() noexcept {
  if (!q_) return;
  q_->for_each_in_flight([](uint64_t t) { PacketPool::free(packet_of(t)); });
  q_.reset();
}

void NetTxQueue::kick() noexcept {
  write_kick(kick_);
  ++counters_.kicks;
}

uint32_t NetTxQueue::reclaim() noexcept {
  Completion done[kBurst];
  uint32_t total = 0;
  for (;;) {
    const std::size_t k = q_->poll_used(done);
    for (std::size_t i = 0; i < k; ++i) PacketPool::free(packet_of(done[i].token));
    total += static_cast<uint32_t>(k);
    if (k < kBurst) return total;
  }
}

bool NetTxQueue::drop_reason(const Packet* p) noexcept {
  if (p->headroom() < kNetHeaderSize) {
    ++counters_.no_headroom;
    return true;
  }
  if (p->segments() > kMaxTxSegments || p->segments() > q_->size()) {
    ++counters_.too_many_segments;
    return true;
  }
  for (const Packet* s = p; s != nullptr; s = s->next_segment()) {
    if (s->pool()->region_base() != region_base_) {
      ++counters_.foreign_buffer;
      return true;
    }
  }
  return false;
}

uint32_t NetTxQueue::transmit(Packet* const* pkts, uint32_t n) noexcept {
  if (q_->num_free() < n) reclaim();
  uint32_t i = 0;
  for (; i < n; ++i) {
    Packet* p = pkts[i];
    // One branch for the usual packet (one segment, our region, room for the
    // header); the rest goes through drop_reason().
    const bool plain = p->segments() == 1 && p->headroom() >= kNetHeaderSize &&
                       p->pool()->region_base() == region_base_;
    if (!plain && drop_reason(p)) [[unlikely]] {
      PacketPool::free(p);
      continue;
    }
    // Completed chains may hold the descriptors this packet needs: the check
    // above is per burst and per packet, a chain needs one per segment.
    if (q_->num_free() < p->segments()) reclaim();
    // The header goes into the headroom: all zero, no offloads (5.1.6.2).
    uint8_t* hdr = p->data() - kNetHeaderSize;
    std::memset(hdr, 0, kNetHeaderSize);
    const PacketPool* pool = p->pool();
    AddStatus st;
    if (p->segments() == 1) {
      st = q_->add_buffer(pool->driver_address(hdr), p->length() + kNetHeaderSize, false, token_of(p));
    } else {
      BufferSegment segs[kMaxTxSegments];
      uint32_t m = 0;
      segs[m++] = BufferSegment{pool->driver_address(hdr), p->length() + kNetHeaderSize, false};
      for (const Packet* s = p->next_segment(); s != nullptr; s = s->next_segment()) {
        segs[m++] = BufferSegment{s->pool()->driver_address(s->data()), s->length(), false};
      }
      st = q_->add_chain({segs, m}, token_of(p));
    }
    if (st != AddStatus::ok) break;  // ring full: the rest stays with the caller
    ++counters_.packets;
    counters_.bytes += p->total_length();
  }
  if (i < n) counters_.ring_full += n - i;
  if (q_->publish()) kick();
  return i;
}

}  // namespace nfv::virtio
