// LatencyHistogram (see the header).
#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace nfvgen {

uint64_t LatencyHistogram::upper_edge(unsigned i) noexcept {
  if (i < kSub) return i;
  const unsigned shift = i / kSub - 1;
  const uint64_t sub = i % kSub + kSub;  // the value's top kSubBits+1 bits
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::merge(const LatencyHistogram& o) noexcept {
  for (unsigned i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
  if (o.count_ == 0) return;
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  overflows_ += o.overflows_;
  jitter_ = std::max(jitter_, o.jitter_);  // per-stream figures: report the worst
}

uint64_t LatencyHistogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // Rank of the p-th percentile, 1-based: the smallest value with at least p% at or below it.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (unsigned i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(upper_edge(i), max_);
  }
  return max_;
}

std::vector<LatencyHistogram::Bin> LatencyHistogram::bins() const {
  std::vector<Bin> out;
  for (unsigned i = 0; i < kBuckets; ++i) {
    if (buckets_[i] != 0) out.push_back(Bin{upper_edge(i), buckets_[i]});
  }
  return out;
}

}  // namespace nfvgen
