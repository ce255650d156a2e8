// nfv-gen: the project's traffic generator on vhost-user ports. Streams from
// the command line or TOML (UDP/TCP over IPv4/IPv6, VLAN, GTP-U; fields varied
// per flow or per packet), or a pcap replayed; paced, fixed-count or burst
// transmission; loss/reordering/latency per stream; RFC 2544 NDR/PDR and
// back-to-back searches over frame sizes; a live progress line; table, JSON,
// CSV and gnuplot figures. docs/nfv-gen.md is the manual.
//
//   nfv-gen --port vhost-user:/tmp/gen.sock --stream "udp,src=10.0.0.1+1024,size=64" --rate 1M --seconds 10
//   nfv-gen --port vhost-user:/tmp/a.sock --rx-port vhost-user:/tmp/b.sock --streams t.toml
//           --rfc2544 ndr --rate 100% --sizes 64,128,256,512,1024,1280,1518 --csv ndr.csv --plot ndr
//
// Exit status: 0 done, 2 bad arguments or configuration (nothing sent), 1
// when the ports could not be connected or an output could not be written.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "generator.hpp"
#include "rate.hpp"
#include "report.hpp"
#include "rfc2544.hpp"
#include "stream_config.hpp"

using nlohmann::json;
using namespace nfvgen;

namespace {

void on_signal(int) { g_stop.store(true); }

const char* kStreamHelp = R"(a stream (repeatable), items separated by ',':
  udp | tcp | gtpu              protocol (default udp); gtpu wraps it in IPv4/UDP/GTP-U
  src=ADDR dst=ADDR             IPv4 or IPv6 (default 10.0.0.1, 10.1.0.1)
  sport=PORT dport=PORT         default 1024
  smac=MAC dmac=MAC vlan=ID pcp=P ttl=N name=NAME id=N
  size=N | A-B | A..B | imix    bytes without FCS (60..9000): fixed, uniform random,
                                incrementing, or IMIX 7:4:1 (default 64; gtpu 128)
  flows=N                       default: the largest per-flow COUNT
  teid=T qfi=Q outer_src=ADDR outer_dst=ADDR   GTP-U fields
  udp_checksum=on|off           off: UDP checksum 0 (IPv4 only)
  seed=N                        for random fields and sizes (default --seed)
Field variation (src, dst, sport, dport, teid): VALUE+COUNT increments per flow,
VALUE~COUNT a seeded random value per flow, VALUE?COUNT a seeded uniform random
value per packet, each among COUNT values from VALUE.
e.g. "udp,src=10.0.0.1+1024,dport=2000?16,size=imix"  "gtpu,teid=100+64,src=10.9.0.1+64")";

// The rate actually used for a frame size, or an error text (nothing sent yet).
std::string check_rate(double pps, double line_bps, double frame) {
  const double line = line_rate_pps(line_bps, frame);
  if (pps > line * (1 + 1e-9)) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "rate %.3f Mpps is above the line rate (%.3f Mpps for %.1f-byte frames at %.3g Gbit/s); "
                  "expected at most that, or a higher --line-rate",
                  pps / 1e6, line / 1e6, frame + 4, line_bps / 1e9);
    return msg;
  }
  return {};
}

