// nfv-gen's outputs (see the header).
#include "report.hpp"

#include <cstdio>

namespace nfvgen {

using nlohmann::json;

namespace {

json stream_json(const std::string& name, const StreamRxStats& s) {
  const auto& l = s.latency;
  return {{"name", name}, {"id", s.stream}, {"tx_packets", s.sent}, {"rx_packets", s.received},
          {"lost", s.lost}, {"loss_ratio", s.sent ? static_cast<double>(s.lost) / static_cast<double>(s.sent) : 0.0},
          {"reordered", s.reordered}, {"duplicates", s.duplicates}, {"late_unknown", s.late_unknown},
          {"bad_timestamp", s.bad_timestamp},
          {"latency_ns", {{"count", l.count}, {"min", l.min_ns}, {"p50", l.p50_ns}, {"p90", l.p90_ns},
                          {"p99", l.p99_ns}, {"p99.9", l.p999_ns}, {"max", l.max_ns}, {"mean", l.mean_ns},
                          {"jitter", l.jitter_ns}}}};
}

// gnuplot reads the script from a pipe; false when it is missing or fails.
bool run_gnuplot(const std::string& script) {
  FILE* p = ::popen("gnuplot 2>/dev/null", "w");
  if (p == nullptr) return false;
  std::fputs(script.c_str(), p);
  return ::pclose(p) == 0;
}

}  // namespace

std::vector<std::string> stream_names(const Generator& g) {
  if (g.replaying()) return {"pcap"};
  std::vector<std::string> names;
  for (const auto& s : g.streams()) names.push_back(s.name);
  return names;
}

json trial_json(const std::vector<std::string>& names, const TrialResult& r) {
  json streams = json::array();
  for (std::size_t i = 0; i < r.streams.size(); ++i) streams.push_back(stream_json(names[i], r.streams[i]));
  return {{"seconds", r.seconds}, {"offered_pps", r.offered_pps}, {"tx_pps", r.tx_pps}, {"rx_pps", r.rx_pps},
          {"tx_packets", r.tx_packets}, {"rx_packets", r.rx_packets}, {"tx_bytes", r.tx_bytes},
          {"rx_bytes", r.rx_bytes}, {"tx_refused", r.tx_refused}, {"no_buffer_rounds", r.no_buffer}, {"yields", r.yields},
          {"untracked", r.untracked}, {"bursts", r.bursts}, {"warm_writes", r.warm_writes},
          {"cycles_per_packet", r.cycles_per_packet}, {"write_cycles_per_packet", r.write_cycles_per_packet},
          {"send_cycles_per_packet", r.send_cycles_per_packet}, {"streams", streams}};
}

void print_trial(const std::vector<std::string>& names, const TrialResult& r) {
  std::printf("sent %lu frames in %.2f s (%.3f Mpps), received %lu (%.3f Mpps); refused by the port %lu\n"
              "cycles per frame: %.1f elapsed, %.1f building + sending (%.1f building)\n",
              r.tx_packets, r.seconds, r.tx_pps / 1e6, r.rx_packets, r.rx_pps / 1e6, r.tx_refused,
              r.cycles_per_packet, r.send_cycles_per_packet, r.write_cycles_per_packet);
  if (r.bursts) std::printf("%lu bursts\n", r.bursts);
  std::printf("%-12s %12s %12s %10s %9s %9s %10s %10s %10s %10s\n", "STREAM", "TX", "RX", "LOST", "REORDER", "DUP",
              "P50_US", "P99_US", "P99.9_US", "MAX_US");
  for (std::size_t i = 0; i < r.streams.size(); ++i) {
    const StreamRxStats& s = r.streams[i];
    std::printf("%-12s %12lu %12lu %10lu %9lu %9lu %10.1f %10.1f %10.1f %10.1f\n", names[i].c_str(), s.sent,
                s.received, s.lost, s.reordered, s.duplicates, s.latency.p50_ns / 1e3, s.latency.p99_ns / 1e3,
                s.latency.p999_ns / 1e3, s.latency.max_ns / 1e3);
  }
}

bool CsvReport::open(const std::string& path) {
  f_.open(path, std::ios::trunc);
  f_ << "mode,frame_size,trial,burst,stream,offered_pps,tx_pps,rx_pps,tx_packets,rx_packets,lost,loss_ratio,"
        "lat_min_ns,lat_p50_ns,lat_p90_ns,lat_p99_ns,lat_p999_ns,lat_max_ns,result\n";
  return f_.good();
}

void CsvReport::add(const std::string& mode, double frame_size, unsigned trial, uint64_t burst,
                    const std::string& result, const std::vector<std::string>& names, const TrialResult& r) {
  if (!f_.is_open()) return;
  const double secs = r.seconds > 0 ? r.seconds : 1;
  for (std::size_t i = 0; i < r.streams.size(); ++i) {
    const StreamRxStats& s = r.streams[i];
    const auto& l = s.latency;
    char line[512];
    std::snprintf(line, sizeof line, "%s,%g,%u,%lu,%s,%.1f,%.1f,%.1f,%lu,%lu,%lu,%.9f,%lu,%lu,%lu,%lu,%lu,%lu,%s\n",
                  mode.c_str(), frame_size, trial, burst, names[i].c_str(),
                  r.offered_pps / static_cast<double>(r.streams.size()), static_cast<double>(s.sent) / secs,
                  static_cast<double>(s.received) / secs, s.sent, s.received, s.lost,
                  s.sent ? static_cast<double>(s.lost) / static_cast<double>(s.sent) : 0.0, l.min_ns, l.p50_ns,
                  l.p90_ns, l.p99_ns, l.p999_ns, l.max_ns, result.c_str());
    f_ << line;
  }
}

// PREFIX-latency.csv and, through gnuplot, PREFIX-latency.png/.svg: the
// latency histogram (log x) and its CDF, one line per stream.
bool write_latency_plot(const std::string& prefix, const std::vector<std::string>& names, const TrialResult& r) {
  const std::string csv = prefix + "-latency.csv";
  {
    std::ofstream f(csv);
    f << "stream,upper_ns,count,cdf\n";
    for (std::size_t i = 0; i < r.latency_bins.size(); ++i) {
      uint64_t total = 0, seen = 0;
      for (const auto& b : r.latency_bins[i]) total += b.count;
      for (const auto& b : r.latency_bins[i]) {
        seen += b.count;
        f << names[i] << "," << b.upper_ns << "," << b.count << "," << static_cast<double>(seen) / total << "\n";
      }
    }
    if (!f) return false;
  }
  for (const char* term : {"pngcairo size 900,500", "svg size 900,500"}) {
    const std::string ext = std::string(term).rfind("png", 0) == 0 ? "png" : "svg";
    std::string gp = "set terminal " + std::string(term) + "\nset output '" + prefix + "-latency." + ext + "'\n" +
                     "set datafile separator ','\nset multiplot layout 1,2\nset logscale x\nset xlabel 'latency (ns)'\n"
                     "set ylabel 'frames'\nset title 'latency histogram'\nplot ";
    std::string cdf = "set ylabel 'fraction'\nset yrange [0:1]\nset title 'latency CDF'\nplot ";
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string sel = "'" + csv + "' skip 1 using (strcol(1) eq '" + names[i] + "' ? $2 : NaN):";
      gp += (i ? ", " : "") + sel + "3 with steps title '" + names[i] + "'";
      cdf += (i ? ", " : "") + sel + "4 with lines title '" + names[i] + "'";
    }
    gp += "\n" + cdf + "\nunset multiplot\n";
    if (!run_gnuplot(gp)) return false;
  }
  return true;
}

