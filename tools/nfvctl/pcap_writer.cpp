#include "pcap_writer.hpp"

#include <cerrno>
#include <cstring>

namespace nfvctl {

namespace {
nfv::Error io_error(const std::string& path) {
  return nfv::make_error(nfv::Errc::io, path + ": " + std::strerror(errno));
}
void put32(unsigned char* p, uint32_t v) { std::memcpy(p, &v, 4); }  // host order, as the magic says
void put16(unsigned char* p, uint16_t v) { std::memcpy(p, &v, 2); }
}  // namespace

nfv::Result<PcapWriter> PcapWriter::create(const std::string& path, uint32_t snaplen) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return io_error(path);
  unsigned char h[24];
  put32(h, 0xa1b2c3d4);  // microsecond timestamps
  put16(h + 4, 2);
  put16(h + 6, 4);
  put32(h + 8, 0);   // thiszone
  put32(h + 12, 0);  // sigfigs
  put32(h + 16, snaplen);
  put32(h + 20, 1);  // LINKTYPE_ETHERNET
  if (std::fwrite(h, 1, sizeof h, f) != sizeof h) {
    std::fclose(f);
    return io_error(path);
  }
  return PcapWriter(f, path);
}

PcapWriter::~PcapWriter() {
  if (f_) std::fclose(f_);
}

nfv::Status PcapWriter::write(uint64_t ts_ns, uint32_t orig_len, std::string_view data) {
  unsigned char h[16];
  put32(h, static_cast<uint32_t>(ts_ns / 1000000000u));
  put32(h + 4, static_cast<uint32_t>(ts_ns % 1000000000u / 1000u));
  put32(h + 8, static_cast<uint32_t>(data.size()));
  put32(h + 12, orig_len);
  if (std::fwrite(h, 1, sizeof h, f_) != sizeof h || std::fwrite(data.data(), 1, data.size(), f_) != data.size())
    return io_error(path_);
  return {};
}

nfv::Status PcapWriter::close() {
  std::FILE* f = f_;
  f_ = nullptr;
  if (f && std::fclose(f) != 0) return io_error(path_);
  return {};
}

bool base64_decode(std::string_view in, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + static_cast<size_t>(k)];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad != 0 || (v[k] = value(c)) < 0) {
        return false;
      }
    }
    const uint32_t n = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>(n >> 8 & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return true;
}

}  // namespace nfvctl
