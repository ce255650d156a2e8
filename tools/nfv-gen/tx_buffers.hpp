// The generator's packet buffers: how many its pools need for the rings it
// was given, and the stage of transmit buffers allocated a round ahead.
//
// Why the transmit pool follows the transmit ring: the SDK's NetTxQueue gives
// completed buffers back to their pool only inside transmit(), and only when
// the ring has fewer free descriptors than the burst it is handed ("when the
// ring runs low"). Every frame sent stays out of the pool until then: up to
// queue-size buffers in flight, plus the stage (kBurst) and the burst in hand
// (kBurst). A pool smaller than that runs dry while the ring still has room;
// the generator then has no frame to hand to transmit(), so transmit() never
// runs, never reclaims, and sending stops for good after `pool` frames
// (no_buffer grows, tx_refused stays 0: what a fixed 4096-buffer pool did with
// queue-size=4096 and above). With tx_pool_buffers(queue_size) buffers a
// stage refill never fails: when it would, more than queue-size buffers would
// be in flight (tests/unit/gen/tx_buffers_test.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "nfv/cpu.hpp"
#include "nfv/packet.hpp"
#include "nfv/packet_pool.hpp"

namespace nfvgen {

inline constexpr uint32_t kTxBurst = 32;  // frames per round at most

// Transmit buffers for a tx ring of `queue_size` descriptors (one per frame):
// the ring full, a full stage and a burst in hand.
constexpr uint32_t tx_pool_buffers(uint32_t queue_size) noexcept { return queue_size + 2 * kTxBurst; }

// Receive buffers for rx rings of `total_queue_size` descriptors over all
// ports (every ring refilled completely), a burst in hand and a partial
// mergeable frame.
constexpr uint32_t rx_pool_buffers(uint32_t total_queue_size) noexcept { return total_queue_size + 2 * kTxBurst; }

// Transmit buffers allocated a round ahead, their first lines already asked
// for: the back-end (another core) read them last, and the round in between
// hides the transfer. Owner thread only, like the pool.
class TxStage {
 public:
  TxStage() = default;
  explicit TxStage(nfv::PacketPool* pool) noexcept : pool_(pool), prefetchw_(nfv::has_prefetchw()) {}

  // n (<= kTxBurst) buffers from the staged ones (topped up first when
  // short), then the stage refilled. False (nothing taken) when the pool
  // cannot give n.
  bool take(nfv::Packet** out, uint32_t n) noexcept {
    if (n_ < n) refill();
    if (n_ < n) return false;
    std::copy_n(staged_.data(), n, out);
    std::copy(staged_.data() + n, staged_.data() + n_, staged_.data());
    n_ -= n;
    refill();
    return true;
  }
  uint32_t staged() const noexcept { return n_; }

 private:
  void refill() noexcept {
    const uint32_t want = kTxBurst - n_;
    if (want == 0 || !pool_->alloc_bulk(staged_.data() + n_, want)) return;
    for (uint32_t i = n_; i < kTxBurst; ++i) {
      // the virtio-net header and the frame's first 52 bytes; the rest of the headers and the signature
      nfv::prefetch_for_write(staged_[i]->data() - 12, prefetchw_);
      nfv::prefetch_for_write(staged_[i]->data() + 52, prefetchw_);
    }
    n_ = kTxBurst;
  }

  nfv::PacketPool* pool_ = nullptr;
  bool prefetchw_ = false;
  std::array<nfv::Packet*, kTxBurst> staged_{};
  uint32_t n_ = 0;
};

}  // namespace nfvgen
