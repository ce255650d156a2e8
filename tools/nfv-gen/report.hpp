// nfv-gen's outputs: the table on stdout, JSON, CSV, and gnuplot figures.
//
// CSV (--csv FILE): one row per stream per trial, header first:
//   mode,frame_size,trial,burst,stream,offered_pps,tx_pps,rx_pps,
//   tx_packets,rx_packets,lost,loss_ratio,lat_min_ns,lat_p50_ns,lat_p90_ns,
//   lat_p99_ns,lat_p999_ns,lat_max_ns,result
// mode: run, ndr, pdr or b2b; frame_size: bytes with FCS (RFC 2544 sizes),
// or the mean over the streams for a run; trial: 0 for a run, 1.. for RFC
// 2544 trials; burst: frames per b2b trial (else 0); result: pass/fail for
// trials, empty for a run. A stream's tx_pps/rx_pps are its frames over the
// trial's sending time.
//
// Figures (--plot PREFIX), through gnuplot, PNG and SVG, with the CSV they
// are drawn from: PREFIX-latency.* (latency histogram and CDF per stream)
// and, for RFC 2544 over --sizes, PREFIX-throughput.* (Mpps and % of the line
// rate against frame size).
#pragma once

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "generator.hpp"

namespace nfvgen {

// Stream names of a result: the specs', or "pcap" for a replay.
std::vector<std::string> stream_names(const Generator& g);

nlohmann::json trial_json(const std::vector<std::string>& names, const TrialResult& r);
void print_trial(const std::vector<std::string>& names, const TrialResult& r);

class CsvReport {
 public:
  // Opens (truncates) `path` and writes the header; false when it cannot.
  bool open(const std::string& path);
  bool is_open() const { return f_.is_open(); }
  void add(const std::string& mode, double frame_size, unsigned trial, uint64_t burst, const std::string& result,
           const std::vector<std::string>& names, const TrialResult& r);
  bool ok() { f_.flush(); return f_.good(); }

 private:
  std::ofstream f_;
};

bool write_latency_plot(const std::string& prefix, const std::vector<std::string>& names, const TrialResult& r);

struct SizePoint {
  uint32_t frame_size;  // with FCS
  double rate_pps;      // the search's result
  double line_pps;      // the line rate at this size
};
bool write_throughput_plot(const std::string& prefix, const std::string& mode, const std::vector<SizePoint>& points);

}  // namespace nfvgen
