// nfvctl capture PORT -w FILE [--count N] [--direction rx|tx|both]: starts a
// capture session in the switch (capture.start), pulls the frames in chunks
// (capture.read, base64) into a pcap file until --count frames, --duration
// seconds or Ctrl-C, then ends the session. The switch's copies are lossy
// under load: the summary says how many frames it could not copy.
#include <csignal>
#include <iostream>
#include <thread>

#include "pcap_writer.hpp"
#include "printers.hpp"
#include "verbs.hpp"

namespace nfvctl {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }  // only sets the flag

}  // namespace

int run_capture(const RunContext& ctx, const CLI::App&, const VerbOptions& o) {
  auto client = connect_switch(ctx);
  if (!client) return kExitCannotConnect;
  auto writer = PcapWriter::create(o.write_file, o.snaplen);
  if (!writer) return std::cerr << "nfvctl: cannot write the pcap file: " << writer.error().message << '\n', kExitUsage;

  auto started = client->call("capture.start", Json{{"port", o.port}, {"count", o.count},
                                                    {"direction", o.direction}, {"snaplen", o.snaplen}});
  if (!started) return std::cerr << "nfvctl: " << started.error().message << '\n', kExitServerError;
  const uint64_t id = (*started)["id"].get<uint64_t>();
  if (!ctx.json)
    std::cerr << "capturing " << o.count << " frames (" << o.direction << ") on " << o.port << " into "
              << o.write_file << "; Ctrl-C stops\n";

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t written = 0;
  Json last;
  std::string frame;
  bool done = false;
  while (!done) {
    auto r = client->call("capture.read", Json{{"id", id}, {"max_frames", 1024}});
    if (!r) return std::cerr << "nfvctl: " << r.error().message << '\n', kExitServerError;
    last = *r;
    for (const Json& f : (*r)["frames"]) {
      if (!base64_decode(f["data"].get<std::string>(), frame))
        return std::cerr << "nfvctl: the switch sent a frame that is not base64\n", kExitServerError;
      if (auto st = writer->write(f["ts_ns"].get<uint64_t>(), f["len"].get<uint32_t>(), frame); !st)
        return std::cerr << "nfvctl: " << st.error().message << '\n', kExitServerError;
      ++written;
    }
    done = (*r)["done"].get<bool>();
    const bool timed_out = o.duration_s > 0 &&
                           std::chrono::steady_clock::now() - t0 > std::chrono::duration<double>(o.duration_s);
    if (!done && (g_interrupted || timed_out)) {
      auto s = client->call("capture.stop", Json{{"id", id}});
      if (s) last = *s;
      break;
    }
    if (!done && (*r)["frames"].empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (auto st = writer->close(); !st) return std::cerr << "nfvctl: " << st.error().message << '\n', kExitServerError;
  const Json summary{{"port", o.port}, {"file", o.write_file}, {"frames", written},
                     {"dropped", member(last, "dropped")}, {"ended", member(last, "ended")}};
  if (ctx.json) print_json(summary, std::cout);
  else
    std::cout << "captured " << written << " frames on " << o.port << " into " << o.write_file << " ("
              << cell(summary, "dropped") << " not copied under load)\n";
  return kExitOk;
}

}  // namespace nfvctl
