// nfv-gen: the project's traffic generator (first cut: vhost-user ports,
// streams from the command line or TOML, paced rates, loss/reordering/latency
// per stream, RFC 2544 NDR/PDR search, a live progress line and JSON output).
//
//   nfv-gen --port vhost-user:/tmp/gen.sock --stream "udp,flows=1024,size=64" --rate 1M --seconds 10
//   nfv-gen --port vhost-user:/tmp/a.sock --rx-port vhost-user:/tmp/b.sock --streams t.toml --rfc2544 ndr
//
// Exit status: 0 done, 2 bad arguments or configuration (nothing sent), 1
// when the ports could not be connected.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "generator.hpp"
#include "rate_search.hpp"
#include "stream_config.hpp"

using nlohmann::json;
using namespace nfvgen;

namespace {

void on_signal(int) { g_stop.store(true); }

// A rate as given: "1000", "1.5M", "200k" (packets/s), "10Gbps", "500Mbps"
// (bits/s on the wire), "50%" (of the line rate).
struct Rate {
  enum Unit { pps, bps, percent } unit = pps;
  double value = 0;
};

bool parse_rate(std::string s, Rate& r) {
  r = Rate{};
  if (s.size() > 3 && s.compare(s.size() - 3, 3, "bps") == 0) {
    r.unit = Rate::bps;
    s.resize(s.size() - 3);
  } else if (!s.empty() && s.back() == '%') {
    r.unit = Rate::percent;
    s.pop_back();
  }
  if (s.empty()) return false;
  double mult = 1;
  switch (s.back()) {
    case 'k': case 'K': mult = 1e3; s.pop_back(); break;
    case 'm': case 'M': mult = 1e6; s.pop_back(); break;
    case 'g': case 'G': mult = 1e9; s.pop_back(); break;
    default: break;
  }
  if (r.unit == Rate::percent && mult != 1) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v >= 0) || !std::isfinite(v)) return false;
  if (r.unit == Rate::percent && v > 100) return false;
  r.value = v * mult;
  return true;
}

// Ethernet on the wire: the frame plus FCS (4), preamble and SFD (8) and the
// minimum inter-frame gap (12).
constexpr double kWireOverhead = 24;

double to_pps(const Rate& r, double line_bps, double mean_frame) {
  switch (r.unit) {
    case Rate::pps: return r.value;
    case Rate::bps: return r.value / ((mean_frame + kWireOverhead) * 8);
    case Rate::percent: return r.value / 100 * line_bps / ((mean_frame + kWireOverhead) * 8);
  }
  return 0;
}

