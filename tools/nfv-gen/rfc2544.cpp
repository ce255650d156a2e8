// RFC 2544 drivers (see the header).
#include "rfc2544.hpp"

#include <cmath>
#include <cstdio>

#include "rate_search.hpp"

namespace nfvgen {

using nlohmann::json;

namespace {

// Sent and lost over the tracked streams (a replay: over the port).
std::pair<uint64_t, uint64_t> sent_lost(const TrialResult& r) {
  uint64_t sent = 0, lost = 0;
  for (const auto& s : r.streams) sent += s.sent, lost += s.lost;
  return {sent, lost};
}

Rfc2544Result rate_search(Generator& gen, const Rfc2544Options& o, double max_rate, double frame_size,
                          CsvReport& csv) {
  Rfc2544Result out;
  const auto names = stream_names(gen);
  auto search = RateSearch::create(
      {.max_rate_pps = max_rate, .loss_ratio = o.mode == "ndr" ? 0.0 : o.pdr_loss, .resolution = o.resolution});
  if (!search) return out;  // not reached: main checked the rate and the ranges
  json trials = json::array();
  while (auto rate = search->next_rate()) {
    if (g_stop.load()) break;
    const TrialResult tr =
        gen.run({.rate_pps = *rate, .seconds = o.trial_seconds, .count = 0, .drain_s = 0.5, .progress = nullptr});
    const auto [sent, lost] = sent_lost(tr);
    search->report(sent, sent - lost);
    const bool pass = search->trials().back().pass;
    std::fprintf(stderr, "trial %zu (%g B): offered %.3f Mpps, sent %lu, lost %lu (%.4f%%): %s\n",
                 search->trials().size(), frame_size, *rate / 1e6, sent, lost, sent ? 100.0 * lost / sent : 0.0,
                 pass ? "pass" : "fail");
    json j = trial_json(names, tr);
    j["pass"] = pass;
    trials.push_back(j);
    csv.add(o.mode, frame_size, static_cast<unsigned>(search->trials().size()), 0, pass ? "pass" : "fail", names, tr);
  }
  out.result = search->result();
  out.json = {{"mode", o.mode}, {"frame_size", frame_size}, {"rate_pps", out.result}, {"max_rate_pps", max_rate},
              {"trials", trials}};
  return out;
}

Rfc2544Result back_to_back(Generator& gen, const Rfc2544Options& o, double max_rate, double frame_size,
                           CsvReport& csv) {
  Rfc2544Result out;
  const auto names = stream_names(gen);
  const uint64_t max_frames = o.b2b_max ? o.b2b_max : static_cast<uint64_t>(std::ceil(max_rate * 2));
  auto search = BurstSearch::create(max_frames, o.resolution);
  if (!search) return out;  // not reached: max_frames >= 1, resolution checked
  json trials = json::array();
  while (auto frames = search->next_length()) {
    if (g_stop.load()) break;
    const TrialResult tr = gen.run({.rate_pps = max_rate, .seconds = 0, .count = *frames, .drain_s = 0.5,
                                    .progress = nullptr});
    const auto [sent, lost] = sent_lost(tr);
    const bool pass = sent == *frames && lost == 0 && tr.tx_refused == 0;
    search->report(pass);
    std::fprintf(stderr, "trial %zu (%g B): burst of %lu frames at %.3f Mpps: sent %lu, lost %lu, refused %lu: %s\n",
                 search->trials().size(), frame_size, *frames, tr.tx_pps / 1e6, sent, lost, tr.tx_refused,
                 pass ? "pass" : "fail");
    json j = trial_json(names, tr);
    j["burst_frames"] = *frames;
    j["pass"] = pass;
    trials.push_back(j);
    csv.add("b2b", frame_size, static_cast<unsigned>(search->trials().size()), *frames, pass ? "pass" : "fail",
            names, tr);
  }
  out.result = static_cast<double>(search->result());
  out.json = {{"mode", "b2b"}, {"frame_size", frame_size}, {"burst_frames", search->result()},
              {"max_burst_frames", max_frames}, {"rate_pps", max_rate}, {"trials", trials}};
  return out;
}

}  // namespace

Rfc2544Result run_rfc2544(Generator& gen, const Rfc2544Options& o, double max_rate_pps, double frame_size,
                          CsvReport& csv) {
  return o.mode == "b2b" ? back_to_back(gen, o, max_rate_pps, frame_size, csv)
                         : rate_search(gen, o, max_rate_pps, frame_size, csv);
}

}  // namespace nfvgen
