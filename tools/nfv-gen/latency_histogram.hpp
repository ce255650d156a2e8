// LatencyHistogram: a log-linear histogram of latencies (nanoseconds), the
// shape HdrHistogram uses: every power of two [2^k, 2^(k+1)) is split into
// 2^kSubBits equal buckets, so the relative error of any reported value is at
// most 2^-kSubBits (about 3% with 5 bits) from 1 ns to 2^40 ns (18 minutes),
// in a fixed 1.3k-bucket array: record() is a few instructions and never
// allocates (it runs on the generator's receive path).
//
// Percentiles are the upper edge of the bucket holding the rank (so p100 is
// max() exactly and nothing is under-reported). Jitter follows RFC 3550
// 6.4.1: J += (|D| - J) / 16 over consecutive latencies of one stream.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace nfvgen {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 5;
  static constexpr unsigned kSub = 1u << kSubBits;
  static constexpr unsigned kMaxExp = 40;  // values >= 2^40 ns are clamped (counted in overflows)
  static constexpr unsigned kBuckets = (kMaxExp - kSubBits + 1) * kSub;

  void record(uint64_t ns) noexcept {
    if (ns >= (uint64_t{1} << kMaxExp)) {
      ++overflows_;
      ns = (uint64_t{1} << kMaxExp) - 1;
    }
    ++buckets_[index(ns)];
    ++count_;
    sum_ += ns;
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
    if (count_ > 1) {
      const uint64_t d = ns > last_ ? ns - last_ : last_ - ns;
      jitter_ += (static_cast<double>(d) - jitter_) / 16.0;
    }
    last_ = ns;
  }
  void merge(const LatencyHistogram& o) noexcept;
  void reset() noexcept { *this = LatencyHistogram{}; }

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  double jitter() const noexcept { return jitter_; }
  uint64_t overflows() const noexcept { return overflows_; }
  // p in [0, 100]; 0 when empty.
  uint64_t percentile(double p) const noexcept;

  // Non-empty buckets as (upper edge ns, count), ascending: for plots and CSV.
  struct Bin {
    uint64_t upper_ns;
    uint64_t count;
  };
  std::vector<Bin> bins() const;

  // Bucket of a value and the largest value that bucket holds (exposed for tests).
  static unsigned index(uint64_t v) noexcept {
    if (v < kSub) return static_cast<unsigned>(v);  // the first 2^kSubBits values are exact
    const unsigned exp = 63u - static_cast<unsigned>(__builtin_clzll(v));  // v in [2^exp, 2^(exp+1))
    const unsigned shift = exp - kSubBits;
    return (shift + 1) * kSub + static_cast<unsigned>((v >> shift) - kSub);
  }
  static uint64_t upper_edge(unsigned i) noexcept;

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  uint64_t last_ = 0;
  uint64_t overflows_ = 0;
  double jitter_ = 0;
};

}  // namespace nfvgen
