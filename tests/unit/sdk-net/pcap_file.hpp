// A classic pcap file reader and writer for tests (the libpcap format:
// a 24-byte global header, then a 16-byte record header before each frame).
// Reads both byte orders and the microsecond and nanosecond magics; writes
// little-endian microsecond files with link type 1 (Ethernet).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace nfv::net::test {

struct PcapFile {
  uint32_t link_type = 0;
  std::vector<std::vector<uint8_t>> frames;
};

inline std::optional<std::vector<uint8_t>> read_whole_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return std::nullopt;
  std::vector<uint8_t> data;
  uint8_t chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) data.insert(data.end(), chunk, chunk + n);
  std::fclose(f);
  return data;
}

// nullopt when the file is missing, not a pcap, or a record runs past its end.
inline std::optional<PcapFile> read_pcap(const std::string& path) {
  auto data = read_whole_file(path);
  if (!data || data->size() < 24) return std::nullopt;
  const uint8_t* d = data->data();
  const auto le32 = [&](size_t at) {
    return uint32_t{d[at]} | uint32_t{d[at + 1]} << 8 | uint32_t{d[at + 2]} << 16 |
           uint32_t{d[at + 3]} << 24;
  };
  const uint32_t magic = le32(0);
  bool swapped;
  if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
    swapped = false;
  } else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
    swapped = true;
  } else {
    return std::nullopt;
  }
  const auto u32 = [&](size_t at) {
    const uint32_t v = le32(at);
    return swapped ? __builtin_bswap32(v) : v;
  };
  PcapFile out;
  out.link_type = u32(20);
  size_t at = 24;
  while (at < data->size()) {
    if (data->size() - at < 16) return std::nullopt;
    const uint32_t caplen = u32(at + 8);
    at += 16;
    if (caplen > data->size() - at) return std::nullopt;
    out.frames.emplace_back(d + at, d + at + caplen);
    at += caplen;
  }
  return out;
}

inline bool write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const auto put32 = [&](uint32_t v) {
    uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    std::fwrite(b, 1, 4, f);
  };
  const auto put16 = [&](uint16_t v) {
    uint8_t b[2] = {uint8_t(v), uint8_t(v >> 8)};
    std::fwrite(b, 1, 2, f);
  };
  put32(0xa1b2c3d4);  // microsecond timestamps, written little-endian
  put16(2);           // version 2.4
  put16(4);
  put32(0);      // thiszone
  put32(0);      // sigfigs
  put32(65535);  // snaplen
  put32(1);      // LINKTYPE_ETHERNET
  uint32_t usec = 0;
  for (const auto& frame : frames) {
    put32(1700000000);  // fixed timestamps: the file is the same on every run
    put32(usec++);
    put32(static_cast<uint32_t>(frame.size()));
    put32(static_cast<uint32_t>(frame.size()));
    std::fwrite(frame.data(), 1, frame.size(), f);
  }
  return std::fclose(f) == 0;
}

}  // namespace nfv::net::test
