// PcapTrace (see the header).
#include "pcap_trace.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <memory>
#include <numeric>

namespace nfvgen {

nfv::Result<PcapTrace> PcapTrace::load(const std::string& path, uint32_t max_frame) {
  const auto bad = [&](const std::string& what) {
    return nfv::make_error(nfv::Errc::invalid_argument, "pcap " + path + ": " + what);
  };
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> p(pcap_open_offline(path.c_str(), errbuf), &pcap_close);
  if (!p) return bad(std::string(errbuf) + "; expected a readable pcap or pcapng capture");
  if (const int dlt = pcap_datalink(p.get()); dlt != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(dlt);
    return bad("link type " + std::string(name ? name : std::to_string(dlt)) +
               "; expected Ethernet (DLT_EN10MB) frames");
  }
  PcapTrace t;
  for (;;) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(p.get(), &h, &data);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    const std::string which = "frame " + std::to_string(t.size() + 1);
    if (rc != 1) return bad(which + ": " + pcap_geterr(p.get()) + "; expected a complete capture file");
    if (h->caplen < h->len)
      return bad(which + " was captured with " + std::to_string(h->caplen) + " of its " + std::to_string(h->len) +
                 " bytes; expected whole frames (capture with a larger snap length, e.g. tcpdump -s 0)");
    if (h->caplen < 14 || h->caplen > max_frame)
      return bad(which + " is " + std::to_string(h->caplen) + " bytes; expected 14.." + std::to_string(max_frame));
    if (t.bytes_.size() + h->caplen > kMaxBytes)
      return bad("more than " + std::to_string(kMaxBytes >> 20) + " MiB of frames; expected a shorter capture");
    t.offsets_.push_back(t.bytes_.size());
    t.lengths_.push_back(h->caplen);
    t.bytes_.insert(t.bytes_.end(), data, data + h->caplen);
  }
  if (t.size() == 0) return bad("no frames; expected at least one");
  return t;
}

double PcapTrace::mean_frame_size() const noexcept {
  if (lengths_.empty()) return 0;
  return static_cast<double>(std::accumulate(lengths_.begin(), lengths_.end(), uint64_t{0})) /
         static_cast<double>(lengths_.size());
}

uint32_t PcapTrace::max_frame_size() const noexcept {
  return lengths_.empty() ? 0 : *std::max_element(lengths_.begin(), lengths_.end());
}

}  // namespace nfvgen
