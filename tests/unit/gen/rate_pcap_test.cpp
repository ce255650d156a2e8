// Rates as the command line gives them (rate.hpp) and pcap traces for
// replay (pcap_trace.hpp): files written here byte by byte, good and bad.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pcap_trace.hpp"
#include "rate.hpp"

using namespace nfvgen;

namespace {

// A classic pcap: header (link type `link`), then records (caplen, len, bytes).
struct Record {
  uint32_t caplen, len;
  std::vector<uint8_t> bytes;
};
std::string write_file(const std::string& name, uint32_t link, const std::vector<Record>& records, size_t cut = 0) {
  std::vector<uint8_t> out;
  const auto u32 = [&](uint32_t v) { out.insert(out.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 4); };
  const auto u16 = [&](uint16_t v) { out.insert(out.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 2); };
  u32(0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(65535), u32(link);
  for (const auto& r : records) {
    u32(1), u32(0), u32(r.caplen), u32(r.len);
    out.insert(out.end(), r.bytes.begin(), r.bytes.end());
  }
  out.resize(out.size() - cut);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("nfv-gen-" + std::to_string(::getpid()) + "-" + name)).string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  return path;
}

std::string load_error(const std::string& path) {
  auto t = PcapTrace::load(path, 2164);
  std::filesystem::remove(path);
  return t.ok() ? "" : t.error().message;
}

}  // namespace

TEST_CASE("rates: units, and what is not a rate") {
  CHECK(parse_rate("max")->unit == Rate::unpaced);
  CHECK(parse_rate("1.5M")->value == 1.5e6);
  CHECK(parse_rate("200k")->unit == Rate::pps);
  CHECK(parse_rate("10Gbps")->value == 10e9);
  CHECK(parse_rate("10Gbps")->unit == Rate::bps);
  CHECK(parse_rate("50%")->value == 50);
  for (const char* bad : {"0", "0pps", "0%", "-5", "101%", "5k%", "fast", "", "bps", "nan", "inf", "1e400"})
    CHECK_MESSAGE(!parse_rate(bad), bad);
  // 64-byte frames (60 + FCS) on 10 Gbit/s: 14.88 Mpps.
  CHECK(std::abs(line_rate_pps(10e9, 60) - 14880952.4) < 1);
  CHECK(std::abs(to_pps(*parse_rate("50%"), 10e9, 60) - 7440476.2) < 1);
  CHECK(std::abs(to_pps(*parse_rate("1Gbps"), 10e9, 1514) - 1e9 / (1538 * 8)) < 1e-6);
  CHECK(to_pps(*parse_rate("max"), 10e9, 60) == 0);
}

TEST_CASE("pcap traces: frames in order; bad files say what is wrong") {
  std::vector<Record> good;
  for (uint8_t i = 0; i < 3; ++i) good.push_back({60u + i, 60u + i, std::vector<uint8_t>(60 + i, i)});
  const std::string path = write_file("good.pcap", 1, good);
  auto t = PcapTrace::load(path, 2164);
  std::filesystem::remove(path);
  REQUIRE(t.ok());
  REQUIRE(t->size() == 3);
  for (uint8_t i = 0; i < 3; ++i) {
    CHECK(t->frame(i).size() == 60u + i);
    CHECK(t->frame(i)[0] == i);
  }
  CHECK(t->mean_frame_size() == 61);
  CHECK(t->max_frame_size() == 62);

  CHECK(load_error("/nonexistent/x.pcap").find("pcap /nonexistent/x.pcap: ") == 0);
  CHECK(load_error(write_file("linux.pcap", 113, good)).find("link type LINUX_SLL") != std::string::npos);
  CHECK(load_error(write_file("empty.pcap", 1, {})).find("no frames") != std::string::npos);
  CHECK(load_error(write_file("cut.pcap", 1, good, 5)).find("frame 3: ") != std::string::npos);
  CHECK(load_error(write_file("snap.pcap", 1, {{60, 1514, std::vector<uint8_t>(60)}}))
            .find("frame 1 was captured with 60 of its 1514 bytes") != std::string::npos);
  CHECK(load_error(write_file("tiny.pcap", 1, {{10, 10, std::vector<uint8_t>(10)}})).find("frame 1 is 10 bytes") !=
        std::string::npos);
  CHECK(load_error(write_file("big.pcap", 1, {{3000, 3000, std::vector<uint8_t>(3000)}}))
            .find("expected 14..2164") != std::string::npos);
  const std::string text =
      (std::filesystem::temp_directory_path() / ("nfv-gen-" + std::to_string(::getpid()) + ".txt")).string();
  std::ofstream(text) << "not a capture at all, just some text\n";
  CHECK(load_error(text).find("expected a readable pcap or pcapng capture") != std::string::npos);
}
