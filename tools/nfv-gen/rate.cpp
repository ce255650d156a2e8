// Rate parsing (see the header).
#include "rate.hpp"

#include <cmath>
#include <cstdlib>

namespace nfvgen {

std::optional<Rate> parse_rate(std::string s) {
  Rate r;
  if (s == "max") return r;
  r.unit = Rate::pps;
  if (s.size() > 3 && s.compare(s.size() - 3, 3, "bps") == 0) {
    r.unit = Rate::bps;
    s.resize(s.size() - 3);
  } else if (!s.empty() && s.back() == '%') {
    r.unit = Rate::percent;
    s.pop_back();
  }
  if (s.empty()) return std::nullopt;
  double mult = 1;
  switch (s.back()) {
    case 'k': case 'K': mult = 1e3; s.pop_back(); break;
    case 'm': case 'M': mult = 1e6; s.pop_back(); break;
    case 'g': case 'G': mult = 1e9; s.pop_back(); break;
    default: break;
  }
  if (r.unit == Rate::percent && mult != 1) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v > 0) || !std::isfinite(v)) return std::nullopt;
  if (r.unit == Rate::percent && v > 100) return std::nullopt;
  r.value = v * mult;
  return r;
}

double to_pps(const Rate& r, double line_bps, double frame) {
  switch (r.unit) {
    case Rate::pps: return r.value;
    case Rate::bps: return r.value / ((frame + kWireOverhead) * 8);
    case Rate::percent: return r.value / 100 * line_rate_pps(line_bps, frame);
    case Rate::unpaced: return 0;
  }
  return 0;
}

}  // namespace nfvgen
