// RateSearch: the RFC 2544 section 26.1 throughput search as a binary search
// over offered rates, driven trial by trial by the caller:
//
//     RateSearch s({.max_rate_pps = 14.88e6, .loss_ratio = 0.0});   // NDR
//     while (auto rate = s.next_rate()) s.report(run_trial(*rate));
//     s.result();   // highest rate whose trial lost at most loss_ratio
//
// The first trial runs at max_rate (a generator that keeps up at full rate
// needs no search). After a failure the search halves the interval between
// the highest passing and the lowest failing rate until it is narrower than
// `resolution` (relative to max_rate) or `max_trials` trials ran. loss_ratio
// 0 gives the no-drop rate (NDR), 0.005 the partial-drop rate (PDR) of
// VSPERF/TRex. Duplicates (received > sent) never count as loss.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nfv/result.hpp"

namespace nfvgen {

struct SearchConfig {
  double max_rate_pps = 0;     // upper bound: line rate or the generator's maximum
  double loss_ratio = 0.0;     // accepted fraction lost: 0 = NDR
  double resolution = 0.005;   // stop when (fail - pass) <= resolution * max_rate
  unsigned max_trials = 30;
};

struct Trial {
  double rate_pps;    // offered
  uint64_t sent;
  uint64_t received;
  double loss;        // fraction, 0 when received >= sent
  bool pass;
};

class RateSearch {
 public:
  // Errc::invalid_argument for a non-positive max rate, a loss ratio outside
  // [0, 1), a resolution outside (0, 1) or no trials.
  static nfv::Result<RateSearch> create(const SearchConfig& config);

  // The rate of the next trial, or nullopt when the search is over.
  std::optional<double> next_rate() const noexcept;
  // The outcome of a trial at next_rate() (sent/received counted by the caller).
  void report(uint64_t sent, uint64_t received);

  // Highest offered rate that passed (0 when none did).
  double result() const noexcept { return pass_rate_; }
  const std::vector<Trial>& trials() const noexcept { return trials_; }

 private:
  explicit RateSearch(const SearchConfig& c) : config_(c), fail_rate_(c.max_rate_pps) {}
  SearchConfig config_;
  double pass_rate_ = 0;   // highest passing rate so far
  double fail_rate_;       // lowest failing rate so far (max_rate until a trial fails)
  bool failed_once_ = false;
  bool done_ = false;
  std::vector<Trial> trials_;
};

// BurstSearch: the RFC 2544 section 26.4 back-to-back test as a binary
// search over burst lengths (integers): the longest burst sent at the
// maximum rate that arrives whole. The first trial is max_frames; then the
// midpoint of the longest passing and the shortest failing length, until
// they are at most max(1, resolution * max_frames) apart or max_trials ran.
// result() is the longest passing length (0 when none passed).
class BurstSearch {
 public:
  struct Trial {
    uint64_t frames;
    bool pass;
  };
  // Errc::invalid_argument for max_frames 0, a resolution outside [0, 1) or no trials.
  static nfv::Result<BurstSearch> create(uint64_t max_frames, double resolution, unsigned max_trials = 40);

  std::optional<uint64_t> next_length() const noexcept;
  void report(bool pass);
  uint64_t result() const noexcept { return pass_; }
  const std::vector<Trial>& trials() const noexcept { return trials_; }

 private:
  BurstSearch(uint64_t max, uint64_t step, unsigned max_trials) : max_(max), step_(step), max_trials_(max_trials),
                                                                   fail_(max + 1) {}
  uint64_t max_, step_;
  unsigned max_trials_;
  uint64_t pass_ = 0;  // longest passing
  uint64_t fail_;      // shortest failing (max + 1 until one fails)
  bool done_ = false;
  std::vector<Trial> trials_;
};

}  // namespace nfvgen
