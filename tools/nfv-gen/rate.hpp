// Rates as nfv-gen's command line gives them, and Ethernet line-rate
// arithmetic:
//
//   "1000", "1.5M", "200k"      packets per second
//   "10Gbps", "500Mbps"         bits per second on the wire
//   "50%"                       percent of the line rate (--line-rate)
//   "max"                       unpaced: as fast as the port takes frames
//
// A rate of 0, a negative one or a percentage over 100 is refused: "send
// nothing" is not a rate, and "max" says "unpaced" explicitly.
//
// On the wire an Ethernet frame of N bytes (without FCS) takes N + 24 bytes:
// FCS (4), preamble and SFD (8) and the minimum inter-frame gap (12).
#pragma once

#include <optional>
#include <string>

namespace nfvgen {

inline constexpr double kWireOverhead = 24;

struct Rate {
  enum Unit { pps, bps, percent, unpaced } unit = unpaced;
  double value = 0;  // > 0 unless unpaced
};

std::optional<Rate> parse_rate(std::string text);

// Frames per second on a `line_bps` line for frames of `frame` bytes (no FCS).
inline double line_rate_pps(double line_bps, double frame) { return line_bps / ((frame + kWireOverhead) * 8); }

// The rate in frames per second (0 for unpaced).
double to_pps(const Rate& r, double line_bps, double frame);

}  // namespace nfvgen