// PREFIX-latency.csv and, through gnuplot, PREFIX-latency.png/.svg: the
// latency histogram (log x) and its CDF, one line per stream.
bool write_latency_plot(const std::string& prefix, const std::vector<StreamSpec>& specs, const TrialResult& r) {
  const std::string csv = prefix + "-latency.csv";
  {
    std::ofstream f(csv);
    f << "stream,upper_ns,count,cdf\n";
    for (std::size_t i = 0; i < r.latency_bins.size(); ++i) {
      uint64_t total = 0, seen = 0;
      for (const auto& b : r.latency_bins[i]) total += b.count;
      for (const auto& b : r.latency_bins[i]) {
        seen += b.count;
        f << specs[i].name << "," << b.upper_ns << "," << b.count << "," << static_cast<double>(seen) / total << "\n";
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
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const std::string sel = "'" + csv + "' skip 1 using (strcol(1) eq '" + specs[i].name + "' ? $2 : NaN):";
      gp += (i ? ", " : "") + sel + "3 with steps title '" + specs[i].name + "'";
      cdf += (i ? ", " : "") + sel + "4 with lines title '" + specs[i].name + "'";
    }
    gp += "\n" + cdf + "\nunset multiplot\n";
    FILE* p = ::popen("gnuplot 2>/dev/null", "w");
    if (p == nullptr) return false;
    std::fputs(gp.c_str(), p);
    if (::pclose(p) != 0) return false;
  }
  return true;
}

json stream_json(const StreamSpec& spec, const StreamRxStats& s) {
  const auto& l = s.latency;
  return {{"name", spec.name}, {"id", s.stream}, {"tx_packets", s.sent}, {"rx_packets", s.received},
          {"lost", s.lost}, {"loss_ratio", s.sent ? static_cast<double>(s.lost) / static_cast<double>(s.sent) : 0.0},
          {"reordered", s.reordered}, {"duplicates", s.duplicates}, {"late_unknown", s.late_unknown},
          {"bad_timestamp", s.bad_timestamp},
          {"latency_ns", {{"count", l.count}, {"min", l.min_ns}, {"p50", l.p50_ns}, {"p90", l.p90_ns},
                          {"p99", l.p99_ns}, {"p99.9", l.p999_ns}, {"max", l.max_ns}, {"mean", l.mean_ns},
                          {"jitter", l.jitter_ns}}}};
}

json trial_json(const std::vector<StreamSpec>& specs, const TrialResult& r) {
  json streams = json::array();
  for (std::size_t i = 0; i < r.streams.size(); ++i) streams.push_back(stream_json(specs[i], r.streams[i]));
  return {{"seconds", r.seconds}, {"offered_pps", r.offered_pps}, {"tx_pps", r.tx_pps}, {"rx_pps", r.rx_pps},
          {"tx_packets", r.tx_packets}, {"rx_packets", r.rx_packets}, {"tx_bytes", r.tx_bytes},
          {"rx_bytes", r.rx_bytes}, {"tx_refused", r.tx_refused}, {"no_buffer_rounds", r.no_buffer},
          {"untracked", r.untracked}, {"streams", streams}};
}

void print_trial(const std::vector<StreamSpec>& specs, const TrialResult& r) {
  std::printf("sent %lu frames in %.2f s (%.3f Mpps), received %lu (%.3f Mpps); refused by the port %lu\n",
              r.tx_packets, r.seconds, r.tx_pps / 1e6, r.rx_packets, r.rx_pps / 1e6, r.tx_refused);
  std::printf("%-12s %12s %12s %10s %9s %9s %10s %10s %10s %10s\n", "STREAM", "TX", "RX", "LOST", "REORDER", "DUP",
              "P50_US", "P99_US", "P99.9_US", "MAX_US");
  for (std::size_t i = 0; i < r.streams.size(); ++i) {
    const StreamRxStats& s = r.streams[i];
    std::printf("%-12s %12lu %12lu %10lu %9lu %9lu %10.1f %10.1f %10.1f %10.1f\n", specs[i].name.c_str(), s.sent,
                s.received, s.lost, s.reordered, s.duplicates, s.latency.p50_ns / 1e3, s.latency.p99_ns / 1e3,
                s.latency.p999_ns / 1e3, s.latency.max_ns / 1e3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nfv-gen: traffic generator on vhost-user ports"};
  GeneratorOptions o;
  std::vector<std::string> stream_args;
  std::string streams_file, rate_text = "0", json_out, rfc2544, log_level = "warn", line_rate_text = "10Gbps",
      plot_prefix;
  double seconds = 10, trial_seconds = 5, pdr_loss = 0.005, resolution = 0.005;
  uint64_t count = 0;
  bool quiet = false;
  app.add_option("--port,-p", o.tx_port, "tx port: vhost-user:PATH[,server][,...]")->required();
  app.add_option("--rx-port", o.rx_port, "rx port (default: the tx port)");
  app.add_option("--stream,-s", stream_args, "a stream, e.g. \"udp,src=10.0.0.1+1024,size=imix\" (repeatable)");
  app.add_option("--streams", streams_file, "TOML file with [[stream]] tables");
  app.add_option("--rate,-r", rate_text,
                 "total rate: pps (1.5M), bits/s on the wire (10Gbps) or percent of --line-rate (50%); "
                 "0 = as fast as possible");
  app.add_option("--line-rate", line_rate_text, "nominal line rate for percentages, e.g. 10Gbps");
  app.add_option("--plot", plot_prefix, "write PREFIX-latency.{csv,png,svg}: latency histogram and CDF");
  app.add_option("--seconds", seconds, "sending time")->check(CLI::Range(0.01, 86400.0));
  app.add_option("--count", count, "frames to send instead of --seconds");
  app.add_option("--cpu", o.cpu, "pin the generator to this cpu");
  app.add_option("--json", json_out, "write the results as JSON to this file ('-' for stdout)");
  app.add_option("--rfc2544", rfc2544, "search the ndr (no drop) or pdr (partial drop) rate")
      ->check(CLI::IsMember({"ndr", "pdr"}));
  app.add_option("--trial-seconds", trial_seconds, "RFC 2544 trial length")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--pdr-loss", pdr_loss, "loss ratio accepted by pdr")->check(CLI::Range(0.0, 0.5));
  app.add_option("--resolution", resolution, "search resolution, fraction of the max rate")
      ->check(CLI::Range(0.0001, 0.5));
  app.add_flag("--quiet,-q", quiet, "no progress line");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  auto fail = [](int code, const std::string& msg) {
    std::fprintf(stderr, "nfv-gen: %s\n", msg.c_str());
    return code;
  };
  Rate rate_given, line_given;
  if (!parse_rate(rate_text, rate_given)) {
    return fail(2, "rate '" + rate_text + "': expected pps (1.5M), bits/s (10Gbps) or a percentage (50%)");
  }
  if (!parse_rate(line_rate_text, line_given) || line_given.unit != Rate::bps || line_given.value <= 0) {
    return fail(2, "line rate '" + line_rate_text + "': expected bits/s, e.g. 10Gbps or 25Gbps");
  }
  for (std::size_t i = 0; i < stream_args.size(); ++i) {
    auto s = parse_stream_option(stream_args[i], static_cast<uint16_t>(i));
    if (!s) return fail(2, s.error().message);
    o.streams.push_back(std::move(*s));
  }
  if (!streams_file.empty()) {
    std::ifstream in(streams_file);
    if (!in) return fail(2, "cannot read " + streams_file);
    std::stringstream text;
    text << in.rdbuf();
    auto s = parse_stream_config(text.str(), streams_file);
    if (!s) return fail(2, s.error().message);
    for (auto& spec : *s) o.streams.push_back(std::move(spec));
  }
  if (o.streams.empty()) o.streams.push_back(*parse_stream_option("udp"));
  if (!rfc2544.empty() && rate_given.value <= 0) {
    return fail(2, "--rfc2544 needs --rate: the highest rate to try (e.g. the line rate in pps)");
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto gen = Generator::create(o);
  if (!gen) return fail(gen.error().code == nfv::Errc::invalid_argument || gen.error().code == nfv::Errc::unsupported ? 2 : 1,
                        gen.error().message);
  const double rate = to_pps(rate_given, line_given.value, (*gen)->mean_frame_size());
  if (auto s = (*gen)->connect(); !s) return fail(1, s.error().message);

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  auto progress = [&](double t, double tx, double rx) {
    if (quiet) return;
    std::fprintf(stderr, "%s[%6.1f s] tx %8.3f Mpps  rx %8.3f Mpps%s", tty ? "\r" : "", t, tx / 1e6, rx / 1e6,
                 tty ? "" : "\n");
    std::fflush(stderr);
  };
  json out;
  if (rfc2544.empty()) {
    TrialOptions t{.rate_pps = rate, .seconds = seconds, .count = count, .drain_s = 0.5, .progress = progress};
    const TrialResult r = (*gen)->run(t);
    if (tty && !quiet) std::fprintf(stderr, "\n");
    print_trial(o.streams, r);
    out = trial_json(o.streams, r);
    if (!plot_prefix.empty() && !write_latency_plot(plot_prefix, o.streams, r)) {
      std::fprintf(stderr, "nfv-gen: could not write the latency plot %s-latency.*\n", plot_prefix.c_str());
    }
  } else {
    auto search = RateSearch::create({.max_rate_pps = rate, .loss_ratio = rfc2544 == "ndr" ? 0.0 : pdr_loss,
                                      .resolution = resolution});
    if (!search) return fail(2, search.error().message);
    json trials = json::array();
    while (auto r = search->next_rate()) {
      if (g_stop.load()) break;
      TrialOptions t{.rate_pps = *r, .seconds = trial_seconds, .count = 0, .drain_s = 0.5, .progress = nullptr};
      const TrialResult tr = (*gen)->run(t);
      // Loss over tracked streams: sent minus received once.
      uint64_t sent = 0, lost = 0;
      for (const auto& s : tr.streams) sent += s.sent, lost += s.lost;
      search->report(sent, sent - lost);
      std::fprintf(stderr, "trial %zu: offered %.3f Mpps, sent %lu, lost %lu (%.4f%%): %s\n",
                   search->trials().size(), *r / 1e6, sent, lost, sent ? 100.0 * lost / sent : 0.0,
                   search->trials().back().pass ? "pass" : "fail");
      trials.push_back(trial_json(o.streams, tr));
    }
    std::printf("%s: %.3f Mpps (%zu trials of %.1f s, resolution %.2f%% of %.3f Mpps)\n",
                rfc2544 == "ndr" ? "NDR" : "PDR", search->result() / 1e6, search->trials().size(), trial_seconds,
                resolution * 100, rate / 1e6);
    out = {{"mode", rfc2544}, {"rate_pps", search->result()}, {"max_rate_pps", rate}, {"trials", trials}};
  }
  if (!json_out.empty()) {
    if (json_out == "-") {
      std::printf("%s\n", out.dump(2).c_str());
    } else {
      std::ofstream f(json_out);
      f << out.dump(2) << "\n";
      if (!f) return fail(1, "cannot write " + json_out);
    }
  }
  return 0;
}