bool write_json(const std::string& path, const json& out) {
  if (path == "-") {
    std::printf("%s\n", out.dump(2).c_str());
    return true;
  }
  std::ofstream f(path);
  f << out.dump(2) << "\n";
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nfv-gen: traffic generator on vhost-user ports (docs/nfv-gen.md)"};
  GeneratorOptions o;
  std::vector<std::string> stream_args;
  std::string streams_file, pcap_file, rate_text = "max", json_out, csv_out, rfc2544, log_level = "warn",
                                       line_rate_text = "10Gbps", plot_prefix, sizes_text, idle = "poll";
  double seconds = 10, burst_gap_us = 0;
  Rfc2544Options search{.trial_seconds = 5, .pdr_loss = 0.005, .resolution = 0.005};
  uint64_t count = 0, burst = 0, seed = 1;
  bool quiet = false, progress_flag = false;
  app.add_option("--port,-p", o.tx_port, "tx port: vhost-user:PATH[,server][,queue-size=N]")->required();
  app.add_option("--rx-port", o.rx_port, "rx port (default: the tx port)");
  app.add_option("--stream,-s", stream_args, kStreamHelp);
  app.add_option("--streams", streams_file, "TOML file with [[stream]] tables (same keys as --stream)");
  app.add_option("--pcap", pcap_file, "replay the Ethernet frames of this pcap/pcapng file, looping, instead of streams");
  app.add_option("--seed", seed, "seed of the random fields and sizes of streams without seed= (default 1)");
  app.add_option("--rate,-r", rate_text,
                 "total rate: pps (1.5M), bits/s on the wire (10Gbps), percent of --line-rate (50%), "
                 "or max (default: as fast as possible)");
  app.add_option("--line-rate", line_rate_text, "nominal line rate for percentages and checks, e.g. 10Gbps");
  app.add_option("--seconds", seconds, "sending time")->check(CLI::Range(0.01, 86400.0));
  app.add_option("--count", count, "frames to send instead of --seconds");
  app.add_option("--burst", burst, "send bursts of N back-to-back frames (at --rate, or unpaced)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--burst-gap", burst_gap_us, "idle time after each burst, in microseconds")
      ->check(CLI::Range(0.0, 3.6e9));
  app.add_option("--cpu", o.cpu, "pin the generator to this cpu");
  app.add_option("--idle", idle,
                 "poll (spin) or yield (give the CPU away while the tx ring is full and nothing arrives: "
                 "for a generator sharing its CPU with the device under test)")
      ->check(CLI::IsMember({"poll", "yield"}));
  app.add_option("--json", json_out, "write the results as JSON to this file ('-' for stdout)");
  app.add_option("--csv", csv_out, "write one CSV row per stream and trial to this file");
  app.add_option("--plot", plot_prefix,
                 "write PREFIX-latency.{csv,png,svg} (latency histogram and CDF) and, with --sizes, "
                 "PREFIX-throughput.{csv,png,svg}");
  app.add_option("--rfc2544", search.mode,
                 "RFC 2544 test: ndr (no-drop rate), pdr (partial-drop rate) or b2b (longest back-to-back burst)")
      ->check(CLI::IsMember({"ndr", "pdr", "b2b"}));
  app.add_option("--sizes", sizes_text, "RFC 2544 frame sizes with FCS, e.g. 64,128,256,512,1024,1280,1518");
  app.add_option("--trial-seconds", search.trial_seconds, "RFC 2544 trial length")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--pdr-loss", search.pdr_loss, "loss ratio accepted by pdr")->check(CLI::Range(0.0, 0.5));
  app.add_option("--resolution", search.resolution, "search resolution, fraction of the max rate or burst")
      ->check(CLI::Range(0.0001, 0.5));
  app.add_option("--b2b-max", search.b2b_max, "longest burst b2b tries (default: 2 s at the rate)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_flag("--progress", progress_flag, "print the progress line even when stderr is not a terminal");
  app.add_flag("--quiet,-q", quiet, "no progress line");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  o.idle = idle == "yield" ? GeneratorOptions::Idle::yield : GeneratorOptions::Idle::poll;
  auto fail = [](int code, const std::string& msg) {
    std::fprintf(stderr, "nfv-gen: %s\n", msg.c_str());
    return code;
  };
  const auto rate_given = parse_rate(rate_text);
  if (!rate_given) {
    return fail(2, "rate '" + rate_text +
                       "': expected a positive rate in pps (1.5M), bits/s (10Gbps) or percent (50%), or max");
  }
  const auto line_given = parse_rate(line_rate_text);
  if (!line_given || line_given->unit != Rate::bps) {
    return fail(2, "line rate '" + line_rate_text + "': expected bits/s, e.g. 10Gbps or 25Gbps");
  }
  const double line_bps = line_given->value;
  for (std::size_t i = 0; i < stream_args.size(); ++i) {
    auto s = parse_stream_option(stream_args[i], static_cast<uint16_t>(i));
    if (!s) return fail(2, s.error().message);
    o.streams.push_back(std::move(*s));
  }
  if (!streams_file.empty()) {
    std::ifstream in(streams_file);
    if (!in) return fail(2, "cannot read " + streams_file + "; expected a TOML file with [[stream]] tables");
    std::stringstream text;
    text << in.rdbuf();
    auto s = parse_stream_config(text.str(), streams_file);
    if (!s) return fail(2, s.error().message);
    for (auto& spec : *s) o.streams.push_back(std::move(spec));
  }
  if (!pcap_file.empty()) {
    if (!o.streams.empty()) return fail(2, "--pcap replaces the streams; expected --pcap or --stream/--streams");
    auto trace = PcapTrace::load(pcap_file, Generator::kMaxFrame);
    if (!trace) return fail(2, trace.error().message);
    o.replay = std::make_shared<const PcapTrace>(std::move(*trace));
  } else if (o.streams.empty()) {
    o.streams.push_back(*parse_stream_option("udp"));
  }
  for (auto& s : o.streams) {
    if (!s.seed_given) s.seed = seed;
  }
  std::vector<uint32_t> sizes;  // with FCS
  if (!sizes_text.empty()) {
    if (search.mode.empty()) return fail(2, "--sizes is for RFC 2544 tests; expected --rfc2544 too");
    if (o.replay) return fail(2, "--sizes cannot resize pcap frames; expected streams");
    std::stringstream in(sizes_text);
    for (std::string item; std::getline(in, item, ',');) {
      char* end = nullptr;
      const unsigned long v = std::strtoul(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < kMinFrameSize + 4 || v > Generator::kMaxFrame + 4)
        return fail(2, "--sizes item '" + item + "': expected frame sizes with FCS in 64.." +
                           std::to_string(Generator::kMaxFrame + 4) + ", e.g. 64,128,1518");
      // Every stream must hold its headers at that size: check now, before anything is sent.
      for (StreamSpec s : o.streams) {
        s.size = {SizeMode::fixed, static_cast<uint32_t>(v - 4), static_cast<uint32_t>(v - 4)};
        if (auto st = check_stream_spec(s); !st) return fail(2, "--sizes " + item + ": " + st.error().message);
      }
      sizes.push_back(static_cast<uint32_t>(v));
    }
  }
  if (!search.mode.empty() && rate_given->unit == Rate::unpaced) {
    return fail(2, "--rfc2544 needs --rate: the highest rate to try (e.g. 100% of --line-rate)");
  }
  if (!search.mode.empty() && (burst || count)) {
    return fail(2, "--rfc2544 runs its own trials; expected no --burst or --count with it");
  }
  if (burst_gap_us > 0 && !burst) return fail(2, "--burst-gap needs --burst N (frames per burst)");
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto made = Generator::create(o);
  if (!made) {
    const auto c = made.error().code;
    return fail(c == nfv::Errc::invalid_argument || c == nfv::Errc::unsupported ? 2 : 1, made.error().message);
  }
  Generator& gen = **made;
  const double mean_frame = gen.mean_frame_size();
  const double rate = to_pps(*rate_given, line_bps, mean_frame);
  if (sizes.empty()) {
    if (auto why = check_rate(rate, line_bps, mean_frame); !why.empty()) return fail(2, why);
  }
  CsvReport csv;
  if (!csv_out.empty() && !csv.open(csv_out)) return fail(2, "cannot write " + csv_out);
  if (auto s = gen.connect(); !s) return fail(1, s.error().message);

  const auto names = stream_names(gen);
  const bool show_progress = !quiet && (progress_flag || ::isatty(STDERR_FILENO) != 0);
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  auto progress = [&](const Progress& p) {
    const double loss = p.tx_packets ? 100.0 * static_cast<double>(p.missing) / static_cast<double>(p.tx_packets) : 0;
    std::fprintf(stderr, "%s[%6.1f s] tx %8.3f Mpps  rx %8.3f Mpps  loss %lu (%.4f%%)  p99 %.1f us%s",
                 tty ? "\r" : "", p.elapsed_s, p.tx_pps / 1e6, p.rx_pps / 1e6, p.missing, loss, p.p99_ns / 1e3,
                 tty ? "\x1b[K" : "\n");
    std::fflush(stderr);
  };
  json out;
  bool outputs_ok = true;
  if (search.mode.empty()) {
    TrialOptions t{.rate_pps = rate, .seconds = seconds, .count = count, .burst = burst,
                   .burst_gap_s = burst_gap_us / 1e6, .drain_s = 0.5, .progress = nullptr};
    if (show_progress) t.progress = progress;
    const TrialResult r = gen.run(t);
    if (show_progress && tty) std::fprintf(stderr, "\n");
    print_trial(names, r);
    out = trial_json(names, r);
    csv.add("run", mean_frame + 4, 0, burst, "", names, r);
    if (!plot_prefix.empty() && !write_latency_plot(plot_prefix, names, r)) {
      std::fprintf(stderr, "nfv-gen: could not write the latency plot %s-latency.* (is gnuplot installed?)\n",
                   plot_prefix.c_str());
      outputs_ok = false;
    }
  } else if (sizes.empty()) {
    const Rfc2544Result res = run_rfc2544(gen, search, rate, mean_frame + 4, csv);
    if (search.mode == "b2b") {
      std::printf("B2B: %.0f frames at %.3f Mpps (%zu trials)\n", res.result, rate / 1e6, res.json["trials"].size());
    } else {
      std::printf("%s: %.3f Mpps (%zu trials of %.1f s, resolution %.2f%% of %.3f Mpps)\n",
                  search.mode == "ndr" ? "NDR" : "PDR", res.result / 1e6, res.json["trials"].size(),
                  search.trial_seconds, search.resolution * 100, rate / 1e6);
    }
    out = res.json;
  } else {
    json per_size = json::array();
    std::vector<SizePoint> points;
    std::printf("%-10s %12s %12s %10s %12s\n", "FRAME_B", search.mode == "b2b" ? "BURST" : "RATE_MPPS",
                "LINE_MPPS", "%LINE", "GBIT_WIRE");
    for (const uint32_t size : sizes) {
      if (g_stop.load()) break;
      if (auto s = gen.set_frame_size(size - 4); !s) return fail(2, s.error().message);  // checked above
      const double frame = size - 4;
      const double line = line_rate_pps(line_bps, frame);
      const double max_rate = std::min(to_pps(*rate_given, line_bps, frame), line);
      const Rfc2544Result res = run_rfc2544(gen, search, max_rate, size, csv);
      const double pps = search.mode == "b2b" ? max_rate : res.result;
      std::printf("%-10u %12.3f %12.3f %10.2f %12.3f\n", size, search.mode == "b2b" ? res.result : pps / 1e6,
                  line / 1e6, 100 * pps / line, pps * (frame + kWireOverhead) * 8 / 1e9);
      points.push_back({size, search.mode == "b2b" ? res.result : pps, line});
      per_size.push_back(res.json);
    }
    out = {{"mode", search.mode}, {"line_rate_bps", line_bps}, {"sizes", per_size}};
    if (!plot_prefix.empty() && search.mode != "b2b" && !write_throughput_plot(plot_prefix, search.mode, points)) {
      std::fprintf(stderr, "nfv-gen: could not write the throughput plot %s-throughput.* (is gnuplot installed?)\n",
                   plot_prefix.c_str());
      outputs_ok = false;
    }
  }
  if (!csv_out.empty() && !csv.ok()) return fail(1, "cannot write " + csv_out);
  if (!json_out.empty() && !write_json(json_out, out)) return fail(1, "cannot write " + json_out);
  return outputs_ok ? 0 : 1;
}
