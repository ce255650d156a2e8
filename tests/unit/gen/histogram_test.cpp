// LatencyHistogram: bucket edges, percentiles and jitter on synthetic data.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "latency_histogram.hpp"

using nfvgen::LatencyHistogram;

TEST_CASE("buckets: exact below 32, then 32 per power of two, edges contiguous") {
  for (uint64_t v = 0; v < 32; ++v) {
    CHECK(LatencyHistogram::index(v) == v);
    CHECK(LatencyHistogram::upper_edge(static_cast<unsigned>(v)) == v);
  }
  // Every value lies at or below its bucket's upper edge and above the previous bucket's.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (24 + rng() % 40);
    const unsigned b = LatencyHistogram::index(v);
    REQUIRE(b < LatencyHistogram::kBuckets);
    CHECK(v <= LatencyHistogram::upper_edge(b));
    if (b > 0) CHECK(v > LatencyHistogram::upper_edge(b - 1));
    // Relative error of the reported edge at most 1/32.
    if (v > 0) CHECK(static_cast<double>(LatencyHistogram::upper_edge(b) - v) / static_cast<double>(v) <= 1.0 / 32);
  }
  CHECK(LatencyHistogram::index((uint64_t{1} << 40) - 1) == LatencyHistogram::kBuckets - 1);
}

TEST_CASE("percentiles of a uniform 1..10000 ns sample are within the bucket error") {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 10000; ++v) h.record(v);
  CHECK(h.count() == 10000);
  CHECK(h.min() == 1);
  CHECK(h.max() == 10000);
  CHECK(h.mean() == doctest::Approx(5000.5));
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double exact = p / 100 * 10000;
    const auto got = static_cast<double>(h.percentile(p));
    CHECK(got >= exact);                // never under-reported
    CHECK(got <= exact * (1 + 1.0 / 32) + 1);
  }
  CHECK(h.percentile(100) == 10000);
  CHECK(h.percentile(0) == 1);
}

TEST_CASE("a bimodal sample: the tail shows in p99, not in p50") {
  LatencyHistogram h;
  for (int i = 0; i < 980; ++i) h.record(2000);
  for (int i = 0; i < 20; ++i) h.record(500000);
  CHECK(h.percentile(50) <= 2000 * 33 / 32);
  CHECK(h.percentile(98) <= 2000 * 33 / 32);
  CHECK(h.percentile(99) >= 500000);
  CHECK(h.bins().size() == 2);
}

TEST_CASE("jitter follows RFC 3550: constant latency 0, alternating converges to the step") {
  LatencyHistogram flat;
  for (int i = 0; i < 100; ++i) flat.record(1000);
  CHECK(flat.jitter() == 0);
  LatencyHistogram alt;
  for (int i = 0; i < 1000; ++i) alt.record(i % 2 ? 1000 : 1100);
  CHECK(alt.jitter() == doctest::Approx(100).epsilon(0.01));
}

TEST_CASE("merge, overflow and empty histograms") {
  LatencyHistogram a, b, empty;
  a.record(10);
  b.record(1000);
  b.record(uint64_t{1} << 50);  // beyond 2^40 ns: clamped and counted
  a.merge(b);
  a.merge(empty);
  CHECK(a.count() == 3);
  CHECK(a.min() == 10);
  CHECK(a.overflows() == 1);
  CHECK(a.max() == (uint64_t{1} << 40) - 1);
  CHECK(empty.percentile(99) == 0);
  CHECK(empty.min() == 0);
  CHECK(empty.mean() == 0);
}
