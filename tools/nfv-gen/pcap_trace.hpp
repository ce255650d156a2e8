// PcapTrace: the frames of a capture file, loaded whole into memory before
// anything is sent, for `nfv-gen --pcap FILE` (replayed in order, looping).
//
// Read with libpcap (pcap_open_offline), so classic pcap and pcapng both
// work. load() refuses, with a message that names the file and the frame:
// a file libpcap cannot open or read (missing, unreadable, not a capture,
// truncated in the middle of a record); a link type other than Ethernet
// (DLT_EN10MB); a frame captured shorter than it was (snap length: its bytes
// are not all there); a frame under 14 bytes or over `max_frame`; no frames;
// more than kMaxBytes in total. Frames are sent exactly as captured: they
// carry no test signature, so loss is counted per port only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nfv/result.hpp"

namespace nfvgen {

class PcapTrace {
 public:
  static constexpr uint64_t kMaxBytes = 256ull << 20;  // frames held in memory

  [[gnu::cold]] static nfv::Result<PcapTrace> load(const std::string& path, uint32_t max_frame);

  std::size_t size() const noexcept { return offsets_.size(); }
  std::span<const uint8_t> frame(std::size_t i) const noexcept {
    return {bytes_.data() + offsets_[i], lengths_[i]};
  }
  double mean_frame_size() const noexcept;
  uint32_t max_frame_size() const noexcept;

 private:
  std::vector<uint8_t> bytes_;
  std::vector<uint64_t> offsets_;
  std::vector<uint32_t> lengths_;
};

}  // namespace nfvgen
