// RFC 2544 tests driven on a connected Generator, one frame size at a time:
//   ndr / pdr  throughput (§26.1): RateSearch over offered rates, trials of
//              trial_seconds; a trial passes when the tracked streams lost at
//              most pdr_loss (0 for ndr) of what they sent;
//   b2b        back-to-back frames (§26.4): BurstSearch over burst lengths
//              up to b2b_max, each burst sent at the maximum rate (a --count
//              trial); it passes when nothing was lost and the port refused
//              nothing (a refused frame is one the DUT could not absorb at
//              that speed). One trial per length, not RFC 2544's 50 repeats.
// Every trial goes to the CSV report (if open) and to the JSON returned;
// a line per trial goes to stderr.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "generator.hpp"
#include "report.hpp"

namespace nfvgen {

struct Rfc2544Options {
  std::string mode;  // "ndr", "pdr" or "b2b"
  double trial_seconds = 5;
  double pdr_loss = 0.005;
  double resolution = 0.005;
  uint64_t b2b_max = 0;  // 0: two seconds of frames at the maximum rate
};

struct Rfc2544Result {
  double result = 0;  // ndr/pdr: pps; b2b: frames
  nlohmann::json json;
};

// max_rate_pps > 0; frame_size: for the CSV/JSON (bytes with FCS).
Rfc2544Result run_rfc2544(Generator& gen, const Rfc2544Options& o, double max_rate_pps, double frame_size,
                          CsvReport& csv);

}  // namespace nfvgen
