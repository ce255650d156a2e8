// RateSearch (see the header).
#include "rate_search.hpp"

#include <string>

namespace nfvgen {

nfv::Result<RateSearch> RateSearch::create(const SearchConfig& c) {
  auto bad = [](const std::string& what) { return nfv::make_error(nfv::Errc::invalid_argument, "rate search: " + what); };
  if (!(c.max_rate_pps > 0)) return bad("the maximum rate must be above 0 pps");
  if (!(c.loss_ratio >= 0 && c.loss_ratio < 1)) return bad("the loss ratio must be in [0, 1), e.g. 0 for NDR or 0.005 for PDR");
  if (!(c.resolution > 0 && c.resolution < 1)) return bad("the resolution must be in (0, 1), e.g. 0.005 for 0.5% of the maximum rate");
  if (c.max_trials == 0) return bad("at least one trial is needed");
  return RateSearch(c);
}

std::optional<double> RateSearch::next_rate() const noexcept {
  if (done_) return std::nullopt;
  if (trials_.empty()) return config_.max_rate_pps;
  return (pass_rate_ + fail_rate_) / 2;
}

void RateSearch::report(uint64_t sent, uint64_t received) {
  const auto rate = next_rate();
  if (!rate) return;
  const double loss = sent == 0 || received >= sent ? 0.0 : static_cast<double>(sent - received) / static_cast<double>(sent);
  // A trial that sent nothing proves nothing: it fails.
  const bool pass = sent > 0 && loss <= config_.loss_ratio;
  trials_.push_back(Trial{*rate, sent, received, loss, pass});
  if (pass) {
    pass_rate_ = *rate;
  } else {
    fail_rate_ = *rate;
    failed_once_ = true;
  }
  const bool first_passed = trials_.size() == 1 && pass;
  const bool narrow = failed_once_ && fail_rate_ - pass_rate_ <= config_.resolution * config_.max_rate_pps;
  done_ = first_passed || narrow || trials_.size() >= config_.max_trials;
}

nfv::Result<BurstSearch> BurstSearch::create(uint64_t max_frames, double resolution, unsigned max_trials) {
  auto bad = [](const std::string& what) { return nfv::make_error(nfv::Errc::invalid_argument, "burst search: " + what); };
  if (max_frames == 0) return bad("the longest burst must be at least 1 frame");
  if (!(resolution >= 0 && resolution < 1)) return bad("the resolution must be in [0, 1), e.g. 0.005");
  if (max_trials == 0) return bad("at least one trial is needed");
  const auto step = static_cast<uint64_t>(resolution * static_cast<double>(max_frames));
  return BurstSearch(max_frames, step > 1 ? step : 1, max_trials);
}

std::optional<uint64_t> BurstSearch::next_length() const noexcept {
  if (done_) return std::nullopt;
  if (trials_.empty()) return max_;
  return pass_ + (fail_ - pass_) / 2;
}

void BurstSearch::report(bool pass) {
  const auto n = next_length();
  if (!n) return;
  trials_.push_back({*n, pass});
  (pass ? pass_ : fail_) = *n;
  done_ = pass_ == max_ || fail_ - pass_ <= step_ || fail_ == 1 || trials_.size() >= max_trials_;
}

}  // namespace nfvgen