// PREFIX-throughput.csv and .png/.svg: the search's rate per frame size, in
// Mpps (left axis, with the line rate for reference) and % of the line rate
// (right axis).
bool write_throughput_plot(const std::string& prefix, const std::string& mode, const std::vector<SizePoint>& pts) {
  const std::string csv = prefix + "-throughput.csv";
  {
    std::ofstream f(csv);
    f << "frame_size,rate_pps,rate_mpps,line_mpps,percent_of_line\n";
    for (const auto& p : pts) {
      f << p.frame_size << "," << p.rate_pps << "," << p.rate_pps / 1e6 << "," << p.line_pps / 1e6 << ","
        << (p.line_pps > 0 ? 100 * p.rate_pps / p.line_pps : 0) << "\n";
    }
    if (!f) return false;
  }
  for (const char* term : {"pngcairo size 900,500", "svg size 900,500"}) {
    const std::string ext = std::string(term).rfind("png", 0) == 0 ? "png" : "svg";
    const std::string gp =
        "set terminal " + std::string(term) + "\nset output '" + prefix + "-throughput." + ext + "'\n" +
        "set datafile separator ','\nset title 'RFC 2544 " + mode + " throughput by frame size'\n"
        "set xlabel 'frame size (bytes, with FCS)'\nset ylabel 'Mpps'\nset y2label '% of line rate'\n"
        "set y2range [0:105]\nset ytics nomirror\nset y2tics\nset grid\nset key top right\nset logscale x 2\n"
        "plot '" + csv + "' skip 1 using 1:3 with linespoints title '" + mode + " (Mpps)', "
        "'" + csv + "' skip 1 using 1:4 with lines dashtype 2 title 'line rate (Mpps)', "
        "'" + csv + "' skip 1 using 1:5 axes x1y2 with linespoints title '% of line rate'\n";
    if (!run_gnuplot(gp)) return false;
  }
  return true;
}

}  // namespace nfvgen
