// RateSearch: converges on the rate a synthetic sink starts dropping at.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "rate_search.hpp"

using nfvgen::RateSearch;
using nfvgen::SearchConfig;

namespace {
// A device under test that forwards up to `capacity` pps and drops the rest,
// over a trial of 10 s.
struct Sink {
  double capacity;
  double partial = 0;  // extra loss fraction that starts at 0.9 * capacity (for PDR)
  std::pair<uint64_t, uint64_t> trial(double rate) const {
    const auto sent = static_cast<uint64_t>(rate * 10);
    double got = std::min(rate, capacity) * 10;
    if (rate > 0.9 * capacity) got *= 1 - partial;
    return {sent, static_cast<uint64_t>(got)};
  }
};
double run(RateSearch& s, const Sink& sink) {
  while (auto r = s.next_rate()) {
    auto [sent, got] = sink.trial(*r);
    s.report(sent, got);
  }
  return s.result();
}
}  // namespace

TEST_CASE("NDR converges to the sink's capacity within the resolution") {
  for (double cap : {1e6, 3.3e6, 9.99e6, 14.88e6 * 0.51}) {
    auto s = RateSearch::create({.max_rate_pps = 14.88e6, .loss_ratio = 0, .resolution = 0.001});
    REQUIRE(s.ok());
    const double ndr = run(*s, Sink{cap});
    CHECK(ndr <= cap);
    CHECK(ndr >= cap - 0.001 * 14.88e6);
    CHECK(s->trials().size() <= 12);
    CHECK(s->trials().front().rate_pps == 14.88e6);
  }
}

TEST_CASE("a sink that keeps up at the maximum rate needs one trial") {
  auto s = RateSearch::create({.max_rate_pps = 1e6});
  REQUIRE(s.ok());
  CHECK(run(*s, Sink{2e6}) == 1e6);
  CHECK(s->trials().size() == 1);
}

TEST_CASE("PDR accepts the partial loss NDR refuses") {
  const Sink sink{4e6, 0.002};  // 0.2% loss from 3.6 Mpps on
  auto ndr = RateSearch::create({.max_rate_pps = 10e6, .loss_ratio = 0, .resolution = 0.001});
  auto pdr = RateSearch::create({.max_rate_pps = 10e6, .loss_ratio = 0.005, .resolution = 0.001});
  REQUIRE(ndr.ok());
  REQUIRE(pdr.ok());
  const double n = run(*ndr, sink), p = run(*pdr, sink);
  CHECK(n <= 3.6e6);
  CHECK(n >= 3.6e6 - 0.01e6);
  CHECK(p > n);
  CHECK(p <= 4e6 * 1.003);
  CHECK(p >= 4e6 - 0.02e6);
}

TEST_CASE("nothing passes: result 0; max_trials bounds the search; bad configs are refused") {
  auto s = RateSearch::create({.max_rate_pps = 1e6, .max_trials = 5});
  REQUIRE(s.ok());
  while (auto r = s->next_rate()) s->report(100, 0);
  CHECK(s->result() == 0);
  CHECK(s->trials().size() == 5);
  // A trial that sent nothing fails; duplicates are not loss.
  auto d = RateSearch::create({.max_rate_pps = 1e6});
  REQUIRE(d.ok());
  d->report(1000, 1005);
  CHECK(d->trials().back().pass);
  CHECK(d->trials().back().loss == 0);
  CHECK_FALSE(RateSearch::create({.max_rate_pps = 0}).ok());
  CHECK_FALSE(RateSearch::create({.max_rate_pps = 1e6, .loss_ratio = 1.0}).ok());
  CHECK_FALSE(RateSearch::create({.max_rate_pps = 1e6, .resolution = 0}).ok());
  CHECK_FALSE(RateSearch::create({.max_rate_pps = 1e6, .max_trials = 0}).ok());
  CHECK(RateSearch::create({.max_rate_pps = -1}).error().message.find("above 0") != std::string::npos);
}

TEST_CASE("BurstSearch: finds the longest burst a buffer of B frames absorbs") {
  using nfvgen::BurstSearch;
  for (uint64_t buffer : {0ull, 1ull, 2ull, 777ull, 4095ull, 100000ull, 1000000ull}) {
    CAPTURE(buffer);
    auto s = BurstSearch::create(1000000, 0);  // resolution 0: exact to the frame
    REQUIRE(s.ok());
    while (auto n = s->next_length()) s->report(*n <= buffer);
    CHECK(s->result() == buffer);
    CHECK(s->trials().size() <= 22);  // log2(10^6) + 2
    for (const auto& t : s->trials()) CHECK(t.pass == (t.frames <= buffer));
  }
  // A coarse resolution stops early, below the truth but within a step of it.
  auto s = BurstSearch::create(1000000, 0.01);
  REQUIRE(s.ok());
  while (auto n = s->next_length()) s->report(*n <= 123456);
  CHECK(s->result() <= 123456);
  CHECK(s->result() + 10000 >= 123456);
  CHECK(s->trials().size() <= 9);
  CHECK(!BurstSearch::create(0, 0.01).ok());
  CHECK(!BurstSearch::create(10, 1.0).ok());
}
