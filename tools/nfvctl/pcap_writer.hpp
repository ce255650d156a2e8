// PcapWriter: the classic libpcap file format (microsecond timestamps,
// LINKTYPE_ETHERNET), which tshark, tcpdump and Wireshark read. Written
// directly: the format is a 24-byte file header and a 16-byte header per
// frame (https://wiki.wireshark.org/Development/LibpcapFileFormat).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "nfv/result.hpp"

namespace nfvctl {

class PcapWriter {
 public:
  static nfv::Result<PcapWriter> create(const std::string& path, uint32_t snaplen);
  PcapWriter(PcapWriter&& o) noexcept : f_(o.f_), path_(std::move(o.path_)) { o.f_ = nullptr; }
  PcapWriter& operator=(PcapWriter&&) = delete;
  ~PcapWriter();

  nfv::Status write(uint64_t ts_ns, uint32_t orig_len, std::string_view data);
  nfv::Status close();

 private:
  PcapWriter(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  std::FILE* f_;
  std::string path_;
};

// Standard base64 (RFC 4648) to bytes; nullopt-like empty + false on bad input.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace nfvctl
